"""An instance's files in the window, on the demo sandbox (moto over HTTP, its loopback SSH endpoint
serving SFTP in a throwaway folder): Browse files… from the menu, then drag-and-drop with
``QMimeData`` handed to the view's own dropEvent — desktop → instance, instance → bucket,
instance → Local files — read back from the sandbox's folder, S3 and the disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gridclient.secrets import MemoryKeyring, SecretStore
from tests.ui.test_storage_dnd import drop, files_mime, last_job, row
from ui.app import build
from ui.worker import io_pool

pytest.importorskip("moto.server")


@pytest.fixture
def win(qtbot, app_paths, demo_sandbox, tmp_path):
    demo_sandbox.reseed()
    wb, window = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    window.attach_transfers()
    yield window
    for job in list(wb.transfers.jobs):
        wb.transfers.wait(job, timeout=30)
    io_pool().waitForDone(10000)
    wb.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def on_instance(demo_sandbox, *parts: str) -> Path:
    return Path(demo_sandbox._ssh.files("ubuntu").real, "home", "ubuntu", *parts)


def open_files(qtbot, win) -> None:
    inst = row(win, "Demo", "Computing", "web-1")
    action = next(a for a in win.wb.registry.actions_for([win.model.element(inst)]) if a.id == "aws.ec2.files")
    run = win.run_action(action, [inst])
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=30000)
    assert run.outcome.state == "done", run.outcome.message
    qtbot.waitUntil(lambda: any(win.model.element(win.model.index(r, 0, inst)).label == "Files"
                                for r in range(win.model.rowCount(inst))), timeout=20000)


def test_desktop_to_instance_instance_to_bucket_and_to_local_files(qtbot, win, demo_sandbox, tmp_path):
    open_files(qtbot, win)
    # from a file manager onto the instance's data/ folder
    desk = tmp_path / "desk"
    desk.mkdir()
    (desk / "model.bin").write_bytes(os.urandom(300_000))
    data = row(win, "Demo", "Computing", "web-1", "Files", "data")
    event = drop(win, files_mime(desk / "model.bin"), data)
    assert event.isAccepted()
    job = last_job(qtbot, win)
    assert job.kind == "upload" and job.state == "done", job.message
    assert sha(on_instance(demo_sandbox, "data", "model.bin").read_bytes()) == sha((desk / "model.bin").read_bytes())
    assert not list(on_instance(demo_sandbox).rglob("*.gridclient-part"))

    # a row of the instance dragged onto a bucket: what the tree puts on the drag is its sftp:// URI
    readme = row(win, "Demo", "Computing", "web-1", "Files", "README.txt")
    mime = win.tree.mime_for([readme])
    assert mime is not None and mime.text().startswith("sftp://ubuntu@127.0.0.1:") and mime.text().endswith(
        "/home/ubuntu/README.txt")
    bucket = row(win, "Demo", "Storage", "demo-datasets")
    drop(win, mime, bucket)
    job = last_job(qtbot, win)
    assert job.state == "done", job.message
    body = demo_sandbox.client("s3").get_object(Bucket="demo-datasets", Key="README.txt")["Body"].read()
    assert body == on_instance(demo_sandbox, "README.txt").read_bytes()

    # the instance's data/ folder onto Local files: downloaded whole, nothing partial left
    data = row(win, "Demo", "Computing", "web-1", "Files", "data")
    local_root = win.model.index(0, 0, row(win, "Local files", open_last=True))  # the demo's sample folder
    target = Path(win.wb.workspace.preferences["local_roots"][0])
    drop(win, win.tree.mime_for([data]), local_root)
    job = last_job(qtbot, win)
    assert job.kind == "download" and job.state == "done", job.message
    for name in ("readings.csv", "model.bin"):
        assert sha((target / "data" / name).read_bytes()) == sha(on_instance(demo_sandbox, "data", name).read_bytes())
    assert not list(target.rglob("*.gridclient-part"))


def test_a_remote_config_file_is_edited_and_saved_unless_it_changed_meanwhile(qtbot, win, demo_sandbox, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    open_files(qtbot, win)
    config = row(win, "Demo", "Computing", "web-1", "Files", "config.ini")
    on_disk = on_instance(demo_sandbox, "config.ini")
    win._double_clicked(config)
    tab = win.terminals.currentWidget()
    qtbot.waitUntil(lambda: getattr(tab, "edit_button", None) is not None, timeout=20000)
    assert tab.text.toPlainText() == on_disk.read_text() and tab.text.isReadOnly()
    tab.edit_button.click()
    assert not tab.text.isReadOnly()
    tab.text.moveCursor(tab.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(tab.text, "threads = 8")  # typed, then Enter
    qtbot.keyClick(tab.text, Qt.Key.Key_Return)
    tab.save()
    qtbot.waitUntil(lambda: tab.saver is None, timeout=20000)
    assert on_disk.read_text().endswith("threads = 8\n"), tab.status.text()
    assert tab.status.text().startswith("Saved to sftp://")
    # the row in the tree shows the new size without F5
    size = f"{on_disk.stat().st_size} B"
    qtbot.waitUntil(lambda: win.model.element(row(win, "Demo", "Computing", "web-1", "Files", "config.ini"))
                    .detail.startswith(size), timeout=20000)

    # someone changes it on the instance; a save is not written over theirs without asking
    theirs = on_disk.read_text() + "# edited on the instance\n"
    on_disk.write_text(theirs)
    qtbot.keyClicks(tab.text, "mine = 1")
    qtbot.keyClick(tab.text, Qt.Key.Key_Return)
    answers = iter(["Keep editing", "Overwrite"])
    asked = []

    def exec_(box):  # the person reads the question and presses one of its buttons
        asked.append(box.text())
        wanted = next(answers)
        box.setProperty("clicked", wanted)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    monkeypatch.setattr(QMessageBox, "clickedButton",
                        lambda box: next(b for b in box.buttons() if b.text() == box.property("clicked")))
    tab.save()
    qtbot.waitUntil(lambda: tab.saver is None and bool(asked), timeout=20000)
    assert "changed since you opened it" in asked[0]
    assert on_disk.read_text() == theirs and "mine = 1" in tab.text.toPlainText()  # nothing lost either way
    assert tab.status.text().startswith("Not saved: it changed")
    tab.save()
    qtbot.waitUntil(lambda: len(asked) == 2 and tab.saver is None and tab.status.text().startswith("Saved"),
                    timeout=20000)
    assert on_disk.read_text().endswith("mine = 1\n") and "# edited on the instance" not in on_disk.read_text()
