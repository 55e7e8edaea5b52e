"""A download job's small files as one tar stream (gridclient/storage/sftp_ahead.py ``_by_tar``)
against a real OpenSSH sshd and the server's own GNU tar: hostile names in order, a file gone or
grown meanwhile read by its worker and said, and a server whose ``tar`` is not GNU tar read over
SFTP instead, without asking it again."""

from __future__ import annotations

import os
import time

from gridclient.storage.transfers import TransferQueue
from tests.core import test_sftp as _base
from tests.core.test_sftp import at, files_under, run, why
from tests.core.test_sftp_sums import connect
from tests.fixtures.storage import folder, write

isolated_home = _base.isolated_home  # autouse there: no ssh-agent, an empty ~/.ssh here too

HOSTILE = ["a name\nwith a newline", "-starts-with-a-dash", "sp ace", "quo'te\"s", "back\\slash",
           "tab\there", "é-ü-ß", "x" * 200, "trailing space "]


def files_of(folder, count: int, size: int) -> dict[str, bytes]:
    """``count`` files of random bytes in ``folder`` (``size`` bytes and up); their names → bytes."""
    want = {f"f{i:03}.bin": os.urandom(size + i) for i in range(count)}
    for name, data in want.items():
        write(folder / name, data)
    return want


def test_small_files_come_as_one_tar_stream_whatever_their_names(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "remote" / "-many"  # a folder whose name starts with a dash, too
    want = {f"f{i:03}.bin": os.urandom(i * 53) for i in range(40)}  # f000 is empty
    want.update({name: os.urandom(300) + name.encode() for name in HOSTILE})
    want["deeper/inside.txt"] = b"inside"
    for name, data in want.items():
        write(src / name, data)
    os.link(src / "f010.bin", src / "hardlink.bin")  # a hard link's bytes are its own member
    want["hardlink.bin"] = want["f010.bin"]
    queue = TransferQueue(storage, None)
    try:
        before = server.sessions("command")
        job = run(queue, "download", [at(root, src, folder=True)], folder(tmp_path / "dst"))
        assert job.state == "done", why(job)
        got = files_under(tmp_path / "dst" / "-many")
        assert sorted(got.values()) == sorted(want.values()) and len(got) == len(want)
        conn = scheme._conn(root)
        assert conn.tar is True
        assert conn.sums.helper.answered == len(want)  # each checked with the server's SHA-256 too
        time.sleep(0.2)  # sshd's log line is written by its own process
        assert server.sessions("command") - before == 2  # the checksum process and one tar
    finally:
        queue.shutdown()
        scheme.close()


def test_a_file_gone_or_grown_after_the_listing_is_read_by_its_worker_and_said(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "remote" / "many"
    want = files_of(src, 30, 1000)
    queue = TransferQueue(storage, None)
    real = scheme._ahead.start

    def start_then_change(*args):  # between the listing and the download
        (src / "f003.bin").unlink()
        write(src / "f020.bin", want["f020.bin"] + b"grown")
        return real(*args)

    scheme._ahead.start = start_then_change
    try:
        job = run(queue, "download", [at(root, src, folder=True)], folder(tmp_path / "dst"))
        failed = {t.label.rsplit("/", 1)[-1]: t.error for t in job.files if t.state == "failed"}
        assert set(failed) == {"f003.bin", "f020.bin"}, why(job)
        assert "does not exist" in failed["f003.bin"]
        got = files_under(tmp_path / "dst" / "many")
        assert {n: d for n, d in got.items() if not n.startswith(".")} == \
            {n: d for n, d in want.items() if n not in failed}
        assert scheme._conn(root).tar is True
    finally:
        queue.shutdown()
        scheme.close()


def test_a_server_whose_tar_is_not_gnu_tar_is_read_over_sftp_and_not_asked_again(sshd_factory, tmp_path):
    server = sshd_factory()
    bin_dir = tmp_path / "fake-bin"
    write(bin_dir / "tar", b"#!/bin/sh\necho \"tar: unrecognized option '--null'\" >&2\nexit 64\n").chmod(0o755)
    write(tmp_path / "env.sh", f"PATH={bin_dir}:$PATH\n".encode())  # bash reads it before each command
    server.environment["BASH_ENV"] = str(tmp_path / "env.sh")
    server.restart()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "remote" / "many"
    want = files_of(src, 25, 700)
    queue = TransferQueue(storage, None)
    try:
        first = run(queue, "download", [at(root, src, folder=True)], folder(tmp_path / "one"))
        assert first.state == "done", why(first)
        conn = scheme._conn(root)
        assert conn.tar is False and files_under(tmp_path / "one" / "many") == want
        execs = conn.execs
        second = run(queue, "download", [at(root, src, folder=True)], folder(tmp_path / "two"))
        assert second.state == "done", why(second)
        assert files_under(tmp_path / "two" / "many") == want
        assert conn.execs == execs  # tar not tried again on this connection
    finally:
        queue.shutdown()
        scheme.close()
