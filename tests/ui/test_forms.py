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
    assert "Computing (under aws)" in text and "Actions: Launch instance…" in text and "SSH login…" in text
    # the demo sandbox contributes no VO type, tree or action: it says what it does give
    sandbox = text[text.index("Demo sandbox (moto"):]
    assert "Demo sandbox (gridclient --demo): AWS on moto, with SSH on loopback" in sandbox
    assert "VO types: —" not in text and "Actions: —" not in text


def test_fields_on_several_pages_are_asked_a_page_at_a_time(qtbot):
    """A form whose fields name pages is a wizard: Next is disabled, with the reason under the form,
    while the page has a problem; the values of every page come back together."""
    from PySide6.QtWidgets import QWizard

    from ui.forms import FieldsWizard

    fields = [Field("name", "Name", required=True, page="First"),
              Field("cidr", "From", required=True, default="10.0.0.0/8", check="providers.aws.access_checks:cidr_problem",
                    page="Second"),
              Field("more", "More", kind="bool", page="Second")]
    wiz = FieldsWizard("Two pages", fields, "Some text")
    qtbot.addWidget(wiz)
    wiz.show()
    nxt = wiz.button(QWizard.WizardButton.NextButton)
    assert [p.title() for p in wiz.pages] == ["First", "Second"]
    assert not nxt.isEnabled() and "Name is needed." in wiz.pages[0].problem.text()
    wiz.pages[0].form.widgets["name"].setText("web")
    assert nxt.isEnabled() and wiz.pages[0].problem.text() == ""
    wiz.next()
    finish = wiz.button(QWizard.WizardButton.FinishButton)
    wiz.pages[1].form.widgets["cidr"].setText("10.0.0.300/8")
    assert not finish.isEnabled() and "From:" in wiz.pages[1].problem.text()
    wiz.pages[1].form.widgets["cidr"].setText("10.1.0.0/16")
    assert finish.isEnabled()
    assert wiz.values() == {"name": "web", "cidr": "10.1.0.0/16", "more": False}


def test_a_long_choice_filters_as_typed_and_text_not_in_it_is_a_problem(qtbot):
    from ui.forms import FILTER_FROM, FieldForm

    choices = tuple(f"t3.size{i} — {i} vCPU, {i * 2} GiB" for i in range(FILTER_FROM + 5))
    form = FieldForm([Field("type", "Instance type", kind="choice", choices=choices, editable=False)])
    qtbot.addWidget(form)
    box = form.widgets["type"]
    assert box.isEditable()  # typing filters
    box.setEditText("no such type")
    assert form.problems() == ["Instance type: choose one of the list (“no such type” is not one of its entries)."]
    box.setCurrentText(choices[3])
    assert form.problems() == []


def test_a_few_short_choices_are_buttons_long_ones_a_list():
    from ui.interaction import as_buttons

    short = Field("c", "C", kind="choice", choices=("Overwrite", "Skip", "Rename"), editable=False)
    long = Field("image", "Image", kind="choice",
                 choices=("ami-0123456789abcdef0 — ubuntu-24.04-server (x86_64, 2026-11-01)", "ami-1 — other"),
                 editable=False)
    assert as_buttons([short]) and not as_buttons([long])
