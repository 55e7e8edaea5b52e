"""Dragging storage out of the tree onto another application (a file manager): the rows are
downloaded only when the drop asks for them. Imported on the first drag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QUrl

from ui.project_view import MIME

if TYPE_CHECKING:
    from gridclient.storage.base import Location
    from ui.project_view import ProjectView

URI_LIST = "text/uri-list"


class FilesOnDrop(QMimeData):
    """A drag of remote files and folders that a file manager can take: it offers
    ``text/uri-list``, and only when the drop asks for that (after the mouse is released over the
    file manager), the rows are downloaded through the transfer queue into a folder of the app's
    cache, with a progress dialog that can cancel; the file manager then copies the local files.
    Other applications that ask for the list while the mouse only passes over them start the
    same download once: it is the price of dropping on a desktop that cannot wait (XDS would
    avoid it, and is not offered by Qt)."""

    def __init__(self, view: "ProjectView", locations: "list[Location]"):
        super().__init__()
        self.view, self.locations = view, locations
        self._urls: list[QUrl] | None = None

    def formats(self) -> list[str]:
        return [MIME, URI_LIST, "text/plain"]

    def hasFormat(self, mimetype: str) -> bool:  # noqa: N802 - Qt's name
        return mimetype in self.formats()

    def retrieveData(self, mimetype: str, preferred):  # noqa: N802 - Qt's name
        if mimetype == URI_LIST and self._urls is None:
            # stored as QMimeData's own URLs: Qt gives them in the form the asking side expects
            self.setUrls(self.materialise())
        return super().retrieveData(mimetype, preferred)

    def materialise(self) -> list[QUrl]:
        if self._urls is not None:
            return self._urls
        self._urls = []
        local = [QUrl.fromLocalFile(loc.path.rstrip("/") or "/") for loc in self.locations if loc.scheme == "file"]
        remote = [loc for loc in self.locations if loc.scheme != "file"]
        wb = self.view.model().wb
        import uuid

        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtWidgets import QProgressDialog

        from gridclient.storage.local import location_of
        from gridclient.storage.transfers import ENDED, OVERWRITE

        folder = wb.paths.cache / "dragged" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        job = wb.transfers.submit("download", remote, location_of(str(folder), folder=True), None,
                                  conflict=OVERWRITE, title=f"Drag out {remote[0].name or remote[0].root}"
                                  + (f" and {len(remote) - 1} more" if len(remote) > 1 else ""))
        dialog = QProgressDialog(f"Fetching {job.title[9:]} for the drop…", "Cancel", 0, 1000, self.view)
        dialog.setWindowTitle("Drag out")
        dialog.setMinimumDuration(300)
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(50)

        def tick() -> None:
            dialog.setValue(int((job.progress or 0) * 1000))
            if dialog.wasCanceled():
                job.cancel()
            if job.state in ENDED:
                loop.quit()

        timer.timeout.connect(tick)
        timer.start()
        loop.exec()  # the window stays live while the bytes come; the drop waits for them
        timer.stop()
        dialog.close()
        if job.state != "done":
            self.view.status(f"Nothing was dropped: {job.title}: {job.message}")
            return []
        from pathlib import Path

        tops = sorted({str(folder / Path(t.target.path).relative_to(folder).parts[0])
                       for t in job.files if t.target is not None})
        self._urls = local + [QUrl.fromLocalFile(p) for p in tops]
        return self._urls
