"""The main window driven as a person would: the VO wizard against moto over HTTP, a project,
the tree, Properties, contributed actions, Help → Providers."""

from __future__ import annotations

import urllib.request
from importlib.metadata import EntryPoint

import pytest
from PySide6.QtWidgets import QDialog, QLabel, QMenu, QWizard

from gridclient.registry import ExtensionRegistry
from tests.ui.test_project_model import child_by_label, expand, labels
from ui.app import build
from ui.project_dialog import ProjectDialog
from ui.vo_wizard import VOWizard
from ui.worker import io_pool


@pytest.fixture
def window(qtbot, app_paths, keyring_backend):
    wb, win = build(app_paths)
    qtbot.addWidget(win)
    win.show()
    yield win
    io_pool().waitForDone(10000)
    wb.close()


def set_auth(moto: str, count: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(), method="POST",
                                                  headers={"Content-Type": "text/plain"})).read()


def fill_wizard(qtbot, wiz: VOWizard, name: str, values: dict) -> None:
    wiz.show()
    wiz.type_page.name.setText(name)
    assert wiz.type_page.isComplete()
    wiz.next()
    form = wiz.fields_page.form
    form.set_values(values)


def project_on_moto(window, moto: str, name: str):
    """A keys VO on the moto server and a project on it, shown in the window's tree."""
    from gridclient.workspace import GridProject

    vo = window.wb.save_vo(name, "aws", {"region": "us-east-1", "access_key_id": "A", "secret_access_key": "B",
                                         "endpoint_url": moto})
    return window.model.add_project(window.wb.workspace.add_project(GridProject(name, vo.id)))


def test_vo_wizard_to_live_tree(qtbot, window, moto, boto, app_paths):
    wiz = VOWizard(window.wb, window)
    qtbot.addWidget(wiz)
    # inline validation: an empty name says why and blocks the way on
    wiz.show()
    assert not wiz.type_page.isComplete() and "A name is needed" in wiz.type_page.problem.text()
    fill_wizard(qtbot, wiz, "Lab cloud", {"region": "us-east-1", "credential_mode": "keys",
                                          "access_key_id": "AKIDLAB", "secret_access_key": "lab-secret-value-123",
                                          "endpoint_url": "not a url"})
    page = wiz.fields_page
    assert not page.isComplete() and "is not a URL" in page.problem.text()
    page.form.set_values({"endpoint_url": "", "region": "mars-north-7"})
    assert not page.isComplete() and "is not an AWS region" in page.problem.text()
    page.form.set_values({"endpoint_url": moto, "region": "us-east-1"})
    assert page.isComplete(), page.problem.text()
    wiz.next()
    assert wiz.currentPage() is wiz.test_page
    wiz.test_page.button.click()
    qtbot.waitUntil(lambda: wiz.test_page.ok is not None, timeout=20000)
    assert wiz.test_page.ok and "Connected" in wiz.test_page.result.text()
    # back, change the endpoint, forward: the old result no longer stands
    wiz.back()
    page.form.set_values({"endpoint_url": "http://127.0.0.1:9"})
    wiz.next()
    assert wiz.test_page.ok is None and wiz.test_page.result.text() == "Not tested yet."
    wiz.back()
    page.form.set_values({"endpoint_url": moto})
    wiz.next()
    wiz.test_page.button.click()
    qtbot.waitUntil(lambda: wiz.test_page.ok is not None, timeout=20000)
    assert wiz.test_page.ok
    wiz.button(QWizard.WizardButton.FinishButton).click()
    vo = wiz.created
    assert vo is not None and vo.name == "Lab cloud" and vo.endpoint_url == moto

    dlg = ProjectDialog(window.wb, window, preselect=vo.id)
    qtbot.addWidget(dlg)
    assert dlg.name.text() == "Lab cloud"
    dlg.accept()
    project = window.model.add_project(dlg.created)

    # an instance started out of band appears under Computing
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    computing = child_by_label(window.model, project, "Computing")
    expand(qtbot, window.model, computing)
    inst = child_by_label(window.model, computing, iid)
    window.tree.setCurrentIndex(inst)
    props = window.properties
    shown = {props.item(r, 0).text(): props.item(r, 1).text() for r in range(props.rowCount())}
    assert shown["InstanceId"] == iid and shown["State"] == "running" and "Placement.AvailabilityZone" in shown

    # an image made from it out of band is among the account's own images
    ec2.create_image(InstanceId=iid, Name="lab-image")
    services = child_by_label(window.model, project, "Services")
    expand(qtbot, window.model, services)
    images = child_by_label(window.model, services, "My images (AMIs)")
    expand(qtbot, window.model, images)
    assert "lab-image" in labels(window.model, images)

    # a bucket made out of band, after a refresh (F5 on the Storage node)
    storage = child_by_label(window.model, project, "Storage")
    expand(qtbot, window.model, storage)
    boto("s3").create_bucket(Bucket="made-later")
    window.tree.setCurrentIndex(storage)
    with qtbot.waitSignal(window.model.loadFinished, timeout=20000):
        window.refresh_act.trigger()
    assert "made-later" in labels(window.model, storage)

    # the secret is in the keyring only, never in a file under the workspace
    window.wb.cache.close()
    for path in app_paths.config.parent.rglob("*"):
        if path.is_file():
            assert b"lab-secret-value-123" not in path.read_bytes(), path


