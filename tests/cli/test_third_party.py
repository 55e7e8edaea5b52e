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
    loud = run("action", "run", "sample.fail", "t0", "--log-level", "DEBUG")  # where it failed, for a report
    assert loud.code == 1 and "Traceback" in loud.err and "sample_provider.py" in loud.err


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


def test_copy_as_command_gives_a_line_the_command_line_runs_to_the_same_effect(gc, sample_workbench,
                                                                                sample_registry):
    """What the window's "Copy as command" offers (on a confirmation, and on a form with the values
    typed so far) is a command this command line takes, and it does what the click did."""
    import shlex

    from gridclient.cli.equivalent import command_for

    wb = sample_workbench
    vo = next(iter(wb.workspace.vos.values()))
    reg = wb.registry
    rename, poke = reg.actions["sample.rename"], reg.actions["sample.poke"]
    things = {e.id: e for e in _things(wb, vo)}
    line = command_for(reg, rename, [things["t0"]], vo, {"name": "desk lamp"})
    assert line == "gridclient thing rename t0 --name 'desk lamp' --vo Lab"
    args = shlex.split(line)[1:]
    assert gc(*args, registry=sample_registry).code == 0
    assert sample.CALLS[-1] == "rename t0 to desk lamp"
    # an action without a command name: by id, its fields as -f NAME=VALUE
    line = command_for(reg, poke, [things["t1"]], vo)
    assert line == "gridclient action run sample.poke t1 --vo Lab"


def _things(wb, vo):
    from gridclient.elements import Element

    category = wb.registry.categories(vo.type)[0]
    loader = wb.registry.loader_for(vo.type, category.kind)
    root = Element(category.kind, f"p/{category.kind}", category.label, has_children=True)
    return [e for page in loader(wb.tokens.token(vo), root) for e in page]
