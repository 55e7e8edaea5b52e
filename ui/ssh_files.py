"""Terminals and the tree's SSH files, for the main window:

- File → New → SSH connection… opens a terminal and (unless unticked) keeps the host under "SSH
  connections", sharing the tab's SSH connection once it is up (no second login, no second
  host-key question);
- a terminal tab's "Show folder in tree": the folder its shell last reported (OSC 7) is shown
  under a row of that host — an instance's Files, or an SSH connection, added if there is none.

Nothing here waits on the network: connecting and finding the home folder run on a worker.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any

from PySide6.QtCore import QModelIndex, QObject

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
        rows = self.w.model.roots_on("sftp", root)
        if rows:
            return self._walk(rows, folder)
        if tab.state != "connected":
            self.w.statusBar().showMessage(f"Reconnect to {tab.target.title()} first.", 8000)
            return
        self.w.statusBar().showMessage(f"Adding {tab.target.title()} to SSH connections…", 8000)
        self.keep(tab.target, tab.session, lambda index: self._walk([index] if index.isValid() else [], folder))

    def _walk(self, rows: list[QModelIndex], folder: str) -> None:
        """From the row whose folder holds ``folder`` most closely, down to it."""
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
            self.w.statusBar().showMessage(f"{folder} is outside the folders the tree shows of this host "
                                           f"({shown}).", 15000)
            return

        def done(index: QModelIndex, missing: str) -> None:
            if missing:
                self.w.statusBar().showMessage(f"{folder}: no “{missing}” there.", 10000)
            elif index.isValid():
                self.w.tree.setFocus()
                self.w.statusBar().showMessage(folder, 5000)

        Reveal(model, self.w.tree, best, names, done)