def test_wrong_credentials_are_told_plainly(qtbot, window, moto):
    wiz = VOWizard(window.wb, window)
    qtbot.addWidget(wiz)
    fill_wizard(qtbot, wiz, "Wrong", {"region": "us-east-1", "access_key_id": "AKIDWRONG",
                                      "secret_access_key": "nope", "endpoint_url": moto})
    wiz.next()
    set_auth(moto, "0")
    try:
        wiz.test_page.button.click()
        qtbot.waitUntil(lambda: wiz.test_page.ok is not None, timeout=20000)
    finally:
        set_auth(moto, "inf")
    assert wiz.test_page.ok is False
    assert "access key id or secret access key was not accepted" in wiz.test_page.result.text()


def test_unreachable_endpoint_is_told_plainly(qtbot, window):
    wiz = VOWizard(window.wb, window)
    qtbot.addWidget(wiz)
    fill_wizard(qtbot, wiz, "Nowhere", {"region": "us-east-1", "access_key_id": "AKID",
                                        "secret_access_key": "x", "endpoint_url": "http://127.0.0.1:9"})
    wiz.next()
    wiz.test_page.button.click()
    qtbot.waitUntil(lambda: wiz.test_page.ok is not None, timeout=60000)
    assert "Could not reach the endpoint http://127.0.0.1:9" in wiz.test_page.result.text()


def test_a_provider_from_tests_contributes_vo_type_node_and_action(qtbot, app_paths, keyring_backend):
    from tests import sample_provider

    reg = ExtensionRegistry().discover()
    for name, value in (("sample", "tests.sample_provider:manifest"), ("broken", "tests.no_such_module:manifest")):
        ep = EntryPoint(name=name, value=value, group="gridclient.providers")
        reg.load_entry_point(ep.name, ep.value, ep.load)
    wb, win = build(app_paths, registry=reg)
    qtbot.addWidget(win)
    win.show()
    # the VO type is offered by the wizard, and its fields are rendered from its declaration
    wiz = VOWizard(wb, win)
    qtbot.addWidget(wiz)
    types = [wiz.type_page.types.item(i).text() for i in range(wiz.type_page.types.count())]
    assert "Sample cloud" in types
    wiz.type_page.types.setCurrentRow(types.index("Sample cloud"))
    fill_wizard(qtbot, wiz, "Mine", {"region": "zone-9", "password": "pw"})
    assert set(wiz.fields_page.form.widgets) == {"region", "password"}
    wiz.next()
    wiz.button(QWizard.WizardButton.FinishButton).click()
    dlg = ProjectDialog(wb, win, preselect=wiz.created.id)
    qtbot.addWidget(dlg)
    dlg.accept()
    project = win.model.add_project(dlg.created)
    # the node contributor's category and loader
    assert labels(win.model, project) == ["Things"]
    things = win.model.index(0, 0, project)
    expand(qtbot, win.model, things)
    assert labels(win.model, things) == ["Thing 0", "Thing 1", "Thing 2"]
    # the action shows in the context menu, enabled by state, and runs
    win.tree.setCurrentIndex(win.model.index(1, 0, things))
    menu = QMenu()
    win._fill_actions(menu)
    poke = next(a for a in menu.actions() if a.text() == "Poke")
    assert poke.isEnabled()
    sample_provider.CALLS.clear()
    poke.trigger()
    qtbot.waitUntil(lambda: sample_provider.CALLS == ["t1"], timeout=10000)
    win.tree.setCurrentIndex(win.model.index(0, 0, things))  # state "off"
    win._fill_actions(menu)
    assert not next(a for a in menu.actions() if a.text() == "Poke").isEnabled()
    # Help → Providers lists the broken one with its error
    from ui.preferences import ProvidersDialog

    text = ProvidersDialog(reg, win).text.toPlainText()
    assert "Sample provider (tests)" in text and "failed to load" in text and "no_such_module" in text
    io_pool().waitForDone(10000)
    wb.close()


