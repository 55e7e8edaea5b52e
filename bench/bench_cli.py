"""Command-line benchmark (a script, not a test): ``gridclient`` commands against aws-cli's on the same
moto server, each a fresh process as a person's shell starts it.

    python bench/bench_cli.py [--repeat N] [--objects 10000] [--mib 200] [--instances 20] [--hosts 10]

moto's ``ThreadedMotoServer`` runs in its own process (bench_transfers.MotoProcess) and is always
stopped at the end. Seeded with ``--instances`` instances and a bucket of ``--objects`` objects.

1. ``gridclient vm list`` vs ``aws ec2 describe-instances``: wall time of the whole process,
   interpreter start to exit, output to /dev/null. Target ≤ 1.0× (ours / aws).
2. ``gridclient s3 ls s3://bucket`` vs ``aws s3 ls s3://bucket/`` (every object, one level): the
   same. Target ≤ 1.0×.
3. ``gridclient s3 cp`` of a ``--mib`` MiB file of random bytes, up (``--overwrite``) and down, vs
   ``aws s3 cp``: throughput ratio, aws time / ours (ours checks every file: size and ETag, the
   download as it arrives). Target ≥ 1.0×.
4. ``gridclient vm run ID… -c 'sleep 1; uptime'`` on ``--hosts`` instances at once vs on one: wall
   time of the whole process, ratio (all hosts / one host). Target ≤ 2×. The instances (moto's,
   launched with a key pair) are reached through the VO's "SSH via host:port" at ONE real OpenSSH
   sshd on 127.0.0.1 (tests/fixtures/sshd.py: its own host and client key, stopped at the end), as
   tests/cli/test_vm_run.py does: the client key stored as the key pair's, the host key in the
   workspace's known_hosts, the image's login user remembered. Each host is its own SSH connection
   and login shell. Skipped (said) without ``/usr/sbin/sshd``.

Both sides start from bytecode: the project's modules are compiled first (``__pycache__`` in the
checkout, as pip writes it at install; aws-cli's is in its site-packages). Medians of ``--repeat``
runs, the two sides (or one host and all) alternating run by run, one run of each first not
counted (the page cache, moto's first calls). gridclient's secret is in the encrypted file keyring
(no OS keyring here), unlocked from $GRIDCLIENT_MASTER_PASSWORD; aws-cli's keys are in its
environment. aws-cli: the one on PATH (a pyenv shim resolved to the script it runs, so that
neither side pays a launcher), else pip-installed into a throwaway venv under /tmp (never this
project's). Exits 0 whatever the figures (a report, not a gate).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_transfers import MotoProcess  # noqa: E402 - the bench folder, then the project
from common import REGION, ROOT, isolate  # noqa: E402

isolate()  # never reach a real account, whatever the shell holds

BUCKET = "bench-cli"
PASSWORD = "bench-master-password"


def awscli(tmp: Path) -> str | None:
    """``aws`` from PATH, else awscli pip-installed into a throwaway venv under ``tmp``. A pyenv
    shim (a bash script running ``pyenv exec``, ~50-100 ms a start) is resolved to the real one."""
    found = shutil.which("aws")
    if found and os.path.basename(os.path.dirname(found)) == "shims" and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True,
                              env=dict(os.environ, PYENV_REHASH_TIMEOUT="0"))
        found = real.stdout.strip() if real.returncode == 0 and real.stdout.strip() else found
    if found:
        return found
    venv = tmp / "awscli-venv"
    print("[setup] aws-cli missing: pip install awscli into a throwaway venv", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "awscli"], capture_output=True, text=True)
    if pip.returncode != 0:
        print(f"[setup] pip install awscli failed:\n{pip.stderr[-2000:]}", flush=True)
        return None
    return str(venv / "bin" / "aws")


class Sides:
    """How each side is started: argv prefixes and environments."""

    def __init__(self, aws: str, endpoint: str, tmp: Path):
        self.ws = tmp / "ws"
        config = tmp / "aws-config"
        config.write_text(f"[default]\nregion = {REGION}\ns3 =\n    addressing_style = path\n")
        self.aws = [aws, "--endpoint-url", endpoint]
        self.aws_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                            AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(config),
                            AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        self.gc = [sys.executable, "-m", "gridclient", "--workspace", str(self.ws)]
        self.gc_env = dict(os.environ, GRIDCLIENT_MASTER_PASSWORD=PASSWORD,
                           PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
        added = subprocess.run([*self.gc, "vo", "add", "Bench", "--type", "aws", "--region", REGION,
                                "--endpoint-url", endpoint, "--access-key-id", "testing", "--secret-stdin"],
                               input="testing\n", capture_output=True, text=True, env=self.gc_env, cwd=ROOT)
        if added.returncode != 0:
            raise SystemExit(f"gridclient vo add failed: {added.stderr}")

    def time(self, side: str, *args: str) -> float:
        argv, env = (self.gc, self.gc_env) if side == "gridclient" else (self.aws, self.aws_env)
        return timed(side, [*argv, *args], env)


def timed(side: str, argv: list[str], env: dict) -> float:
    """Wall time of one process, output to /dev/null; a RuntimeError with its stderr if it failed."""
    start = time.perf_counter()
    ran = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=env, cwd=ROOT)
    took = time.perf_counter() - start
    if ran.returncode != 0:
        raise RuntimeError(f"{side} {' '.join(argv[-6:])} failed ({ran.returncode}): {ran.stderr.decode()[-500:]}")
    return took


def seed(endpoint: str, instances: int, objects: int) -> None:
    import boto3

    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", **kw)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=instances, MaxCount=instances, InstanceType="t3.micro")
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"obj-{i:06d}.dat", Body=b"x" * 64),
                      range(objects)))


def pairs(sides: Sides, repeat: int, ours: tuple[str, ...], theirs: tuple[str, ...],
          before=None) -> tuple[float, float]:
    """Medians (ours, aws) of ``repeat`` alternating runs, after one of each not counted."""
    mine, aws = [], []
    for n in range(repeat + 1):
        for side, args, into in (("aws", theirs, aws), ("gridclient", ours, mine)):
            if before is not None:
                before(side)
            took = sides.time(side, *args)
            if n:
                into.append(took)
    return statistics.median(mine), statistics.median(aws)


def start_sshd(root: Path):
    """tests/fixtures/sshd.py's SSHDServer, or None (said) where it cannot start (its failures
    are pytest's Failed, a BaseException)."""
    from tests.fixtures.sshd import SSHD, SSHDServer

    if not Path(SSHD).exists():
        print(f"[setup] {SSHD} missing: the vm run row is skipped", flush=True)
        return None
    root.mkdir(parents=True)
    try:
        return SSHDServer(root).start()
    except BaseException as exc:  # noqa: BLE001 - pytest.fail's outcome, outside pytest
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        print(f"[setup] sshd did not start ({exc}): the vm run row is skipped", flush=True)
        return None


