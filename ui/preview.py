"""Opening a file of any storage by double-click: text and images are shown in a tab of the editor
area (the first MB, read off the GUI thread); anything else is downloaded through the transfer
queue into a throwaway folder and handed to the desktop's default application.

A text file shown whole can be edited there (Edit, then Save or Ctrl+S): saved through its storage
on a worker, and only if nobody changed it meanwhile (gridclient.storage.edit) — otherwise the
person chooses to overwrite it or keep editing; what was typed is never lost to a failed save."""

from __future__ import annotations

import os
import uuid

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea,
                               QStackedLayout, QVBoxLayout, QWidget)

from gridclient.storage import Entry, Location
from gridclient.storage.transfers import OVERWRITE, human_bytes
from ui.worker import Worker

LIMIT = 1024 * 1024
TEXT = {".txt", ".md", ".csv", ".tsv", ".json", ".yaml", ".yml", ".xml", ".html", ".htm", ".css", ".js",
        ".py", ".sh", ".log", ".ini", ".cfg", ".conf", ".toml", ".sql", ".r", ".c", ".h", ".java", ".go", ".rs"}
IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".ico"}


def how_to_open(name: str, content_type: str = "") -> str:
    """"text", "image" or "app" (the desktop's default application)."""
    ext = os.path.splitext(name.lower())[1]
    if ext in IMAGE or content_type.startswith("image/"):
        return "image"
    if ext in TEXT or content_type.startswith("text/") or content_type in ("application/json",):
        return "text"
    return "app"


def read_head(storage, location: Location) -> tuple[Entry, bytes]:
    """On a worker: the entry and its first MB."""
    scheme = storage.of(location)
    entry = scheme.stat(location)
    if entry is None:
        raise FileNotFoundError(2, "It is not there any more", location.display)
    return entry, scheme.read_head(entry, LIMIT)


