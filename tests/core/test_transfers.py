"""gridclient.storage.transfers: the transfer queue with the core's ``file`` scheme only.

Real folders and files under tmp_path, a real TransferQueue on its own threads, a real state file;
questions are answered by ``ScriptedInteraction``. Each test runs as root too (chmod does not stop
root), so a file that cannot be copied is one that vanishes between the scan and the copy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.storage import Entry, Location, StorageError
from gridclient.storage.transfers import FileTask, Job, TransferQueue, part_path
from tests.fixtures.storage import folder, write


def run(queue: TransferQueue, *args, **kw) -> Job:
    job = queue.submit(*args, **kw)
    assert queue.wait(job, timeout=60), f"the job did not end: {job.state} {job.message}"
    return job


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- copying ---------------------------------------------------------------------------------------

def test_a_local_folder_copies_into_another_with_its_relative_paths_and_bytes(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    want = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(300_000), "sub/deeper/c.txt": b"gamma"}
    for rel, data in want.items():
        write(src / rel, data)
    (src / "empty").mkdir()
    dst.mkdir()

    job = run(queue, "copy", [folder(src)], folder(dst))

    assert job.state == "done", (job.message, [(t.label, t.state, t.error) for t in job.files])
    assert files_under(dst / "src") == want  # no hidden part file left, nothing else either
    assert (dst / "src" / "empty").is_dir()
    assert files_under(src) == want  # a copy leaves the originals
    assert job.bytes_done == sum(map(len, want.values()))


def test_a_file_that_vanishes_fails_alone_and_retry_finishes_the_job(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "a.txt", b"a" * 1000)
    write(src / "b.txt", b"b" * 2000)
    gone = write(src / "gone.txt", b"g" * 3000)
    dst.mkdir()

    vanished: list[str] = []

    def vanish(job: Job) -> None:  # the scan has found it; now it goes, before it is copied
        if job.state == "running" and not vanished:
            vanished.append(job.id)
            gone.unlink()

    queue.on_change(vanish)
    job = run(queue, "copy", [folder(src)], folder(dst))

    by_name = {Path(t.target.path).name: t for t in job.files}
    assert job.state == "failed"
    assert by_name["gone.txt"].state == "failed"
    assert "No such file" in by_name["gone.txt"].error and "gone.txt" in by_name["gone.txt"].error
    assert "gone.txt" in job.message
    assert by_name["a.txt"].state == by_name["b.txt"].state == "done"
    assert (dst / "src" / "a.txt").read_bytes() == b"a" * 1000
    assert (dst / "src" / "b.txt").read_bytes() == b"b" * 2000
    assert not (dst / "src" / "gone.txt").exists()

    write(gone, b"G" * 3000)  # it is back
    queue.retry(job)
    assert queue.wait(job, timeout=60)

    assert job.state == "done", (job.message, [(t.label, t.state, t.error) for t in job.files])
    assert all(t.state == "done" and not t.error for t in job.files)
    assert files_under(dst / "src") == {"a.txt": b"a" * 1000, "b.txt": b"b" * 2000, "gone.txt": b"G" * 3000}


# -- when the target exists ------------------------------------------------------------------------

@pytest.fixture
def clash(tmp_path):
    """src/ with two files that dst/src/ already holds, with other bytes."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "report.txt", b"new report")
    write(src / "data.csv", b"new,data\n")
    write(dst / "src" / "report.txt", b"old")
    write(dst / "src" / "data.csv", b"old,data,longer\n")  # another size: different whatever its time
    return src, dst


def test_skip_for_all_asks_once_and_leaves_every_existing_file(queue, clash):
    src, dst = clash
    ask = ScriptedInteraction(ask_answers=[{"choice": "Skip", "all": True}])

    job = run(queue, "copy", [folder(src)], folder(dst), interaction=ask)

    assert [e[0] for e in ask.log] == ["ask"]  # once, for both
    assert "already exists" in ask.log[0][2]
    assert job.conflict == "Skip"
    assert [t.state for t in job.files] == ["skipped", "skipped"]
    assert files_under(dst / "src") == {"data.csv": b"old,data,longer\n", "report.txt": b"old"}
    assert job.state == "done"


def test_rename_keeps_the_existing_file_and_writes_name_2(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "report.txt", b"new report")
    write(dst / "src" / "report.txt", b"old")
    ask = ScriptedInteraction(ask_answers=[{"choice": "Rename", "all": False}])

    job = run(queue, "copy", [folder(src)], folder(dst), interaction=ask)

    assert job.state == "done", (job.message, [(t.label, t.state, t.error) for t in job.files])
    assert files_under(dst / "src") == {"report.txt": b"old", "report (2).txt": b"new report"}


def test_overwrite_replaces_the_existing_file(queue, clash):
    src, dst = clash
    ask = ScriptedInteraction(ask_answers=[{"choice": "Overwrite", "all": True}])

    job = run(queue, "copy", [folder(src)], folder(dst), interaction=ask)

    assert len(ask.log) == 1
    assert job.state == "done", (job.message, [(t.label, t.state, t.error) for t in job.files])
    assert files_under(dst / "src") == {"data.csv": b"new,data\n", "report.txt": b"new report"}


