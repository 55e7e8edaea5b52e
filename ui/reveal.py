"""Show a storage folder in the project tree: from a row that holds it, expand the folders down to
it, each as its listing arrives (``loadFinished``), then select it, open it and scroll to it. Nothing
waits: a folder not listed yet is expanded, and the walk goes on when its rows come.

Used by a terminal tab's "Show folder in tree" (the folder the shell reported with OSC 7): down to
the row the tab was opened from (by element keys), to its storage root (an instance's Files), then
to the folder (by labels).
"""

from __future__ import annotations

from typing import Callable, Union

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Slot

from ui.project_rows import SPECIAL, Node

#: a step down: a child's label, or a test of its Node (``lambda n: n.key == key``)
Step = Union[str, Callable[[Node], bool]]


class Reveal(QObject):
    """Walk from ``start`` (a loaded or loadable row) down through the rows ``names`` picks: each a
    label, or a test of the row's Node. ``done(index, missing)``: the deepest row reached, and the
    first step not found there (as given; "" when all were)."""

    def __init__(self, model, tree, start: QModelIndex, names: list[Step],
                 done: Callable[[QModelIndex, Step], None]):
        super().__init__(tree)
        self.model, self.tree = model, tree
        self.at = QPersistentModelIndex(start)
        self.names = list(names)
        self.done = done
        self._waiting = False
        self._refreshed = False
        model.loadFinished.connect(self._listed)
        self._step()

    def _step(self) -> None:
        index = QModelIndex(self.at)
        if not index.isValid():  # the row went meanwhile
            return self._finish(QModelIndex(), self.names[0] if self.names else "")
        if not self.names:
            return self._finish(index, "")
        node = self.model.node(index)
        self.tree.expand(index)  # the view asks the model for its rows, if it has none yet
        name = self.names[0]
        for row in range(self.model.rowCount(index)):
            child = self.model.index(row, 0, index)
            c = self.model.node(child)
            if c.kind not in SPECIAL and c.element is not None and (
                    name(c) if callable(name) else c.element.label == name):
                self.names.pop(0)
                self.at = QPersistentModelIndex(child)
                return self._step()
        if node.state == "idle":  # not asked for by the view (a collapsed parent): ask here
            self.model.fetchMore(index)
        if node.state in ("loading", "refreshing"):
            self._waiting = True  # on with its listing
            return
        if node.state == "loaded" and not self._refreshed:
            # a folder the shell made since the rows were listed: listed again, once
            self._refreshed = True
            self._waiting = True
            self.model.refresh(index)
            return
        self._finish(index, name)

    @Slot(QModelIndex)
    def _listed(self, index: QModelIndex) -> None:
        if self._waiting and index.isValid() and QPersistentModelIndex(index) == self.at:
            self._waiting = False
            self._step()

    def _finish(self, index: QModelIndex, missing: Step) -> None:
        try:
            self.model.loadFinished.disconnect(self._listed)
        except (RuntimeError, TypeError):
            pass
        if index.isValid():
            if not missing:
                self.tree.expand(index)  # the folder's own rows, as a file manager opens it
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)
        self.done(index, missing)
        self.deleteLater()
