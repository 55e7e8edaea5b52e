"""Listings on the sample provider: typed events, the cache, live refresh off, failures in words,
and a VO's secret only ever in the keyring."""

from __future__ import annotations

from gridclient.elements import Element
from gridclient.listing import Cached, Failed, ListingFailed, Page, Replace
from gridclient.workbench import Workbench
from tests import sample_provider
from tests.sample_provider import WORLD

THINGS = Element("sample.things", "things", "Things", has_children=True)


def lab(wb: Workbench):
    return next(iter(wb.workspace.vos.values()))


def labels(children) -> list[str]:
    return [c.label for c in children]


def test_pages_then_cached_then_revalidated(sample_workbench):
    wb = sample_workbench
    vo = lab(wb)
    events = list(wb.listing(vo, THINGS))
    assert [type(e) for e in events] == [Page]
    assert labels(events[0].children) == ["Thing 0", "Thing 1", "Thing 2"]
    # second time: the cached listing at once, then the live one as a replacement
    WORLD["t3"] = "on"
    events = list(wb.listing(vo, THINGS))
    assert [type(e) for e in events] == [Cached, Replace]
    assert labels(events[0].children) == ["Thing 0", "Thing 1", "Thing 2"] and events[0].stored > 0
    assert labels(events[1].children) == ["Thing 0", "Thing 1", "Thing 2", "Thing 3"]
    # a refresh of rows shown (merge) skips the cache and replaces
    assert [type(e) for e in wb.listing(vo, THINGS, show_cached=False, merge=True)] == [Replace]
    # live refresh off: only the cache answers, and the loader is not called
    wb.workspace.preferences["live_refresh"] = False
    WORLD.clear()
    events = list(wb.listing(vo, THINGS))
    assert [type(e) for e in events] == [Cached] and len(events[0].children) == 4


def test_a_failure_ends_the_events_explained_by_the_vo_type(sample_workbench, monkeypatch):
    wb = sample_workbench
    vo = lab(wb)

    def refusing(tok, parent):
        yield [Element("sample.thing", "t0", "Thing 0")]
        raise sample_provider.SampleRefusal("the zone is down")

    monkeypatch.setattr(sample_provider, "load_things", refusing)
    events = list(wb.listing(vo, THINGS))
    assert [type(e) for e in events] == [Page, Failed]  # the page before the failure still stands
    assert events[1].message == "The sample cloud refused: the zone is down."
    assert isinstance(events[1].error, sample_provider.SampleRefusal)
    try:
        wb.children(vo, THINGS)
    except ListingFailed as exc:
        assert str(exc) == "The sample cloud refused: the zone is down."
    else:
        raise AssertionError("a failed listing returned children")


def test_a_kind_no_provider_loads_is_said_so(sample_workbench):
    wb = sample_workbench
    events = list(wb.listing(lab(wb), Element("sample.unknown", "u", "U", has_children=True)))
    assert events == [Failed("No provider loads children of 'sample.unknown'.")]


def test_the_notes_provider_lists_under_the_sample_vo(sample_workbench):
    wb = sample_workbench
    notes = Element("notes.all", "notes", "Notes", has_children=True)
    assert labels(wb.children(lab(wb), notes)) == ["A note"]


def test_the_secret_is_only_in_the_keyring(sample_workbench, app_paths):
    wb = sample_workbench
    vo = lab(wb)
    assert vo.secret_fields == ["password"] and "password" not in vo.settings
    assert wb.secrets.get(vo.id, "password") == "lab-secret"
    wb.children(vo, THINGS)  # the cache is written too
    wb.close()
    for path in app_paths.config.parent.rglob("*"):
        if path.is_file():
            assert b"lab-secret" not in path.read_bytes(), path
    again = Workbench(app_paths, registry=wb.registry)
    try:
        assert again.tokens.secrets_of(again.workspace.vos[vo.id]) == {"password": "lab-secret"}
    finally:
        again.close()


def test_settings_an_action_remembered_survive_an_edit_of_the_vo(sample_workbench):
    wb = sample_workbench
    vo = lab(wb)
    wb.workspace.update_vo_settings(vo, {"last_name": "lamp"})
    wb.save_vo("Lab", "sample", {"region": "zone-1"}, vo=vo)  # the password left empty: kept
    assert vo.settings == {"region": "zone-1", "last_name": "lamp"}
    assert wb.secrets.get(vo.id, "password") == "lab-secret"
