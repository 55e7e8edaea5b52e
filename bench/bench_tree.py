"""Project-tree benchmark (a script, not a test): start-up and a 10,000-object S3 folder.

    python bench/bench_tree.py [--objects 10000] [--repeat 3] [--endpoint URL]

(``--endpoint``: a server already seeded by an earlier run — seeding 100,000 objects takes ~8 min
on two cores — e.g. a ``python -m moto.server -p PORT`` left running and seeded with ``seed()``.)

Every figure is compared with a baseline measured in the same run, each measured ``--repeat``
times (medians are printed; these machines are noisy), with Qt offscreen:

1. start-up to the main window shown and idle (the first ``QTimer.singleShot(0)`` after
   ``show()`` fires), from launching a fresh interpreter to that moment (CLOCK_MONOTONIC is
   shared between processes), with a workspace of one VO + one project, against a bare PySide6
   ``QMainWindow`` + ``QTreeView`` script. Target ≤ 2.0×. The child also reports which of
   boto3 / botocore / paramiko / qtconsole / pyghostty are imported at idle (none should be).
2. a folder of N S3 objects on moto's server, run in a separate process (its own GIL): a raw
   boto3 ``list_objects_v2`` paginator (Prefix + Delimiter="/"; client made and its connection
   opened before timing) against ProjectModel.fetchMore on the folder (fresh workspace each
   time, so the info cache is cold; token made, Storage and the bucket expanded beforehand):
   first 1,000 rows in the model ≤ 1.5× the raw first page; all rows in and loadFinished
   ≤ 1.3× all raw pages. Also: the same with a real QTreeView showing the folder, and
   "expand again with the cache warm".
3. the longest GUI-thread stall during that listing (largest gap between ticks of a 10 ms
   QTimer, QTreeView shown and the folder expanded; 300 ms after loadFinished included, for
   the view's delayed layout). Target ≤ 50 ms. Baseline: the same timer on an idle loop.
4. RSS before the listing and peak RSS with N rows (psutil every tick + /proc VmHWM), in a
   fresh process.

Exits 0 whatever the figures (a report, not a gate); the moto server it started is always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_workbench, isolate  # noqa: E402 - the bench folder, then the project

isolate()  # never reach a real account, whatever the shell holds

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "bench-bucket"
PREFIX = "big/"
REGION = "us-east-1"
HEAVY = ("boto3", "botocore", "paramiko", "qtconsole", "pyghostty")
TAIL_S = 0.3  # keep the stall timer running this long after loadFinished (delayed view layout)


# -- start-up ------------------------------------------------------------------------------
STARTUP_OURS = r"""
import json, sys, time
sys.path.insert(0, ROOT)
from PySide6.QtCore import QTimer
from gridclient.paths import AppPaths
from gridclient.secrets import MemoryKeyring, SecretStore
from ui.app import build, make_app
app = make_app()
wb, window = build(AppPaths.under(WS), secrets=SecretStore(MemoryKeyring()))
window.show()
QTimer.singleShot(0, window.show_problems)  # what ui.app.run does after show
def idle():
    t = time.monotonic()
    print(json.dumps({"idle": t, "heavy": [m for m in HEAVY if m in sys.modules],
                      "modules": len(sys.modules)}), flush=True)
    app.quit()
QTimer.singleShot(0, idle)
app.exec()
wb.close()
"""

STARTUP_BARE = r"""
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTreeView
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QTreeView())
window.resize(1280, 800)
window.show()
def idle():
    t = time.monotonic()
    print(json.dumps({"idle": t, "heavy": [m for m in HEAVY if m in sys.modules],
                      "modules": len(sys.modules)}), flush=True)
    app.quit()
