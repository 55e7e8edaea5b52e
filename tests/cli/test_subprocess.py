"""`gridclient` as a real process, as a person's shell runs it: PySide6 blocked (a command never
needs Qt), the secret piped on standard input into the encrypted file keyring the window uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.qt_free import BLOCK_QT, ROOT

SECRET = "s3cr3t-piped-not-typed"
RUN = BLOCK_QT + """
import atexit
atexit.register(lambda: sys.stderr.write("PySide6 was imported\\n") if "PySide6" in sys.modules else None)
from gridclient.cli import main
sys.exit(main(sys.argv[1:]))
"""


def gridclient(workspace, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDCLIENT_MASTER_PASSWORD": "master-pw-for-the-test",
           # no OS keyring: the encrypted file keyring in the workspace, never the developer's own
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    argv = [sys.executable, "-c", RUN, "--workspace", str(workspace), *args]
    assert SECRET not in " ".join(argv)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def interrupted(workspace, args: tuple[str, ...], when, env: dict | None = None) -> tuple[int, str, str]:
    """gridclient as a process, Ctrl+C (SIGINT) sent once ``when(proc)`` returns: its status, output
    and errors."""
    env = env or {**os.environ, "GRIDCLIENT_MASTER_PASSWORD": "master-pw-for-the-test",
                  "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([sys.executable, "-c", RUN, "--workspace", str(workspace), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        when(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def test_commands_run_without_qt_and_keep_the_secret_off_argv_and_files(tmp_path, moto, boto):
    ws = tmp_path / "ws"
    ec2 = boto("ec2")
    made = ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1, MaxCount=1)
    iid = made["Instances"][0]["InstanceId"]
    added = gridclient(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id",
                       "AKIDTEST", "--secret-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    assert "encrypted file keyring" in added.stdout
    listed = gridclient(ws, "vm", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [iid]
    refused = gridclient(ws, "vm", "stop", iid)  # standard input is a pipe, not a terminal
    assert refused.returncode == 4 and refused.stderr.count("\n") == 1
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    for ran in (added, listed, refused):
        assert "PySide6" not in ran.stderr and "Traceback" not in ran.stderr
    assert (ws / "data" / "secrets.cfg").exists()
    for path in ws.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_no_command_still_parses_as_the_gui_did():
    from gridclient.cli import parser, wants_gui

    assert wants_gui([]) and wants_gui(["--demo"]) and wants_gui(["--workspace", "/tmp/x", "--log-level", "INFO"])
    assert not wants_gui(["vm", "list"]) and not wants_gui(["--workspace", "/tmp/x", "vo", "list"])
    assert not wants_gui(["--help"])
    assert parser().parse_args(["--demo", "--workspace", "W"]).workspace == "W"


def test_ctrl_c_during_a_copy_cancels_it_says_so_and_leaves_nothing(tmp_path, moto, boto):
    ws = tmp_path / "ws"
    s3 = boto("s3")
    s3.create_bucket(Bucket="ctrl-c")
    added = gridclient(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id",
                       "AKIDTEST", "--secret-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(200 * 1024 * 1024))

    def mid_upload(proc) -> None:
        deadline = time.monotonic() + 60
        while not s3.list_multipart_uploads(Bucket="ctrl-c").get("Uploads") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()  # caught in the middle

    code, _out, err = interrupted(ws, ("s3", "cp", str(big), "s3://ctrl-c/"), mid_upload)
    assert code == 130, err
    assert "Cancelled" in err and "Traceback" not in err and "Aborted" not in err
    assert s3.list_objects_v2(Bucket="ctrl-c").get("KeyCount", 0) == 0
    assert not s3.list_multipart_uploads(Bucket="ctrl-c").get("Uploads")