class PreviewTab(QWidget):
    """A read-only view of a file's first MB: text, or an image; a text shown whole can be edited."""

    saved = Signal(object)  # the Location written: the tree reloads the folder it is in

    def __init__(self, storage, location: Location, kind: str, parent=None):
        super().__init__(parent)
        self.setObjectName("previewTab")
        self.storage = storage
        self.location, self.kind = location, kind
        self.entry: Entry | None = None
        self.text: QPlainTextEdit | None = None
        self.edit_button: QPushButton | None = None
        self.status: QLabel | None = None
        self.saver: Worker | None = None
        self.stack = QStackedLayout(self)
        self.note = QLabel(f"Reading {location.display}…")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.stack.addWidget(self.note)
        self.worker = Worker(read_head, storage, location, parent=self)
        self.worker.returned.connect(self._show)
        self.worker.errored.connect(self._failed)
        self.worker.start()

    @Slot(object)
    def _show(self, result) -> None:
        entry, data = result
        more = entry.size > len(data)
        if self.kind == "image":
            image = QImage.fromData(data)
            if not image.isNull():
                if image.width() < 256 and image.height() < 256 and self.location.name.lower().endswith(".svg"):
                    # a drawing made for an icon's size is shown at a size one can look at
                    image = image.scaled(256, 256, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
                label = QLabel()
                label.setObjectName("previewImage")
                label.setPixmap(QPixmap.fromImage(image))
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                area = QScrollArea()
                area.setWidget(label)
                area.setWidgetResizable(True)
                self.stack.addWidget(area)
                self.stack.setCurrentWidget(area)
                return
            if more:
                self.note.setText(f"{self.location.display} is an image of {human_bytes(entry.size)}: "
                                  "more than a preview shows. Download it to open it.")
                return
        text = QPlainTextEdit()
        text.setObjectName("previewText")
        text.setReadOnly(True)
        text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        body = data.decode("utf-8", errors="replace")
        if more:
            body += (f"\n\n— the first {human_bytes(len(data))} of {human_bytes(entry.size)}: "
                     "download the file to see it all —")
        text.setPlainText(body)
        self.text, self.entry = text, entry
        if more or b"\x00" in data:
            self.stack.addWidget(text)
            self.stack.setCurrentWidget(text)
            return
        # shown whole: it can be edited here
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.edit_button = QPushButton("Edit")
        self.edit_button.setObjectName("editButton")
        self.edit_button.clicked.connect(self._edit_or_save)
        self.status = QLabel(f"{self.location.display} · {human_bytes(entry.size)}")
        self.status.setObjectName("editStatus")
        bar.addWidget(self.edit_button)
        bar.addWidget(self.status, 1)
        v.addLayout(bar)
        v.addWidget(text)
        QShortcut(QKeySequence.StandardKey.Save, page, activated=self._save_if_editing)
        text.modificationChanged.connect(lambda changed: self.status.setText(
            "modified — Save (Ctrl+S) writes it back" if changed else self.status.text()))
        self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)

    # -- editing ---------------------------------------------------------------------------------------
    @Slot()
    def _edit_or_save(self) -> None:
        if self.text.isReadOnly():
            self.text.setReadOnly(False)
            self.edit_button.setText("Save")
            self.text.setFocus()
            self.status.setText("editing — Save (Ctrl+S) writes it back to " + self.location.display)
        else:
            self.save()

    @Slot()
    def _save_if_editing(self) -> None:
        if self.text is not None and not self.text.isReadOnly():
            self.save()

    def save(self, force: bool = False) -> None:
        """Write the text back through the storage, on a worker."""
        from gridclient.storage.edit import save_text

        if self.saver is not None:
            return
        data = self.text.toPlainText().encode("utf-8")
        self.edit_button.setEnabled(False)
        self.status.setText(f"Saving to {self.location.display}…")
        self.saver = Worker(save_text, self.storage, self.location, data, self.entry, force, parent=self)
        self.saver.returned.connect(self._saved)
        self.saver.errored.connect(self._not_saved)
        self.saver.start()

    @Slot(object)
    def _saved(self, entry) -> None:
        self.saver = None
        self.entry = entry
        self.edit_button.setEnabled(True)
        self.text.document().setModified(False)
        self.status.setText(f"Saved to {self.location.display} · {human_bytes(entry.size)}")
        self.saved.emit(self.location)

    @Slot(object)
    def _not_saved(self, exc: BaseException) -> None:
        from gridclient.storage.edit import Changed

        self.saver = None
        self.edit_button.setEnabled(True)
        if isinstance(exc, Changed):
            box = QMessageBox(QMessageBox.Icon.Warning, "Save", f"{exc}\n\nOverwrite it with your text, or "
                              "keep editing (copy what you need, then reopen the file to see theirs)?",
                              QMessageBox.StandardButton.NoButton, self)
            overwrite = box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole)
            keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(keep)
            box.exec()
            if box.clickedButton() is overwrite:
                self.save(force=True)
                return
            self.status.setText("Not saved: it changed since you opened it. Your text is still here.")
            return
        self.status.setText(f"Not saved: {exc}. Your text is still here; Save tries again.")

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        self.note.setText(f"Could not read {self.location.display}: {exc}")


def text_tab(text: str) -> QPlainTextEdit:
    """A read-only tab of text an action returned (an instance's console output), in the fixed font."""
    view = QPlainTextEdit()
    view.setObjectName("textTab")
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setPlainText(text)
    view.moveCursor(view.textCursor().MoveOperation.End)  # the newest lines, as a console shows them
    return view


class Opener:
    """Double-click on a file: a preview tab, or download-then-open."""

    def __init__(self, window):
        self.window = window
        self.pending: set[str] = set()  # ids of the downloads to open when they are done

    def open(self, location: Location, content_type: str = "") -> None:
        kind = how_to_open(location.name, content_type)
        wb = self.window.wb
        if location.scheme == "file" and kind == "app":
            QDesktopServices.openUrl(QUrl.fromLocalFile(location.path))
            return
        if kind in ("text", "image"):
            tab = PreviewTab(wb.storage, location, kind)
            tab.saved.connect(self.window.reload_folder_of)
            tabs = self.window.terminals
            index = tabs.addTab(tab, location.name)
            tabs.setTabToolTip(index, location.display)
            tabs.setCurrentIndex(index)
            return
        folder = wb.paths.cache / "opened" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        from gridclient.storage.local import location_of

        job = wb.transfers.submit("download", [location], location_of(str(folder), folder=True),
                                  self.window.interaction, conflict=OVERWRITE,
                                  title=f"Open {location.name}")
        self.pending.add(job.id)
        self.window.statusBar().showMessage(f"Downloading {location.display} to open it…", 8000)

    def job_ended(self, job) -> None:
        if job.id not in self.pending:
            return
        self.pending.discard(job.id)
        if job.state == "done" and job.files and job.files[0].target is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(job.files[0].target.path))
