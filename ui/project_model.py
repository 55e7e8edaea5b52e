"""ProjectModel: Grid Projects → categories → elements, loaded lazily and never on the GUI thread.

Follows Qt's fetchmore example and nextgis_connect's tree model: a node is locked while it loads
(one ticket at a time, stale pages are dropped); a "Loading…" row shows meanwhile; a failure
becomes an error row with Retry, kept per node, while the rest of the tree works on — or, when
the node still shows an earlier listing, the node itself says it is not up to date and why. A
refresh merges by element key, so expansion and selection survive it; a node shown again (expanded)
is revalidated in the background when listings are live (stale-while-revalidate).

The rows live in a QStandardItemModel, text and icon included, so a view lays out and paints
them without calling Python. Every insert or removal under an expanded node makes
QTreeView lay out all its rows again, calling ``index`` and ``hasChildren`` (and ``flags``) for
each: with a Python QAbstractItemModel that cost ~4.5 µs a row, 45 ms for a 10,000-object
folder; and every Python callback from the GUI thread waits for the GIL whenever a worker runs
Python (parsing a page, writing the cache), which made one repaint take 115 ms (bench/README.md).
The rows' Nodes (:mod:`ui.project_rows`) are made on the worker that loaded them; the GUI thread
inserts the rows and has Qt make their cells from plain data (``setItemData``, with the model's
signals held until a batch is in): ~12 ms for a page of 1,000, and no Python object per cell —
a QStandardItem made in Python keeps a wrapper of ~400 bytes alive as long as it is shown. An
expandable node that has not been loaded holds one placeholder "Loading…" row, so the view draws
its expander without asking Python; expanding it calls :meth:`fetchMore`.

Over 500 lines for a reason: loading, row surgery, live-state updates and the lookups the views
need all keep one invariant — each node's ``children`` list is its rows in the model's order —
so they stay in one class.
"""

from __future__ import annotations

import logging
import threading
import time
from operator import attrgetter
from typing import Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QStandardItemModel

from gridclient.elements import Element
from gridclient.heap import freeze_imports, rows_added
from gridclient.listing import Failed
from gridclient.storage.manifest import LOCAL
from gridclient.workbench import Workbench
from gridclient.workspace import GridProject
from ui.project_rows import (CATEGORY, ELEMENT, EMPTY, ERROR, LOADING, PROJECT, SPECIAL, Changes, LoadTicket, Node,
                             NODE_COLUMN, NodeRole, Rows, empty_row, error_row, load_rows, loading_row)
from ui.worker import Worker

log = logging.getLogger(__name__)

__all__ = ["CATEGORY", "ELEMENT", "EMPTY", "ERROR", "LOADING", "PROJECT", "SPECIAL", "Node", "ProjectModel"]

_KIND = attrgetter("kind")

#: rows put into the model per event-loop turn when a listing arrives (a page of 1,000, or the
#: cache's whole listing at once): ~6 ms of the GUI thread's time, and the view lays the folder
#: out again once per turn. Fewer while each row takes longer than BUDGET_MS / CHUNK (a worker
#: parsing the next page takes the GIL half the time: a batch of 500 took 20–50 ms), at least
#: CHUNK_MIN: a batch stays within ~BUDGET_MS
CHUNK, CHUNK_MIN, BUDGET_MS = 500, 100, 8.0
#: when other work ran between two batches for LAG_MS or more beyond the wait asked for — a view
#: laying out again the folder the batch went into: ~5 ms at 10,000 rows, 25–50 ms at 100,000 —
#: the next batch waits PAUSE_MS, so that it and the relayout it causes do not follow the last
#: relayout at once, in one turn of the event loop (timers and input go between them). With no
#: view showing the rows, the batches follow each other without a wait.
PAUSE_MS, LAG_MS = 5, 3


