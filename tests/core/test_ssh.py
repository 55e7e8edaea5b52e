"""gridclient.ssh against a real OpenSSH server (tests/fixtures/sshd.py)."""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import paramiko
import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.ssh import (
    AuthenticationFailed,
    ConnectionFailed,
    HostKeyChanged,
    HostKeyRejected,
    KnownHosts,
    SSHSession,
    SSHTarget,
    fingerprint,
)

GUARD = 30  # upper bound on waiting for a server's answer; never a speed assertion


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No ssh-agent and an empty ~/.ssh: only the keys a test names are offered."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


class Screen:
    """Collects what the reader thread delivers; wait_for() blocks until a text shows up."""

    def __init__(self):
        self.data = bytearray()
        self.closed: list[str] = []
        self.cond = threading.Condition()
        self.threads: set[str] = set()

    def on_data(self, chunk: bytes) -> None:
        with self.cond:
            self.threads.add(threading.current_thread().name)
            self.data += chunk
            self.cond.notify_all()

    def on_closed(self, reason: str) -> None:
        with self.cond:
            self.closed.append(reason)
            self.cond.notify_all()

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def wait_for(self, needle: str) -> str:
        with self.cond:
            self.cond.wait_for(lambda: needle in self.text() or self.closed, GUARD)
            return self.text()

    def wait_closed(self) -> list[str]:
        with self.cond:
            self.cond.wait_for(lambda: bool(self.closed), GUARD)
            return list(self.closed)


def _session(sshd, known_hosts, interaction=None, **kw) -> SSHSession:
    return SSHSession(sshd.target(**kw), known_hosts, interaction or ScriptedInteraction())


# -- login, commands, shell --------------------------------------------------------------------

def test_login_and_run_command(sshd, sshd_known_hosts):
    it = ScriptedInteraction()
    with _session(sshd, sshd_known_hosts, it) as s:
        s.connect()
        assert s.connected
        status, out, err = s.run("echo out-$((20+22)); echo err-line >&2; whoami; exit 3")
    assert status == 3
    assert out.split() == ["out-42", sshd.user]
    assert err.strip() == "err-line"
    assert it.log == []  # a known host and a plain key: nothing to ask
    assert not s.connected


def test_a_command_s_whole_output_arrives_even_after_its_exit_status(sshd, sshd_known_hosts):
    """sshd may send the exit status while megabytes of output are still on their way: all of it
    is kept, on both streams."""
    with _session(sshd, sshd_known_hosts) as s:
        s.connect()
        for _ in range(3):
            status, out, err = s.run("head -c 3000000 /dev/zero | tr '\\0' x; head -c 500000 /dev/zero | tr '\\0' y >&2",
                                     timeout=60)
            assert (status, len(out), len(err)) == (0, 3_000_000, 500_000)
            assert set(out) == {"x"} and set(err) == {"y"}


def test_shell_reader_gets_output_of_echo(sshd, sshd_known_hosts):
    screen = Screen()
    s = _session(sshd, sshd_known_hosts)
    s.connect()
    try:
        s.open_shell(80, 24)
        s.start_reader(screen.on_data, screen.on_closed)
        s.write(b"echo mark-\"\"$((6*7))-er\n")  # the echoed command line differs from its output
        text = screen.wait_for("mark-42-er")
        assert "mark-42-er" in text
        assert screen.threads and threading.main_thread().name not in screen.threads
    finally:
        s.close()
    assert screen.wait_closed() == [""]  # closed by us: a clean end, reported once


def test_stty_size_follows_resize(sshd, sshd_known_hosts):
    screen = Screen()
    s = _session(sshd, sshd_known_hosts)
    s.connect()
    try:
        s.open_shell(80, 24)
        s.start_reader(screen.on_data, screen.on_closed)
        s.write(b"stty size; echo first-$((1+1))\n")
        assert "24 80" in screen.wait_for("first-2")
        s.resize(100, 40)
        s.write(b"stty size; echo second-$((1+2))\n")
        text = screen.wait_for("second-3")
        assert "40 100" in text.split("first-2", 1)[1]
    finally:
        s.close()


