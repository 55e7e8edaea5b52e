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
    avoid it, and is not offered by Qt).

    The list is asked for again while the first answer is still being fetched (the progress
    dialog keeps the window's events going): every asking waits for the same download and gets
    the whole list — an empty one made PCManFM crash. Folders fetched for drops more than an hour
    ago are removed at the next drag out."""

    def __init__(self, view: "ProjectView", locations: "list[Location]"):
        super().__init__()
        self.view, self.locations = view, locations
        self._urls: list[QUrl] | None = None
        self._fetching = None  # the download job, while it runs

    def formats(self) -> list[str]:
        return [MIME, URI_LIST, "text/plain"]

    def hasFormat(self, mimetype: str) -> bool:  # noqa: N802 - Qt's name
        return mimetype in self.formats()

    def retrieveData(self, mimetype: str, preferred):  # noqa: N802 - Qt's name
        if mimetype == URI_LIST and self._urls is None:
            urls = self.materialise()
            if not self.urls():
                # stored as QMimeData's own URLs: Qt gives them in the form the asking side expects
                self.setUrls(urls)
        return super().retrieveData(mimetype, preferred)

    def materialise(self) -> list[QUrl]:
        if self._urls is not None:
            return self._urls
        if self._fetching is not None:  # asked again while the first asking waits
            job, folder, local = self._fetching
            self._wait(job, None)
            return _urls_of(job, folder, local)
        return self._fetch()

    def _wait(self, job, dialog) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        from gridclient.storage.transfers import ENDED

        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(50)

        def tick() -> None:
            if dialog is not None:
                dialog.setValue(int((job.progress or 0) * 1000))
                if dialog.wasCanceled():
                    job.cancel()
            if job.state in ENDED:
                loop.quit()

        timer.timeout.connect(tick)
        timer.start()
        loop.exec()  # the window stays live while the bytes come; the drop waits for them
        timer.stop()

    def _fetch(self) -> list[QUrl]:
        local = [QUrl.fromLocalFile(loc.path.rstrip("/") or "/") for loc in self.locations if loc.scheme == "file"]
        remote = [loc for loc in self.locations if loc.scheme != "file"]
        wb = self.view.model().wb
        import uuid

        from PySide6.QtWidgets import QProgressDialog

        from gridclient.storage.local import location_of
        from gridclient.storage.transfers import OVERWRITE

        dragged = wb.paths.cache / "dragged"
        _clean(dragged)
        folder = dragged / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        self.view.before_transfer()
        job = wb.transfers.submit("download", remote, location_of(str(folder), folder=True), None,
                                  conflict=OVERWRITE, title=f"Drag out {remote[0].name or remote[0].root}"
                                  + (f" and {len(remote) - 1} more" if len(remote) > 1 else ""))
        self._fetching = (job, folder, local)
        dialog = QProgressDialog(f"Fetching {job.title[9:]} for the drop…", "Cancel", 0, 1000, self.view)
        dialog.setWindowTitle("Drag out")
        dialog.setMinimumDuration(300)
        try:
            self._wait(job, dialog)
        finally:
            dialog.close()
            self._fetching = None
        if job.state != "done":
            self.view.status(f"Nothing was dropped: {job.title}: {job.message}")
        self._urls = _urls_of(job, folder, local)
        return self._urls


def _urls_of(job, folder, local: list[QUrl]) -> list[QUrl]:
    """The dropped rows as local files: the top folders and files the job wrote (none unless done)."""
    from pathlib import Path

    if job.state != "done":
        return []
    tops = sorted({str(folder / Path(t.target.path).relative_to(folder).parts[0])
                   for t in job.files if t.target is not None})
    return local + [QUrl.fromLocalFile(p) for p in tops]


def _clean(dragged) -> None:
    """Remove what was fetched for drops more than an hour ago (the drop target has copied it)."""
    import shutil
    import time

    if not dragged.is_dir():
        return
    for old in dragged.iterdir():
        try:
            if time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