QTimer.singleShot(0, idle)
app.exec()
"""


def startup_once(code: str, workspace: Path) -> dict:
    prelude = f"ROOT = {str(ROOT)!r}\nWS = {str(workspace)!r}\nHEAVY = {HEAVY!r}\n"
    # with bytecode cached, as an installed app has it: PYTHONDONTWRITEBYTECODE (set on some
    # machines) made every launch compile our ~40 modules, ~60 ms the bare script never pays.
    # Both scripts share one cache under the workspace, filled by the uncounted warm-up runs.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPYCACHEPREFIX=str(workspace / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", prelude + code], env=env, capture_output=True,
                          text=True, timeout=120)
    t_exit = time.monotonic()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"start-up child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(line)
    out["to_idle"] = out["idle"] - t0
    out["to_exit"] = t_exit - t0
    return out


def make_startup_workspace(root: Path, endpoint: str) -> None:
    """One VO (pointing at an endpoint nobody contacts at start) and one project."""
    from gridclient.paths import AppPaths
    from gridclient.secrets import MemoryKeyring, SecretStore
    from gridclient.workbench import Workbench
    from gridclient.workspace import GridProject

    wb = Workbench(AppPaths.under(root), secrets=SecretStore(MemoryKeyring()))
    vo = wb.save_vo("Bench", "aws", {"region": REGION, "credential_mode": "keys",
                                     "access_key_id": "testing", "secret_access_key": "testing",
                                     "endpoint_url": endpoint})
    wb.workspace.add_project(GridProject("Bench project", vo.id))
    wb.close()


# -- the moto server -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoProcess:
    """``python -m moto.server`` in its own process (its own GIL), stopped on exit."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def s3_client(endpoint: str, pool: int = 10):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(max_pool_connections=pool, s3={"addressing_style": "path"}))


def seed(endpoint: str, n: int) -> float:
    s3 = s3_client(endpoint, pool=16)
    t0 = time.perf_counter()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="readme.txt", Body=b"the big folder holds the benchmark's objects")

    def put(i: int) -> None:
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}object-{i:06d}.dat", Body=b"x" * (i % 97 + 1))

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(n)))
    return time.perf_counter() - t0


# -- the raw paginator (baseline) ----------------------------------------------------------
def raw_listing(endpoint: str) -> dict:
    s3 = s3_client(endpoint)
    s3.head_bucket(Bucket=BUCKET)  # the connection is open, as the app's is after the bucket
    t0 = time.perf_counter()
    first = None
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX, Delimiter="/"):
        count += len(page.get("Contents", ())) + len(page.get("CommonPrefixes", ()))
        if first is None:
            first = time.perf_counter() - t0
    return {"first": first, "all": time.perf_counter() - t0, "count": count}


# -- the ProjectModel ----------------------------------------------------------------------
class Session:
    """A fresh workspace (cold info cache) with a VO on the moto server, its token made."""

    def __init__(self, endpoint: str, root: Path):
        from gridclient.workspace import GridProject

        self.root = root
        self.wb, self.vo = bench_workbench(endpoint, root)
        self.wb.workspace.add_project(GridProject("Bench project", self.vo.id))

    def close(self) -> None:
        from ui.worker import io_pool

        io_pool().waitForDone(30000)
        self.wb.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _rows(model, index) -> int:
    """Element rows under index (the Loading… row not counted). Counted at every insert until the
    rows wanted are in, so without a Python loop over them: the "cache warm" run counted its
    100,000 rows that way at each insert, on the GUI thread, and measured that as stalls."""
    from ui.project_model import SPECIAL

    children = model.node(index).children
    # a Loading…, (empty) or error row is a node's first or last row
    ends = {id(c): c for c in list(children[:1]) + list(children[-1:])}
    return len(children) - sum(1 for c in ends.values() if c.kind in SPECIAL)


def _child(model, parent, label: str):
    for row in range(model.rowCount(parent)):
        idx = model.index(row, 0, parent)
        if model.element(idx).label == label:
            return idx
    raise RuntimeError(f"{label!r} not found under {model.element(parent).label!r}")


def load_and_wait(model, index, timeout_ms: int = 120000) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    node = model.node(index)
    loop = QEventLoop()
    failed: list[str] = []

    def done(i):
        if model.node(i) is node:
            loop.quit()

    def fail(i, msg):
        if model.node(i) is node:
            failed.append(msg)

    model.loadFinished.connect(done)
    model.loadFailed.connect(fail)
    QTimer.singleShot(timeout_ms, loop.quit)
    model.fetchMore(index)
    loop.exec()
    model.loadFinished.disconnect(done)
    model.loadFailed.disconnect(fail)
    if failed:
        raise RuntimeError(f"loading {model.element(index).label!r} failed: {failed[0]}")
    if model.node(index).state != "loaded":
        raise RuntimeError(f"loading {model.element(index).label!r} did not finish")


