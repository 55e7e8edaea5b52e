"""The demo sandbox: a seeded moto server over real HTTP, and the loopback demo SSH endpoint.

Everything here talks to real servers: boto3 over HTTP to the sandbox's moto server, paramiko
(and OpenSSH's ``ssh`` where installed) over TCP to the demo SSH endpoint.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paramiko
import pytest

pytest.importorskip("moto.server")

from providers.sandbox.cloud import BUCKETS, DemoSandbox  # noqa: E402
from providers.sandbox.ssh_server import LoopbackSSHServer  # noqa: E402

WAIT = 20.0  # seconds before a read that never comes fails the test (a hang guard, not a timing check)


# -- helpers ----------------------------------------------------------------------------------
def _names(instances) -> set[str]:
    return {next((t["Value"] for t in i.get("Tags", []) if t["Key"] == "Name"), "") for i in instances}


def _instances(sandbox, region):
    ec2 = sandbox.client("ec2", region)
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


def _connect(sandbox_or_server, pkey, *, known_hosts: str | None = None, username: str = "ubuntu"):
    """A paramiko client that refuses unknown host keys; trusts ``known_hosts`` when given."""
    host = "127.0.0.1"
    port = sandbox_or_server.ssh_port if hasattr(sandbox_or_server, "ssh_port") else sandbox_or_server.port
    client = paramiko.SSHClient()
    if known_hosts is not None:
        client.get_host_keys().add(*_parse_known_hosts(known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    else:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # only for the stand-alone server tests
    client.connect(host, port=port, username=username, pkey=pkey, allow_agent=False,
                   look_for_keys=False, timeout=WAIT, banner_timeout=WAIT, auth_timeout=WAIT)
    return client


def _parse_known_hosts(line: str):
    entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
    assert entry is not None, f"not a known_hosts line: {line!r}"
    return entry.hostnames[0], entry.key.get_name(), entry.key


class _Screen:
    """What a channel has sent, read on demand; ``expect`` moves past each match."""

    def __init__(self, chan: paramiko.Channel):
        self.chan = chan
        self.data = bytearray()
        self.pos = 0

    def expect(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + WAIT
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.data.decode("utf-8", "replace"), self.pos)
            if m:
                self.pos = m.end()
                return m
            if time.monotonic() > deadline or self.chan.closed:
                raise AssertionError(f"never saw {pattern!r}; got {bytes(self.data[-500:])!r}")
            if self.chan.recv_ready():
                self.data += self.chan.recv(65536)
            else:
                time.sleep(0.02)


def _exec(client: paramiko.SSHClient, command: str, stdin: bytes | None = None):
    stdin_f, stdout_f, stderr_f = client.exec_command(command, timeout=WAIT)
    if stdin is not None:
        stdin_f.write(stdin)
        stdin_f.channel.shutdown_write()
    out, err = stdout_f.read(), stderr_f.read()
    return out.decode(), err.decode(), stdout_f.channel.recv_exit_status()


def _refuses(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return False
    except OSError:
        return True


def _listening_ips(port: int) -> set[str]:
    """The local addresses this process listens on at ``port`` (read from the kernel via psutil)."""
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    conns = proc.net_connections(kind="inet") if hasattr(proc, "net_connections") else proc.connections(kind="inet")
    return {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def _outside_ip() -> str | None:
    """This machine's address on its default route, if it has one that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent by a UDP connect
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


# -- the seeded cloud -------------------------------------------------------------------------
def test_sandbox_runs_on_loopback_with_fake_credentials(demo_sandbox):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", demo_sandbox.endpoint_url)
    assert demo_sandbox.regions == ("us-east-1", "eu-west-1")
    assert demo_sandbox.key_name == "demo-key"
    assert demo_sandbox.vo_secrets() == {"access_key_id": "demo", "secret_access_key": "demo"}
    settings = demo_sandbox.vo_settings()
    assert settings["region"] == "us-east-1"
    assert settings["endpoint_url"] == demo_sandbox.endpoint_url
    assert settings["credential_mode"] == "keys"
    assert settings["ssh_host_override"] == f"127.0.0.1:{demo_sandbox.ssh_port}"
    assert settings["ssh_user"]
    # the sandbox answers the account question the app's "Test connection" asks
    ident = demo_sandbox.client("sts").get_caller_identity()
    assert ident["Account"].isdigit()