def test_a_second_provider_adds_a_category_under_aws_projects(qtbot, app_paths, keyring_backend, moto, cloud):
    """g-Eclipse had separate ec2 and s3 bundles under one VO: here the notes provider from tests/
    adds "Notes" beside the AWS provider's Computing, Services and Storage."""
    from tests.fixtures.workspace import load_provider

    reg = ExtensionRegistry().discover()
    assert load_provider(reg, "sample-notes", "tests.sample_provider:notes_manifest").ok
    wb, win = build(app_paths, registry=reg)
    qtbot.addWidget(win)
    win.show()
    project = project_on_moto(win, moto, "Lab")
    assert labels(win.model, project) == ["Computing", "Services", "Storage", "Notes"]
    notes = child_by_label(win.model, project, "Notes")
    expand(qtbot, win.model, notes)
    assert labels(win.model, notes) == ["A note"]
    computing = child_by_label(win.model, project, "Computing")  # the AWS side works on beside it
    expand(qtbot, win.model, computing)
    assert sorted(labels(win.model, computing)) == ["All regions", "web", "web"]
    io_pool().waitForDone(10000)
    wb.close()


def test_terminate_asks_and_runs_in_background(qtbot, window, moto, boto, monkeypatch):
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    project = project_on_moto(window, moto, "S")
    computing = child_by_label(window.model, project, "Computing")
    expand(qtbot, window.model, computing)
    window.tree.setCurrentIndex(child_by_label(window.model, computing, iid))
    # the context menu shows the key that does the same
    menu = QMenu(window)
    window._fill_actions(menu)
    terminate = next(a for a in menu.actions() if a.objectName() == "action:aws.ec2.terminate")
    assert terminate.shortcut().toString() == "Del" and terminate.isShortcutVisibleInContextMenu()
    asked = []
    monkeypatch.setattr(window.interaction, "confirm",
                        lambda title, text, default=False, command="": asked.append((text, command)) or True)
    window.delete_act.trigger()  # Del → the contributed terminate action
    # no listing is reloaded: the row follows the instance's state (live state, gridclient/watch.py)
    qtbot.waitUntil(lambda: window.model.element(child_by_label(window.model, computing, iid)).state
                    in ("shutting-down", "terminated"), timeout=20000)
    assert asked and "cannot be undone" in asked[0][0]
    # and its Copy as command: the same on the command line
    import shlex

    vo_name = window.model.vo_of(window.model.node(computing)).name
    assert asked[0][1] == shlex.join(["gridclient", "vm", "delete", iid, "--vo", vo_name])
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")
    # the Properties dock follows the selected row's new state without a click elsewhere
    props = window.properties
    shown = {props.item(r, 0).text(): props.item(r, 1).text() for r in range(props.rowCount())}
    assert shown["State"] in ("shutting-down", "terminated") and shown["InstanceId"] == iid
    ops = window.operations_view
    assert ops.rowCount() == 1 and ops.item(0, 1).text().startswith("done")