def timed_expand(model, folder, n_first: int, view=None, rss=None, timeout_ms: int = 300000) -> dict:
    """fetchMore (or view.expand) on folder; times to n_first rows and to loadFinished, max stall."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    node = model.node(folder)
    loop = QEventLoop()
    marks: dict[str, float] = {}
    failed: list[str] = []
    stall = {"last": 0.0, "max": 0.0, "at": 0.0, "rss": 0}

    def inserted(parent, first, last):
        if model.node(parent) is node and "first" not in marks and _rows(model, folder) >= n_first:
            marks["first"] = time.perf_counter()

    def finished(i):
        if model.node(i) is node and "all" not in marks:
            marks["all"] = time.perf_counter()
            QTimer.singleShot(int(TAIL_S * 1000), loop.quit)

    def fail(i, msg):
        if model.node(i) is node:
            failed.append(msg)

    def tick():
        now = time.perf_counter()
        if now - stall["last"] > stall["max"]:
            stall["max"], stall["at"] = now - stall["last"], stall["last"] - t0
        stall["last"] = now
        if rss is not None:
            stall["rss"] = max(stall["rss"], rss())

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(10)
    ticker.timeout.connect(tick)
    model.rowsInserted.connect(inserted)
    model.loadFinished.connect(finished)
    model.loadFailed.connect(fail)
    QTimer.singleShot(timeout_ms, loop.quit)
    t0 = time.perf_counter()
    stall["last"] = t0
    ticker.start()
    if view is not None:
        view.expand(folder)  # the view asks canFetchMore/fetchMore itself, as on a click
    if node.state == "idle":
        model.fetchMore(folder)
    inserted(folder, 0, 0)  # rows may be in already (a warm cache answers at once)
    loop.exec()
    ticker.stop()
    tick()
    for sig, slot in ((model.rowsInserted, inserted), (model.loadFinished, finished),
                      (model.loadFailed, fail)):
        sig.disconnect(slot)
    if failed:
        raise RuntimeError(f"listing failed: {failed[0]}")
    if "all" not in marks:
        raise RuntimeError("listing did not finish in time")
    return {"first": marks.get("first", marks["all"]) - t0, "all": marks["all"] - t0,
            "stall": stall["max"], "stall_at": stall["at"], "rows": _rows(model, folder), "rss_peak": stall["rss"]}


def open_folder(session: Session, view: bool):
    """A ProjectModel (and a shown QTreeView) with Storage and the bucket expanded."""
    from PySide6.QtWidgets import QTreeView

    from ui.project_model import ProjectModel

    model = ProjectModel(session.wb)
    tree = None
    if view:
        tree = QTreeView()
        tree.setUniformRowHeights(True)  # as MainWindow's projectView
        tree.setModel(model)
        tree.resize(600, 800)
        tree.show()
    project = model.index(0, 0)
    storage = model.index(2, 0, project)
    load_and_wait(model, storage)
    bucket = _child(model, storage, BUCKET)
    load_and_wait(model, bucket)
    folder = _child(model, bucket, PREFIX)
    if tree is not None:
        for idx in (project, storage, bucket):
            tree.expand(idx)
    return model, tree, folder


def dispose(*objects) -> None:
    """Delete Qt objects now (not at some later loop turn), so runs do not see the last run's heap."""
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    for obj in objects:
        if obj is not None:
            if hasattr(obj, "close"):
                obj.close()
            obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def ours_once(endpoint: str, n_first: int, view: bool, warm: bool) -> dict:
    import gc

    gc.collect()  # every run starts from the same heap (gen-2 collections scale with it)
    session = Session(endpoint, Path(tempfile.mkdtemp(prefix="bench-tree-")))
    try:
        model, tree, folder = open_folder(session, view)
        out = timed_expand(model, folder, n_first, view=tree)
        dispose(model, tree)
        del model, tree, folder
        gc.collect()
        if warm:
            # a new model on the same workbench (as after a restart): the info cache knows the folder
            model2, tree2, folder2 = open_folder(session, view)
            w = timed_expand(model2, folder2, out["rows"], view=tree2)
            out["warm_cached"] = w["first"]
            out["warm_revalidated"] = w["all"]
            out["warm_stall"] = w["stall"]
            dispose(model2, tree2)
        return out
    finally:
        session.close()


