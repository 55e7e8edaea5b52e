"""Operations: long work (launch and wait, transfer, create image) in a thread pool.

An Operation has a title, progress, cancel and a result or an error. Observers are called from
the worker thread; the UI turns those calls into Qt signals.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside an operation's work when the person asked to cancel it."""


_ids = itertools.count(1)


@dataclass
class Operation:
    title: str
    id: int = field(default_factory=lambda: next(_ids))
    state: str = "queued"  # queued | running | done | failed | cancelled
    progress: float | None = None  # 0..1, None when unknown
    message: str = ""
    result: Any = None
    error: str = ""
    started: float = 0.0
    finished: float = 0.0
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _observers: list[Callable[["Operation"], None]] = field(default_factory=list, repr=False)

    # -- used by the work ------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def report(self, progress: float | None = None, message: str | None = None) -> None:
        if progress is not None:
            self.progress = max(0.0, min(1.0, progress))
        if message is not None:
            self.message = message
        self._notify()

    # -- used by observers -----------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._notify()

    def observe(self, fn: Callable[["Operation"], None]) -> None:
        self._observers.append(fn)

    def _notify(self) -> None:
        for fn in list(self._observers):
            try:
                fn(self)
            except Exception:  # an observer must not break the work
                log.exception("operation observer failed")


class OperationRunner:
    """Runs operations on a small thread pool and keeps the list the Operations view shows."""

    def __init__(self, workers: int = 4, explain: Callable[[BaseException], str] | None = None):
        self._workers = workers
        self._pool: "ThreadPoolExecutor | None" = None  # made on the first submit (start-up makes none)
        self.operations: list[Operation] = []
        self._listeners: list[Callable[[Operation], None]] = []
        self.explain = explain or (lambda e: str(e) or type(e).__name__)

    def on_change(self, fn: Callable[[Operation], None]) -> None:
        self._listeners.append(fn)

    def submit(self, title: str, work: Callable[[Operation], Any],
               observer: Callable[[Operation], None] | None = None) -> tuple[Operation, "Future"]:
        """Run ``work(operation)`` on the pool; ``observer`` is told of every change, like the
        runner's listeners, from the moment the operation exists."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="gridclient-op")
        op = Operation(title)
        for fn in self._listeners:
            op.observe(fn)
        if observer is not None:
            op.observe(observer)
        self.operations.append(op)
        op._notify()

        def run() -> Any:
            op.state, op.started = "running", time.time()
            op._notify()
            try:
                op.check()
                op.result = work(op)
                op.state = "done"
                if op.progress is not None:
                    op.progress = 1.0
            except Cancelled:
                op.state, op.message = "cancelled", "Cancelled"
            except BaseException as exc:  # noqa: BLE001 - reported to the person
                op.state, op.error = "failed", self.explain(exc)
                log.info("operation %r failed: %s", op.title, op.error)
            finally:
                op.finished = time.time()
                op._notify()
            return op.result

        return op, self._pool.submit(run)

    @property
    def busy(self) -> bool:
        """Some operation is still queued or running."""
        return any(op.state in ("queued", "running") for op in self.operations)

    def shutdown(self) -> None:
        for op in self.operations:
            if op.state in ("queued", "running"):
                op.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
