"""The window's forms for an action's fields offer "Copy as command" when the runner gives one:
the command line with the values as typed so far, on the clipboard, the form left open."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QWidget

from gridclient.interaction import Field
from ui.interaction import QtInteraction


def test_a_form_copies_its_command_with_the_values_typed(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    interaction = QtInteraction(parent)
    interaction.offer_command(lambda values: f"gridclient thing rename t0 --name {values.get('name', '')!r}")
    seen = {}

    def act() -> None:
        dlg = QApplication.activeModalWidget()
        edit = dlg.findChild(QLineEdit)
        edit.setText("desk lamp")
        button = dlg.findChild(QPushButton, "copy_command")
        button.click()
        seen["clipboard"] = QGuiApplication.clipboard().text()
        seen["open"] = dlg.isVisible()  # copying leaves the form open
        dlg.reject()

    QTimer.singleShot(200, act)
    answer = interaction.ask("Rename", [Field("name", "New name", required=True)])
    assert answer is None  # cancelled after copying
    assert seen == {"clipboard": "gridclient thing rename t0 --name 'desk lamp'", "open": True}

    # offered for one form only: the next question has no such button
    def look() -> None:
        dlg = QApplication.activeModalWidget()
        seen["button"] = dlg.findChild(QPushButton, "copy_command")
        dlg.reject()

    QTimer.singleShot(200, look)
    interaction.ask("Other", [Field("x", "X", required=True)])
    assert seen["button"] is None
