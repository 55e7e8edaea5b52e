"""Start-up benchmark (a script, not a test): the whole process, interpreter start to exit.

    python bench/bench_startup.py [--pairs 15] [--with-vo] [--like-ours] [--as-env]

Runs ``--pairs`` alternating pairs of two fresh processes with the same interpreter and
environment (``QT_QPA_PLATFORM=offscreen``, this repository first on ``PYTHONPATH``, bytecode
cached in a shared ``PYTHONPYCACHEPREFIX`` that one uncounted warm-up pair fills, as an
installed app has it):

(a) the baseline: import PySide6, make a QApplication and a 1280×800 QMainWindow with a QTreeView
    as its central widget, show it, and quit once the event loop is idle (a 0 ms QTimer after
    ``show()``, then one more turn);
(b) ours: the app's real start path, the way ``python -m gridclient --workspace DIR`` starts it
    (``runpy`` runs ``gridclient/__main__.py`` → ``gridclient.cli.main`` → ``ui.app.run``:
    ``make_app``, ``build``, ``show``, then ``after_show``). DIR is a fresh throwaway folder for
    every run. No production code is changed: the driver wraps ``ui.app.build`` so that the
    window it returns quits the same way after its ``show()`` (a 0 ms QTimer, then one more
    turn, by which time ``run``'s own ``after_show``, queued just after, has run). ``run`` then
    closes the workbench and releases the lock, as on a normal quit.

The figure is the parent's wall clock (``time.perf_counter()``) around ``subprocess.run``, from
spawn to exit, teardown included. Also printed: the child's CPU time (user + sys, from
``RUSAGE_CHILDREN``; less disturbed than wall time when other work shares the machine), and, from
the child at the idle moment, the time since spawn (CLOCK_MONOTONIC, which the parent shares),
``len(sys.modules)``, and which heavy modules are imported (boto3, botocore, paramiko, keyring,
qtconsole, pyghostty, moto: none should be). Target: ours ≤ 1.5× the baseline (medians).

Options: ``--with-vo`` starts on a workspace holding one VO (profile credentials, so nothing asks
for a keyring password) and one project, instead of an empty one. ``--like-ours`` adds a third
process to every round, for context: the bare window furnished like ours (the same docks,
tables, tabs, menus and status bar text, no icons, none of our code), which shows what any window
like ours costs over the bare one (Qt's ``Qt`` namespace enums, fonts, painting text).
``--as-env`` keeps the caller's bytecode settings: with ``PYTHONDONTWRITEBYTECODE`` set and a
source tree without ``__pycache__``, every launch compiles our modules, which the bare script
never pays. Nothing contacts AWS. Exits 0 whatever the figures (a report, not a gate).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "paramiko", "keyring", "qtconsole", "pyghostty", "moto")
TARGET = 1.5

# What every child prints at the idle moment (one JSON line on stdout).
_REPORT = r"""
def _report():
    import json, sys, time
    print(json.dumps({"idle": time.monotonic(), "modules": len(sys.modules),
                      "heavy": [m for m in HEAVY if m in sys.modules]}), flush=True)
"""

# The end of both bare scripts: report and quit once the event loop is idle (one more turn after
# the 0 ms timer that show() is followed by).
_QUIT_WHEN_IDLE = r"""
def _idle():
    _report()
    app.quit()

QTimer.singleShot(0, lambda: QTimer.singleShot(0, _idle))
sys.exit(app.exec())
"""

BARE = _REPORT + r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTreeView

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QTreeView())
window.resize(1280, 800)
window.show()
""" + _QUIT_WHEN_IDLE

