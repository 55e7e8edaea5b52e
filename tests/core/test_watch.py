"""Live state on the sample provider, without Qt: the StateWatcher follows what an action changed
until it is stable — one poller per VO and region, polls that back off, errors retried and told
once, and nothing left running afterwards."""

from __future__ import annotations

import threading
import time

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.registry import ContributionError, ExtensionRegistry, ProviderManifest, StateSource
from gridclient.watch import StateChange
from tests.qt_free import run_without_qt
from tests.sample_provider import STATE_CALLS, STATE_FAILURES, WORLD


class Heard:
    """A listener that keeps every StateChange and lets a test wait for one that fits."""

    def __init__(self):
        self.changes: list[StateChange] = []
        self._cond = threading.Condition()

    def __call__(self, change: StateChange) -> None:
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    def wait_for(self, test, timeout: float = 10.0) -> StateChange:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((c for c in self.changes if test(c)), None)
                if found is not None:
                    return found
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not heard within {timeout} s; heard {self.changes}")
                self._cond.wait(left)

    def states(self, key: str) -> list[str]:
        return [e.state for c in self.changes for e in c.elements if e.key == key]


def thing(tid: str, state: str | None = None, region: str = "") -> Element:
    return Element("sample.thing", tid, f"Thing {tid[1:]}", state=WORLD[tid] if state is None else state,
                   ref={"region": region} if region else {})


@pytest.fixture
def lab(sample_workbench):
    """The sample workbench, its VO, a listener, and a watcher with short waits."""
    wb = sample_workbench
    heard = Heard()
    wb.on_state_change(heard)
    w = wb.watcher
    w.initial, w.growth, w.longest, w.settle = 0.1, 2.0, 0.4, 0.5
    return wb, next(iter(wb.workspace.vos.values())), heard


def watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("state-watch")]


def test_an_action_that_follows_state_is_followed_until_stable_without_any_listing(lab):
    wb, vo, heard = lab
    outcome = wb.actions.run("sample.cool_down", [thing("t1")], vo, ScriptedInteraction(), timeout=10)
    assert outcome.state == "done" and outcome.refresh == "" and [e.key for e in outcome.watched] == ["sample.thing:t1"]
    # the first poll is at once: "cooling", which is not stable, so the polls go on
    change = heard.wait_for(lambda c: heard.states("sample.thing:t1") == ["cooling"])
    assert change.vo_id == vo.id and change.elements == (Element("sample.thing", "t1", "Thing 1", state="cooling"),)
    assert wb.watcher.following() == {"sample.thing:t1"}
    WORLD["t1"] = "off"  # the cloud gets there
    heard.wait_for(lambda c: heard.states("sample.thing:t1") == ["cooling", "off"])
    assert wb.watcher.wait_idle(5) and wb.watcher.pollers() == [] and not watcher_threads()
    calls = len(STATE_CALLS)
    time.sleep(0.5)
    assert len(STATE_CALLS) == calls  # stable: nobody asks any more
    assert not any(c.problem or c.gone for c in heard.changes)


def test_an_action_that_does_not_follow_state_starts_no_poller(lab):
    wb, vo, heard = lab
    outcome = wb.actions.run("sample.switch_off", [thing("t1")], vo, ScriptedInteraction(default_confirm=True),
                             timeout=10)
    assert outcome.ok and outcome.watched == () and wb.watcher.pollers() == [] and STATE_CALLS == []