def test_both_regions_have_running_and_stopped_instances(demo_sandbox):
    east = _instances(demo_sandbox, "us-east-1")
    west = _instances(demo_sandbox, "eu-west-1")
    for region, instances in (("us-east-1", east), ("eu-west-1", west)):
        states = {i["State"]["Name"] for i in instances}
        assert {"running", "stopped"} <= states, (region, states)
        assert {i["KeyName"] for i in instances} == {"demo-key"}, region
    by_name = {n: i for i in east for n in _names([i])}
    assert by_name["web-1"]["State"]["Name"] == "running"
    assert by_name["web-2"]["State"]["Name"] == "running"
    assert by_name["batch-worker"]["State"]["Name"] == "stopped"
    assert "" in _names(east), "one instance has no Name tag"
    assert _names(west) & {"eu-web-1", "eu-archive"}
    # nothing of one region leaks into the other
    assert not {i["InstanceId"] for i in east} & {i["InstanceId"] for i in west}


def test_two_owned_images_made_from_instances(demo_sandbox):
    ec2 = demo_sandbox.client("ec2")
    images = ec2.describe_images(Owners=["self"])["Images"]
    assert sorted(i["Name"] for i in images) == ["amazon-linux-2023-batch", "ubuntu-22.04-webapp"]
    assert all(i.get("Description") for i in images)
    webapp = next(i for i in images if i["Name"] == "ubuntu-22.04-webapp")
    # web-2 was launched from the owned web-app image
    web2 = next(i for i in _instances(demo_sandbox, "us-east-1") if _names([i]) == {"web-2"})
    assert web2["ImageId"] == webapp["ImageId"]
    # the region without images has none of its own
    assert demo_sandbox.client("ec2", "eu-west-1").describe_images(Owners=["self"])["Images"] == []


def test_volumes_a_snapshot_and_an_elastic_ip_to_try_the_storage_actions_on(demo_sandbox):
    """Storage → Volumes and Snapshots and Services → Elastic IPs are not empty in the demo: a data
    volume on web-1 with a nightly snapshot, a spare volume in web-2's zone, web-1's Elastic IP."""
    ec2 = demo_sandbox.client("ec2")
    web1, web2 = (next(i for i in _instances(demo_sandbox, "us-east-1") if _names([i]) == {n}) for n in ("web-1", "web-2"))
    vols = {_names([v]).pop(): v for v in ec2.describe_volumes(Filters=[{"Name": "tag:Project", "Values": ["demo"]}])["Volumes"]}
    assert set(vols) == {"web-data", "scratch"}
    data, scratch = vols["web-data"], vols["scratch"]
    assert (data["Attachments"][0]["InstanceId"], data["Attachments"][0]["Device"]) == (web1["InstanceId"], "/dev/sdf")
    assert scratch["State"] == "available" and scratch["Attachments"] == []
    assert scratch["AvailabilityZone"] == web2["Placement"]["AvailabilityZone"]  # Attach… has an instance to offer
    [snap] = [s for s in ec2.describe_snapshots()["Snapshots"] if s.get("VolumeId") == data["VolumeId"]]
    assert _names([snap]) == {"web-data nightly"} and snap["State"] == "completed"
    [address] = ec2.describe_addresses()["Addresses"]
    assert address["InstanceId"] == web1["InstanceId"] and _names([address]) == {"web-1 address"}
    assert demo_sandbox.client("ec2", "eu-west-1").describe_addresses()["Addresses"] == []


def test_security_groups(demo_sandbox):
    for region in demo_sandbox.regions:
        groups = demo_sandbox.client("ec2", region).describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["demo-web", "demo-batch"]}])["SecurityGroups"]
        assert sorted(g["GroupName"] for g in groups) == ["demo-batch", "demo-web"]
        web = next(g for g in groups if g["GroupName"] == "demo-web")
        assert {p["FromPort"] for p in web["IpPermissions"]} == {22, 80, 443}


