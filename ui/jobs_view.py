"""The Operations dock's Jobs tab: commands run on hosts over SSH (``Workbench.jobs``).

A tree of jobs and their hosts (state, exit status, when, how long) beside the selected host's
stdout and stderr, read-only, following the output as it streams. Cancel (a job, or one host) and
Remove finished. The queue tells of changes on its own teller thread; :class:`ui.worker.ChangeBridge` gathers
them and the tab paints the latest state at most every :data:`PAINT_MS`; only the bytes that came
since the last paint are appended to the panes. Nothing here waits on the network: a cancel only
asks the host's thread to signal the remote process, a removal writes the history on a worker.
"""

from __future__ import annotations

import codecs
import logging
import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFontDatabase, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QMenu, QPlainTextEdit, QSplitter,
                               QToolBar, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from gridclient.remote_jobs import HostRun, Job, RemoteJobs
from ui.icons import icon, row_icon
from ui.worker import ChangeBridge, Worker, unless_receiver_gone

log = logging.getLogger(__name__)

PAINT_MS = 100
MAX_LINES = 50_000  # lines a pane holds; the queue keeps the last megabyte of each stream anyway
COLS = ("Job", "State", "Exit", "Started", "Time")
TITLE, STATE, EXIT, STARTED, TIME = range(len(COLS))
ROLE = Qt.ItemDataRole.UserRole


def duration(start: float, end: float) -> str:
    if not start:
        return ""
    s = round(max(0.0, (end or time.time()) - start))
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def job_state(job: Job) -> str:
    n = len(job.hosts)
    state = job.state
    if state in ("queued", "running"):
        return f"{state}: {job.count('done', 'failed', 'cancelled')} of {n} ended"
    if state == "failed":
        return f"failed on {job.count('failed')} of {n}"
    return state