def test_image_catalog_searches_only_what_was_asked(qtbot, window, moto, boto, monkeypatch):
    model = window.model
    project = project_on_moto(window, moto, "C")
    services = child_by_label(model, project, "Services")
    expand(qtbot, model, services)
    catalog = child_by_label(model, services, "Image catalog")
    expand(qtbot, model, catalog)
    assert [model.element(model.index(r, 0, catalog)).kind for r in range(model.rowCount(catalog))] != ["aws.ec2.image"]
    action = next(a for a in window.wb.registry.actions_for([model.element(catalog)]) if a.id == "aws.catalog.search")
    answers = iter([{"query": "ubuntu", "owner": "any"}, {"query": "no-such-image-xyz", "owner": "any"}])
    monkeypatch.setattr(window.interaction, "ask", lambda title, fields, text="": next(answers))

    expected = sorted(i["Name"] for i in boto("ec2").describe_images(
        Filters=[{"Name": "name", "Values": ["*ubuntu*"]}])["Images"])
    assert expected  # moto's public catalog has Ubuntu images
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(catalog)):
        window.run_action(action, [catalog])
    # not fetched: a line saying how to search as typed, then what EC2's name filter found
    assert "Not fetched yet" in labels(model, catalog)[0]
    assert sorted(labels(model, catalog)[1:]) == expected
    assert {model.element(model.index(r, 0, catalog)).kind for r in range(1, model.rowCount(catalog))} == {"aws.ec2.image"}

    # while the second search runs, the first one's images are not shown as if they were its answer
    seen: list[list[str]] = []
    # the catalog row says "loading" (dataChanged on its own row) when the new search starts
    model.dataChanged.connect(lambda first, last, roles=(): seen.append(labels(model, catalog))
                              if first.siblingAtColumn(0) == catalog and model.node(catalog).state in
                              ("loading", "refreshing") else None)
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(catalog)):
        window.run_action(action, [catalog])
    assert labels(model, catalog)[1:] == ["No public image matches “no-such-image-xyz”"]
    assert seen and not any(set(expected) & set(rows) for rows in seen), seen


def test_properties_start_at_the_top_for_another_element(qtbot, window, moto, boto):
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
    model = window.model
    project = project_on_moto(window, moto, "P")
    computing = child_by_label(model, project, "Computing")
    expand(qtbot, model, computing)
    window.resize(1000, 700)
    props = window.properties
    window.tree.setCurrentIndex(child_by_label(model, computing, ids[0]))
    bar = props.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # an instance has more properties than the dock shows
    bar.setValue(bar.maximum())
    # a refresh of the same element keeps the place
    window.tree.setCurrentIndex(computing)
    window.tree.setCurrentIndex(child_by_label(model, computing, ids[0]))
    assert bar.value() == 0  # selecting again after another element: from the top
    bar.setValue(bar.maximum())
    with qtbot.waitSignal(model.loadFinished, timeout=20000):
        model.refresh(computing)
    assert props.item(0, 0).text() == "Name" and bar.value() == bar.maximum()
    window.tree.setCurrentIndex(child_by_label(model, computing, ids[1]))
    assert bar.value() == 0 and props.item(1, 1).text() == ids[1]


def test_a_corrupt_workspace_is_told_once_and_the_window_opens(qtbot, app_paths, keyring_backend, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from gridclient.workspace import Workspace

    ws_file = Workspace(app_paths).file
    ws_file.write_text('{"vos": [{"name": "x", "type": "aws", "settings": "oops"}], "projects": {}}')
    told = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: told.append(text))
    wb, win = build(app_paths)
    qtbot.addWidget(win)
    win.show()
    win.show_problems()
    assert len(told) == 1  # one message with everything, not a box per problem
    assert "entry 1 was skipped: its settings are not a set of named values" in told[0]
    assert "Grid Projects in the file are not a list" in told[0] and ".corrupt-" in told[0]
    assert win.isVisible() and win.model.rowCount() == 2  # "Local files" and "SSH connections" only: no project survived
    wb.close()


def test_editing_a_vo_marks_only_the_secrets_it_keeps(qtbot, window, moto):
    vo = window.wb.save_vo("Kept", "aws", {"region": "us-east-1", "credential_mode": "profile",
                                           "profile": "default", "endpoint_url": moto})
    wiz = VOWizard(window.wb, window, editing=vo)
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.next()
    form = wiz.fields_page.form
    secret = form.widgets["secret_access_key"]
    assert "unchanged" not in secret.placeholderText()  # a profile VO keeps no secret key
    # switching it to keys: the secret key is needed, there is none to keep
    form.set_values({"credential_mode": "keys", "access_key_id": "AKIDNEW"})
    assert not wiz.fields_page.isComplete() and "Secret access key is needed" in wiz.fields_page.problem.text()
    form.set_values({"secret_access_key": "new-secret"})
    assert wiz.fields_page.isComplete(), wiz.fields_page.problem.text()

    keys_vo = window.wb.save_vo("Keys", "aws", {"region": "us-east-1", "credential_mode": "keys",
                                                "access_key_id": "A", "secret_access_key": "B",
                                                "endpoint_url": moto})
    wiz2 = VOWizard(window.wb, window, editing=keys_vo)
    qtbot.addWidget(wiz2)
    wiz2.show()
    wiz2.next()
    form2 = wiz2.fields_page.form
    assert "unchanged" in form2.widgets["secret_access_key"].placeholderText()
    assert "unchanged" not in form2.widgets["session_token"].placeholderText()
    assert "unchanged" not in form2.widgets["proxy_password"].placeholderText()
    assert wiz2.fields_page.isComplete()  # the kept secret need not be typed again


