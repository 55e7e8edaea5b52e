"""Background loading of a node's children: a generator loader run on a QThreadPool worker.

The worker's signals live on a separate QObject (superqt's thread_worker idea) and are delivered
queued to the GUI thread. A worker can be asked to stop between pages.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class LoadSignals(QObject):
    # (ticket, list[Element], cached)
    page = Signal(object, object, object)
    # (ticket, list[Element] | None): all live children, sent when the listing replaces a cached one
    replaced = Signal(object, object)
    # (ticket, message)
    failed = Signal(object, str)
    # (ticket)
    finished = Signal(object)


class LoadTicket:
    """Identifies one load of one node; a newer load of the same node makes older ones stale."""

    __slots__ = ("node", "generation", "stop")

    def __init__(self, node: Any, generation: int):
        self.node = node
        self.generation = generation
        self.stop = threading.Event()


class ChildLoad(QRunnable):
    """Runs ``produce(ticket)`` — a generator of (kind, payload) events — and forwards them."""

    def __init__(self, ticket: LoadTicket, signals: LoadSignals,
                 produce: Callable[[LoadTicket], Any], explain: Callable[[BaseException], str]):
        super().__init__()
        self.setAutoDelete(True)
        self.ticket = ticket
        self.signals = signals
        self.produce = produce
        self.explain = explain

    def run(self) -> None:  # worker thread
        t = self.ticket
        try:
            for event, payload in self.produce(t):
                if t.stop.is_set():
                    return
                if event == "page":
                    self.signals.page.emit(t, payload, False)
                elif event == "cached":
                    self.signals.page.emit(t, payload, True)
                elif event == "replace":
                    self.signals.replaced.emit(t, payload)
        except BaseException as exc:  # noqa: BLE001 - becomes an error row
            if not t.stop.is_set():
                log.info("loading %s failed: %s", getattr(t.node, "key", "?"), exc)
                self.signals.failed.emit(t, self.explain(exc))
            return
        if not t.stop.is_set():
            self.signals.finished.emit(t)


def start(pool: QThreadPool, load: ChildLoad) -> None:
    pool.start(load)
