"""The rows of the project tree: a :class:`Node` per row, the data of its cells, and what a
listing makes of them before the model sees it.

The rows live in a QStandardItemModel, text and icon included, so a view lays out and paints
them without calling Python (see :mod:`ui.project_model`). Python keeps a Node per row — its
Element, load state and children — under :data:`NodeRole` of the row's Details cell; the model
writes the cells' data (:meth:`Node.cells`) when a row goes in or changes. The items are made by
Qt itself (``setItemData`` on inserted rows), never as Python objects: a QStandardItem made in
Python keeps a wrapper alive for as long as it is in the model, ~400 bytes a cell, which was half
the memory of a 100,000-object folder. A tooltip is made when one is asked for
(:meth:`Node.tooltip`), not kept per row. A live listing that replaces rows shown is compared
with them on the worker that loaded it (:func:`prepare`), so the GUI thread only inserts,
removes and updates.
"""

from __future__ import annotations

from typing import Union

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont

from gridclient.elements import Element
from gridclient.listing import Cached, Failed, ListingEvent, Page, Replace
from gridclient.workspace import GridProject
from ui.icons import row_icon

LOADING, ERROR, EMPTY, PROJECT, CATEGORY, ELEMENT = "loading", "error", "empty", "project", "category", "element"
#: rows the model makes itself: they stand for no element and no action applies to them
SPECIAL = frozenset({LOADING, ERROR, EMPTY})

# the roles a row's cells carry, as plain ints: setItemData converts an int key ~4x faster than
# an enum member, and it runs for every row of a listing
DISPLAY, DECORATION = Qt.ItemDataRole.DisplayRole.value, Qt.ItemDataRole.DecorationRole.value
FONT, FOREGROUND = Qt.ItemDataRole.FontRole.value, Qt.ItemDataRole.ForegroundRole.value
#: where QStandardItem keeps its flags; a cell without it has the default flags (selectable,
#: enabled, draggable, droppable, editable: the view has no edit triggers), which storage rows
#: keep — they are most of the rows, and the value costs ~40 bytes a cell
FLAGS = Qt.ItemDataRole.UserRole.value - 1
_ROW_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable).value
_GREY, _RED = QBrush(QColor("#777777")), QBrush(QColor("#c62828"))
_ITALIC = QFont()
_ITALIC.setItalic(True)

#: column 1's cell (Details) holds the row's Node under this role (no Python attribute: every
#: object a row keeps alive is walked by each full garbage collection). Not column 0's: a cell's
#: roles are a list Qt grows 1, 2, 4, so a third role beside the name's text and icon took ~110
#: bytes a row more than a second one beside the details' text
NodeRole = Qt.ItemDataRole.UserRole + 3
NODE_COLUMN = 1
_NODE = int(NodeRole)
_NO_CHILDREN: tuple = ()

# control characters (a key named "a\nb" in S3) drawn as \n, \x07 instead of boxes or line breaks
_ESCAPES = {i: (f"\\x{i:02x}" if i not in (9, 10, 13) else {9: "\\t", 10: "\\n", 13: "\\r"}[i])
            for i in list(range(32)) + [127]}


def shown_text(text: str) -> str:
    """``text`` as a row or a Properties cell shows it: control characters escaped."""
    return text.translate(_ESCAPES) if text and not text.isprintable() else text


class LoadTicket:
    """Identifies one load of one node; a newer load of the same node makes older ones stale."""

    __slots__ = ("node", "generation", "stop", "shown")

    def __init__(self, node: "Node", generation: int, stop, shown: list | None = None):
        self.node = node
        self.generation = generation
        self.stop = stop  # threading.Event: the worker's abort flag
        # what the node shows while this load runs (a refresh's rows, or the cached ones), so a
        # worker can compare the live listing with it
        self.shown = shown


