"""The background worker's signals when their receiver is deleted while the pool thread is
emitting: no emit runs into the deletion, the worker ends quietly, and a finished worker leaves
no connection behind on its receiver."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QObject

from ui.worker import Worker


def test_a_receiver_deleted_while_a_worker_emits_stops_its_emits_without_a_crash(qtbot):
    receiver = QObject()
    got: list[int] = []
    ended = threading.Event()

    def many():
        try:
            yield from range(200_000)
        finally:
            ended.set()

    worker = Worker(many, parent=receiver)
    worker.yielded.connect(got.append)
    worker.start()
    qtbot.waitUntil(lambda: len(got) > 100, timeout=10_000)
    shiboken6.delete(receiver)  # on the GUI thread, while the pool thread emits
    assert ended.wait(30)  # the generator ran out: no emit hung or crashed
    assert worker.signals.guard.gone
    seen = len(got)
    qtbot.wait(50)
    assert len(got) == seen < 200_000  # nothing delivered after the receiver went


def test_a_finished_worker_leaves_no_connection_on_its_receiver(qtbot):
    receiver = QObject()
    workers = [Worker(lambda n=n: n, parent=receiver) for n in range(20)]
    made = receiver.receivers("2destroyed(QObject*)")  # each worker's guard, and PySide's own
    assert made >= 20
    done: list[int] = []
    for w in workers:
        w.returned.connect(done.append)
        w.start()
    qtbot.waitUntil(lambda: len(done) == 20, timeout=10_000)
    qtbot.waitUntil(lambda: receiver.receivers("2destroyed(QObject*)") == made - 20, timeout=10_000)
