"""File → New → Virtual Organisation…: type → fields (rendered from the VO type) → Test → Finish."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QThreadPool, Qt, Slot
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout, QWidget,
                               QWizard, QWizardPage)

from gridclient.registry import VOType, resolve
from gridclient.secrets import WrongMasterPassword
from gridclient.storage.manifest import LOCAL
from gridclient.workbench import Workbench
from gridclient.workspace import VirtualOrganization
from ui.forms import FieldForm
from ui.worker import Worker

ERROR_STYLE = "color: #c62828"
#: where the settings of a VO still being made are changed, after an error they cause
SETTINGS_PLACE = "Go Back to change them."


def test_connection(wb: Workbench, vo: VirtualOrganization, secrets: dict, serial: int) -> tuple[int, bool, str]:
    """On a worker: the VO type's connection test, as (serial, ok, sentence)."""
    try:
        return serial, True, wb.tokens.test(vo, secrets)
    except Exception as exc:  # noqa: BLE001 - shown to the person
        return serial, False, wb.tokens.explain(vo, exc, settings_place=SETTINGS_PLACE)


class TypePage(QWizardPage):
    def __init__(self, wizard: "VOWizard"):
        super().__init__()
        self.w = wizard
        self.setTitle("Virtual Organisation")
        self.setSubTitle("Choose the kind of cloud account and give it a name.")
        v = QVBoxLayout(self)
        self.types = QListWidget()
        self.types.setObjectName("voTypeList")
        for vt in wizard.wb.registry.vo_types.values():
            if vt.id == LOCAL:  # this computer: always there, not an account to add
                continue
            item = QListWidgetItem(vt.label)
            item.setData(Qt.ItemDataRole.UserRole, vt.id)
            item.setToolTip(vt.description)
            self.types.addItem(item)
        self.types.setCurrentRow(0)
        self.description = QLabel()
        self.description.setWordWrap(True)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("voName")
        self.name.setPlaceholderText("e.g. work-aws, eucalyptus-lab")
        form.addRow("Name *", self.name)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet(ERROR_STYLE)
        v.addWidget(QLabel("Type:"))
        v.addWidget(self.types)
        v.addWidget(self.description)
        v.addLayout(form)
        v.addWidget(self.problem)
        self.types.currentRowChanged.connect(self._changed)
        self.name.textChanged.connect(self._changed)
        self.name.textEdited.connect(wizard.mark_touched)
        if wizard.editing is not None:
            self.name.setText(wizard.editing.name)
            for i in range(self.types.count()):
                if self.types.item(i).data(Qt.ItemDataRole.UserRole) == wizard.editing.type:
                    self.types.setCurrentRow(i)
            self.types.setEnabled(False)
        self._changed()

    def type_id(self) -> str:
        item = self.types.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""

    def problems(self) -> list[str]:
        out = []
        if not self.type_id():
            out.append("No provider offers a VO type (see Help → Providers).")
        ignore = self.w.editing.id if self.w.editing else None
        why = self.w.wb.workspace.check_name(self.name.text(), self.w.wb.workspace.vos, ignore)
        if why:
            out.append(why)
        return out

    def _changed(self) -> None:
        vt = self.w.wb.registry.vo_types.get(self.type_id())
        self.description.setText(vt.description if vt else "")
        self.problem.setText("\n".join(self.problems()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.problems()


class FieldsPage(QWizardPage):
    """All fields of the VO type, grouped by their page name, with inline validation."""

    def __init__(self, wizard: "VOWizard"):
        super().__init__()
        self.w = wizard
        self.setTitle("Account and endpoint")
        self.v = QVBoxLayout(self)
        self.form: FieldForm | None = None
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setWordWrap(True)
        self.built_for = ""

    def initializePage(self) -> None:
        secrets = self.w.wb.secrets
        if not secrets.safe:  # where the system has no keyring, say so before Finish
            self.setSubTitle("This system has no keyring service: secrets will be kept in an encrypted "
                             "file with a master password (asked on Finish), or choose credentials "
                             "the app does not keep (a named profile). Fields marked * are needed.")
        else:
            self.setSubTitle(f"Secrets go to {secrets.place()}; never to a file in plain text. "
                             "Fields marked * are needed.")
        type_id = self.w.type_page.type_id()
        if self.built_for == type_id and self.form is not None:
            return
        if self.form is not None:
            self.form.setParent(None)
        vt: VOType = self.w.wb.registry.vo_types[type_id]
        editing = self.w.editing
        self.form = FieldForm(vt.fields, self, values=dict(editing.settings) if editing else None,
                              secret_placeholder="unchanged — type to replace" if editing else "",
                              stored_secrets=editing.secret_fields if editing else None)
        self.v.insertWidget(0, self.form)
        self.v.addWidget(self.problem)
        self.form.changed.connect(self._changed)
        self.form.changed.connect(self.w.mark_touched)
        self.built_for = type_id
        self._changed()

    def problems(self) -> list[str]:
        if self.form is None:
            return []
        out = self.form.problems(optional_secrets=self.w.editing is not None)
        vt = self.w.wb.registry.vo_types.get(self.built_for)
        if vt is not None and vt.validator:
            out += list(resolve(vt.validator)(self.form.values()))
        return out

    def _changed(self) -> None:
        self.problem.setText("\n".join(self.problems()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.form is not None and not self.problems()


class TestPage(QWizardPage):
    def __init__(self, wizard: "VOWizard"):
        super().__init__()
        self.w = wizard
        self.setTitle("Test connection")
        v = QVBoxLayout(self)
        self.button = QPushButton("Test connection")
        self.button.setObjectName("testConnection")
        self.result = QLabel("Not tested yet.")
        self.result.setObjectName("testResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.button)
        v.addWidget(self.result)
        v.addStretch(1)
        self.serial = 0
        self.button.clicked.connect(self.run_test)
        self.ok: bool | None = None

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Coming (back) to this page: a result shown was for the settings as they were then."""
        vt = self.w.wb.registry.vo_types.get(self.w.type_page.type_id())
        checks = vt.test_description if vt is not None and vt.test_description else \
            "Connects with these settings."
        self.setSubTitle(f"{checks} You may finish without testing.")
        self.serial += 1  # a test still running answers for old settings: ignored
        self.ok = None
        self.button.setEnabled(True)
        self.result.setStyleSheet("")
        self.result.setText("Not tested yet.")

    @Slot()
    def run_test(self) -> None:
        self.serial += 1
        self.ok = None
        self.result.setStyleSheet("")
        self.result.setText("Testing…")
        self.button.setEnabled(False)
        vo, secrets = self.w.draft()
        worker = Worker(test_connection, self.w.wb, vo, secrets, self.serial, parent=self)
        worker.returned.connect(self._done)
        worker.start(self.w.pool)

    @Slot(object)
    def _done(self, answer: tuple[int, bool, str]) -> None:
        serial, ok, text = answer
        if serial != self.serial:
            return
        self.ok = ok
        self.button.setEnabled(True)
        self.result.setStyleSheet("color: #2e7d32" if ok else ERROR_STYLE)
        self.result.setText(("✔ " if ok else "✘ ") + text)


class VOWizard(QWizard):
    def __init__(self, wb: Workbench, parent: QWidget | None = None, editing: VirtualOrganization | None = None,
                 pool: QThreadPool | None = None):
        super().__init__(parent)
        self.wb = wb
        self.editing = editing
        self.pool = pool  # None: ui.worker's pool for network work
        self.created: VirtualOrganization | None = None
        self.setObjectName("voWizard")
        self.setWindowTitle("Edit Virtual Organisation" if editing else "New Virtual Organisation")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.type_page = TypePage(self)
        self.fields_page = FieldsPage(self)
        self.test_page = TestPage(self)
        for p in (self.type_page, self.fields_page, self.test_page):
            self.addPage(p)
        self.resize(620, 520)
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.clicked.disconnect()  # QWizard's own connection goes straight to reject()
        cancel.clicked.connect(self._cancel_clicked)

    def values(self) -> dict[str, Any]:
        return self.fields_page.form.values() if self.fields_page.form else {}

    touched = False  # the person typed or chose something

    @Slot()
    def mark_touched(self) -> None:
        self.touched = True

    def _may_discard(self) -> bool:
        if not self.touched or self.created is not None:
            return True
        answer = QMessageBox.question(
            self, self.windowTitle(), "Discard what you entered in this wizard?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    @Slot()
    def _cancel_clicked(self) -> None:
        if self._may_discard():
            self.reject()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Escape, easily hit while typing, does not throw away what was typed without asking.
        (Only the person's Escape and Cancel ask: a close by the program, e.g. on quit, does not.)"""
        if event.key() == Qt.Key.Key_Escape and not self._may_discard():
            event.accept()
            return
        super().keyPressEvent(event)

    def draft(self) -> tuple[VirtualOrganization, dict[str, str]]:
        """A VO (not saved) and its secrets, from what the pages hold now."""
        type_id = self.type_page.type_id()
        settings, secrets = self.wb.split_values(type_id, self.values())
        vo = VirtualOrganization(name=self.type_page.name.text().strip(), type=type_id, settings=settings)
        if self.editing is not None:
            vo.id = self.editing.id
            stored = self.wb.tokens.secrets_of(self.editing)
            secrets = {**stored, **secrets}
        return vo, secrets

    def accept(self) -> None:
        type_id = self.type_page.type_id()
        _, secrets = self.wb.split_values(type_id, self.values())
        if secrets and not self.wb.secrets.safe:
            if not ensure_safe_keyring(self.wb, self):
                return  # stay in the wizard; nothing was saved
        try:
            self.created = self.wb.save_vo(self.type_page.name.text().strip(), type_id, self.values(),
                                           vo=self.editing)
        except Exception as exc:  # noqa: BLE001 - e.g. the keyring refused
            QMessageBox.critical(self, "Could not save", f"The Virtual Organisation was not saved: {exc}")
            return
        super().accept()


class KeyringDialog(QDialog):
    """Shown where the OS has no keyring: explains, and offers only choices that keep secrets safe."""

    def __init__(self, wb: Workbench, parent: QWidget | None = None, unlock_only: bool = False, problem: str = ""):
        super().__init__(parent)
        self.wb = wb
        self.setObjectName("keyringDialog")
        path = wb.secrets_file
        exists = path.exists()
        self.setWindowTitle("Unlock secrets" if unlock_only else "No system keyring")
        v = QVBoxLayout(self)
        no_service = ("This system has no keyring service (such as GNOME Keyring, KWallet or the macOS "
                      "Keychain), and gridclient never stores a secret in plain text.")
        if unlock_only and exists:
            words = ("The secrets of your Virtual Organisations (secret keys, proxy passwords) are kept in "
                     "an encrypted file. Enter its master password to unlock them.\n\nWithout it, VOs "
                     "whose secrets the app keeps cannot connect; VOs that use a named profile still work.")
        elif unlock_only:
            words = (no_service + " Your VOs' secrets were kept in a keyring this system does not offer "
                     "now. Set a master password to keep secrets in an encrypted file from now on, then "
                     "enter the secrets again in Edit → Preferences → Edit.")
        else:
            words = (no_service + " You can:\n\n"
                     "• go back and choose a named profile instead of keys, where the VO type offers "
                     "one (the profile keeps the secret, not gridclient), or\n"
                     "• keep secrets in an encrypted file, protected by a master password"
                     + (": it exists, enter its password." if exists else ": choose the password now."))
        text = QLabel(words)
        text.setWordWrap(True)
        text.setToolTip(f"Keyring backend found: {wb.secrets.describe()}; encrypted file: {path}")
        v.addWidget(text)
        form = QFormLayout()
        self.password = QLineEdit()
        self.password.setObjectName("masterPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Master password:", self.password)
        self.again = QLineEdit()
        self.again.setObjectName("masterPasswordAgain")
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        if not exists:
            form.addRow("&Repeat:", self.again)
        v.addLayout(form)
        self.problem = QLabel()
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setText(problem)
        v.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Unlock" if exists else "Use encrypted file")
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self.exists = exists
        self.path = path

    def _ok(self) -> None:
        pw = self.password.text()
        if not pw:
            self.problem.setText("Enter a master password.")
            return
        if not self.exists and pw != self.again.text():
            self.problem.setText("The two passwords differ.")
            return
        try:
            self.wb.use_master_password(pw)
        except WrongMasterPassword as exc:
            self.problem.setText(str(exc))
            return
        self.accept()


def ensure_safe_keyring(wb: Workbench, parent: QWidget | None = None, unlock_only: bool = False,
                        problem: str = "") -> bool:
    if wb.secrets.safe:
        return True
    return KeyringDialog(wb, parent, unlock_only, problem).exec() == QDialog.DialogCode.Accepted
