"""What a listing of one node's children says, as it goes: typed events, and the read-ahead that
keeps the next page's round trip under the work on this one.

:meth:`gridclient.workbench.Workbench.listing` yields, on a worker thread:

- :class:`Cached` — the last-known children from the info cache, shown at once;
- :class:`Page` — a page of the live listing, when nothing is shown yet;
- :class:`Replace` — every live child, when rows are shown already (cached ones, or a refresh's):
  the front end makes its rows equal these, keeping what stays;
- :class:`Failed` — the listing stopped; ``message`` is already in words for the person (the VO
  type explained the error), and the events before it still stand.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Union

from gridclient.elements import Element


@dataclass(frozen=True, slots=True)
class Cached:
    children: list[Element]
    stored: float  # when the cache got them (time.time())


@dataclass(frozen=True, slots=True)
class Page:
    children: list[Element]


@dataclass(frozen=True, slots=True)
class Replace:
    children: list[Element]


@dataclass(frozen=True, slots=True)
class Failed:
    message: str
    error: BaseException | None = field(default=None, compare=False)


ListingEvent = Union[Cached, Page, Replace, Failed]


class ListingFailed(RuntimeError):
    """A listing a caller waited for (:meth:`Workbench.children`) failed; ``str(e)`` is in words."""


class NoLoader(LookupError):
    """No provider loads children of this kind of element."""


def read_ahead(pages: Iterable[Any], stop: threading.Event | None = None) -> Iterator[Any]:
    """``pages``, fetched one page ahead on a helper thread.

    A loader asks for the next page only when its consumer wants it, so every page's network
    round trip used to wait for the consumer's work on the page before (turning it into rows,
    encoding it for the cache): ~10% of a 10,000-object listing. The helper stops after the page
    in flight once ``stop`` is set or the consumer goes away; an error reaches the consumer in
    order, after the pages before it.
    """
    q: queue.Queue = queue.Queue(maxsize=1)
    gone = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not gone.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put(("page", page)):
                    return  # the consumer has gone
                if stop is not None and stop.is_set():
                    break
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(("error", exc))

    threading.Thread(target=fetch, name="gridclient-read-ahead", daemon=True).start()
    try:
        while True:
            kind, value = q.get()
            if kind == "page":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        gone.set()
        try:  # unblock a helper waiting to put
            q.get_nowait()
        except queue.Empty:
            pass
