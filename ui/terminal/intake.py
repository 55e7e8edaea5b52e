"""The byte queue between an SSH session's reader thread and the GUI thread that feeds the emulator.

Qt-free on purpose (no PySide6 import): the widget hands it a ``wake`` callable that posts a
queued signal, and the queue itself is plain threading, testable without an event loop.

Why a queue and not feeding on the reader thread: feeding there under a lock was measured worse —
every small SSH packet became one emulator call whose return had to win the GIL back from the
painting thread, which cut a 20 MB ``cat`` from ~30 MB/s to ~13 MB/s. So the reader only queues
(:meth:`Intake.append`) and the GUI thread feeds in slices of at most :data:`SLICE` bytes until a
time budget is spent (:meth:`Intake.drain`), which lets key presses (Ctrl+C) in between slices.
Past :data:`MAX_PENDING` bytes queued the reader waits, which pushes back on the SSH channel's
window instead of growing memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

SLICE = 256 * 1024  # bytes fed to the emulator in one call: libghostty parses hundreds of MB/s
MAX_PENDING = 1024 * 1024  # bytes queued before the reader thread is made to wait


class Intake:
    """Bytes from the remote on their way to the emulator.

    ``wake`` is called (on the appending thread) when bytes arrive and no wake is outstanding:
    at most once until the next :meth:`drain`, so a flood of small packets posts one event, not
    thousands.
    """

    def __init__(self, wake: Callable[[], None], *, max_pending: int = MAX_PENDING, slice_size: int = SLICE):
        self._wake = wake
        self.max_pending, self.slice_size = max_pending, slice_size
        self._cond = threading.Condition(threading.Lock())
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._woken = False  # a wake was sent and no drain has started since
        self._closed = False

    @property
    def pending(self) -> int:
        """Bytes queued and not yet fed."""
        with self._cond:
            return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, data: bytes) -> None:
        """Queue ``data`` (the reader thread). Blocks while more than ``max_pending`` bytes wait,
        until a drain catches up or the intake is cleared or closed. After :meth:`close` the
        bytes are dropped."""
        if not data:
            return
        with self._cond:
            if self._closed:
                return
            self._chunks.append(data)
            self._size += len(data)
            wake = not self._woken
            self._woken = True
        if wake:  # outside the lock: whatever the callable does, it cannot wait on us
            self._wake()
        with self._cond:
            while self._size > self.max_pending and not self._closed:
                self._cond.wait(0.1)

    def drain(self, feed: Callable[[bytes], None], budget: float | None = None) -> bool:
        """Hand queued bytes to ``feed`` in slices of at most ``slice_size`` bytes, until
        ``budget`` seconds are spent (None: until the queue is empty). Returns whether bytes are
        still waiting. Bytes arriving from here on wake again."""
        start = time.monotonic()
        with self._cond:
            self._woken = False
        while True:
            with self._cond:
                if not self._chunks:
                    return False
                piece = self._take_slice()
                self._cond.notify_all()  # room again: a waiting reader goes on
            feed(piece)
            if budget is not None and time.monotonic() - start >= budget:
                with self._cond:
                    return bool(self._chunks)

    def _take_slice(self) -> bytes:
        """Whole chunks up to ``slice_size`` bytes; a chunk larger than a slice is cut (lock held)."""
        limit = self.slice_size
        first = self._chunks.popleft()
        if len(first) > limit:
            self._chunks.appendleft(first[limit:])
            first = first[:limit]
        chunks, size = [first], len(first)
        while self._chunks and size + len(self._chunks[0]) <= limit:
            chunk = self._chunks.popleft()
            chunks.append(chunk)
            size += len(chunk)
        self._size -= size
        return b"".join(chunks) if len(chunks) > 1 else first

    def clear(self) -> None:
        """Drop what is queued; a reader waiting for room goes on."""
        with self._cond:
            self._chunks.clear()
            self._size = 0
            self._cond.notify_all()

    def close(self) -> None:
        """Drop what is queued and take nothing more; a reader waiting for room returns at once."""
        with self._cond:
            self._closed = True
            self._chunks.clear()
            self._size = 0
            self._cond.notify_all()