def test_shell_exit_reports_clean_close_once(sshd, sshd_known_hosts):
    screen = Screen()
    s = _session(sshd, sshd_known_hosts)
    s.connect()
    s.open_shell(80, 24)
    s.start_reader(screen.on_data, screen.on_closed)
    s.write(b"exit 0\n")
    assert screen.wait_closed() == [""]
    s.write(b"ignored after the end\n")  # no exception after the session ended
    s.resize(90, 30)
    s.close()
    assert screen.closed == [""]


# -- host keys -----------------------------------------------------------------------------

def test_unknown_host_shows_openssh_fingerprint_and_refusal_writes_nothing(sshd, tmp_path):
    app_file = tmp_path / "cfg" / "known_hosts"
    kh = KnownHosts(app_file, user_file=None)
    it = ScriptedInteraction(confirm_answers=[False])
    s = _session(sshd, kh, it)
    with pytest.raises(HostKeyRejected) as exc:
        s.connect()
    assert not s.connected
    asked = [e for e in it.log if e[0] == "confirm"]
    assert len(asked) == 1
    text = asked[0][2]
    expected = sshd.host_fingerprint()  # ssh-keygen -lf of the host's public key
    assert expected.startswith("SHA256:") and expected in text
    assert f"{sshd.host}:{sshd.port}" in text
    assert "ED25519" in text
    assert expected in str(exc.value)
    assert not app_file.exists()


def test_an_unknown_key_the_instance_printed_in_its_console_is_said_to_match(sshd, tmp_path):
    kh = KnownHosts(tmp_path / "known_hosts", user_file=None)
    it = ScriptedInteraction(confirm_answers=[True])
    other = "SHA256:" + "A" * 43
    with _session(sshd, kh, it, console_fingerprints=(other, sshd.host_fingerprint())) as s:
        s.connect()
    text = next(e for e in it.log if e[0] == "confirm")[2]
    assert "It matches the fingerprint the instance printed in its console output." in text


def test_an_unknown_key_the_instance_did_not_print_is_refused_without_asking(sshd, tmp_path):
    app_file = tmp_path / "known_hosts"
    kh = KnownHosts(app_file, user_file=None)
    it = ScriptedInteraction(confirm_answers=[True])  # would accept, if it were asked
    printed = ("SHA256:" + "A" * 43, "SHA256:" + "B" * 43)
    s = _session(sshd, kh, it, console_fingerprints=printed)
    with pytest.raises(HostKeyRejected) as exc:
        s.connect()
    assert "does NOT match" in str(exc.value) and sshd.host_fingerprint() in str(exc.value)
    assert not [e for e in it.log if e[0] == "confirm"] and not app_file.exists()


def test_a_console_without_fingerprints_is_said_so_and_the_person_decides(sshd, tmp_path):
    kh = KnownHosts(tmp_path / "known_hosts", user_file=None)
    it = ScriptedInteraction(confirm_answers=[False])
    with pytest.raises(HostKeyRejected):
        _session(sshd, kh, it, console_fingerprints=()).connect()
    assert "console output shows no host key fingerprints" in next(e for e in it.log if e[0] == "confirm")[2]


def test_accepting_remembers_key_0600_and_second_connect_does_not_ask(sshd, tmp_path):
    app_file = tmp_path / "cfg" / "known_hosts"
    kh = KnownHosts(app_file, user_file=None)
    it = ScriptedInteraction(confirm_answers=[True])
    with _session(sshd, kh, it) as s:
        s.connect()
        assert s.run("echo ok")[1].strip() == "ok"
    assert stat.S_IMODE(app_file.stat().st_mode) == 0o600
    line = app_file.read_text().strip()
    pub_type, pub_b64 = sshd.host_public_key.split()[:2]
    assert line == f"[{sshd.host}]:{sshd.port} {pub_type} {pub_b64}"
    # OpenSSH itself accepts the file we wrote
    found = subprocess.run(["ssh-keygen", "-F", f"[{sshd.host}]:{sshd.port}", "-f", str(app_file)],
                           capture_output=True, text=True)
    assert found.returncode == 0 and pub_b64 in found.stdout

    it2 = ScriptedInteraction(default_confirm=False)
    with _session(sshd, KnownHosts(app_file, user_file=None), it2) as s2:
        s2.connect()
        assert s2.connected
    assert it2.log == []
    assert app_file.read_text().strip() == line  # nothing appended twice


