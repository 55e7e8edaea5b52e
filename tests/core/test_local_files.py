"""Local files: the core's own provider — its folders listed, and the folders a person adds."""

from __future__ import annotations

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.registry import ExtensionRegistry
from gridclient.storage.manifest import LOCAL, manifest
from gridclient.workbench import Workbench


@pytest.fixture
def wb(app_paths, keyring_backend):
    reg = ExtensionRegistry()
    reg.register(manifest, entry_point="built in")
    w = Workbench(app_paths, registry=reg)
    yield w
    w.close()


def roots_shown(wb) -> list[str]:
    category = wb.registry.categories(LOCAL)[0]
    from gridclient.elements import Element

    el = Element(category.kind, "local-files", category.label, has_children=True)
    return [e.id for e in wb.children(wb.local_vo, el)]


def test_a_folder_added_is_shown_kept_and_removed_again(wb, tmp_path, app_paths):
    import os

    data = tmp_path / "data"
    data.mkdir()
    (data / "x.txt").write_text("x")
    home = os.path.expanduser("~")
    assert roots_shown(wb) == [home]  # nothing chosen: the home folder

    category = wb.registry.categories(LOCAL)[0]
    from gridclient.elements import Element

    roots = Element(category.kind, "local-files", category.label, has_children=True)
    outcome = wb.actions.run("local.add_folder", [roots], wb.local_vo,
                             ScriptedInteraction(ask_answers=[{"folder": str(data)}]), timeout=30)
    assert outcome.ok, outcome.message
    assert roots_shown(wb) == [home, str(data)]  # the home folder stays
    # kept in the workspace: a new start shows it
    again = Workbench(app_paths, registry=wb.registry)
    assert again.workspace.preferences["local_roots"] == [home, str(data)]
    again.close()

    shown = [e for e in wb.children(wb.local_vo, roots) if e.id == str(data)][0]
    assert [c.label for c in wb.children(wb.local_vo, shown)] == ["x.txt"]
    outcome = wb.actions.run("local.remove_folder", [shown], wb.local_vo,
                             ScriptedInteraction(confirm_answers=[True]), timeout=30)
    assert outcome.ok and roots_shown(wb) == [home]
    assert (data / "x.txt").exists()  # only taken out of the tree


def test_adding_what_is_no_folder_fails_in_words(wb, tmp_path):
    category = wb.registry.categories(LOCAL)[0]
    from gridclient.elements import Element

    roots = Element(category.kind, "local-files", category.label, has_children=True)
    outcome = wb.actions.run("local.add_folder", [roots], wb.local_vo,
                             ScriptedInteraction(ask_answers=[{"folder": str(tmp_path / "nope")}]), timeout=30)
    assert outcome.state == "failed" and "nope" in outcome.message
    assert "local_roots" not in wb.workspace.preferences
