"""A third-party provider's declared commands (tests/sample_provider.py: `thing list`, `thing
switch-off`, `thing rename`) and the registry's checks of command words."""

from __future__ import annotations

import pytest

from gridclient.registry import Action, ContributionError, ExtensionRegistry, ListingCommand, ProviderManifest
from tests import sample_provider as sample


def test_a_third_party_provider_gets_commands(gc, sample_workbench, sample_registry):
    def run(*args):
        return gc(*args, "--vo", "Lab", registry=sample_registry)

    listed = run("thing", "list", "--json")
    assert listed.code == 0, listed.err
    assert [(r["id"], r["state"]) for r in listed.json()] == [("t0", "off"), ("t1", "on"), ("t2", "off")]
    assert run("thing", "switch-off", "t1").code == 4 and sample.WORLD["t1"] == "on"
    assert run("thing", "switch-off", "Thing 1", "--yes").code == 0 and sample.WORLD["t1"] == "off"
    assert run("thing", "switch-off", "t9", "--yes").code == 3
    # a required field: an option of the command; missing without a terminal, a usage error
    missing = run("thing", "rename", "t0")
    assert missing.code == 2 and "--name" in missing.err
    assert run("thing", "rename", "t0", "--name", "lamp").code == 0
    assert "rename t0 to lamp" in sample.CALLS
    # every action by id, named or not; the provider's error explained in its own words
    assert run("action", "run", "sample.poke", "t2").code == 4  # Poke is for things that are on
    sample.WORLD["t2"] = "on"
    assert run("action", "run", "sample.poke", "t2").code == 0 and sample.CALLS[-1] == "t2"
    failed = run("action", "run", "sample.fail", "t0")
    assert failed.code == 1 and "Traceback" not in failed.err and len(failed.err.strip().splitlines()) == 1


def _manifest(**parts) -> ProviderManifest:
    return ProviderManifest(id="acme", name="ACME", **parts)


@pytest.mark.parametrize("parts, words", [
    ({"actions": (Action("acme.a", "A", "m:f", frozenset({"k"}), cli="stop"),)}, "not two lower-case words"),
    ({"actions": (Action("acme.a", "A", "m:f", frozenset({"k"}), cli="vo stop"),)}, "core's own"),
    ({"actions": (Action("acme.a", "A", "m:f", frozenset({"k"}), cli="vm stop"),
                  Action("acme.b", "B", "m:f", frozenset({"k"}), cli="vm stop"))}, "taken by acme.a"),
    ({"actions": (Action("acme.a", "A", "m:f", frozenset({"k"}), cli="vm list"),),
      "listing_commands": (ListingCommand("vm list", "acme", ("acme.c",)),)}, "taken by a listing"),
    ({"listing_commands": (ListingCommand("vm list", "acme", ()),)}, "names no path"),
    ({"listing_commands": (ListingCommand("vm list", "acme", ("c",), target="nothing"),)}, "module:attr"),
])
def test_command_words_are_checked_when_registered(parts, words):
    reg = ExtensionRegistry()
    with pytest.raises(ContributionError, match=words):
        reg.register(_manifest(**parts))
    assert not reg.actions and not reg.listing_commands


def test_the_same_listing_words_for_two_vo_types():
    reg = ExtensionRegistry()
    reg.register(_manifest(listing_commands=(ListingCommand("vm list", "acme", ("acme.c",)),)))
    reg.register(ProviderManifest(id="other", name="Other",
                                  listing_commands=(ListingCommand("vm list", "other", ("o.c",)),)))
    assert sorted(reg.listing_commands) == [("vm list", "acme"), ("vm list", "other")]
    with pytest.raises(ContributionError, match="declared twice"):
        reg.register(ProviderManifest(id="third", name="Third",
                                      listing_commands=(ListingCommand("vm list", "acme", ("x",)),)))
