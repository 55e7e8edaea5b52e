"""Transfer benchmark (a script, not a test): the transfer queue against aws-cli, on moto's S3.

    python bench/bench_transfers.py [--quick] [--skip-listing] [--listing-objects N]

Every figure is printed next to a baseline measured in the same run (these machines are noisy),
all against ONE moto ``ThreadedMotoServer`` that this script starts in its own process on
127.0.0.1 (its own GIL, and its memory — moto keeps objects in memory — not counted as ours),
and always stops at the end. Our side is the app's own path: a Workbench on a fresh workspace, a
VO on that server, ``wb.transfers`` (the TransferQueue, keeping its ``transfers.json`` as the app
does), every job submitted with ``conflict="Overwrite"`` and removed once measured.

1. a 200 MiB file of random bytes up and down: the queue against ``aws s3 cp`` (awscli, run as
   a subprocess with ``--endpoint-url``; pip-installed into this venv when missing, pinned to the
   botocore/boto3/s3transfer already there). Alternating aws, ours, aws, ours; the best of each.
   Ratio = our throughput / aws-cli's, target ≥ 1.0 each way. Both downloads are checked
   against the source's sha256.
2. 1,000 files of 10 KiB uploaded as one folder: the queue against ``aws s3 cp --recursive``
   (alternating, best of two each). Target ≥ 1.0.
3. an S3→S3 copy of the 200 MiB object between two buckets of one VO: bytes of request and
   response bodies through the client (botocore ``before-send`` / ``after-call`` hooks on the S3
   client the scheme uses). Target ≤ 1 MiB. aws-cli's own S3→S3 copy is timed for context.
4. the longest GUI-thread stall during the 1,000-file upload, in a fresh process: a
   QCoreApplication (offscreen) with a 10 ms PreciseTimer, the queue's ``on_change`` bridged to
   the GUI thread through a QObject's Signal (a queued connection) to a slot that reads the job's
   progress, bytes, speed, ETA and counts as a view would. Target ≤ 50 ms; baseline the same
   timer with nothing running.
5. peak RSS growth while moving 1,000 MiB: a folder of 5 × 200 MiB objects (copies of the big
   one, made on the server) downloaded to disk as one job, in a fresh process: RSS sampled every
   20 ms in a thread (psutil, else /proc/self/status), and VmHWM reset just before
   (``/proc/self/clear_refs``). Target growth < 100 MiB. (Not one 1 GiB object: moto reads a
   whole object for every ranged GET, so a 1 GiB download took it ~80 s.)
6. a folder of 100,000 objects listed through ``providers.aws.nodes.load_bucket`` against the
   raw boto3 ``list_objects_v2`` paginator (Prefix + Delimiter), median of 3 interleaved.
   Target ≤ 1.3×. Seeded over HTTP by 32 threads (``--skip-listing`` leaves it out).

``--quick``: 20 MiB, 200 files, 100 MiB moved, 2,000 listed objects (listed 3 times), one run of
the rest — a smoke test of the script in well under a minute. Exits 0 whatever the figures (a
report, not a gate).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_workbench, isolate  # noqa: E402 - the bench folder, then the project

isolate()  # never reach a real account, whatever the shell holds

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
REGION = "us-east-1"
BIG_BUCKET = "bench-big"  # the big object (downloads, copy source) and its copies under moved/
UP_BUCKET = "bench-up"  # big uploads land here
COPY_BUCKET = "bench-copy"  # the S3→S3 copy's target
SMALL_BUCKET = "bench-small"  # the many-files uploads
LIST_BUCKET = "bench-list"  # the big folder
LIST_PREFIX = "big/"
BIG_KEY = "big.bin"
MOVED = "moved/"  # five copies of the big object, made on the server
MOVED_COPIES = 5
STALL_TARGET_MS = 50.0
RSS_TARGET = 100 * MiB
COPY_TARGET = 1 * MiB
LIST_TARGET = 1.3


# -- the moto server, in its own process ------------------------------------------------------
MOTO_CHILD = r"""
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no log line per request
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the parent closes our stdin
server.stop()
"""


class MotoProcess:
    """moto's ThreadedMotoServer in a child process (its own GIL, its own memory)."""

    def __init__(self, log_path: Path):
        self.log = open(log_path, "wb")  # noqa: SIM115 - open while the server runs, closed by stop()
        self.proc = subprocess.Popen([sys.executable, "-c", MOTO_CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"moto server did not start (see {log_path})")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"

    def peak_rss(self) -> int:
        return _vm(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        self.log.close()


def _vm(pid: int | str, field: str) -> int:
    """A Vm* figure of /proc/PID/status in bytes (0 where there is none)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def plain_s3(endpoint: str, pool: int = 10):
    """A plain boto3 client for seeding and checking (never one of the timed sides)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(max_pool_connections=pool, s3={"addressing_style": "path"}))


# -- our side: the app's workbench and queue --------------------------------------------------
class Session:
    """A fresh workspace with a VO on the moto server; its token made and S3 client warm."""

    def __init__(self, endpoint: str, root: Path):
        self.root = root
        self.wb, self.vo = bench_workbench(endpoint, root)
        self.token = self.wb.tokens.token(self.vo)
        self.queue = self.wb.transfers
        self.s3 = self.token.client("s3")  # the client the s3 scheme uses (endpoint set: one client)
        self.s3.list_buckets()  # boto3 imported, the client made and its connection open

    def s3_loc(self, bucket: str, path: str = ""):
        from gridclient.storage import Location

        return Location("s3", self.vo.id, bucket, path)

    def run(self, kind: str, sources: list, target) -> tuple[float, object]:
        """Submit a job, wait for it; (seconds, job). Raises unless every file is done."""
        t0 = time.perf_counter()
        job = self.queue.submit(kind, sources, target, conflict="Overwrite")
        self.queue.wait(job)
        took = time.perf_counter() - t0
        if job.state != "done" or job.count("failed"):
            raise RuntimeError(f"our {kind} ended {job.state}: {job.message}")
        self.queue.remove(job)  # "Clear finished": the next job's transfers.json is not the bigger for it
        return took, job

    def close(self) -> None:
        self.queue.shutdown()
        self.wb.close()
        shutil.rmtree(self.root, ignore_errors=True)


def local(path: Path, folder: bool = False):
    from gridclient.storage import Location

    return Location.parse(str(path) + ("/" if folder else ""))


# -- the baseline: aws-cli --------------------------------------------------------------------
def find_aws() -> str | None:
    for cand in (Path(sys.executable).parent / "aws", shutil.which("aws")):
        if cand and Path(cand).exists():
            return str(cand)
    return None


def ensure_awscli() -> str | None:
    """The ``aws`` command, pip-installing awscli into this venv when missing (a bench dependency
    only), pinned to the botocore / boto3 / s3transfer already installed so the app's are kept."""
    aws = find_aws()
    if aws:
        return aws
    pins = []
    for dist in ("botocore", "boto3", "s3transfer"):
        try:
            pins.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(pins) + "\n")
    print(f"[setup] aws-cli missing: pip install awscli (constrained to {', '.join(pins)})", flush=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "awscli", "-c", f.name],
                          capture_output=True, text=True, check=False)
    os.unlink(f.name)
    if proc.returncode != 0:
        print(f"[setup] pip install awscli failed:\n{proc.stderr[-2000:]}", flush=True)
    return find_aws()