def test_key_pair_fingerprint_matches_the_private_key(demo_sandbox):
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(demo_sandbox.private_key_pem.encode(), password=None)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    # EC2's fingerprint of an imported key: MD5 of the DER public key, as colon-separated hex
    expected = ":".join(re.findall("..", hashlib.md5(der).hexdigest()))
    for region in demo_sandbox.regions:
        pairs = demo_sandbox.client("ec2", region).describe_key_pairs(KeyNames=["demo-key"])["KeyPairs"]
        assert [p["KeyFingerprint"] for p in pairs] == [expected], region
    assert "PRIVATE KEY" in demo_sandbox.private_key_pem


def test_three_buckets_with_nested_folders(demo_sandbox):
    s3 = demo_sandbox.client("s3")
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == sorted(BUCKETS)

    def folders(bucket, prefix=""):
        out = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return ([p["Prefix"] for p in out.get("CommonPrefixes", [])],
                [o["Key"] for o in out.get("Contents", [])])

    assert folders("demo-logs") == (["logs/"], [])
    assert folders("demo-logs", "logs/")[0] == ["logs/2026/"]
    assert folders("demo-logs", "logs/2026/")[0] == ["logs/2026/10/", "logs/2026/11/"]
    days, files = folders("demo-logs", "logs/2026/11/")
    assert len(days) >= 14 and days[0] == "logs/2026/11/day-01/" and files == []
    assert folders("demo-logs", days[0])[1] == [f"{days[0]}access.log", f"{days[0]}app.log", f"{days[0]}error.log"]

    prefixes, files = folders("demo-website")
    assert {"css/", "img/", "js/"} <= set(prefixes) and "index.html" in files
    assert folders("demo-website", "img/")[0] == ["img/icons/"]

    prefixes, files = folders("demo-datasets")
    assert {"big/", "processed/", "raw/"} <= set(prefixes) and "README.md" in files


def test_a_few_hundred_objects_with_real_text(demo_sandbox):
    s3 = demo_sandbox.client("s3")
    pages = s3.get_paginator("list_objects_v2")
    counts = {b: sum(p.get("KeyCount", 0) for p in pages.paginate(Bucket=b)) for b in BUCKETS}
    assert 200 <= sum(counts.values()) <= 1000, counts
    big = sum(p.get("KeyCount", 0) for p in pages.paginate(Bucket="demo-datasets", Prefix="big/"))
    assert big >= 150

    index = s3.get_object(Bucket="demo-website", Key="index.html")
    assert index["ContentType"].startswith("text/html")
    assert b"<html" in index["Body"].read()
    log_text = s3.get_object(Bucket="demo-logs", Key="logs/2026/11/day-03/access.log")["Body"].read().decode()
    assert "GET /" in log_text and len(log_text.splitlines()) > 10
    csv = s3.get_object(Bucket="demo-datasets", Key="raw/2026-11-01/readings.csv")["Body"].read().decode()
    assert csv.startswith("time,sensor,celsius\n")
    head = s3.head_object(Bucket="demo-datasets", Key="big/part-00199.txt")
    assert head["ContentLength"] > 0


