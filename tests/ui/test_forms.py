"""Dialogs rendered from declared fields, and Help → Providers."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from gridclient.interaction import Field
from gridclient.registry import ExtensionRegistry
from ui.forms import FieldsDialog
from ui.preferences import ProvidersDialog


def test_a_missing_value_is_said_once_the_person_has_typed(qtbot):
    dlg = FieldsDialog("Search image catalog", [Field("query", "Image name contains", required=True)])
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    # nothing typed yet: OK waits, and no red sentence greets the person
    assert not ok.isEnabled() and dlg.problem.text() == ""
    assert "Image name contains is needed." in ok.toolTip()
    edit = dlg.form.widgets["query"]
    edit.setText("ubuntu")
    assert ok.isEnabled() and dlg.problem.text() == ""
    edit.setText("")
    assert not ok.isEnabled() and dlg.problem.text() == "Image name contains is needed."


def test_providers_dialog_says_what_each_provider_gives(qtbot):
    dlg = ProvidersDialog(ExtensionRegistry().discover())
    qtbot.addWidget(dlg)
    text = dlg.text.toPlainText()
    assert "Computing (under aws)" in text and "Actions: SSH login…" in text
    # the demo sandbox contributes no VO type, tree or action: it says what it does give
    sandbox = text[text.index("Demo sandbox (moto"):]
    assert "Demo sandbox (gridclient --demo): AWS on moto, with SSH on loopback" in sandbox
    assert "VO types: —" not in text and "Actions: —" not in text