def keys_vo_behind_a_master_password(app_paths, moto, boto, name: str, password: str) -> str:
    """A keys VO and its project, its secret kept in the encrypted file keyring behind
    ``password``; one instance on moto. Its id."""
    from gridclient.secrets import SecretStore, encrypted_file_keyring
    from gridclient.workbench import Workbench
    from gridclient.workspace import GridProject

    first = Workbench(app_paths, secrets=SecretStore(encrypted_file_keyring(app_paths.data / "secrets.cfg", password)))
    vo = first.save_vo(name, "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKID",
                                     "secret_access_key": "kept-secret", "endpoint_url": moto})
    first.workspace.add_project(GridProject(name, vo.id))
    first.close()
    image = boto("ec2").describe_images()["Images"][0]["ImageId"]
    return boto("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_locked_secrets_are_told_never_replaced_and_unlock_later(qtbot, app_paths, moto, boto, monkeypatch):
    """The encrypted keyring left locked at start: a keys VO must not fall back to other
    credentials (moto would accept any), the tree says why, and File → Unlock secrets… fixes it."""
    from keyring.backends import fail

    from gridclient.secrets import SecretStore
    from ui.project_model import ERROR
    from ui.vo_wizard import KeyringDialog

    iid = keys_vo_behind_a_master_password(app_paths, moto, boto, "Locked", "right pw")

    wb, win = build(app_paths, secrets=SecretStore(fail.Keyring()))  # as after Cancel at start-up
    qtbot.addWidget(win)
    win.show()
    win.update_lock_state()
    assert win.secrets_locked() and win.lock_button.isVisibleTo(win) and win.unlock_act.isVisible()
    computing = child_by_label(win.model, win.model.index(0, 0), "Computing")
    expand(qtbot, win.model, computing)
    row = win.model.index(0, 0, computing)
    assert win.model.node(row).kind == ERROR and rows_text(win.model, computing) and iid not in rows_text(win.model, computing)
    assert "are locked" in win.model.element(row).label + win.model.element(row).detail + str(win.model.element(row).properties)

    typed = iter(["wrong pw", "right pw"])
    seen = []

    def fake_exec(dialog):  # a person typing into the real dialog and pressing Unlock
        seen.append(dialog.findChild(QLabel).text())
        dialog.password.setText(next(typed))
        dialog._ok()
        seen.append(dialog.problem.text())
        return dialog.result()

    monkeypatch.setattr(KeyringDialog, "exec", fake_exec)
    assert not win.unlock_secrets() and "does not open" in seen[1] and win.secrets_locked()
    assert "Enter its master password" in seen[0] and "wizard" not in seen[0] and "Chainer" not in seen[0]
    assert win.unlock_secrets() and not win.secrets_locked() and not win.lock_button.isVisibleTo(win)
    win.model.retry(win.model.index(0, 0, computing))  # ("Local files" may finish loading meanwhile)
    qtbot.waitUntil(lambda: iid in rows_text(win.model, computing), timeout=20000)
    wb.close()


def test_the_master_password_in_the_environment_unlocks_at_start_as_on_the_command_line(
        qtbot, app_paths, moto, boto, monkeypatch):
    from keyring.backends import fail

    from gridclient.secrets import MASTER_PASSWORD_ENV, SecretStore
    from ui.vo_wizard import KeyringDialog

    iid = keys_vo_behind_a_master_password(app_paths, moto, boto, "Env", "env pw")
    shown = []

    def fake_exec(dialog):  # Cancel, after reading what the dialog says
        shown.append(dialog.problem.text())
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(KeyringDialog, "exec", fake_exec)
    wb, win = build(app_paths, secrets=SecretStore(fail.Keyring()))
    qtbot.addWidget(win)
    win.show()
    monkeypatch.setenv(MASTER_PASSWORD_ENV, "not it")
    assert not win.unlock_secrets(from_environment=True) and win.secrets_locked()
    assert len(shown) == 1 and MASTER_PASSWORD_ENV in shown[0] and "does not open" in shown[0]
    monkeypatch.setenv(MASTER_PASSWORD_ENV, "env pw")
    assert win.unlock_secrets(from_environment=True) and not win.secrets_locked()
    assert len(shown) == 1  # not asked
    computing = child_by_label(win.model, win.model.index(0, 0), "Computing")
    expand(qtbot, win.model, computing)
    qtbot.waitUntil(lambda: iid in rows_text(win.model, computing), timeout=20000)
    wb.close()


def rows_text(model, parent) -> str:
    return " ".join(f"{model.element(model.index(r, 0, parent)).id} {model.element(model.index(r, 0, parent)).label}"
                    for r in range(model.rowCount(parent)))


def test_escape_in_the_wizard_asks_before_dropping_what_was_typed(qtbot, window, monkeypatch):
    from PySide6.QtCore import Qt as QtNs
    from PySide6.QtWidgets import QMessageBox

    asked = []
    answer = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer[0])
    untouched = VOWizard(window.wb, window)
    qtbot.addWidget(untouched)
    untouched.show()
    qtbot.keyClick(untouched, QtNs.Key.Key_Escape)
    assert not untouched.isVisible() and asked == []  # nothing typed: nothing to lose, nothing asked

    wiz = VOWizard(window.wb, window)
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.keyClicks(wiz.type_page.name, "Half done")
    qtbot.keyClick(wiz.type_page.name, QtNs.Key.Key_Escape)
    assert asked and "Discard" in asked[0]
    assert wiz.isVisible() and wiz.type_page.name.text() == "Half done"  # Cancel: still there
    wiz.button(QWizard.WizardButton.CancelButton).click()
    assert len(asked) == 2 and wiz.isVisible()  # Cancel asks the same
    answer[0] = QMessageBox.StandardButton.Discard
    qtbot.keyClick(wiz.type_page.name, QtNs.Key.Key_Escape)
    assert not wiz.isVisible() and wiz.created is None


