"""ProjectModel: Grid Projects → categories → elements, loaded lazily and never on the GUI thread.

Follows Qt's fetchmore example and nextgis_connect's tree model: a node is locked while it loads
(one ticket at a time, stale pages are dropped); a "Loading…" row shows meanwhile; a failure
becomes an error row with Retry, kept per node, while the rest of the tree works on. A refresh
merges by element key, so expansion and selection survive it.

The rows live in a QStandardItemModel, text, icon and tooltip included, so a view lays out and
paints them without calling Python. Every insert or removal under an expanded node makes
QTreeView lay out all its rows again, calling ``index`` and ``hasChildren`` (and ``flags``) for
each: with a Python QAbstractItemModel that cost ~4.5 µs a row, 45 ms for a 10,000-object
folder; and every Python callback from the GUI thread waits for the GIL whenever a worker runs
Python (parsing a page, writing the cache), which made one repaint take 115 ms (bench/README.md).
Python keeps a :class:`Node` per row (its Element, load state and children) on the row's column-0
item and writes the items' data when a row is made or changes. The rows of a listing's pages are
built on the worker thread that loaded them (items that are in no model yet belong to nobody), so
the GUI thread only inserts them: ~3 ms for a page of 1,000. An expandable node that has not been
loaded holds one placeholder "Loading…" row, so the view draws its expander without asking
Python; expanding it calls :meth:`fetchMore`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel

from gridclient.elements import Element
from gridclient.heap import freeze_imports
from gridclient.workbench import Workbench
from gridclient.workspace import GridProject
from ui.icons import icon, loaded_icon
from ui.loading import ChildLoad, LoadSignals, LoadTicket

log = logging.getLogger(__name__)

ElementRole = Qt.ItemDataRole.UserRole + 1
RowKindRole = Qt.ItemDataRole.UserRole + 2

LOADING, ERROR, PROJECT, CATEGORY, ELEMENT = "loading", "error", "project", "category", "element"

_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
# made once on the GUI thread; rows built on workers get copies (implicitly shared, atomic counts)
_GREY, _RED = QBrush(QColor("#777777")), QBrush(QColor("#c62828"))
_ITALIC = QFont()
_ITALIC.setItalic(True)
#: rows put into the model per event-loop turn when a big listing arrives at once (the cache)
CHUNK = 2000


#: column 0's item holds the row's Node under this role (no Python attribute: every object a row
#: keeps alive is walked by each full garbage collection, ~4 per row now, 7 before)
NodeRole = Qt.ItemDataRole.UserRole + 3
_NO_CHILDREN: tuple = ()




class Node:
    __slots__ = ("element", "parent", "children", "kind", "state", "error", "project", "ticket",
                 "generation", "expandable", "item", "detail_item", "alive", "queued", "icon_name")

    def __init__(self, element: Element | None, parent: "Node | None", kind: str = ELEMENT,
                 project: GridProject | None = None):
        self.element = element
        self.parent = parent
        self.children: list[Node] | tuple = _NO_CHILDREN  # a list once it has any
        self.kind = kind
        self.state = "idle"  # idle | loading | refreshing | loaded | error
        self.error = ""
        self.project = project if project is not None else (parent.project if parent else None)
        self.ticket: LoadTicket | None = None
        self.generation = 0
        self.expandable = self._expandable()
        self.item: QStandardItem | None = None  # made when the row goes into the model
        self.detail_item: QStandardItem | None = None  # column 1
        self.alive = True  # False once removed from the tree
        self.queued: list[Node] | None = None  # rows waiting to go in, CHUNK per turn
        self.icon_name = ""  # set while the row's icon is still to be made on the GUI thread

    def set_element(self, element: Element) -> None:
        self.element = element
        self.expandable = self._expandable()

    def _expandable(self) -> bool:
        if self.kind in (PROJECT, CATEGORY):
            return True
        return self.kind == ELEMENT and bool(self.element and self.element.has_children)

    @property
    def key(self) -> str:
        return self.element.key if self.element else ""

    @property
    def row(self) -> int:
        return self.item.row() if self.item is not None and self.parent is not None else 0

    def detail_text(self) -> str:
        detail = self.element.detail
        if self.state == "refreshing":
            return (detail + " · " if detail else "") + "refreshing…"
        if self.state == "loading" and self.children and self.children[0].kind != LOADING:
            return (detail + " · " if detail else "") + f"loading… {len(self.children):,} so far"
        if self.kind == ERROR:
            return "double-click or F5 to retry"
        if self.state == "error" and any(c.kind == ELEMENT for c in self.children):
            # a refresh failed: the rows shown are the last listing, not what is there now
            return (detail + " · " if detail else "") + "not up to date: refresh failed"
        return detail

    def build(self) -> None:
        """Make the row's items, and those of the children it has (or of its expander placeholder).

        Runs on a worker thread for the rows of a page (see the top of the file): nothing here
        may touch an item that is in the model, or make an icon.
        """
        el = self.element
        self.item = name = QStandardItem()
        name.setFlags(_ROW_FLAGS)
        name.setData(self, NodeRole)
        self.detail_item = detail = QStandardItem()
        detail.setFlags(_ROW_FLAGS)
        self.decorate(on_gui=False)
        if self.kind in (LOADING, ERROR) or el.kind == "info":
            colour = _RED if self.kind == ERROR else _GREY
            name.setForeground(colour)
            detail.setForeground(colour)
            if self.kind != ERROR:
                name.setFont(_ITALIC)
        if self.expandable and self.state == "idle" and not self.children:
            self.children = [_loading_row(self)]  # the expander, without asking Python
        if self.children:
            name.setColumnCount(2)
            for c in self.children:
                c.build()
                name.appendRow([c.item, c.detail_item])

    def finish_icons(self) -> None:
        """GUI thread: make the icons a worker could not."""
        if self.icon_name:
            self.item.setIcon(icon(self.icon_name))
            self.icon_name = ""
        for c in self.children:
            c.finish_icons()

    def decorate(self, on_gui: bool = True) -> None:
        """Write label, icon and tooltip to the row's items (on creation, and when the element changes)."""
        el = self.element
        self.item.setText(el.label)
        name = el.icon or ("folder" if self.expandable else "file")
        made = icon(name) if on_gui else loaded_icon(name)
        if made is None:
            self.icon_name = name
        else:
            self.item.setIcon(made)
        if self.kind == ERROR:
            self.item.setToolTip(el.label + "\n\nDouble-click or press F5 to retry.")
        else:
            self.item.setToolTip(f"{el.label}\n{el.kind} · {el.id}" + (f"\nstate: {el.state}" if el.state else ""))
        self.detail_item.setText(self.detail_text())


