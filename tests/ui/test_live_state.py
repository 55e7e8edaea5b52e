"""Live state in the window: after Stop, the instance's row — state icon, Details — and the
Properties view follow the instance to "stopped" with no refresh (F5) and no listing reloaded.

moto stops an instance at once; the row still shows "running" until something tells it
otherwise, and Stop reloads no listing: only the state watcher can bring the row to "stopped".
A second test makes moto's Stop leave the instance "stopping", as AWS does, to see the row pass
through it.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.test_main_window import open_in_tree, project_on_moto, shown_properties
from tests.ui.test_project_model import child_by_label
from ui.project_model import ProjectModel

pytest.importorskip("moto.server")


from tests.ui.test_main_window import window  # noqa: E402,F401 - the fixture, shared


@pytest.fixture
def no_refresh(monkeypatch):
    """Every ProjectModel.refresh and every listing started from here on (none is wanted)."""
    calls = []
    real_refresh, real_load = ProjectModel.refresh, ProjectModel._load
    monkeypatch.setattr(ProjectModel, "refresh", lambda self, index: calls.append("refresh") or real_refresh(self, index))
    monkeypatch.setattr(ProjectModel, "_load", lambda self, node, refresh: calls.append("load") or
                        real_load(self, node, refresh))
    return calls


def instance_row(qtbot, window, moto, boto, name: str):
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]
    computing = child_by_label(window.model, project_on_moto(window, moto, "Live"), "Computing")
    open_in_tree(qtbot, window, computing)
    row = child_by_label(window.model, computing, name)
    window.tree.setCurrentIndex(row)
    return iid, row


def details(window, row) -> str:
    return window.model.data(row.siblingAtColumn(1), Qt.ItemDataRole.DisplayRole)


def test_stop_brings_the_row_and_properties_to_stopped_without_a_refresh(qtbot, window, moto, boto, monkeypatch,
                                                                         no_refresh):
    iid, row = instance_row(qtbot, window, moto, boto, "web-1")
    model = window.model
    assert model.element(row).state == "running" and "running" in details(window, row)
    assert shown_properties(window)["State"] == "running"
    no_refresh.clear()
    monkeypatch.setattr(window.interaction, "confirm", lambda title, text, default=False, command="": True)
    window.wb.watcher.initial = 0.2
    window.run_action(window.wb.registry.actions["aws.ec2.stop"], [row])
    qtbot.waitUntil(lambda: model.element(row).state == "stopped", timeout=20000)
    el = model.element(row)
    assert el.id == iid and el.icon == "instance-stopped" and el.properties["State.Name"] == "stopped"
    assert "stopped" in details(window, row) and "running" not in details(window, row)
    qtbot.waitUntil(lambda: shown_properties(window).get("State") == "stopped", timeout=5000)
    assert shown_properties(window)["State.Name"] == "stopped"
    assert no_refresh == []  # neither F5 nor a listing: the watcher alone moved the row
    # the menu follows the new state: Start now, not Stop
    from PySide6.QtWidgets import QMenu

    menu = QMenu(window)
    window._fill_actions(menu)
    enabled = {a.objectName(): a.isEnabled() for a in menu.actions() if a.objectName()}
    assert enabled["action:aws.ec2.start"] and not enabled["action:aws.ec2.stop"]
    assert window.wb.watcher.wait_idle(10)


def test_the_row_passes_through_stopping_as_aws_shows_it(qtbot, window, moto, boto, monkeypatch, no_refresh):
    from moto.ec2.models.instances import Instance

    iid, row = instance_row(qtbot, window, moto, boto, "slow-1")
    model = window.model
    no_refresh.clear()
    stopped = []
    real_stop = Instance.stop

    def stop_slowly(self):  # "stopping" until the test says otherwise
        previous = real_stop(self)
        self._state.name, self._state.code = "stopping", 64
        stopped.append(self)
        return previous

    monkeypatch.setattr(Instance, "stop", stop_slowly)
    monkeypatch.setattr(window.interaction, "confirm", lambda title, text, default=False, command="": True)
    window.wb.watcher.initial = 0.2
    window.run_action(window.wb.registry.actions["aws.ec2.stop"], [row])
    qtbot.waitUntil(lambda: model.element(row).state == "stopping", timeout=20000)
    assert model.element(row).icon == "instance-stopping" and "stopping" in details(window, row)
    qtbot.waitUntil(lambda: shown_properties(window).get("State") == "stopping", timeout=5000)
    stopped[0]._state.name, stopped[0]._state.code = "stopped", 80
    qtbot.waitUntil(lambda: model.element(row).state == "stopped", timeout=20000)
    qtbot.waitUntil(lambda: shown_properties(window).get("State") == "stopped", timeout=5000)
    assert no_refresh == []
    assert window.wb.watcher.wait_idle(10)
