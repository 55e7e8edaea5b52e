"""The Python console dock on the demo sandbox (moto over HTTP): its namespace holds the workspace,
the tree's live selection and every action, which runs through the same runner as the menus —
Stop on a moto instance, a storage action's field given as a keyword — with the same questions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel

from gridclient.interaction import ScriptedInteraction
from gridclient.secrets import MemoryKeyring, SecretStore
from tests.ui.test_storage_dnd import row
from ui.app import build
from ui.worker import io_pool

pytest.importorskip("moto.server")
pytest.importorskip("qtconsole")

WAIT = 30000


@pytest.fixture
def win(qtbot, app_paths, demo_sandbox):
    demo_sandbox.reseed()
    wb, window = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    window.ask_before_close = False
    yield window
    io_pool().waitForDone(10000)
    wb.close()


def console_ns(qtbot, win) -> dict:
    win.console_dock.show()
    win.console_dock.raise_()
    qtbot.waitUntil(lambda: win.console is not None, timeout=WAIT)
    assert win.console is not False, win.console_dock.widget().text()
    return win.console.kernel_manager.kernel.shell.user_ns


def execute(qtbot, win, code: str, name: str):
    """Run ``code`` as typed into the console; the value it bound to ``name``."""
    ns = console_ns(qtbot, win)
    ns.pop(name, None)
    win.console.execute(code)
    qtbot.waitUntil(lambda: name in ns, timeout=WAIT)
    return ns[name]


def select(win, *indexes) -> None:
    sel = win.tree.selectionModel()
    sel.clearSelection()
    for i in indexes:
        sel.select(i, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)


def test_the_namespace_holds_the_workspace_and_a_live_selection(qtbot, win):
    ns = console_ns(qtbot, win)
    assert {"workbench", "vos", "projects", "selection", "actions"} <= set(ns)
    assert "actions[\"aws.ec2.stop\"](selection)" in win.console.banner
    assert list(ns["vos"]) == ["Demo"] and list(ns["projects"]) == ["Demo"]
    assert len(ns["selection"]) == 0 and "nothing selected" in repr(ns["selection"])
    web1 = row(win, "Demo", "Computing", "web-1")
    web2 = row(win, "Demo", "Computing", "web-2")
    select(win, web1, web2)  # live: the same object now holds what the tree selects
    assert [e.label for e in ns["selection"]] == ["web-1", "web-2"]
    assert "aws.ec2.stop" in ns["actions"].for_(ns["selection"])
    # tab completion of action ids, as IPython offers it on actions["…
    shell = win.console.kernel_manager.kernel.shell
    line = 'actions["aws.ec2.sto'
    _, matches = shell.complete(None, line, len(line))
    assert "aws.ec2.stop" in matches


def test_stop_from_the_console_stops_the_moto_instance_and_the_row_follows(qtbot, win, demo_sandbox):
    web1 = row(win, "Demo", "Computing", "web-1")
    instance_id = win.model.element(web1).id
    select(win, web1)
    win.interaction = ScriptedInteraction(default_confirm=True)  # says yes to the menu's question
    run = execute(qtbot, win, 'run = actions["aws.ec2.stop"](selection)', "run")
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    assert [e[1] for e in win.interaction.log if e[0] == "confirm"] == ["Stop"]  # as from the menu
    assert "Stop on web-1 — done" in repr(run)
    state = demo_sandbox.client("ec2").describe_instances(InstanceIds=[instance_id])[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("stopping", "stopped")
    # the row follows, as after the menu's Stop (the core's watcher)
    qtbot.waitUntil(lambda: win.model.element(row(win, "Demo", "Computing", "web-1")).state == "stopped",
                    timeout=WAIT)


def test_terminate_asks_the_same_confirmation_and_a_no_changes_nothing(qtbot, win, demo_sandbox):
    web2 = row(win, "Demo", "Computing", "web-2")
    instance_id = win.model.element(web2).id
    select(win, web2)
    win.interaction = ScriptedInteraction(confirm_answers=[False])
    run = execute(qtbot, win, 'run = actions["aws.ec2.terminate"](selection)', "run")
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "declined"
    assert any(entry[0] == "confirm" and "web-2" in entry[2] for entry in win.interaction.log)
    state = demo_sandbox.client("ec2").describe_instances(InstanceIds=[instance_id])[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running"


def test_an_actions_fields_are_given_as_keywords(qtbot, win, demo_sandbox):
    bucket = row(win, "Demo", "Storage", "demo-datasets")
    select(win, bucket)
    win.interaction = ScriptedInteraction()  # would answer None: the keywords must be what is used
    run = execute(qtbot, win, 'run = actions["storage.new_folder"](selection, name="from-console")', "run")
    qtbot.waitUntil(lambda: run.outcome is not None, timeout=WAIT)
    assert run.outcome.state == "done", run.outcome.message
    keys = [o["Key"] for o in demo_sandbox.client("s3").list_objects_v2(
        Bucket="demo-datasets", Prefix="from-console").get("Contents", [])]
    assert keys == ["from-console/"]
    assert not [e for e in win.interaction.log if e[0] == "ask"]  # nothing asked

    # a wrong id says which ones exist
    error = execute(qtbot, win, 'try:\n    actions["aws.ec2.stp"]\nexcept KeyError as e:\n    error = str(e)\n',
                    "error")
    assert "no action 'aws.ec2.stp'" in error


def test_run_on_runs_a_command_on_the_selected_instances_as_a_job(qtbot, win):
    web1 = row(win, "Demo", "Computing", "web-1")
    web2 = row(win, "Demo", "Computing", "web-2")
    select(win, web1, web2)
    job = execute(qtbot, win, 'job = run_on(selection, "echo from-$((40+2))").job()', "job")
    assert job is not None and [h.label for h in job.hosts] == ["web-1", "web-2"]
    assert job.wait(60)
    assert [(h.state, h.exit_status) for h in job.hosts] == [("done", 0), ("done", 0)]
    assert all(h.stdout.text() == "from-42\n" for h in job.hosts)
    # on what runs no commands: said, nothing started
    select(win, row(win, "Demo", "Storage", "demo-datasets"))
    error = execute(qtbot, win, 'try:\n    run_on(selection, "true")\nexcept ValueError as e:\n    error = str(e)\n',
                    "error")
    assert "No action runs commands on aws.s3.bucket" in error


def test_view_python_console_brings_it_to_the_front_of_its_tabbed_docks(qtbot, win):
    """Chosen from the View menu, the console is the tab shown (and so it starts), not one left
    behind Properties."""
    shown = win.console_dock.toggleViewAction()
    assert shown.text() == "Python console" and not shown.isChecked()
    shown.trigger()
    qtbot.waitUntil(lambda: win.console is not None, timeout=WAIT)
    assert win.console is not False and not win.console_dock.visibleRegion().isEmpty()
    assert win.props_dock.visibleRegion().isEmpty()  # behind it now


def test_the_banners_example_names_this_workspaces_vo():
    from ui.console import banner

    assert 'vos["Lab"]' in banner({"vos": {"Lab": object()}, "projects": {}}) and "Demo" not in \
        banner({"vos": {"Lab": object()}, "projects": {}})
    assert 'vos["NAME"], projects["NAME"]' in banner({"vos": {}, "projects": {}})
