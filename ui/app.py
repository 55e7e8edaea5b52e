"""The composition root: makes the Workbench, the window and (with --demo) a contributed sandbox."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from gridclient.heap import freeze_imports, tune

log = logging.getLogger(__name__)


def make_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    tune()  # the garbage collector, for a GUI: see gridclient.heap
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("gridclient")
    app.setOrganizationName("gridclient")
    app.setDesktopFileName("gridclient")
    return app


def quit_on_signals(app) -> None:
    """SIGINT (Ctrl+C where the app was started) and SIGTERM (logout, ``kill``) close the app the
    normal way, so the demo sandbox stops and the throwaway workspace is removed.

    Python runs signal handlers only between bytecodes, and the Qt event loop runs none while it
    waits; ``signal.set_wakeup_fd`` writes to a pipe a QSocketNotifier watches, which wakes it (a
    pipe rather than a socket pair: importing ``socket`` was 2 ms of start-up).
    """
    import signal

    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader, QSocketNotifier.Type.Read, app)

    def drain() -> None:
        try:
            os.read(reader, 64)
        except OSError:
            pass

    notifier.activated.connect(drain)

    def quit_now(*_args) -> None:
        for widget in app.topLevelWidgets():
            if hasattr(widget, "ask_before_close"):
                widget.ask_before_close = False
        # through the event loop: a signal that comes before app.exec() has started (the window
        # is shown just before) would make a direct quit() a no-op, and the app would run on
        QTimer.singleShot(0, app.quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, quit_now)
    app._signal_wakeup = (reader, writer, notifier)  # kept as long as the app


def build(paths, *, secrets=None, registry=None, title: str = "", sandbox=None):
    """Workbench + MainWindow (not shown); used by run(), the tests and the benchmarks.

    A sandbox puts its VOs and projects into the workspace before the window is made, so the
    window shows them as it opens, and puts back what was expanded in a kept workspace."""
    from gridclient.workbench import Workbench
    from ui.main_window import MainWindow

    wb = Workbench(paths, registry=registry, secrets=secrets)
    if sandbox is not None:
        sandbox.prepare(wb)
    return wb, MainWindow(wb, title_suffix=title)


def start_sandbox(registry) -> Any:
    """The first sandbox a provider contributes, started; RuntimeError says why there is none."""
    from gridclient.registry import resolve

    if not registry.sandboxes:
        raise RuntimeError("no installed provider offers a demo sandbox (pip install 'gridclient[demo]')")
    contribution = next(iter(registry.sandboxes.values()))
    print(f"gridclient: starting the demo sandbox ({contribution.label})…", file=sys.stderr)
    return resolve(contribution.factory)().start()


def run(args: Any) -> int:
    import gc

    # no collection during start-up: it would walk every object the imports below make (they
    # live for the run, and after_show moves them out of the collector's way), ~2 ms
    gc.disable()
    # Qt-free modules before the first PySide6 import: PySide6's import hook reads the source of
    # every module imported after it (to see whether it uses PySide6's feature switches)
    from gridclient.paths import AppPaths
    from gridclient.registry import ExtensionRegistry
    from gridclient.secrets import MemoryKeyring, SecretStore
    from gridclient.workbench import Workbench  # noqa: F401 - for build(), here for the reason above

    registry = ExtensionRegistry().discover()  # loads each installed provider's manifest

    from PySide6.QtCore import QTimer

    app = make_app()
    quit_on_signals(app)
    sandbox = None
    throwaway = None
    secrets = None
    title = ""
    if args.demo:
        try:
            sandbox = start_sandbox(registry)
        except Exception as exc:  # noqa: BLE001
            print(f"gridclient: the demo sandbox could not start: {exc}", file=sys.stderr)
            return 2
        if args.workspace:
            paths = AppPaths.under(args.workspace)
        else:
            throwaway = tempfile.mkdtemp(prefix="gridclient-demo-")
            paths = AppPaths.under(throwaway)
        secrets = SecretStore(MemoryKeyring())  # the demo's fake keys never reach a real keyring
        title = "demo sandbox"
    else:
        paths = AppPaths.under(args.workspace) if args.workspace else AppPaths.default()

    from gridclient.paths import AlreadyRunning, WorkspaceLock

    try:
        lock = WorkspaceLock(paths).acquire()
    except AlreadyRunning as exc:
        from PySide6.QtWidgets import QMessageBox

        print(f"gridclient: {exc}", file=sys.stderr)
        QMessageBox.warning(None, "gridclient", str(exc))
        if sandbox is not None:
            sandbox.stop()
        return 1
    wb, window = build(paths, secrets=secrets, registry=registry, title=title, sandbox=sandbox)
    window.show()

    def after_show() -> None:
        # the transfer queue (its modules, transfers.json) once start-up is over; sooner if a
        # transfer begins (run_action, a drop and double-click attach it first)
        QTimer.singleShot(1000, window.attach_transfers)
        window.show_problems()
        if window.secrets_locked():
            window.unlock_secrets(from_environment=True)  # cancelled: the status bar keeps saying so, File → Unlock secrets…
        else:
            window.update_lock_state()
        freeze_imports()  # start-up's modules live for the run: later collections skip them
        gc.enable()

    QTimer.singleShot(0, after_show)
    busy = False
    try:
        code = app.exec()
        busy = still_waiting(wb)
        return code
    finally:
        wb.close()
        lock.release()
        if sandbox is not None:
            sandbox.stop()
        if throwaway:
            shutil.rmtree(throwaway, ignore_errors=True)
        if busy:
            leave_now(code)


#: how long a closed window lets background work finish before the process leaves without it
GRACE_MS = 1500


def still_waiting(wb) -> bool:
    """Whether background work (a listing, an action, an SSH login) still waits on the network
    once the window is closed and GRACE_MS have passed.

    Such a call can wait minutes for an endpoint that accepts and never answers (botocore's read
    timeout, times its retries), and Qt's pool and Python's executor wait for their threads at
    exit: the process lived on unseen, holding the workspace lock, so the next start said the app
    was already running."""
    from ui.worker import io_pool

    wb.operations.shutdown()  # what has not started never will
    transfers = getattr(wb, "_transfers", None)
    if transfers is not None and transfers.busy:
        transfers.shutdown()  # kept as "interrupted", to resume next time; not waited for
        return True
    idle = io_pool().waitForDone(GRACE_MS)
    if idle and wb.operations.busy:
        deadline = time.monotonic() + GRACE_MS / 1000
        while wb.operations.busy and time.monotonic() < deadline:
            time.sleep(0.05)
    return not idle or wb.operations.busy


def leave_now(code: int) -> None:
    """End the process without waiting for threads blocked on the network (everything of ours is
    saved and closed by now; the OS closes their sockets)."""
    log.warning("quitting while background work still waits on the network; not waiting for it")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
