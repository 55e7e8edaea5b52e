"""ui.transfers_view: the Operations dock's transfer queue.

A real TransferQueue with the core's ``file`` scheme copies real files under tmp_path on its own
threads; the view follows it through its bridge. The buttons are clicked as a person would.
Tests run as root (chmod does not stop root), so a file that cannot be written is one whose target
name is taken by a folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from gridclient.storage import Entry, Location
from gridclient.storage.transfers import FileTask, Job, TransferQueue
from tests.fixtures.storage import folder, write
from ui.icons import row_icon
from ui.transfers_view import MAX_CHILDREN, PAINT_MS, PROGRESS, PROGRESS_ROLE, SIZE, STATE, TransfersPanel

WAIT = 30_000  # ms


@pytest.fixture
def panel(qtbot, queue):
    p = TransfersPanel(queue)
    qtbot.addWidget(p)
    p.resize(900, 400)
    p.show()
    return p


@pytest.fixture
def finished(panel):
    got: list[Job] = []
    panel.view.job_finished.connect(got.append)
    return got


def state(panel, job: Job) -> str | None:
    item = panel.view.job_row(job)
    return None if item is None else item.text(STATE)


def select(panel, *items) -> None:
    panel.view.clearSelection()
    for item in items:
        item.setSelected(True)


def click(qtbot, panel, action) -> None:
    qtbot.mouseClick(panel.toolbar.widgetForAction(action), Qt.MouseButton.LeftButton)


def settle(qtbot, queue, job) -> None:
    """The job's thread has ended and whatever it told has been painted."""
    assert queue.wait(job, timeout=WAIT / 1000)
    qtbot.wait(3 * PAINT_MS)


def three_files(tmp_path: Path) -> tuple[Path, Path]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    for name, size in (("a.txt", 1000), ("b.txt", 2000), ("c.txt", 3000)):
        write(src / name, name[0].encode() * size)
    dst.mkdir()
    return src, dst


# -- a job, from start to done -----------------------------------------------------------------------

def test_a_copied_folder_reaches_done_with_full_progress_its_size_and_one_child_per_file(
        qtbot, panel, queue, finished, tmp_path):
    src, dst = three_files(tmp_path)
    view = panel.view

    job = queue.submit("copy", [folder(src)], folder(dst))
    qtbot.waitUntil(lambda: (state(panel, job) or "").startswith("done"), timeout=WAIT)
    settle(qtbot, queue, job)

    item = view.job_row(job)
    assert item.text(0) == job.title and "src" in item.text(0)
    assert item.icon(0).cacheKey() == row_icon("copy").cacheKey()  # what the job does, not a bucket
    assert item.data(PROGRESS, PROGRESS_ROLE) == 1.0 and item.text(PROGRESS) == "100%"
    assert item.text(SIZE) == "6.0 KB of 6.0 KB"
    assert state(panel, job) == f"done: {job.message}"
    assert item.foreground(STATE).color() != Qt.GlobalColor.red
    assert finished == [job]
    assert (dst / "src" / "c.txt").read_bytes() == b"c" * 3000
    view.bridge(job)  # the queue tells of the ended job again: painted, not announced again
    qtbot.wait(3 * PAINT_MS)
    assert finished == [job]

    assert item.childCount() == 0  # the files are made when the job is opened, not before
    item.setExpanded(True)
    assert sorted(item.child(i).text(0) for i in range(item.childCount())) == \
        sorted(str(src / n) for n in ("a.txt", "b.txt", "c.txt"))
    assert {item.child(i).text(STATE) for i in range(item.childCount())} == {"done"}
    assert {item.child(i).text(PROGRESS) for i in range(item.childCount())} == {"100%"}