def test_key_known_in_user_file_is_trusted_and_that_file_is_not_written(sshd, tmp_path):
    user_file = tmp_path / "dot_ssh_known_hosts"
    user_file.write_text(sshd.known_hosts_line())
    subprocess.run(["ssh-keygen", "-H", "-f", str(user_file)], check=True, capture_output=True)  # hashed
    assert sshd.host not in user_file.read_text()
    before = user_file.read_bytes()
    app_file = tmp_path / "app_known_hosts"
    it = ScriptedInteraction()
    with _session(sshd, KnownHosts(app_file, user_file), it) as s:
        s.connect()
    assert it.log == []
    assert user_file.read_bytes() == before
    assert not app_file.exists()


def test_changed_host_key_is_refused_without_asking(sshd_factory, tmp_path):
    server = sshd_factory()
    app_file = tmp_path / "known_hosts"
    app_file.write_text("# remembered hosts\n" + server.known_hosts_line())
    old_fp = server.host_fingerprint()
    server.restart(new_host_key=True)
    assert server.host_fingerprint() != old_fp
    it = ScriptedInteraction(default_confirm=True)  # would say yes if it were asked
    s = _session(server, KnownHosts(app_file, user_file=None), it)
    with pytest.raises(HostKeyChanged) as exc:
        s.connect()
    assert it.log == []
    msg = str(exc.value)
    assert "man-in-the-middle" in msg
    assert str(app_file) in msg and "line 2" in msg
    assert server.host_fingerprint() in msg
    assert not s.connected
    assert app_file.read_text().count("\n") == 2  # untouched


def test_fingerprint_matches_ssh_keygen_for_rsa(tmp_path):
    key = tmp_path / "rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    expected = subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True,
                              check=True).stdout.split()[1]
    assert fingerprint(paramiko.PKey.from_path(key)) == expected


def _hashed_name(name: str) -> str:
    """A known_hosts name hashed as ``ssh-keygen -H`` writes it."""
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_forget_removes_only_the_app_files_lines_naming_that_host_and_port(tmp_path):
    app_file = tmp_path / "cfg" / "known_hosts"
    app_file.parent.mkdir()
    kept = [
        "# remembered hosts\n",
        "h.example ssh-ed25519 AAAAport22\n",  # same host, port 22: another entry
        "[h.example]:22222 ssh-ed25519 AAAAotherport\n",
        "*.example ssh-ed25519 AAAAwildcard\n",  # speaks for other hosts too
        "[h.example]:2222,![h.example]:2222 ssh-ed25519 AAAAnegated\n",
        "@revoked [h.example]:2222 ssh-ed25519 AAAArevoked\n",  # a person's deliberate refusal
        "\n",
    ]
    gone = [
        "[h.example]:2222 ssh-ed25519 AAAAold\n",
        "[H.Example]:2222 ssh-rsa AAAAoldrsa\n",
        "other.example,[h.example]:2222 ssh-ed25519 AAAAlisted\n",
        f"{_hashed_name('[h.example]:2222')} ecdsa-sha2-nistp256 AAAAhashed\n",
    ]
    lines = [kept[0], gone[0], kept[1], gone[1], kept[2], kept[3], gone[2], kept[4], kept[5],
             kept[6], gone[3]]
    app_file.write_text("".join(lines) + "[last.example]:2222 ssh-ed25519 AAAAnonewline")
    app_file.chmod(0o644)
    user_file = tmp_path / "user_known_hosts"
    user_file.write_text("[h.example]:2222 ssh-ed25519 AAAAuserkey\n")
    before_user = user_file.read_bytes()
    kh = KnownHosts(app_file, user_file)

    assert kh.forget("h.example", 2222) == 4

    assert app_file.read_text() == "".join(kept) + "[last.example]:2222 ssh-ed25519 AAAAnonewline"
    assert stat.S_IMODE(app_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in app_file.parent.iterdir()) == ["known_hosts"]  # no temp file left
    assert user_file.read_bytes() == before_user  # the person's file is never written
    left = [(e.file, e.key_b64, e.marker) for e in kh.entries("h.example", 2222)]
    assert left == [(app_file, "AAAArevoked", "@revoked"), (user_file, "AAAAuserkey", "")]
    assert kh.forget("h.example", 2222) == 0