def ours_in_child(endpoint: str, n_first: int, view: bool, warm: bool) -> dict:
    """ours_once in a fresh process, as the app has it: no other run's heap in the way.

    (Run in one process, each run's gen-2 garbage collections walked the rows of the runs
    before it, and the figures said more about the benchmark than about the app.)
    """
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--ours-child", endpoint,
                           "--n-first", str(n_first)] + (["--view"] if view else []) + (["--warm"] if warm else []),
                          capture_output=True, text=True, timeout=900)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"listing child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line)


def idle_stall(seconds: float) -> float:
    """The largest gap of the same 10 ms timer on an idle event loop: the noise floor."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    loop = QEventLoop()
    s = {"last": time.perf_counter(), "max": 0.0}

    def tick():
        now = time.perf_counter()
        s["max"] = max(s["max"], now - s["last"])
        s["last"] = now

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(10)
    ticker.timeout.connect(tick)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    s["last"] = time.perf_counter()
    ticker.start()
    loop.exec()
    ticker.stop()
    return s["max"]


def _vm_hwm() -> int:
    """This process's peak RSS: VmHWM from /proc (getrusage's ru_maxrss is not used: Linux carries
    it over exec from the parent, so a child would report the bench's own peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_child(endpoint: str, n_first: int) -> dict:
    """Run in a fresh process: RSS before the listing and peak RSS with all rows (view shown)."""
    import psutil
    from PySide6.QtWidgets import QApplication

    from ui.app import make_app

    app = make_app()  # noqa: F841
    proc = psutil.Process()
    session = Session(endpoint, Path(tempfile.mkdtemp(prefix="bench-tree-rss-")))
    try:
        model, tree, folder = open_folder(session, view=True)
        QApplication.processEvents()
        before = proc.memory_info().rss
        out = timed_expand(model, folder, n_first, view=tree, rss=lambda: proc.memory_info().rss)
        after = proc.memory_info().rss
        maxrss = _vm_hwm()
        return {"before": before, "after": after, "peak": max(out["rss_peak"], maxrss, after),
                "sampled_peak": out["rss_peak"], "maxrss": maxrss, "rows": out["rows"]}
    finally:
        session.close()