def test_one_poller_per_vo_and_region_asks_for_all_its_elements_in_one_call(lab):
    wb, vo, heard = lab
    WORLD.update({f"m{i}": "cooling" for i in range(40)})
    many = [thing(f"m{i}") for i in range(40)]
    elsewhere = [thing("m0", region="zone-9")]  # the same VO in another region: a poller of its own
    followed = wb.watcher.watch(vo, many + elsewhere + [Element("sample.other", "o", "Other")])
    assert len(followed) == 41  # a kind no source polls is not followed
    assert sorted(wb.watcher.pollers()) == [(vo.id, ""), (vo.id, "zone-9")]
    assert len(watcher_threads()) == 2  # never a thread per element
    deadline = time.monotonic() + 5
    while len(STATE_CALLS) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    forty = [call for call in STATE_CALLS if len(call) == 40]
    assert forty and all(sorted(call) == sorted(e.id for e in many) for call in forty)
    assert all(len(call) in (1, 40) for call in STATE_CALLS)
    for i in range(40):
        WORLD[f"m{i}"] = "on"
    assert wb.watcher.wait_idle(5) and not watcher_threads()


def test_polls_back_off_while_nothing_changes_and_hurry_again_after_a_change(lab):
    wb, vo, heard = lab
    WORLD["t1"] = "cooling"
    times: list[float] = []
    original = len(STATE_CALLS)

    def poll_times():
        while len(times) < len(STATE_CALLS) - original:
            times.append(time.monotonic())

    wb.watcher.watch(vo, [thing("t1", state="on")])  # it was on: the first poll finds it cooling
    end = time.monotonic() + 3
    while len(STATE_CALLS) - original < 5 and time.monotonic() < end:
        poll_times()
        time.sleep(0.005)
    poll_times()
    gaps = [b - a for a, b in zip(times, times[1:])]
    # 0.1, 0.2, then 0.4 at most: each wait at least the one planned, growing to the longest
    assert len(gaps) >= 4, gaps
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[2] >= 0.39 and gaps[3] >= 0.39, gaps
    assert gaps[3] < gaps[2] + 0.3  # capped at ``longest``, not doubling on
    # a change: the next poll comes after the shortest wait again
    WORLD["t1"] = "warming"  # still not stable, but not what it was
    heard.wait_for(lambda c: "warming" in heard.states("sample.thing:t1"))
    seen = len(STATE_CALLS)
    changed_at = time.monotonic()
    end = changed_at + 3
    while len(STATE_CALLS) == seen and time.monotonic() < end:
        time.sleep(0.005)
    assert time.monotonic() - changed_at < 0.35  # 0.1 planned; a 0.4 wait would be the backoff going on
    WORLD["t1"] = "off"
    assert wb.watcher.wait_idle(5)


def test_a_stable_state_that_never_moved_is_polled_a_while_before_it_is_let_go(lab):
    """Reboot keeps "running"; a cloud answering from a replica still says "running" just after
    Stop: an unchanged stable state ends the watch only after ``settle`` seconds."""
    wb, vo, heard = lab
    started = time.monotonic()
    wb.watcher.watch(vo, [thing("t1")])  # on, and stays on
    assert wb.watcher.wait_idle(5)
    assert time.monotonic() - started >= 0.5 and len(STATE_CALLS) >= 2
    assert heard.changes == []  # nothing changed: nothing told


def test_errors_are_retried_with_backoff_and_told_once_in_words(lab):
    wb, vo, heard = lab
    STATE_FAILURES[0] = 3
    WORLD["t2"] = "cooling"
    wb.watcher.watch(vo, [thing("t2", state="on")])
    heard.wait_for(lambda c: "cooling" in heard.states("sample.thing:t2"), timeout=10)
    problems = [c.problem for c in heard.changes if c.problem]
    assert problems == ["The sample cloud refused: the state service is down."]  # by the VO type's explain
    assert len(STATE_CALLS) == 4  # three failed, the fourth answered
    WORLD["t2"] = "on"
    assert wb.watcher.wait_idle(5) and not watcher_threads()


def test_an_element_that_disappears_is_told_gone_and_no_longer_polled(lab):
    wb, vo, heard = lab
    WORLD["t1"] = "cooling"
    wb.watcher.watch(vo, [thing("t1")])
    end = time.monotonic() + 5
    while not STATE_CALLS and time.monotonic() < end:  # followed, and found as it was
        time.sleep(0.01)
    del WORLD["t1"]
    change = heard.wait_for(lambda c: c.gone)
    assert [e.key for e in change.gone] == ["sample.thing:t1"]
    assert wb.watcher.wait_idle(5)


