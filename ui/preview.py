"""Opening a file of any storage by double-click: text and images are shown in a tab of the editor
area (the first MB, read off the GUI thread); anything else is downloaded through the transfer
queue into a throwaway folder and handed to the desktop's default application."""

from __future__ import annotations

import os
import uuid

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QScrollArea, QStackedLayout, QWidget

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
    """A read-only view of a file's first MB: text, or an image."""

    def __init__(self, storage, location: Location, kind: str, parent=None):
        super().__init__(parent)
        self.setObjectName("previewTab")
        self.location, self.kind = location, kind
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
        self.stack.addWidget(text)
        self.stack.setCurrentWidget(text)

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