# -- report --------------------------------------------------------------------------------
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def spread(values, scale=1000.0, unit="ms") -> str:
    return "[" + ", ".join(f"{v * scale:.0f}" for v in values) + f"] {unit}"


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(self, what: str, ours: float, base: float | None, target: float | None, unit: str = "ms",
            scale: float = 1000.0, absolute: bool = False) -> None:
        """target is a ratio (ours/base) unless absolute, then a limit on ours in its unit."""
        o = f"{ours * scale:.0f} {unit}" if unit != "MiB" else f"{ours / 2**20:.1f} MiB"
        b = "—" if base is None else (f"{base * scale:.0f} {unit}" if unit != "MiB" else f"{base / 2**20:.1f} MiB")
        ratio = None if base in (None, 0) else ours / base
        r = "—" if ratio is None else f"{ratio:.2f}×"
        if target is None:
            t, verdict = "—", "info"
        elif absolute:
            t = f"≤ {target:g} {unit}"
            verdict = "PASS" if ours * scale <= target else "FAIL"
        else:
            t = f"≤ {target:g}×"
            verdict = "PASS" if ratio is not None and ratio <= target else "FAIL"
        self.rows.append((what, o, b, r, t, verdict))

    def print(self) -> None:
        head = ("measurement", "ours", "baseline", "ratio", "target", "result")
        widths = [max(len(str(r[i])) for r in self.rows + [head]) for i in range(6)]
        line = "  ".join("{:<%d}" % w for w in widths)
        print(line.format(*head))
        print(line.format(*("-" * w for w in widths)))
        for r in self.rows:
            print(line.format(*r))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=10000, help="objects in the folder (10000)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (3)")
    ap.add_argument("--endpoint", metavar="URL",
                    help="an S3 endpoint already seeded with --objects objects by an earlier run (a "
                         "long-lived `python -m moto.server`): neither started nor seeded nor stopped here")
    ap.add_argument("--skip-startup", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--rss-child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    ap.add_argument("--ours-child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    ap.add_argument("--n-first", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--view", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n, reps = args.objects, max(1, args.repeat)
    n_first = min(1000, n)

    if args.rss_child:
        print(json.dumps(rss_child(args.rss_child, n_first)), flush=True)
        return 0
    if args.ours_child:
        from ui.app import make_app

        app = make_app()  # noqa: F841  the app's QApplication and settings (gridclient.heap.tune)
        print(json.dumps(ours_once(args.ours_child, args.n_first or n_first, args.view, args.warm)), flush=True)
        return 0

    import logging

    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-tree-"))
    moto = None
    table = Table()
    try:
        import PySide6
        from PySide6.QtCore import qVersion
        import moto as moto_pkg

        print(f"bench_tree: {n} objects, {reps} repetitions (medians), Python {sys.version.split()[0]}, "
              f"PySide6 {PySide6.__version__} / Qt {qVersion()}, moto {moto_pkg.__version__}, "
              f"{os.cpu_count()} CPUs, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}", flush=True)

        # 1. start-up ---------------------------------------------------------------------------
        if not args.skip_startup:
            ws = tmp / "startup-ws"
            make_startup_workspace(ws, "http://127.0.0.1:9")  # nothing is contacted at start
            startup_once(STARTUP_BARE, ws)  # warm the OS file cache and bytecode for both (not counted)
            startup_once(STARTUP_OURS, ws)
            ours_s, bare_s = [], []
            for _ in range(reps):  # interleaved, so both see the same noise
                bare_s.append(startup_once(STARTUP_BARE, ws))
                ours_s.append(startup_once(STARTUP_OURS, ws))
            o, b = med([r["to_idle"] for r in ours_s]), med([r["to_idle"] for r in bare_s])
            print(f"\n[start-up] launch → idle  ours {spread([r['to_idle'] for r in ours_s])}, "
                  f"bare {spread([r['to_idle'] for r in bare_s])}; launch → exit ours "
                  f"{med([r['to_exit'] for r in ours_s]) * 1000:.0f} ms, bare "
                  f"{med([r['to_exit'] for r in bare_s]) * 1000:.0f} ms; modules ours "
                  f"{ours_s[-1]['modules']}, bare {bare_s[-1]['modules']}", flush=True)
            heavy = sorted({m for r in ours_s for m in r["heavy"]})
            print(f"[start-up] heavy modules imported at idle: {', '.join(heavy) if heavy else 'none'} "
                  f"(checked: {', '.join(HEAVY)})", flush=True)
            table.add("start-up to main window idle", o, b, 2.0)
            table.add("  launch → exit (info)", med([r["to_exit"] for r in ours_s]),
                      med([r["to_exit"] for r in bare_s]), None)
            table.rows.append(("  boto3/botocore/paramiko/qtconsole/pyghostty at idle",
                               ", ".join(heavy) if heavy else "none", "—", "—", "none",
                               "FAIL" if heavy else "PASS"))

        # 2. the S3 folder --------------------------------------------------------------------
        if args.endpoint:
            url = args.endpoint.rstrip("/")
            found = raw_listing(url)["count"]
            print(f"\n[seed] an already seeded server at {url}: {found} keys under s3://{BUCKET}/{PREFIX}",
                  flush=True)
            if found != n:
                raise RuntimeError(f"the server holds {found} objects under {PREFIX}, not --objects {n}")
        else:
            moto = MotoProcess(tmp / "moto.log")
            moto.wait_ready()
            url = moto.url
            took = seed(url, n)
            print(f"\n[seed] moto server (own process, pid {moto.proc.pid}) at {url}: "
                  f"{n} objects under s3://{BUCKET}/{PREFIX} in {took:.1f} s", flush=True)
            raw_listing(url)  # warm-up: moto's and botocore's first-call costs, not counted

        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
        ours_in_child(url, n_first, view=False, warm=False)

        raw, model_only, with_view = [], [], []
        for i in range(reps):  # interleaved; each "ours" in a fresh process, as the app runs it
            raw.append(raw_listing(url))
            model_only.append(ours_in_child(url, n_first, view=False, warm=True))
            with_view.append(ours_in_child(url, n_first, view=True, warm=False))
            print(f"[listing {i + 1}/{reps}] raw first {raw[-1]['first'] * 1000:.0f} ms, all "
                  f"{raw[-1]['all'] * 1000:.0f} ms ({raw[-1]['count']} keys) | model first "
                  f"{model_only[-1]['first'] * 1000:.0f} ms, all {model_only[-1]['all'] * 1000:.0f} ms "
                  f"({model_only[-1]['rows']} rows), stall {model_only[-1]['stall'] * 1000:.0f} ms | "
                  f"view first {with_view[-1]['first'] * 1000:.0f} ms, all "
                  f"{with_view[-1]['all'] * 1000:.0f} ms, stall {with_view[-1]['stall'] * 1000:.0f} ms "
                  f"at +{with_view[-1]['stall_at'] * 1000:.0f} ms | "
                  f"warm cache: rows in {model_only[-1]['warm_cached'] * 1000:.0f} ms, revalidated "
                  f"{model_only[-1]['warm_revalidated'] * 1000:.0f} ms, stall "
                  f"{model_only[-1]['warm_stall'] * 1000:.0f} ms", flush=True)
            for r in (model_only[-1], with_view[-1]):
                if r["rows"] != raw[-1]["count"]:
                    print(f"  !! the model holds {r['rows']} rows, the paginator gave {raw[-1]['count']}")
        floor = [idle_stall(1.0) for _ in range(reps)]

        rf, ra = med([r["first"] for r in raw]), med([r["all"] for r in raw])
        table.add(f"first {n_first} rows in the model", med([r["first"] for r in model_only]), rf, 1.5)
        table.add(f"all {n} rows in + loadFinished", med([r["all"] for r in model_only]), ra, 1.3)
        table.add(f"  with QTreeView: first {n_first} rows", med([r["first"] for r in with_view]), rf, 1.5)
        table.add(f"  with QTreeView: all {n} rows", med([r["all"] for r in with_view]), ra, 1.3)
        table.add("  expand again, cache warm: rows in", med([r["warm_cached"] for r in model_only]), ra, None)
        table.add("  expand again, cache warm: revalidated",
                  med([r["warm_revalidated"] for r in model_only]), ra, None)
        table.add("longest GUI stall (QTreeView shown)", med([r["stall"] for r in with_view]), med(floor),
                  50, absolute=True)
        table.add("  longest GUI stall (model only)", med([r["stall"] for r in model_only]), med(floor),
                  50, absolute=True)
        table.add("  longest GUI stall, cache warm + revalidate", med([r["warm_stall"] for r in model_only]),
                  med(floor), 50, absolute=True)
        print(f"[stall] per run: view {spread([r['stall'] for r in with_view])}, model "
              f"{spread([r['stall'] for r in model_only])}, idle loop {spread(floor)}", flush=True)

        # 4. memory, in a fresh process -------------------------------------------------------
        mem = []
        for _ in range(reps):
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--objects", str(n),
                                   "--rss-child", url], capture_output=True, text=True, timeout=600)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
            if proc.returncode != 0 or line is None:
                raise RuntimeError(f"RSS child failed:\n{proc.stderr[-3000:]}")
            mem.append(json.loads(line))
        print(f"[rss] before {spread([m['before'] for m in mem], 1 / 2**20, 'MiB')}, peak "
              f"{spread([m['peak'] for m in mem], 1 / 2**20, 'MiB')}, after "
              f"{spread([m['after'] for m in mem], 1 / 2**20, 'MiB')} (peak sampled every tick "
              f"{spread([m['sampled_peak'] for m in mem], 1 / 2**20, 'MiB')}, VmHWM "
              f"{spread([m['maxrss'] for m in mem], 1 / 2**20, 'MiB')})", flush=True)
        table.add(f"peak RSS with {n} rows (vs before listing)", med([m["peak"] for m in mem]),
                  med([m["before"] for m in mem]), None, unit="MiB")
        table.add(f"  RSS growth for {n} rows", med([m["peak"] - m["before"] for m in mem]), None, None,
                  unit="MiB")
    except Exception as exc:  # noqa: BLE001 - a report, not a gate: print what we have
        import traceback

        traceback.print_exc()
        print(f"\nbench_tree: stopped early: {exc}", file=sys.stderr)
    finally:
        if moto is not None:
            moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    if table.rows:
        table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