def test_a_failed_file_is_red_with_its_reason_and_retry_finishes_it(qtbot, panel, queue, finished, tmp_path):
    src, dst = three_files(tmp_path)
    blocker = write(dst / "src" / "b.txt" / "in-the-way", b"x")  # a folder where b.txt must go
    view = panel.view

    job = queue.submit("copy", [folder(src)], folder(dst), conflict="Overwrite")
    qtbot.waitUntil(lambda: (state(panel, job) or "").startswith("failed"), timeout=WAIT)
    settle(qtbot, queue, job)

    item = view.job_row(job)
    assert item.foreground(STATE).color() == Qt.GlobalColor.red
    assert "b.txt" in item.text(STATE) and "1 failed" in item.text(STATE)
    assert job.message in item.toolTip(STATE)
    assert finished == [job]
    item.setExpanded(True)
    rows = {Path(item.child(i).text(0)).name: item.child(i) for i in range(item.childCount())}
    bad = next(t for t in job.files if t.state == "failed")
    assert rows["b.txt"].text(STATE) == f"failed: {bad.error}" and bad.error
    assert rows["b.txt"].foreground(STATE).color() == Qt.GlobalColor.red
    assert rows["a.txt"].text(STATE) == "done"

    select(panel, item)
    assert view.retry_action.isEnabled() and view.retry_action.text() == "Retry failed"
    assert not view.cancel_action.isEnabled()
    blocker.unlink()
    blocker.parent.rmdir()
    click(qtbot, panel, view.retry_action)
    assert not view.retry_action.isEnabled()  # a second click cannot start the job twice
    qtbot.waitUntil(lambda: (state(panel, job) or "").startswith("done"), timeout=WAIT)
    settle(qtbot, queue, job)

    assert (dst / "src" / "b.txt").read_bytes() == b"b" * 2000
    assert rows["b.txt"].text(STATE) == "done"  # the open job's rows follow it
    assert item.foreground(STATE).color() != Qt.GlobalColor.red
    assert finished == [job, job]  # once for each run
    assert not view.retry_action.isEnabled()


# -- cancelling --------------------------------------------------------------------------------------

@pytest.fixture
def gate(queue):
    """Holds a job in "running" (its thread waits in the queue's listener, before any file is
    started) until the test opens the gate: then Cancel is clicked on a job that surely runs."""
    opened = threading.Event()

    def hold(job: Job) -> None:
        if job.state == "running" and not opened.is_set():
            opened.wait(WAIT / 1000)

    queue.on_change(hold)
    yield opened
    opened.set()