def test_clients_ignore_the_environment(demo_sandbox, monkeypatch):
    """A broken profile or a stray endpoint in the shell does not send the demo anywhere else."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-anywhere")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING")
    demo_sandbox._session = None  # build a new session under this environment
    s3 = demo_sandbox.client("s3")
    assert s3.meta.endpoint_url == demo_sandbox.endpoint_url
    assert len(s3.list_buckets()["Buckets"]) == 3
    assert s3._request_signer._credentials.access_key == "demo"


def test_missing_moto_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "moto.server", None)  # "import moto.server" now fails
    with pytest.raises(RuntimeError, match=r"pip install 'gridclient\[demo\]'"):
        DemoSandbox().start()


# -- the demo SSH endpoint ----------------------------------------------------------------------
def test_known_hosts_line_is_openssh_format_and_matches_the_host(demo_sandbox):
    line = demo_sandbox.known_hosts_line()
    assert re.fullmatch(rf"\[127\.0\.0\.1\]:{demo_sandbox.ssh_port} ssh-rsa AAAA[A-Za-z0-9+/=]+", line)
    host, ktype, key = _parse_known_hosts(line)
    t = paramiko.Transport(("127.0.0.1", demo_sandbox.ssh_port))
    try:
        t.start_client(timeout=WAIT)
        assert t.get_remote_server_key() == key
    finally:
        t.close()


def test_demo_key_logs_in_and_exec_returns_output(demo_sandbox, demo_pkey):
    client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line())
    try:
        out, err, status = _exec(client, "echo hi")
        assert (out, status) == ("hi\n", 0)
        out, err, status = _exec(client, "echo out; echo err >&2; exit 3")
        assert (out, err, status) == ("out\n", "err\n", 3)
        out, _, status = _exec(client, "tr a-z A-Z", stdin=b"piped input\n")
        assert (out, status) == ("PIPED INPUT\n", 0)
        out, _, _ = _exec(client, "pwd")  # in the login's home, in the files SFTP serves for it
        home = os.path.join(demo_sandbox._ssh.files("ubuntu").real, "home", "ubuntu")
        assert os.path.realpath(out.strip()) == os.path.realpath(home)
        out, _, _ = _exec(client, "echo $HOME")
        assert os.path.realpath(out.strip()) == os.path.realpath(home)
    finally:
        client.close()


def test_any_user_name_is_accepted_with_the_demo_key(demo_sandbox, demo_pkey):
    for user in ("ec2-user", "ubuntu", demo_sandbox.ssh_user):
        client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line(), username=user)
        try:
            assert _exec(client, "echo ok")[0] == "ok\n"
        finally:
            client.close()


def test_other_keys_and_passwords_are_rejected(demo_sandbox):
    stranger = paramiko.RSAKey.generate(2048)
    with pytest.raises(paramiko.AuthenticationException):
        _connect(demo_sandbox, stranger, known_hosts=demo_sandbox.known_hosts_line())
    client = paramiko.SSHClient()
    client.get_host_keys().add(*_parse_known_hosts(demo_sandbox.known_hosts_line()))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        with pytest.raises(paramiko.AuthenticationException):
            client.connect("127.0.0.1", port=demo_sandbox.ssh_port, username="ubuntu", password="ubuntu",
                           allow_agent=False, look_for_keys=False, timeout=WAIT)
    finally:
        client.close()


def test_pty_shell_follows_window_size_and_ctrl_c(demo_sandbox, demo_pkey):
    client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line())
    try:
        chan = client.invoke_shell(term="xterm-256color", width=91, height=27)
        screen = _Screen(chan)
        chan.send(b"stty size | sed 's/^/SIZE=/'; echo TERM=$TERM; tty | sed 's/^/TTY=/'\n")
        assert screen.expect(r"SIZE=(\d+) (\d+)").groups() == ("27", "91")
        assert screen.expect(r"TERM=(\S+)\r?\n").group(1) == "xterm-256color"
        assert screen.expect(r"TTY=(\S+)\r?\n").group(1).startswith("/dev/")

        chan.resize_pty(width=132, height=43)
        chan.send(b"stty size | sed 's/^/SIZE=/'\n")
        assert screen.expect(r"SIZE=(\d+) (\d+)").groups() == ("43", "132")

        # the pty is the shell's controlling terminal: Ctrl+C interrupts the foreground job
        chan.send(b"echo START-$((1+1)); sleep 60; echo not-$((2+3))-interrupted\n")
        screen.expect(r"START-2")
        chan.send(b"\x03")
        chan.send(b"echo after-$((6*7))\n")
        screen.expect(r"after-42")  # within WAIT, not after the 60 s sleep
        assert b"not-5-interrupted" not in screen.data

        chan.send(b"exit 5\n")
        assert chan.recv_exit_status() == 5
    finally:
        client.close()


def test_shell_gets_default_signals_even_from_an_app_that_ignores_some(demo_sandbox, demo_pkey):
    """As after ``nohup gridclient --demo &``: the app ignores SIGINT and SIGHUP (and Python
    always ignores SIGPIPE); the demo shell must not inherit that, or Ctrl+C would not stop a
    flood."""
    import signal

    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGHUP)}
    client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line())
    try:
        chan = client.invoke_shell(term="xterm", width=100, height=30)
        screen = _Screen(chan)
        chan.send(b"grep -E '^Sig(Ign|Blk)' /proc/self/status | tr -d '\\t' | sed 's/^/MASK-/'\n")
        assert screen.expect(r"MASK-SigBlk:([0-9a-f]+)").group(1) == "0" * 16
        assert screen.expect(r"MASK-SigIgn:([0-9a-f]+)").group(1) == "0" * 16
        # and Ctrl+C stops a command that would print for a long time
        chan.send(b"seq 1 2000000000 >/dev/null\n")
        time.sleep(0.3)
        chan.send(b"\x03")
        chan.send(b"echo seq-ended-$?\n")
        assert screen.expect(r"seq-ended-(\d+)").group(1) == "130"
    finally:
        client.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)


def test_exec_with_a_pty(demo_sandbox, demo_pkey):
    client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line())
    try:
        chan = client.get_transport().open_session(timeout=WAIT)
        chan.settimeout(WAIT)
        chan.get_pty(term="vt100", width=100, height=30)
        chan.exec_command("stty size; test -t 0 && echo has-tty; exit 7")
        out = chan.makefile("rb").read().decode()
        assert out.split() == ["30", "100", "has-tty"]  # a pty merges stderr and writes \r\n
        assert chan.recv_exit_status() == 7
    finally:
        client.close()


def test_concurrent_connections(demo_sandbox, demo_pkey):
    results: dict[int, tuple] = {}

    def one(n: int) -> None:
        client = _connect(demo_sandbox, demo_pkey, known_hosts=demo_sandbox.known_hosts_line())
        try:
            results[n] = _exec(client, f"sleep 0.2; echo session-{n}")
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert results == {n: (f"session-{n}\n", "", 0) for n in range(4)}


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh client")
def test_openssh_client_logs_in_with_the_key_and_known_hosts_line(demo_sandbox, tmp_path):
    key = tmp_path / "demo-key.pem"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(demo_sandbox.private_key_pem)
    known = tmp_path / "known_hosts"
    known.write_text(demo_sandbox.known_hosts_line() + "\n")
    cmd = ["ssh", "-F", "/dev/null", "-i", str(key), "-p", str(demo_sandbox.ssh_port),
           "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
           "-o", f"ConnectTimeout={int(WAIT)}", "demo@127.0.0.1", "echo from-openssh; exit 4"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT * 2, stdin=subprocess.DEVNULL)
    assert done.stdout == "from-openssh\n", done.stderr
    assert done.returncode == 4


def test_servers_listen_only_on_loopback(demo_sandbox):
    moto_port = int(demo_sandbox.endpoint_url.rsplit(":", 1)[1])
    for port in (demo_sandbox.ssh_port, moto_port):
        assert _listening_ips(port) == {"127.0.0.1"}, port
        outside = _outside_ip()
        if outside:
            assert _refuses(port, outside), (port, outside)
    with pytest.raises(ValueError, match="loopback"):
        LoopbackSSHServer(paramiko.RSAKey.generate(1024), host="0.0.0.0")


def test_ssh_server_stop_hangs_up_sessions_and_refuses_connections():
    key = paramiko.RSAKey.generate(2048)
    server = LoopbackSSHServer(key).start()
    port = server.port
    client = _connect(server, key)
    try:
        chan = client.invoke_shell(width=80, height=24)
        chan.send(b"echo PID=$$\n")
        pid = int(_Screen(chan).expect(r"PID=(\d+)\r?\n").group(1))
        os.kill(pid, 0)  # the shell runs
        server.stop()
        assert _refuses(port)
        deadline = time.monotonic() + WAIT
        while not chan.closed and time.monotonic() < deadline:
            chan.recv(65536) if chan.recv_ready() else time.sleep(0.05)
        assert chan.closed or not client.get_transport().is_active()
        with pytest.raises(ProcessLookupError):
            while time.monotonic() < deadline:  # reaped by the server: the pid is gone
                os.kill(pid, 0)
                time.sleep(0.05)
    finally:
        client.close()
        server.stop()


def test_sandbox_stop_closes_both_ports(demo_sandbox):
    other = DemoSandbox().start()  # moto's state is per process: this reseeds the shared data
    try:
        ports = (other.ssh_port, int(other.endpoint_url.rsplit(":", 1)[1]))
        assert not any(_refuses(p) for p in ports)
        other.stop()
        assert all(_refuses(p) for p in ports)
        with pytest.raises(RuntimeError, match="not running"):
            other.vo_settings()
    finally:
        other.stop()
        demo_sandbox.reseed()  # give the module's sandbox its own key pair and data back
    pairs = demo_sandbox.client("ec2").describe_key_pairs(KeyNames=["demo-key"])["KeyPairs"]
    assert len(pairs) == 1


def test_objects_over_http_when_moto_internals_differ(demo_sandbox, monkeypatch):
    """The plain-HTTP way of storing the objects (used if moto's internals change) gives the same data."""
    monkeypatch.setattr(DemoSandbox, "_put_in_process", staticmethod(lambda objects: False))
    demo_sandbox.reseed()
    s3 = demo_sandbox.client("s3")
    pages = s3.get_paginator("list_objects_v2")
    total = sum(p.get("KeyCount", 0) for b in BUCKETS for p in pages.paginate(Bucket=b))
    from providers.sandbox.cloud import _demo_objects

    assert total == len(list(_demo_objects()))
    index = s3.get_object(Bucket="demo-website", Key="index.html")
    assert index["ContentType"].startswith("text/html") and b"<html" in index["Body"].read()


def test_starts_in_a_fresh_process_despite_a_missing_aws_profile(tmp_path):
    """A shell whose AWS_PROFILE names no profile must not break the demo (moto builds plain
    boto3 Sessions as it loads each service), and the profile variable is left as it was."""
    code = (
        "import os\n"
        "from providers.sandbox.cloud import DemoSandbox\n"
        "s = DemoSandbox().start()\n"
        "try:\n"
        "    ec2 = s.client('ec2')\n"
        "    n = len([i for r in ec2.describe_instances()['Reservations'] for i in r['Instances']])\n"
        "    print('instances', n, 'buckets', len(s.client('s3').list_buckets()['Buckets']),\n"
        "          'profile', os.environ.get('AWS_PROFILE'), 'seconds', round(s.seconds_to_start, 2))\n"
        "finally:\n"
        "    s.stop()\n"
    )
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "AWS_PROFILE": "no-such-profile", "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[:6] == ["instances", "5", "buckets", "3", "profile", "no-such-profile"], done.stdout


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_key_pair_made_in_the_sandbox_logs_in_and_goes_with_it(demo_sandbox, region):
    """As on a real cloud: launch with a new key pair, log in with its private key. A key pair
    deleted again no longer lets its key in."""
    ec2 = demo_sandbox.client("ec2", region)
    made = ec2.create_key_pair(KeyName=f"fresh-{region}")
    pkey = paramiko.RSAKey.from_private_key(io.StringIO(made["KeyMaterial"]))
    try:
        client = _connect(demo_sandbox, pkey, known_hosts=demo_sandbox.known_hosts_line())
        try:
            assert _exec(client, "echo in")[0] == "in\n"
        finally:
            client.close()
    finally:
        ec2.delete_key_pair(KeyName=f"fresh-{region}")
    with pytest.raises(paramiko.AuthenticationException):
        _connect(demo_sandbox, pkey, known_hosts=demo_sandbox.known_hosts_line())
