"""The ``sftp`` storage scheme against a real OpenSSH sshd (tests/fixtures/sshd.py, its internal-sftp).

The server runs as this user on this machine, so a remote path is a path under tmp_path: the tests
make files with plain Python and look with plain Python at what the scheme did there. Transfers go
through a real TransferQueue, as tests/core/test_transfers.py does with the ``file`` scheme.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pwd
import random
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.registry import ExtensionRegistry, ProviderManifest, StorageScheme
from gridclient.ssh import HostKeyChanged, HostKeyRejected, KnownHosts
from gridclient.storage import Integrity, Location, Stop, Storage, StorageError
from gridclient.storage.manifest import manifest as core_manifest
from gridclient.storage.sftp import PAGE, SFTPScheme, Unreachable, root_of, split_root
from gridclient.storage.transfers import Job, TransferQueue, part_path
from tests.fixtures.storage import folder, write

MB = 1024 * 1024
GUARD = 120  # upper bound on waiting for a job; never a speed assertion


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No ssh-agent and an empty ~/.ssh: only the keys a test names are offered."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def make_storage(*manifests: ProviderManifest) -> Storage:
    registry = ExtensionRegistry()
    registry.register(core_manifest, entry_point="built in")
    for m in manifests:
        registry.register(m)
    return Storage(registry, token_for=lambda vo_id: None)


def at(root: Location, path: Path, folder: bool = False, scheme: str = "") -> Location:
    """The remote location of ``path`` (the server is this machine)."""
    return Location(scheme or root.scheme, root.vo_id, root.root, str(path).strip("/") + ("/" if folder else ""))


def run(queue: TransferQueue, *args, **kw) -> Job:
    job = queue.submit(*args, **kw)
    assert queue.wait(job, timeout=GUARD), f"the job did not end: {job.state} {job.message}"
    return job


def why(job: Job) -> str:
    return f"{job.message} {[(t.label, t.state, t.error) for t in job.files if t.state != 'done']}"


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def sftp(sshd, sshd_known_hosts):
    storage = make_storage()
    scheme = storage.scheme("sftp")
    interaction = ScriptedInteraction()
    root = scheme.add_target(sshd.target(), interaction, sshd_known_hosts)
    yield SimpleNamespace(storage=storage, scheme=scheme, root=root, interaction=interaction)
    scheme.close()


@pytest.fixture
def sq(sftp):
    queue = TransferQueue(sftp.storage, None)
    yield queue
    queue.shutdown()


@pytest.fixture
def commands(monkeypatch):
    """The commands the scheme runs on the server's exec channels."""
    from gridclient.storage import sftp_channels as module

    ran: list[str] = []
    real = module.Connection.exec

    def spy(self, command, timeout):
        ran.append(command)
        return real(self, command, timeout)

    monkeypatch.setattr(module.Connection, "exec", spy)
    return ran


# -- where things are ------------------------------------------------------------------------------

def test_a_location_is_user_host_port_and_the_absolute_path_and_round_trips_through_its_uri(sftp, sshd):
    assert sftp.root == Location("sftp", "", f"{sshd.user}@127.0.0.1:{sshd.port}", "")
    loc = at(sftp.root, Path("/srv/data files/é.txt"))
    assert loc.uri == f"sftp://{sshd.user}@127.0.0.1:{sshd.port}/srv/data files/é.txt"
    assert Location.parse(loc.uri) == loc
    assert Location.parse(loc.uri, "vo-1") == dataclasses.replace(loc, vo_id="vo-1")
    assert split_root("me@[::1]:2222") == ("me", "::1", 2222) and root_of("me", "::1", 2222) == "me@[::1]:2222"
    home = pwd.getpwuid(os.getuid()).pw_dir  # the server's idea of home, not this test's $HOME
    assert sftp.scheme.home(sftp.root) == at(sftp.root, Path(home), folder=True)
    assert sftp.storage.of(loc) is sftp.scheme  # registered by the core's own manifest


