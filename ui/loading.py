"""Background loading of a node's children: a generator loader run on a QThreadPool worker.

The worker's signals live on a separate QObject (superqt's thread_worker idea) and are delivered
queued to the GUI thread. A worker can be asked to stop between pages.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


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


class LoadSignals(QObject):
    # (ticket, list[Element] or what ChildLoad.prepare made of it, cached)
    page = Signal(object, object, object)
    # (ticket, list[Element] or what ChildLoad.prepare made of it): all live children, sent when
    # the listing replaces rows shown already (cached ones, or a refresh's)
    replaced = Signal(object, object)
    # (ticket, message)
    failed = Signal(object, str)
    # (ticket)
    finished = Signal(object)


class LoadTicket:
    """Identifies one load of one node; a newer load of the same node makes older ones stale."""

    __slots__ = ("node", "generation", "stop", "shown")

    def __init__(self, node: Any, generation: int, shown: list | None = None):
        self.node = node
        self.generation = generation
        self.stop = threading.Event()
        # what the node shows while this load runs (a refresh's rows, or the cached ones), so a
        # worker can compare the live listing with it
        self.shown = shown


class ChildLoad(QRunnable):
    """Runs ``produce(ticket)`` — a generator of (kind, payload) events — and forwards them."""

    def __init__(self, ticket: LoadTicket, signals: LoadSignals,
                 produce: Callable[[LoadTicket], Any], explain: Callable[[BaseException], str],
                 prepare: Callable[[LoadTicket, str, Any], Any] | None = None):
        super().__init__()
        self.setAutoDelete(True)
        self.ticket = ticket
        self.signals = signals
        self.produce = produce
        self.explain = explain
        # prepare(ticket, event, payload), on this worker: turns a "page", "cached" or "replace"
        # payload into what the GUI thread applies (rows built, differences found, here and not there)
        self.prepare = prepare

    def run(self) -> None:  # worker thread
        with unless_receiver_gone(self.signals):  # the model that asked may have gone meanwhile
            self._run()

    def _run(self) -> None:
        t = self.ticket
        try:
            for event, payload in self.produce(t):
                if t.stop.is_set():
                    return
                if self.prepare is not None:
                    payload = self.prepare(t, event, payload)
                if event == "page":
                    self.signals.page.emit(t, payload, False)
                elif event == "cached":
                    self.signals.page.emit(t, payload, True)
                elif event == "replace":
                    self.signals.replaced.emit(t, payload)
        except BaseException as exc:  # noqa: BLE001 - becomes an error row
            if not t.stop.is_set():
                message = self.explain(exc)  # what the person sees; str(exc) may hold a proxy password
                log.info("loading %s failed: %s: %s", getattr(t.node, "key", "?"), type(exc).__name__, message)
                self.signals.failed.emit(t, message)
            return
        if not t.stop.is_set():
            self.signals.finished.emit(t)


def start(pool: QThreadPool, load: ChildLoad) -> None:
    pool.start(load)
