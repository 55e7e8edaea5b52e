"""Properties and Operations docks."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QWidget)

from gridclient.elements import Element
from gridclient.operations import Operation
from ui.project_rows import shown_text


class PropertiesView(QTableWidget):
    """Every attribute of the selected element."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 2, parent)
        self.setObjectName("propertiesView")
        self.setHorizontalHeaderLabels(["Property", "Value"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        # compact rows: a short dock shows more than six properties
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self._shown: tuple[str, str] | None = None

    def show_element(self, el: Element | None, problem: str = "") -> None:
        """Show ``el``; the same element shown again (refreshed) keeps its scroll position, another
        one starts at the top (Name, Id, Kind, State, and why its children are not up to date)."""
        key = None if el is None else (el.kind, el.id)
        same = key is not None and key == self._shown
        self._shown = key
        scroll = self.verticalScrollBar().value()
        self.setRowCount(0)
        if el is None:
            return
        rows = [("Name", el.label), ("Id", el.id), ("Kind", el.kind)]
        if el.state:
            rows.append(("State", el.state))
        if problem:
            rows.append(("Not up to date", f"The last refresh failed: {problem}"))
        rows += [(str(k), "" if v is None else str(v)) for k, v in el.properties.items()]
        self.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            self.setItem(i, 0, QTableWidgetItem(shown_text(k)))
            item = QTableWidgetItem(shown_text(v))
            item.setToolTip(v)
            if k == "Not up to date":
                item.setForeground(Qt.GlobalColor.red)
            self.setItem(i, 1, item)
        self.verticalScrollBar().setValue(scroll if same else 0)


class OperationsBridge(QObject):
    """Operation observers run on worker threads; this turns their calls into a queued signal."""

    changed = Signal(object)

    def __call__(self, op: Operation) -> None:
        self.changed.emit(op)


class OperationsView(QTableWidget):
    """Long-running work with progress and Cancel."""

    COLS = ("Operation", "State", "Progress", "")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(self.COLS), parent)
        self.setObjectName("operationsView")
        self.setHorizontalHeaderLabels(list(self.COLS))
        header = self.horizontalHeader()
        # the operation and its state (with a failure's reason) share the width; progress and
        # Cancel take what they need
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(2, 120)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rows: dict[int, int] = {}

    @Slot(object)
    def update_operation(self, op: Operation) -> None:
        row = self.rows.get(op.id)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
            self.rows[op.id] = row
            self.setItem(row, 0, QTableWidgetItem(op.title))
            bar = QProgressBar()
            bar.setRange(0, 0)
            self.setCellWidget(row, 2, bar)
            cancel = QPushButton("Cancel")
            cancel.clicked.connect(op.cancel)
            box = QWidget()
            h = QHBoxLayout(box)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(cancel)
            self.setCellWidget(row, 3, box)
        text = op.state if not (op.error or op.message) else f"{op.state}: {op.error or op.message}"
        state = QTableWidgetItem(text)
        state.setToolTip(op.error or op.message)
        if op.state == "failed":
            state.setForeground(Qt.GlobalColor.red)
        self.setItem(row, 1, state)
        bar = self.cellWidget(row, 2)
        if isinstance(bar, QProgressBar):
            if op.state in ("done", "failed", "cancelled"):
                bar.setRange(0, 100)
                bar.setValue(100 if op.state == "done" else 0)
            elif op.progress is not None:
                bar.setRange(0, 100)
                bar.setValue(int(op.progress * 100))
        if op.state in ("done", "failed", "cancelled"):
            box = self.cellWidget(row, 3)
            if box is not None:
                box.setEnabled(False)