# -- reading ---------------------------------------------------------------------------------------

def test_a_folder_of_2500_files_comes_in_pages_with_folders_and_links_shown_as_such(sftp, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    for i in range(2500):
        (big / f"f{i:04}.txt").write_bytes(b"x" * (i % 7))
    (big / "sub").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (big / "link").symlink_to(tmp_path / "elsewhere")  # a link to a folder: a link, not a folder

    pages = list(sftp.scheme.list(at(sftp.root, big, folder=True)))

    assert len(pages) >= 3 and all(0 < len(p) <= PAGE for p in pages)
    entries = [e for p in pages for e in p]
    by_name = {e.location.name: e for e in entries}
    assert len(entries) == len(by_name) == 2502
    assert by_name["sub"].is_folder and by_name["sub"].location == at(sftp.root, big / "sub", folder=True)
    assert by_name["link"].is_link and not by_name["link"].is_folder
    f3 = by_name["f0003.txt"]
    assert f3.size == 3 and f3.modified == int((big / "f0003.txt").stat().st_mtime) and not f3.is_link
    assert f3.location == at(sftp.root, big / "f0003.txt")


def test_stat_tells_a_file_a_folder_a_link_and_nothing(sftp, tmp_path):
    f = write(tmp_path / "a.bin", b"abc")
    os.utime(f, (1_600_000_000, 1_600_000_000))
    (tmp_path / "ln").symlink_to(f)
    s = sftp.scheme

    e = s.stat(at(sftp.root, f))
    assert (e.size, e.modified, e.is_folder, e.is_link, e.etag) == (3, 1_600_000_000, False, False, "1600000000-3")
    assert s.stat(at(sftp.root, tmp_path, folder=True)).is_folder
    assert s.stat(at(sftp.root, tmp_path / "ln")).is_link
    assert s.stat(at(sftp.root, tmp_path / "nothing")) is None
    assert s.stat(at(sftp.root, f / "under-a-file")) is None
    assert s.read_head(e, 2) == b"ab"


# -- moving bytes ----------------------------------------------------------------------------------

def test_a_folder_goes_up_and_comes_back_byte_exact_through_the_queue(sftp, sq, tmp_path, commands):
    src = tmp_path / "local"
    want = {"a.txt": b"alpha\n", "empty.txt": b"", "sub/b.bin": os.urandom(3 * MB),
            "sub/deeper/c.txt": b"gamma", **{f"many/{i:02}.txt": os.urandom(i * 100) for i in range(30)}}
    for rel, data in want.items():
        write(src / rel, data)
    (src / "emptydir").mkdir()
    remote = tmp_path / "remote"
    remote.mkdir()

    up = run(sq, "upload", [folder(src)], at(sftp.root, remote, folder=True))

    assert up.state == "done", why(up)
    assert files_under(remote / "local") == want  # 30 files at once over one connection's channels
    assert (remote / "local" / "emptydir").is_dir()
    assert not list(remote.rglob("*.gridclient-part"))
    sums = sftp.scheme._conn(sftp.root).sums  # checked on the server: 35 files, one checksum process
    assert sums.mode == "helper" and sums.helper.answered == len(want) and sums.started == 1
    assert not any(c.startswith("sha256sum") for c in commands)  # no command per file

    back = tmp_path / "back"
    back.mkdir()
    down = run(sq, "download", [at(sftp.root, remote / "local", folder=True)], folder(back))

    assert down.state == "done", why(down)
    got = files_under(back / "local")
    assert {k: sha(v) for k, v in got.items()} == {k: sha(v) for k, v in want.items()}
    assert sums.helper.answered == 2 * len(want) and sums.started == 1
    assert (back / "local" / "emptydir").is_dir()
    assert not list(back.rglob("*.gridclient-part"))


def test_a_download_goes_on_from_an_offset(sftp, tmp_path):
    data = os.urandom(MB)
    entry = sftp.scheme.stat(at(sftp.root, write(tmp_path / "r" / "big.bin", data)))
    out = write(tmp_path / "out.bin", data[:300_000])
    moved: list[int] = []

    with open(out, "r+b") as target:
        sftp.scheme.download(entry, target, moved.append, Stop(), offset=300_000)

    assert out.read_bytes() == data
    assert sum(moved) == len(data) - 300_000  # only the rest came


def test_an_upload_goes_on_from_its_part_on_the_server_and_a_wrong_part_is_not_kept(sftp, tmp_path):
    data = os.urandom(MB)
    local = write(tmp_path / "l" / "big.bin", data)
    remote = tmp_path / "r"
    remote.mkdir()
    target = at(sftp.root, remote / "big.bin")
    part = Path(part_path(str(remote / "big.bin")))
    part.write_bytes(data[:400_000])  # as an upload cut off by a dropped connection left it
    s = sftp.scheme

    resume = s.resumable(target, time.time() - 60, {})
    assert resume == {"part": str(part), "offset": 400_000}
    assert s.resumable(target, time.time() + 600, {}) is None  # a part older than the upload: not this one
    moved: list[int] = []
    stored = s.upload(str(local), len(data), target, moved.append, Stop(), resume=resume, note={})

    assert (remote / "big.bin").read_bytes() == data and not part.exists()
    assert moved[0] == 400_000 and sum(moved[1:]) == len(data) - 400_000  # the rest, not the whole
    assert stored.size == len(data) and stored.extra["sha256"] == sha(data)
    assert stored.modified == int(local.stat().st_mtime)

    other = at(sftp.root, remote / "other.bin")
    bad = Path(part_path(str(remote / "other.bin")))
    bad.write_bytes(b"\0" * 400_000)  # not the start of this file
    with pytest.raises(Integrity):
        s.upload(str(local), len(data), other, lambda n: None, Stop(), resume=s.resumable(other, 0.0, {}))
    assert not bad.exists() and not (remote / "other.bin").exists()  # nothing under either name


def test_an_upload_over_a_file_keeps_its_permissions_and_takes_the_local_time_and_bytes(sftp, tmp_path):
    local = write(tmp_path / "l" / "conf.txt", b"new contents\n")
    os.utime(local, (1_650_000_000, 1_650_000_000))
    remote = write(tmp_path / "r" / "conf.txt", b"old\n")
    remote.chmod(0o600)

    stored = sftp.scheme.upload(str(local), local.stat().st_size, at(sftp.root, remote), lambda n: None, Stop())

    assert remote.read_bytes() == b"new contents\n" and stat.S_IMODE(remote.stat().st_mode) == 0o600
    assert remote.stat().st_mtime == 1_650_000_000
    assert (stored.size, stored.modified, stored.extra["permissions"]) == (13, 1_650_000_000, "-rw-------")
    assert [p.name for p in remote.parent.iterdir()] == ["conf.txt"]  # no part left beside it


def test_the_channel_input_queue_gives_the_bytes_fed_in_order_whatever_the_sizes_asked():
    from gridclient.storage.sftp_channels import _Pipe

    rng = random.Random(7)
    pipe, fed, got = _Pipe(), bytearray(), bytearray()
    for _ in range(400):
        if rng.random() < 0.5 or not len(pipe):
            chunk = rng.randbytes(rng.choice([1, 3, 4, 13, 1000, 32768]))
            pipe.feed(chunk)
            fed += chunk
        else:
            got += pipe.read(rng.choice([1, 4, 5, 4096, 70000]), timeout=0)
        assert len(pipe) == len(fed) - len(got)
    got += pipe.empty()
    assert bytes(got) == bytes(fed) and len(pipe) == 0


def test_our_connections_offer_aes_gcm_first_and_a_real_sshd_takes_it(sftp, tmp_path):
    (tmp_path / "x").write_bytes(b"x")
    assert sftp.scheme.stat(at(sftp.root, tmp_path / "x")).size == 1
    transport = next(iter(sftp.scheme._connections.values())).session().transport
    assert (transport.local_cipher, transport.remote_cipher) == ("aes128-gcm@openssh.com",) * 2


def test_a_cancelled_upload_leaves_nothing_on_the_server(sftp, tmp_path):
    local = write(tmp_path / "l" / "big.bin", os.urandom(4 * MB))
    remote = tmp_path / "r"
    remote.mkdir()
    stop = Stop()

    def progress(n: int) -> None:
        stop.set()  # after the first bytes

    from gridclient.operations import Cancelled

    with pytest.raises(Cancelled):
        sftp.scheme.upload(str(local), 4 * MB, at(sftp.root, remote / "big.bin"), progress, stop)
    assert list(remote.iterdir()) == []


def test_verify_compares_the_sha256_computed_on_the_server_with_the_local_file(sftp, tmp_path):
    data = os.urandom(200_000)
    entry = sftp.scheme.stat(at(sftp.root, write(tmp_path / "r" / "v.bin", data)))
    same = write(tmp_path / "l" / "same.bin", data)
    other = write(tmp_path / "l" / "other.bin", data[:-1] + bytes([data[-1] ^ 1]))  # same size

    assert sftp.scheme.remote_sha256(entry.location, entry.size) == sha(data)
    sftp.scheme.verify(entry, str(same))
    with pytest.raises(Integrity):
        sftp.scheme.verify(entry, str(other))
    assert sftp.scheme._conn(entry.location).sums.helper.answered == 3


def test_a_copy_on_one_server_runs_there_and_a_move_between_two_connections_streams(sftp, sq, tmp_path, sshd,
                                                                                   sshd_known_hosts, commands):
    data = os.urandom(2 * MB)
    write(tmp_path / "a" / "x.bin", data)
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    a = at(sftp.root, tmp_path / "a" / "x.bin")

    copied = run(sq, "copy", [a], at(sftp.root, tmp_path / "b", folder=True))  # on the server: cp
    assert copied.state == "done", why(copied)
    assert (tmp_path / "b" / "x.bin").read_bytes() == data
    assert any(c.startswith("cp -p -- ") for c in commands)
    sftp.scheme._conn(a).cp = False  # a server without cp: the bytes through one channel here, checked
    (tmp_path / "b2").mkdir()
    through = run(sq, "copy", [a], at(sftp.root, tmp_path / "b2", folder=True))
    assert through.state == "done", why(through)
    assert (tmp_path / "b2" / "x.bin").read_bytes() == data

    # another VO's connection to the same address: the bytes come through here, streamed
    other = sftp.scheme.add_target(sshd.target(), sftp.interaction, sshd_known_hosts, vo_id="vo-2")
    moved = run(sq, "move", [at(sftp.root, tmp_path / "b" / "x.bin")], at(other, tmp_path / "c", folder=True))
    assert moved.state == "done", why(moved)
    assert (tmp_path / "c" / "x.bin").read_bytes() == data and not (tmp_path / "b" / "x.bin").exists()
    assert not list(tmp_path.rglob("*.gridclient-part"))


# -- changing --------------------------------------------------------------------------------------

def test_deleting_a_folder_removes_the_links_in_it_never_what_they_point_to(sftp, sq, tmp_path):
    outside = tmp_path / "outside"
    write(outside / "keep.txt", b"keep")
    doomed = tmp_path / "doomed"
    write(doomed / "a.txt", b"a")
    write(doomed / "sub" / "b.txt", b"b")
    (doomed / "sub" / "to-outside").symlink_to(outside)  # a link to a folder outside
    (doomed / "file-link").symlink_to(outside / "keep.txt")
    (doomed / "dangling").symlink_to(tmp_path / "nowhere")

    job = run(sq, "delete", [at(sftp.root, doomed, folder=True)], None)

    assert job.state == "done", why(job)
    assert not doomed.exists() and not doomed.is_symlink()
    assert (outside / "keep.txt").read_bytes() == b"keep" and outside.is_dir()

    link = tmp_path / "lnk"
    link.symlink_to(outside)
    assert sftp.scheme.delete([at(sftp.root, link, folder=True)]) == []  # the link, given as a folder
    assert not link.is_symlink() and (outside / "keep.txt").exists()
    assert sftp.scheme.delete([sftp.root])[0][0] == sftp.root  # never "/"


def test_make_folder_rename_and_chmod(sftp, tmp_path):
    s, r = sftp.scheme, sftp.root
    s.make_folder(at(r, tmp_path / "m" / "n" / "o", folder=True))
    assert (tmp_path / "m" / "n" / "o").is_dir()
    s.make_folder(at(r, tmp_path / "m" / "n" / "o", folder=True))  # there already: fine
    f = write(tmp_path / "m" / "file.txt", b"x")
    with pytest.raises(StorageError, match="is a file"):
        s.make_folder(at(r, f / "below", folder=True))

    renamed = s.rename(at(r, f), "new name.txt")
    assert renamed.location == at(r, tmp_path / "m" / "new name.txt") and renamed.size == 1
    assert (tmp_path / "m" / "new name.txt").read_bytes() == b"x" and not f.exists()
    write(tmp_path / "m" / "other.txt", b"o")
    with pytest.raises(StorageError, match="exists"):
        s.rename(at(r, tmp_path / "m" / "other.txt"), "new name.txt")
    assert (tmp_path / "m" / "new name.txt").read_bytes() == b"x"  # not replaced
    moved = s.rename(at(r, tmp_path / "m" / "n", folder=True), at(r, tmp_path / "moved", folder=True))
    assert moved.is_folder and (tmp_path / "moved" / "o").is_dir()

    changed = s.chmod(at(r, tmp_path / "m" / "new name.txt"), 0o640)
    assert stat.S_IMODE((tmp_path / "m" / "new name.txt").stat().st_mode) == 0o640
    assert changed.extra["permissions"] == "-rw-r-----"


# -- hostile names ---------------------------------------------------------------------------------

LIES = {"dotdot.txt": "..", "long.txt": "L" * 300, "escape.txt": "../../escaped.txt", "abs.txt": "/etc/x"}


class LyingServer(SFTPScheme):
    """A server that names its files as an attacker would: the real files are reached, the names
    reported are ``LIES`` (names a POSIX server cannot even hold, like ".." and 300 characters)."""

    name = "liar"

    def _real(self, loc: Location) -> Location:
        head, _, told = loc.path.partition("/hostile/")
        real = {lie: name for name, lie in LIES.items()}.get(told, told)
        return dataclasses.replace(loc, scheme="sftp", path=f"{head}/hostile/{real}" if head else loc.path)

    def list(self, folder):
        for page in super().list(dataclasses.replace(folder, scheme="sftp")):
            out = []
            for e in page:
                lie = LIES.get(e.location.name, e.location.name)
                path = e.location.path.rstrip("/").rpartition("/")[0] + "/" + lie + ("/" if e.is_folder else "")
                out.append(dataclasses.replace(e, location=dataclasses.replace(e.location, scheme="liar", path=path)))
            yield out

    def stat(self, location):
        found = super().stat(self._real(location))
        return found and dataclasses.replace(found, location=location)

    def download(self, entry, target, progress, stop, offset=0):
        super().download(dataclasses.replace(entry, location=self._real(entry.location)), target, progress, stop,
                         offset)

    def checker(self, entry):
        return super().checker(dataclasses.replace(entry, location=self._real(entry.location)))


def test_hostile_remote_names_downloaded_through_the_queue_stay_inside_the_chosen_folder(sshd, sshd_known_hosts,
                                                                                        tmp_path):
    storage = make_storage(ProviderManifest("liar", "Lying server", storage_schemes=(
        StorageScheme("liar", "tests.core.test_sftp:LyingServer"),)))
    liar = storage.scheme("liar")
    root = liar.add_target(sshd.target(), ScriptedInteraction(), sshd_known_hosts)
    served = tmp_path / "served"
    contents = {name: name.encode() * 1000 for name in (*LIES, "ok.txt", "new\nline.txt")}
    for name, data in contents.items():
        write(served / "hostile" / name, data)  # the newline is a real name on the server
    dst = tmp_path / "deep" / "dst"
    dst.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*")}
    queue = TransferQueue(storage, None)
    try:
        job = run(queue, "download", [at(root, served / "hostile", folder=True, scheme="liar")], folder(dst))
    finally:
        queue.shutdown()
        liar.close()

    assert job.state == "done", why(job)
    made = {p for p in tmp_path.rglob("*")} - before
    assert made and all(p.resolve().is_relative_to(dst.resolve()) for p in made), made
    got = [p for p in made if p.is_file()]
    assert sorted(p.read_bytes() for p in got) == sorted(contents.values())  # every file, whole
    assert all(len(p.name.encode()) <= 255 and "\n" not in p.name for p in got)
    assert len(job.renamed) >= 4  # each changed name is said


# -- connections -----------------------------------------------------------------------------------

def _private(server, tmp_path, interaction=None):
    known = KnownHosts(tmp_path / "known_hosts", user_file=None)
    known.add(server.host, server.port, server.host_pkey())
    storage = make_storage()
    scheme = storage.scheme("sftp")
    root = scheme.add_target(server.target(), interaction or ScriptedInteraction(), known)
    return storage, scheme, root


def test_a_connection_dropped_mid_download_leaves_no_file_under_its_name_and_retry_goes_on(sshd_factory, tmp_path,
                                                                                         monkeypatch):
    server = sshd_factory()
    storage, scheme, root = _private(server, tmp_path)
    data = os.urandom(16 * MB)
    src = write(tmp_path / "remote" / "big.bin", data)
    dst = tmp_path / "dst"
    dst.mkdir()
    offsets: list[int] = []
    dropped: list[int] = []
    real = scheme.download

    def dropping(entry, target, progress, stop, offset=0):
        offsets.append(offset)

        def moved(n: int) -> None:
            progress(n)
            if not dropped and target.tell() >= 4 * MB:
                dropped.append(target.tell())
                server.drop_connections()  # the server side of the connection is killed

        return real(entry, target, moved, stop, offset)

    def checker(entry):  # the checksum helper answers before the drop: a helper killed at its shell's start
        check = real_checker(entry)  # could leave that shell's lock files (pyenv's) behind on this machine
        check._pending.result()
        return check

    real_checker = scheme.checker
    monkeypatch.setattr(scheme, "download", dropping)
    monkeypatch.setattr(scheme, "checker", checker)
    queue = TransferQueue(storage, None)
    try:
        job = run(queue, "download", [at(root, src)], folder(dst))
        assert job.state == "failed", why(job)
        assert "connection" in job.message and "lost" in job.message
        assert not (dst / "big.bin").exists()
        part = Path(part_path(str(dst / "big.bin")))
        assert 0 < part.stat().st_size < len(data)

        queue.retry(job)
        assert queue.wait(job, timeout=GUARD)
    finally:
        queue.shutdown()
        scheme.close()
    assert job.state == "done", why(job)
    assert sha((dst / "big.bin").read_bytes()) == sha(data) and not part.exists()
    assert offsets[0] == 0 and offsets[1] >= 4 * MB  # the retry went on from what had arrived


def test_the_next_operation_after_a_drop_connects_again_and_a_gone_server_is_said(sshd_factory, tmp_path):
    server = sshd_factory()
    _, scheme, root = _private(server, tmp_path)
    here = at(root, tmp_path, folder=True)
    try:
        assert scheme.stat(here).is_folder
        server.drop_connections()
        time.sleep(0.2)
        assert scheme.stat(here).is_folder  # connected again, once, without being asked
        assert list(scheme.list(here))
        server.stop()
        with pytest.raises(StorageError) as exc:
            scheme.stat(here)
        assert "127.0.0.1" in str(exc.value)
    finally:
        scheme.close()


def test_an_unknown_host_key_is_asked_with_its_fingerprint_and_a_changed_one_is_refused(sshd_factory, tmp_path):
    server = sshd_factory()
    known_file = tmp_path / "known_hosts"
    it = ScriptedInteraction(confirm_answers=[False, True])
    scheme = SFTPScheme()
    root = scheme.add_target(server.target(), it, KnownHosts(known_file, user_file=None))
    here = at(root, tmp_path, folder=True)
    try:
        with pytest.raises(Unreachable) as exc:
            scheme.stat(here)
        assert isinstance(exc.value.ssh_error, HostKeyRejected)
        asked = [e for e in it.log if e[0] == "confirm"]
        assert len(asked) == 1 and server.host_fingerprint() in asked[0][2]
        assert scheme.stat(here).is_folder  # asked again, accepted: remembered
        assert len([e for e in it.log if e[0] == "confirm"]) == 2 and known_file.exists()
    finally:
        scheme.close()

    server.restart(new_host_key=True)
    it2 = ScriptedInteraction(default_confirm=True)  # would say yes, if it were asked
    again = SFTPScheme()
    root = again.add_target(server.target(), it2, KnownHosts(known_file, user_file=None))
    try:
        with pytest.raises(Unreachable) as exc:
            again.stat(at(root, tmp_path, folder=True))
        assert isinstance(exc.value.ssh_error, HostKeyChanged) and "man-in-the-middle" in str(exc.value)
        assert it2.log == []
    finally:
        again.close()


def test_an_address_nobody_connected_to_says_so_or_dials_with_the_defaults(sshd, sshd_known_hosts, tmp_path,
                                                                         monkeypatch):
    scheme = SFTPScheme()
    loc = Location.parse(f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{tmp_path}/")
    with pytest.raises(StorageError, match="No SSH connection"):
        scheme.stat(loc)
    write(tmp_path / ".ssh" / "id_ed25519", Path(sshd.key_file).read_bytes()).chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))  # the default key of ~/.ssh, as ssh would find it
    scheme.use(sshd_known_hosts, ScriptedInteraction())
    try:
        assert scheme.stat(loc).is_folder
    finally:
        scheme.close()