# The widgets ui/main_window.py makes, without our code, icons or models (--like-ours).
LIKE_OURS = _REPORT + r"""
import sys
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow, QPushButton,
                               QTableWidget, QTabWidget, QTreeView)

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1280, 800)

def dock(title, widget, area):
    d = QDockWidget(title, window)
    d.setWidget(widget)
    window.addDockWidget(area, d)
    return d

bottom = Qt.DockWidgetArea.BottomDockWidgetArea
projects = dock("Projects", QTreeView(), Qt.DockWidgetArea.LeftDockWidgetArea)
window.setCentralWidget(QTabWidget())
props = QTableWidget(0, 2)
props.setHorizontalHeaderLabels(["Property", "Value"])
props = dock("Properties", props, bottom)
ops = QTableWidget(0, 4)
ops.setHorizontalHeaderLabels(["Operation", "State", "Progress", ""])
ops = dock("Operations", ops, bottom)
window.tabifyDockWidget(props, ops)
console = dock("Python console", QLabel("The console starts when this dock is shown."), bottom)
window.tabifyDockWidget(ops, console)
console.hide()
menus = window.menuBar()
file_menu = menus.addMenu("&File")
new_menu = file_menu.addMenu("&New")
for text in ("Virtual &Organisation…", "Grid &Project…", "&SSH connection…"):
    new_menu.addAction(text)
file_menu.addAction("&Quit").setShortcut(QKeySequence.StandardKey.Quit)
refresh = QAction("&Refresh", window)
refresh.setShortcut(QKeySequence("F5"))
menus.addMenu("&Edit").addAction(refresh)
menus.addMenu("&Actions")
view = menus.addMenu("&View")
for d in (projects, props, ops, console):
    view.addAction(d.toggleViewAction())
menus.addMenu("&Help").addAction("&About gridclient")
button = QPushButton("Secrets locked — Unlock…")
window.statusBar().addPermanentWidget(button)
button.setVisible(False)
props.raise_()
window.resizeDocks([projects], [560], Qt.Orientation.Horizontal)
window.statusBar().showMessage("Ready", 3000)
window.show()
""" + _QUIT_WHEN_IDLE

# ui.app is imported here only to wrap build(); it imports no Qt and nothing heavy, and
# gridclient.cli.main imports it anyway. Everything else is imported by the app's own path.
OURS = _REPORT + r"""
import sys
import ui.app

_build = ui.app.build

def build(*args, **kwargs):
    wb, window = _build(*args, **kwargs)
    show = window.show

    def show_then_quit():
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        show()

        def _idle():
            _report()
            QApplication.instance().quit()

        QTimer.singleShot(0, lambda: QTimer.singleShot(0, _idle))

    window.show = show_then_quit
    return wb, window

ui.app.build = build

import runpy
sys.argv = ["gridclient", "--workspace", WS]
runpy.run_module("gridclient", run_name="__main__", alter_sys=True)  # what `python -m` does
"""


def child_env(tmp: Path, as_env: bool = False) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if not as_env:
        # bytecode cached, as an installed app has it: with PYTHONDONTWRITEBYTECODE (set on some
        # machines) and a source tree without __pycache__, every launch compiles our ~40 modules,
        # which the bare script never pays. Nothing is written into the tree.
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    # never reach a real account or a real keyring, whatever the shell holds
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN"):
        env.pop(var, None)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    return env


def launch(code: str, env: dict[str, str], cwd: Path, workspace: Path | None = None) -> dict:
    prelude = f"HEAVY = {HEAVY!r}\nWS = {str(workspace)!r}\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0_mono = time.monotonic()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", prelude + code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child has been reaped: it is in
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"start-up child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(line)
    out["wall"] = wall
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["to_idle"] = out["idle"] - t0_mono
    return out


def make_workspace(root: Path) -> None:
    """One VO with profile credentials (no secret, so no keyring prompt) and one project."""
    sys.path.insert(0, str(ROOT))
    from gridclient.paths import AppPaths
    from gridclient.secrets import MemoryKeyring, SecretStore
    from gridclient.workbench import Workbench
    from gridclient.workspace import GridProject

    wb = Workbench(AppPaths.under(root), secrets=SecretStore(MemoryKeyring()))
    vo = wb.save_vo("Bench", "aws", {"region": "us-east-1", "credential_mode": "profile",
                                     "profile": "default", "endpoint_url": "http://127.0.0.1:9"})
    wb.workspace.add_project(GridProject("Bench project", vo.id))
    wb.close()


class Runner:
    """The children's environment, and a fresh workspace (a copy of the template) for each run."""

    def __init__(self, tmp: Path, with_vo: bool, as_env: bool = False):
        self.tmp, self.env, self.n = tmp, child_env(tmp, as_env), 0
        self.cwd = tmp / "cwd"  # nothing importable in the children's working directory
        self.cwd.mkdir()
        self.template = None
        if with_vo:
            self.template = tmp / "template"
            make_workspace(self.template)

    def bare(self) -> dict:
        return launch(BARE, self.env, self.cwd)

    def like_ours(self) -> dict:
        return launch(LIKE_OURS, self.env, self.cwd)

    def ours(self) -> dict:
        self.n += 1
        ws = self.tmp / f"ws{self.n}"
        if self.template is not None:
            shutil.copytree(self.template, ws)
        return launch(OURS, self.env, self.cwd, ws)


