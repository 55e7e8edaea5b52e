"""Drag-and-drop of storage on the project tree (``projectView``), with drops made of ``QMimeData``
as a file manager or the tree itself sends them, against moto over HTTP and real local files.

Each drop is handed to the view's own dropEvent at the row's place, the way Qt delivers it; the
transfer then runs on the core's queue, and the test reads what S3 and the disk hold afterwards.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, Qt, QUrl
from PySide6.QtGui import QDragMoveEvent, QDropEvent

from gridclient.workspace import GridProject
from ui.app import build
from ui.worker import io_pool

pytest.importorskip("moto.server")


@pytest.fixture
def local(tmp_path):
    folder = tmp_path / "local"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "cat.jpg").write_bytes(os.urandom(40_000))
    (folder / "photos" / "dog.jpg").write_bytes(os.urandom(30_000))
    (folder / "notes.txt").write_text("hello\n")
    return folder


@pytest.fixture
def win(qtbot, app_paths, keyring_backend, moto, boto, local):
    s3 = boto("s3")
    for bucket in ("alpha-bucket", "beta-bucket"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="alpha-bucket", Key="docs/report.csv", Body=b"a,b\n1,2\n" * 1000)
    s3.put_object(Bucket="alpha-bucket", Key="docs/deep/raw.bin", Body=os.urandom(50_000))
    s3.put_object(Bucket="alpha-bucket", Key="top.txt", Body=b"top")
    wb, window = build(app_paths)
    wb.workspace.preferences["local_roots"] = [str(local)]
    for name in ("Team A", "Team B"):  # two VOs: drops across them are streamed, not server-side
        vo = wb.save_vo(name, "aws", {"region": "us-east-1", "access_key_id": "A", "secret_access_key": "B",
                                      "endpoint_url": moto})
        window.model.add_project(wb.workspace.add_project(GridProject(name, vo.id)))
    window.model.reload_projects()
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    window.attach_transfers()
    yield window
    for job in list(wb.transfers.jobs):
        wb.transfers.wait(job, timeout=30)
    io_pool().waitForDone(10000)
    wb.close()


def row(win, *labels: str, open_last: bool = False) -> QModelIndex:
    """The row at this path of labels from the top, each level opened (and loaded) on the way
    (the last one too with ``open_last``)."""
    model, index = win.model, QModelIndex()
    for label in labels:
        found = None
        for r in range(model.rowCount(index)):
            i = model.index(r, 0, index)
            if model.element(i) is not None and model.element(i).label == label:
                found = i
                break
        assert found is not None, (label, [model.element(model.index(r, 0, index)).label
                                           for r in range(model.rowCount(index))])
        index = found
        node = model.node(index)
        if node.expandable and (label != labels[-1] or open_last):
            win.tree.expand(index)
            if node.state == "idle":
                model.fetchMore(index)
            _wait_loaded(win, index)
    win.tree.scrollTo(index)
    return index


def _wait_loaded(win, index: QModelIndex) -> None:
    import time

    from PySide6.QtCore import QCoreApplication

    node = win.model.node(index)
    end = time.monotonic() + 20
    while node.state not in ("loaded",) and time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert node.state == "loaded", (node.element.label, node.state, node.error)


def point(win, index: QModelIndex) -> QPoint:
    return win.tree.visualRect(index).center()


def drop(win, mime: QMimeData, index: QModelIndex, shift: bool = False) -> QDropEvent:
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    event = QDropEvent(point(win, index).toPointF(), Qt.DropAction.CopyAction | Qt.DropAction.MoveAction, mime,
                       Qt.MouseButton.LeftButton, mods)
    win.tree.dropEvent(event)
    return event


def last_job(qtbot, win):
    job = win.tree.jobs[-1]
    qtbot.waitUntil(lambda: job.state in ("done", "failed", "cancelled"), timeout=30000)
    return job


def files_mime(*paths) -> QMimeData:
    """What a file manager puts on a drag: text/uri-list of file:// URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_files_from_a_file_manager_upload_onto_a_bucket_keeping_folders(qtbot, win, boto, local):
    bucket = row(win, "Team A", "Storage", "beta-bucket")
    event = drop(win, files_mime(local / "photos", local / "notes.txt"), bucket)
    assert event.isAccepted()
    job = last_job(qtbot, win)
    assert job.kind == "upload" and job.state == "done", job.message
    s3 = boto("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="beta-bucket")["Contents"])
    assert keys == ["notes.txt", "photos/cat.jpg", "photos/dog.jpg"]
    got = s3.get_object(Bucket="beta-bucket", Key="photos/cat.jpg")["Body"].read()
    assert sha(got) == sha((local / "photos" / "cat.jpg").read_bytes())
    # the Transfers tab has the job's row, done
    view = win.transfers.view
    qtbot.waitUntil(lambda: view.topLevelItemCount() == 1 and "done" in view.topLevelItem(0).text(5).lower(),
                    timeout=5000)


def test_dropping_onto_an_object_means_its_folder(qtbot, win, boto, local):
    report = row(win, "Team A", "Storage", "alpha-bucket", "docs/", "report.csv")
    drop(win, files_mime(local / "notes.txt"), report)
    job = last_job(qtbot, win)
    assert job.state == "done", job.message
    assert boto("s3").get_object(Bucket="alpha-bucket", Key="docs/notes.txt")["Body"].read() == b"hello\n"


def test_a_bucket_folder_dragged_onto_local_files_downloads_it_intact(qtbot, win, boto, local):
    docs = row(win, "Team A", "Storage", "alpha-bucket", "docs/")
    mime = win.tree.mime_for([docs])
    assert mime is not None and mime.text() == "s3://alpha-bucket/docs/"
    root = row(win, "Local files", "local", open_last=True)
    drop(win, mime, root)
    job = last_job(qtbot, win)
    assert job.kind == "download" and job.state == "done", job.message
    s3 = boto("s3")
    for key in ("docs/report.csv", "docs/deep/raw.bin"):
        want = s3.get_object(Bucket="alpha-bucket", Key=key)["Body"].read()
        assert sha((local / key).read_bytes()) == sha(want)
    assert not list(local.rglob("*.gridclient-part"))  # no temporary file left behind
    # the Local files folder shows what arrived, without F5
    qtbot.waitUntil(lambda: "docs" in [win.model.element(win.model.index(r, 0, root)).label
                                       for r in range(win.model.rowCount(root))], timeout=10000)


def test_bucket_to_bucket_in_one_vo_copies_on_the_server(qtbot, win, boto):
    wb = win.model.wb
    vo = wb.workspace.vo_by_name("Team A")
    gets = []
    wb.tokens.token(vo).client("s3").meta.events.register(
        "before-call.s3.GetObject", lambda **kw: gets.append(kw.get("params", {}).get("Key")))
    docs = row(win, "Team A", "Storage", "alpha-bucket", "docs/")
    beta = row(win, "Team A", "Storage", "beta-bucket")
    drop(win, win.tree.mime_for([docs]), beta)
    job = last_job(qtbot, win)
    assert job.kind == "copy" and job.state == "done", job.message
    s3 = boto("s3")
    assert s3.get_object(Bucket="beta-bucket", Key="docs/deep/raw.bin")["Body"].read() == \
        s3.get_object(Bucket="alpha-bucket", Key="docs/deep/raw.bin")["Body"].read()
    assert gets == []  # no byte came through the client


def test_across_vos_the_bytes_are_streamed_and_shift_moves(qtbot, win, boto):
    top = row(win, "Team A", "Storage", "alpha-bucket", "top.txt")
    beta_b = row(win, "Team B", "Storage", "beta-bucket")
    drop(win, win.tree.mime_for([top]), beta_b, shift=True)
    job = last_job(qtbot, win)
    assert job.kind == "move" and job.state == "done", job.message
    s3 = boto("s3")
    assert s3.get_object(Bucket="beta-bucket", Key="top.txt")["Body"].read() == b"top"
    assert "top.txt" not in [o["Key"] for o in s3.list_objects_v2(Bucket="alpha-bucket").get("Contents", [])]


def test_a_drop_a_row_cannot_take_is_refused_with_the_reason(qtbot, win, local):
    computing = row(win, "Team A", "Computing")
    mime = files_mime(local / "notes.txt")
    event = QDragMoveEvent(point(win, computing), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
    win.tree.dragMoveEvent(event)
    assert not event.isAccepted()
    assert "is no storage" in win.statusBar().currentMessage()
    # nor into itself
    photos = row(win, "Local files", "local", "photos")
    event = drop(win, win.tree.mime_for([photos]), photos)
    assert not event.isAccepted() and "itself" in win.statusBar().currentMessage()
    assert win.tree.jobs == []



def test_objects_dragged_out_to_another_application_arrive_as_local_files(qtbot, win, boto):
    """A file manager asks for text/uri-list when the drop happens: only then are the rows
    downloaded (through the queue, into the app's cache), and file:// URLs handed over."""
    docs = row(win, "Team A", "Storage", "alpha-bucket", "docs/")
    top = row(win, "Team A", "Storage", "alpha-bucket", "top.txt")
    mime = win.tree.mime_for([docs, top])
    assert mime.hasUrls() and not win.tree.model().wb.transfers.jobs  # offered, nothing fetched yet
    urls = mime.urls()  # what the drop target does
    paths = sorted(u.toLocalFile() for u in urls)
    assert [os.path.basename(p) for p in paths] == ["docs", "top.txt"]
    s3 = boto("s3")
    for key in ("docs/report.csv", "docs/deep/raw.bin"):
        local_copy = os.path.join(os.path.dirname(paths[0]), key)
        assert sha(open(local_copy, "rb").read()) == sha(s3.get_object(Bucket="alpha-bucket", Key=key)["Body"].read())
    assert open(paths[1], "rb").read() == b"top"
    assert mime.urls() == urls and len(win.tree.model().wb.transfers.jobs) == 1  # fetched once


def test_a_file_uploaded_into_a_shown_folder_appears_among_its_neighbours(qtbot, win, local):
    bucket = row(win, "Team A", "Storage", "alpha-bucket", open_last=True)
    before = [win.model.element(win.model.index(r, 0, bucket)).label for r in range(win.model.rowCount(bucket))]
    assert before == ["docs/", "top.txt"]
    (local / "middle.txt").write_text("m")
    drop(win, files_mime(local / "middle.txt"), bucket)
    assert last_job(qtbot, win).state == "done"
    qtbot.waitUntil(lambda: win.model.rowCount(bucket) == 3, timeout=10000)
    after = [win.model.element(win.model.index(r, 0, bucket)).label for r in range(3)]
    assert after == ["docs/", "middle.txt", "top.txt"]  # where the listing has it, not at the end


def test_after_del_the_next_row_is_selected_for_the_next_del(qtbot, win, monkeypatch):
    docs = row(win, "Team A", "Storage", "alpha-bucket", "docs/", open_last=True)
    report = row(win, "Team A", "Storage", "alpha-bucket", "docs/", "report.csv")
    win.tree.setCurrentIndex(report)
    monkeypatch.setattr(win.interaction, "confirm", lambda title, text, default=False: True)
    win.delete_selected()  # Del
    qtbot.waitUntil(lambda: "report.csv" not in [win.model.element(win.model.index(r, 0, docs)).label
                                                 for r in range(win.model.rowCount(docs))], timeout=15000)
    selected = win.tree.selectionModel().selectedRows(0)
    assert len(selected) == 1 and selected[0].parent() == docs  # its neighbour, ready for the next Del


def test_a_target_that_exists_is_asked_about_with_a_button_each(qtbot, win, boto, local):
    """The second drop of one file: the question comes from the transfer's thread as a box with
    Overwrite / Skip / Rename / Only if newer… buttons and "do the same" under them."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    bucket = row(win, "Team A", "Storage", "beta-bucket")
    drop(win, files_mime(local / "notes.txt"), bucket)
    assert last_job(qtbot, win).state == "done"
    seen = []

    def answer() -> None:  # a person reading the box and clicking Rename
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and not seen:
            seen.append([b.text() for b in box.buttons()])
            seen.append(box.checkBox().text() if box.checkBox() else "")
            next(b for b in box.buttons() if b.text() == "Rename").click()

    clicker = QTimer()
    clicker.timeout.connect(answer)
    clicker.start(50)
    drop(win, files_mime(local / "notes.txt"), bucket)
    job = last_job(qtbot, win)
    clicker.stop()
    assert job.state == "done", job.message
    assert {"Overwrite", "Skip", "Rename", "Only if newer or different", "Cancel"} <= set(seen[0])
    assert "the same" in seen[1]
    names = sorted(o["Key"] for o in boto("s3").list_objects_v2(Bucket="beta-bucket")["Contents"])
    assert names == ["notes (2).txt", "notes.txt"]


def test_an_object_opens_from_its_menu_in_a_preview_tab(qtbot, win):
    from PySide6.QtWidgets import QMenu, QPlainTextEdit

    report = row(win, "Team A", "Storage", "alpha-bucket", "docs/", "report.csv")
    win.tree.setCurrentIndex(report)
    menu = QMenu()
    win._fill_actions(menu)
    opener = next(a for a in menu.actions() if a.objectName() == "action:open")
    assert menu.defaultAction() is opener
    opener.trigger()
    qtbot.waitUntil(lambda: win.terminals.count() == 1 and
                    win.terminals.widget(0).findChild(QPlainTextEdit) is not None, timeout=10000)
    text = win.terminals.widget(0).findChild(QPlainTextEdit).toPlainText()
    assert text.startswith("a,b\n1,2\n") and win.terminals.tabText(0) == "report.csv"