class AwsCli:
    def __init__(self, exe: str, endpoint: str, tmp: Path):
        self.exe, self.endpoint = exe, endpoint
        config = tmp / "aws-config"  # throwaway; path-style like our token's config, defaults otherwise
        config.write_text(f"[default]\nregion = {REGION}\ns3 =\n    addressing_style = path\n")
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                        AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(config),
                        AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        self.fixed = 0.0  # seconds every command pays before its work: interpreter, imports, one request
        self.version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False,
                                      env=self.env).stdout.strip().split(" ")[0]

    def ratio(self, aws_s: float, ours_s: float) -> str:
        """aws-cli's time over ours; and the same with aws-cli's fixed cost taken out (context)."""
        out = f"{aws_s / ours_s:.2f}×"
        if self.fixed:
            out += f" ({max(0.0, aws_s - self.fixed) / ours_s:.2f}× less aws start-up)"
        return out

    def __call__(self, *args: str) -> float:
        t0 = time.perf_counter()
        quiet = ["--only-show-errors"] if args[0] == "s3" else []  # no progress lines
        proc = subprocess.run([self.exe, "--endpoint-url", self.endpoint, *args, *quiet],
                              capture_output=True, text=True, env=self.env, timeout=1800, check=False)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-1500:]}")
        return took


# -- helpers ----------------------------------------------------------------------------------
def sha256_of(path: Path, repeat: int = 1) -> str:
    h = hashlib.sha256()
    for _ in range(repeat):
        with open(path, "rb") as f:
            while chunk := f.read(4 * MiB):
                h.update(chunk)
    return h.hexdigest()


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