def open_in_tree(qtbot, window, index) -> None:
    """Expand ``index`` in the window's tree as a click on its expander does, and wait for its rows."""
    model = window.model
    parent = index.parent()
    while parent.isValid():  # a project added after the window opened is shown closed
        window.tree.expand(parent)
        parent = parent.parent()
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(index)):
        window.tree.expand(index)


def shown_properties(window) -> dict[str, str]:
    props = window.properties
    return {props.item(r, 0).text(): props.item(r, 1).text() for r in range(props.rowCount())}


def test_an_action_on_an_element_removed_outside_says_so_and_reloads(qtbot, window, moto, boto, monkeypatch):
    from PySide6.QtWidgets import QApplication, QMessageBox

    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}])["Instances"][0]["InstanceId"]
    model = window.model
    computing = child_by_label(model, project_on_moto(window, moto, "Gone"), "Computing")
    open_in_tree(qtbot, window, computing)
    row = child_by_label(model, computing, "web-1")
    # the instance is removed outside the app: the row still shows it, running
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST")).read()
    monkeypatch.setattr(window.interaction, "confirm", lambda title, text, default=False, command="": True)
    stop = window.wb.registry.actions["aws.ec2.stop"]
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(computing)):
        window.run_action(stop, [row])
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert len(boxes) == 1 and boxes[0].icon() == QMessageBox.Icon.Warning
    assert f"“web-1” ({iid}) no longer exists" in boxes[0].text()
    assert labels(model, computing) == ["All regions"]  # the list it was in, reloaded: no instance left
    boxes[0].close()