def test_forget_without_a_match_or_a_file_changes_nothing(tmp_path):
    app_file = tmp_path / "known_hosts"
    kh = KnownHosts(app_file, user_file=None)
    assert kh.forget("h.example", 22) == 0
    assert not app_file.exists()  # not created

    app_file.write_text("other.example ssh-ed25519 AAAAother\n")
    before = app_file.stat()
    assert kh.forget("h.example", 22) == 0
    after = app_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten


def test_forgetting_a_changed_host_key_lets_the_new_one_be_accepted(sshd_factory, tmp_path):
    server = sshd_factory()
    app_file = tmp_path / "known_hosts"
    kh = KnownHosts(app_file, user_file=None)
    kh.add(server.host, server.port, server.host_pkey())
    kh.add("other.example", 22, server.host_pkey())
    server.restart(new_host_key=True)
    with pytest.raises(HostKeyChanged):
        _session(server, kh, ScriptedInteraction(default_confirm=True)).connect()

    assert kh.forget(server.host, server.port) == 1
    it = ScriptedInteraction(confirm_answers=[True])
    with _session(server, kh, it) as s:
        s.connect()
        assert s.connected
    assert [e[0] for e in it.log] == ["confirm"]  # asked as an unknown key, not refused as changed
    assert kh.check(server.host, server.port, server.host_pkey()) == "known"
    assert kh.entries("other.example", 22)  # other hosts keep their keys


def test_describing_a_login_does_not_import_paramiko():
    """The AWS provider and the dialogs import SSHTarget at startup; paramiko is for connecting."""
    code = ("import sys\n"
            "from gridclient.ssh import SSHTarget, SSHError, ConnectionFailed, AuthenticationFailed\n"
            "SSHTarget('h.example').title()\n"
            "print('paramiko' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=GUARD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# -- authentication ------------------------------------------------------------------------

def test_wrong_key_fails_and_names_user_and_key(sshd, sshd_known_hosts, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    s = _session(sshd, sshd_known_hosts, key_file=str(other))
    with pytest.raises(AuthenticationFailed) as exc:
        s.connect()
    msg = str(exc.value)
    assert f"“{sshd.user}”" in msg
    assert str(other) in msg
    assert not s.connected


def test_wrong_user_fails_and_names_user(sshd, sshd_known_hosts):
    s = _session(sshd, sshd_known_hosts, user="nosuchuser-gc")
    with pytest.raises(AuthenticationFailed) as exc:
        s.connect()
    assert "“nosuchuser-gc”" in str(exc.value)
    assert str(sshd.key_file) in str(exc.value)


def test_no_key_at_all_says_so(sshd, sshd_known_hosts):
    s = _session(sshd, sshd_known_hosts, key_file=None)
    with pytest.raises(AuthenticationFailed) as exc:
        s.connect()
    assert "No key was found" in str(exc.value) and sshd.user in str(exc.value)


def test_missing_key_file_is_named(sshd, sshd_known_hosts, tmp_path):
    s = _session(sshd, sshd_known_hosts, key_file=str(tmp_path / "nope"))
    with pytest.raises(AuthenticationFailed) as exc:
        s.connect()
    assert f"{tmp_path / 'nope'} (file not found)" in str(exc.value)


def test_encrypted_key_asks_passphrase_never_logs_it(sshd, sshd_known_hosts, tmp_path, caplog):
    enc = tmp_path / "enc_key"
    enc.write_bytes(Path(sshd.key_file).read_bytes())
    enc.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "open sesame 7", "-f", str(enc)], check=True)
    it = ScriptedInteraction(ask_answers=[{"passphrase": "wrong guess 1"}, {"passphrase": "open sesame 7"}])
    caplog.set_level(logging.DEBUG)
    with _session(sshd, sshd_known_hosts, it, key_file=str(enc)) as s:
        s.connect()
        assert s.run("echo in")[1].strip() == "in"
    asks = [e for e in it.log if e[0] == "ask"]
    assert len(asks) == 2 and str(enc) in asks[0][2] and "does not unlock" in asks[1][2]
    assert "open sesame 7" not in caplog.text and "wrong guess 1" not in caplog.text


