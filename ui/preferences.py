"""Edit → Preferences (VOs to edit or delete, live refresh, terminal font) and Help → Providers."""

from __future__ import annotations

from html import escape
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFontComboBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QSpinBox, QTextBrowser, QVBoxLayout,
                               QWidget)

from gridclient.registry import ExtensionRegistry
from gridclient.workbench import Workbench


class PreferencesDialog(QDialog):
    def __init__(self, wb: Workbench, parent: QWidget | None = None,
                 on_terminal_font: Callable[[QFont], None] | None = None):
        super().__init__(parent)
        self.wb = wb
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.resize(560, 420)
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Virtual Organisations"))
        row = QHBoxLayout()
        self.vos = QListWidget()
        self.vos.setObjectName("voList")
        row.addWidget(self.vos, 1)
        buttons = QVBoxLayout()
        self.edit_btn = QPushButton("Edit…")
        self.delete_btn = QPushButton("Delete…")
        new_btn = QPushButton("New…")
        for b in (new_btn, self.edit_btn, self.delete_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        row.addLayout(buttons)
        v.addLayout(row)
        self.live = QCheckBox("Refresh listings live (off: show the cached listing until F5)")
        self.live.setObjectName("liveRefresh")
        self.live.setChecked(bool(wb.workspace.preferences.get("live_refresh", True)))
        v.addWidget(self.live)

        # the terminal font: monospaced families only; applied to open terminals at once
        self._on_terminal_font = on_terminal_font
        pref = wb.workspace.preferences.get("terminal_font") or {}
        current = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font_row = QHBoxLayout()
        font_row.addWidget(QLabel("Terminal font"))
        self.font_family = QFontComboBox()
        self.font_family.setObjectName("terminalFontFamily")
        self.font_family.setFontFilters(QFontComboBox.FontFilter.MonospacedFonts)
        self.font_family.setCurrentFont(QFont(pref.get("family") or current.family()))
        self.font_size = QSpinBox()
        self.font_size.setObjectName("terminalFontSize")
        self.font_size.setRange(6, 48)
        self.font_size.setSuffix(" pt")
        self.font_size.setValue(int(pref.get("size") or 10))
        font_row.addWidget(self.font_family, 1)
        font_row.addWidget(self.font_size)
        v.addLayout(font_row)
        self.font_family.currentFontChanged.connect(lambda _f: self._font_changed())
        self.font_size.valueChanged.connect(lambda _v: self._font_changed())

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        v.addWidget(box)
        new_btn.clicked.connect(self._new)
        self.edit_btn.clicked.connect(self._edit)
        self.delete_btn.clicked.connect(self._delete)
        self.live.toggled.connect(self._live)
        self._fill()

    def _fill(self) -> None:
        self.vos.clear()
        for vo in self.wb.workspace.vos.values():
            where = vo.endpoint_url or "default endpoint"
            item = QListWidgetItem(f"{vo.name} — {vo.type}, {vo.region}, {where}")
            item.setData(Qt.ItemDataRole.UserRole, vo.id)
            self.vos.addItem(item)
        self.vos.setCurrentRow(0)

    def _current(self):
        item = self.vos.currentItem()
        return self.wb.workspace.vos.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _new(self) -> None:
        from ui.vo_wizard import VOWizard

        VOWizard(self.wb, self).exec()
        self._fill()

    def _edit(self) -> None:
        from ui.vo_wizard import VOWizard

        vo = self._current()
        if vo is not None:
            VOWizard(self.wb, self, editing=vo).exec()
            self._fill()

    def _delete(self) -> None:
        vo = self._current()
        if vo is None:
            return
        projects = [p.name for p in self.wb.workspace.projects.values() if p.vo == vo.id]
        text = f"Delete the Virtual Organisation “{vo.name}” and its stored secrets?"
        if projects:
            text += f"\nIts projects are removed too: {', '.join(projects)}."
        if QMessageBox.question(self, "Delete", text) == QMessageBox.StandardButton.Yes:
            self.wb.delete_vo(vo.id)
            self._fill()

    def _font_changed(self) -> None:
        from ui.terminal.tabs import font_from_preference

        pref = {"family": self.font_family.currentFont().family(), "size": self.font_size.value()}
        self.wb.workspace.preferences["terminal_font"] = pref
        self.wb.workspace.save()
        font = font_from_preference(pref)
        if font is not None and self._on_terminal_font is not None:
            self._on_terminal_font(font)

    def _live(self, on: bool) -> None:
        self.wb.workspace.preferences["live_refresh"] = on
        self.wb.workspace.save()


class ProvidersDialog(QDialog):
    """Help → Providers: what loaded, what it contributes, and what failed with its error."""

    def __init__(self, registry: ExtensionRegistry, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("providersDialog")
        self.setWindowTitle("Providers")
        self.resize(640, 420)
        v = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setObjectName("providersText")
        parts = []
        for r in registry.providers:
            if r.ok:
                m = r.manifest
                gives = [(what, ", ".join(names)) for what, names in (
                    ("VO types", [t.label for t in m.vo_types]),
                    ("Tree", [f"{c.label} (under {nc.vo_type})" for nc in m.node_contributors
                              for c in nc.categories]),
                    ("Actions", [a.label for a in m.actions]),
                    ("Storage", [sc.scheme for sc in m.storage_schemes]),
                    ("Demo sandbox (gridclient --demo)", [sb.label for sb in m.sandboxes]),
                ) if names]
                parts.append(
                    f"<h3>✔ {escape(m.name)} <small>({escape(m.id)} {escape(m.version)})</small></h3>"
                    f"<p><code>{escape(r.entry_point)}</code><br>"
                    + "<br>".join(f"{what}: {escape(names)}" for what, names in gives) + "</p>")
            else:
                parts.append(f"<h3 style='color:#c62828'>✘ failed to load</h3><p><code>{escape(r.entry_point)}</code></p>"
                             f"<pre>{escape(r.error)}</pre>")
        self.text.setHtml("".join(parts) or "<p>No providers are installed.</p>")
        v.addWidget(self.text)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        v.addWidget(box)
