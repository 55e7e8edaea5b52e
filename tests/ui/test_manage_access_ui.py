"""The access actions in the window, against moto over HTTP: a security group's rules as rows
under it, Add rule…'s form refusing a bad CIDR inline, Edit tags… renaming a row, Console output
in a read-only tab."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QPlainTextEdit

from tests.ui.test_main_window import project_on_moto, window  # noqa: F401 - the window fixture
from tests.ui.test_project_model import child_by_label, expand, labels
from ui.forms import FieldsDialog

pytest.importorskip("moto.server")


def services_node(qtbot, window, moto, name="A"):  # noqa: F811
    model = window.model
    project = project_on_moto(window, moto, name)
    services = child_by_label(model, project, "Services")
    if model.canFetchMore(services):
        expand(qtbot, model, services)
    return services


def test_rules_show_under_their_group_and_del_removes_one(qtbot, window, moto, boto, monkeypatch):  # noqa: F811
    ec2 = boto("ec2")
    gid = ec2.create_security_group(GroupName="web", Description="Web servers")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    model = window.model
    groups = child_by_label(model, services_node(qtbot, window, moto), "Security groups")
    expand(qtbot, model, groups)
    web = child_by_label(model, groups, "web")
    expand(qtbot, model, web)
    assert labels(model, web) == ["tcp 22 from 203.0.113.7/32", "tcp 443 from 0.0.0.0/0", "all traffic to 0.0.0.0/0"]

    window.tree.setCurrentIndex(child_by_label(model, web, "tcp 22 from 203.0.113.7/32"))
    monkeypatch.setattr(window.interaction, "confirm", lambda title, text, default=False, command="": True)
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(web)):
        window.delete_act.trigger()  # Del → Remove rule
    assert labels(model, web) == ["tcp 443 from 0.0.0.0/0", "all traffic to 0.0.0.0/0"]
    left = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]
    assert [p["FromPort"] for p in left] == [443]


def test_add_rule_form_refuses_a_bad_cidr_as_typed(qtbot, window):  # noqa: F811
    action = window.wb.registry.actions["aws.ec2.sg.add_rule"]
    dlg = FieldsDialog(action.title, list(action.fields), "For web")
    qtbot.addWidget(dlg)
    dlg.show()
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dlg.form.set_values({"ports": "22", "source": "203.0.113.7/24"})
    dlg._edited()
    assert not ok.isEnabled()
    assert "203.0.113.0/24" in dlg.problem.text() and "203.0.113.7/32" in dlg.problem.text()
    dlg.form.set_values({"ports": "70000", "source": "203.0.113.7/32"})
    dlg._edited()
    assert not ok.isEnabled() and "ports are 0 to 65535" in dlg.problem.text()
    dlg.form.set_values({"ports": "22"})
    dlg._edited()
    assert ok.isEnabled() and dlg.problem.text() == ""
    # ICMP has no ports: the field goes, and so does its demand
    dlg.form.set_values({"protocol": "icmp", "ports": ""})
    dlg._edited()
    assert not dlg.form.widgets["ports"].isVisibleTo(dlg) and ok.isEnabled()
    assert dlg.form.values() == {"direction": "inbound", "protocol": "icmp", "source": "203.0.113.7/32",
                                 "description": ""}


def test_editing_the_name_tag_renames_the_row(qtbot, window, moto, boto, monkeypatch):  # noqa: F811
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}])["Instances"][0]["InstanceId"]
    model = window.model
    project = project_on_moto(window, moto, "T")
    computing = child_by_label(model, project, "Computing")
    if model.canFetchMore(computing):
        expand(qtbot, model, computing)
    row = child_by_label(model, computing, "web-1")
    action = window.wb.registry.actions["aws.ec2.tags"]
    monkeypatch.setattr(window.interaction, "ask", lambda title, fields, text="": {"tags": "Name=web-renamed"})
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(computing)):
        window.run_action(action, [row])
    assert "web-renamed" in labels(model, computing) and "web-1" not in labels(model, computing)
    assert model.element(child_by_label(model, computing, "web-renamed")).id == iid


def test_console_output_opens_a_read_only_tab(qtbot, window, moto, boto):  # noqa: F811
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}])
    model = window.model
    project = project_on_moto(window, moto, "C")
    computing = child_by_label(model, project, "Computing")
    if model.canFetchMore(computing):
        expand(qtbot, model, computing)
    tabs = window.terminals
    before = tabs.count()
    window.run_action(window.wb.registry.actions["aws.ec2.console"], [child_by_label(model, computing, "web-1")])
    qtbot.waitUntil(lambda: tabs.count() == before + 1, timeout=20000)
    view = tabs.currentWidget()
    assert isinstance(view, QPlainTextEdit) and view.isReadOnly()
    assert tabs.tabText(tabs.currentIndex()) == "Console: web-1"
    assert view.toPlainText().startswith("Linux version")
    tabs.close_tab(tabs.currentIndex())  # closes like any tab
    assert tabs.count() == before