def test_cancelled_passphrase_fails_clearly(sshd, sshd_known_hosts, tmp_path):
    enc = tmp_path / "enc_key"
    enc.write_bytes(Path(sshd.key_file).read_bytes())
    enc.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "pw", "-f", str(enc)], check=True)
    it = ScriptedInteraction(ask_answers=[None])
    with pytest.raises(AuthenticationFailed) as exc:
        _session(sshd, sshd_known_hosts, it, key_file=str(enc)).connect()
    assert "passphrase not given" in str(exc.value)


# -- failures of the network and the server ---------------------------------------------------

def test_server_killed_mid_session_reports_once(sshd_factory, tmp_path):
    server = sshd_factory()
    kh = KnownHosts(tmp_path / "kh", user_file=None)
    kh.add(server.host, server.port, server.host_pkey())
    screen = Screen()
    s = _session(server, kh)
    s.connect()
    s.open_shell(80, 24)
    s.start_reader(screen.on_data, screen.on_closed)
    s.write(b"echo alive-$((2*2))\n")
    assert "alive-4" in screen.wait_for("alive-4")
    server.stop()  # listener, per-connection child and shell: all gone
    reasons = screen.wait_closed()
    assert len(reasons) == 1
    assert reasons[0].startswith("Connection lost")
    assert not s.connected
    s.write(b"echo into the void\n")  # nothing raises after the loss
    s.resize(120, 50)
    s.close()
    assert screen.closed == reasons


def test_unreachable_port_raises_connection_failed(sshd_known_hosts):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        s = SSHSession(SSHTarget("127.0.0.1", port=port, ssh_config_file=""), sshd_known_hosts,
                       ScriptedInteraction())
        with pytest.raises(ConnectionFailed) as exc:
            s.connect(timeout=5)
    assert "refused" in str(exc.value) and str(port) in str(exc.value)


def test_port_without_ssh_server_raises_connection_failed(sshd_known_hosts):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def answer():
        conn, _ = srv.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    s = SSHSession(SSHTarget("127.0.0.1", port=port, ssh_config_file=""), sshd_known_hosts,
                   ScriptedInteraction())
    with pytest.raises(ConnectionFailed) as exc:
        s.connect(timeout=5)
    t.join(GUARD)
    srv.close()
    assert f"127.0.0.1:{port}" in str(exc.value)


# -- ~/.ssh/config --------------------------------------------------------------------------

def test_ssh_config_host_alias_is_honoured(sshd, sshd_known_hosts, tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host gc-box\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
                   f"  IdentityFile {sshd.key_file}\n\nHost *\n  User someone-else\n")
    target = SSHTarget("gc-box", ssh_config_file=str(cfg))
    assert target.title().endswith("@gc-box")
    it = ScriptedInteraction()
    with SSHSession(target, sshd_known_hosts, it) as s:
        s.connect()
        status, out, _ = s.run("whoami")
    assert (status, out.strip()) == (0, sshd.user)
    assert it.log == []  # host key looked up under the real HostName and Port


def test_default_ssh_config_in_home_is_read(sshd, sshd_known_hosts, isolated_home):
    (isolated_home / ".ssh" / "config").write_text(
        f"Host homebox\n  HostName {sshd.host}\n  Port {sshd.port}\n  IdentityFile {sshd.key_file}\n")
    with SSHSession(SSHTarget("homebox"), sshd_known_hosts, ScriptedInteraction()) as s:
        s.connect()
        assert s.run("echo home")[1].strip() == "home"


def test_proxy_jump_goes_through_jump_host(sshd, sshd_known_hosts, tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host gc-jump\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_file}\n"
        f"Host gc-inner\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_file}\n  ProxyJump gc-jump\n")
    with SSHSession(SSHTarget("gc-inner", ssh_config_file=str(cfg)), sshd_known_hosts,
                    ScriptedInteraction()) as s:
        s.connect()
        # the inner session's socket is a channel of the jump host's transport
        assert isinstance(s.transport.sock, paramiko.Channel)
        assert len(s._jumps) == 1 and s._jumps[0].connected
        # seen from the server, the inner login comes from the jump host's sshd (an ephemeral port)
        status, out, _ = s.run("echo $SSH_CONNECTION")
        assert status == 0 and out.split()[2:] == [sshd.host, str(sshd.port)]
    assert not s._jumps