def test_a_node_shown_again_is_revalidated_when_listings_are_live(qtbot, window, moto, boto, monkeypatch):
    from ui.project_model import ProjectModel

    s3 = boto("s3")
    s3.create_bucket(Bucket="live-bucket")
    s3.put_object(Bucket="live-bucket", Key="docs/a.txt", Body=b"a")
    model, tree = window.model, window.tree
    storage = child_by_label(model, project_on_moto(window, moto, "Live"), "Storage")
    open_in_tree(qtbot, window, storage)
    bucket = child_by_label(model, storage, "live-bucket")
    open_in_tree(qtbot, window, bucket)
    assert labels(model, bucket) == ["docs/"]
    tree.collapse(bucket)
    s3.put_object(Bucket="live-bucket", Key="added.txt", Body=b"b")
    monkeypatch.setattr(ProjectModel, "REVALIDATE_AFTER", 0)
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(bucket)):
        tree.expand(bucket)  # shown again: no F5
    assert labels(model, bucket) == ["docs/", "added.txt"]

    # with live listings off (a metered link), showing a node again lists nothing
    window.wb.workspace.preferences["live_refresh"] = False
    tree.collapse(bucket)
    s3.put_object(Bucket="live-bucket", Key="later.txt", Body=b"c")
    tree.expand(bucket)
    node = model.node(bucket)
    assert node.state == "loaded" and node.ticket is None  # a load would have started right here
    assert labels(model, bucket) == ["docs/", "added.txt"]


def test_an_empty_bucket_or_folder_shows_one_empty_row_that_is_no_element(qtbot, window, moto, boto):
    from PySide6.QtGui import QGuiApplication

    from ui.project_model import EMPTY

    s3 = boto("s3")
    s3.create_bucket(Bucket="empty-bucket")
    s3.create_bucket(Bucket="hollow-bucket")
    s3.put_object(Bucket="hollow-bucket", Key="hollow/", Body=b"")  # a folder's marker, nothing in it
    model = window.model
    storage = child_by_label(model, project_on_moto(window, moto, "Empty"), "Storage")
    open_in_tree(qtbot, window, storage)
    empty_bucket = child_by_label(model, storage, "empty-bucket")
    open_in_tree(qtbot, window, empty_bucket)
    hollow_bucket = child_by_label(model, storage, "hollow-bucket")
    open_in_tree(qtbot, window, hollow_bucket)
    folder = child_by_label(model, hollow_bucket, "hollow/")
    open_in_tree(qtbot, window, folder)
    for parent in (empty_bucket, folder):
        assert labels(model, parent) == ["(empty)"]
        assert model.node(model.index(0, 0, parent)).kind == EMPTY

    # no action applies to it, and there is no id to copy
    window.tree.setCurrentIndex(model.index(0, 0, empty_bucket))
    menu = QMenu(window)
    window._fill_actions(menu)
    assert not [a for a in menu.actions() if a.objectName().startswith("action:")]
    QGuiApplication.clipboard().setText("kept")
    window.copy_id_act.trigger()
    assert QGuiApplication.clipboard().text() == "kept"

    # once the bucket holds something, F5 shows it instead
    s3.put_object(Bucket="empty-bucket", Key="first.txt", Body=b"1")
    window.tree.setCurrentIndex(empty_bucket)
    with qtbot.waitSignal(model.loadFinished, timeout=20000,
                          check_params_cb=lambda i: model.node(i) is model.node(empty_bucket)):
        window.refresh_act.trigger()
    assert labels(model, empty_bucket) == ["first.txt"]


def test_long_names_that_differ_at_the_end_are_told_apart(qtbot, window, moto, boto):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    names = ["ubuntu-22.04-webapp-build-2026-11-30-a", "ubuntu-22.04-webapp-build-2026-11-30-b"]
    for name in names:
        ec2.create_image(InstanceId=iid, Name=name)
    model, tree = window.model, window.tree
    services = child_by_label(model, project_on_moto(window, moto, "Long"), "Services")
    open_in_tree(qtbot, window, services)
    images = child_by_label(model, services, "My images (AMIs)")
    open_in_tree(qtbot, window, images)
    assert tree.textElideMode() == Qt.TextElideMode.ElideMiddle

    def drawn(index) -> str:
        """The text as the tree draws it in the Name column at its default width."""
        option = QStyleOptionViewItem()
        tree.initViewItemOption(option)
        tree.itemDelegate().initStyleOption(option, index)
        option.rect = tree.visualRect(index)
        text_rect = tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, tree)
        margin = tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
        return QFontMetrics(option.font).elidedText(option.text, tree.textElideMode(), text_rect.width() - 2 * margin)

    rows = [child_by_label(model, images, name) for name in names]
    shown = [drawn(row) for row in rows]
    assert all("…" in text for text in shown), shown  # too long for the column: elided
    assert shown[0] != shown[1] and shown[0].endswith("-a") and shown[1].endswith("-b")
    for row, name in zip(rows, names):
        assert model.tooltip(row).startswith(name + "\n")  # the whole name


