"""The demo SSH endpoint's SFTP subsystem (providers/sandbox/sftp_server.py): a throwaway folder per
login user shown as "/", home /home/<user>, nothing outside it reachable; the storage scheme's
commands (sha256sum, cp, mv) run on the same files; the folder goes when the endpoint stops.

Everything goes over real TCP to a LoopbackSSHServer on 127.0.0.1, with paramiko's SFTPClient or
the app's own ``sftp`` storage scheme; the tests look at the folder on disk with plain Python.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
from pathlib import Path

import paramiko
import pytest

from providers.sandbox.ssh_server import LoopbackSSHServer

WAIT = 20.0  # a hang guard, never a timing check
EMPTY = hashlib.sha256(b"").hexdigest()
SEEDED = {"README.txt", "config.ini", "data"}


@pytest.fixture(scope="module")
def key():
    return paramiko.RSAKey.generate(2048)


@pytest.fixture(scope="module")
def server(key):
    srv = LoopbackSSHServer(key).start()
    yield srv
    srv.stop()


def _connect(srv: LoopbackSSHServer, key, user: str = "ubuntu") -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[127.0.0.1]:{srv.port}", srv.host_key.get_name(), srv.host_key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port=srv.port, username=user, pkey=key, allow_agent=False,
                   look_for_keys=False, timeout=WAIT, banner_timeout=WAIT, auth_timeout=WAIT)
    return client


@pytest.fixture
def login(server, key):
    """(ssh client, sftp client) as ``user``; closed after the test."""
    made: list[paramiko.SSHClient] = []

    def make(user: str = "ubuntu"):
        client = _connect(server, key, user)
        made.append(client)
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(WAIT)
        return client, sftp

    yield make
    for client in made:
        client.close()


def _exec(client: paramiko.SSHClient, command: str) -> tuple[int, str, str]:
    _, out, err = client.exec_command(command, timeout=WAIT)
    o, e = out.read().decode(), err.read().decode()
    return out.channel.recv_exit_status(), o, e


def _home(server, user: str = "ubuntu") -> Path:
    return Path(server.files(user).real) / "home" / user


# -- what a person sees ---------------------------------------------------------------------------
def test_home_is_home_user_under_a_root_shown_as_slash_with_the_seeded_files(server, login):
    _, sftp = login()
    assert sftp.normalize(".") == "/home/ubuntu"
    assert set(sftp.listdir(".")) == SEEDED
    assert sftp.listdir("/") == ["home"] and sftp.listdir("/home") == ["ubuntu"]
    assert sftp.listdir("data") == ["readings.csv"]
    with sftp.open("/home/ubuntu/data/readings.csv") as f:
        assert f.read(20) == b"time,sensor,celsius\n"
    attrs = {a.filename: a for a in sftp.listdir_attr(".")}
    assert stat.S_ISDIR(attrs["data"].st_mode) and stat.S_ISREG(attrs["config.ini"].st_mode)
    assert attrs["README.txt"].st_size == (_home(server) / "README.txt").stat().st_size > 0


def test_upload_and_download_are_byte_exact_and_land_in_the_folder(server, login):
    _, sftp = login()
    data = os.urandom(3 * 1024 * 1024 + 17)
    sftp.putfo(io.BytesIO(data), "big.bin")
    assert (_home(server) / "big.bin").read_bytes() == data  # the very file on disk
    got = io.BytesIO()
    sftp.getfo("/home/ubuntu/big.bin", got)
    assert got.getvalue() == data
    with sftp.open("big.bin", "r+") as f:  # writes and reads at offsets
        f.seek(10)
        f.write(b"XYZ")
        f.seek(8)
        assert f.read(6) == data[8:10] + b"XYZ" + data[13:14]
        assert f.stat().st_size == len(data)
    with sftp.open("big.bin", "a") as f:
        f.write(b"tail")
    assert sftp.stat("big.bin").st_size == len(data) + 4
    sftp.remove("big.bin")


def test_folders_renames_removals_and_attributes(server, login):
    _, sftp = login()
    home = _home(server)
    sftp.mkdir("work", 0o750)
    assert stat.S_IMODE(sftp.stat("work").st_mode) & 0o700 == 0o700 and (home / "work").is_dir()
    sftp.putfo(io.BytesIO(b"one"), "work/a.txt")
    sftp.putfo(io.BytesIO(b"two"), "work/b.txt")

    with pytest.raises(IOError):
        sftp.rename("work/a.txt", "work/b.txt")  # SFTPv3's rename never replaces
    assert (home / "work" / "b.txt").read_bytes() == b"two"
    sftp.posix_rename("work/a.txt", "work/b.txt")  # posix-rename@openssh.com does
    assert sorted(sftp.listdir("work")) == ["b.txt"] and (home / "work" / "b.txt").read_bytes() == b"one"
    sftp.rename("work/b.txt", "/home/ubuntu/c.txt")
    assert (home / "c.txt").read_bytes() == b"one"

    sftp.chmod("c.txt", 0o600)
    assert stat.S_IMODE(sftp.stat("c.txt").st_mode) == 0o600 == stat.S_IMODE((home / "c.txt").stat().st_mode)
    sftp.utime("c.txt", (1_600_000_000, 1_600_000_000))
    assert sftp.stat("c.txt").st_mtime == 1_600_000_000
    sftp.truncate("c.txt", 1)
    assert (home / "c.txt").read_bytes() == b"o"

    sftp.putfo(io.BytesIO(b"x"), "work/inside.txt")
    with pytest.raises(IOError):
        sftp.rmdir("work")  # not empty
    with pytest.raises(IOError):
        sftp.remove("work")  # a folder is not a file
    sftp.remove("work/inside.txt")
    sftp.rmdir("work")
    sftp.remove("c.txt")
    assert set(os.listdir(home)) == SEEDED
    for attempt in (lambda: sftp.rmdir("/"), lambda: sftp.remove("/"), lambda: sftp.rename("/", "/x"),
                    lambda: sftp.rmdir("/..")):
        with pytest.raises(PermissionError):
            attempt()
    assert sftp.listdir("/") == ["home"]


# -- confinement ----------------------------------------------------------------------------------
def test_dot_dot_and_absolute_paths_stay_inside_the_root(server, login):
    _, sftp = login()
    root = Path(server.files("ubuntu").real)
    assert sftp.listdir("/..") == sftp.listdir("../../../../..") == sftp.listdir("//") == ["home"]
    assert sftp.normalize("../../../../etc") == "/etc"
    assert sftp.normalize("/home/../../x/./y") == "/x/y"
    for path in ("../../etc/passwd", "/etc/passwd", "/../../../../etc/passwd"):
        with pytest.raises(FileNotFoundError):  # no such file *in the root*: the real one is never read
            sftp.open(path).read()
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_bytes(b"the demo's own\n")
    try:
        with sftp.open("../../../../../etc/passwd") as f:
            assert f.read() == b"the demo's own\n"  # what ".." reaches is inside
        sftp.putfo(io.BytesIO(b"w"), "../../../../../../escaped.txt")
        assert (root / "escaped.txt").read_bytes() == b"w"
        assert not (root.parent / "escaped.txt").exists()
    finally:
        (root / "etc" / "passwd").unlink()
        (root / "etc").rmdir()
        (root / "escaped.txt").unlink(missing_ok=True)


def test_a_link_pointing_outside_is_shown_as_a_link_and_never_followed(server, login, tmp_path):
    client, sftp = login()
    home = _home(server)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the demo\n")
    os.symlink(secret, home / "escape")  # as if something on this machine had made it
    os.symlink(tmp_path, home / "out")
    try:
        attrs = {a.filename: a for a in sftp.listdir_attr(".")}
        assert stat.S_ISLNK(attrs["escape"].st_mode) and stat.S_ISLNK(attrs["out"].st_mode)
        assert stat.S_ISLNK(sftp.lstat("escape").st_mode)
        assert sftp.readlink("escape") == str(secret)  # shown as the link it is
        for attempt in (lambda: sftp.open("escape").read(), lambda: sftp.stat("escape"),
                        lambda: sftp.open("escape", "w").write(b"x"), lambda: sftp.chmod("escape", 0o777),
                        lambda: sftp.listdir("out"), lambda: sftp.open("out/secret.txt").read(),
                        lambda: sftp.lstat("out/secret.txt"), lambda: sftp.remove("out/secret.txt"),
                        lambda: sftp.rename("c", "out/moved"), lambda: sftp.mkdir("out/new")):
            with pytest.raises(PermissionError):
                attempt()
        status, out, _ = _exec(client, "sha256sum < /home/ubuntu/escape")
        assert status == 1 and out == ""
        status, _, _ = _exec(client, "cp -p -- /home/ubuntu/escape /home/ubuntu/.got && "
                                     "mv -f -- /home/ubuntu/.got /home/ubuntu/got")
        assert status == 1 and not (home / "got").exists()
        sftp.remove("escape")  # the link goes, never what it points to
        assert secret.read_bytes() == b"outside the demo\n" and not os.path.lexists(home / "escape")
    finally:
        for name in ("escape", "out"):
            if os.path.lexists(home / name):
                os.unlink(home / name)


def test_links_made_over_sftp_mean_paths_inside_the_root(server, login):
    _, sftp = login()
    root = Path(server.files("ubuntu").real)
    sftp.symlink("/home/ubuntu/data", "d")
    sftp.symlink("data/readings.csv", "r.csv")
    sftp.symlink("../../../../../../../etc/passwd", "up")
    try:
        assert sftp.readlink("d") == "/home/ubuntu/data"  # given back as typed
        assert sftp.listdir("d") == ["readings.csv"]
        assert sftp.readlink("r.csv") == "data/readings.csv"
        assert sftp.open("r.csv").read(20) == b"time,sensor,celsius\n"
        assert os.path.realpath(root / "home" / "ubuntu" / "up") == str(root / "etc" / "passwd")
        with pytest.raises(FileNotFoundError):
            sftp.open("up").read()  # "/etc/passwd" of the demo, which has none
    finally:
        for name in ("d", "r.csv", "up"):
            sftp.remove(name)


def test_each_login_user_has_a_root_of_its_own(server, login):
    _, ubuntu = login("ubuntu")
    _, amazon = login("ec2-user")
    assert amazon.normalize(".") == "/home/ec2-user"
    assert amazon.listdir("/home") == ["ec2-user"] and set(amazon.listdir(".")) == SEEDED
    ubuntu.putfo(io.BytesIO(b"mine"), "only-ubuntu.txt")
    try:
        assert "only-ubuntu.txt" not in amazon.listdir(".")
        with pytest.raises(FileNotFoundError):
            amazon.stat("/home/ubuntu/only-ubuntu.txt")
        assert server.files("ubuntu").real != server.files("ec2-user").real
    finally:
        ubuntu.remove("only-ubuntu.txt")
    _, odd = login("../../odd user")  # any user name logs in; never a path on disk
    home = odd.normalize(".")
    assert home.startswith("/home/user-") and "/.." not in home
    real = server.files("../../odd user").real
    assert os.path.dirname(real) == os.path.dirname(server.files("ubuntu").real)


# -- the storage scheme's commands ----------------------------------------------------------------
def test_sha256sum_cp_and_mv_run_on_the_files_sftp_serves(server, login):
    client, sftp = login()
    home = _home(server)
    readme = (home / "README.txt").read_bytes()
    assert _exec(client, "sha256sum </dev/null") == (0, f"{EMPTY}  -\n", "")  # the scheme's probe
    assert _exec(client, "sha256sum < /home/ubuntu/README.txt") == (
        0, f"{hashlib.sha256(readme).hexdigest()}  -\n", "")
    assert _exec(client, "sha256sum < 'config.ini'")[1].split()[0] == hashlib.sha256(
        (home / "config.ini").read_bytes()).hexdigest()  # relative: to the home, as sshd's cwd
    status, out, _ = _exec(client, "sha256sum -- README.txt /home/ubuntu/data/readings.csv")
    assert status == 0 and [line.split()[1] for line in out.splitlines()] == [
        "README.txt", "/home/ubuntu/data/readings.csv"]

    sftp.putfo(io.BytesIO(b"copy me"), "a b.txt")
    sftp.chmod("a b.txt", 0o640)
    sftp.utime("a b.txt", (1_600_000_000, 1_600_000_000))
    status, _, err = _exec(client, "cp -p -- '/home/ubuntu/a b.txt' /home/ubuntu/.c.part && "
                                   "mv -f -- /home/ubuntu/.c.part '/home/ubuntu/c d.txt'")
    assert (status, err) == (0, "")
    copied = home / "c d.txt"
    assert copied.read_bytes() == b"copy me" and not (home / ".c.part").exists()
    assert stat.S_IMODE(copied.stat().st_mode) == 0o640 and copied.stat().st_mtime == 1_600_000_000

    status, out, err = _exec(client, "sha256sum < /etc/passwd")
    assert status == 1 and out == "" and "No such file" in err  # the demo's /etc, not this machine's
    status, _, err = _exec(client, "cp -p -- /home/ubuntu/data /home/ubuntu/x")
    assert status == 1 and "directory" in err
    for name in ("a b.txt", "c d.txt"):
        sftp.remove(name)
    # anything else is the endpoint's shell, as before
    assert _exec(client, "echo $((6*7))") == (0, "42\n", "")
    assert _exec(client, "sha256sum </dev/null; echo shell")[1].endswith("shell\n")


# -- the endpoint's life --------------------------------------------------------------------------
def test_the_files_are_removed_when_the_endpoint_stops(key):
    srv = LoopbackSSHServer(key).start()
    client = _connect(srv, key)
    try:
        sftp = client.open_sftp()
        sftp.mkdir("locked")
        sftp.putfo(io.BytesIO(b"x"), "locked/f.txt")
        sftp.chmod("locked", 0o500)  # read-only: removed all the same
        held = sftp.open("open-while-stopping.bin", "w")
        held.write(b"partial")
        held.flush()
        roots = [Path(srv.files(u).real) for u in ("ubuntu", "ec2-user")]
        folder = roots[0].parent
        assert all(r.is_dir() for r in roots) and folder.name.startswith("gridclient-demo-files-")
        srv.stop()
        assert not folder.exists()
        with pytest.raises(RuntimeError):
            srv.files("ubuntu")
    finally:
        client.close()
        srv.stop()


def test_the_demo_sandbox_serves_sftp_with_the_demo_key(demo_sandbox, demo_pkey):
    entry = paramiko.hostkeys.HostKeyEntry.from_line(demo_sandbox.known_hosts_line())
    client = paramiko.SSHClient()
    client.get_host_keys().add(entry.hostnames[0], entry.key.get_name(), entry.key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port=demo_sandbox.ssh_port, username="ubuntu", pkey=demo_pkey,
                   allow_agent=False, look_for_keys=False, timeout=WAIT)
    try:
        sftp = client.open_sftp()
        assert sftp.normalize(".") == "/home/ubuntu" and set(sftp.listdir(".")) == SEEDED
    finally:
        client.close()


# -- the app's own sftp scheme against the demo ---------------------------------------------------
@pytest.fixture
def scheme(server, key, tmp_path, monkeypatch):
    """The ``sftp`` storage scheme, reaching the demo endpoint as ubuntu with its key."""
    from gridclient.interaction import ScriptedInteraction
    from gridclient.ssh import KnownHosts, SSHTarget
    from gridclient.storage.sftp import SFTPScheme

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh, no agent: only this key
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    key_file = tmp_path / "demo-key.pem"
    key.write_private_key_file(str(key_file))
    os.chmod(key_file, 0o600)
    known = KnownHosts(tmp_path / "known_hosts", user_file=None)
    known.add("127.0.0.1", server.port, server.host_key)
    s = SFTPScheme()
    root = s.add_target(SSHTarget(host="127.0.0.1", port=server.port, user="ubuntu", key_file=str(key_file),
                                  ssh_config_file=""), ScriptedInteraction(), known)
    yield s, root
    s.close()


def test_the_sftp_scheme_browses_transfers_checks_and_copies_on_the_demo(server, scheme, tmp_path):
    from gridclient.storage import Stop

    s, root = scheme
    home = s.home(root)
    assert home.path == "home/ubuntu/"
    names = {e.location.name: e for page in s.list(home) for e in page}
    assert set(names) == SEEDED and names["data"].is_folder

    data = os.urandom(1024 * 1024 + 5)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    target = home.child("up/loaded.bin")
    s.make_folder(target.parent)
    stored = s.upload(str(local), len(data), target, lambda n: None, Stop())
    assert stored.size == len(data) and stored.extra.get("sha256") == hashlib.sha256(data).hexdigest()  # checked there
    assert (_home(server) / "up" / "loaded.bin").read_bytes() == data
    assert not [p for p in (_home(server) / "up").iterdir() if p.name != "loaded.bin"]  # no part left

    out = io.BytesIO()
    s.download(s.stat(target), out, lambda n: None, Stop())
    assert out.getvalue() == data
    assert s.checker(s.stat(target)) is not None  # downloads are checked with the server's sha256sum

    copy = s.copy(s.stat(target), home.child("up/copy.bin"), lambda n: None, Stop())  # cp -p && mv there
    assert copy.size == len(data) and (_home(server) / "up" / "copy.bin").read_bytes() == data
    renamed = s.rename(copy.location, "renamed.bin")
    assert s.chmod(renamed.location, 0o600).extra["mode"] == 0o600
    assert s.delete([home.child("up", folder=True)]) == []
    assert not (_home(server) / "up").exists()


def test_the_checksum_helper_answers_on_the_confined_files_whatever_the_names(server, login):
    """The scheme's long-lived checksum command (sftp_sums.HELPER): recognized exactly, answered
    line by line on the root's files; names with newlines, quotes, dashes, bytes that are not UTF-8;
    nothing outside the root, through ".." or a link."""
    from gridclient.storage.sftp_sums import HELLO, HELPER, request

    client, sftp = login()
    home = _home(server)
    names = [b"new\nline.txt", b"-dash", b"it's \"q\".txt", b"caf\xe9.bin", b"x" * 200, b"back\\0101\\c"]
    for i, name in enumerate(names):
        with open(os.path.join(os.fsencode(home), name), "wb") as f:
            f.write(b"%d" % i * 999)
    (home / "out").symlink_to("/etc/passwd")
    chan = client.get_transport().open_session(timeout=WAIT)
    chan.settimeout(WAIT)
    chan.exec_command(HELPER)
    chan.sendall(HELLO)
    asked = [b"/home/ubuntu/" + n for n in names] + [b"data/readings.csv", b"/home/ubuntu/out", b"/../../etc/passwd",
                                                     b"/home/ubuntu/nothing", b"/home/ubuntu/data"]
    chan.sendall(b"".join(request(p, "o" if i % 2 else "s") for i, p in enumerate(asked)))
    got = b""
    while got.count(b"\n") < len(asked) + 1:
        more = chan.recv(65536)
        assert more, got
        got += more
    lines = got.decode().splitlines()
    chan.close()
    assert lines[0].startswith("ready ")
    want = [f"= {hashlib.sha256(b'%d' % i * 999).hexdigest()}" for i in range(len(names))]
    want.append(f"= {hashlib.sha256((home / 'data' / 'readings.csv').read_bytes()).hexdigest()}")
    assert lines[1:] == want + ["E unreadable", "E missing", "E missing", "E unreadable"]
    for name in names:
        os.unlink(os.path.join(os.fsencode(home), name))
    (home / "out").unlink()


def test_the_sftp_scheme_checks_many_files_with_one_command_on_the_demo(server, scheme, tmp_path):
    from gridclient.storage import Stop

    s, root = scheme
    home = s.home(root)
    local = tmp_path / "f.bin"
    for i in range(20):
        local.write_bytes(os.urandom(500 + i))
        stored = s.upload(str(local), 500 + i, home.child(f"many/{i}.bin"), lambda n: None, Stop())
        assert stored.extra.get("sha256") == hashlib.sha256(local.read_bytes()).hexdigest()
    conn = s._conn(root)
    assert conn.sums.mode == "helper" and conn.sums.helper.answered == 20 and conn.execs == 1
    assert s.delete([home.child("many", folder=True)]) == []


def test_the_demo_answers_a_batch_of_checksums_by_path(server, scheme, tmp_path):
    from gridclient.storage import Stop

    s, root = scheme
    home = s.home(root)
    local = tmp_path / "f.bin"
    want = {}
    for i in range(3):
        local.write_bytes(os.urandom(700 + i))
        want[f"/home/ubuntu/batch/{i}.bin"] = hashlib.sha256(local.read_bytes()).hexdigest()
        s.upload(str(local), 700 + i, home.child(f"batch/{i}.bin"), lambda n: None, Stop())
    sums = s._conn(root).sums
    before = sums.helper.batches
    paths = [*want, "/home/ubuntu/batch/gone.bin", "/home/ubuntu/batch"]
    pendings = sums.submit_many([(p.encode(), 700, p) for p in paths])
    assert [p.result() for p in pendings[:3]] == list(want.values()) and sums.helper.batches == before + 1
    for p, said in zip(pendings[3:], ["it is not there", "it cannot be read there"]):
        with pytest.raises(Exception, match=said):
            p.result()


def test_the_demo_answers_a_range_of_a_file(server, scheme, tmp_path):
    from gridclient.storage import Stop

    s, root = scheme
    data = os.urandom(2 * 1024 * 1024 + 5000)
    local = tmp_path / "r.bin"
    local.write_bytes(data)
    s.upload(str(local), len(data), s.home(root).child("r.bin"), lambda n: None, Stop())
    sums = s._conn(root).sums
    first, last = (sums.submit_range(b"/home/ubuntu/r.bin", k, 1, 1 << 20, "r.bin") for k in (0, 2))
    assert first.result() == hashlib.sha256(data[:1 << 20]).hexdigest()
    assert last.result() == hashlib.sha256(data[2 << 20:]).hexdigest()


def test_the_demo_streams_a_folder_of_small_files_as_tar_from_the_confined_root(server, scheme, tmp_path):
    from gridclient.storage import Location
    from gridclient.storage.transfers import TransferQueue
    from tests.fixtures.storage import folder

    s, root = scheme
    home = s.home(root)
    storage = storage_with(s)
    want = {f"s{i:02}.txt": os.urandom(100 + i) for i in range(24)}
    want["a name\nwith a newline"] = b"nl"
    want["-starts-with-a-dash"] = b"dash"
    remote = _home(server) / "small"
    remote.mkdir()
    for name, data in want.items():
        (remote / name).write_bytes(data)
    queue = TransferQueue(storage, None)
    try:
        job = queue.submit("download", [Location("sftp", root.vo_id, root.root, home.path + "small/")],
                           folder(tmp_path / "dst"))
        assert queue.wait(job, 60) and job.state == "done", (job.message, [(t.label, t.error) for t in job.files])
    finally:
        queue.shutdown()
    got = sorted(p.read_bytes() for p in (tmp_path / "dst" / "small").iterdir())
    assert got == sorted(want.values())
    assert s._conn(root).tar is True  # the demo answered the tar stream, from its own files


def storage_with(scheme):
    """A Storage whose sftp scheme is ``scheme`` (the fixture's, its target added)."""
    from gridclient.registry import ExtensionRegistry
    from gridclient.storage import Storage

    storage = Storage(ExtensionRegistry(), lambda vo_id: None)
    storage._schemes["sftp"] = scheme
    return storage


def test_a_server_that_does_not_say_its_limits_gets_writes_of_one_packet(server, scheme):
    from gridclient.storage.sftp_channels import REQUEST, write_size

    s, root = scheme
    client, generation = s._conn(root).take()
    try:
        assert client.max_write == 0  # the demo's paramiko server answers the extension "unsupported"
        assert write_size(client, b"h" * 4) <= REQUEST
    finally:
        s._conn(root).release(client, keep=True, generation=generation)


def test_a_new_endpoint_removes_the_files_of_endpoints_that_were_killed(tmp_path):
    """A killed demo leaves its roots folder: the next one removes it, and leaves a running one's
    (its flock is held) and one just being made."""
    from providers.sandbox.sftp_server import FOLDER_PREFIX, HELD, FileRoots

    running = FileRoots(str(tmp_path))
    running.for_user("ubuntu")
    killed = tmp_path / f"{FOLDER_PREFIX}killed"
    (killed / "ubuntu" / "home" / "ubuntu").mkdir(parents=True)
    (killed / HELD).write_text("")
    old = time.time() - 120
    os.utime(killed / HELD, (old, old))
    os.utime(Path(running.folder) / HELD, (old, old))
    making = tmp_path / f"{FOLDER_PREFIX}making"  # no flock file yet, made a moment ago
    making.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()

    fresh = FileRoots(str(tmp_path))
    try:
        assert not killed.exists()
        assert Path(running.folder).is_dir() and making.is_dir() and other.is_dir()
    finally:
        fresh.close()
        running.close()
    assert not Path(running.folder).exists() and not Path(fresh.folder).exists()
