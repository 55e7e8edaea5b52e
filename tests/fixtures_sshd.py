"""A real OpenSSH server for tests: ``/usr/sbin/sshd -D -e -f <cfg>`` on 127.0.0.1 at a free port.

Fixtures:
- ``sshd`` (session): a server that stays up for the whole run; do not stop it in a test.
- ``sshd_factory`` (function): ``sshd_factory()`` starts a private server for a test that kills,
  restarts or re-keys it; every server it made is stopped after the test.
- ``sshd_known_hosts`` (function): a KnownHosts (app file in tmp_path, no ~/.ssh file) that
  already trusts the session server's host key.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["SSHD", "SSHDServer", "sshd", "sshd_factory", "sshd_known_hosts"]

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, kind: str = "ed25519", passphrase: str = "", comment: str = "gridclient-test") -> None:
    if path.exists():
        path.unlink()
    Path(str(path) + ".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", comment, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    path.chmod(0o600)


def _children(pid: int) -> list[int]:
    """All descendants of ``pid`` (from /proc), deepest last."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        by_parent.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = by_parent.get(p, [])
        out += kids
        todo += kids
    return out


class SSHDServer:
    """One sshd with its own host key, client key and authorized_keys in a temp dir."""

    def __init__(self, root: Path):
        if not Path(SSHD).exists():
            pytest.fail(f"{SSHD} is missing: the SSH tests need a real OpenSSH server. "
                        "Install it with `apt-get install openssh-server`.", pytrace=False)
        self.root = root
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = getpass.getuser()
        self.config_file = root / "sshd_config"
        self.host_key_file = root / "ssh_host_ed25519_key"
        self.key_file = root / "client_key"  # the authorized client's private key
        self.authorized_keys = root / "authorized_keys"
        self.log_file = root / "sshd.log"
        self.proc: subprocess.Popen | None = None
        _keygen(self.host_key_file, "ed25519", comment="gridclient-test-host")
        _keygen(self.key_file, "ed25519")
        self.authorized_keys.write_text(Path(str(self.key_file) + ".pub").read_text())
        self.authorized_keys.chmod(0o600)

    # -- facts -------------------------------------------------------------------------------
    @property
    def host_public_key(self) -> str:
        """The host key's public line: ``ssh-ed25519 AAAA… comment``."""
        return Path(str(self.host_key_file) + ".pub").read_text().strip()

    @property
    def host_key_pub_file(self) -> Path:
        return Path(str(self.host_key_file) + ".pub")

    def host_pkey(self):
        """The host key as a paramiko public key."""
        import base64

        import paramiko

        ktype, b64 = self.host_public_key.split()[:2]
        return paramiko.PKey.from_type_string(ktype, base64.b64decode(b64))

    def host_fingerprint(self) -> str:
        """The fingerprint as ``ssh-keygen -lf`` prints it (SHA256:…)."""
        out = subprocess.run(["ssh-keygen", "-lf", str(self.host_key_pub_file)], check=True,
                             capture_output=True, text=True).stdout
        return out.split()[1]

    def known_hosts_line(self) -> str:
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {' '.join(self.host_public_key.split()[:2])}\n"

    def target(self, **kw):
        from gridclient.ssh import SSHTarget

        args = dict(host=self.host, port=self.port, user=self.user, key_file=str(self.key_file),
                    ssh_config_file="")
        args.update(kw)
        return SSHTarget(**args)

    # -- life ------------------------------------------------------------------------------
    def write_config(self) -> None:
        self.config_file.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {self.host}\n"
            f"HostKey {self.host_key_file}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            "PermitRootLogin prohibit-password\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "AllowTcpForwarding yes\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "UseDNS no\n"
            "MaxAuthTries 10\n"
            "MaxStartups 50\n"
            "LogLevel VERBOSE\n"
            "Subsystem sftp internal-sftp\n"
        )

    def start(self) -> "SSHDServer":
        if self.proc is not None and self.proc.poll() is None:
            return self
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        self.write_config()
        check = subprocess.run([SSHD, "-t", "-f", str(self.config_file)], capture_output=True, text=True)
        if check.returncode != 0:
            pytest.fail(f"sshd rejects the test configuration: {check.stderr.strip()}", pytrace=False)
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config_file)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        for _ in range(400):  # readiness wait, bounded: at most ~20 s
            if self.proc.poll() is not None:
                pytest.fail(f"sshd exited at start (code {self.proc.returncode}):\n"
                            f"{self.log_file.read_text(errors='replace')}", pytrace=False)
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"sshd did not accept connections on port {self.port}:\n"
                    f"{self.log_file.read_text(errors='replace')}", pytrace=False)

    def drop_connections(self) -> None:
        """Kill every per-connection sshd child (and their shells): the server side of each
        open session vanishes; the listener stays up."""
        if self.proc is None:
            return
        for pid in reversed(_children(self.proc.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        """Kill the server and every connection it serves, like a machine that went away."""
        if self.proc is None:
            return
        self.drop_connections()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.drop_connections()  # a child forked in the meantime
        self.proc = None

    kill = stop

    def restart(self, new_host_key: bool = False) -> "SSHDServer":
        """Stop and start on the same port; with ``new_host_key`` it presents a different host key."""
        self.stop()
        if new_host_key:
            _keygen(self.host_key_file, "ed25519", comment="gridclient-test-host-new")
        return self.start()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


@pytest.fixture(scope="session")
def sshd():
    root = Path(tempfile.mkdtemp(prefix="gridclient-sshd-"))
    server = SSHDServer(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sshd_factory(tmp_path):
    """Start private sshd servers for a test that stops or re-keys them."""
    made: list[SSHDServer] = []

    def make() -> SSHDServer:
        root = tmp_path / f"sshd{len(made)}"
        root.mkdir()
        server = SSHDServer(root)
        made.append(server)
        return server.start()

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def sshd_known_hosts(tmp_path, sshd):
    """A KnownHosts in tmp_path that already trusts the session sshd (and ignores ~/.ssh)."""
    from gridclient.ssh import KnownHosts

    kh = KnownHosts(tmp_path / "app_known_hosts", user_file=None)
    kh.add(sshd.host, sshd.port, sshd.host_pkey())
    return kh
