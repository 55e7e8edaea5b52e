"""The Operations dock's transfer queue, as a file manager's transfer window (Cyberduck's Transfers).

One row per job (what, progress, size, speed, time left, state); expanding a job shows its files,
made only then and at most :data:`MAX_CHILDREN` of them. The queue tells of changes on its own
threads; :class:`ui.worker.ChangeBridge` gathers them there and the view paints the latest state of each
changed job at most every :data:`PAINT_MS`, so a thousand progress events cost a few repaints.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHeaderView, QMenu, QStyle,
                               QStyledItemDelegate, QStyleOptionProgressBar, QStyleOptionViewItem,
                               QToolBar, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from gridclient.storage.local import local_path
from gridclient.storage.transfers import ENDED, FileTask, Job, TransferQueue, human_bytes
from ui.icons import icon, row_icon
from ui.worker import ChangeBridge, Worker

log = logging.getLogger(__name__)

PAINT_MS = 100
MAX_CHILDREN = 2000
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # 0..1, -1 for "busy, amount unknown", None for no bar
FINISHED = ("done", "failed", "cancelled")
COLS = ("Transfer", "Progress", "Size", "Speed", "ETA", "State")
TRANSFER, PROGRESS, SIZE, SPEED, ETA, STATE = range(len(COLS))
KIND_ICON = {"upload": "upload", "download": "download", "copy": "copy", "move": "storage",
             "delete": "terminate"}


def clock(seconds: float | None) -> str:
    """0:42, 12:05, 1:02:03."""
    if seconds is None:
        return ""
    s = round(seconds)
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def retryable(job: Job) -> bool:
    return job.state in ENDED and (job.state != "done" or bool(job.count("failed", "cancelled")))


class ProgressDelegate(QStyledItemDelegate):
    """Paints a progress bar from the row's PROGRESS_ROLE (cheaper than a widget per row)."""

    def paint(self, painter, option, index) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        back = QStyleOptionViewItem(option)
        self.initStyleOption(back, index)
        back.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, back, painter, widget)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 2, -2, -2)
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        bar.minimum, bar.maximum = 0, 0 if value < 0 else 100
        bar.progress = 0 if value < 0 else int(value * 100)
        bar.text = "" if value < 0 else f"{bar.progress}%"
        bar.textVisible, bar.textAlignment = True, Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