def test_proxy_jump_host_key_is_checked_too(sshd, tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        f"Host gc-jump\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_file}\n"
        f"Host gc-inner\n  HostName localhost\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_file}\n  ProxyJump gc-jump\n")
    kh = KnownHosts(tmp_path / "kh", user_file=None)
    it = ScriptedInteraction(confirm_answers=[False])
    with pytest.raises(HostKeyRejected) as exc:
        SSHSession(SSHTarget("gc-inner", ssh_config_file=str(cfg)), kh, it).connect()
    assert "jump host" in str(exc.value)
    assert len(it.log) == 1 and f"{sshd.host}:{sshd.port}" in it.log[0][2]
    assert not (tmp_path / "kh").exists()


def test_missing_explicit_config_file_is_a_clear_error(tmp_path, sshd_known_hosts):
    from gridclient.ssh import SSHError

    with pytest.raises(SSHError) as exc:
        SSHSession(SSHTarget("x", ssh_config_file=str(tmp_path / "none")), sshd_known_hosts,
                   ScriptedInteraction()).connect()
    assert "does not exist" in str(exc.value)


def test_title_defaults_to_user_at_host():
    assert SSHTarget("h.example", user="alice").title() == "alice@h.example"
    assert SSHTarget("h.example", label="Web 1").title() == "Web 1"
    assert SSHTarget("h.example").title() == f"{getpass.getuser()}@h.example"


# -- password login (OpenSSH here has no password accounts: a paramiko server plays the host) ---

class _PasswordServer(paramiko.ServerInterface):
    def __init__(self, user: str, password: str):
        self.user, self.password = user, password

    def get_allowed_auths(self, username):
        return "publickey,password"

    def check_auth_password(self, username, password):
        ok = (username, password) == (self.user, self.password)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED


def test_password_is_asked_when_keys_fail_and_never_logged(sshd, tmp_path, caplog):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    host_key = paramiko.RSAKey.generate(2048)
    done = threading.Event()

    def serve():
        conn, _ = srv.accept()
        t = paramiko.Transport(conn)
        t.add_server_key(host_key)
        t.start_server(server=_PasswordServer("alice", "s3cret pass"))
        done.wait(GUARD)
        t.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    caplog.set_level(logging.DEBUG)
    it = ScriptedInteraction(confirm_answers=[True],
                             ask_answers=[{"password": "not it"}, {"password": "s3cret pass"}])
    s = SSHSession(SSHTarget("127.0.0.1", port=port, user="alice", key_file=str(sshd.key_file),
                             ssh_config_file=""),
                   KnownHosts(tmp_path / "kh", user_file=None), it)
    try:
        s.connect()
        assert s.connected
    finally:
        s.close()
        done.set()
        thread.join(GUARD)
        srv.close()
    asks = [e for e in it.log if e[0] == "ask"]
    assert [a[1] for a in asks] == ["SSH password", "SSH password"]
    assert "alice" in asks[0][2] and "not accepted" in asks[1][2]
    assert "s3cret pass" not in caplog.text and "not it" not in caplog.text
    assert "s3cret" not in (tmp_path / "kh").read_text()


def test_key_held_only_by_ssh_agent_logs_in(sshd, sshd_known_hosts, tmp_path, monkeypatch):
    """A real ssh-agent holds the key; the target names no key file and ~/.ssh is empty."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + GUARD
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", str(sshd.key_file)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        it = ScriptedInteraction()
        with _session(sshd, sshd_known_hosts, it, key_file=None) as s:
            s.connect()
            _status, out, _err = s.run("echo via-agent")
        assert out.strip() == "via-agent" and it.log == []
        # without the agent the same target has no key to offer, and says so
        monkeypatch.delenv("SSH_AUTH_SOCK")
        with pytest.raises(Exception, match="ssh-agent"):
            _session(sshd, sshd_known_hosts, ScriptedInteraction(), key_file=None).connect()
    finally:
        agent.terminate()
        agent.wait(GUARD)
