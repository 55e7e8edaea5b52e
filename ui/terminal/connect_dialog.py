"""File → New → SSH connection…: host, port, user, key file and a label, checked as they are typed;
and whether the host's files are kept under SSH connections in the tree."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)


class SSHConnectDialog(QDialog):
    """Asks for an SSH target; OK stays disabled, with the reason shown, until the input is usable."""

    def __init__(self, parent: QWidget | None = None, *, host: str = "", port: int | None = None,
                 user: str = "", key_file: str = "", label: str = ""):
        super().__init__(parent)
        self.setObjectName("sshConnectDialog")
        self.setWindowTitle("New SSH connection")
        self.host = QLineEdit(host)
        self.host.setObjectName("host")
        self.host.setPlaceholderText("host name, address or ~/.ssh/config alias")
        self.port = QLineEdit("" if port is None else str(port))
        self.port.setObjectName("port")
        self.port.setPlaceholderText("22")
        self.user = QLineEdit(user)
        self.user.setObjectName("user")
        self.user.setPlaceholderText("from ~/.ssh/config, else your login name")
        self.key_file = QLineEdit(key_file)
        self.key_file.setObjectName("keyFile")
        self.key_file.setPlaceholderText("optional: a private key file (else ssh-agent and ~/.ssh)")
        browse = QPushButton("Browse…")
        browse.setObjectName("browseKey")
        browse.clicked.connect(self.browse_key)
        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(browse)
        self.label = QLineEdit(label)
        self.label.setObjectName("label")
        self.label.setPlaceholderText("optional: a name for the tab")

        form = QFormLayout()
        form.addRow("&Host:", self.host)
        form.addRow("&Port:", self.port)
        form.addRow("&User:", self.user)
        key_label = QLabel("&Key file:")  # a row that is a layout gets no buddy by itself
        key_label.setBuddy(self.key_file)
        form.addRow(key_label, key_row)
        form.addRow("&Label:", self.label)
        self.keep_files = QCheckBox("Show its &files under SSH connections")
        self.keep_files.setObjectName("keepFiles")
        self.keep_files.setChecked(True)
        self.keep_files.setToolTip("Browse, drag and drop and edit this host's files in the project tree, "
                                   "over the terminal's connection")
        form.addRow("", self.keep_files)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #c0392b;")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for edit in (self.host, self.port, self.user, self.key_file, self.label):
            edit.textChanged.connect(self._validate)
        self._validate()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def problems(self) -> list[str]:
        """What keeps the input from being used, in plain sentences; empty when it is fine."""
        found = []
        host = self.host.text().strip()
        if not host:
            found.append("Enter a host name or address.")
        elif any(c.isspace() for c in host) or host.startswith("-"):
            found.append("The host name may not contain spaces or start with '-'.")
        port = self.port.text().strip()
        if port:
            if not port.isdigit():
                found.append("The port must be a number from 1 to 65535.")
            elif not 1 <= int(port) <= 65535:
                found.append("The port must be between 1 and 65535.")
        user = self.user.text().strip()
        if user and (any(c.isspace() for c in user) or user.startswith("-")):
            found.append("The user name may not contain spaces or start with '-'.")
        key = self.key_file.text().strip()
        if key:
            path = Path(os.path.expanduser(key))
            if not path.is_file():
                found.append(f"No key file at {key}.")
            elif not os.access(path, os.R_OK):
                found.append(f"The key file {key} cannot be read.")
        return found

    @Slot()
    def _validate(self) -> None:
        problems = self.problems()
        self.problem.setText(" ".join(problems))
        self.problem.setVisible(bool(problems))
        self.ok_button.setEnabled(not problems)
        self.ok_button.setToolTip(" ".join(problems))

    @Slot()
    def browse_key(self) -> None:
        start = self.key_file.text().strip() or str(Path.home() / ".ssh")
        path, _ = QFileDialog.getOpenFileName(self, "Private key file", os.path.expanduser(start))
        if path:
            self.key_file.setText(path)

    def accept(self) -> None:
        if self.problems():
            return
        super().accept()

    def target(self):
        """The entered target as a gridclient.ssh.SSHTarget."""
        from gridclient.ssh import SSHTarget

        port = self.port.text().strip()
        key = self.key_file.text().strip()
        return SSHTarget(host=self.host.text().strip(), port=int(port) if port else None,
                         user=self.user.text().strip() or None,
                         key_file=os.path.expanduser(key) if key else None, label=self.label.text().strip())
