"""Live state: following the elements an action changed until their state is stable.

After Stop, an instance is ``stopping`` for a while and then ``stopped``; after a launch, new
instances are ``pending``. The :class:`StateWatcher` (one per Workbench, made on first use) follows
such elements and tells its listeners each time one of them changes, so a tree row, its Details
and the Properties view follow without F5.

- What to poll comes from the providers: a :class:`~gridclient.registry.StateSource` per VO type
  and element kind, with a loader ``(token, elements) -> list[Element]`` and the stable states.
- One poller thread per (VO, region) — a region is ``element.ref["region"]``, or none for the
  VO's own — whatever the number of elements: each poll asks every source once for all its
  elements of that VO and region. Never a thread per element.
- The first poll is at once; then every ``initial`` seconds, the wait growing by ``growth`` up to
  ``longest`` while nothing changes, back to ``initial`` after a change or when more elements
  are watched.
- An element stops being followed when its state is stable and it either moved since it was
  watched (running → stopped) or has stayed so for ``settle`` seconds (Reboot keeps "running";
  a cloud that answers from a replica a moment behind still says "running" just after Stop);
  when its source no longer returns it (gone); or after ``limit`` seconds whatever its state.
  A poller whose elements are all done ends its thread.
- An error is retried with the same growing wait, and told to the listeners once, in words (by
  the VO type's ``explain_error``), until a poll succeeds again. A VO deleted meanwhile ends its
  pollers. Nothing here raises into the caller or kills the thread.

Listeners are called on the poller's thread: a front end hands the change to its own thread
(the window: a queued signal). Qt-free.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from gridclient.elements import Element
from gridclient.registry import ExtensionRegistry, StateSource, resolve

log = logging.getLogger(__name__)

__all__ = ["StateChange", "StateWatcher"]


@dataclass(frozen=True)
class StateChange:
    """What a poll found, for the listeners."""

    vo_id: str
    elements: tuple[Element, ...] = ()  # the current Element of each followed one that changed
    gone: tuple[Element, ...] = ()  # followed, and no longer returned by their source (last known)
    problem: str = ""  # polling failed: why, in words (told once until a poll succeeds again)


Listener = Callable[[StateChange], None]


class _Followed:
    __slots__ = ("element", "first_state", "since", "source")

    def __init__(self, element: Element, source: StateSource, since: float):
        self.element = element  # as last known
        self.first_state = element.state  # when the watch began
        self.since = since
        self.source = source


class _Poller:
    """The thread that polls the followed elements of one VO in one region."""

    def __init__(self, watcher: "StateWatcher", vo_id: str, region: str):
        self.watcher, self.vo_id, self.region = watcher, vo_id, region
        self.followed: dict[str, _Followed] = {}  # element key → what is known of it
        self.interval = watcher.initial
        self.next_at = 0.0
        self.told_problem = False
        self.added = False
        self.polling = False  # a poll is under way (outside the lock)
        self.polls = 0  # how many polls ran (tests, logs)
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"state-watch {vo_id}/{region or 'default'}")

    # -- under the watcher's lock ------------------------------------------------------------
    def add(self, elements: list[tuple[Element, StateSource]], now: float) -> None:
        for element, source in elements:
            self.followed[element.key] = _Followed(element, source, now)
        self.interval = self.watcher.initial
        self.next_at = now + self.watcher.first_delay
        self.added = self.polling  # a poll under way does not have them: the next one is at once

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        w = self.watcher
        while True:
            with w._cond:
                while True:
                    if w._closed:
                        return
                    now = w.clock()
                    for key in [k for k, f in self.followed.items() if now - f.since >= w.limit]:
                        log.info("state of %s not stable after %.0f s: no longer followed", key, w.limit)
                        del self.followed[key]
                    if not self.followed:
                        w._pollers.pop((self.vo_id, self.region), None)
                        return
                    wait = self.next_at - now
                    if wait <= 0:
                        break
                    w._cond.wait(wait)
                batch = {key: (f.element, f.source) for key, f in self.followed.items()}
                self.polling = True
            try:
                change = self._poll(batch)
            except Exception as exc:  # noqa: BLE001 - a bug of ours: told, retried, the thread lives on
                log.exception("following states in %s/%s", self.vo_id, self.region or "default")
                change = self._failed(exc)
            finally:
                with w._cond:
                    self.polling = False
            if change is not None:
                w._tell(change)

    def _poll(self, batch: dict[str, tuple[Element, StateSource]]) -> StateChange | None:
        """One round: each source once, with all its elements; the followed set and the wait updated."""
        w = self.watcher
        self.polls += 1
        try:
            token = w.token_for(self.vo_id)
        except KeyError:  # the VO was deleted meanwhile: nothing of it to follow any more
            with w._cond:
                self.followed.clear()
            return None
        except Exception as exc:  # noqa: BLE001 - a locked keyring, a broken VO: retried, told once
            return self._failed(exc)
        current: dict[str, Element] = {}
        asked: set[str] = set()
        by_source: dict[int, tuple[StateSource, list[Element]]] = {}
        for element, source in batch.values():
            by_source.setdefault(id(source), (source, []))[1].append(element)
        try:
            for source, elements in by_source.values():
                found = resolve(source.loader)(token, elements)
                asked.update(e.key for e in elements)
                current.update((e.key, e) for e in found or ())
        except Exception as exc:  # noqa: BLE001 - the cloud said no, or did not answer: retried
            return self._failed(exc)
        changed: list[Element] = []
        gone: list[Element] = []
        with w._cond:
            now = w.clock()
            for key in asked:
                f = self.followed.get(key)
                if f is None:
                    continue
                new = current.get(key)
                if new is None:
                    gone.append(f.element)
                    del self.followed[key]
                    continue
                if new != f.element:
                    changed.append(new)
                    f.element = new
                if new.state in f.source.stable and (new.state != f.first_state or now - f.since >= w.settle):
                    del self.followed[key]
            self.told_problem = False
            self._schedule(now, reset=bool(changed))
        if not changed and not gone:
            return None
        return StateChange(self.vo_id, tuple(changed), tuple(gone))

    def _failed(self, exc: BaseException) -> StateChange | None:
        w = self.watcher
        with w._cond:
            self._schedule(w.clock(), reset=False)
            if self.told_problem:
                return None
            self.told_problem = True
        try:
            message = w.explain(self.vo_id, exc)
        except Exception:  # noqa: BLE001 - explaining never fails louder than the error
            message = str(exc) or type(exc).__name__
        log.info("following states in %s/%s: %s", self.vo_id, self.region or "default", message)
        return StateChange(self.vo_id, problem=message)

    def _schedule(self, now: float, reset: bool) -> None:
        """When to poll next: ``interval`` is the next wait, growing after each use; a change resets
        it; elements added during the poll just made are polled at once."""
        w = self.watcher
        if self.added:
            self.added = False
            self.next_at = now + w.first_delay
            return
        if reset:
            self.interval = w.initial
        self.next_at = now + self.interval
        self.interval = min(self.interval * w.growth, w.longest)


class StateWatcher:
    """Follows elements' states until they are stable; see the module's text.

    ``token_for(vo_id)`` gives the VO's auth token (KeyError: the VO is gone); ``explain(vo_id,
    exc)`` turns an error into a sentence. Times are in seconds.
    """

    def __init__(self, registry: ExtensionRegistry, token_for: Callable[[str], Any],
                 explain: Callable[[str, BaseException], str], *,
                 listeners: list[Listener] | None = None, first_delay: float = 0.0, initial: float = 2.0,
                 growth: float = 1.5, longest: float = 15.0, settle: float = 5.0, limit: float = 15 * 60.0):
        self.registry = registry
        self.token_for, self.explain = token_for, explain
        self.listeners: list[Listener] = listeners if listeners is not None else []
        self.first_delay, self.initial, self.growth, self.longest = first_delay, initial, growth, longest
        self.settle, self.limit = settle, limit
        self.clock = time.monotonic
        self._cond = threading.Condition()
        self._pollers: dict[tuple[str, str], _Poller] = {}
        self._closed = False

    def add_listener(self, fn: Listener) -> None:
        """``fn(StateChange)`` after each poll that found something, on the poller's thread."""
        self.listeners.append(fn)

    def watch(self, vo: Any, elements: Iterable[Element]) -> list[Element]:
        """Follow ``elements`` of the VO ``vo`` (its ``id`` and ``type``) until they are stable.

        Elements of a kind no provider polls are left out; those returned are followed. Returns at
        once: the polls run on the (VO, region)'s poller, started if none runs.
        """
        wanted: dict[str, list[tuple[Element, StateSource]]] = {}
        for element in elements:
            source = self.registry.state_source_for(vo.type, element.kind)
            if source is not None:
                region = str((element.ref or {}).get("region") or "")
                wanted.setdefault(region, []).append((element, source))
        followed: list[Element] = []
        with self._cond:
            if self._closed:
                return []
            now = self.clock()
            for region, pairs in wanted.items():
                poller = self._pollers.get((vo.id, region))
                fresh = poller is None
                if fresh:
                    poller = self._pollers[(vo.id, region)] = _Poller(self, vo.id, region)
                poller.add(pairs, now)
                followed.extend(e for e, _ in pairs)
                if fresh:
                    poller.thread.start()
            self._cond.notify_all()
        return followed

    def following(self, vo_id: str | None = None) -> set[str]:
        """Keys of the elements followed now (of one VO, or of all)."""
        with self._cond:
            return {key for (v, _), p in self._pollers.items() if vo_id in (None, v) for key in p.followed}

    def pollers(self) -> list[tuple[str, str]]:
        """The (VO id, region) of each poller running."""
        with self._cond:
            return list(self._pollers)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is followed (tests, the command line); True if so within ``timeout``."""
        end = time.monotonic() + timeout
        while True:
            with self._cond:
                threads = [p.thread for p in self._pollers.values()]
            if not threads:
                return True
            for t in threads:
                t.join(max(0.0, end - time.monotonic()))
            if time.monotonic() >= end:
                with self._cond:
                    return not self._pollers

    def close(self) -> None:
        """Stop following anything; the pollers end after their present call (never waited for)."""
        with self._cond:
            self._closed = True
            self._pollers.clear()
            self._cond.notify_all()

    def _tell(self, change: StateChange) -> None:
        for fn in list(self.listeners):
            try:
                fn(change)
            except Exception:  # noqa: BLE001 - one listener's bug never stops the polls
                log.exception("state listener failed")