def test_cancel_stops_a_running_job_and_delete_leaves_it(qtbot, panel, queue, finished, gate, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(200):
        write(src / f"f{i:03d}.bin", os.urandom(2000))
    dst.mkdir()
    view = panel.view

    job = queue.submit("copy", [folder(src)], folder(dst))
    qtbot.waitUntil(lambda: state(panel, job) == "running", timeout=WAIT)
    item = view.job_row(job)
    select(panel, item)
    assert view.cancel_action.isEnabled()
    assert not view.remove_action.isEnabled() and not view.retry_action.isEnabled()

    qtbot.keyClick(view, Qt.Key.Key_Delete)  # Del on a running job does nothing
    assert view.job_row(job) is item and job in queue.jobs

    click(qtbot, panel, view.cancel_action)
    gate.set()
    qtbot.waitUntil(lambda: (state(panel, job) or "").startswith("cancelled"), timeout=WAIT)
    settle(qtbot, queue, job)

    assert job.state == "cancelled" and job.count("cancelled") == 200
    assert not (dst / "src").exists() or not any((dst / "src").iterdir())
    assert finished == [job]
    assert not view.cancel_action.isEnabled()
    assert view.retry_action.isEnabled() and view.remove_action.isEnabled()


def test_cancel_on_a_file_row_cancels_that_file_only(qtbot, panel, queue, gate, tmp_path):
    src, dst = three_files(tmp_path)
    view = panel.view

    job = queue.submit("copy", [folder(src)], folder(dst))
    qtbot.waitUntil(lambda: state(panel, job) == "running", timeout=WAIT)
    item = view.job_row(job)
    item.setExpanded(True)
    rows = {Path(item.child(i).text(0)).name: item.child(i) for i in range(item.childCount())}
    select(panel, rows["b.txt"])
    assert view.cancel_action.isEnabled()
    click(qtbot, panel, view.cancel_action)
    gate.set()
    qtbot.waitUntil(lambda: (state(panel, job) or "").startswith("cancelled"), timeout=WAIT)
    settle(qtbot, queue, job)

    assert rows["b.txt"].text(STATE) == "cancelled"
    assert rows["a.txt"].text(STATE) == rows["c.txt"].text(STATE) == "done"
    assert not (dst / "src" / "b.txt").exists() and (dst / "src" / "a.txt").exists()


# -- the list ------------------------------------------------------------------------------------------

def test_remove_delete_key_and_clear_finished_take_rows_away(qtbot, panel, queue, tmp_path):
    jobs = []
    for n in range(3):
        src, dst = tmp_path / f"src{n}", tmp_path / f"dst{n}"
        write(src / "a.txt", b"a" * 10)
        dst.mkdir()
        jobs.append(queue.submit("copy", [folder(src)], folder(dst)))
    for job in jobs:
        settle(qtbot, queue, job)
    view = panel.view
    assert [state(panel, j).split(":")[0] for j in jobs] == ["done"] * 3
    assert view.topLevelItemCount() == 3 and view.clear_action.isEnabled()

    select(panel)
    assert not view.remove_action.isEnabled()
    select(panel, view.job_row(jobs[0]))
    click(qtbot, panel, view.remove_action)
    assert view.job_row(jobs[0]) is None and view.topLevelItemCount() == 2  # at once
    qtbot.waitUntil(lambda: jobs[0] not in queue.jobs, timeout=WAIT)  # the queue's file: on a thread

    select(panel, view.job_row(jobs[1]))
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert view.job_row(jobs[1]) is None
    qtbot.waitUntil(lambda: jobs[1] not in queue.jobs, timeout=WAIT)

    queue.remove(jobs[2])  # elsewhere (the queue does not tell of it)
    view.refresh()
    assert view.topLevelItemCount() == 0 and view.job_row(jobs[2]) is None
    assert not view.clear_action.isEnabled()


def test_clear_finished_removes_done_jobs_and_keeps_failed_ones(qtbot, panel, queue, tmp_path):
    done = []
    for n in range(2):
        src, dst = tmp_path / f"src{n}", tmp_path / f"dst{n}"
        write(src / "a.txt", b"a" * 10)
        dst.mkdir()
        done.append(queue.submit("copy", [folder(src)], folder(dst)))
    src, dst = three_files(tmp_path)
    write(dst / "src" / "a.txt" / "in-the-way", b"x")
    failed = queue.submit("copy", [folder(src)], folder(dst), conflict="Overwrite")
    for job in done + [failed]:
        settle(qtbot, queue, job)
    view = panel.view
    assert view.topLevelItemCount() == 3 and failed.state == "failed"

    click(qtbot, panel, view.clear_action)
    assert [view.topLevelItem(i).text(0) for i in range(view.topLevelItemCount())] == [failed.title]
    qtbot.waitUntil(lambda: queue.jobs == [failed], timeout=WAIT)
    qtbot.waitUntil(lambda: not view.clear_action.isEnabled(), timeout=WAIT)
    assert view.topLevelItemCount() == 1
    assert not view.clear_action.isEnabled()


def test_open_target_folder_opens_a_local_target_and_a_delete_has_none(qtbot, panel, queue, tmp_path):
    class Opened(QObject):
        def __init__(self):
            super().__init__()
            self.urls: list[QUrl] = []

        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            self.urls.append(url)

    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        src, dst = three_files(tmp_path)
        copy = queue.submit("copy", [folder(src)], folder(dst))
        settle(qtbot, queue, copy)
        doomed = [write(tmp_path / "doomed" / f"{n}.txt", b"x") for n in range(3)]
        delete = queue.submit("delete", [Location.parse(str(p)) for p in doomed], None)
        settle(qtbot, queue, delete)
        view = panel.view

        select(panel, view.job_row(delete))
        assert not view.open_action.isEnabled()
        assert view.job_row(delete).text(SIZE) == "3 of 3 files"
        assert not any(p.exists() for p in doomed)

        select(panel, view.job_row(copy))
        assert view.open_action.isEnabled()
        click(qtbot, panel, view.open_action)
        assert [u.toLocalFile() for u in opened.urls] == [str(dst)]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_an_interrupted_job_from_the_state_file_offers_resume(qtbot, storage, tmp_path):
    state_file = tmp_path / "ws" / "transfers.json"
    src = write(tmp_path / "src" / "a.txt", b"a" * 10)
    first = TransferQueue(storage, state_file)
    job = Job("copy", [folder(src.parent)], folder(tmp_path / "dst"), title="Copy src")
    job.state = "running"
    job.files = [FileTask(Entry(Location.parse(str(src)), 10, src.stat().st_mtime),
                          Location.parse(str(tmp_path / "dst" / "src" / "a.txt")), size=10, state="running")]
    first.jobs.append(job)
    first.save()

    queue = TransferQueue(storage, state_file)  # the app starts again
    try:
        panel = TransfersPanel(queue)
        qtbot.addWidget(panel)
        panel.show()
        finished: list[Job] = []
        panel.view.job_finished.connect(finished.append)
        view, back = panel.view, queue.jobs[0]
        item = view.job_row(back)
        assert item is not None and item.text(0) == "Copy src"
        assert item.text(STATE).startswith("interrupted: ") and back.message in item.text(STATE)

        select(panel, item)
        assert view.retry_action.isEnabled()
        assert view.retry_action.text() == "Resume"
        assert panel.toolbar.widgetForAction(view.retry_action).text() == "Resume"
        click(qtbot, panel, view.retry_action)
        qtbot.waitUntil(lambda: item.text(STATE).startswith("done"), timeout=WAIT)
        settle(qtbot, queue, back)

        assert (tmp_path / "dst" / "src" / "a.txt").read_bytes() == b"a" * 10
        assert finished == [back]
    finally:
        queue.shutdown()


# -- many files, many events ---------------------------------------------------------------------------

def test_a_huge_job_makes_its_file_rows_only_when_opened_and_at_most_the_limit(qtbot, queue, tmp_path):
    n = MAX_CHILDREN + 500
    job = Job("delete", [folder(tmp_path / "gone")], None, title="Delete gone", state="done", finished=1.0)
    job.files = [FileTask(Entry(Location.parse(str(tmp_path / "gone" / f"{i}.txt"))), None, state="done")
                 for i in range(n)]
    queue.jobs.append(job)  # as loaded from the state file
    panel = TransfersPanel(queue)
    qtbot.addWidget(panel)
    finished: list[Job] = []
    panel.view.job_finished.connect(finished.append)
    item = panel.view.job_row(job)

    assert item.text(SIZE) == f"{n} of {n} files"
    assert item.childCount() == 0
    item.setExpanded(True)
    assert item.childCount() == MAX_CHILDREN + 1
    assert item.child(MAX_CHILDREN - 1).text(0) == str(tmp_path / "gone" / f"{MAX_CHILDREN - 1}.txt")
    assert item.child(MAX_CHILDREN).text(0) == "… 500 more"
    qtbot.wait(3 * PAINT_MS)
    assert finished == []  # it had ended before the view was made: nothing new to tell


def test_a_thousand_changes_from_a_worker_thread_reach_the_gui_as_a_few_paints(
        qtbot, panel, queue, finished, tmp_path):
    src, dst = three_files(tmp_path)
    job = queue.submit("copy", [folder(src)], folder(dst))
    settle(qtbot, queue, job)
    view = panel.view
    signals: list[int] = []
    view.bridge.changed.connect(lambda: signals.append(1))

    def storm() -> None:
        for i in range(1000):
            job.message = f"step {i}"
            view.bridge(job)  # what the queue calls, on its thread

    worker = threading.Thread(target=storm)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: state(panel, job) == "done: step 999", timeout=WAIT)

    assert 1 <= len(signals) <= 5  # not one queued event a change
    assert finished == [job]  # repainted, not announced again
