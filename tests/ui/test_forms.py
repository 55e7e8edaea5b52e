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


def _catalog_of(tmp_path, n: int):
    from gridclient.catalog import Catalog

    path = tmp_path / "catalog.sqlite3"
    w = Catalog.at(path).writer("images", ("Image", "Name", "Created"), "images")
    w.add((f"ami-{i:05d}", f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}-{i:05d}",
           (f"ami-{i:05d}", f"{'ubuntu' if i % 3 else 'debian'}-{'arm64' if i % 2 else 'x86_64'}-{i}",
            f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}"), {}) for i in range(n))
    w.commit()
    return str(path)


def test_a_search_field_narrows_its_rows_at_each_keystroke_and_gives_the_chosen_row(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    db = _catalog_of(tmp_path, 3000)
    dlg = FieldsDialog("Launch instance", [Field(
        "image", "Image", kind="search", required=True, editable=False,
        search_from="gridclient.catalog:field_search", search_args=(db, "images"))])
    qtbot.addWidget(dlg)
    field = dlg.form.widgets["image"]
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    # before typing: the newest rows, the first chosen, and how many there are in all
    assert field.rows.topLevelItemCount() == 200 and "3,000 match; the first 200 are shown" in field.status.text()
    assert field.rows.headerItem().text(0) == "Image" and ok.isEnabled()
    newest = field.value()
    assert newest == field.rows.topLevelItem(0).text(0)
    qtbot.keyClicks(field.edit, "debian arm")  # typed as a person types, a search per key
    shown = [field.rows.topLevelItem(i).text(1) for i in range(field.rows.topLevelItemCount())]
    assert shown and all(s.startswith("debian-arm64") for s in shown)
    assert field.status.text() == "500 match; the first 200 are shown — type more to narrow them."
    field.rows.setCurrentItem(field.rows.topLevelItem(3))
    chosen = field.rows.topLevelItem(3).text(0)
    assert dlg.form.values() == {"image": chosen}
    qtbot.keyClicks(field.edit, "64-2")  # "debian arm64-2…": the chosen row still matches? kept if so
    still = [field.rows.topLevelItem(i).text(0) for i in range(field.rows.topLevelItemCount())]
    assert dlg.form.values()["image"] == (chosen if chosen in still else still[0])
    field.edit.setText("no such image")
    assert field.rows.topLevelItemCount() == 0 and field.status.text() == "No match."
    assert not ok.isEnabled() and dlg.form.values() == {"image": ""}
    field.edit.clear()
    qtbot.keyClick(field.edit, Qt.Key.Key_A)
    assert ok.isEnabled()


def test_an_editable_search_field_gives_what_was_typed(qtbot, tmp_path):
    db = _catalog_of(tmp_path, 100)
    dlg = FieldsDialog("Search image catalog", [Field(
        "query", "Search", kind="search", editable=True, default="ubuntu",
        search_from="gridclient.catalog:field_search", search_args=(db, "images"))])
    qtbot.addWidget(dlg)
    field = dlg.form.widgets["query"]
    assert field.edit.text() == "ubuntu" and field.rows.topLevelItemCount() == 66  # searched at once
    qtbot.keyClicks(field.edit, " x86")
    assert dlg.form.values() == {"query": "ubuntu x86"}
    assert field.rows.topLevelItemCount() == 33


def test_a_search_that_fails_is_said_under_the_field(qtbot, tmp_path):
    dlg = FieldsDialog("Search", [Field("q", "Search", kind="search", search_from="gridclient.catalog:nothing_here")])
    qtbot.addWidget(dlg)
    assert dlg.form.widgets["q"].status.text().startswith("No match. The list cannot be searched:")


def test_a_lines_field_keeps_what_was_typed_with_its_newlines(qtbot):
    dlg = FieldsDialog("Launch", [Field("script", "Script", kind="lines", required=True)])
    qtbot.addWidget(dlg)
    box = dlg.form.widgets["script"]
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    box.setPlainText("#!/bin/sh\n  echo indented\n")
    assert dlg.form.values() == {"script": "#!/bin/sh\n  echo indented\n"} and ok.isEnabled()
    dlg.form.set_values({"script": "other"})
    assert box.toPlainText() == "other"


def test_copy_as_command_copies_and_leaves_the_question_open(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

    from ui.interaction import QtInteraction

    QGuiApplication.clipboard().clear()
    seen = {}

    def press():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        copy = box.findChild(QPushButton, "copy_command")
        copy.click()
        seen["open_after_copy"] = box.isVisible()
        seen["label"] = copy.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(300, press)
    cmd = "aws ec2 run-instances --image-id ami-1 --user-data '#!/bin/sh\necho hi'"
    assert QtInteraction().confirm("Launch instance", "Launch?", command=cmd) is True
    assert seen == {"open_after_copy": True, "label": "Copied"}
    assert QGuiApplication.clipboard().text() == cmd


def test_arrow_keys_in_a_search_field_move_through_its_rows(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    db = _catalog_of(tmp_path, 50)
    dlg = FieldsDialog("Launch instance", [Field(
        "image", "Image", kind="search", required=True, editable=False,
        search_from="gridclient.catalog:field_search", search_args=(db, "images"))])
    qtbot.addWidget(dlg)
    field = dlg.form.widgets["image"]
    field.edit.setFocus()
    qtbot.keyClick(field.edit, Qt.Key.Key_Down)
    qtbot.keyClick(field.edit, Qt.Key.Key_Down)
    assert dlg.form.values()["image"] == field.rows.topLevelItem(2).text(0)
    qtbot.keyClick(field.edit, Qt.Key.Key_Up)
    assert dlg.form.values()["image"] == field.rows.topLevelItem(1).text(0)
    qtbot.keyClicks(field.edit, "debian")  # typing still goes to the line
    assert field.edit.text() == "debian"
