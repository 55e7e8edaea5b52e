"""A move within one server — or one local file system — is a rename there: no byte is copied
(the moved file keeps its inode), a folder of any size moves in one request; a target that exists
goes the usual way, with its conflict question. Local files and a real OpenSSH sshd."""

from __future__ import annotations

import os

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.storage.jobs import SKIP
from tests.core.test_sftp import at, isolated_home, run, sftp, why  # noqa: F401 - fixtures
from tests.fixtures.storage import folder, write


def test_a_local_move_renames_files_and_folders_in_place(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    big = write(src / "data" / "big.bin", os.urandom(200_000))
    write(src / "data" / "sub" / "note.txt", b"note")
    single = write(src / "one.txt", b"one")
    dst.mkdir()
    inodes = {big.stat().st_ino, single.stat().st_ino}

    job = run(queue, "move", [folder(src / "data"), folder(src).child("one.txt")], folder(dst))
    assert job.state == "done", why(job)
    assert {(dst / "data" / "big.bin").stat().st_ino, (dst / "one.txt").stat().st_ino} == inodes  # not copied
    assert (dst / "data" / "sub" / "note.txt").read_bytes() == b"note"
    assert not (src / "data").exists() and not single.exists()
    assert [t.note.get("in_place") for t in job.files] == [True, True] and job.count("done") == 2


def test_a_target_that_exists_is_asked_about_as_for_any_move(queue, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "a.txt", b"new")
    write(dst / "a.txt", b"old")
    interaction = ScriptedInteraction(ask_answers=[{"choice": SKIP}])
    job = run(queue, "move", [folder(src).child("a.txt")], folder(dst), interaction)
    assert any(entry[0] == "ask" for entry in interaction.log)  # the usual question
    assert (dst / "a.txt").read_bytes() == b"old" and (src / "a.txt").read_bytes() == b"new"
    assert job.count("skipped") == 1


def test_rename_in_one_folder_is_one_request(queue, tmp_path):
    write(tmp_path / "report.csv", b"x" * 1000)
    ino = (tmp_path / "report.csv").stat().st_ino
    job = run(queue, "move", [folder(tmp_path).child("report.csv")], folder(tmp_path), rename="final.csv")
    assert job.state == "done", why(job)
    assert (tmp_path / "final.csv").stat().st_ino == ino and not (tmp_path / "report.csv").exists()


@pytest.fixture
def sftp_queue(sftp):
    from gridclient.storage.transfers import TransferQueue

    q = TransferQueue(sftp.storage, None)
    yield q
    q.shutdown()


def test_a_move_on_one_ssh_server_is_renamed_there(sftp, sftp_queue, tmp_path, sshd):
    data = os.urandom(3_000_000)
    f = write(tmp_path / "a" / "result.bin", data)
    write(tmp_path / "a" / "run" / "log.txt", b"log")
    (tmp_path / "b").mkdir()
    ino = f.stat().st_ino
    execs = sshd.sessions("command")

    job = run(sftp_queue, "move", [at(sftp.root, tmp_path / "a" / "result.bin"), at(sftp.root, tmp_path / "a" / "run", folder=True)],
              at(sftp.root, tmp_path / "b", folder=True))
    assert job.state == "done", why(job)
    assert (tmp_path / "b" / "result.bin").stat().st_ino == ino  # renamed on the server, not copied
    assert (tmp_path / "b" / "run" / "log.txt").read_bytes() == b"log"
    assert not (tmp_path / "a" / "result.bin").exists() and not (tmp_path / "a" / "run").exists()
    assert sshd.sessions("command") == execs  # no cp, no checksum: nothing was copied
    assert not list(tmp_path.rglob("*.gridclient-part"))