def test_following_ends_after_the_limit_and_when_the_vo_is_deleted(lab):
    wb, vo, heard = lab
    WORLD["t1"] = "cooling"  # never stable
    wb.watcher.limit = 0.6
    wb.watcher.watch(vo, [thing("t1")])
    assert wb.watcher.wait_idle(5) and not watcher_threads()
    wb.watcher.limit = 60
    wb.watcher.watch(vo, [thing("t1")])
    assert wb.watcher.pollers() == [(vo.id, "")]
    wb.delete_vo(vo.id)
    assert wb.watcher.wait_idle(5)  # its pollers end without waiting for the limit


def test_a_listener_that_fails_does_not_stop_the_polls(lab):
    wb, vo, heard = lab
    wb.on_state_change(lambda change: 1 / 0)
    heard2 = Heard()
    wb.on_state_change(heard2)
    WORLD["t1"] = "cooling"
    wb.watcher.watch(vo, [thing("t1", state="on")])
    heard2.wait_for(lambda c: c.elements)
    WORLD["t1"] = "on"
    heard2.wait_for(lambda c: heard2.states("sample.thing:t1") == ["cooling", "on"])
    assert wb.watcher.wait_idle(5)


def test_state_sources_are_checked_when_they_register():
    reg = ExtensionRegistry()

    def source(**kw):
        return StateSource(**{"vo_type": "x", "kinds": frozenset({"x.a"}), "loader": "m:f",
                              "stable": frozenset({"up"}), **kw})

    with pytest.raises(ContributionError, match="names no stable states"):
        reg.register(ProviderManifest("p1", "P1", state_sources=(source(stable=frozenset()),)))
    with pytest.raises(ContributionError, match="must be 'module:attr'"):
        reg.register(ProviderManifest("p2", "P2", state_sources=(source(loader="nothing"),)))
    reg.register(ProviderManifest("p3", "P3", state_sources=(source(),)))
    with pytest.raises(ContributionError, match="has a source already"):
        reg.register(ProviderManifest("p4", "P4", state_sources=(source(),)))
    assert reg.state_source_for("x", "x.a").loader == "m:f" and reg.state_source_for("y", "x.a") is None
    assert "m:f" in set(reg.all_references())


def test_the_watcher_follows_states_with_pyside6_blocked(tmp_path):
    done = run_without_qt(f"""
        import time
        from gridclient.elements import Element
        from gridclient.interaction import ScriptedInteraction
        from gridclient.paths import AppPaths
        from gridclient.registry import ExtensionRegistry
        from gridclient.secrets import MemoryKeyring, SecretStore
        from gridclient.workbench import Workbench
        from tests.fixtures.workspace import load_provider
        from tests.sample_provider import WORLD
        reg = ExtensionRegistry()
        load_provider(reg, 'sample', 'tests.sample_provider:manifest')
        wb = Workbench(AppPaths.under({str(tmp_path)!r}), registry=reg, secrets=SecretStore(MemoryKeyring()))
        vo = wb.save_vo('Lab', 'sample', {{'region': 'zone-1'}})
        heard = []
        wb.on_state_change(lambda c: heard.extend(e.state for e in c.elements))
        wb.watcher.initial = 0.05
        el = Element('sample.thing', 't1', 'Thing 1', state='on')
        out = wb.actions.run('sample.cool_down', [el], vo, ScriptedInteraction(), timeout=10)
        end = time.monotonic() + 10
        while not heard and time.monotonic() < end:
            time.sleep(0.01)
        WORLD['t1'] = 'off'
        assert wb.watcher.wait_idle(10)
        print(out.state, heard)
        wb.close()
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done ['cooling', 'off']"