class Node:
    __slots__ = ("element", "parent", "children", "kind", "state", "error", "project", "ticket",
                 "generation", "expandable", "alive", "queued", "loaded_at", "row_hint")

    def __init__(self, element: Element | None, parent: "Node | None", kind: str = ELEMENT,
                 project: GridProject | None = None):
        self.element = element
        self.parent = parent
        self.children: list[Node] | tuple = _NO_CHILDREN  # a list once it has any
        self.kind = kind
        self.state = "idle"  # idle | loading | refreshing | loaded | error
        self.error = ""  # why the last load failed, in words
        self.project = project if project is not None else (parent.project if parent else None)
        self.ticket: LoadTicket | None = None
        self.generation = 0
        self.expandable = self._expandable()
        self.alive = True  # False once removed from the tree
        self.queued: list[Node] | None = None  # rows waiting to go in, CHUNK per turn
        self.loaded_at = 0.0  # time.monotonic() of the last listing that finished
        self.row_hint = 0  # where the row was last seen among its parent's children

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
        """The row's place under its parent: ``parent.children`` is in the model's order."""
        parent = self.parent
        if parent is None:
            return 0
        siblings = parent.children
        hint = self.row_hint
        if hint < len(siblings) and siblings[hint] is self:
            return hint
        # rows were inserted or removed before this one since: look it up (identity, in C)
        self.row_hint = hint = siblings.index(self)
        return hint

    @property
    def stale(self) -> bool:
        """A refresh failed: the rows shown are the last listing, not what is there now."""
        return self.state == "error" and any(c.kind not in SPECIAL for c in self.children)

    @property
    def storage(self) -> bool:
        el = self.element
        if self.kind != ELEMENT or el is None:
            return False
        ref = el.ref  # made when read, for a packed row: once
        return bool(ref) and "uri" in ref

    def detail_text(self) -> str:
        detail = self.element.detail
        if self.state == "refreshing":
            return (detail + " · " if detail else "") + "refreshing…"
        if self.state == "loading" and self.children and self.children[0].kind != LOADING:
            return (detail + " · " if detail else "") + f"loading… {len(self.children):,} so far"
        if self.kind == ERROR:
            return "double-click or F5 to retry"
        if self.stale:
            # said on the node itself: an error row after the last of 2,000 children is never seen
            return (detail + " · " if detail else "") + f"not up to date: {self.error}"
        return detail

    def cells(self, fresh: bool = False) -> tuple[dict, dict]:
        """The data of the row's two cells (name, details), for ``setItemData`` (GUI thread);
        ``fresh``: for cells that hold nothing yet, so nothing needs clearing."""
        el = self.element
        name = {DISPLAY: shown_text(el.label), DECORATION: row_icon(el.icon or ("folder" if self.expandable else "file"))}
        detail = {DISPLAY: self.detail_text(), _NODE: self}
        if not self.storage:
            name[FLAGS] = detail[FLAGS] = _ROW_FLAGS  # storage rows keep the default: draggable
        if self.kind in SPECIAL or el.kind == "info":
            name[FOREGROUND] = detail[FOREGROUND] = _RED if self.kind == ERROR else _GREY
            if self.kind != ERROR:
                name[FONT] = _ITALIC
        elif self.stale:
            detail[FOREGROUND] = _RED
        elif not fresh:  # setItemData keeps a role the map leaves out; None clears it
            detail[FOREGROUND] = None
        return name, detail

    def tooltip(self) -> str:
        """What hovering the row shows: the whole name, kind and id, state; why it is not up to date."""
        el = self.element
        label = shown_text(el.label)
        if self.kind == ERROR:
            return label + "\n\nDouble-click or press F5 to retry."
        tip = f"{label}\n{el.kind} · {shown_text(el.id)}" + (f"\nstate: {el.state}" if el.state else "")
        if self.stale:
            tip += f"\n\nNot up to date — the last refresh failed: {self.error}\nPress F5 to try again."
        return tip


def build_rows(parent: Node, elements: list[Element]) -> list[Node]:
    return [Node(e, parent) for e in elements]


def loading_row(parent: Node) -> Node:
    return Node(Element("__loading__", f"{parent.key}#loading", "Loading…", icon="loading"), parent, LOADING)