def jobs(endpoint: str, tmp: Path, server, hosts: int, repeat: int) -> tuple[float, float]:
    """Medians (``hosts`` instances, one instance) of ``gridclient vm run … -c 'sleep 1; uptime'``,
    alternating, after one of each not counted. Its own workspace and VO, whose instances are all
    reached at ``server`` (as tests/cli/test_vm_run.py prepares them)."""
    import json

    import boto3

    from gridclient.keys import store_key
    from gridclient.paths import AppPaths
    from gridclient.ssh import KnownHosts

    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    ec2.create_key_pair(KeyName="bench-jobs-key")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=hosts, MaxCount=hosts, InstanceType="t3.micro",
                             KeyName="bench-jobs-key")["Instances"]
    ids = [i["InstanceId"] for i in made]
    ws = tmp / "ws-jobs"
    gc = [sys.executable, "-m", "gridclient", "--workspace", str(ws)]
    env = dict(os.environ, GRIDCLIENT_MASTER_PASSWORD=PASSWORD, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.pop("SSH_AUTH_SOCK", None)  # only the key the app holds for the key pair
    added = subprocess.run([*gc, "vo", "add", "Jobs", "--type", "aws", "--region", REGION, "--endpoint-url", endpoint,
                            "--access-key-id", "testing", "--ssh-host-override", f"{server.host}:{server.port}",
                            "--secret-stdin"], input="testing\n", capture_output=True, text=True, env=env, cwd=ROOT)
    if added.returncode != 0:
        raise SystemExit(f"gridclient vo add failed: {added.stderr}")
    paths = AppPaths.under(ws)
    config = ws / "config" / "workspace.json"
    data = json.loads(config.read_text())
    vo = data["vos"][0]
    vo["settings"]["ssh_users"] = {image: server.user}  # the login's user question answered once
    config.write_text(json.dumps(data))
    store_key(paths, vo["id"], "bench-jobs-key", server.key_file.read_text())
    KnownHosts(paths.known_hosts, user_file=None).add(server.host, server.port, server.host_pkey())
    command = ["-c", "sleep 1; uptime"]
    many, one = [], []
    for n in range(repeat + 1):
        for argv, into in (([*gc, "vm", "run", ids[0], *command], one), ([*gc, "vm", "run", *ids, *command], many)):
            took = timed("gridclient", argv, env)
            if n:
                into.append(took)
    return statistics.median(many), statistics.median(one)


def compiled() -> int:
    """The project's bytecode written (``__pycache__``, as pip writes it when it installs a
    package; aws-cli's is there): where PYTHONDONTWRITEBYTECODE is set, or the checkout is fresh,
    every ``python -m gridclient`` would otherwise compile its modules from source again (~80 ms
    of each start). Returns how many modules had to be compiled."""
    import compileall
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        for folder in ("gridclient", "providers"):
            compileall.compile_dir(str(ROOT / folder), quiet=0)
    return out.getvalue().count("Compiling ")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--mib", type=int, default=200)
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--hosts", type=int, default=10, help="instances the vm run row runs its command on")
    opts = ap.parse_args()
    import boto3
    import moto as moto_pkg

    tmp = Path(tempfile.mkdtemp(prefix="gridclient-bench-cli-"))
    moto = server = None
    try:
        exe = awscli(tmp)
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip() if exe else ""
        print(f"bench_cli: Python {sys.version.split()[0]}, boto3 {boto3.__version__}, moto {moto_pkg.__version__}, "
              f"{version or 'aws-cli missing'}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
              flush=True)
        if exe is None:
            return 0
        print(f"[setup] the project's bytecode written ({compiled()} modules compiled), as an installed "
              "package has it", flush=True)
        moto = MotoProcess(tmp / "moto.log")
        print(f"[setup] moto in its own process at {moto.url}; {opts.instances} instances, "
              f"{opts.objects:,} objects", flush=True)
        seed(moto.url, opts.instances, opts.objects)
        sides = Sides(exe, moto.url, tmp)
        rows = []
        ours, aws = pairs(sides, opts.repeat, ("vm", "list"), ("ec2", "describe-instances"))
        rows.append(("vm list / ec2 describe-instances", ours, aws, ours / aws, "≤ 1.0×"))
        ours, aws = pairs(sides, opts.repeat, ("s3", "ls", f"s3://{BUCKET}"), ("s3", "ls", f"s3://{BUCKET}/"))
        rows.append((f"s3 ls, {opts.objects:,} objects", ours, aws, ours / aws, "≤ 1.0×"))
        big = tmp / "big.bin"
        with open(big, "wb") as f:
            for _ in range(opts.mib):
                f.write(os.urandom(1 << 20))
        cp_repeat = opts.repeat  # the same side's 200 MiB runs spread ±15 % here: three were too few
        ours, aws = pairs(sides, cp_repeat, ("s3", "cp", str(big), f"s3://{BUCKET}/big-gc.bin", "--overwrite"),
                          ("s3", "cp", "--only-show-errors", str(big), f"s3://{BUCKET}/big-aws.bin"))
        rows.append((f"s3 cp {opts.mib} MiB up (throughput)", ours, aws, aws / ours, "≥ 1.0×"))
        down = tmp / "down"
        down.mkdir()

        def clear(_side: str) -> None:
            for p in down.iterdir():
                p.unlink()

        ours, aws = pairs(sides, cp_repeat, ("s3", "cp", f"s3://{BUCKET}/big-gc.bin", f"{down}/"),
                          ("s3", "cp", "--only-show-errors", f"s3://{BUCKET}/big-aws.bin", f"{down}/"), before=clear)
        rows.append((f"s3 cp {opts.mib} MiB down (throughput)", ours, aws, aws / ours, "≥ 1.0×"))
        sides.time("gridclient", "s3", "cp", f"s3://{BUCKET}/big-gc.bin", f"{down}/", "--overwrite")
        same = sha256(down / "big-gc.bin") == sha256(big)
        big.unlink()
        server = start_sshd(tmp / "sshd")
        if server is not None:
            many, one = jobs(moto.url, tmp, server, opts.hosts, opts.repeat)
            rows.append((f"vm run, {opts.hosts} instances / 1", many, one, many / one, "≤ 2.0×"))
        print(f"\n{'measure':<40} {'gridclient':>11} {'baseline':>9} {'ratio':>7}  target")
        for name, mine, theirs, ratio, target in rows:
            print(f"{name:<40} {mine * 1000:>9.0f}ms {theirs * 1000:>7.0f}ms {ratio:>6.2f}×  {target}")
        print(f"\nmedians of {opts.repeat} runs ({cp_repeat} for cp), alternating; baseline: aws-cli's command, "
              f"for vm run the same command on one instance ('sleep 1; uptime'); download's sha256 "
              f"{'matches' if same else 'DIFFERS'}", flush=True)
    finally:
        if server is not None:
            server.stop()
        if moto is not None:
            moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