def _build_rows(ticket: LoadTicket, elements: list[Element]) -> list[Node]:
    rows = [Node(e, ticket.node) for e in elements]
    for row in rows:
        row.build()
    return rows


class Changes:
    """How a live listing differs from the rows shown: found on the worker, applied on the GUI."""

    __slots__ = ("removed", "changed", "added")

    def __init__(self, removed: set[str], changed: dict[str, Element], added: list[Node]):
        self.removed = removed
        self.changed = changed
        self.added = added


def _prepare(ticket: LoadTicket, event: str, payload: Any) -> Any:
    """ChildLoad.prepare, on the worker: pages become built rows; a replacement becomes Changes."""
    if event == "cached":
        ticket.shown = payload
    if event in ("page", "cached"):
        return _build_rows(ticket, payload)
    if event == "replace":
        shown = {e.key: e for e in ticket.shown or ()}
        fresh: set[str] = set()
        changed: dict[str, Element] = {}
        added: list[Element] = []
        for e in payload:
            key = e.key
            if key in fresh:
                continue  # a listing that repeats a key: the first one counts
            fresh.add(key)
            old = shown.get(key)
            if old is None:
                added.append(e)
            elif old != e:
                changed[key] = e
        return Changes({k for k in shown if k not in fresh}, changed, _build_rows(ticket, added))
    return payload