def test_a_downloaded_folder_takes_the_remote_folders_times(sftp, sq, tmp_path):
    """As ``scp -rp`` does: each folder of the tree, set once its files are written; the folder
    dropped onto is left as it was."""
    served = tmp_path / "served"
    write(served / "tree" / "a.txt", b"a")
    write(served / "tree" / "sub" / "b.txt", b"b")
    write(served / "tree" / "sub" / "deeper" / "c.txt", b"c")
    (served / "tree" / "empty").mkdir()
    when = {"tree": 1_500_000_000, "tree/sub": 1_500_100_000, "tree/sub/deeper": 1_500_200_000,
            "tree/empty": 1_500_300_000}
    for rel, t in when.items():
        os.utime(served / rel, (t, t))
    dst = tmp_path / "dst"
    dst.mkdir()
    before = dst.stat().st_mtime

    job = run(sq, "download", [at(sftp.root, served / "tree", folder=True)], Location.parse(str(dst) + "/"))

    assert job.state == "done", why(job)
    assert files_under(dst) == {"tree/a.txt": b"a", "tree/sub/b.txt": b"b", "tree/sub/deeper/c.txt": b"c"}
    assert {rel: int((dst / rel).stat().st_mtime) for rel in when} == when
    assert dst.stat().st_mtime != when["tree"] and dst.stat().st_mtime >= before
