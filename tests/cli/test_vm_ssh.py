"""``gridclient vm ssh`` as a person's shell runs it: a real process (PySide6 blocked) under a pty,
logging into a real OpenSSH server through the SSH login action's target (the VO's "SSH via
host:port", the key the app holds for the instance's key pair); the host-key policy on a
terminal and without one; the remote exit status passed through."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time

from gridclient.keys import store_key
from gridclient.paths import AppPaths
from tests.cli.test_subprocess import RUN, SECRET, gridclient
from tests.qt_free import ROOT


def env() -> dict:
    return {**os.environ, "GRIDCLIENT_MASTER_PASSWORD": "master-pw-for-the-test",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "TERM": "xterm"}


def prepare(tmp_path, moto, boto, server) -> tuple:
    """A VO on moto whose instances are reached at the sshd's address, one instance with a key pair
    whose private key the app holds (the sshd's client key)."""
    ws = tmp_path / "ws"
    ec2 = boto("ec2")
    ec2.create_key_pair(KeyName="sshd-key")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName="sshd-key")["Instances"][0]["InstanceId"]
    added = gridclient(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id", "AKIDTEST",
                       "--ssh-host-override", f"{server.host}:{server.port}", "--secret-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    path = ws / "config" / "workspace.json"
    data = json.loads(path.read_text())
    vo = data["vos"][0]
    vo["settings"]["ssh_users"] = {image: server.user}  # as if the login's user question was answered once
    path.write_text(json.dumps(data))
    store_key(AppPaths.under(ws), vo["id"], "sshd-key", server.key_file.read_text())
    return ws, iid


def under_pty(ws, *args: str, typed: list[tuple[tuple[bytes, ...], bytes]], timeout: float = 60) -> tuple[int, str]:
    """Run gridclient on a new pty; each (any of these seen, then type) in turn; all it printed, its status."""
    argv = [sys.executable, "-c", RUN, "--workspace", str(ws), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: gridclient, its terminal the pty
        os.chdir(ROOT)
        os.execve(sys.executable, argv, env())
    seen, mark = b"", 0
    todo = list(typed)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if todo and any(m in seen[mark:] for m in todo[0][0]):
                os.write(fd, todo.pop(0)[1])
                mark = len(seen)
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the pty
                    break
                if not chunk:
                    break
                seen += chunk
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def test_vm_ssh_interactive_under_a_pty_and_a_command(tmp_path, moto, boto, sshd_factory):
    server = sshd_factory()
    ws, iid = prepare(tmp_path, moto, boto, server)
    # no terminal: an unknown host key is refused (--yes does not accept it), nothing remembered
    refused = gridclient(ws, "vm", "ssh", iid, "--yes", "--", "echo", "hi")
    assert refused.returncode == 4, refused.stderr
    assert server.host_fingerprint() in refused.stderr and "not a terminal" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    known = AppPaths.under(ws).known_hosts
    assert not known.exists() or str(server.port) not in known.read_text()
    # on a terminal: asked with the fingerprint, accepted; then a shell in raw mode
    code, said = under_pty(ws, "vm", "ssh", iid, typed=[((b"[y/N]",), b"y\r"),
                                                                      ((b"$ ", b"# "), b"echo hi; exit 3\r")])
    assert code == 3, said
    assert server.host_fingerprint() in said and "\rhi\r\n" in said
    # a command, with the key now known: its output here, its exit status passed through
    ran = gridclient(ws, "vm", "ssh", iid, "--", "echo", "out;", "echo", "err", ">&2;", "exit", "5")
    assert ran.returncode == 5, ran.stderr
    assert ran.stdout == "out\n" and "err" in ran.stderr
    piped = gridclient(ws, "vm", "ssh", iid, "--", "wc", "-c", stdin="12345")
    assert piped.returncode == 0 and piped.stdout.strip() == "5"
    # a changed host key: refused, even on a terminal
    server.restart(new_host_key=True)
    changed = gridclient(ws, "vm", "ssh", iid, "--", "true")
    assert changed.returncode == 4 and "changed" in changed.stderr
    # no terminal and no command: a usage error
    assert gridclient(ws, "vm", "ssh", iid).returncode == 2


def test_user_sets_the_login_user_for_the_image_and_is_remembered(tmp_path, moto, boto, sshd_factory):
    from gridclient.ssh import KnownHosts

    server = sshd_factory()
    ws, iid = prepare(tmp_path, moto, boto, server)
    KnownHosts(AppPaths.under(ws).known_hosts, user_file=None).add(server.host, server.port, server.host_pkey())
    path = ws / "config" / "workspace.json"
    data = json.loads(path.read_text())
    [image] = data["vos"][0]["settings"]["ssh_users"]
    data["vos"][0]["settings"]["ssh_users"] = {image: "nobody-here"}  # a wrong guess, or a wrong answer
    path.write_text(json.dumps(data))

    wrong = gridclient(ws, "vm", "ssh", iid, "--", "echo", "hi")
    assert wrong.returncode == 1 and "nobody-here" in wrong.stderr, wrong.stderr
    right = gridclient(ws, "vm", "ssh", iid, "--user", server.user, "--", "echo", "hi")
    assert right.returncode == 0 and right.stdout == "hi\n", right.stderr
    assert json.loads(path.read_text())["vos"][0]["settings"]["ssh_users"] == {image: server.user}
    remembered = gridclient(ws, "vm", "run", iid, "-c", "whoami")
    assert remembered.returncode == 0 and remembered.stdout == f"{server.user}\n", remembered.stderr
    again_wrong = gridclient(ws, "vm", "run", iid, "-c", "whoami", "-l", "nobody-here")
    assert again_wrong.returncode == 1
    assert json.loads(path.read_text())["vos"][0]["settings"]["ssh_users"] == {image: "nobody-here"}
