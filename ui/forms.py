"""Forms rendered from declared Fields, so a provider adds a VO type or an action without Qt code."""

from __future__ import annotations

from typing import Any, Collection
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QCompleter, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget, QWizard, QWizardPage)

from gridclient.interaction import Field
from gridclient.registry import resolve
from ui.search_field import SearchField


def url_problem(text: str) -> str:
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"“{text}” is not a URL like https://host:port."
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"“{text}” has a bad port number."
    return ""


#: a choice of more entries than this is filtered by typing
FILTER_FROM = 20


class FieldForm(QWidget):
    """One QFormLayout of widgets, one per Field; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, fields: list[Field] | tuple[Field, ...], parent: QWidget | None = None,
                 values: dict[str, Any] | None = None, secret_placeholder: str = "",
                 stored_secrets: Collection[str] | None = None):
        """``secret_placeholder`` shows in the secret fields named in ``stored_secrets`` (all
        secret fields when that is None): "unchanged — type to replace" only where one is kept."""
        super().__init__(parent)
        self.stored_secrets = None if stored_secrets is None else set(stored_secrets)
        self.fields = list(fields)
        self.widgets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for f in self.fields:
            w = self._make(f, secret_placeholder)
            w.setObjectName(f"field_{f.name}")
            if f.help:
                w.setToolTip(f.help)
            label = QLabel(f.label + ("" if not f.required else " *"))
            label.setBuddy(w)
            self.labels[f.name] = label
            self.widgets[f.name] = w
            self.layout_.addRow(label, w)
        if values:
            self.set_values(values)
        self._update_visibility()

    def _kept(self, name: str) -> bool:
        """A secret of this name is stored already (all are, when the form was not told which)."""
        return self.stored_secrets is None or name in self.stored_secrets

    def _make(self, f: Field, secret_placeholder: str) -> QWidget:
        if f.kind == "choice":
            w = QComboBox()
            w.setEditable(f.editable)
            choices = list(f.choices)
            if f.choices_from:
                try:
                    choices = list(resolve(f.choices_from)())
                except Exception:  # a choice list that fails leaves the field free-text
                    w.setEditable(True)
            w.addItems(choices)
            if len(choices) > FILTER_FROM and not f.editable:
                # a long list (instance types, images) is filtered by what is typed, anywhere in
                # an entry ("16 GiB", "arm64"); a text that is no entry is a problem, not a value
                w.setEditable(True)
                w.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
                w.completer().setFilterMode(Qt.MatchFlag.MatchContains)
                w.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            if f.default is not None:
                w.setCurrentText(str(f.default))
            w.currentTextChanged.connect(self._on_change)
            return w
        if f.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(f.default))
            w.toggled.connect(self._on_change)
            return w
        if f.kind == "int":
            w = QSpinBox()
            w.setRange(0, 1_000_000)
            w.setValue(int(f.default or 0))
            w.valueChanged.connect(self._on_change)
            return w
        if f.kind in ("path", "folder", "files"):
            return self._path_field(f)
        if f.kind == "search":
            w = SearchField(f)
            w.changed.connect(self._on_change)
            return w
        if f.kind == "lines":
            w = QPlainTextEdit(str(f.default or ""))
            w.setPlaceholderText(f.placeholder)
            w.setTabChangesFocus(True)
            w.setMinimumHeight(90)
            w.textChanged.connect(self._on_change)
            return w
        w = QLineEdit(str(f.default or ""))
        w.setPlaceholderText(secret_placeholder if f.secret and secret_placeholder and self._kept(f.name)
                             else f.placeholder)
        if f.secret:
            w.setEchoMode(QLineEdit.EchoMode.Password)
        w.textChanged.connect(self._on_change)
        return w

    def _path_field(self, f: Field) -> QWidget:
        """A path with Browse…: one file ("path"), a folder ("folder"), or several files ("files",
        typed as one path a line is impossible in a line edit: the chosen files are kept aside and
        the edit shows their names)."""
        box = QWidget()
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(str(f.default or ""))
        edit.setPlaceholderText(f.placeholder)
        edit.setObjectName(f"field_{f.name}_edit")
        box.edit = edit  # type: ignore[attr-defined]
        box.paths = []  # type: ignore[attr-defined]
        browse = QPushButton("Browse…")

        def choose() -> None:
            import os

            start = os.path.expanduser(edit.text()) if f.kind == "folder" else ""
            if not start or not os.path.isdir(start):
                start = os.path.expanduser("~")  # not the folder the app was started in
            if f.kind == "folder":
                chosen = QFileDialog.getExistingDirectory(self, f.label, start)
                if chosen:
                    edit.setText(chosen)
            elif f.kind == "files":
                chosen_files = QFileDialog.getOpenFileNames(self, f.label, start)[0]
                if chosen_files:
                    box.paths = list(chosen_files)  # type: ignore[attr-defined]
                    edit.setText("; ".join(chosen_files))
            else:
                edit.setText(QFileDialog.getOpenFileName(self, f.label, start)[0] or edit.text())

        browse.clicked.connect(choose)
        edit.textChanged.connect(self._on_change)
        h.addWidget(edit)
        h.addWidget(browse)
        return box

    def _on_change(self, *_args) -> None:
        self._update_visibility()
        self.changed.emit()

    def _update_visibility(self) -> None:
        values = self.raw_values()
        for f in self.fields:
            visible = f.applies(values)
            self.widgets[f.name].setVisible(visible)
            self.labels[f.name].setVisible(visible)

    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            w = self.widgets[f.name]
            if isinstance(w, QComboBox):
                out[f.name] = w.currentText().strip()
            elif isinstance(w, QCheckBox):
                out[f.name] = w.isChecked()
            elif isinstance(w, QSpinBox):
                out[f.name] = w.value()
            elif isinstance(w, QLineEdit):
                out[f.name] = w.text() if f.secret else w.text().strip()
            elif isinstance(w, SearchField):
                out[f.name] = w.value()
            elif isinstance(w, QPlainTextEdit):
                out[f.name] = w.toPlainText()  # as typed: a script's whitespace matters
            elif f.kind == "files":
                text = w.edit.text().strip()  # type: ignore[attr-defined]
                chosen = w.paths  # type: ignore[attr-defined]
                out[f.name] = chosen if chosen and text == "; ".join(chosen) else [p.strip() for p in text.split(";")
                                                                                  if p.strip()]
            else:
                out[f.name] = w.edit.text().strip()  # type: ignore[attr-defined]
        return out

    def values(self) -> dict[str, Any]:
        """Values of the fields that apply (a field shown only for another mode is left out)."""
        raw = self.raw_values()
        return {f.name: raw[f.name] for f in self.fields if f.applies(raw)}

    def set_values(self, values: dict[str, Any]) -> None:
        for f in self.fields:
            if f.name not in values or values[f.name] is None:
                continue
            w, v = self.widgets[f.name], values[f.name]
            if isinstance(w, QComboBox):
                if w.findText(str(v)) < 0:
                    w.addItem(str(v))
                w.setCurrentText(str(v))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QSpinBox):
                w.setValue(int(v))
            elif isinstance(w, QLineEdit):
                w.setText(str(v))
            elif isinstance(w, SearchField):
                w.set_value(v)
            elif isinstance(w, QPlainTextEdit):
                w.setPlainText(str(v))
            elif isinstance(v, (list, tuple)):
                w.paths = [str(p) for p in v]  # type: ignore[attr-defined]
                w.edit.setText("; ".join(w.paths))  # type: ignore[attr-defined]
            else:
                w.edit.setText(str(v))  # type: ignore[attr-defined]
        self._update_visibility()

    def problems(self, optional_secrets: bool = False) -> list[str]:
        """Why the form cannot be accepted yet, one sentence per problem."""
        out = []
        raw = self.raw_values()
        for f in self.fields:
            if not f.applies(raw):
                continue
            v = raw[f.name]
            if f.secret and optional_secrets and self._kept(f.name) and v in (None, "", []):
                continue  # a secret kept already: left empty, it stays
            if f.kind == "url" and v:
                p = url_problem(v)
                if p:
                    out.append(f"{f.label}: {p}")
                continue
            p = f.problem(v)
            if p:
                out.append(p)
        return out


class FieldsDialog(QDialog):
    """Asks for several values (Interaction.ask); OK is disabled while a value is missing."""

    def __init__(self, title: str, fields: list[Field], text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)  # room for a path, a bucket URI, a problem sentence on one line
        v = QVBoxLayout(self)
        if text:
            lab = QLabel(text)
            lab.setWordWrap(True)
            v.addWidget(lab)
        self.form = FieldForm(fields, self)
        v.addWidget(self.form)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c62828")
        self.problem.setWordWrap(True)
        v.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.touched = False  # what is missing is said once the person has typed or chosen something
        self.form.changed.connect(self._edited)
        self._check()

    def _edited(self) -> None:
        self.touched = True
        self._check()

    def _check(self) -> None:
        problems = self.form.problems()
        self.problem.setText("\n".join(problems) if self.touched else "")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not problems)
        ok.setToolTip("\n".join(problems))


def pages_of(fields: list[Field]) -> list[str]:
    """The distinct pages of ``fields``, in the order they first appear."""
    seen: list[str] = []
    for f in fields:
        if f.page not in seen:
            seen.append(f.page)
    return seen


class _FieldsPage(QWizardPage):
    def __init__(self, title: str, fields: list[Field], text: str = ""):
        super().__init__()
        self.setTitle(title)
        if text:
            self.setSubTitle(text)
        v = QVBoxLayout(self)
        self.form = FieldForm(fields, self)
        v.addWidget(self.form)
        v.addStretch(1)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c62828")
        self.problem.setWordWrap(True)
        v.addWidget(self.problem)
        self.form.changed.connect(self._check)
        self._check()

    def _check(self) -> None:
        self.problem.setText("\n".join(self.form.problems()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        return not self.form.problems()


class FieldsWizard(QWizard):
    """Asks for fields spread over pages (``Field.page``) one page at a time: Next is disabled,
    with the reason under the form, while the page has a problem; Back keeps what was typed."""

    def __init__(self, title: str, fields: list[Field], text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.setMinimumSize(560, 420)
        self.pages: list[_FieldsPage] = []
        for i, page in enumerate(pages_of(fields)):
            p = _FieldsPage(page, [f for f in fields if f.page == page], text if i == 0 else "")
            p.setObjectName(f"page_{i}")
            self.pages.append(p)
            self.addPage(p)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.pages:
            out.update(p.form.values())
        return out