def human(n: float) -> str:
    return f"{n / MiB:.0f} MiB" if n >= 10 * MiB else (f"{n / MiB:.1f} MiB" if n >= MiB else f"{n / 1024:.1f} KiB")


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / MiB:.1f} MiB/s"


def secs(values) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "] s"


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str, str]] = []
        self.missed: list[str] = []

    def add(self, what: str, ours: str, base: str, ratio: str, target: str, ok: bool | None) -> None:
        result = "info" if ok is None else ("PASS" if ok else "FAIL")
        if ok is False:
            self.missed.append(what.strip())
        self.rows.append((what, ours, base, ratio, target, result))

    def error(self, what: str, exc: BaseException) -> None:
        self.missed.append(f"{what} (not measured: {exc})")
        self.rows.append((what, "error", "—", "—", "—", "ERROR"))

    def print(self) -> None:
        head = ("measurement", "ours", "baseline", "ratio", "target", "result")
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(6)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        print(line.format(*head))
        print(line.format(*("-" * w for w in widths)))
        for r in self.rows:
            print(line.format(*r).rstrip())
        print()
        if self.missed:
            print("targets missed: " + "; ".join(self.missed))
        else:
            print("all targets met")


def child(args: list[str], timeout: float = 1800) -> dict:
    """Run this script in a fresh process (one of the --*-child modes); its JSON line."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line)


# -- 1. one big file up and down -----------------------------------------------------------------
def big_file(session: Session, aws: AwsCli | None, plain, tmp: Path, src: Path, size: int, reps: int,
             table: Table) -> None:
    want = sha256_of(src)
    down = tmp / "down"
    down.mkdir()
    up = {"aws": [], "ours": []}
    dl = {"aws": [], "ours": []}
    equal = {"aws": True, "ours": True}
    for i in range(reps):
        if aws is not None:
            up["aws"].append(aws("s3", "cp", str(src), f"s3://{UP_BUCKET}/aws/{BIG_KEY}"))
        up["ours"].append(session.run("upload", [local(src)], session.s3_loc(UP_BUCKET, "ours/"))[0])
        print(f"[big up {i + 1}/{reps}] aws {up['aws'][-1] if up['aws'] else float('nan'):.2f} s, "
              f"ours {up['ours'][-1]:.2f} s", flush=True)
    etags = {k: plain.head_object(Bucket=UP_BUCKET, Key=f"{k}/{BIG_KEY}")["ETag"] for k in ("ours", "aws")
             if k == "ours" or aws is not None}
    print(f"[big up] ETags of the uploaded objects: {etags}", flush=True)
    for i in range(reps):
        if aws is not None:
            got = down / f"aws-{BIG_KEY}"
            dl["aws"].append(aws("s3", "cp", f"s3://{BIG_BUCKET}/{BIG_KEY}", str(got)))
            equal["aws"] &= sha256_of(got) == want
            got.unlink()
        took, _ = session.run("download", [session.s3_loc(BIG_BUCKET, BIG_KEY)], local(down, folder=True))
        dl["ours"].append(took)
        got = down / BIG_KEY
        equal["ours"] &= sha256_of(got) == want
        got.unlink()
        print(f"[big down {i + 1}/{reps}] aws {dl['aws'][-1] if dl['aws'] else float('nan'):.2f} s, "
              f"ours {dl['ours'][-1]:.2f} s", flush=True)
    for label, runs in ((f"upload {human(size)} (throughput)", up), (f"download {human(size)} (throughput)", dl)):
        o = min(runs["ours"])
        if runs["aws"]:
            a = min(runs["aws"])
            table.add(label, rate(size, o), f"{rate(size, a)} aws-cli", aws.ratio(a, o), "≥ 1.0×", a / o >= 1.0)
        else:
            table.add(label, rate(size, o), "aws-cli missing", "—", "≥ 1.0×", None)
    print(f"[big] best of {secs(up['ours'])} / {secs(dl['ours'])} (ours up / down), "
          f"{secs(up['aws'])} / {secs(dl['aws'])} (aws-cli up / down)", flush=True)
    table.add("  downloads equal the source (sha256)",
              "equal" if equal["ours"] else "DIFFER", ("equal" if equal["aws"] else "DIFFER") if aws else "—",
              "—", "equal", equal["ours"] and equal["aws"])


# -- 2. many small files -------------------------------------------------------------------------
def small_files(session: Session, aws: AwsCli | None, plain, folder: Path, n: int, reps: int,
                table: Table) -> float | None:
    """Our best and aws-cli's; returns aws-cli's best (seconds), for the context row after."""
    runs = {"aws": [], "ours": []}

    def count(prefix: str) -> int:
        total = 0
        for page in plain.get_paginator("list_objects_v2").paginate(Bucket=SMALL_BUCKET, Prefix=prefix):
            total += page.get("KeyCount", 0)
        return total

    for i in range(reps):  # a fresh prefix each run: no target exists, for either tool
        if aws is not None:
            runs["aws"].append(aws("s3", "cp", str(folder), f"s3://{SMALL_BUCKET}/aws-{i}/{folder.name}/",
                                   "--recursive"))
            got = count(f"aws-{i}/")
            if got != n:
                raise RuntimeError(f"aws-cli stored {got} of {n} files")
        with BodyCounter(session.s3) as counted:
            took, _ = session.run("upload", [local(folder, folder=True)],
                                  session.s3_loc(SMALL_BUCKET, f"ours-{i}/"))
        runs["ours"].append(took)
        at_once = getattr(session.queue, "_files_at_once", 8)
        ops = (f"; our requests {counted.requests} ({counted.summary()}), median request "
               f"{statistics.median(counted.latencies) * 1000:.1f} ms, ≈ {at_once * took / n * 1000:.0f} ms a file "
               f"({at_once} files at once)")
        got = count(f"ours-{i}/")
        if got != n:
            raise RuntimeError(f"the queue stored {got} of {n} files")
        print(f"[small {i + 1}/{reps}] {n} files: aws {runs['aws'][-1] if runs['aws'] else float('nan'):.2f} s, "
              f"ours {took:.2f} s{ops}", flush=True)
    o = min(runs["ours"])
    label = f"upload {n} × {human(os.path.getsize(next(folder.iterdir())))} as a folder"
    if runs["aws"]:
        a = min(runs["aws"])
        table.add(label, f"{o:.2f} s ({n / o:.0f} files/s)", f"{a:.2f} s aws-cli", aws.ratio(a, o), "≥ 1.0×",
                  a / o >= 1.0)
        return a
    table.add(label, f"{o:.2f} s", "aws-cli missing", "—", "≥ 1.0×", None)
    return None


def small_files_no_state(endpoint: str, folder: Path, n: int, tmp: Path) -> float:
    """The same upload with a queue that keeps no transfers.json (context: what the saves cost)."""
    from gridclient.storage.transfers import TransferQueue

    session = Session(endpoint, tmp / "ws-nostate")
    try:
        session.queue = TransferQueue(session.wb.storage, None)
        return session.run("upload", [local(folder, folder=True)], session.s3_loc(SMALL_BUCKET, "nostate/"))[0]
    finally:
        session.close()


# -- 3. S3 → S3 copy ------------------------------------------------------------------------------
class BodyCounter:
    """Requests by operation and the bytes of their bodies, on one botocore client (its event
    hooks): sent (a request's Content-Length) and received (a response's body: its length as read,
    or its Content-Length for a streamed one such as GetObject; a HEAD response has no body)."""

    def __init__(self, client):
        self.events = client.meta.events
        self.sent = self.received = 0
        self.ops: dict[str, int] = {}
        self.latencies: list[float] = []  # before-send → after-call of each request, seconds
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def _before_send(self, request, event_name: str = "", **_kw):
        n = int(request.headers.get("Content-Length") or 0)
        if not n and isinstance(request.body, (bytes, bytearray)):
            n = len(request.body)
        op = event_name.rpartition(".")[2]
        with self._lock:
            self._sent_at[threading.get_ident()] = time.perf_counter()
            self.sent += n
            self.ops[op] = self.ops.get(op, 0) + 1

    def _after_call(self, http_response=None, model=None, **_kw):
        n = 0
        if http_response is not None:
            if model is not None and model.has_streaming_output:
                n = int(http_response.headers.get("content-length") or 0)
            else:
                n = len(http_response.content or b"")
        with self._lock:
            self.received += n
            sent = self._sent_at.pop(threading.get_ident(), None)
            if sent is not None:
                self.latencies.append(time.perf_counter() - sent)

    def __enter__(self) -> Self:
        self.events.register("before-send.s3", self._before_send, unique_id="bench-body-send")
        self.events.register("after-call.s3", self._after_call, unique_id="bench-body-call")
        return self

    def __exit__(self, *exc) -> None:
        self.events.unregister("before-send.s3", unique_id="bench-body-send")
        self.events.unregister("after-call.s3", unique_id="bench-body-call")

    @property
    def requests(self) -> int:
        return sum(self.ops.values())

    def summary(self) -> str:
        return ", ".join(f"{k} ×{v}" for k, v in sorted(self.ops.items()))


def copy_between(session: Session, aws: AwsCli | None, size: int, table: Table) -> None:
    with BodyCounter(session.s3) as counted:
        took, _ = session.run("copy", [session.s3_loc(BIG_BUCKET, BIG_KEY)], session.s3_loc(COPY_BUCKET, "ours/"))
    total = counted.sent + counted.received
    print(f"[copy] {human(size)} S3→S3 in {took:.2f} s; {counted.requests} requests ({counted.summary()}); "
          f"body bytes sent {counted.sent:,}, received {counted.received:,}", flush=True)
    table.add(f"S3→S3 copy {human(size)}: body bytes through client", f"{total:,} B", "—", "—", "≤ 1 MiB",
              total <= COPY_TARGET)
    if aws is not None:
        a = aws("s3", "cp", f"s3://{BIG_BUCKET}/{BIG_KEY}", f"s3://{COPY_BUCKET}/aws/{BIG_KEY}")
        table.add("  S3→S3 copy time (context)", f"{took:.2f} s", f"{a:.2f} s aws-cli", f"{a / took:.2f}×", "—",
                  None)


# -- 4. GUI stall during the many-files upload (a child) ------------------------------------------
def stall_child(endpoint: str, folder: str, reps: int) -> dict:
    from PySide6.QtCore import (
        QCoreApplication,
        QEventLoop,
        QObject,
        Qt,
        QTimer,
        Signal,
        Slot,
    )

    from gridclient.heap import freeze_imports, tune

    tune()  # what ui.app.make_app does
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    session = Session(endpoint, Path(tempfile.mkdtemp(prefix="bench-transfers-stall-")))
    freeze_imports()  # the app does this at a quiet moment once boto3 is loaded (gridclient.heap)

    class Bridge(QObject):
        """The queue's listener (called on the queue's threads): a signal to the GUI thread."""
        changed = Signal(object)

        def __call__(self, job) -> None:
            self.changed.emit(job)

    class Viewer(QObject):
        """What a view reads of a job when told of a change."""

        def __init__(self):
            super().__init__()
            self.calls = 0
            self.shown = None

        @Slot(object)
        def show(self, job) -> None:
            self.calls += 1
            self.shown = (job.state, job.progress, job.bytes_done, job.bytes_total, job.speed, job.eta,
                          job.count("done"), job.count("failed"), len(job.files), job.message)

    bridge, viewer = Bridge(), Viewer()
    bridge.changed.connect(viewer.show)  # queued: emitted on the queue's threads, run on this one
    session.queue.on_change(bridge)

    def timed(seconds: float | None, submit=None) -> dict:
        loop = QEventLoop()
        s = {"last": 0.0, "max": 0.0, "at": 0.0, "ticks": 0}
        t0 = time.perf_counter()
        state = {"job": None, "end": None}

        def tick():
            now = time.perf_counter()
            if now - s["last"] > s["max"]:
                s["max"], s["at"] = now - s["last"], s["last"] - t0
            s["last"] = now
            s["ticks"] += 1
            job = state["job"]
            if job is not None and state["end"] is None and job.state in ("done", "failed", "cancelled") \
                    and not job._thread.is_alive():
                state["end"] = now
                QTimer.singleShot(300, loop.quit)  # the queued signals delivered, the view caught up

        ticker = QTimer()
        ticker.setTimerType(Qt.TimerType.PreciseTimer)
        ticker.setInterval(10)
        ticker.timeout.connect(tick)
        s["last"] = time.perf_counter()
        ticker.start()
        if submit is not None:
            state["job"] = submit()
        if seconds is not None:
            QTimer.singleShot(int(seconds * 1000), loop.quit)
        QTimer.singleShot(1_800_000, loop.quit)
        loop.exec()
        ticker.stop()
        out = {"stall": s["max"], "at": s["at"], "ticks": s["ticks"]}
        if state["job"] is not None:
            job = state["job"]
            if job.state != "done":
                raise RuntimeError(f"upload ended {job.state}: {job.message}")
            out["upload"] = (state["end"] or time.perf_counter()) - t0
            session.queue.remove(job)
        return out

    from gridclient.storage import Location

    try:
        idle = [timed(2.0) for _ in range(reps)]
        runs = []
        for i in range(reps):
            calls = viewer.calls
            r = timed(None, lambda i=i: session.queue.submit(
                "upload", [Location.parse(folder + "/")], session.s3_loc(SMALL_BUCKET, f"stall-{i}/"),
                conflict="Overwrite"))
            r["slot_calls"] = viewer.calls - calls
            runs.append(r)
        return {"idle": idle, "runs": runs}
    finally:
        session.close()
        del app


# -- 5. RSS while moving 1,000 MiB (a child) -------------------------------------------------------
def rss_child(endpoint: str, key: str, target: str) -> dict:
    from gridclient.storage import Location

    try:
        import psutil

        proc = psutil.Process()
        def rss() -> int:
            return proc.memory_info().rss
        how = "psutil"
    except ImportError:
        def rss() -> int:
            return _vm("self", "VmRSS")
        how = "/proc/self/status VmRSS"
    session = Session(endpoint, Path(tempfile.mkdtemp(prefix="bench-transfers-rss-")))
    try:
        session.s3.list_objects_v2(Bucket=BIG_BUCKET, Prefix=key)  # the connection open
        import gc

        gc.collect()
        try:  # VmHWM from now on, not from the imports
            Path("/proc/self/clear_refs").write_text("5")
            hwm_reset = True
        except OSError:
            hwm_reset = False
        before = rss()
        peak = {"rss": before}
        done = threading.Event()

        def sample():
            while not done.wait(0.02):
                peak["rss"] = max(peak["rss"], rss())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        took, job = session.run("download", [Location("s3", session.vo.id, BIG_BUCKET, key)],
                                Location.parse(target + "/"))
        done.set()
        sampler.join()
        after = rss()
        hwm = _vm("self", "VmHWM") if hwm_reset else 0
        return {"before": before, "peak": max(peak["rss"], after), "after": after, "hwm": hwm, "how": how,
                "took": took, "size": job.bytes_done}
    finally:
        session.close()


# -- 6. a big folder listed ---------------------------------------------------------------------
def seed_listing(endpoint: str, n: int) -> float:
    s3 = plain_s3(endpoint, pool=32)
    t0 = time.perf_counter()
    s3.create_bucket(Bucket=LIST_BUCKET)

    def put(i: int) -> None:
        s3.put_object(Bucket=LIST_BUCKET, Key=f"{LIST_PREFIX}object-{i:06d}.dat", Body=b"x" * (i % 97 + 1))

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(put, range(n)))
    return time.perf_counter() - t0


def listing(session: Session, endpoint: str, n: int, reps: int, table: Table) -> None:
    from providers.aws.nodes import bucket_element, load_bucket

    took = seed_listing(endpoint, n)
    print(f"[listing] seeded {n} objects under s3://{LIST_BUCKET}/{LIST_PREFIX} in {took:.1f} s (32 threads)",
          flush=True)
    raw_client = plain_s3(endpoint)
    raw_client.head_bucket(Bucket=LIST_BUCKET)  # made and connected before timing, as ours is
    parent = bucket_element(LIST_BUCKET, LIST_PREFIX)

    def raw() -> tuple[float, int]:
        t0, count = time.perf_counter(), 0
        for page in raw_client.get_paginator("list_objects_v2").paginate(Bucket=LIST_BUCKET, Prefix=LIST_PREFIX,
                                                                        Delimiter="/"):
            count += len(page.get("Contents", ())) + len(page.get("CommonPrefixes", ()))
        return time.perf_counter() - t0, count

    def ours() -> tuple[float, int]:
        t0, count = time.perf_counter(), 0
        for page in load_bucket(session.token, parent):
            count += len(page)
        return time.perf_counter() - t0, count

    # warm-up, not counted: one page of each (a whole listing of 100,000 keys takes moto ~50 s)
    next(iter(raw_client.get_paginator("list_objects_v2").paginate(Bucket=LIST_BUCKET, Prefix=LIST_PREFIX,
                                                                   Delimiter="/")))
    next(iter(load_bucket(session.token, parent)))
    r, o = [], []
    for i in range(reps):  # interleaved, and which goes first alternates
        if i % 2:
            o.append(ours())
            r.append(raw())
        else:
            r.append(raw())
            o.append(ours())
        print(f"[listing {i + 1}/{reps}] raw paginator {r[-1][0]:.2f} s ({r[-1][1]} keys), "
              f"load_bucket {o[-1][0]:.2f} s ({o[-1][1]} elements)", flush=True)
        if r[-1][1] != o[-1][1] or r[-1][1] != n:
            raise RuntimeError(f"listed {o[-1][1]} elements, the paginator {r[-1][1]} keys, seeded {n}")
    rm, om = statistics.median(t for t, _ in r), statistics.median(t for t, _ in o)
    table.add(f"list a folder of {n:,} objects (load_bucket)", f"{om:.2f} s", f"{rm:.2f} s raw paginator",
              f"{om / rm:.2f}×", f"≤ {LIST_TARGET}×", om / rm <= LIST_TARGET)


# -- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="20 MiB, 200 files, 100 MiB moved, 2,000 listed, one run each (a smoke test)")
    ap.add_argument("--skip-listing", action="store_true", help="leave out the big-folder listing (6)")
    ap.add_argument("--listing-objects", type=int, help="objects in the listed folder (100000; quick 2000)")
    ap.add_argument("--stall-child", nargs=3, metavar=("ENDPOINT", "FOLDER", "REPS"), help=argparse.SUPPRESS)
    ap.add_argument("--rss-child", nargs=3, metavar=("ENDPOINT", "KEY", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.stall_child:
        endpoint, folder, reps = args.stall_child
        print(json.dumps(stall_child(endpoint, folder, int(reps))), flush=True)
        return 0
    if args.rss_child:
        print(json.dumps(rss_child(*args.rss_child)), flush=True)
        return 0

    import logging

    logging.basicConfig(level=logging.WARNING)
    quick = args.quick
    big = (20 if quick else 200) * MiB
    n_small, small_size = (200 if quick else 1000), 10 * 1024
    moved = MOVED_COPIES * big  # 1000 MiB (100 MiB with --quick): five copies of the big object
    n_list = args.listing_objects or (2000 if quick else 100_000)
    reps = 1 if quick else 2  # aws, ours, aws, ours: the best of each
    stall_reps = 1 if quick else 2

    tmp = Path(tempfile.mkdtemp(prefix="bench-transfers-"))
    moto = session = None
    table = Table()
    t_start = time.perf_counter()
    try:
        import boto3
        import moto as moto_pkg

        exe = ensure_awscli()
        print(f"bench_transfers{' --quick' if quick else ''}: Python {sys.version.split()[0]}, boto3 "
              f"{boto3.__version__}, moto {moto_pkg.__version__}, "
              f"aws-cli {'missing' if exe is None else exe}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        moto = MotoProcess(tmp / "moto.log")
        print(f"[setup] moto ThreadedMotoServer in its own process (pid {moto.proc.pid}) at {moto.url}",
              flush=True)
        plain = plain_s3(moto.url)
        for bucket in (BIG_BUCKET, UP_BUCKET, COPY_BUCKET, SMALL_BUCKET):
            plain.create_bucket(Bucket=bucket)
        aws = AwsCli(exe, moto.url, tmp) if exe else None
        if aws is not None:
            aws.fixed = min(aws("s3api", "head-bucket", "--bucket", UP_BUCKET) for _ in range(2))
            print(f"[setup] {aws.version}; its fixed cost per command (start-up + one request, "
                  f"aws s3api head-bucket, best of 2): {aws.fixed:.2f} s", flush=True)

        # the files, and the objects downloads start from --------------------------------------
        src = tmp / "src" / BIG_KEY
        src.parent.mkdir()
        write_random(src, big)
        small = tmp / "small" / "folder"
        small.mkdir(parents=True)
        for i in range(n_small):
            (small / f"file-{i:05d}.bin").write_bytes(os.urandom(small_size))
        plain.upload_file(str(src), BIG_BUCKET, BIG_KEY)  # 8 MiB parts, as both tools make them
        session = Session(moto.url, tmp / "ws")
        print(f"[setup] {human(big)} file, {n_small} files of {human(small_size)}; "
              f"s3://{BIG_BUCKET}/{BIG_KEY} seeded", flush=True)

        best: dict[str, float | None] = {"aws": None}
        sections = [
            ("1. big file", lambda: big_file(session, aws, plain, tmp, src, big, reps, table)),
            ("2. many small files", lambda: best.update(aws=small_files(session, aws, plain, small, n_small, reps,
                                                                          table))),
            ("3. S3→S3 copy", lambda: copy_between(session, aws, big, table)),
        ]
        for name, fn in sections:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - a report: the other sections still run
                import traceback

                traceback.print_exc()
                table.error(name, exc)

        # 2b. context: the many-files upload without transfers.json
        try:
            nostate = small_files_no_state(moto.url, small, n_small, tmp)
            a = best["aws"]
            table.add("  the same, queue keeping no transfers.json (context)", f"{nostate:.2f} s",
                      "—" if a is None else f"{a:.2f} s aws-cli",
                      "—" if a is None else f"{a / nostate:.2f}×", "—",
                      None)
        except Exception as exc:  # noqa: BLE001
            table.error("  the same, no transfers.json", exc)

        # 4. GUI stall, in a fresh process -------------------------------------------------------
        try:
            st = child(["--stall-child", moto.url, str(small), str(stall_reps)])
            stalls = [r["stall"] * 1000 for r in st["runs"]]
            idle = [r["stall"] * 1000 for r in st["idle"]]
            gaps = ", ".join(f"{s:.0f} ms at +{r['at']:.2f} s" for s, r in zip(stalls, st["runs"]))
            print(f"[stall] upload of {n_small} files with the bridged listener: longest gaps {gaps}; "
                  f"upload took {secs(r['upload'] for r in st['runs'])}, slot called "
                  f"{[r['slot_calls'] for r in st['runs']]} times; idle loop "
                  f"{', '.join(f'{s:.0f}' for s in idle)} ms", flush=True)
            worst = max(stalls)
            table.add(f"longest GUI stall, {n_small}-file upload", f"{worst:.0f} ms",
                      f"{max(idle):.0f} ms idle loop", "—", f"≤ {STALL_TARGET_MS:.0f} ms", worst <= STALL_TARGET_MS)
        except Exception as exc:  # noqa: BLE001
            table.error("longest GUI stall", exc)

        # 5. RSS while moving 1,000 MiB, in a fresh process -----------------------------------------
        try:
            for k in range(MOVED_COPIES):  # CopyObject: no byte of them passes through here
                plain.copy_object(Bucket=BIG_BUCKET, Key=f"{MOVED}part-{k}.bin",
                                  CopySource={"Bucket": BIG_BUCKET, "Key": BIG_KEY})
            target = tmp / "moved"
            target.mkdir()
            m = child(["--rss-child", moto.url, MOVED, str(target)])
            want = sha256_of(src)
            got = sorted((target / MOVED.rstrip("/")).iterdir())
            same = len(got) == MOVED_COPIES and all(f.stat().st_size == big and sha256_of(f) == want for f in got)
            shutil.rmtree(target)
            growth = max(m["peak"], m["hwm"]) - m["before"]
            print(f"[rss] download of {MOVED_COPIES} × {human(big)} (one folder, one job) in {m['took']:.2f} s "
                  f"({rate(moved, m['took'])}); RSS before {human(m['before'])}, peak sampled every 20 ms "
                  f"{human(m['peak'])}, VmHWM {human(m['hwm']) if m['hwm'] else 'n/a'}, after "
                  f"{human(m['after'])} ({m['how']}); files {'equal' if same else 'DIFFER FROM'} the source",
                  flush=True)
            table.add(f"peak RSS growth, {MOVED_COPIES} × {human(big)} downloaded", human(growth),
                      f"{human(m['before'])} before", "—", "< 100 MiB", growth < RSS_TARGET and same)
        except Exception as exc:  # noqa: BLE001
            table.error("peak RSS growth", exc)
        finally:
            for k in range(MOVED_COPIES):
                plain.delete_object(Bucket=BIG_BUCKET, Key=f"{MOVED}part-{k}.bin")

        # 6. a big folder listed ----------------------------------------------------------------------
        if not args.skip_listing:
            try:
                listing(session, moto.url, n_list, 3, table)
            except Exception as exc:  # noqa: BLE001
                import traceback

                traceback.print_exc()
                table.error("big folder listing", exc)
        print(f"[moto] server peak RSS {human(moto.peak_rss())}", flush=True)
    except Exception as exc:  # noqa: BLE001 - a report, not a gate: print what we have
        import traceback

        traceback.print_exc()
        print(f"\nbench_transfers: stopped early: {exc}", file=sys.stderr)
    finally:
        if session is not None:
            session.close()
        if moto is not None:
            moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n(whole run {time.perf_counter() - t_start:.0f} s)\n")
    if table.rows:
        table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
