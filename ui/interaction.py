"""QtInteraction: the core's Interaction protocol with Qt dialogs, safe to call from any thread.

A call from a worker thread is handed to the GUI thread with a blocking queued connection and
waits for the person's answer there; a call on the GUI thread runs directly.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QWidget

from gridclient.interaction import Field


class _Call:
    __slots__ = ("fn", "result", "error")

    def __init__(self, fn: Callable[[], Any]):
        self.fn, self.result, self.error = fn, None, None


class GuiThreadCaller(QObject):
    """Runs a function on the GUI thread and hands its result (or exception) back to the caller,
    which waits; called on the GUI thread, the function runs directly."""

    _invoke = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        app = QApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())  # made on a worker, it must still run things on the GUI
        self._invoke.connect(self._run, Qt.ConnectionType.BlockingQueuedConnection)

    @Slot(object)
    def _run(self, call: _Call) -> None:
        try:
            call.result = call.fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            call.error = exc

    def _on_gui(self, fn: Callable[[], Any]) -> Any:
        app = QApplication.instance()
        if app is None or QThread.currentThread() is app.thread():
            return fn()
        call = _Call(fn)
        self._invoke.emit(call)
        if call.error is not None:
            raise call.error
        return call.result


class QtInteraction(GuiThreadCaller):
    def __init__(self, parent_widget: QWidget | None = None, status: Callable[[str], None] | None = None):
        super().__init__()
        self.parent_widget = parent_widget
        self._status = status

    # -- the Interaction protocol ----------------------------------------------------------
    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        def ask() -> bool:
            box = QMessageBox(QMessageBox.Icon.Question, title, text,
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.parent_widget)
            box.setDefaultButton(QMessageBox.StandardButton.Yes if default else QMessageBox.StandardButton.No)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if command:
                copy_button(box, command)
            return box.exec() == QMessageBox.StandardButton.Yes

        return bool(self._on_gui(ask))

    def offer_command(self, command: Callable[[dict[str, Any]], str]) -> None:
        """The next form's "Copy as command": ``command(values)`` gives the same as a command line
        (the action runner offers it just before it asks an action's fields)."""
        self._command = command

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        command, self._command = getattr(self, "_command", None), None

        def ask() -> dict[str, Any] | None:
            if as_buttons(fields):
                return self._ask_with_buttons(title, fields, text)
            from ui.forms import FieldsDialog, FieldsWizard, pages_of  # loaded with the first question

            if len(pages_of(fields)) > 1:  # fields on several pages: a wizard, a page at a time
                wiz = FieldsWizard(title, fields, text, self.parent_widget)
                return wiz.values() if wiz.exec() == QDialog.DialogCode.Accepted else None
            dlg = FieldsDialog(title, fields, text, self.parent_widget)
            if command is not None:
                form_copy_button(dlg, command, self._status)
            return dlg.form.values() if dlg.exec() == QDialog.DialogCode.Accepted else None

        return self._on_gui(ask)

    def _ask_with_buttons(self, title: str, fields: list[Field], text: str) -> dict[str, Any] | None:
        """One choice of a few, each a button (and "do the same for all" a check box under them):
        what a file manager asks when a target exists, in one click."""
        from PySide6.QtWidgets import QCheckBox

        choice = fields[0]
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton,
                          self.parent_widget)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = {}
        for option in choice.choices:
            buttons[box.addButton(option, QMessageBox.ButtonRole.AcceptRole)] = option
            if option == choice.default:
                box.setDefaultButton(list(buttons)[-1])
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(cancel)
        check = None
        if len(fields) == 2:
            check = QCheckBox(fields[1].label)
            check.setChecked(bool(fields[1].default))
            box.setCheckBox(check)
        box.exec()
        picked = buttons.get(box.clickedButton())
        if picked is None:
            return None
        answer: dict[str, Any] = {choice.name: picked}
        if check is not None:
            answer[fields[1].name] = check.isChecked()
        return answer

    def notify(self, level: str, title: str, text: str) -> None:
        def show() -> None:
            if level == "info" and self._status is not None:
                self._status(f"{title}: {text}")
                return
            icon = QMessageBox.Icon.Critical if level == "error" else (
                QMessageBox.Icon.Warning if level == "warning" else QMessageBox.Icon.Information)
            box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parent_widget)
            box.setModal(False)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()

        self._on_gui(show)


def form_copy_button(dlg: Any, command: Callable[[dict[str, Any]], str],
                     status: Callable[[str], None] | None = None) -> QPushButton:
    """"Copy as command" on an action's form: the command line with the values as they are now."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QDialogButtonBox

    button = dlg.buttons.addButton("Copy as command", QDialogButtonBox.ButtonRole.ActionRole)
    button.setObjectName("copy_command")
    button.setToolTip("The same as a gridclient command line, with the values typed so far")

    def copy() -> None:
        text = command(dlg.form.values())
        if text:
            QGuiApplication.clipboard().setText(text)
            button.setToolTip(text)
            if status is not None:
                status(f"Copied: {text}")

    button.clicked.connect(copy)
    return button


def copy_button(box: QMessageBox, command: str) -> QPushButton:
    """"Copy as command" on a question: puts ``command`` on the clipboard and leaves the question
    open (a message box closes on any of its buttons, so the box's own handling is cut off)."""
    from PySide6.QtGui import QGuiApplication

    button = box.addButton("Copy as command", QMessageBox.ButtonRole.ActionRole)
    button.setObjectName("copy_command")
    button.setToolTip(command)
    button.clicked.disconnect()  # the box's own: it would close

    def copy() -> None:
        QGuiApplication.clipboard().setText(command)
        button.setMinimumWidth(button.width())  # the other buttons stay where the person aims
        button.setText("Copied")

    button.clicked.connect(copy)
    return button


#: a choice longer than this is no button
BUTTON_TEXT_AT_MOST = 40


def as_buttons(fields: list[Field]) -> bool:
    """Whether a question is one fixed choice of two to five short ones (and at most a yes/no
    beside it): then it is asked with a button each, not a form. Long choices (an image with its
    name and date) make unreadable buttons: those are a list."""
    if not fields or len(fields) > 2:
        return False
    first = fields[0]
    if first.kind != "choice" or first.editable or not 2 <= len(first.choices) <= 5:
        return False
    if any(len(c) > BUTTON_TEXT_AT_MOST for c in first.choices):
        return False
    return len(fields) == 1 or fields[1].kind == "bool"


class GuiThreadInteraction(GuiThreadCaller):
    """Wraps any Interaction (a test's ScriptedInteraction, a CLI's) so that each call runs on the
    GUI thread and a worker thread may call it freely."""

    def __init__(self, inner: Any):
        super().__init__()
        self.inner = inner

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        if command:
            return bool(self._on_gui(lambda: self.inner.confirm(title, text, default=default, command=command)))
        return bool(self._on_gui(lambda: self.inner.confirm(title, text, default=default)))

    def ask(self, title: str, fields: list, *, text: str = "") -> dict | None:
        return self._on_gui(lambda: self.inner.ask(title, fields, text=text))

    def notify(self, level: str, title: str, text: str) -> None:
        self._on_gui(lambda: self.inner.notify(level, title, text))


def gui_safe(interaction: Any) -> Any:
    """``interaction`` made safe to call from a worker: ours already are, others get wrapped."""
    if interaction is None or isinstance(interaction, GuiThreadCaller):
        return interaction
    return GuiThreadInteraction(interaction)