class TransfersView(QTreeWidget):
    """The jobs of a :class:`TransferQueue`, their files on expanding, and what can be done to them.

    ``job_finished(job)`` comes on the GUI thread once each time a job ends done, failed or
    cancelled (so its target's tree nodes can be refreshed)."""

    job_finished = Signal(object)

    def __init__(self, queue: TransferQueue, parent: QWidget | None = None, interaction: Any = None):
        super().__init__(parent)
        self.setObjectName("transfersView")
        self.queue, self.interaction = queue, interaction
        self.setColumnCount(len(COLS))
        self.setHeaderLabels(list(COLS))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformRowHeights(True)
        self.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self))
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(TRANSFER, QHeaderView.ResizeMode.Interactive)
        for col, width in zip((TRANSFER, PROGRESS, SIZE, SPEED, ETA), (280, 110, 140, 80, 50)):
            header.resizeSection(col, width)
        # a narrow dock keeps the title and the state readable: both end in "…" in the middle, and
        # the numbers give way first
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setMinimumSectionSize(40)
        self._rows: dict[str, QTreeWidgetItem] = {}
        self._reported: dict[str, float] = {}  # job id -> the `finished` time job_finished was sent for
        self._children: dict[str, tuple[int, int]] = {}  # job id -> (id(files), len) the children show
        self._busy: set[str] = set()  # jobs a retry or a removal runs for (on a worker thread)
        self._leaving: set[str] = set()  # jobs being removed: their rows are gone already
        self.cancel_action = self._action("Cancel", "stop", self.cancel_selected)
        self.retry_action = self._action("Retry failed", "retry", self.retry_selected)
        self.open_action = self._action("Open target folder", "folder", self.open_target)
        self.remove_action = self._action("Remove from list", "", self.remove_selected)
        self.clear_action = self._action("Clear finished", "", self.clear_finished)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemExpanded.connect(self._expanded)
        self.itemSelectionChanged.connect(self.update_actions)
        self.bridge = ChangeBridge(self, interval=PAINT_MS)  # paints at most this often
        self.bridge.changed.connect(self._flush)
        for job in list(queue.jobs):
            if job.state in FINISHED:
                self._reported[job.id] = job.finished  # ended before we looked: nothing to tell
        self.refresh()
        queue.on_change(self.bridge)

    def _action(self, text: str, icon_name: str, slot) -> QAction:
        action = QAction(icon(icon_name), text, self)  # icon("") is no icon
        action.triggered.connect(slot)
        return action

    # -- following the queue -----------------------------------------------------------------------
    @Slot()
    def _flush(self) -> None:
        for job in self.bridge.take():
            self._paint(job)
        self.update_actions()

    def refresh(self) -> None:
        """Paint every job of the queue now and drop the rows of jobs it no longer holds (the queue
        does not tell of a removal made elsewhere)."""
        jobs = list(self.queue.jobs)
        for item in list(self._rows.values()):
            job = item.data(TRANSFER, Qt.ItemDataRole.UserRole)
            if not any(j is job for j in jobs):
                self._forget(job)
        for job in jobs:
            self._paint(job)
        self.update_actions()

    def job_row(self, job: Job) -> QTreeWidgetItem | None:
        return self._rows.get(job.id)

    def _paint(self, job: Job) -> None:
        if job.id in self._leaving:
            return
        if not any(j is job for j in self.queue.jobs):  # removed meanwhile
            self._forget(job)
            return
        item = self._rows.get(job.id)
        if item is None:
            item = self._rows[job.id] = QTreeWidgetItem([job.title] + [""] * (len(COLS) - 1))
            item.setData(TRANSFER, Qt.ItemDataRole.UserRole, job)
            item.setIcon(TRANSFER, row_icon(KIND_ICON.get(job.kind, "storage")))
            item.setToolTip(TRANSFER, job.title)
            self.addTopLevelItem(item)
            self.scrollToItem(item)  # a new transfer is seen at once
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator if job.files
                                     else QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)
        progress = job.progress
        if job.state == "done":
            progress = 1.0
        elif progress is None and job.state in ("scanning", "queued", "running"):
            progress = -1.0
        self._set_progress(item, progress)
        n = len(job.files)
        if job.kind == "delete":
            item.setText(SIZE, f"{job.count('done')} of {n} files" if n else "")
        else:
            item.setText(SIZE, f"{human_bytes(job.bytes_done)} of {human_bytes(job.bytes_total)}" if n else "")
        speed = job.speed if job.state == "running" else 0.0
        item.setText(SPEED, f"{human_bytes(speed)}/s" if speed > 0 and job.kind != "delete" else "")
        item.setText(ETA, clock(job.eta))
        said = job.message.rstrip(".").lower() not in ("", job.state)  # not "cancelled: Cancelled."
        item.setText(STATE, f"{job.state}: {job.message}" if said else job.state)
        item.setForeground(STATE, Qt.GlobalColor.red if job.state == "failed" else self.palette().text())
        tip = [job.message] if job.message else []
        if job.renamed:
            tip.append("Names changed to be safe here:")
            tip += [f"  {t.label} → {t.target.name if t.target else ''}: {t.renamed}" for t in job.renamed[:50]]
        item.setToolTip(STATE, "\n".join(tip) or job.state)
        if item.isExpanded():
            self._fill_children(item, job)
        if job.state in FINISHED and self._reported.get(job.id) != job.finished and job.finished:
            self._reported[job.id] = job.finished
            self.job_finished.emit(job)

    def _set_progress(self, item: QTreeWidgetItem, value: float | None) -> None:
        item.setData(PROGRESS, PROGRESS_ROLE, value)
        item.setText(PROGRESS, "" if value is None or value < 0 else f"{int(value * 100)}%")

    def _forget(self, job: Job) -> None:
        item = self._rows.pop(job.id, None)
        self._children.pop(job.id, None)
        if item is not None:
            self.takeTopLevelItem(self.indexOfTopLevelItem(item))

    # -- a job's files, made when it is expanded ----------------------------------------------------
    @Slot(QTreeWidgetItem)
    def _expanded(self, item: QTreeWidgetItem) -> None:
        job = item.data(TRANSFER, Qt.ItemDataRole.UserRole)
        if isinstance(job, Job):
            self._fill_children(item, job)

    def _fill_children(self, item: QTreeWidgetItem, job: Job) -> None:
        files = job.files
        shape = (id(files), len(files))
        if self._children.get(job.id) != shape:  # first time, or the job found its files anew
            self._children[job.id] = shape
            item.takeChildren()
            rows = []
            for task in files[:MAX_CHILDREN]:
                child = QTreeWidgetItem([task.label] + [""] * (len(COLS) - 1))
                child.setData(TRANSFER, Qt.ItemDataRole.UserRole, task)
                child.setIcon(TRANSFER, row_icon("folder" if task.source is not None and task.source.is_folder
                                                 else "file"))
                child.setToolTip(TRANSFER, task.label)
                rows.append(child)
            if len(files) > MAX_CHILDREN:
                more = QTreeWidgetItem([f"… {len(files) - MAX_CHILDREN} more"] + [""] * (len(COLS) - 1))
                more.setFlags(Qt.ItemFlag.ItemIsEnabled)
                rows.append(more)
            item.addChildren(rows)
        for i in range(min(len(files), MAX_CHILDREN)):
            child = item.child(i)
            task = files[i]
            seen = (task.state, task.done, task.size, task.error)
            if child.data(STATE, Qt.ItemDataRole.UserRole) != seen:
                child.setData(STATE, Qt.ItemDataRole.UserRole, seen)
                self._paint_file(child, task, job)

    def _paint_file(self, child: QTreeWidgetItem, task: FileTask, job: Job) -> None:
        folder = task.source is not None and task.source.is_folder
        value = {"done": 1.0, "running": (task.done / task.size if task.size else -1.0)}.get(task.state)
        self._set_progress(child, None if folder or job.kind == "delete" else value)
        child.setText(SIZE, "" if job.kind == "delete" or folder else human_bytes(task.size) if task.state != "running"
                      else f"{human_bytes(task.done)} of {human_bytes(task.size)}")
        child.setText(STATE, f"{task.state}: {task.error}" if task.error else task.state)
        child.setForeground(STATE, Qt.GlobalColor.red if task.state == "failed" else self.palette().text())
        tip = [task.error] if task.error else []
        if task.renamed:
            tip.append(f"Saved as {task.target.display if task.target else ''}: {task.renamed}")
        child.setToolTip(STATE, "\n".join(tip) or task.state)

    # -- what can be done --------------------------------------------------------------------------
    def selected(self) -> tuple[list[Job], list[tuple[Job, FileTask]]]:
        """The selected jobs, and the selected files with their jobs."""
        jobs: list[Job] = []
        files: list[tuple[Job, FileTask]] = []
        for item in self.selectedItems():
            data = item.data(TRANSFER, Qt.ItemDataRole.UserRole)
            if isinstance(data, Job):
                jobs.append(data)
            elif isinstance(data, FileTask) and item.parent() is not None:
                files.append((item.parent().data(TRANSFER, Qt.ItemDataRole.UserRole), data))
        return jobs, files

    def _jobs_of_selection(self) -> list[Job]:
        jobs, files = self.selected()
        return list({j.id: j for j in jobs + [job for job, _ in files]}.values())

    @Slot()
    def update_actions(self) -> None:
        jobs, files = self.selected()
        every = self._jobs_of_selection()
        self.cancel_action.setEnabled(any(j.state not in ENDED for j in jobs) or any(
            j.state not in ENDED and t.state in ("queued", "running") for j, t in files))
        again = [j for j in every if retryable(j) and j.id not in self._busy]
        self.retry_action.setEnabled(bool(again))
        self.retry_action.setText("Resume" if again and all(j.state == "interrupted" for j in again)
                                  else "Retry failed")
        self.open_action.setEnabled(any(j.target is not None and j.target.scheme == "file" for j in every))
        self.remove_action.setEnabled(any(j.state in ENDED and j.id not in self._busy for j in jobs))
        self.clear_action.setEnabled(any(j.state in ("done", "cancelled") for j in self.queue.jobs))

    @Slot()
    def cancel_selected(self) -> None:
        jobs, files = self.selected()
        for job in jobs:
            if job.state not in ENDED:
                job.cancel()
        for job, task in files:
            if job.state not in ENDED and task.state in ("queued", "running"):
                task.cancel()

    @Slot()
    def retry_selected(self) -> None:
        jobs = [j for j in self._jobs_of_selection() if retryable(j) and j.id not in self._busy]
        self._in_background(jobs, lambda job: self.queue.retry(job, self.interaction))

    @Slot()
    def open_target(self) -> None:
        for job in self._jobs_of_selection():
            if job.target is not None and job.target.scheme == "file":
                QDesktopServices.openUrl(QUrl.fromLocalFile(local_path(job.target)))
                return

    @Slot()
    def remove_selected(self) -> None:
        self._remove([j for j in self.selected()[0] if j.state in ENDED])

    @Slot()
    def clear_finished(self) -> None:
        self._remove([j for j in self.queue.jobs if j.state in ("done", "cancelled")])

    def _remove(self, jobs: list[Job]) -> None:
        jobs = [j for j in jobs if j.id not in self._busy]
        for job in jobs:  # gone from the list at once; from the queue (and its file) on a thread
            self._leaving.add(job.id)
            self._forget(job)
        self._in_background(jobs, self.queue.remove)

    def _in_background(self, jobs: list[Job], fn) -> None:
        """Retry and remove write the whole queue to its file (a big job's take a good part of a
        second, one a job), so they run on a worker thread; the view follows when they are done."""
        if not jobs:
            return
        ids = {j.id for j in jobs}
        self._busy |= ids

        def run() -> set[str]:
            for job in jobs:
                try:
                    fn(job)
                except Exception:  # noqa: BLE001 - the others still go; the row shows the job as it is
                    log.exception("transfer %s: retry or remove failed", job.title)
            return ids

        worker = Worker(run, parent=self)
        worker.returned.connect(self._settled)
        worker.start()
        self.update_actions()

    @Slot(object)
    def _settled(self, ids: set[str]) -> None:
        self._busy -= ids
        self._leaving -= ids
        self.refresh()  # a job the queue would not let go (it was started again meanwhile) comes back

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and not event.modifiers():
            self.remove_selected()  # ended jobs only: a running one stays
            event.accept()
            return
        super().keyPressEvent(event)

    @Slot(object)
    def _menu(self, pos) -> None:
        menu = QMenu(self)
        for action in self.actions_list():
            menu.addAction(action)
        menu.insertSeparator(self.remove_action)
        menu.exec(self.viewport().mapToGlobal(pos))

    def actions_list(self) -> list[QAction]:
        return [self.cancel_action, self.retry_action, self.open_action, self.remove_action, self.clear_action]


class TransfersPanel(QWidget):
    """The transfer queue with its buttons above it: what the Operations dock holds."""

    def __init__(self, queue: TransferQueue, parent: QWidget | None = None, interaction: Any = None):
        super().__init__(parent)
        self.setObjectName("transfersPanel")
        self.view = TransfersView(queue, self, interaction)
        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("transfersToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in self.view.actions_list():
            if action is self.view.remove_action:
                self.toolbar.addSeparator()
            self.toolbar.addAction(action)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.toolbar)
        box.addWidget(self.view)
