"""The one shape of background work in ui: a :class:`Worker` runs a function or a generator on a
thread pool and reports through signals that live on their own QObject (superqt's
``thread_worker`` idea), delivered queued to the thread that made the worker (the GUI thread).

- a function's value comes as ``returned``; a generator's values come one by one as ``yielded``,
  and it can be asked to stop between two of them (:meth:`Worker.quit`);
- an exception comes as ``errored`` (the exception object: the receiver explains it);
- ``finished`` comes last, always.

Listings, the VO wizard's connection test and SSH connects all use it. The signals object is
always owned by Qt (parented to the receiver that asked, or to the application), so however the
worker's Python objects are dropped on the pool thread, no Qt object is ever destroyed there; it
is deleted on its own thread once ``finished`` was delivered. When the receiver is deleted
meanwhile, its ``destroyed`` waits for an emit under way and stops the rest (:class:`_Guard`):
the worker ends quietly, and no emit runs into the signals' deletion.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)

#: threads for network work. Listings, tests of a connection and SSH logins wait on the network or
#: on a person (a host-key question), not on the CPU, so the pool is not sized by cores: with
#: Qt's global pool (one thread per core, two here) a third expanded folder waited for the first.
IO_THREADS = 16
_pool: QThreadPool | None = None


def io_pool() -> QThreadPool:
    """The pool workers run on unless they are given another."""
    global _pool
    if _pool is None:
        _pool = QThreadPool(QCoreApplication.instance())
        _pool.setMaxThreadCount(IO_THREADS)
        _pool.setObjectName("gridclient-io")
    return _pool


@contextmanager
def unless_receiver_gone(signals: QObject) -> Iterator[None]:
    """For a worker's emits: when the object carrying the signals was deleted meanwhile (its
    window or model closed), PySide raises RuntimeError; there is nobody left to tell, so stop
    quietly. Any other RuntimeError goes on."""
    try:
        yield
    except RuntimeError:
        import shiboken6

        if shiboken6.isValid(signals):
            raise


class _Guard:
    """Emits from other threads, never while the object's parent is being deleted: the parent's
    ``destroyed`` (emitted on the GUI thread before its children go) waits for an emit under way
    to end and stops the ones after it. Without it, a window closed while a listing was
    delivering deleted the signals' object in the middle of the pool thread's emit (a crash)."""

    def __init__(self, parent: QObject | None):
        self.lock = threading.Lock()
        self.gone = False
        # weakly: a parent only Python holds goes when its last reference does, as before
        self._parent = weakref.ref(parent) if parent is not None else None
        if parent is not None:
            parent.destroyed.connect(self._going, Qt.ConnectionType.DirectConnection)

    def _going(self, *_args: Any) -> None:
        with self.lock:
            self.gone = True

    def release(self) -> None:
        """No more emits: the parent's ``destroyed`` need not call here (a model that lists
        thousands of times would keep thousands of connections)."""
        ref, self._parent = self._parent, None
        parent = ref() if ref is not None else None
        if parent is not None:
            try:
                parent.destroyed.disconnect(self._going)
            except (RuntimeError, TypeError):  # the parent is gone already
                pass

    def emit(self, signal: Any, *args: Any) -> None:
        with self.lock:
            if not self.gone:
                signal.emit(*args)


class ChangeBridge(QObject):
    """A queue's listener, called on the queue's threads with what changed (anything with an
    ``id``: a transfer job, a remote job). It remembers which changed and, on the GUI thread, emits
    ``changed`` once per batch and at most every ``interval`` ms — not once per event; ``take()``
    gives the latest of each since the last."""

    changed = Signal()  # on the GUI thread
    _wake = Signal()  # from the queue's threads: something is pending

    def __init__(self, parent: QObject | None = None, interval: int = 0):
        super().__init__(parent)
        self._guard = _Guard(parent)
        self._lock = threading.Lock()
        self._pending: dict[Any, Any] = {}
        self._timer = QTimer(self, singleShot=True, interval=interval)
        self._timer.timeout.connect(self.changed)
        self._wake.connect(self._woken, Qt.ConnectionType.QueuedConnection)

    def __call__(self, item: Any) -> None:
        with self._lock:
            first = not self._pending
            self._pending[item.id] = item
        if first:
            with unless_receiver_gone(self):  # the view was closed: nobody left to tell
                self._guard.emit(self._wake)

    @Slot()
    def _woken(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def take(self) -> list:
        with self._lock:
            items, self._pending = list(self._pending.values()), {}
        return items


class WorkerSignals(QObject):
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, parent: QObject | None):
        super().__init__(parent)
        self.guard = _Guard(parent if parent is not QCoreApplication.instance() else None)
        self.finished.connect(self._release)

    @Slot()
    def _release(self) -> None:  # on the signals' own thread, after everything else was delivered
        self.guard.release()
        self.deleteLater()


class _Runnable(QRunnable):
    """What the pool runs and deletes; the caller keeps only the :class:`Worker`."""

    def __init__(self, worker: "Worker"):
        super().__init__()
        self.setAutoDelete(True)
        self.worker = worker

    def run(self) -> None:  # pool thread
        worker, self.worker = self.worker, None
        worker._run()


class Worker:
    """Runs ``fn(*args, **kwargs)`` on a pool thread; see the module's text for the signals.

    ``parent`` is the QObject the results are for: when it is deleted, so are the signals, and a
    late result is dropped. ``abort`` may be an Event the caller already holds (a load's ticket).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, parent: QObject | None = None,
                 abort: threading.Event | None = None, **kwargs: Any):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.abort = abort if abort is not None else threading.Event()
        self.signals = WorkerSignals(parent if parent is not None else QCoreApplication.instance())
        # the signals' Python wrapper, kept here: its C++ object belongs to Qt
        self.yielded, self.returned = self.signals.yielded, self.signals.returned
        self.errored, self.finished = self.signals.errored, self.signals.finished

    def start(self, pool: QThreadPool | None = None) -> "Worker":
        (pool or io_pool()).start(_Runnable(self))
        return self

    def quit(self) -> None:
        """Ask a generator to stop after the value it is making now (nothing more is sent but
        ``finished``); a plain function runs to its end, and its value is dropped."""
        self.abort.set()

    @property
    def abort_requested(self) -> bool:
        return self.abort.is_set()

    def _run(self) -> None:
        signals = self.signals
        with unless_receiver_gone(signals):
            try:
                value = self.fn(*self.args, **self.kwargs)
                if inspect.isgenerator(value):
                    value = self._drain(value)
                if not self.abort.is_set():
                    signals.guard.emit(signals.returned, value)
            except BaseException as exc:  # noqa: BLE001 - handed to the receiver, which explains it
                if not self.abort.is_set():
                    log.debug("worker %s failed: %s", getattr(self.fn, "__name__", self.fn), type(exc).__name__)
                    signals.guard.emit(signals.errored, exc)
            finally:
                signals.guard.emit(signals.finished)

    def _drain(self, gen) -> Any:
        try:
            while not self.abort.is_set():
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
                if self.abort.is_set():
                    break
                self.signals.guard.emit(self.signals.yielded, item)
        finally:
            gen.close()
        return None
