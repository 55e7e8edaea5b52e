"""A form's search field (``Field(kind="search")``): a line to type in and the matching rows of a
big list under it (a region's 25,000 public images), searched again at every keystroke.

The search (``Field.search_from``) answers from memory in a few milliseconds (gridclient.catalog),
so it runs here, on the GUI thread, as typed; the time it took is kept in ``last_ms`` (the
benchmark reads it). Only the first rows a search gives are shown, with how many match in all.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from gridclient.interaction import Field, Matches
from gridclient.registry import resolve


_MOVES = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class SearchField(QWidget):
    changed = Signal()

    def __init__(self, field: Field, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = field
        self.last_ms = 0.0
        self._columns: tuple[str, ...] = ()
        self._fitted = False
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"field_{field.name}_edit")
        self.edit.setPlaceholderText(field.placeholder or "type to filter: every word must appear")
        self.edit.setClearButtonEnabled(True)
        self.rows = QTreeWidget()
        self.rows.setObjectName(f"field_{field.name}_rows")
        self.rows.setRootIsDecorated(False)
        self.rows.setUniformRowHeights(True)
        self.rows.setAlternatingRowColors(True)
        self.rows.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rows.setMinimumSize(760, 260)  # room for an image's id, name, owner, architecture and date
        self.rows.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status = QLabel()
        self.status.setObjectName(f"field_{field.name}_status")
        self.status.setWordWrap(True)
        v.addWidget(self.edit)
        v.addWidget(self.rows, 1)
        v.addWidget(self.status)
        self.edit.textChanged.connect(self._search)
        self.edit.installEventFilter(self)  # ↑ ↓ Page Up/Down in the line move through the rows
        self.rows.currentItemChanged.connect(lambda *_: self.changed.emit())
        if field.default and field.editable:
            self.edit.setText(str(field.default))  # searched as if typed
        else:
            self._search("")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and event.key() in _MOVES:
            QCoreApplication.sendEvent(self.rows, event)
            return True
        return super().eventFilter(obj, event)

    # -- searching ---------------------------------------------------------------------------------
    def _find(self, text: str) -> Matches:
        if not self.field.search_from:
            return Matches((), [], 0, "Nothing to search.")
        try:
            return resolve(self.field.search_from)(text, *self.field.search_args)
        except Exception as exc:  # noqa: BLE001 - a search that fails is said under the field
            return Matches((), [], 0, f"The list cannot be searched: {exc}")

    def _search(self, text: str) -> None:
        before = self.value() if not self.field.editable else None
        t0 = time.perf_counter()
        found = self._find(text)
        self._show(found)
        self.last_ms = (time.perf_counter() - t0) * 1000
        if not self.field.editable:  # keep the chosen row when it still matches, else the newest
            blocked = self.rows.blockSignals(True)  # one "changed" below, not one more per choice
            try:
                self.select(before if before else "") or self.select_row(0)
            finally:
                self.rows.blockSignals(blocked)
        self.changed.emit()

    def _show(self, found: Matches) -> None:
        rows = self.rows
        rows.setUpdatesEnabled(False)
        try:
            fit = found.columns != self._columns or (not self._fitted and found.rows)
            if found.columns != self._columns:
                self._columns = found.columns
                rows.setColumnCount(max(1, len(found.columns)))
                rows.setHeaderLabels(list(found.columns) or [""])
            rows.clear()
            rows.addTopLevelItems([QTreeWidgetItem(list(r)) for r in found.rows])
            if fit:  # widths fitted once, to the first rows: fitting at every keystroke took up to 0.4 s
                header = rows.header()
                header.setStretchLastSection(False)  # the name takes the room; the others their text's
                header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)
                header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
                if len(found.columns) > 1:
                    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
                self._fitted = bool(found.rows)
        finally:
            rows.setUpdatesEnabled(True)
        shown, total = len(found.rows), found.total
        said = ("No match." if total == 0 else f"{total:,} match." if total == shown
                else f"{total:,} match; the first {shown:,} are shown — type more to narrow them.")
        self.status.setText(f"{said} {found.note}".strip())

    # -- the value -------------------------------------------------------------------------------------
    def select(self, value: str) -> bool:
        """Choose the row whose value (first column) is ``value``; False when none shows it."""
        if not value:
            return False
        for i in range(self.rows.topLevelItemCount()):
            if self.rows.topLevelItem(i).text(0) == value:
                self.rows.setCurrentItem(self.rows.topLevelItem(i))
                return True
        return False

    def select_row(self, n: int) -> bool:
        item = self.rows.topLevelItem(n)
        if item is None:
            return False
        self.rows.setCurrentItem(item)
        return True

    def value(self) -> str:
        if self.field.editable:
            return self.edit.text().strip()
        item = self.rows.currentItem()
        return item.text(0) if item is not None else ""

    def set_value(self, value: Any) -> None:
        if self.field.editable:
            self.edit.setText(str(value))
        elif not self.select(str(value)):
            self.edit.setText(str(value))  # a value not among the newest: found by its id
            self.select(str(value))