def test_only_if_newer_or_different_skips_an_identical_file_and_copies_a_different_one(queue, clash):
    src, dst = clash
    same = dst / "src" / "report.txt"
    same.write_bytes(b"new report")  # identical: same bytes, same time
    t = os.stat(src / "report.txt").st_mtime
    os.utime(same, (t, t))
    ask = ScriptedInteraction(ask_answers=[{"choice": "Only if newer or different", "all": True}])

    job = run(queue, "copy", [folder(src)], folder(dst), interaction=ask)

    states = {Path(task.target.path).name: task.state for task in job.files}
    assert states == {"report.txt": "skipped", "data.csv": "done"}, [(x.label, x.state, x.error) for x in job.files]
    assert files_under(dst / "src") == {"data.csv": b"new,data\n", "report.txt": b"new report"}
    assert job.state == "done"


def test_closing_the_question_cancels_the_job(queue, clash):
    src, dst = clash
    ask = ScriptedInteraction(ask_answers=[None])

    job = run(queue, "copy", [folder(src)], folder(dst), interaction=ask)

    assert job.state == "cancelled"
    assert files_under(dst / "src") == {"data.csv": b"old,data,longer\n", "report.txt": b"old"}


# -- cancelling -------------------------------------------------------------------------------------

def test_cancel_while_a_large_file_copies_leaves_nothing_under_its_final_name(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    big = write(src / "big.bin", os.urandom(32 * 1024 * 1024))
    dst.mkdir()
    seen: list[str] = []

    def cancel_when_it_runs(job: Job) -> None:
        if any(t.state == "running" for t in job.files) and not job.stop.is_set():
            seen.append(job.state)
            job.cancel()

    queue.on_change(cancel_when_it_runs)
    job = run(queue, "copy", [folder(src)], folder(dst))

    assert seen == ["running"]
    assert job.state == "cancelled"
    assert [t.state for t in job.files] == ["cancelled"]
    final = dst / "src" / "big.bin"
    assert not final.exists()
    assert [p.name for p in final.parent.iterdir()] in ([], [Path(part_path(str(final))).name])
    assert big.stat().st_size == 32 * 1024 * 1024  # the source is untouched


# -- deleting ---------------------------------------------------------------------------------------

def test_a_delete_job_removes_a_folder_and_everything_in_it(queue, tmp_path):
    doomed = tmp_path / "doomed"
    write(doomed / "a.txt", b"a")
    write(doomed / "sub" / "deep" / "b.txt", b"b")
    (doomed / "empty").mkdir()
    keep = write(tmp_path / "keep.txt", b"k")

    job = run(queue, "delete", [folder(doomed)], None)

    assert job.state == "done", (job.message, [(t.label, t.state, t.error) for t in job.files])
    assert not doomed.exists()
    assert keep.read_bytes() == b"k"
    assert job.message.startswith("1 folder deleted"), job.message


# -- the queue in its state file --------------------------------------------------------------------

def test_a_job_saved_while_running_reloads_as_interrupted(storage, tmp_path):
    state = tmp_path / "ws" / "transfers.json"
    src = write(tmp_path / "src" / "a.txt", b"a" * 10)
    first = TransferQueue(storage, state)
    job = Job("copy", [folder(src.parent)], folder(tmp_path / "dst"), title="Copy src")
    job.state = "running"
    job.files = [FileTask(Entry(Location.parse(str(src)), 10, src.stat().st_mtime),
                          Location.parse(str(tmp_path / "dst" / "src" / "a.txt")), size=10, done=4,
                          state="running", started=123.0),
                 FileTask(Entry(Location.parse(str(src))), Location.parse(str(tmp_path / "x")), size=1,
                          state="done", done=1)]
    first.jobs.append(job)
    first.save()
    assert json.loads(state.read_text("utf-8"))["jobs"][0]["state"] == "running"

    second = TransferQueue(storage, state)

    assert [j.id for j in second.jobs] == [job.id]
    back = second.jobs[0]
    assert back.state == "interrupted"
    assert "closed" in back.message
    assert back.title == "Copy src" and back.kind == "copy" and back.sources == job.sources
    assert back.target == job.target
    assert [t.state for t in back.files] == ["queued", "done"]
    assert back.files[0].started == 123.0 and back.files[0].source == job.files[0].source
    assert back.files[0].target == job.files[0].target
    assert not second.busy


def test_a_job_kept_before_its_file_list_scans_again_on_retry(storage, tmp_path):
    """A job's file list is kept by the queue's periodic save, not when it starts running: one the
    app lost before that is in the file as it began (scanning, its sources), and a retry scans."""
    state = tmp_path / "ws" / "transfers.json"
    src = write(tmp_path / "src" / "a.txt", b"a" * 10)
    write(tmp_path / "src" / "sub" / "b.txt", b"b" * 3)
    first = TransferQueue(storage, state)
    job = Job("copy", [folder(src.parent)], folder(tmp_path / "dst"), title="Copy src")
    first.jobs.append(job)
    first.save()

    second = TransferQueue(storage, state)
    back = second.jobs[0]
    assert back.state == "interrupted" and back.files == []
    second.retry(back)
    assert second.wait(back, 30)
    assert back.state == "done", back.message
    assert files_under(tmp_path / "dst") == {"src/a.txt": b"a" * 10, "src/sub/b.txt": b"b" * 3}
    assert json.loads(state.read_text("utf-8"))["jobs"][0]["state"] == "done"


def test_a_short_job_is_kept_when_it_ends(storage, tmp_path):
    write(tmp_path / "src" / "a.txt", b"a")
    queue = TransferQueue(storage, tmp_path / "ws" / "transfers.json")
    job = run(queue, "copy", [folder(tmp_path / "src")], folder(tmp_path / "dst"))
    kept = json.loads(queue.state_file.read_text("utf-8"))["jobs"]
    queue.shutdown()
    assert job.state == "done" and [(j["id"], j["state"], len(j["files"])) for j in kept] == [(job.id, "done", 1)]


@pytest.mark.parametrize("damage", [
    "{\"version\": 1, \"jobs\": [",  # cut short
    "\x00\x01 not json at all",
    "{\"jobs\": [{\"kind\": \"upload\"}]}",  # no id
    "{\"jobs\": 7}",
    "[]",  # JSON, but not the queue's shape
    "null",
    "{\"jobs\": [{\"id\": \"x\", \"kind\": \"upload\", \"files\": [{\"source\": 5}]}]}",
])
def test_a_damaged_state_file_loads_as_an_empty_queue(storage, tmp_path, damage):
    state = tmp_path / "transfers.json"
    state.write_text(damage, "utf-8")

    q = TransferQueue(storage, state)

    assert q.jobs == []
    assert not q.busy


def test_undecodable_bytes_in_the_state_file_load_as_an_empty_queue(storage, tmp_path):
    state = tmp_path / "transfers.json"
    state.write_bytes(b"\xff\xfe\x80garbage")
    assert TransferQueue(storage, state).jobs == []


# -- refusing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["copy", "move"])
def test_a_folder_into_itself_is_refused(queue, tmp_path, kind):
    src = tmp_path / "src"
    write(src / "sub" / "a.txt", b"a")

    for target in (folder(src), folder(src / "sub")):
        with pytest.raises(StorageError, match="into itself"):
            queue.submit(kind, [folder(src)], target)
    assert queue.jobs == []
    assert files_under(src) == {"sub/a.txt": b"a"}


def test_a_sibling_whose_name_starts_alike_is_not_inside(queue, tmp_path):
    src, other = tmp_path / "src", tmp_path / "src2"
    write(src / "a.txt", b"a")
    other.mkdir()
    job = queue.submit("copy", [folder(src)], folder(other))  # must not be refused
    assert queue.wait(job, timeout=60)
    assert (other / "src" / "a.txt").read_bytes() == b"a"


def test_a_folder_copy_does_not_follow_links_out_of_it(queue, tmp_path):
    """A dropped folder's symbolic links are not followed: a link to a secret file or to a folder
    outside it brings nothing of them along (the job copies what is inside only)."""
    outside = tmp_path / "outside"
    write(outside / "secret.txt", b"not for upload")
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "kept.txt", b"kept")
    os.symlink(outside / "secret.txt", src / "link-to-file")
    os.symlink(outside, src / "link-to-folder")
    dst.mkdir()
    job = queue.submit("copy", [folder(src)], folder(dst))
    assert queue.wait(job, timeout=30) and job.state == "done", job.message
    got = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    assert got == ["src", "src/kept.txt"]
    assert not any(b"not for upload" in p.read_bytes() for p in dst.rglob("*") if p.is_file())


def test_a_retry_keeps_the_answer_given_for_an_existing_target(queue, tmp_path):
    """Overwrite was chosen for a.txt, whose copy then failed; Retry overwrites without asking again."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "a.txt", b"new a")
    write(dst / "src" / "a.txt", b"old a")

    class AnswerThenLoseTheSource(ScriptedInteraction):
        def ask(self, title, fields, *, text=""):
            answer = super().ask(title, fields, text=text)
            (src / "a.txt").rename(tmp_path / "aside")  # the copy that follows fails
            return answer

    asked = AnswerThenLoseTheSource(ask_answers=[{"choice": "Overwrite", "all": False}])
    job = queue.submit("copy", [folder(src)], folder(dst), asked)
    assert queue.wait(job, timeout=30) and job.state == "failed", job.message
    assert (dst / "src" / "a.txt").read_bytes() == b"old a"
    (tmp_path / "aside").rename(src / "a.txt")
    again = ScriptedInteraction()  # answers None (cancel) if it is asked
    queue.retry(job, again)
    assert queue.wait(job, timeout=30) and job.state == "done", job.message
    assert (dst / "src" / "a.txt").read_bytes() == b"new a"
    assert [e for e in again.log if e[0] == "ask"] == []