def empty_row(parent: Node) -> Node:
    return Node(Element("__empty__", f"{parent.key}#empty", "(empty)", icon="info"), parent, EMPTY)


def error_row(parent: Node, message: str) -> Node:
    return Node(Element("__error__", f"{parent.key}#error", message, icon="error"), parent, ERROR)


class Rows:
    """A page of a listing (or the cached listing), as built rows."""

    __slots__ = ("rows", "cached", "stored")

    def __init__(self, rows: list[Node], cached: bool, stored: float = 0.0):
        self.rows, self.cached, self.stored = rows, cached, stored


class Changes:
    """How a live listing differs from the rows shown: found on the worker, applied on the GUI."""

    __slots__ = ("removed", "changed", "added", "order", "ids")

    def __init__(self, removed: set[str], changed: dict[str, Element], added: list[Node],
                 order: dict[str, int] | None = None, ids: set[str] | None = None):
        self.removed = removed
        self.changed = changed
        self.added = added
        #: each id's place in the live listing, so a few new rows go where the listing has them
        #: (a file uploaded into a folder shows among its neighbours, as in a file manager); by id,
        #: not key, so the GUI thread makes no key text for each of 100,000 rows shown
        self.order = order or {}
        #: the ids of the removed and changed rows (None: not known), so the GUI thread looks
        #: for those rows by id first — a key is text made when asked, ~0.3 µs a row
        self.ids = ids


Prepared = Union[Rows, Changes, Failed]


_NOTHING: dict = {}

#: new rows of a refresh put in their listing's place one by one up to this many; more are
#: appended at once (an insert each would make the view lay out the folder again each time)
PLACED_AT_MOST = 200


def prepare(ticket: LoadTicket, event: ListingEvent) -> Prepared:
    """On the worker: pages become built rows; a replacement becomes Changes; Failed passes."""
    if isinstance(event, Cached):
        ticket.shown = event.children
        return Rows(build_rows(ticket.node, event.children), True, event.stored)
    if isinstance(event, Page):
        return Rows(build_rows(ticket.node, event.children), False)
    if isinstance(event, Replace):
        # by kind, then id: no key text is made for each row (for 100,000 rows that was ~20 MB
        # and most of the comparison's time, with the GIL held)
        shown: dict[str, dict[str, Element]] = {}
        for e in ticket.shown or ():
            by_id = shown.get(e.kind)
            if by_id is None:
                by_id = shown[e.kind] = {}
            by_id[e.id] = e
        listed: dict[str, set[str]] = {}
        changed: dict[str, Element] = {}
        added: list[Element] = []
        for e in event.children:
            kind, id_ = e.kind, e.id
            ids = listed.get(kind)
            if ids is None:
                ids = listed[kind] = set()
            elif id_ in ids:
                continue  # a listing that repeats a key: the first one counts
            ids.add(id_)
            old = shown.get(kind, _NOTHING).get(id_)
            if old is None:
                added.append(e)
            elif old != e:
                changed[e.key] = e
        gone = [e for kind, by_id in shown.items() for id_, e in by_id.items() if id_ not in listed.get(kind, ())]
        order = {e.id: i for i, e in enumerate(event.children)} if 0 < len(added) <= PLACED_AT_MOST else None
        return Changes({e.key for e in gone}, changed, build_rows(ticket.node, added), order,
                       {e.id for e in gone} | {e.id for e in changed.values()})
    return event


def load_rows(wb, vo, element: Element, merge: bool, ticket: LoadTicket):
    """The worker's generator for one load: ``(ticket, prepared)`` per listing event, then the ticket.

    It holds the Workbench, never the model: the pool drops it on its own thread, and must not
    drop the last reference to a Qt object there.
    """
    try:
        for event in wb.listing(vo, element, show_cached=not merge, merge=merge, stop=ticket.stop):
            if ticket.stop.is_set():
                return ticket
            yield ticket, prepare(ticket, event)
    except Exception as exc:  # noqa: BLE001 - a fault of ours while preparing rows: shown on the node
        yield ticket, Failed(f"The rows could not be shown: {type(exc).__name__}: {exc}", exc)
    return ticket