def test_control_characters_in_a_key_are_shown_escaped(qtbot, window, moto, boto):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    boto("s3").create_bucket(Bucket="odd-bucket")
    # S3 takes such a key, but moto's server routes no URL path with a newline in it: the object is
    # put into moto's store directly (the server in this process serves it), and listed over HTTP
    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object("odd-bucket", "bad\nname\x07.txt", b"x")
    model = window.model
    storage = child_by_label(model, project_on_moto(window, moto, "Odd"), "Storage")
    open_in_tree(qtbot, window, storage)
    bucket = child_by_label(model, storage, "odd-bucket")
    open_in_tree(qtbot, window, bucket)
    row = model.index(0, 0, bucket)
    assert model.element(row).label == "bad\nname\x07.txt"  # the element keeps the real key
    assert model.data(row) == "bad\\nname\\x07.txt"
    window.tree.setCurrentIndex(row)
    shown = shown_properties(window)
    assert shown["Name"] == "bad\\nname\\x07.txt" and shown["Key"] == "bad\\nname\\x07.txt"
    assert not any("\n" in text or "\x07" in text for text in shown.values())


CONSOLE_SCRIPT = r"""
import sys, tempfile, time

from gridclient.paths import AppPaths
from gridclient.secrets import MemoryKeyring, SecretStore
from ui.app import build, make_app

app = make_app()
wb, win = build(AppPaths.under(tempfile.mkdtemp()), secrets=SecretStore(MemoryKeyring()))
win.show()
win.console_dock.show()
win.console_dock.raise_()
deadline = time.monotonic() + 60
while win.console is None and time.monotonic() < deadline:
    app.processEvents()
if not win.console:
    sys.exit("the console did not start")
win.console.execute("print('projects', len(workspace.projects))")
while "projects 0" not in win.console._control.toPlainText() and time.monotonic() < deadline:
    app.processEvents()
print("console ran:", "projects 0" in win.console._control.toPlainText())
win.close()
app.processEvents()
wb.close()
"""

#: what Qt's offscreen platform (the tests' only display) says of every window it shows; not ours
OFFSCREEN_NOTE = "This plugin does not support propagateSizeHints()"


def test_the_python_console_opens_without_warnings_on_stderr(tmp_path):
    """Debugger warnings print once per process, so the window is made in a process of its own,
    run from a file as the app is, with Python's warnings shown as in development (-W default)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("PYDEVD_DISABLE_FILE_VALIDATION", "PYTHONWARNINGS")}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               IPYTHONDIR=str(tmp_path / "ipython"))
    repo = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
    script = tmp_path / "open_console.py"
    script.write_text(CONSOLE_SCRIPT)
    done = subprocess.run([sys.executable, "-W", "default", str(script)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "console ran: True" in done.stdout, done.stdout + done.stderr
    stderr = "\n".join(line for line in done.stderr.splitlines() if line.strip() != OFFSCREEN_NOTE)
    assert "Debugger warning" not in stderr and "frozen modules" not in stderr
    assert stderr.strip() == "", stderr  # no other warning either


def test_an_outcome_with_something_to_copy_is_copied_and_says_so(window):
    from PySide6.QtGui import QGuiApplication

    from gridclient.actions import ActionOutcome

    action = window.wb.registry.actions["aws.s3.presign"]
    url = "http://127.0.0.1:9/b/k?X-Amz-Signature=abc"
    QGuiApplication.clipboard().setText("before")
    window._action_ended(ActionOutcome(action, (), "done", "A link for the download of s3://b/k, valid for 1 hour.",
                                       copy=url), [])
    assert QGuiApplication.clipboard().text() == url
    assert window.statusBar().currentMessage() == ("A link for the download of s3://b/k, valid for 1 hour. "
                                                    "Copied to the clipboard.")
