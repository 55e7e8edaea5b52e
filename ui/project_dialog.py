"""File → New → Grid Project…: a name and the Virtual Organisation it is bound to."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from gridclient.workbench import Workbench
from gridclient.workspace import GridProject


class ProjectDialog(QDialog):
    def __init__(self, wb: Workbench, parent: QWidget | None = None, preselect: str | None = None):
        super().__init__(parent)
        self.wb = wb
        self.created: GridProject | None = None
        self.setObjectName("projectDialog")
        self.setWindowTitle("New Grid Project")
        v = QVBoxLayout(self)
        form = QFormLayout()
        self.vo = QComboBox()
        self.vo.setObjectName("projectVO")
        for vo in wb.workspace.vos.values():
            self.vo.addItem(f"{vo.name} ({vo.region or 'no region'})", vo.id)
        if preselect:
            self.vo.setCurrentIndex(max(0, self.vo.findData(preselect)))
        self.name = QLineEdit()
        self.name.setObjectName("projectName")
        vo_name = wb.workspace.vos[self.vo.currentData()].name if self.vo.count() else ""
        self.name.setText(self._free_name(vo_name))
        form.addRow("Virtual Organisation", self.vo)
        form.addRow("Project name *", self.name)
        v.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c62828")
        v.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.name.textChanged.connect(self._check)
        self._check()

    def _free_name(self, base: str) -> str:
        names = {p.name for p in self.wb.workspace.projects.values()}
        name, n = base or "Project", 2
        while name in names:
            name = f"{base} {n}"
            n += 1
        return name

    def _check(self) -> None:
        why = self.wb.workspace.check_name(self.name.text(), self.wb.workspace.projects)
        if not self.vo.count():
            why = "Create a Virtual Organisation first (File → New → Virtual Organisation…)."
        self.problem.setText(why)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not why)

    def accept(self) -> None:
        self.created = self.wb.workspace.add_project(GridProject(self.name.text().strip(), self.vo.currentData()))
        super().accept()
