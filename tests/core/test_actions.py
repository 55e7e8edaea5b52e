"""The core's ActionRunner on the sample provider: every path an action can take, without Qt."""

from __future__ import annotations

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.workspace import Workspace
from tests import sample_provider
from tests.qt_free import run_without_qt
from tests.sample_provider import WORLD


def things(wb) -> list[Element]:
    vo = next(iter(wb.workspace.vos.values()))
    return wb.children(vo, Element("sample.things", "x", "Things", has_children=True))


def thing(wb, tid: str) -> Element:
    return next(e for e in things(wb) if e.id == tid)


@pytest.fixture
def lab(sample_workbench):
    wb = sample_workbench
    return wb, next(iter(wb.workspace.vos.values()))


def test_confirmed_action_runs_on_the_pool_and_asks_for_the_parent_listing(lab):
    wb, vo = lab
    asked = ScriptedInteraction(confirm_answers=[True])
    run = wb.actions.start("sample.switch_off", [thing(wb, "t1")], vo, asked)
    outcome = run.wait(10)
    assert outcome.state == "done" and outcome.ok
    assert outcome.message == "Switched off Thing 1." and outcome.refresh == "parent"
    assert WORLD["t1"] == "off" and thing(wb, "t1").state == "off"
    # with the same on the command line, for the question's "Copy as command"
    assert asked.log == [("confirm", "Switch off", "Switch off Thing 1?", "gridclient thing switch-off t1 --vo Lab")]
    assert run.operation is not None and run.operation.state == "done"
    assert run.operation.title == "Switch off — Thing 1"


def test_a_no_to_the_confirmation_runs_nothing(lab):
    wb, vo = lab
    outcome = wb.actions.run("sample.switch_off", [thing(wb, "t1")], vo, ScriptedInteraction(confirm_answers=[False]))
    assert outcome.state == "declined" and WORLD["t1"] == "on"
    assert not wb.operations.operations  # no operation was started


def test_an_action_the_state_does_not_allow_is_refused_with_the_reason(lab):
    wb, vo = lab
    asked = ScriptedInteraction(default_confirm=True)
    outcome = wb.actions.run("sample.switch_off", [thing(wb, "t0")], vo, asked)  # already off
    assert outcome.state == "refused"
    assert "Switch off is for elements that are on" in outcome.message and "Thing 0: off" in outcome.message
    assert asked.log == [] and not wb.operations.operations
    other = Element("sample.other", "o", "Other")
    assert wb.actions.run("sample.switch_off", [other], vo, asked).state == "refused"
    with pytest.raises(LookupError, match="No loaded provider offers the action 'sample.nothing'"):
        wb.actions.start("sample.nothing", [other], vo, asked)


def test_parameter_fields_are_asked_and_handed_to_the_handler_and_what_it_learnt_is_kept(lab, app_paths):
    wb, vo = lab
    asked = ScriptedInteraction(ask_answers=[{"name": "lamp"}])
    outcome = wb.actions.run("sample.rename", [thing(wb, "t2")], vo, asked, timeout=10)
    assert outcome.state == "done" and outcome.message == "Renamed to lamp." and outcome.refresh == ""
    assert sample_provider.CALLS == ["rename t2 to lamp"]
    assert asked.log[0][:2] == ("ask", "Rename")
    # remembered in the VO's settings, on disk
    assert Workspace(app_paths).vos[vo.id].settings["last_name"] == "lamp"
    # a closed dialog runs nothing
    outcome = wb.actions.run("sample.rename", [thing(wb, "t2")], vo, ScriptedInteraction(ask_answers=[None]))
    assert outcome.state == "declined" and sample_provider.CALLS == ["rename t2 to lamp"]


def test_an_element_removed_meanwhile_is_told_gone_and_its_listing_reloaded(lab):
    wb, vo = lab
    listed = thing(wb, "t1")
    del WORLD["t1"]  # removed outside the app
    outcome = wb.actions.run("sample.switch_off", [listed], vo, ScriptedInteraction(default_confirm=True), timeout=10)
    assert outcome.state == "gone" and outcome.refresh == "parent"
    assert outcome.message == "t1 no longer exist."


def test_a_failure_is_explained_by_the_vo_type(lab):
    wb, vo = lab
    outcome = wb.actions.run("sample.fail", [thing(wb, "t1")], vo, ScriptedInteraction(), timeout=10)
    assert outcome.state == "failed" and outcome.refresh == ""
    assert outcome.message == "The sample cloud refused: the thing is busy."
    assert wb.operations.operations[-1].error == outcome.message  # the Operations view says the same


def test_cancelling_the_operation_ends_the_action_as_cancelled(lab):
    wb, vo = lab
    run = wb.actions.start("sample.wait", [thing(wb, "t1")], vo, ScriptedInteraction())
    assert sample_provider.WAITING.wait(10)
    run.operation.cancel()
    outcome = run.wait(10)
    assert outcome.state == "cancelled" and run.operation.state == "cancelled"


def test_a_terminal_to_open_is_part_of_the_outcome(lab):
    wb, vo = lab
    outcome = wb.actions.run("sample.console", [thing(wb, "t2")], vo, ScriptedInteraction(), timeout=10)
    assert outcome.state == "done" and outcome.terminal == ("console", "t2")


def test_the_runner_needs_no_qt(tmp_path):
    """The whole path, with PySide6 blocked: the command line and the console run actions so."""
    done = run_without_qt(f"""
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
        outcome = wb.actions.run('sample.switch_off', [Element('sample.thing', 't1', 'Thing 1', state='on')], vo,
                                 ScriptedInteraction(confirm_answers=[True]), timeout=10)
        wb.close()
        print(outcome.state, WORLD['t1'], 'PySide6' in sys.modules)
        """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["done", "off", "False"]


def test_either_lists_states_as_a_sentence_does():
    from gridclient.actions import either

    assert [either(w) for w in (["on"], ["a", "b"], ["pending", "running", "stopped"])] == \
        ["on", "a or b", "pending, running or stopped"]
