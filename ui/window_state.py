"""The window as it was left: geometry, dock layout, the tree's column widths and expanded nodes.

Saved when the window closes, restored when it opens, in the workspace's config dir (window.ini),
so ``--workspace DIR`` keeps it there with everything else. A file that cannot be read (damaged,
or written by another version or app) is ignored part by part: the window opens with its default
layout for what is not understood.

Expanded nodes are remembered as paths of keys from the project down (the project's id, then
each node's :attr:`~ui.project_rows.Node.key`). Nodes load lazily, so a remembered node is
expanded again when its parent's listing arrives (``loadFinished``): nothing waits, and nothing
is loaded that was not expanded.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QModelIndex, QObject, QSettings, Slot
from PySide6.QtWidgets import QMainWindow

from ui.project_model import PROJECT, SPECIAL, Node

log = logging.getLogger(__name__)

FILE_NAME = "window.ini"
#: QMainWindow.saveState's version: bumped when the docks change so that an older layout no longer fits
LAYOUT_VERSION = 1

KeyPath = tuple[str, ...]


class WindowState(QObject):
    """Restores ``window`` (a MainWindow: ``tree``, ``model``) from ``config_dir`` and saves it there."""

    def __init__(self, window: QMainWindow, config_dir: Path):
        super().__init__(window)
        self.window = window
        self.file = Path(config_dir) / FILE_NAME
        #: remembered expanded nodes whose parents have not been listed yet
        self.pending: set[KeyPath] = set()

    def _settings(self) -> QSettings:
        return QSettings(str(self.file), QSettings.Format.IniFormat)

    # -- restore ---------------------------------------------------------------------------
    def restore(self) -> None:
        """Put the window back as it was left; what cannot be read is left as it is."""
        try:
            self._restore()
        except Exception as exc:  # noqa: BLE001 - a damaged file must not stop the window opening
            log.warning("the window's layout in %s could not be restored: %s", self.file, exc)

    def _restore(self) -> None:
        settings = self._settings()
        window = self.window
        for key, restore in (("geometry", window.restoreGeometry),
                             ("layout", lambda state: window.restoreState(state, LAYOUT_VERSION)),
                             ("tree_header", window.tree.header().restoreState)):
            value = settings.value(key)
            if isinstance(value, QByteArray) and not value.isEmpty():
                restore(value)  # False for bytes that are not such a state: nothing changes
        expanded, projects = _tree_state(settings.value("tree"))
        model = window.model
        for row in range(model.rowCount()):  # the window expanded every project: undo the ones left collapsed
            index = model.index(row, 0)
            node = model.node(index)
            if node.project is not None and node.project.id in projects and (node.project.id,) not in expanded:
                window.tree.collapse(index)
        self.pending = expanded
        self._expand_remembered(QModelIndex(), ())
        if self.pending:  # the rest come with their parents' listings
            model.loadFinished.connect(self._listed)

    @Slot(QModelIndex)
    def _listed(self, index: QModelIndex) -> None:
        """A node's listing arrived: its remembered children are expanded (and so start loading)."""
        node = self.window.model.node(index)
        if index.isValid():
            path = key_path(node)
            self._expand_remembered(index, path)
            if node.state == "loaded":  # remembered children it no longer holds were removed meanwhile
                self.pending = {p for p in self.pending if p[:-1] != path}
        if not self.pending:
            self.window.model.loadFinished.disconnect(self._listed)

    def _expand_remembered(self, parent: QModelIndex, path: KeyPath) -> None:
        model = self.window.model
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            node = model.node(index)
            child = path + (_key(node),)
            if node.kind not in SPECIAL and child in self.pending:
                self.pending.discard(child)
                self.window.tree.expand(index)  # the view asks the model for its rows
                self._expand_remembered(index, child)  # rows it holds already (a project's categories)

    # -- save ------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the window's state; a failure is logged, never stops the window closing."""
        try:
            model, tree = self.window.model, self.window.tree
            expanded = set(self._expanded_paths(QModelIndex(), ()))
            # remembered nodes whose listing has not come yet (offline, or closed at once) are kept
            # while their parents are still expanded
            for path in sorted(self.pending, key=len):
                if path[:-1] in expanded:
                    expanded.add(path)
            projects = [n.project.id for n in model.root.children if n.project is not None]
            settings = self._settings()
            settings.setValue("geometry", self.window.saveGeometry())
            settings.setValue("layout", self.window.saveState(LAYOUT_VERSION))
            settings.setValue("tree_header", tree.header().saveState())
            settings.setValue("tree", json.dumps({"projects": projects,
                                                  "expanded": [list(p) for p in sorted(expanded)]}))
            settings.sync()
            if settings.status() != QSettings.Status.NoError:
                log.warning("the window's layout could not be saved to %s: %s", self.file, settings.status())
        except Exception as exc:  # noqa: BLE001
            log.warning("the window's layout could not be saved to %s: %s", self.file, exc)

    def _expanded_paths(self, parent: QModelIndex, path: KeyPath):
        """Paths of the nodes shown expanded (their parents expanded too), depth first."""
        model, tree = self.window.model, self.window.tree
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            node = model.node(index)
            if node.kind not in SPECIAL and tree.isExpanded(index):
                child = path + (_key(node),)
                yield child
                yield from self._expanded_paths(index, child)


def _key(node: Node) -> str:
    return node.project.id if node.kind == PROJECT else node.key


def key_path(node: Node) -> KeyPath:
    """The node's path of keys from its project down."""
    parts = []
    while node is not None and node.element is not None:
        parts.append(_key(node))
        node = node.parent
    return tuple(reversed(parts))


def _tree_state(text: object) -> tuple[set[KeyPath], set[str]]:
    """(expanded paths, projects shown) from the saved JSON; empty sets for anything else."""
    try:
        data = json.loads(text) if isinstance(text, str) else {}
        expanded = {tuple(p) for p in data.get("expanded", ())
                    if isinstance(p, list) and p and all(isinstance(k, str) for k in p)}
        projects = {p for p in data.get("projects", ()) if isinstance(p, str)}
        return expanded, projects
    except (ValueError, TypeError, AttributeError):
        return set(), set()