class Pane(QPlainTextEdit):
    """One stream of the shown host: appended to as it grows, following the end when it was there."""

    def __init__(self, placeholder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText(placeholder)
        self.shown = 0  # bytes of the stream shown
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def show_stream(self, tail, whole: bool) -> None:
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 2
        new = None if whole else tail.since(self.shown)
        if new is None:  # another host, or bytes dropped since the last paint: all again
            data, dropped = tail.data(), tail.dropped
            self._decoder.reset()
            text = self._decoder.decode(data)
            if dropped:
                text = f"[… the first {dropped:,} bytes are not kept …]\n" + text
            self.setPlainText(text)
            self.shown = dropped + len(data)
            following = True
        elif new:
            self.shown += len(new)
            cursor = self.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(self._decoder.decode(new))
        if following:
            bar.setValue(bar.maximum())

    def clear_stream(self) -> None:
        self.clear()
        self.shown = 0
        self._decoder.reset()


class JobsPanel(QWidget):
    """The jobs of a :class:`RemoteJobs` with their buttons above and the output beside them."""

    def __init__(self, jobs: RemoteJobs, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("jobsPanel")
        self.jobs = jobs
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("jobsTree")
        self.tree.setColumnCount(len(COLS))
        self.tree.setHeaderLabels(list(COLS))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        for col, width in ((STATE, 190), (EXIT, 40), (STARTED, 70), (TIME, 50)):
            header.resizeSection(col, width)
        self.stdout = Pane("The selected host's standard output", self)
        self.stdout.setObjectName("jobStdout")
        self.stderr = Pane("Its standard error", self)
        self.stderr.setObjectName("jobStderr")
        self.heading = QLabel("Select a host to see its output.", self)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        streams = QSplitter(Qt.Orientation.Vertical, self)
        streams.addWidget(self.stdout)
        streams.addWidget(self.stderr)
        streams.setSizes([300, 100])
        right = QWidget(self)
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(0, 0, 0, 0)
        rbox.addWidget(self.heading)
        rbox.addWidget(streams)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setSizes([520, 480])
        self.cancel_action = QAction(icon("stop"), "Cancel", self)
        self.cancel_action.triggered.connect(self.cancel_selected)
        self.remove_action = QAction("Remove finished", self)
        self.remove_action.triggered.connect(self.remove_finished)
        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("jobsToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addAction(self.cancel_action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.remove_action)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.toolbar)
        box.addWidget(split)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemSelectionChanged.connect(self._selection_changed)

        self._rows: dict[str, QTreeWidgetItem] = {}
        self._host_rows: dict[int, QTreeWidgetItem] = {}  # id(HostRun) -> its row
        self._shown: HostRun | None = None
        self._busy = False
        self.bridge = ChangeBridge(self, interval=PAINT_MS)  # paints at most this often
        self.bridge.changed.connect(self._flush)
        self.refresh()
        jobs.on_change(self.bridge)

    # -- following the queue -------------------------------------------------------------------
    @Slot()
    def _flush(self) -> None:
        for job in self.bridge.take():
            self._paint(job)
        self._paint_output(whole=False)
        self.update_actions()

    def refresh(self) -> None:
        jobs = self.jobs.jobs
        ids = {j.id for j in jobs}
        for job_id in [k for k in self._rows if k not in ids]:
            self._forget(job_id)
        for job in jobs:
            self._paint(job)
        self._paint_output(whole=False)
        self.update_actions()

    def job_row(self, job: Job) -> QTreeWidgetItem | None:
        return self._rows.get(job.id)

    def host_row(self, host: HostRun) -> QTreeWidgetItem | None:
        return self._host_rows.get(id(host))

    def _paint(self, job: Job) -> None:
        if not any(j is job for j in self.jobs.jobs):
            self._forget(job.id)
            return
        item = self._rows.get(job.id)
        new = item is None
        if new:
            item = self._rows[job.id] = QTreeWidgetItem([job.title] + [""] * (len(COLS) - 1))
            item.setData(TITLE, ROLE, job)
            item.setIcon(TITLE, row_icon("console"))
            item.setToolTip(TITLE, job.command or job.title)
            for host in job.hosts:
                child = QTreeWidgetItem([host.label] + [""] * (len(COLS) - 1))
                child.setData(TITLE, ROLE, host)
                child.setIcon(TITLE, row_icon("instance"))
                child.setToolTip(TITLE, host.where)
                self._host_rows[id(host)] = child
                item.addChild(child)
            self.tree.addTopLevelItem(item)
        self._cells(item, job_state(job), job.state, None, job.created,
                    duration(job.created, job.finished))
        for host in job.hosts:
            self._cells(self._host_rows[id(host)], f"{host.state}: {host.error}" if host.error else host.state,
                        host.state, host.exit_status, host.started, duration(host.started, host.finished))
        if new and not job.restored:  # a job started now: shown, its first host's output open
            item.setExpanded(True)
            self.tree.scrollToItem(item)
            if not self.tree.selectedItems() or self._shown is not None and self._shown.ended:
                self.tree.setCurrentItem(item.child(0))

    def _cells(self, item: QTreeWidgetItem, text: str, state: str, status: int | None, started: float,
               took: str) -> None:
        item.setText(STATE, text)
        item.setToolTip(STATE, text)
        item.setForeground(STATE, Qt.GlobalColor.red if state == "failed" else self.palette().text())
        item.setText(EXIT, "" if status is None else str(status))
        item.setText(STARTED, time.strftime("%H:%M:%S", time.localtime(started)) if started else "")
        item.setText(TIME, took)

    def _forget(self, job_id: str) -> None:
        item = self._rows.pop(job_id, None)
        if item is None:
            return
        for i in range(item.childCount()):
            host = item.child(i).data(TITLE, ROLE)
            self._host_rows.pop(id(host), None)
            if host is self._shown:
                self._show(None)
        self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))

    # -- the output of the selected host -------------------------------------------------------
    def selected(self) -> tuple[list[Job], list[HostRun]]:
        jobs, hosts = [], []
        for item in self.tree.selectedItems():
            data = item.data(TITLE, ROLE)
            (jobs if isinstance(data, Job) else hosts).append(data)
        return jobs, hosts

    @Slot()
    def _selection_changed(self) -> None:
        item = self.tree.currentItem()
        data = item.data(TITLE, ROLE) if item is not None and item.isSelected() else None
        if isinstance(data, Job) and len(data.hosts) == 1:
            data = data.hosts[0]
        self._show(data if isinstance(data, HostRun) else None)
        self.update_actions()

    def _show(self, host: HostRun | None) -> None:
        if host is self._shown:
            return
        self._shown = host
        self.stdout.clear_stream()
        self.stderr.clear_stream()
        self._paint_output(whole=True)

    def _paint_output(self, whole: bool) -> None:
        host = self._shown
        if host is None:
            self.heading.setText("Select a host to see its output.")
            return
        status = "" if host.exit_status is None else f", exit status {host.exit_status}"
        self.heading.setText(f"{host.label} ({host.where}) — {host.state}{status}")
        self.heading.setToolTip(host.error)
        self.stdout.show_stream(host.stdout, whole)
        self.stderr.show_stream(host.stderr, whole)

    # -- what can be done ----------------------------------------------------------------------
    @Slot()
    def update_actions(self) -> None:
        jobs, hosts = self.selected()
        self.cancel_action.setEnabled(any(not j.ended for j in jobs) or any(not h.ended for h in hosts))
        self.remove_action.setEnabled(not self._busy and any(j.ended for j in self.jobs.jobs))

    @Slot()
    def cancel_selected(self) -> None:
        jobs, hosts = self.selected()
        for job in jobs:
            job.cancel()  # never waits: the hosts' threads signal the remote processes
        for host in hosts:
            host.cancel()

    @Slot()
    def remove_finished(self) -> None:
        """Ended jobs leave the list at once, and the history file on a worker thread."""
        for job in self.jobs.jobs:
            if job.ended:
                self._forget(job.id)
        self._busy = True
        worker = Worker(self.jobs.remove_finished, parent=self)
        worker.finished.connect(self._removed)
        worker.start()
        self.update_actions()

    @Slot()
    def _removed(self) -> None:
        self._busy = False
        self.refresh()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and not event.modifiers():
            self.remove_finished()
            event.accept()
            return
        super().keyPressEvent(event)

    @Slot(object)
    def _menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction(self.cancel_action)
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.exec(self.tree.viewport().mapToGlobal(pos))


class _NewJobs(QObject):
    """A job the window has not seen yet (told on the queue's teller thread)."""

    arrived = Signal(object)


class JobsTab:
    """The Jobs tab of the window's Operations dock (``window.operations_tabs``): a placeholder
    until the tab is first shown or a job starts; then the :class:`JobsPanel` (which reads the
    history: start-up does not), and each new job brings the dock forward on this tab."""

    TEXT = "Commands run on instances (Run command… on running instances) appear here."

    def __init__(self, window, index: int = 1):
        self.window, self.wb, self.tabs = window, window.wb, window.operations_tabs
        self.panel: JobsPanel | None = None
        self.placeholder = QLabel(self.TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.insertTab(index, self.placeholder, icon("console"), "Jobs")
        self.tabs.currentChanged.connect(self._current_changed)
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.news = _NewJobs(self.tabs)
        self.news.arrived.connect(self._new_job, Qt.ConnectionType.QueuedConnection)
        self.wb.on_job_change(self._told)

    def _told(self, job: Job) -> None:  # the teller thread; the window may be gone
        with self._lock:
            if job.id in self._seen:
                return
            self._seen.add(job.id)
        with unless_receiver_gone(self.news):
            self.news.arrived.emit(job)

    @Slot(object)
    def _new_job(self, job: Job) -> None:
        self.attach()
        self.window.ops_dock.show()
        self.window.ops_dock.raise_()
        self.tabs.setCurrentWidget(self.panel)

    @Slot(int)
    def _current_changed(self, index: int) -> None:
        if self.panel is None and self.tabs.widget(index) is self.placeholder:
            # looked at again once control returns: the Transfers tab, swapped in, passes by here
            QTimer.singleShot(0, self.tabs, self._still_current)

    @Slot()
    def _still_current(self) -> None:
        if self.panel is None and self.tabs.currentWidget() is self.placeholder:
            self.attach()

    def attach(self) -> JobsPanel:
        if self.panel is None:
            self.panel = JobsPanel(self.wb.jobs, self.tabs)
            with self._lock:
                self._seen |= {j.id for j in self.wb.jobs.jobs}
            index = self.tabs.indexOf(self.placeholder)
            current = self.tabs.currentIndex() == index
            self.tabs.insertTab(index, self.panel, icon("console"), "Jobs")
            self.tabs.removeTab(index + 1)
            self.placeholder.deleteLater()
            self.placeholder = None
            if current:
                self.tabs.setCurrentWidget(self.panel)
        return self.panel
