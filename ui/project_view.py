"""The project tree's view (``projectView``), with drag-and-drop of storage the way a file manager
does it.

- Files and folders dropped from the desktop or a file manager (``text/uri-list`` of ``file://``
  URLs) onto a bucket, a folder or an object (meaning its folder) upload there, recursively.
- Rows of storage dragged inside the tree carry their locations (``application/x-gridclient-
  locations``, with the VO of each) and a ``text/uri-list`` (``file://`` for local files, so a file
  manager takes those; ``s3://`` for the rest, as text). Dropped on another folder they copy — on
  the server where both ends are in one account; Shift (or a move drag) moves: copy, verify, then
  delete the source. Onto "Local files" they download; from there onto a bucket they upload.
- The row a drop would land in is outlined while dragging; a drop the row cannot take is refused
  with the reason in the status bar.

Rows keep no tooltip: hovering one asks the model for it (:meth:`ProjectModel.tooltip`).

The bytes go through the core's transfer queue (``Workbench.transfers``): this class only turns a
drop into a job.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QTreeView

from ui.project_rows import SPECIAL

if TYPE_CHECKING:  # the drag-and-drop classes are looked up on the first drag (each costs start-up)
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragMoveEvent, QDropEvent

    from gridclient.storage.base import Location

MIME = "application/x-gridclient-locations"
#: a drag of at most this many remote rows offers files to other applications (downloaded when
#: the drop asks for them); a bigger one is for the tree only (Download to… exists for it)
MATERIALISE_AT_MOST = 50


class ProjectView(QTreeView):
    def __init__(self, status: Callable[[str], None] = lambda text: None, parent=None):
        super().__init__(parent)
        self.setObjectName("projectView")
        self.status = status
        self.interaction = None  # set by the window: conflict questions of dropped transfers
        self.before_transfer: Callable[[], None] = lambda: None  # the window shows its Transfers tab
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAutoExpandDelay(800)
        # rows change through actions, never in place (storage rows keep Qt's default flags,
        # which say editable)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._drop_row: QModelIndex | None = None
        #: the jobs dropped here, newest last (tests and the status bar)
        self.jobs: list = []

    def viewportEvent(self, event) -> bool:  # noqa: N802 - Qt's name
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.ToolTip:
            from PySide6.QtWidgets import QToolTip

            index = self.indexAt(event.pos())
            tip = self.model().tooltip(index) if index.isValid() else ""
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.viewport(), self.visualRect(index))
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    # -- where things are ----------------------------------------------------------------------
    def location(self, index: QModelIndex) -> "Location | None":
        """The storage location of the row at ``index``, or None when it is no storage."""
        from gridclient.storage import location_of_element

        model = self.model()
        if not index.isValid():
            return None
        node = model.node(index.siblingAtColumn(0))
        if node.kind in SPECIAL or node.element is None:
            return None
        vo = model.vo_of(node)
        return location_of_element(node.element, vo.id if vo is not None else "")

    def _target(self, pos: QPoint) -> "tuple[QModelIndex, Location | None, str]":
        """The row under ``pos``, the folder a drop there lands in, or why nothing can land there."""
        index = self.indexAt(pos)
        if not index.isValid():
            return index, None, "Drop onto a bucket or a folder."
        index = index.siblingAtColumn(0)
        loc = self.location(index)
        if loc is None:
            label = index.data() or "this row"
            return index, None, f"“{label}” is no storage: drop onto a bucket or a folder."
        if not loc.is_folder:
            parent = index.parent()
            return parent, loc.parent, ""  # an object means its folder
        return index, loc, ""

    # -- dragging out -------------------------------------------------------------------------------
    def mime_for(self, rows: list[QModelIndex]) -> "QMimeData | None":
        """What a drag of these rows carries (None when none of them is storage)."""
        locations = [loc for loc in (self.location(i) for i in rows) if loc is not None]
        if not locations:
            return None
        remote = [loc for loc in locations if loc.scheme != "file"]
        if remote and len(locations) <= MATERIALISE_AT_MOST:
            from ui.drag_out import FilesOnDrop  # made on the first drag: start-up needs no such class

            mime: QMimeData = FilesOnDrop(self, locations)
        else:
            from PySide6.QtCore import QMimeData, QUrl

            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(loc.path.rstrip("/") or "/") for loc in locations
                          if loc.scheme == "file"])
        mime.setData(MIME, json.dumps([loc.to_dict() for loc in locations]).encode())
        mime.setText("\n".join(loc.uri for loc in locations))
        return mime

    def startDrag(self, actions) -> None:  # noqa: N802 - Qt's name
        mime = self.mime_for(self.selectionModel().selectedRows(0))
        if mime is None:
            return
        from PySide6.QtGui import QDrag

        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction | Qt.DropAction.MoveAction, Qt.DropAction.CopyAction)

    # -- dropping in --------------------------------------------------------------------------------
    @staticmethod
    def sources(mime: "QMimeData") -> "list[Location]":
        from gridclient.storage.base import Location

        if mime.hasFormat(MIME):
            try:
                return [Location.from_dict(d) for d in json.loads(bytes(mime.data(MIME)).decode())]
            except (ValueError, KeyError, TypeError):
                return []
        out = []
        for url in mime.urls():
            if url.isLocalFile():
                from gridclient.storage.local import location_of

                out.append(location_of(url.toLocalFile()))
        return out

    def _refusal(self, event: "QDragMoveEvent | QDropEvent") -> "tuple[QModelIndex, Location | None, str]":
        index, target, why = self._target(event.position().toPoint())
        if target is None:
            return index, None, why
        sources = self.sources(event.mimeData())
        if not sources:
            return index, None, "Only files, folders and objects can be dropped here."
        for src in sources:
            if src.contains(target):
                return index, None, f"{src.display} cannot go into itself."
            if src.parent == target and not self._moving(event):
                return index, None, f"{src.name} is in {target.display} already."
        return index, target, ""

    @staticmethod
    def _moving(event) -> bool:
        return bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(MIME) or event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: "QDragMoveEvent") -> None:  # noqa: N802
        index, target, why = self._refusal(event)
        self._set_drop_row(index if target is not None else None)
        if target is None:
            self.status(why)
            event.ignore()
            return
        self.status(f"{'Move' if self._moving(event) else 'Copy'} to {target.display}")
        event.setDropAction(Qt.DropAction.MoveAction if self._moving(event) else Qt.DropAction.CopyAction)
        event.accept()
        # let the view scroll at its edges and open a folder held over
        super().dragMoveEvent(event)
        event.setDropAction(Qt.DropAction.MoveAction if self._moving(event) else Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._set_drop_row(None)
        self.status("")  # the hover's hint is no longer true
        super().dragLeaveEvent(event)

    def dropEvent(self, event: "QDropEvent") -> None:  # noqa: N802
        self._set_drop_row(None)
        index, target, why = self._refusal(event)
        if target is None:
            self.status(why)
            event.ignore()
            return
        self.status("")
        from gridclient.storage.base import StorageError

        try:
            job = self.drop(self.sources(event.mimeData()), target, self._moving(event))
        except StorageError as exc:
            self.status(str(exc))
            event.ignore()
            return
        self.status(f"{job.title} — see Operations.")
        event.setDropAction(Qt.DropAction.CopyAction)  # the source is removed by the job, not by Qt
        event.accept()

    def drop(self, sources: "list[Location]", target: "Location", move: bool = False):
        """Start the transfer a drop of ``sources`` onto the folder ``target`` means."""
        remote_sources = any(s.scheme != "file" for s in sources)
        if move:
            kind = "move"
        elif target.scheme == "file":
            kind = "download" if remote_sources else "copy"
        else:
            kind = "copy" if remote_sources else "upload"
        self.before_transfer()
        job = self.model().wb.transfers.submit(kind, sources, target, self.interaction)
        self.jobs.append(job)
        return job

    # -- the outline of the row a drop lands in ----------------------------------------------------
    def _set_drop_row(self, index: QModelIndex | None) -> None:
        old = self._drop_row
        self._drop_row = index if index is not None and index.isValid() else None
        if old != self._drop_row:
            self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._drop_row is None:
            return
        rect = self.visualRect(self._drop_row)
        rect.setLeft(0)
        rect.setRight(self.viewport().width() - 1)
        from PySide6.QtGui import QColor, QPainter, QPen

        painter = QPainter(self.viewport())
        pen = QPen(QColor(self.palette().highlight().color()), 2)
        painter.setPen(pen)
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)
        painter.end()