class ProjectModel(QStandardItemModel):
    COLUMNS = ("Name", "Details")

    #: a load of ``index`` finished (or failed) — for tests, the bench and status messages
    loadFinished = Signal(QModelIndex)
    #: a node failed: (index, message)
    loadFailed = Signal(QModelIndex, str)

    #: a node shown again is revalidated if its last listing is older than this (seconds)
    REVALIDATE_AFTER = 5.0

    def __init__(self, workbench: Workbench, parent: QObject | None = None,
                 pool: QThreadPool | None = None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.wb = workbench
        self.root = Node(None, None, kind="root")
        self._shown_sig: dict[str, tuple] = {}  # project id → what its row was built from
        self.root.state = "loaded"
        self._in_change = 0
        self.pool = pool  # None: ui.worker's pool for network work
        self._queued: list[Node] = []
        self._drain = QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._drain_queued)
        self._pause = 0  # ms before the next batch (PAUSE_MS while a view relayouts between batches)
        self._row_cost = BUDGET_MS / 1000 / CHUNK  # seconds a row of the last batches took to go in
        self._drained_at = 0.0
        self._insert(self.root, [self._project_node(p) for p in workbench.workspace.projects.values()])
        #: the rows after the projects: "Local files" (this computer's folders, the core's ``file``
        #: scheme), "SSH connections" (hosts of their own, ``sftp``) — the LOCAL VO type's categories
        self.local_nodes: list[Node] = [self._local_node(cat) for cat in workbench.registry.categories(LOCAL)]
        self._insert(self.root, self.local_nodes)

    @property
    def local_node(self) -> Node | None:
        """"Local files"."""
        return self.local_nodes[0] if self.local_nodes else None

    def _local_node(self, cat) -> Node:
        settings = self.wb.local_vo.settings
        if cat.kind == "file.roots":
            el = Element(cat.kind, "local-files", cat.label, has_children=True, icon=cat.icon, detail="this computer",
                         properties={"Folders": ", ".join(settings["roots"]) or "your home folder"})
            return Node(el, self.root, CATEGORY, project=GridProject(cat.label, LOCAL, id="local-files"))
        el = Element(cat.kind, f"local/{cat.kind}", cat.label, has_children=True, icon=cat.icon,
                     detail="File → New → SSH connection" if cat.kind == "sftp.connections" else "")
        return Node(el, self.root, CATEGORY, project=GridProject(cat.label, LOCAL, id=f"local/{cat.kind}"))

    # -- projects --------------------------------------------------------------------------
    def _project_node(self, project: GridProject) -> Node:
        self._shown_sig[project.id] = self._project_sig(project)
        vo = self.wb.workspace.vos.get(project.vo)
        el = Element("project", project.id, project.name, has_children=True, icon="project",
                     detail=f"{vo.name} · {vo.region}" if vo else "VO missing",
                     properties={"Project": project.name, "Virtual Organisation": vo.name if vo else "?",
                                 "VO type": vo.type if vo else "?", "Region": vo.region if vo else "",
                                 "Endpoint": (vo.endpoint_url or "the provider's default") if vo else ""})
        node = Node(el, self.root, PROJECT, project=project)
        categories = self.wb.registry.categories(vo.type) if vo else []
        if not categories:
            node.state = "error"
            why = ("its Virtual Organisation is missing" if vo is None else
                   f"no loaded provider offers VO type {vo.type!r} (see Help → Providers)")
            node.children = [error_row(node, f"Cannot show this project: {why}.")]
        else:
            node.children = [Node(Element(cat.kind, f"{project.id}/{cat.kind}", cat.label, has_children=True,
                                          icon=cat.icon), node, CATEGORY) for cat in categories]
            node.state = "loaded"
        return node

    def add_project(self, project: GridProject) -> QModelIndex:
        node = self._project_node(project)
        at = len(self.root.children) - len(self.local_nodes)
        self._insert(self.root, [node], at=at)
        return self.index_of(node)

    def remove_project(self, project_id: str) -> None:
        for node in list(self.root.children):
            if node.project and node.project.id == project_id:
                self._remove_rows(self.root, node.row, node.row)

    def reload_projects(self) -> None:
        """Bring the projects in line with the workspace. A project whose VO did not change keeps
        its node, so what is expanded and loaded under it stays (after Edit → Preferences)."""
        wanted = list(self.wb.workspace.projects.values())
        sigs = {p.id: self._project_sig(p) for p in wanted}
        kept = self.root.children
        for row in range(len(kept) - 1, -1, -1):
            if kept[row] in self.local_nodes:
                continue
            project = kept[row].project
            if project is None or sigs.get(project.id) != self._shown_sig.get(project.id):
                self._remove_rows(self.root, row, row)
        for i, project in enumerate(wanted):
            children = self.root.children
            if i < len(children) and children[i].project is not None and children[i].project.id == project.id:
                continue
            self._insert(self.root, [self._project_node(project)], at=i)

    def _project_sig(self, project: GridProject) -> tuple:
        vo = self.wb.workspace.vos.get(project.vo)
        return (project.name, project.vo, self.wb.vo_revisions.get(project.vo, 0),
                None if vo is None else (vo.name, vo.type, repr(sorted(vo.settings.items()))))

    def _retire(self, node: Node) -> None:
        """node leaves the tree: its loads stop and late pages for it are dropped."""
        node.alive = False
        node.queued = None
        if node.ticket:
            node.ticket.stop.set()
        for c in node.children:
            self._retire(c)
        # the children point back at the node: let go of them, so the rows are freed by their
        # reference counts, also when frozen (gridclient.heap.rows_added)
        node.children = ()

    # -- Qt model interface (the structure is QStandardItemModel's) ------------------------
    def node(self, index: QModelIndex | QPersistentModelIndex) -> Node:
        if not index.isValid():
            return self.root
        if index.column() != NODE_COLUMN:
            index = index.siblingAtColumn(NODE_COLUMN)
        return self.data(index, NodeRole)

    def tooltip(self, index: QModelIndex) -> str:
        """The row's tooltip, made when asked (the view asks on hover)."""
        n = self.node(index)
        return n.tooltip() if n is not None and n is not self.root and n.element is not None else ""

    def canFetchMore(self, parent: QModelIndex) -> bool:
        n = self.node(parent)
        return n is not self.root and n.expandable and n.state == "idle"

    def fetchMore(self, parent: QModelIndex) -> None:
        n = self.node(parent)
        if n is not self.root and n.expandable and n.state == "idle":
            if self._in_change:
                # a view asks while it handles one of our row changes: load after it returns
                n.state = "loading"
                QTimer.singleShot(0, lambda n=n: self._deferred_load(n))
                return
            self._load(n, refresh=False)

    def _deferred_load(self, n: Node) -> None:
        if n.alive and n.state == "loading" and n.ticket is None:
            self._load(n, refresh=False)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802 - Qt's name
        return False  # rows show the cloud; they are changed by actions, not edited in place

    # -- loading ---------------------------------------------------------------------------
    def index_of(self, node: Node, column: int = 0) -> QModelIndex:
        """Where ``node`` is shown; invalid for the root, and for a node not (or no longer) in the model."""
        if node is self.root or node.parent is None or not node.alive:
            return QModelIndex()
        parent = node.parent
        if parent is self.root:
            parent_index = QModelIndex()
        else:
            parent_index = self.index_of(parent)
            if not parent_index.isValid():
                return QModelIndex()
        try:
            row = node.row
        except ValueError:  # made, but not put in yet (queued)
            return QModelIndex()
        return self.index(row, column, parent_index)

    def vo_of(self, node: Node):
        if node.project is None:
            return None
        if node.project.vo == LOCAL:
            return self.wb.local_vo
        return self.wb.workspace.vos.get(node.project.vo)

    def refresh(self, index: QModelIndex) -> None:
        """F5: reload this node's children (or its parent's, for a leaf), keeping expansion."""
        n = self.node(index)
        if n.kind == ERROR:
            return self.retry(index)
        if n.kind == LOADING or n is self.root:
            return
        if not n.expandable:
            n = n.parent
            if n is None or n is self.root:
                return
        if n.kind == PROJECT:
            for c in n.children:
                if c.state not in ("idle",):
                    self._load(c, refresh=True)
            return
        if n.state == "idle":
            return self._load(n, refresh=False)
        self._load(n, refresh=True)

    def retry(self, index: QModelIndex) -> None:
        n = self.node(index)
        target = n.parent if n.kind == ERROR else n
        if target is None or target is self.root:
            return
        self._load(target, refresh=any(c.kind not in SPECIAL for c in target.children))

    def revalidate(self, index: QModelIndex) -> None:
        """The node is shown again (expanded): with live listings, check its rows in the background
        unless they are only a few seconds old."""
        n = self.node(index)
        if (n is self.root or n.kind not in (ELEMENT, CATEGORY) or n.state != "loaded" or not self.wb.live_refresh
                or time.monotonic() - n.loaded_at < self.REVALIDATE_AFTER):
            return
        self._load(n, refresh=True)

    def _load(self, node: Node, refresh: bool) -> None:
        vo = self.vo_of(node)
        if vo is None:
            return
        if node.ticket is not None:
            node.ticket.stop.set()
        node.queued = None
        node.generation += 1
        merge = refresh and any(c.kind not in SPECIAL for c in node.children)
        shown = [c.element for c in node.children if c.kind not in SPECIAL] if merge else None
        ticket = LoadTicket(node, node.generation, threading.Event(), shown)
        node.ticket = ticket
        if merge:
            self._drop_special_rows(node)
            node.state = "refreshing"
        else:
            self._drop_special_rows(node, keep_loading=True)
            node.state = "loading"
            if not node.children:
                self._insert(node, [loading_row(node)])
        node.error = ""
        self._changed(node)
        worker = Worker(load_rows, self.wb, vo, node.element, merge, ticket, parent=self, abort=ticket.stop)
        worker.yielded.connect(self._on_event)
        worker.returned.connect(self._on_finished)
        worker.start(self.pool)

    def _current(self, ticket: LoadTicket) -> Node | None:
        n = ticket.node
        if n.ticket is not ticket or ticket.stop.is_set() or not n.alive:
            return None
        return n

    @Slot(object)
    def _on_event(self, item: tuple) -> None:
        ticket, prepared = item
        n = self._current(ticket)
        if n is None:
            return
        if isinstance(prepared, Rows):
            self._on_rows(n, prepared.rows)
        elif isinstance(prepared, Changes):
            self._flush_queued(n)
            self._apply(n, prepared)
        elif isinstance(prepared, Failed):
            self._on_failed(n, prepared.message)

    def _on_rows(self, n: Node, rows: list[Node]) -> None:
        if not rows:
            return
        if n.queued:
            n.queued.extend(rows)
            return
        if not n.children or n.children[0].kind == LOADING:
            self._drop_special_rows(n)
        size = self._batch_size()
        self._insert_batch(n, rows[:size])
        if len(rows) > size:
            # a big listing at once (the cache answering for a 10,000-object folder): the rest
            # goes in over the next event-loop turns, so the window stays responsive meanwhile
            n.queued = rows[size:]
            self._queued.append(n)
            self._drain_later()
        self._changed(n)  # Details counts the rows coming in

    def _batch_size(self) -> int:
        return max(CHUNK_MIN, min(CHUNK, int(BUDGET_MS / 1000 / self._row_cost)))

    def _insert_batch(self, n: Node, batch: list[Node]) -> None:
        """Rows of a listing go in; what each took is remembered, for the size of the next batch."""
        started = time.perf_counter()
        self._insert(n, batch)
        took = (time.perf_counter() - started) / len(batch)
        self._row_cost = (self._row_cost + took) / 2
        rows_added(len(batch))

    def _drain_later(self) -> None:
        self._drained_at = time.monotonic()
        self._drain.start(self._pause)

    def _drain_queued(self) -> None:
        lag = (time.monotonic() - self._drained_at) * 1000 - self._drain.interval()
        self._pause = PAUSE_MS if lag >= LAG_MS else 0
        queued, self._queued = self._queued, []
        for n in queued:
            if n.alive and n.queued:
                size = self._batch_size()
                batch, n.queued = n.queued[:size], n.queued[size:]
                self._insert_batch(n, batch)
                self._changed(n)
                if n.queued:
                    self._queued.append(n)
        if self._queued:
            self._drain_later()

    def _flush_queued(self, n: Node) -> None:
        """Everything queued for n goes in now: a later event (replace, finish) builds on it."""
        if n.queued:
            rows, n.queued = n.queued, []
            self._insert(n, rows)

    @Slot(object)
    def _on_finished(self, ticket: LoadTicket) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._flush_queued(n)
        self._drop_special_rows(n, errors=False)
        if not n.children:
            self._insert(n, [empty_row(n)])
        n.state = "loaded"
        n.ticket = None
        n.loaded_at = time.monotonic()
        self._changed(n)
        freeze_imports()  # the first listing loaded the provider's SDK: see gridclient.heap
        self.loadFinished.emit(self.index_of(n))

    def _on_failed(self, n: Node, message: str) -> None:
        self._flush_queued(n)  # the pages that came are shown
        self._drop_special_rows(n)
        n.state = "error"
        n.error = message
        n.ticket = None
        if not n.stale:
            # nothing listed to keep showing: the error is the node's only row, with Retry
            self._insert(n, [error_row(n, message)])
        self._changed(n)
        idx = self.index_of(n)
        self.loadFailed.emit(idx, message)
        self.loadFinished.emit(idx)

    # -- row surgery -----------------------------------------------------------------------
    def _changed(self, node: Node) -> None:
        """The node's state changed: its row says so (Details, red while stale)."""
        if node is not self.root:
            self._write(node)

    def _write(self, node: Node) -> None:
        """Write a shown row's cells again from its node."""
        index = self.index_of(node)
        if index.isValid():
            name, detail = node.cells()
            self.setItemData(index, name)
            self.setItemData(index.siblingAtColumn(1), detail)

    def _insert(self, parent: Node, rows: list[Node], at: int | None = None) -> None:
        if not rows:
            return
        at = len(parent.children) if at is None else at
        self._in_change += 1
        try:
            if not isinstance(parent.children, list):
                parent.children = list(parent.children)
            parent.children[at:at] = rows
            self._put_rows(self.index_of(parent), rows, at)
        finally:
            self._in_change -= 1

    def _put_rows(self, parent_index: QModelIndex, rows: list[Node], at: int) -> None:
        """Insert rows for ``rows`` under ``parent_index`` at ``at``, and fill their cells.

        One rowsInserted for the batch; then Qt makes each cell from plain data while the model's
        signals are held (a dataChanged per cell would reach every view), and one dataChanged
        says the batch is filled. The children a row has already (a project's categories), or
        the placeholder of an expandable one, go in with the signals held too: the view learns of
        them when it lays the rows out, which the batch's rowsInserted has scheduled.
        """
        width = len(self.COLUMNS)
        if self.columnCount(parent_index) < width:
            self.insertColumns(self.columnCount(parent_index), width - self.columnCount(parent_index), parent_index)
        self.insertRows(at, len(rows), parent_index)
        held = self.blockSignals(True)
        try:
            self._fill(parent_index, rows, at)
        finally:
            self.blockSignals(held)
        self.dataChanged.emit(self.index(at, 0, parent_index),
                              self.index(at + len(rows) - 1, width - 1, parent_index))

    def _fill(self, parent_index: QModelIndex, rows: list[Node], at: int) -> None:
        index, put, width = self.index, self.setItemData, len(self.COLUMNS)
        for i, node in enumerate(rows):
            row = at + i
            if row < 256:  # a small int is shared; a bigger one is an object a row: looked up when needed
                node.row_hint = row
            name, detail = node.cells(fresh=True)
            first = index(row, 0, parent_index)
            put(first, name)
            put(index(row, 1, parent_index), detail)
            if node.expandable and node.state == "idle" and not node.children:
                node.children = [loading_row(node)]  # the expander, without asking Python
            if node.children:
                self.insertColumns(0, width, first)
                self.insertRows(0, len(node.children), first)
                self._fill(first, node.children, 0)

    def _remove_rows(self, parent: Node, first: int, last: int) -> None:
        self._in_change += 1
        try:
            for gone in parent.children[first:last + 1]:
                self._retire(gone)
            del parent.children[first:last + 1]
            self.removeRows(first, last - first + 1, self.index_of(parent))
        finally:
            self._in_change -= 1

    def _remove_where(self, node: Node, gone: Callable[[Node], bool]) -> None:
        """Remove node's children for which ``gone`` holds, a contiguous run at a time, from the end."""
        i = len(node.children) - 1
        while i >= 0:
            if gone(node.children[i]):
                j = i
                while j - 1 >= 0 and gone(node.children[j - 1]):
                    j -= 1
                self._remove_rows(node, j, i)
                i = j
            i -= 1

    def _drop_special_rows(self, node: Node, errors: bool = True, keep_loading: bool = False) -> None:
        kinds = {ERROR, EMPTY} if keep_loading else (SPECIAL if errors else {LOADING, EMPTY})
        if kinds.isdisjoint(map(_KIND, node.children)):
            return  # the usual case, looked at in C: a Python call per row was ~25 ms for 100,000 rows
        self._remove_where(node, lambda c: c.kind in kinds)

    def _apply(self, node: Node, changes: Changes) -> None:
        """Make node's rows equal the live listing, keeping the Node (so expansion and selection) of
        every key that stays; the rows shown are what the worker compared with (ticket.shown)."""
        self._drop_special_rows(node, errors=True)
        ids = changes.ids  # a row's id is looked at first: its key is text made when asked

        def named(c: Node, keys) -> bool:
            return c.element is not None and (ids is None or c.element.id in ids) and c.key in keys

        if changes.removed:
            self._remove_where(node, lambda c: named(c, changes.removed))
        if changes.changed:
            for row, child in enumerate(node.children):
                if not named(child, changes.changed):
                    continue
                new = changes.changed[child.key]
                was_expandable = child.expandable
                child.set_element(new)
                child.row_hint = row  # found at once by _write
                self._write(child)
                if not child.expandable and was_expandable and child.children:
                    self._remove_rows(child, 0, len(child.children) - 1)
                    child.state = "idle"
                elif child.expandable and not was_expandable and not child.children:
                    self._insert(child, [loading_row(child)])
        if not changes.order:
            self._insert(node, changes.added)
            return
        from bisect import bisect_right

        order = changes.order
        last = len(order)
        places = [order.get(c.element.id, last) if c.element is not None else last for c in node.children]
        for new in changes.added:  # each after the shown rows the listing has before it
            place = order.get(new.element.id, last)
            at = bisect_right(places, place)
            places.insert(at, place)
            self._insert(node, [new], at=at)

    # -- helpers for views -----------------------------------------------------------------
    def indexes_showing(self, uris: set[str], vo_ids: set[str]) -> list[QModelIndex]:
        """Loaded rows of storage whose URI is one of ``uris`` (in a VO of ``vo_ids``): what to
        reload when a transfer into or out of those folders ends."""
        found: list[QModelIndex] = []
        stack = list(self.root.children)
        while stack:
            n = stack.pop()
            if n.kind in SPECIAL or n.element is None:
                continue
            if n.state in ("idle",):
                continue
            uri = n.element.ref.get("uri") if n.element.ref else None
            vo = self.vo_of(n)
            if uri in uris and vo is not None and vo.id in vo_ids:
                found.append(self.index_of(n))
            stack.extend(n.children)
        return found

    def indexes_of_elements(self, elements: list) -> list[QModelIndex]:
        """The loaded rows showing these very elements (the console's ``selection[0]``)."""
        wanted = {id(e) for e in elements}
        found: list[QModelIndex] = []
        stack = list(self.root.children)
        while stack and len(found) < len(wanted):
            n = stack.pop()
            if n.element is not None and id(n.element) in wanted and n.kind not in SPECIAL:
                found.append(self.index_of(n))
            stack.extend(n.children)
        return found

    def roots_on(self, scheme: str, root: str) -> list[QModelIndex]:
        """Rows of storage roots (an instance's Files, an SSH connection) on ``scheme://root/``,
        the ones nearest the top first: where a terminal tab's folder is looked for."""
        kinds = self.storage_root_kinds()
        found: list[QModelIndex] = []
        stack = list(reversed(self.root.children))
        while stack:
            n = stack.pop()
            if n.kind in SPECIAL or n.element is None:
                continue
            if n.element.kind in kinds and self.is_root_on(n, scheme, root):
                found.append(self.index_of(n))
                continue
            stack.extend(reversed(n.children))
        return found

    def is_root_on(self, n: Node, scheme: str, root: str) -> bool:
        """Whether ``n`` is the row of a storage root (an instance's Files, an SSH connection) on
        ``scheme://root/``."""
        from gridclient.storage.base import Location

        el = n.element
        if n.kind in SPECIAL or el is None or not n.expandable or el.kind not in self.storage_root_kinds():
            return False
        uri = el.ref.get("uri") if el.ref else None
        if not uri:
            return False
        loc = Location.parse(uri)
        return loc.scheme == scheme and loc.root == root

    def storage_root_kinds(self) -> frozenset[str]:
        """The element kinds of storage roots, every scheme's (``sftp.root``: an instance's Files)."""
        return frozenset().union(*(s.root_kinds for s in self.wb.registry.storage_schemes.values()))

    def shown_of_kind(self, kind: str, projects: list) -> list[QModelIndex]:
        """Rows of elements of ``kind`` under the given projects (an action's ``refresh="kind:…"``)."""
        ids = {p.id for p in projects if p is not None}
        found: list[QModelIndex] = []
        stack = [n for n in self.root.children if n.project is not None and n.project.id in ids]
        while stack:
            n = stack.pop()
            if n.element is not None and n.element.kind == kind:
                found.append(self.index_of(n))
            elif n.kind in (PROJECT, CATEGORY) or n.state != "idle":
                stack.extend(c for c in n.children if c.kind not in SPECIAL)
        return found

    def replace_elements(self, vo_id: str, elements: list[Element] | tuple[Element, ...]) -> list[QModelIndex]:
        """The cloud says these elements are now so (the state watcher: an instance stopped): every
        loaded row of that VO showing one of their keys takes the new Element, and its cells are
        written again (state icon, Details; dataChanged, so Properties follows). Returns the rows."""
        new = {e.key: e for e in elements}
        found: list[QModelIndex] = []
        if not new:
            return found
        stack = [n for n in self.root.children if n.project is not None and n.project.vo == vo_id]
        while stack:
            n = stack.pop()
            if n.kind not in SPECIAL and n.element is not None:
                el = new.get(n.element.key)
                if el is not None and n.kind == ELEMENT:
                    was_expandable = n.expandable
                    n.set_element(el)
                    self._write(n)
                    if not n.expandable and was_expandable and n.children:
                        self._remove_rows(n, 0, len(n.children) - 1)
                        n.state = "idle"
                    elif n.expandable and not was_expandable and not n.children:
                        self._insert(n, [loading_row(n)])
                    found.append(self.index_of(n))
            if n.state != "idle" and isinstance(n.children, list):
                stack.extend(n.children)
        return found

    def element(self, index: QModelIndex) -> Element | None:
        n = self.node(index)
        return n.element if n is not None and n is not self.root else None  # None: a row being filled

    def set_ref(self, index: QModelIndex, ref: dict) -> None:
        """An action changed what finds the node's children (a catalog's query): the cached
        listing no longer stands for them."""
        n = self.node(index)
        vo = self.vo_of(n)
        if n.element is not None:
            n.element.ref = {**n.element.ref, **ref}
            if vo is not None:
                self.wb.cache.forget(vo.id, n.key)
            # the rows shown answered the old query: they go, so the new one starts from "Loading…"
            # (kept, they were the first thing a new search showed)
            if n.ticket is not None:
                n.ticket.stop.set()
                n.ticket = None
            if n.children:
                self._remove_rows(n, 0, len(n.children) - 1)
            n.state = "idle"
            if n.expandable:
                self._insert(n, [loading_row(n)])
            self._changed(n)
