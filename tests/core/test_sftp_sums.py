"""The ``sftp`` scheme's server checksums (gridclient/storage/sftp_sums.py) against a real OpenSSH sshd:
one long-lived checksum process per connection, hostile names, a corrupted upload, the process
killed, a server that runs no commands.

Each test that counts sessions has an sshd of its own (tests/fixtures/sshd.py's ``sshd_factory``):
its VERBOSE log says every session channel it started ("Starting session: command …"). The server
is this machine, so a remote path is a path under tmp_path, and the checksum process a process here.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.ssh import KnownHosts
from gridclient.storage import Integrity, Location, Stop
from gridclient.storage.sftp import SFTPScheme
from gridclient.storage.sftp_sums import decode_request, request
from gridclient.storage.transfers import TransferQueue, part_path
from tests.core import test_sftp as _base
from tests.core.test_sftp import GUARD, at, files_under, make_storage, run, why
from tests.fixtures.storage import folder, write

MB = 1024 * 1024
isolated_home = _base.isolated_home  # autouse there: no ssh-agent, an empty ~/.ssh here too


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def connect(server, tmp_path):
    known = KnownHosts(tmp_path / "known_hosts", user_file=None)
    known.add(server.host, server.port, server.host_pkey())
    storage = make_storage()
    scheme = storage.scheme("sftp")
    root = scheme.add_target(server.target(), ScriptedInteraction(), known)
    return storage, scheme, root


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie until sshd reaps it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_request_line_carries_any_name_and_reads_back_the_same():
    for name in (b"plain/name.txt", b"/x/new\nline", b"/x/-dash", b"/x/'q\"", b"/x/back\\0101\\c", b"/x/\xe9\xff",
                 b"/x/trailing\n\n", b"/x/" + b"L" * 200, b"/x/sp ace "):
        line = request(name, "s")
        assert line.endswith(b"\n") and line.count(b"\n") == 1 and all(32 <= b < 127 for b in line[:-1])
        assert decode_request(line[:-1]) == ("s", name)


def test_many_small_files_go_through_one_checksum_process(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "local"
    want = {f"f{i:03}.txt": os.urandom(100 + i * 37) for i in range(60)}
    for name, data in want.items():
        write(src / name, data)
    remote = tmp_path / "remote"
    remote.mkdir()
    back = tmp_path / "back"
    back.mkdir()
    queue = TransferQueue(storage, None)
    try:
        before = server.sessions("command")
        up = run(queue, "upload", [folder(src)], at(root, remote, folder=True))
        assert up.state == "done", why(up)
        down = run(queue, "download", [at(root, remote / "local", folder=True)], folder(back))
        assert down.state == "done", why(down)
        conn = scheme._conn(root)
        sums = conn.sums
        assert files_under(remote / "local") == want and files_under(back / "local") == want
        # 120 files checked on the server (60 up, 60 down), all by one process on one exec channel;
        # the other command: the download's small files, as one tar stream
        assert sums.mode == "helper" and sums.started == 1 and sums.helper.answered == 120
        assert conn.tar is True and conn.execs == 2
        time.sleep(0.2)  # sshd's log line is written by its own process
        assert server.sessions("command") - before == 2
    finally:
        queue.shutdown()
        scheme.close()


def test_a_batch_is_answered_by_path_with_missing_and_unreadable_ones_said(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    remote = tmp_path / "remote"
    files = {name: os.urandom(300 + i) for i, name in enumerate(["a.txt", "with  two spaces.txt", "-dash", "z"])}
    for name, data in files.items():
        write(remote / name, data)
    (remote / "a folder").mkdir()
    sums = scheme._conn(root).sums
    asked = [str(remote / n).encode() for n in [*files, "gone.txt", "a folder", "a.txt"]]
    pendings = sums.submit_many([(path, 300, path.decode()) for path in asked])
    assert sums.helper.batches == 1  # one request, so one sha256sum on the server for them all

    got = []
    for p in pendings:
        try:
            got.append(p.result())
        except Exception as exc:  # noqa: BLE001 - the sentence is what is checked
            got.append(str(exc))
    assert got[:4] == [sha(files[n]) for n in files] and got[6] == sha(files["a.txt"])
    assert "gone.txt on the server: it is not there" in got[4]
    assert "a folder on the server: it cannot be read there" in got[5]
    # a path that cannot go in a batch (a backslash, a newline) is asked on its own, and answered
    odd = remote / "back\\slash\nnewline"
    write(odd, b"odd")
    single = sums.submit_many([(str(odd).encode(), 3, "odd"), (str(remote / "z").encode(), 303, "z")])
    assert [p.result() for p in single] == [sha(b"odd"), sha(files["z"])] and sums.helper.batches == 1
    scheme.close()


def test_a_folder_of_small_files_is_read_ahead_checked_in_batches_and_a_file_gone_is_said(sshd_factory,
                                                                                            tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "remote" / "many"
    want = {f"f{i:03}.bin": os.urandom(i * 41) for i in range(150)}  # f000 is empty
    want["big.bin"] = os.urandom(300_000)  # not small: read by its worker, as before
    for name, data in want.items():
        write(src / name, data)
    queue = TransferQueue(storage, None)
    real = scheme._ahead.start

    def start_then_remove(*args):  # gone between the listing and the download
        (src / "f077.bin").unlink()
        return real(*args)

    scheme._ahead.start = start_then_remove
    try:
        dst = tmp_path / "dst"
        dst.mkdir()
        job = run(queue, "download", [at(root, src, folder=True)], folder(dst))
        assert job.state == "failed" and [t.label.rsplit("/", 2)[-2:] for t in job.files if t.state == "failed"] == [["many", "f077.bin"]]
        assert "does not exist" in next(t.error for t in job.files if t.state == "failed")
        del want["f077.bin"]
        got = files_under(dst / "many")
        assert {n: d for n, d in got.items() if not n.startswith(".")} == want  # the rest whole
        assert all(n.endswith(".gridclient-part") and not d for n, d in got.items() if n.startswith("."))
        helper = scheme._conn(root).sums.helper
        assert helper.answered == len(want) + 1  # every file checked (the gone one said missing)
        assert 150 // 32 <= helper.batches < 150 // 8  # in batches, not a request per file
    finally:
        queue.shutdown()
        scheme.close()


def cancelled_after(queue: TransferQueue, job, done: int):
    """``job`` cancelled once ``done`` of its files are; returned when it has ended, cancelled,
    with files left it did not do."""
    deadline = time.monotonic() + GUARD
    while job.count("done") < done and time.monotonic() < deadline:
        time.sleep(0.001)
    job.cancel()
    assert queue.wait(job, timeout=GUARD) and job.state == "cancelled"
    assert job.count("done") < len(job.files)
    return job


def test_a_cancelled_read_ahead_download_leaves_no_file_and_its_thread_ends(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "remote" / "many"
    for i in range(400):
        write(src / f"f{i:03}.bin", os.urandom(2000))
    queue = TransferQueue(storage, None)
    try:
        dst = tmp_path / "dst"
        dst.mkdir()
        job = cancelled_after(queue, queue.submit("download", [at(root, src, folder=True)], folder(dst)), 20)
        deadline = time.monotonic() + GUARD
        left = [p.name for p in (dst / "many").iterdir()]
        assert len(left) == job.count("done") and not [n for n in left if "part" in n]
        while any(t.name == "gridclient-read-ahead" for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not any(t.name == "gridclient-read-ahead" for t in threading.enumerate())
    finally:
        queue.shutdown()
        scheme.close()


def test_a_folder_of_small_files_is_written_ahead_checked_in_batches_and_renamed_by_its_workers(sshd_factory,
                                                                                                  tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "local" / "many"
    want = {f"f{i:03}.bin": os.urandom(i * 37) for i in range(120)}
    want["sub/deeper.bin"] = os.urandom(999)  # a folder the job makes
    for name, data in want.items():
        write(src / name, data)
    os.utime(src / "f005.bin", (1_600_000_000, 1_600_000_000))
    remote = tmp_path / "remote"
    write(remote / "many" / "f007.bin", b"old").chmod(0o640)  # overwritten: its permissions kept
    queue = TransferQueue(storage, None)
    try:
        job = run(queue, "upload", [folder(src)], at(root, remote, folder=True), conflict="Overwrite")
        assert job.state == "done", why(job)
        assert files_under(remote / "many") == want  # whole, and no part file left beside them
        assert (remote / "many" / "f005.bin").stat().st_mtime == 1_600_000_000
        assert (remote / "many" / "f007.bin").stat().st_mode & 0o777 == 0o640
        helper = scheme._conn(root).sums.helper
        assert helper.answered == len(want) and 121 // 32 <= helper.batches < 121 // 4
    finally:
        queue.shutdown()
        scheme.close()


def test_a_cancelled_written_ahead_upload_leaves_no_part_and_no_file_it_did_not_finish(sshd_factory,
                                                                                        tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    src = tmp_path / "local" / "many"
    for i in range(400):
        write(src / f"f{i:03}.bin", os.urandom(3000))
    remote = tmp_path / "remote"
    remote.mkdir()
    queue = TransferQueue(storage, None)
    try:
        job = cancelled_after(queue, queue.submit("upload", [folder(src)], at(root, remote, folder=True)), 20)
        names = sorted(p.name for p in (remote / "many").iterdir())
        done = sorted(t.target.name for t in job.files if t.state == "done")
        assert names == done  # the files finished, and nothing else: no part written ahead is left
    finally:
        queue.shutdown()
        scheme.close()


HOSTILE = ["new\nline.txt", "-leading-dash", "--", "it's \"quoted\".txt", "  spaces  ", "tab\there", "back\\slash\\0101\\c",
           "%b%s%x", "trailing-newline\n", "$(touch pwned)", "`touch pwned2`", "*", "x" * 200, "é-ü.txt",
           "caf\udce9-latin1.bin"]  # the last: the bytes b"caf\xe9…", not UTF-8


def test_hostile_names_are_hashed_by_the_server_and_uploaded_checked(sshd, sshd_known_hosts, tmp_path):
    scheme = SFTPScheme()
    root = scheme.add_target(sshd.target(), ScriptedInteraction(), sshd_known_hosts)
    served = tmp_path / "served"
    served.mkdir()
    local = tmp_path / "l.bin"
    try:
        for i, name in enumerate(HOSTILE):
            data = os.urandom(1000 + i)
            path = os.path.join(os.fsencode(served), os.fsencode(name))
            with open(path, "wb") as f:
                f.write(data)
            loc = Location("sftp", "", root.root, str(served).strip("/") + "/" + name)
            assert scheme.remote_sha256(loc, len(data)) == sha(data), name

            up = Location("sftp", "", root.root, str(served).strip("/") + "/up-" + name)
            local.write_bytes(data[::-1])
            stored = scheme.upload(str(local), len(data), up, lambda n: None, Stop())
            assert stored.extra["sha256"] == sha(data[::-1]), name  # checked on the server, then renamed
            with open(os.path.join(os.fsencode(served), os.fsencode("up-" + name)), "rb") as f:
                assert f.read() == data[::-1]
        missing = Location("sftp", "", root.root, str(served).strip("/") + "/not\nthere")
        with pytest.raises(Exception, match="not there"):
            scheme.remote_sha256(missing, 1)
        sums = scheme._conn(root).sums
        assert sums.mode == "helper" and sums.started == 1  # no name upset the process
        assert not list(tmp_path.rglob("pwned*")) and not (Path.home() / "pwned").exists()
        assert not list(served.glob("*.gridclient-part"))
    finally:
        scheme.close()


def test_a_corrupted_upload_fails_the_file_and_nothing_is_left(sshd, sshd_known_hosts, tmp_path):
    """The server's disk holds other bytes than the ones sent (changed under the upload): the
    server's SHA-256 differs, the file fails, no part and no file under the final name."""
    scheme = SFTPScheme()
    root = scheme.add_target(sshd.target(), ScriptedInteraction(), sshd_known_hosts)
    data = os.urandom(4 * MB)
    local = write(tmp_path / "l" / "big.bin", data)
    remote = tmp_path / "r"
    remote.mkdir()
    part = part_path(str(remote / "big.bin"))
    sent = [0]

    def progress(n: int) -> None:  # half of it acknowledged: a byte already written is changed there
        sent[0] += n
        if sent[0] >= 2 * MB and sent[0] - n < 2 * MB:
            with open(part, "r+b") as f:
                first = f.read(1)
                f.seek(0)
                f.write(bytes([first[0] ^ 0xFF]))

    try:
        with pytest.raises(Integrity, match="SHA-256"):
            scheme.upload(str(local), len(data), at(root, remote / "big.bin"), progress, Stop())
        assert list(remote.iterdir()) == []
        # and the next upload of the same file, untouched, is fine on the same process
        stored = scheme.upload(str(local), len(data), at(root, remote / "big.bin"), lambda n: None, Stop())
        assert stored.extra["sha256"] == sha(data) and (remote / "big.bin").read_bytes() == data
        assert scheme._conn(root).sums.started == 1
    finally:
        scheme.close()


