"""The extension registry on the sample providers: discovery, lazy code, broken providers,
contributions merged across providers, and every check made when a provider registers."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from gridclient.elements import Element
from gridclient.interaction import Field
from gridclient.registry import (COMMAND_DELETE, Action, Category, ContributionError, ExtensionRegistry,
                                 NodeContributor, ProviderManifest, Sandbox, StorageScheme, VOType, resolve)
from tests import sample_provider
from tests.fixtures.workspace import load_provider
from tests.qt_free import run_without_qt

GOOD_VO = VOType("x", "X", fields=(), token_factory="m:f", connection_test="m:g")


def register_fails(reg: ExtensionRegistry, manifest: ProviderManifest, match: str) -> None:
    with pytest.raises(ContributionError, match=match):
        reg.register(manifest)
    assert not any(r.ok and r.manifest.id == manifest.id for r in reg.providers)


def test_every_named_reference_imports():
    reg = ExtensionRegistry().discover()  # the installed providers too
    load_provider(reg, "sample", "tests.sample_provider:manifest")
    load_provider(reg, "sample-notes", "tests.sample_provider:notes_manifest")
    refs = list(reg.all_references())
    assert "tests.sample_provider:explain" in refs and "tests.sample_provider:zones" in refs
    for ref in refs:
        assert resolve(ref) is not None, ref


@pytest.mark.parametrize("group", ["gridclient.providers", "console_scripts", "pytest11"])
def test_entry_points_read_as_importlib_metadata_reads_them(group):
    from importlib.metadata import entry_points as from_library

    from gridclient.registry import entry_points

    assert sorted(entry_points(group)) == sorted((ep.name, ep.value) for ep in from_library(group=group))


def test_broken_provider_is_listed_with_its_error_and_the_rest_loads():
    reg = ExtensionRegistry()
    bad = load_provider(reg, "broken", sample_provider.broken_manifest_value)
    good = load_provider(reg, "sample", "tests.sample_provider:manifest")
    assert not bad.ok and "No module named 'tests.no_such_module'" in bad.error
    assert good.ok and "sample" in reg.vo_types
    again = load_provider(reg, "sample-again", "tests.sample_provider:manifest")
    assert not again.ok and "twice" in again.error


def test_a_second_provider_adds_a_category_under_a_vo_type_it_does_not_own(sample_registry):
    reg = sample_registry
    assert [c.label for c in reg.categories("sample")] == ["Things", "Notes"]
    assert reg.loader_for("sample", "sample.things") is sample_provider.load_things
    assert reg.loader_for("sample", "notes.all") is sample_provider.load_notes
    # it may come before the owner of the VO type (entry points load by name)
    assert [c.kind for c in reg.categories("aws")] == ["notes.aws"]
    assert reg.loader_for("sample", "nothing") is None


def test_a_kind_claimed_twice_is_refused_not_overwritten(sample_registry):
    reg = sample_registry
    steal_loader = ProviderManifest("thief", "T", node_contributors=(
        NodeContributor("sample", (), {"sample.things": "tests.sample_provider:load_notes"}),))
    register_fails(reg, steal_loader, "a loader for 'sample.things' under VO type 'sample' is already given by "
                                      "provider 'sample'")
    same_category = ProviderManifest("thief", "T", node_contributors=(
        NodeContributor("sample", (Category("sample.things", "Mine"),), {}),))
    register_fails(reg, same_category, "category 'sample.things' of VO type 'sample' is contributed twice")
    # nothing of the refused manifests stayed
    assert reg.loader_for("sample", "sample.things") is sample_provider.load_things
    assert [c.label for c in reg.categories("sample")] == ["Things", "Notes"]
    # the same kind under another VO type is another place: fine
    reg.register(ProviderManifest("other", "O", node_contributors=(
        NodeContributor("other-type", (Category("sample.things", "Things"),),
                        {"sample.things": "tests.sample_provider:load_things"}),)))
    assert reg.loader_for("other-type", "sample.things") is sample_provider.load_things


@pytest.mark.parametrize("broken, match", [
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "no_colon", frozenset({"k"})),)), "handler must be"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset({"k"}), selection="2"),)), "selection"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset()),)), "names no element kinds"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset({"k"}), command="edit.zap"),)),
     "not a standard command"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset({"k"}), refreshes="all"),)),
     "refreshes must be one of"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset({"k"}),
                                                fields=(Field("f", "F", kind="choice", choices_from="nope"),)),)),
     "field f choices_from must be"),
    (ProviderManifest("b", "b", actions=(Action("b.a", "A", "m:f", frozenset({"k"})),
                                         Action("b.a", "B", "m:f", frozenset({"k"})))), "declared twice"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(GOOD_VO, explain_error="bad"),)), "explain_error"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(GOOD_VO, validator="bad"),)), "validator"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(GOOD_VO, token_factory="bad"),)), "token_factory"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(
        GOOD_VO, fields=(Field("region", "R", choices_from="bad"),)),)), "field region choices_from"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(
        GOOD_VO, fields=(Field("key", "K", when=("mode", ("keys",))),)),)), "depends on 'mode'"),
    (ProviderManifest("b", "b", vo_types=(dataclasses.replace(
        GOOD_VO, fields=(Field("a", "A"), Field("a", "A again"))),)), "field 'a' is declared twice"),
    (ProviderManifest("b", "b", node_contributors=(NodeContributor("x", (), {"k": "bad"}),)), "loader for k"),
    (ProviderManifest("b", "b", storage_schemes=(StorageScheme("s3x", "bad"),)), "implementation"),
    (ProviderManifest("b", "b", sandboxes=(Sandbox("box", "Box", "bad"),)), "sandbox box factory"),
])
def test_every_reference_and_rule_is_checked_when_a_provider_registers(broken, match):
    register_fails(ExtensionRegistry(), broken, match)


def test_ids_taken_by_an_earlier_provider_are_refused(sample_registry):
    reg = sample_registry
    register_fails(reg, ProviderManifest("again", "A", vo_types=(dataclasses.replace(GOOD_VO, id="sample"),)),
                   "VO type 'sample' already registered")
    register_fails(reg, ProviderManifest("again", "A", actions=(Action("sample.poke", "P", "m:f", frozenset({"k"})),)),
                   "action 'sample.poke' already registered")
    reg.register(ProviderManifest("box", "B", sandboxes=(Sandbox("box", "Box", "m:f"),)))
    register_fails(reg, ProviderManifest("box2", "B", sandboxes=(Sandbox("box", "Box", "m:f"),)),
                   "sandbox 'box' already registered")


def test_actions_by_kind_count_state_and_menu_group(sample_registry):
    reg = sample_registry
    on = Element("sample.thing", "t1", "a", state="on")
    off = Element("sample.thing", "t0", "b", state="off")
    ids = [a.id for a in reg.actions_for([on])]
    # menu order: lifecycle before edit, actions of no group after
    assert ids.index("sample.switch_off") < ids.index("sample.rename") < ids.index("sample.poke")
    assert reg.actions["sample.switch_off"].enabled_for([on])
    assert not reg.actions["sample.switch_off"].enabled_for([off])
    assert not reg.actions["sample.rename"].applies_to([on, off])  # selection "1"
    assert reg.actions["sample.remove"].enabled_for([on, off])  # selection "+", any state
    assert not reg.actions_for([Element("notes.note", "n", "n"), on])


def test_the_delete_command_finds_its_action_by_id_not_by_key_text(sample_registry):
    reg = sample_registry
    on = Element("sample.thing", "t1", "a", state="on")
    assert reg.action_for_command(COMMAND_DELETE, [on]).id == "sample.remove"
    assert reg.action_for_command(COMMAND_DELETE, [Element("notes.note", "n", "n")]) is None


def test_startup_imports_neither_boto3_nor_paramiko():
    code = ("import sys\nfrom gridclient.registry import ExtensionRegistry\n"
            "reg = ExtensionRegistry().discover()\nassert reg.vo_types\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'paramiko', 'moto', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_core_and_providers_import_with_pyside6_blocked():
    out = run_without_qt("""
        import importlib, pkgutil
        import gridclient, providers
        names = []
        for pkg in (gridclient, providers):
            for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):
                if m.name != 'gridclient.__main__':
                    importlib.import_module(m.name)
                    names.append(m.name)
        print(len(names), 'PySide6' in sys.modules)
        """)
    assert out.returncode == 0, out.stderr
    count, qt = out.stdout.split()
    assert int(count) >= 25 and qt == "False"