def ms(values) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=15, help="alternating pairs counted (15)")
    ap.add_argument("--with-vo", action="store_true", help="start on a workspace with one VO + one project")
    ap.add_argument("--like-ours", action="store_true",
                    help="also time the bare window furnished like ours (context, no target)")
    ap.add_argument("--as-env", action="store_true",
                    help="keep the caller's bytecode settings (PYTHONDONTWRITEBYTECODE) instead of a shared cache")
    args = ap.parse_args(argv)
    pairs = max(1, args.pairs)

    import PySide6

    load = os.getloadavg()[0]  # before we add our own
    print(f"bench_startup: {pairs} pairs, Python {sys.version.split()[0]}, PySide6 {PySide6.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}, tree {ROOT}, workspace "
          f"{'one VO + one project' if args.with_vo else 'empty'}, bytecode "
          f"{'as the environment says' if args.as_env else 'cached (shared PYTHONPYCACHEPREFIX)'}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    bare: list[dict] = []
    ours: list[dict] = []
    like: list[dict] = []
    try:
        runner = Runner(tmp, args.with_vo, args.as_env)
        runner.bare()  # warm-up (not counted): the OS file cache and the shared bytecode cache
        runner.ours()
        if args.like_ours:
            runner.like_ours()
        for i in range(pairs):  # alternating, so both see the same noise
            bare.append(runner.bare())
            ours.append(runner.ours())
            if args.like_ours:
                like.append(runner.like_ours())
            extra = f"  like-ours {like[-1]['wall'] * 1000:4.0f} ms" if like else ""
            print(f"[pair {i + 1:2d}/{pairs}] bare {bare[-1]['wall'] * 1000:4.0f} ms "
                  f"(idle at {bare[-1]['to_idle'] * 1000:3.0f}, cpu {bare[-1]['cpu'] * 1000:3.0f})  "
                  f"ours {ours[-1]['wall'] * 1000:4.0f} ms (idle at {ours[-1]['to_idle'] * 1000:3.0f}, "
                  f"cpu {ours[-1]['cpu'] * 1000:3.0f})  ratio {ours[-1]['wall'] / bare[-1]['wall']:.2f}{extra}",
                  flush=True)
    except Exception as exc:  # noqa: BLE001 - a report, never a gate
        print(f"bench_startup: could not measure: {exc}", flush=True)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    b, o = med(r["wall"] for r in bare), med(r["wall"] for r in ours)
    bi, oi = med(r["to_idle"] for r in bare), med(r["to_idle"] for r in ours)
    bc, oc = med(r["cpu"] for r in bare), med(r["cpu"] for r in ours)
    heavy = sorted({m for r in ours for m in r["heavy"]})
    print(f"\nspawn → exit, ms: bare [{ms(r['wall'] for r in bare)}]\n"
          f"                   ours [{ms(r['wall'] for r in ours)}]")
    rows = [("spawn → exit (target)", f"{o * 1000:.0f} ms", f"{b * 1000:.0f} ms", f"{o / b:.2f}×",
             f"≤ {TARGET:g}×", "PASS" if o / b <= TARGET else "FAIL"),
            ("  spawn → idle", f"{oi * 1000:.0f} ms", f"{bi * 1000:.0f} ms", f"{oi / bi:.2f}×", "—", "info"),
            ("  idle → exit (teardown)", f"{(o - oi) * 1000:.0f} ms", f"{(b - bi) * 1000:.0f} ms", "—", "—",
             "info"),
            ("  CPU time, user + sys", f"{oc * 1000:.0f} ms", f"{bc * 1000:.0f} ms", f"{oc / bc:.2f}×", "—", "info")]
    if like:
        lw = med(r["wall"] for r in like)
        rows.append(("  bare window furnished like ours", f"{lw * 1000:.0f} ms", f"{b * 1000:.0f} ms",
                     f"{lw / b:.2f}×", "—", "info"))
        rows.append(("    ours against it", f"{o * 1000:.0f} ms", f"{lw * 1000:.0f} ms", f"{o / lw:.2f}×", "—",
                     "info"))
    rows += [("  modules at idle", str(ours[-1]["modules"]), str(bare[-1]["modules"]), "—", "—", "info"),
             (f"  {'/'.join(HEAVY)} at idle", ", ".join(heavy) or "none", "—", "—", "none",
              "FAIL" if heavy else "PASS")]
    head = ("measurement (medians)", "ours", "baseline", "ratio", "target", "result")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(6)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print()
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*r))
    if load > 0.5:  # a run just before this one counts too
        print(f"\nnote: the 1-minute load average was {load:.2f} before the run: if other work shares the "
              "machine, wall times are noisy; the CPU-time row is the steadier figure")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