def test_a_big_upload_is_checked_range_by_range_and_a_range_changed_there_fails_it(sshd, sshd_known_hosts,
                                                                                    tmp_path):
    """Over 32 MiB, the server hashes each 32 MiB of the part once its bytes are in (while the rest
    is on its way), and each range is compared with this side's: a byte changed there in a range not
    hashed yet fails the file, and nothing is left."""
    from gridclient.storage.sftp import RANGE

    scheme = SFTPScheme()
    root = scheme.add_target(sshd.target(), ScriptedInteraction(), sshd_known_hosts)
    data = os.urandom(2 * RANGE + 6 * MB)  # three ranges, the last one short
    local = write(tmp_path / "l" / "big.bin", data)
    remote = tmp_path / "r"
    remote.mkdir()
    part = part_path(str(remote / "big.bin"))
    sent = [0]

    def progress(n: int) -> None:  # range 0 asked already; a byte of range 1 changed there
        sent[0] += n
        if sent[0] >= RANGE + 8 * MB and sent[0] - n < RANGE + 8 * MB:
            with open(part, "r+b") as f:
                f.seek(RANGE + 3 * MB)
                byte = f.read(1)
                f.seek(RANGE + 3 * MB)
                f.write(bytes([byte[0] ^ 0xFF]))

    try:
        with pytest.raises(Integrity, match="SHA-256"):
            scheme.upload(str(local), len(data), at(root, remote / "big.bin"), progress, Stop())
        assert list(remote.iterdir()) == []
        helper = scheme._conn(root).sums.helper
        before = helper.answered
        stored = scheme.upload(str(local), len(data), at(root, remote / "big.bin"), lambda n: None, Stop())
        assert stored.extra["sha256"] == sha(data) and (remote / "big.bin").read_bytes() == data
        assert helper.answered - before == 3  # three ranges asked, no whole-file request
    finally:
        scheme.close()


