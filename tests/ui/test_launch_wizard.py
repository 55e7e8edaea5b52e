"""The launch wizard in the window, on the demo sandbox, driven the way a person does: Launch
instance… on Computing, the image, a page at a time (Next disabled with the reason while a page
has a problem), the review with the command line, then the new instance in the tree and an SSH
login into it with the key pair made on the way."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QLineEdit, QMenu, QMessageBox, QWizard

from providers.aws import launch as L
from tests.ui.test_project_model import child_by_label
from tests.ui.test_window_state import close_window, expand_in_view
from ui.app import build
from ui.forms import FieldsDialog, FieldsWizard

pytest.importorskip("moto.server")


def labels(model, parent):
    return [model.element(model.index(r, 0, parent)).label for r in range(model.rowCount(parent))]


class Person:
    """Answers the dialogs as they come up (every 50 ms): what it saw is kept for the test."""

    def __init__(self, keys_folder: str):
        self.keys_folder = keys_folder
        self.seen: list[str] = []
        self.next_blocked: list[str] = []
        self.review = ""
        self.timer = QTimer()
        self.timer.timeout.connect(self.step)
        self.timer.start(50)

    def step(self) -> None:
        w = QApplication.activeModalWidget()
        if isinstance(w, FieldsDialog) and "image" not in self.seen:
            self.seen.append("image")
            w.accept()  # the newest of the account's own images
        elif isinstance(w, FieldsWizard):
            self.wizard(w)
        elif isinstance(w, QMessageBox) and w.button(QMessageBox.StandardButton.Yes) is not None \
                and "review" not in self.seen:
            self.seen.append("review")
            self.review = w.text()
            w.button(QMessageBox.StandardButton.Yes).click()
        elif isinstance(w, (QDialog, QMessageBox)) and not isinstance(w, FieldsWizard):
            self.seen.append(f"unexpected: {w.windowTitle()}: {getattr(w, 'text', lambda: '')()}")
            w.reject()  # not what the test expects: closed, so the test fails instead of hanging

    def wizard(self, wiz: FieldsWizard) -> None:
        page = wiz.currentPage()
        form = page.form
        title = page.title()
        if title == "Key pair" and title not in self.seen:
            self.seen.append(title)
            mode = form.widgets["key_mode"]
            assert isinstance(mode, QComboBox)
            mode.setCurrentText(L.KEY_NEW)
            form.widgets["key_folder"].edit.setText(self.keys_folder)
            form.widgets["new_key"].setText("bad/name")  # refused as typed: Next is disabled
            self.next_blocked.append(page.problem.text() if not wiz.button(QWizard.WizardButton.NextButton)
                                     .isEnabled() else "")
            form.widgets["new_key"].setText("launched-key")
        elif title == "Firewall" and title not in self.seen:
            self.seen.append(title)
            form.widgets["group_mode"].setCurrentText(L.GROUP_NEW)
            cidr = form.widgets["ssh_from"]
            assert isinstance(cidr, QLineEdit)
            cidr.setText("300.1.2.3/32")
            self.next_blocked.append(page.problem.text() if not wiz.button(QWizard.WizardButton.NextButton)
                                     .isEnabled() else "")
            cidr.setText("127.0.0.1/32")
        elif title == "Details" and title not in self.seen:
            self.seen.append(title)
            form.widgets["name"].setText("launched-1")
        if wiz.button(QWizard.WizardButton.FinishButton).isVisible():
            if wiz.button(QWizard.WizardButton.FinishButton).isEnabled():
                wiz.accept()
        elif wiz.button(QWizard.WizardButton.NextButton).isEnabled():
            if page.title() not in self.seen:
                self.seen.append(page.title())
            wiz.next()


def test_launch_from_computing_then_log_into_the_new_instance(qtbot, app_paths, demo_sandbox, tmp_path):
    from gridclient.secrets import MemoryKeyring, SecretStore

    demo_sandbox.reseed()
    wb, win = build(app_paths, secrets=SecretStore(MemoryKeyring()), sandbox=demo_sandbox)
    qtbot.addWidget(win)
    win.show()
    try:
        model = win.model
        project = model.index(0, 0)
        computing = child_by_label(model, project, "Computing")
        expand_in_view(qtbot, win, computing)
        assert "launched-1" not in labels(model, computing)
        win.tree.setCurrentIndex(computing)
        menu = QMenu()
        win._fill_actions(menu)
        launch = next(a for a in menu.actions() if a.objectName() == "action:aws.ec2.launch")
        person = Person(str(tmp_path / "keys"))
        launch.trigger()
        qtbot.waitUntil(lambda: "launched-1" in labels(model, computing), timeout=60000)
        person.timer.stop()
        assert person.seen[:2] == ["image", "Instance type"]
        assert {"Key pair", "Firewall", "Details", "review"} <= set(person.seen)
        # Next was disabled, with the reason, while a page had a problem
        assert "New key pair's name" in person.next_blocked[0]
        assert "Allow SSH (TCP 22) from" in person.next_blocked[1]
        assert "aws ec2 run-instances" in person.review and "--key-name launched-key" in person.review
        assert (tmp_path / "keys" / "launched-key.pem").exists()
        row = next(model.index(r, 0, computing) for r in range(model.rowCount(computing))
                   if model.element(model.index(r, 0, computing)).label == "launched-1")
        # log in with the key the instance was launched with
        qtbot.waitUntil(lambda: model.element(row).state == "running", timeout=30000) if \
            model.element(row).state != "running" else None
        win.tree.setCurrentIndex(row)
        menu = QMenu()
        win._fill_actions(menu)
        ssh = next(a for a in menu.actions() if a.objectName() == "action:aws.ec2.ssh")
        ssh.trigger()
        qtbot.waitUntil(lambda: win.terminals.count() >= 1 and
                        getattr(win.terminals.widget(win.terminals.count() - 1), "state", "") == "connected",
                        timeout=30000)
        assert not [s for s in person.seen if s.startswith("unexpected")], person.seen
    finally:
        person.timer.stop() if "person" in locals() else None
        win.terminals.close_all()  # else quitting asks about the open session
        close_window(wb, win)