def _loading_row(parent: Node) -> Node:
    return Node(Element("__loading__", f"{parent.key}#loading", "Loading…", icon="loading"), parent, LOADING)


class ProjectModel(QStandardItemModel):
    COLUMNS = ("Name", "Details")

    #: a load of ``index`` finished (or failed) — for tests, the bench and status messages
    loadFinished = Signal(QModelIndex)
    #: a node failed: (index, message)
    loadFailed = Signal(QModelIndex, str)

    def __init__(self, workbench: Workbench, parent: QObject | None = None,
                 pool: QThreadPool | None = None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.wb = workbench
        self.root = Node(None, None, kind="root")
        self._shown_sig: dict[str, tuple] = {}  # project id → what its row was built from
        # root.item stays None: the invisible root item is made by C++, so PySide is not told when
        # the model deletes it, and a wrapper of it kept in the node tree (which loading tickets
        # reach through node.parent) would outlive it and be handed out for whatever C++ object
        # is later made at that address. _item_of() asks the model each time instead.
        self.root.state = "loaded"
        self._in_change = 0
        self.pool = pool or QThreadPool.globalInstance()
        self._signals = LoadSignals(self)
        self._signals.page.connect(self._on_page)
        self._signals.replaced.connect(self._on_replaced)
        self._signals.failed.connect(self._on_failed)
        self._signals.finished.connect(self._on_finished)
        self._queued: list[Node] = []
        self._drain = QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._drain_queued)
        self._insert(self.root, [self._project_node(p) for p in workbench.workspace.projects.values()])

    # -- projects --------------------------------------------------------------------------
    def _project_node(self, project: GridProject) -> Node:
        self._shown_sig[project.id] = self._project_sig(project)
        vo = self.wb.workspace.vos.get(project.vo)
        el = Element("project", project.id, project.name, has_children=True, icon="project",
                     detail=f"{vo.name} · {vo.region}" if vo else "VO missing",
                     properties={"Project": project.name, "Virtual Organisation": vo.name if vo else "?",
                                 "VO type": vo.type if vo else "?", "Region": vo.region if vo else "",
                                 "Endpoint": (vo.endpoint_url or "AWS") if vo else ""})
        node = Node(el, self.root, PROJECT, project=project)
        contributor = self.wb.registry.node_contributors.get(vo.type) if vo else None
        if contributor is None:
            node.state = "error"
            why = ("its Virtual Organisation is missing" if vo is None else
                   f"no loaded provider offers VO type {vo.type!r} (see Help → Providers)")
            node.children = [Node(Element("__error__", f"{project.id}#error", f"Cannot show this project: {why}.",
                                          icon="error"), node, ERROR)]
        else:
            node.children = [Node(Element(cat.kind, f"{project.id}/{cat.kind}", cat.label, has_children=True,
                                          icon=cat.icon), node, CATEGORY) for cat in contributor.categories]
            node.state = "loaded"
        return node

    def add_project(self, project: GridProject) -> QModelIndex:
        node = self._project_node(project)
        self._insert(self.root, [node])
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
        node.item = node.detail_item = None  # the model deletes the items
        if node.ticket:
            node.ticket.stop.set()
        for c in node.children:
            self._retire(c)

    # -- Qt model interface (the structure is QStandardItemModel's) ------------------------
    def node(self, index: QModelIndex | QPersistentModelIndex) -> Node:
        if not index.isValid():
            return self.root
        if index.column() != 0:
            index = index.siblingAtColumn(0)
        return self.itemFromIndex(index).data(NodeRole)

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
        if node is self.root or node.parent is None or node.item is None:
            return QModelIndex()
        index = self.indexFromItem(node.item)
        return index if column == 0 else index.siblingAtColumn(column)

    def vo_of(self, node: Node):
        return self.wb.workspace.vos.get(node.project.vo) if node.project else None

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
        self._load(target, refresh=bool([c for c in target.children if c.kind not in (ERROR, LOADING)]))

    def _load(self, node: Node, refresh: bool) -> None:
        vo = self.vo_of(node)
        if vo is None:
            return
        if node.ticket is not None:
            node.ticket.stop.set()
        node.queued = None
        node.generation += 1
        merge = refresh and any(c.kind not in (ERROR, LOADING) for c in node.children)
        shown = [c.element for c in node.children if c.kind not in (ERROR, LOADING)] if merge else None
        ticket = LoadTicket(node, node.generation, shown)
        node.ticket = ticket
        node.error = ""
        if merge:
            self._drop_special_rows(node)
            node.state = "refreshing"
        else:
            self._drop_special_rows(node, keep_loading=True)
            node.state = "loading"
            if not node.children:
                self._insert(node, [_loading_row(node)])
        self._changed(node)
        element = node.element
        # the worker's callables hold the Workbench, never the model: a runnable is deleted on its
        # worker thread, and must not drop the last reference to a Qt object there (a model
        # dropped by its owner while a load runs would then be destroyed off the GUI thread)
        wb = self.wb

        def produce(t: LoadTicket, vo=vo, element=element, merge=merge):
            return wb.listing(vo, element, show_cached=not merge, merge=merge, stop=t.stop)

        self.pool.start(ChildLoad(ticket, self._signals, produce, lambda e: wb.tokens.explain(vo, e),
                                  prepare=_prepare))

    def _current(self, ticket: LoadTicket) -> Node | None:
        n = ticket.node
        if n.ticket is not ticket or ticket.stop.is_set() or not n.alive:
            return None
        return n

    @Slot(object, object, object)
    def _on_page(self, ticket: LoadTicket, rows: list[Node], cached: bool) -> None:
        n = self._current(ticket)
        if n is None or not rows:
            return
        if n.queued:
            n.queued.extend(rows)
            return
        if not n.children or n.children[0].kind == LOADING:
            self._drop_special_rows(n)
        self._insert(n, rows[:CHUNK])
        if len(rows) > CHUNK:
            # a big listing at once (the cache answering for a 10,000-object folder): the rest
            # goes in over the next event-loop turns, so the window stays responsive meanwhile
            n.queued = rows[CHUNK:]
            self._queued.append(n)
            self._drain.start()
        self._changed(n)  # Details counts the rows coming in

    def _drain_queued(self) -> None:
        queued, self._queued = self._queued, []
        for n in queued:
            if n.alive and n.queued:
                batch, n.queued = n.queued[:CHUNK], n.queued[CHUNK:]
                self._insert(n, batch)
                self._changed(n)
                if n.queued:
                    self._queued.append(n)
        if self._queued:
            self._drain.start()

    def _flush_queued(self, n: Node) -> None:
        """Everything queued for n goes in now: a later event (replace, finish) builds on it."""
        if n.queued:
            rows, n.queued = n.queued, []
            self._insert(n, rows)

    @Slot(object, object)
    def _on_replaced(self, ticket: LoadTicket, changes: Changes) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._flush_queued(n)
        self._apply(n, changes)

    @Slot(object)
    def _on_finished(self, ticket: LoadTicket) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._flush_queued(n)
        self._drop_special_rows(n, errors=False)
        n.state = "loaded"
        n.ticket = None
        self._changed(n)
        freeze_imports()  # the first listing loaded the provider's SDK: see gridclient.heap
        self.loadFinished.emit(self.index_of(n))

    @Slot(object, str)
    def _on_failed(self, ticket: LoadTicket, message: str) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._flush_queued(n)  # the pages that came are shown, with the error row after them
        self._drop_special_rows(n)
        n.state = "error"
        n.error = message
        n.ticket = None
        self._insert(n, [Node(Element("__error__", f"{n.key}#error", message, icon="error"), n, ERROR)])
        self._changed(n)
        idx = self.index_of(n)
        self.loadFailed.emit(idx, message)
        self.loadFinished.emit(idx)

    # -- row surgery -----------------------------------------------------------------------
    def _changed(self, node: Node) -> None:
        """The node's state changed: its Details column says so."""
        if node is not self.root and node.detail_item is not None:
            node.detail_item.setText(node.detail_text())

    def _insert(self, parent: Node, rows: list[Node], at: int | None = None) -> None:
        if not rows:
            return
        at = len(parent.children) if at is None else at
        self._in_change += 1
        try:
            if not isinstance(parent.children, list):
                parent.children = list(parent.children)
            parent.children[at:at] = rows
            self._put_items(parent, rows, at)
        finally:
            self._in_change -= 1

    def _item_of(self, node: Node) -> QStandardItem:
        return self.invisibleRootItem() if node is self.root else node.item

    def _put_items(self, parent: Node, rows: list[Node], at: int) -> None:
        """Put rows' items (built here, or on the worker that loaded them) under parent's item."""
        for node in rows:
            if node.item is None:
                node.build()
            node.finish_icons()
        into = self._item_of(parent)
        if into.columnCount() < len(self.COLUMNS):
            into.setColumnCount(len(self.COLUMNS))
        # one rowsInserted for the names; then each row's Details cell
        into.insertRows(at, [node.item for node in rows])
        for i, node in enumerate(rows):
            into.setChild(at + i, 1, node.detail_item)

    def _remove_rows(self, parent: Node, first: int, last: int) -> None:
        self._in_change += 1
        try:
            for gone in parent.children[first:last + 1]:
                self._retire(gone)
            del parent.children[first:last + 1]
            self._item_of(parent).removeRows(first, last - first + 1)
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
        kinds = {ERROR} if keep_loading else ({LOADING, ERROR} if errors else {LOADING})
        self._remove_where(node, lambda c: c.kind in kinds)

    def _apply(self, node: Node, changes: Changes) -> None:
        """Make node's rows equal the live listing, keeping the Node (so expansion and selection) of
        every key that stays; the rows shown are what the worker compared with (ticket.shown)."""
        self._drop_special_rows(node, errors=True)
        if changes.removed:
            self._remove_where(node, lambda c: c.key in changes.removed)
        if changes.changed:
            for child in node.children:
                new = changes.changed.get(child.key)
                if new is None:
                    continue
                was_expandable = child.expandable
                child.set_element(new)
                child.decorate()
                if not child.expandable and was_expandable and child.children:
                    self._remove_rows(child, 0, len(child.children) - 1)
                    child.state = "idle"
                elif child.expandable and not was_expandable and not child.children:
                    self._insert(child, [_loading_row(child)])
        self._insert(node, changes.added)

    # -- helpers for views -----------------------------------------------------------------
    def element(self, index: QModelIndex) -> Element | None:
        n = self.node(index)
        return n.element if n is not self.root else None

    def set_ref(self, index: QModelIndex, ref: dict) -> None:
        n = self.node(index)
        if n.element is not None:
            n.element.ref = {**n.element.ref, **ref}
            self.wb.cache.forget(self.vo_of(n).id, n.key) if self.vo_of(n) else None

    def find(self, predicate, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        """First loaded index (depth-first) whose Element satisfies predicate."""
        n = self.node(parent)
        for c in n.children:
            if c.kind in (LOADING, ERROR):
                continue
            if c.element is not None and predicate(c.element):
                return self.index_of(c)
            hit = self.find(predicate, self.index_of(c))
            if hit.isValid():
                return hit
        return QModelIndex()