def test_the_checksum_process_killed_is_started_again_and_the_check_still_happens(sshd_factory, tmp_path):
    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    files = {f"f{i:03}.bin": os.urandom(20_000 + i) for i in range(80)}
    for name, data in files.items():
        write(tmp_path / "remote" / name, data)
    queue = TransferQueue(storage, None)
    try:
        a = at(root, tmp_path / "remote" / "f000.bin")
        assert scheme.remote_sha256(a, 20_000) == sha(files["f000.bin"])
        sums = scheme._conn(root).sums
        first = sums.helper.pid
        os.kill(first, signal.SIGKILL)  # between two files
        deadline = time.monotonic() + GUARD
        while not gone(first) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert scheme.remote_sha256(at(root, tmp_path / "remote" / "f001.bin"), 20_001) == sha(files["f001.bin"])
        assert sums.started == 2 and sums.helper.pid != first

        killed: list[int] = []
        submit_many = sums.submit_many

        def then_kill(*args, **kwargs):  # during a job: its first checks asked, not all answered
            asked = submit_many(*args, **kwargs)
            if not killed:
                killed.append(sums.helper.pid)
                os.kill(killed[0], signal.SIGKILL)
            return asked

        sums.submit_many = then_kill
        dst = tmp_path / "dst"
        dst.mkdir()
        job = run(queue, "download", [at(root, tmp_path / "remote", folder=True)], folder(dst))
        assert job.state == "done", why(job)
        assert killed and sums.started == 3  # started again once more, and every file checked
        assert files_under(dst / "remote") == files
        time.sleep(0.2)
        assert server.sessions("command") == 3 + 1  # the three checksum processes, and the files' tar stream
    finally:
        queue.shutdown()
        scheme.close()


