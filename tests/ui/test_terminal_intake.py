"""The terminal's byte queue on its own, without Qt: a writer thread (the SSH reader) held back
past the limit until a drain makes room, slices no larger than a slice, one wake per drain, and a
close that lets a waiting writer go."""

from __future__ import annotations

import threading

from ui.terminal.intake import MAX_PENDING, SLICE, Intake


def blocked_writer(intake: Intake, data: bytes) -> tuple[threading.Thread, threading.Event]:
    """A thread appending ``data``; the event is set once the append returned."""
    done = threading.Event()

    def write() -> None:
        intake.append(data)
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread, done


def test_back_pressure_holds_the_writer_until_drained():
    wakes = []
    intake = Intake(lambda: wakes.append(1))
    thread, done = blocked_writer(intake, b"a" * (MAX_PENDING + 1))
    assert not done.wait(0.3)  # over the limit: the writer waits
    assert wakes == [1]  # and the GUI thread was told once, before it waited
    fed = []
    assert intake.drain(fed.append) is False
    assert done.wait(5)  # room again: it went on
    thread.join(5)
    assert sum(map(len, fed)) == MAX_PENDING + 1 and intake.pending == 0


def test_a_writer_under_the_limit_never_waits():
    intake = Intake(lambda: None)
    thread, done = blocked_writer(intake, b"b" * MAX_PENDING)
    assert done.wait(5)
    thread.join(5)
    assert intake.pending == MAX_PENDING


def test_slices_are_at_most_a_slice_and_keep_the_bytes_in_order():
    intake = Intake(lambda: None, max_pending=10 * SLICE)
    chunks = [bytes([i % 251]) * size for i, size in
              enumerate([1, 32_768, SLICE - 1, 2, SLICE, 3 * SLICE + 17, 65_536, 5] + [4096] * 100)]
    for chunk in chunks:
        intake.append(chunk)
    fed: list[bytes] = []
    assert intake.drain(fed.append) is False
    assert all(0 < len(piece) <= SLICE for piece in fed)
    assert b"".join(fed) == b"".join(chunks)


def test_a_spent_budget_stops_the_drain_with_bytes_left():
    intake = Intake(lambda: None, max_pending=10 * SLICE)
    intake.append(b"c" * (3 * SLICE))
    fed: list[bytes] = []
    assert intake.drain(fed.append, budget=0) is True  # one slice, then the budget is spent
    assert len(fed) == 1 and intake.pending == 2 * SLICE
    assert intake.drain(fed.append) is False


def test_one_wake_until_the_next_drain():
    wakes = []
    intake = Intake(lambda: wakes.append(1))
    for _ in range(100):
        intake.append(b"packet")
    assert wakes == [1]
    intake.drain(lambda data: None)
    intake.append(b"more")
    assert wakes == [1, 1]


def test_close_releases_a_waiting_writer_and_drops_what_comes_after():
    intake = Intake(lambda: None)
    thread, done = blocked_writer(intake, b"d" * (MAX_PENDING + 1))
    assert not done.wait(0.3)
    intake.close()
    assert done.wait(5)
    thread.join(5)
    intake.append(b"late")
    fed: list[bytes] = []
    assert intake.drain(fed.append) is False and fed == [] and intake.closed


def test_clear_releases_a_waiting_writer_and_keeps_taking_bytes():
    intake = Intake(lambda: None)
    thread, done = blocked_writer(intake, b"e" * (MAX_PENDING + 1))
    assert not done.wait(0.3)
    intake.clear()
    assert done.wait(5)
    thread.join(5)
    intake.append(b"next")
    fed: list[bytes] = []
    intake.drain(fed.append)
    assert fed == [b"next"]
