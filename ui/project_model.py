"""ProjectModel: Grid Projects → categories → elements, loaded lazily and never on the GUI thread.

Follows Qt's fetchmore example and nextgis_connect's tree model: ``hasChildren`` answers from the
kind without fetching; a node is locked while it loads (one ticket at a time, stale pages are
dropped); a "Loading…" row shows meanwhile; a failure becomes an error row with Retry, kept per
node, while the rest of the tree works on. A refresh merges by element key, so expansion and
selection survive it.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import (QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QThreadPool, QTimer,
                            Signal, Slot)
from PySide6.QtGui import QBrush, QColor, QFont

from gridclient.elements import Element
from gridclient.workbench import Workbench
from gridclient.workspace import GridProject
from ui.icons import icon
from ui.loading import ChildLoad, LoadSignals, LoadTicket

log = logging.getLogger(__name__)

ElementRole = Qt.ItemDataRole.UserRole + 1
RowKindRole = Qt.ItemDataRole.UserRole + 2

LOADING, ERROR, PROJECT, CATEGORY, ELEMENT = "loading", "error", "project", "category", "element"


class Node:
    __slots__ = ("element", "parent", "children", "row", "kind", "state", "error", "project",
                 "ticket", "generation")

    def __init__(self, element: Element | None, parent: "Node | None", kind: str = ELEMENT,
                 project: GridProject | None = None):
        self.element = element
        self.parent = parent
        self.children: list[Node] = []
        self.row = 0
        self.kind = kind
        self.state = "idle"  # idle | loading | refreshing | loaded | error
        self.error = ""
        self.project = project if project is not None else (parent.project if parent else None)
        self.ticket: LoadTicket | None = None
        self.generation = 0

    @property
    def expandable(self) -> bool:
        if self.kind in (PROJECT, CATEGORY):
            return True
        return self.kind == ELEMENT and bool(self.element and self.element.has_children)

    @property
    def key(self) -> str:
        return self.element.key if self.element else ""


class ProjectModel(QAbstractItemModel):
    COLUMNS = ("Name", "Details")

    #: a load of ``index`` finished (or failed) — for tests, the bench and status messages
    loadFinished = Signal(QModelIndex)
    #: a node failed: (index, message)
    loadFailed = Signal(QModelIndex, str)

    def __init__(self, workbench: Workbench, parent: QObject | None = None,
                 pool: QThreadPool | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.root = Node(None, None, kind="root")
        self._in_change = 0
        self.pool = pool or QThreadPool.globalInstance()
        self._signals = LoadSignals(self)
        self._signals.page.connect(self._on_page)
        self._signals.replaced.connect(self._on_replaced)
        self._signals.failed.connect(self._on_failed)
        self._signals.finished.connect(self._on_finished)
        for project in workbench.workspace.projects.values():
            self._append_project(project)

    # -- projects --------------------------------------------------------------------------
    def _project_node(self, project: GridProject) -> Node:
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
            err = Node(Element("__error__", f"{project.id}#error", f"Cannot show this project: {why}.",
                               icon="error"), node, ERROR)
            node.children = [err]
        else:
            for i, cat in enumerate(contributor.categories):
                c = Node(Element(cat.kind, f"{project.id}/{cat.kind}", cat.label, has_children=True,
                                 icon=cat.icon), node, CATEGORY)
                c.row = i
                node.children.append(c)
            node.state = "loaded"
        return node

    def _append_project(self, project: GridProject) -> None:
        node = self._project_node(project)
        node.row = len(self.root.children)
        self.root.children.append(node)

    def add_project(self, project: GridProject) -> QModelIndex:
        row = len(self.root.children)
        self.beginInsertRows(QModelIndex(), row, row)
        self._append_project(project)
        self.endInsertRows()
        return self.index(row, 0)

    def remove_project(self, project_id: str) -> None:
        for node in list(self.root.children):
            if node.project and node.project.id == project_id:
                self._stop_all(node)
                self._remove_rows(self.root, node.row, node.row)

    def reload_projects(self) -> None:
        self.beginResetModel()
        self._stop_all(self.root)
        self.root.children = []
        for project in self.wb.workspace.projects.values():
            self._append_project(project)
        self.endResetModel()

    def _stop_all(self, node: Node) -> None:
        if node.ticket:
            node.ticket.stop.set()
        for c in node.children:
            self._stop_all(c)

    # -- Qt model interface ----------------------------------------------------------------
    def node(self, index: QModelIndex | QPersistentModelIndex) -> Node:
        return index.internalPointer() if index.isValid() else self.root

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        p = self.node(parent)
        if column < 0 or column >= len(self.COLUMNS) or row < 0 or row >= len(p.children):
            return QModelIndex()
        return self.createIndex(row, column, p.children[row])

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        p = index.internalPointer().parent
        if p is None or p is self.root:
            return QModelIndex()
        return self.createIndex(p.row, 0, p)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(self.COLUMNS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        n = self.node(parent)
        if n is self.root:
            return bool(n.children)
        return bool(n.children) or (n.expandable and n.state in ("idle", "loading", "refreshing"))

    def canFetchMore(self, parent: QModelIndex) -> bool:
        n = self.node(parent)
        return n is not self.root and n.expandable and n.state == "idle"

    def fetchMore(self, parent: QModelIndex) -> None:
        n = self.node(parent)
        if n is not self.root and n.expandable and n.state == "idle":
            if self._in_change:
                # a view asks while it handles one of our row changes: insert after it returns
                n.state = "loading"
                QTimer.singleShot(0, lambda n=n: self._deferred_load(n))
                return
            self._load(n, refresh=False)

    def _deferred_load(self, n: Node) -> None:
        if n.state == "loading" and n.ticket is None:
            self._load(n, refresh=False)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        n: Node = index.internalPointer()
        el = n.element
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return el.label
            if n.state == "refreshing":
                return (el.detail + " · " if el.detail else "") + "refreshing…"
            if n.kind == ERROR:
                return "double-click or F5 to retry"
            return el.detail
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return icon(el.icon or ("folder" if n.expandable else "file"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if n.kind == ERROR:
                return el.label + "\n\nDouble-click or press F5 to retry."
            return f"{el.label}\n{el.kind} · {el.id}" + (f"\nstate: {el.state}" if el.state else "")
        if role == Qt.ItemDataRole.ForegroundRole:
            if n.kind == ERROR:
                return QBrush(QColor("#c62828"))
            if n.kind == LOADING or el.kind == "info":
                return QBrush(QColor("#777777"))
        if role == Qt.ItemDataRole.FontRole and (n.kind == LOADING or el.kind == "info"):
            f = QFont()
            f.setItalic(True)
            return f
        if role == ElementRole:
            return el
        if role == RowKindRole:
            return n.kind
        return None

    # -- loading ---------------------------------------------------------------------------
    def index_of(self, node: Node, column: int = 0) -> QModelIndex:
        if node is self.root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

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
        self._load(target, refresh=bool([c for c in target.children if c.kind != ERROR]))

    def _load(self, node: Node, refresh: bool) -> None:
        vo = self.vo_of(node)
        if vo is None:
            return
        if node.ticket is not None:
            node.ticket.stop.set()
        self._drop_special_rows(node)
        node.generation += 1
        ticket = LoadTicket(node, node.generation)
        node.ticket = ticket
        node.error = ""
        merge = refresh and bool(node.children)
        if merge:
            node.state = "refreshing"
            self._changed(node)
        else:
            node.state = "loading"
            self._insert(node, [Node(Element("__loading__", f"{node.key}#loading", "Loading…",
                                             icon="loading"), node, LOADING)])
        element = node.element

        def produce(t: LoadTicket, vo=vo, element=element, merge=merge):
            return self.wb.listing(vo, element, show_cached=not merge, merge=merge, stop=t.stop)

        self.pool.start(ChildLoad(ticket, self._signals, produce, lambda e: self.wb.tokens.explain(vo, e)))

    def _current(self, ticket: LoadTicket) -> Node | None:
        n = ticket.node
        if n.ticket is not ticket or ticket.stop.is_set():
            return None
        # the node may have been removed from the tree meanwhile
        p = n
        while p.parent is not None:
            if p.row >= len(p.parent.children) or p.parent.children[p.row] is not p:
                return None
            p = p.parent
        return n if p is self.root else None

    @Slot(object, object, object)
    def _on_page(self, ticket: LoadTicket, elements: list[Element], cached: bool) -> None:
        n = self._current(ticket)
        if n is None or not elements:
            return
        rows = [Node(e, n) for e in elements]
        at = len(n.children)
        if n.children and n.children[-1].kind == LOADING:
            at -= 1
        self._insert(n, rows, at)

    @Slot(object, object)
    def _on_replaced(self, ticket: LoadTicket, elements: list[Element]) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._merge(n, elements)

    @Slot(object)
    def _on_finished(self, ticket: LoadTicket) -> None:
        n = self._current(ticket)
        if n is None:
            return
        self._drop_special_rows(n, errors=False)
        n.state = "loaded"
        n.ticket = None
        self._changed(n)
        self.loadFinished.emit(self.index_of(n))

    @Slot(object, str)
    def _on_failed(self, ticket: LoadTicket, message: str) -> None:
        n = self._current(ticket)
        if n is None:
            return
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
        if node is self.root:
            return
        self.dataChanged.emit(self.index_of(node, 0), self.index_of(node, len(self.COLUMNS) - 1))

    def _insert(self, parent: Node, rows: list[Node], at: int | None = None) -> None:
        if not rows:
            return
        at = len(parent.children) if at is None else at
        self._in_change += 1
        try:
            self.beginInsertRows(self.index_of(parent), at, at + len(rows) - 1)
            parent.children[at:at] = rows
            for i in range(at, len(parent.children)):
                parent.children[i].row = i
            self.endInsertRows()
        finally:
            self._in_change -= 1

    def _remove_rows(self, parent: Node, first: int, last: int) -> None:
        self._in_change += 1
        try:
            self.beginRemoveRows(self.index_of(parent), first, last)
            for gone in parent.children[first:last + 1]:
                self._stop_all(gone)
            del parent.children[first:last + 1]
            for i in range(first, len(parent.children)):
                parent.children[i].row = i
            self.endRemoveRows()
        finally:
            self._in_change -= 1

    def _drop_special_rows(self, node: Node, errors: bool = True) -> None:
        kinds = (LOADING, ERROR) if errors else (LOADING,)
        i = len(node.children) - 1
        while i >= 0:
            if node.children[i].kind in kinds:
                j = i
                while j - 1 >= 0 and node.children[j - 1].kind in kinds:
                    j -= 1
                self._remove_rows(node, j, i)
                i = j
            i -= 1

    def _merge(self, node: Node, elements: list[Element]) -> None:
        """Make node's children equal ``elements``, keeping the Node of every key that stays."""
        self._drop_special_rows(node, errors=True)
        fresh = {e.key: e for e in elements}
        # remove the ones that are gone, in contiguous ranges from the end
        i = len(node.children) - 1
        while i >= 0:
            if node.children[i].key not in fresh:
                j = i
                while j - 1 >= 0 and node.children[j - 1].key not in fresh:
                    j -= 1
                self._remove_rows(node, j, i)
                i = j
            i -= 1
        # update the ones that stay
        known = set()
        first_changed = last_changed = -1
        for child in node.children:
            new = fresh[child.key]
            known.add(child.key)
            if new != child.element:
                was_expandable = child.expandable
                child.element = new
                if not new.has_children and was_expandable and child.children:
                    self._remove_rows(child, 0, len(child.children) - 1)
                first_changed = child.row if first_changed < 0 else first_changed
                last_changed = child.row
        if first_changed >= 0:
            self.dataChanged.emit(self.index(first_changed, 0, self.index_of(node)),
                                  self.index(last_changed, len(self.COLUMNS) - 1, self.index_of(node)))
        # append the new ones
        self._insert(node, [Node(e, node) for e in elements if e.key not in known])

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
            if c.element is not None and predicate(c.element):
                return self.index_of(c)
            hit = self.find(predicate, self.index_of(c))
            if hit.isValid():
                return hit
        return QModelIndex()