def test_a_server_without_commands_checks_sizes_only_and_says_so_at_once(sshd_factory, tmp_path):
    server = sshd_factory()
    server.extra_config = "ForceCommand internal-sftp\n"  # an SFTP-only account
    server.restart()
    storage, scheme, root = connect(server, tmp_path)
    data = os.urandom(MB)
    local = write(tmp_path / "l" / "f.bin", data)
    remote = tmp_path / "r"
    remote.mkdir()
    part = part_path(str(remote / "short.bin"))
    sent = [0]

    def progress(n: int) -> None:  # the last byte acknowledged: the part loses one there
        sent[0] += n
        if sent[0] == len(data):
            os.truncate(part, len(data) - 1)

    queue = TransferQueue(storage, None)
    try:
        t0 = time.monotonic()
        scheme._conn(root).probe()
        probed = time.monotonic() - t0
        sums = scheme._conn(root).sums
        assert sums.mode == "none" and scheme._conn(root).shell is False
        assert probed < 10, f"the probe took {probed:.1f} s"  # a hang guard: internal-sftp hangs up at once
        stored = scheme.upload(str(local), len(data), at(root, remote / "f.bin"), lambda n: None, Stop())
        assert (remote / "f.bin").read_bytes() == data and "sha256" not in stored.extra
        assert scheme.checker(stored) is None
        with pytest.raises(Integrity, match="holds"):  # the size is still checked
            scheme.upload(str(local), len(data), at(root, remote / "short.bin"), progress, Stop())
        assert not (remote / "short.bin").exists() and not os.path.exists(part)
        dst = tmp_path / "dst"
        dst.mkdir()
        job = run(queue, "download", [at(root, remote / "f.bin")], folder(dst))
        assert job.state == "done", why(job) and (dst / "f.bin").read_bytes() == data
    finally:
        queue.shutdown()
        scheme.close()


def test_writes_fill_several_packets_where_the_server_says_it_takes_them(sshd_factory, tmp_path):
    from gridclient.storage.sftp_channels import REQUEST, write_size

    server = sshd_factory()
    storage, scheme, root = connect(server, tmp_path)
    data = os.urandom(5 * 1024 * 1024 + 77)
    write(tmp_path / "local" / "big.bin", data)
    queue = TransferQueue(storage, None)
    try:
        job = run(queue, "upload", [folder(tmp_path / "local")], at(root, tmp_path / "remote", folder=True))
        assert job.state == "done", why(job)
        assert (tmp_path / "remote" / "local" / "big.bin").read_bytes() == data
        client, generation = scheme._conn(root).take()
        try:
            assert client.max_write >= 64 * 1024  # OpenSSH's limits@openssh.com answer
            step = write_size(client, b"h" * 4)
            packet = client.get_channel().out_max_packet_size - 64
            assert step > REQUEST and (step + 25 + 4) % packet == 0  # whole packets, several
        finally:
            scheme._conn(root).release(client, keep=True, generation=generation)
    finally:
        queue.shutdown()
        scheme.close()
