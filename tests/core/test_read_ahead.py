"""Workbench.listing reads a loader one page ahead on a helper thread: order, errors, stopping."""

from __future__ import annotations

import threading
import time

import pytest

from gridclient.listing import read_ahead


def test_pages_arrive_in_order_and_the_next_is_fetched_meanwhile():
    fetched: list[int] = []
    consumer_busy = threading.Event()

    def pages():
        for i in range(5):
            fetched.append(i)
            yield [i]

    seen = []
    for page in read_ahead(pages()):
        seen.append(page[0])
        if page[0] == 0:
            # while the consumer works on page 0, the helper fetches page 1 (and holds it)
            deadline = time.monotonic() + 5
            while len(fetched) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            consumer_busy.set()
            assert fetched[:2] == [0, 1]
    assert seen == [0, 1, 2, 3, 4]
    assert consumer_busy.is_set()


def test_an_error_reaches_the_consumer_after_the_pages_before_it():
    def pages():
        yield ["a"]
        yield ["b"]
        raise ConnectionError("endpoint went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for page in read_ahead(pages()):
            seen.extend(page)
    assert seen == ["a", "b"]


def test_a_consumer_that_stops_early_stops_the_helper():
    produced: list[int] = []
    closed = threading.Event()

    def pages():
        try:
            for i in range(1000):
                produced.append(i)
                yield [i]
        finally:
            closed.set()

    for page in read_ahead(pages()):
        if page[0] == 1:
            break
    assert closed.wait(5), "the loader was not closed after the consumer left"
    assert len(produced) <= 4  # one page in the queue, one in flight: never the whole listing


def test_stop_event_ends_fetching_after_the_page_in_flight():
    stop = threading.Event()
    produced: list[int] = []

    def pages():
        for i in range(1000):
            produced.append(i)
            if i == 2:
                stop.set()
            yield [i]

    got = [p[0] for p in read_ahead(pages(), stop) if not stop.is_set() or p[0] <= 2]
    assert got[:3] == [0, 1, 2]
    assert len(produced) <= 4
