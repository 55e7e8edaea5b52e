"""Terminals and the tree's SSH files, for the main window:

- File → New → SSH connection… opens a terminal and (unless unticked) keeps the host under "SSH
  connections", sharing the tab's SSH connection once it is up (no second login, no second
  host-key question);
- a terminal tab's "Show folder in tree": the folder its shell last reported (OSC 7) is shown
  under a row of that host. A tab opened from a row of the tree (SSH login… on an instance, Open
  terminal here on a folder) remembers that row (``TerminalTab.origin``, an :class:`Origin`): the
  folder is shown under that instance's own Files (or the Files or SSH connection the folder was
  in), the rows loaded on the way; an instance that shows no Files yet gets them first (the
  action of the standard command ``COMMAND_FILES``: Browse files…). A tab of its own (File → New
  → SSH connection), or one whose row is gone or still shows no files on that host: under any row
  of that host — an instance's Files, or an SSH connection, added if there is none.

Nothing here waits on the network: connecting and finding the home folder run on a worker.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex

from ui.project_rows import ELEMENT
from ui.worker import Worker

log = logging.getLogger(__name__)

#: what to tell a person whose shell does not report its folder
OSC7_HINT = ("The shell in this tab has not said which folder it is in. Bash reports it when ~/.bashrc "
             "has: PROMPT_COMMAND='printf \"\\e]7;file://%s%s\\e\\\\\" \"$HOSTNAME\" \"$PWD\"'")


def _root_of(target: Any) -> str:
    from gridclient.ssh.config import resolve
    from gridclient.storage.sftp import root_of

    r = resolve(target)
    return root_of(r.user, target.host, r.port)


@dataclass(frozen=True)
class Origin:
    """The row a terminal tab was opened from, where its folder is looked for first: the instance
    of SSH login…, or the storage root above the folder of Open terminal here (an instance's
    Files, an SSH connection). ``row`` while it is shown; ``keys``, the element keys from the top
    down to it, find it again once its rows were made anew (a project shown again after
    Preferences); ``label`` names it ("web-1", "web-1 › Files")."""

    row: QPersistentModelIndex
    keys: tuple[str, ...]
    label: str


class SSHFiles(QObject):
    """The window's part that ties terminal tabs to the tree's SSH files."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.w = window
        window.terminals.showFolderRequested.connect(self.show_folder)

    # -- SSH connections -----------------------------------------------------------------------
    def connections_index(self) -> QModelIndex:
        model = self.w.model
        for node in model.local_nodes:
            if node.element is not None and node.element.kind == "sftp.connections":
                return model.index_of(node)
        return QModelIndex()

    def keep_when_connected(self, tab: Any, then: Any = None) -> None:
        """Once ``tab`` is connected, keep its host under SSH connections over the tab's session."""
        def on_state(state: str) -> None:
            if state == "connected" and not getattr(tab, "_kept", False):
                tab._kept = True
                self.keep(tab.target, tab.session, then)

        if tab.state == "connected":
            return on_state("connected")
        tab.stateChanged.connect(on_state)

    def keep(self, target: Any, session: Any = None, then: Any = None) -> None:
        """Add ``target`` to SSH connections (a worker connects, or shares ``session``, and finds
        the home folder); the row shows when it is done; ``then(index)`` with the new row."""
        from gridclient.storage.sftp_tree import connect_and_save

        worker = Worker(connect_and_save, self.w.wb, target, self.w.interaction, target.label, session, parent=self)
        worker.returned.connect(lambda saved: self._kept(saved, then))
        worker.errored.connect(lambda exc: self.w.statusBar().showMessage(
            f"Could not show the files of {target.title()}: {exc}", 15000))
        worker.start()

    def _kept(self, saved: dict, then: Any) -> None:
        self.w.statusBar().showMessage(f"{saved.get('label') or saved['uri']} is under SSH connections.", 8000)
        index = self.connections_index()
        if not index.isValid():
            return
        model = self.w.model
        wait_for = model.node(index)

        def listed(i: QModelIndex) -> None:
            if i.isValid() and model.node(i) is wait_for:
                model.loadFinished.disconnect(listed)
                if then is not None:
                    found = [r for r in model.roots_on("sftp", saved["uri"].split("/", 3)[2])]
                    then(found[0] if found else QModelIndex())

        model.loadFinished.connect(listed)
        if wait_for.state == "idle":
            self.w.tree.expand(index)
            model.fetchMore(index)
        else:
            model.refresh(index)
        self.w.tree.expand(index)

    # -- a terminal's folder in the tree ---------------------------------------------------------
    def opened_from(self, tab: Any, rows: list) -> None:
        """``tab`` was opened by an action on ``rows`` (SSH login… on an instance, Open terminal
        here on a folder): its :class:`Origin` is the first row's — or the storage root above it."""
        model = self.w.model
        live = [QModelIndex(r) for r in rows if r.isValid()]
        if tab is None or not live:
            return
        chain, n = [], model.node(live[0])
        while n is not None and n is not model.root:
            chain.insert(0, n)
            n = n.parent
        kinds = model.storage_root_kinds()
        roots = [i for i, n in enumerate(chain) if n.element is not None and n.element.kind in kinds]
        at = roots[0] if roots else len(chain) - 1
        anchor = chain[at]
        label = anchor.element.label if anchor.element is not None else ""
        if roots and at > 0 and chain[at - 1].kind == ELEMENT:
            label = f"{chain[at - 1].element.label} › {label}"  # "web-1 › Files"
        tab.origin = Origin(QPersistentModelIndex(model.index_of(anchor)), tuple(n.key for n in chain[:at + 1]),
                            label)

    def show_folder(self, tab: Any) -> None:
        folder = tab.folder
        if not folder:
            self.w.statusBar().showMessage(OSC7_HINT, 20000)
            return
        try:
            root = _root_of(tab.target)
        except Exception as exc:  # noqa: BLE001 - a broken ~/.ssh/config is said, not raised
            self.w.statusBar().showMessage(f"Cannot tell which host this tab is on: {exc}", 15000)
            return
        origin = getattr(tab, "origin", None)
        if origin is None:
            return self._show_anywhere(tab, root, folder)
        self._from_origin(tab, origin, root, folder)

    def _from_origin(self, tab: Any, origin: Origin, root: str, folder: str) -> None:
        """Down to the tab's origin row (found again by its keys if need be), then to its storage
        root on ``root`` (itself, or a child: an instance's Files), then to ``folder`` — each row
        listed as the walk reaches it. Where a step is not there, today's way, said why."""
        from ui.reveal import Reveal

        model, tree = self.w.model, self.w.tree

        def on_root(n: Any) -> bool:
            return model.is_root_on(n, "sftp", root)

        def at_origin(index: QModelIndex) -> None:
            if on_root(model.node(index)):  # Open terminal here on a folder of it
                return self._walk([index], folder)
            Reveal(model, tree, index, [on_root], at_files)  # an instance: its Files

        def at_files(index: QModelIndex, missing: Any, opened: bool = False) -> None:
            if missing and not opened and self._open_files(index, lambda: Reveal(
                    model, tree, index, [on_root], lambda i, m: at_files(i, m, True))):
                return
            if missing:
                return self._show_anywhere(tab, root, folder, note=(
                    f"{origin.label} shows no files of {root} in the tree yet (open them on it first)"))
            self._walk([index], folder)

        def found(index: QModelIndex, missing: Any) -> None:
            if missing:
                return self._show_anywhere(tab, root, folder, note=f"{origin.label} is no longer in the tree")
            at_origin(index)

        index = QModelIndex(origin.row)
        if index.isValid() and model.node(index).key == origin.keys[-1]:
            return at_origin(index)
        # its rows were made anew, or it went: from the top, by keys, each level listed as it is reached
        top = next((n for n in model.root.children if n.key == origin.keys[0]), None)
        if top is None:
            return found(QModelIndex(), origin.keys[0])

        def key_is(key: str) -> Any:
            return lambda n: n.key == key

        Reveal(model, tree, model.index_of(top), [key_is(k) for k in origin.keys[1:]], found)

    def _open_files(self, index: QModelIndex, then: Any) -> bool:
        """Run the action that shows the host's files under its row (the standard command
        COMMAND_FILES: Browse files… on an instance), and ``then()`` once it is done and the row is
        being listed again; False when no action does it here."""
        from gridclient.registry import COMMAND_FILES

        node = self.w.model.node(index) if index.isValid() else None
        element = node.element if node is not None else None
        action = self.w.wb.registry.action_for_command(COMMAND_FILES, [element]) if element is not None else None
        if action is None or not action.enabled_for([element]):
            return False
        self.w.statusBar().showMessage(f"{action.label.rstrip('…')} on {element.label}…", 8000)
        run = self.w.run_action(action, [index])
        if run is None:
            return False
        bridge = self.w.outcomes

        def ended(outcome: Any, _rows: Any) -> None:  # after the window's own slot: the row reloads
            if outcome.action.id != action.id or element not in outcome.elements:
                return
            bridge.arrived.disconnect(ended)
            if outcome.state == "done":
                then()

        bridge.arrived.connect(ended)
        return True

    def _show_anywhere(self, tab: Any, root: str, folder: str, note: str = "") -> None:
        """Under any row of the tab's host; one is added under SSH connections when there is none."""
        rows = self.w.model.roots_on("sftp", root)
        if rows:
            return self._walk(rows, folder, note)
        if tab.state != "connected":
            self.w.statusBar().showMessage(_with(note, f"Reconnect to {tab.target.title()} first."),
                                           15000 if note else 8000)
            return
        self.w.statusBar().showMessage(_with(note, f"Adding {tab.target.title()} to SSH connections…"), 8000)
        self.keep(tab.target, tab.session,
                  lambda index: self._walk([index] if index.isValid() else [], folder, note))

    def _walk(self, rows: list[QModelIndex], folder: str, note: str = "") -> None:
        """From the row whose folder holds ``folder`` most closely, down to it; ``note`` said with
        the result (why it is shown there)."""
        from gridclient.storage.base import Location
        from ui.reveal import Reveal

        model = self.w.model
        best, names = None, None
        for index in rows:
            base = "/" + Location.parse(model.element(index).ref["uri"]).path.rstrip("/")
            rel = posixpath.relpath(folder, base if base != "" else "/")
            if rel == "." or not rel.startswith(".."):
                parts = [] if rel == "." else rel.split("/")
                if names is None or len(parts) < len(names):
                    best, names = index, parts
        if best is None:
            shown = ", ".join("/" + Location.parse(model.element(i).ref["uri"]).path for i in rows) or "nothing"
            self.w.statusBar().showMessage(_with(note, f"{folder} is outside the folders the tree shows of "
                                                       f"this host ({shown})."), 15000)
            return

        def done(index: QModelIndex, missing: str) -> None:
            if missing:
                self.w.statusBar().showMessage(_with(note, f"{folder}: no “{missing}” there."),
                                               15000 if note else 10000)
            elif index.isValid():
                self.w.tree.setFocus()
                self.w.statusBar().showMessage(_with(note, folder), 15000 if note else 5000)

        Reveal(model, self.w.tree, best, names, done)


def _with(note: str, message: str) -> str:
    """``message``, after why it comes from where it does, if there is a reason to say."""
    return f"{note}: {message}" if note else message
