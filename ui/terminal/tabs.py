"""Terminal tabs: one SSH session per tab, opened by a :class:`ui.worker.Worker`, never on the GUI thread.

A tab shows "Connecting…" while the worker connects (host-key questions and passphrases go
through the Interaction, marshalled to the GUI thread by ``gui_safe``), then the terminal; a
failed connection or a dropped one shows the reason in the tab with a **Reconnect** button. The
tab title follows the title the remote sets (OSC 0/2), and the tab knows the folder the shell
reports (OSC 7, ``folder``): right-click the tab → Show folder in tree (``showFolderRequested``).

The tab is its session's only owner: the terminal widget only writes to it and resizes it; the
tab closes it, always off the GUI thread (closing waits for the peer and for the reader thread,
which a dead peer can make take seconds). A session a worker opened for an attempt the tab has
given up on (it was closed, or reconnected) is closed too, never left open.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QTabWidget, QVBoxLayout,
                               QWidget)

from ui.interaction import gui_safe
from ui.worker import Worker

if TYPE_CHECKING:
    from ui.terminal.widget import TerminalWidget  # loaded with the first tab (pyghostty)

log = logging.getLogger(__name__)


def font_from_preference(pref: Any) -> QFont | None:
    """The terminal font a preference names (``{"family": …, "size": …}``), or None for the default."""
    if not isinstance(pref, dict) or not pref.get("family"):
        return None
    font = QFont(str(pref["family"]))
    try:
        size = int(pref.get("size") or 10)
    except (TypeError, ValueError):
        size = 10
    font.setPointSize(max(6, min(size, 48)))
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    return font


def _default_session_factory(target, known_hosts, interaction):
    from gridclient.ssh import SSHSession

    return SSHSession(target, known_hosts, interaction)


_keys = itertools.count(1)


class _SessionEvents(QObject):
    """What a session's reader thread tells a tab (queued to the GUI thread).

    One for the whole process, never deleted: a reader thread that emitted on an object of the
    tab's could do so while the GUI thread was deleting the closed tab, and crash (it did, in CI).
    Tabs are found by a key; a tab that is gone is simply not told."""

    closed = Signal(int, str, int)  # tab key, reason, attempt

    def __init__(self) -> None:
        super().__init__()
        self.tabs: dict[int, "weakref.ref[TerminalTab]"] = {}
        self.closed.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(int, str, int)
    def _deliver(self, key: int, reason: str, attempt: int) -> None:
        import shiboken6

        ref = self.tabs.get(key)
        tab = ref() if ref is not None else None
        if tab is not None and shiboken6.isValid(tab):
            tab._on_closed(reason, attempt)


_events: _SessionEvents | None = None


def session_events() -> _SessionEvents:
    """The process's relay (made on the GUI thread, with the first tab)."""
    global _events
    if _events is None:
        _events = _SessionEvents()
    return _events


class _ConnectAttempt(QObject):
    """Where one connect attempt's worker reports: hands the outcome to the tab with the attempt's
    number, so that a tab which has moved on (reconnected, closed) knows the outcome is stale."""

    def __init__(self, tab: "TerminalTab", number: int):
        super().__init__(tab)
        self.tab, self.number = tab, number

    @Slot(object)
    def on_returned(self, session) -> None:
        self.tab._on_connected(session, self.number)

    @Slot(object)
    def on_errored(self, exc: BaseException) -> None:
        self.tab._on_failed(str(exc) or type(exc).__name__, self.number)


class TerminalTab(QWidget):
    """One tab: a status banner (connecting / error / disconnected + Reconnect) over the terminal."""

    titleChanged = Signal(str)
    stateChanged = Signal(str)  # connecting | connected | failed | disconnected | closed

    def __init__(self, target, known_hosts, interaction, session_factory=_default_session_factory,
                 parent: QWidget | None = None, font: QFont | None = None):
        super().__init__(parent)
        self.setObjectName("terminalTab")
        self.target, self.known_hosts = target, known_hosts
        #: the tree's row the tab was opened from (an instance's SSH login…: ui.ssh_files.Origin),
        #: where Show folder in tree looks first; None for a host of its own (File → New)
        self.origin = None
        self.interaction = gui_safe(interaction)
        self._factory = session_factory
        self.session = None
        self.state = "new"
        self.reason = ""
        self._attempt = 0
        self._closing = False
        # a session a worker has opened, on its way to _on_connected: from the moment the worker
        # hands it over (under the lock) the tab owns it, so giving up on the attempt closes it
        self._handoff = threading.Lock()
        self._arriving = None

        self.banner = QFrame(self)
        self.banner.setObjectName("terminalBanner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("#terminalBanner { background: #3b3f46; } QLabel { color: #f0f0f0; }")
        self.status = QLabel(self.banner)
        self.status.setObjectName("terminalStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reconnect_button = QPushButton("Reconnect", self.banner)
        self.reconnect_button.setObjectName("reconnectButton")
        self.reconnect_button.clicked.connect(self.reconnect)
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(8, 4, 8, 4)
        bl.addWidget(self.status, 1)
        bl.addWidget(self.reconnect_button)

        from ui.terminal.widget import TerminalWidget  # pyghostty loads when a terminal opens

        self.terminal = TerminalWidget(self, font=font)
        self.terminal.titleChanged.connect(self.titleChanged)
        self.terminal.folderChanged.connect(self._folder_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.terminal, 1)
        self.setFocusProxy(self.terminal)

        # owned by the tab (not by a reader thread's closure): it goes with the tab, on this thread
        self._events = session_events()
        self._key = next(_keys)
        self._events.tabs[self._key] = weakref.ref(self)

    # -- connection lifecycle -------------------------------------------------------------------
    def connect_session(self) -> None:
        """Connect on a pool thread; the outcome comes back on the GUI thread. The worker's
        signals are the tab's children: a closed (deleted) tab drops a late outcome."""
        attempt = self._next_attempt()
        self._set_state("connecting", f"Connecting to {self.target.title()}…")
        receiver = _ConnectAttempt(self, attempt)
        worker = Worker(self._open_session, attempt, self.terminal.cols, self.terminal.rows, parent=self)
        worker.returned.connect(receiver.on_returned)
        worker.errored.connect(receiver.on_errored)
        worker.finished.connect(receiver.deleteLater)
        worker.start()

    def _open_session(self, attempt: int, cols: int, rows: int):
        """Log in and open the shell (a pool thread). Returns the session, or None when the tab has
        given up on this attempt meanwhile (the session is closed then, here)."""
        session = self._factory(self.target, self.known_hosts, self.interaction)
        try:
            session.connect(timeout=15)
            session.open_shell(cols, rows)
        except BaseException as exc:
            log.info("SSH connection to %s failed: %s", self.target.title(), exc)
            _close_quietly(session)
            raise
        with self._handoff:
            wanted = attempt == self._attempt and not self._closing
            if wanted:
                self._arriving = session
        if not wanted:
            _close_quietly(session)
            return None
        return session

    def _next_attempt(self) -> int:
        """Give up on the attempt under way, if any (a session it handed over is closed in the
        background), and number the next one."""
        with self._handoff:
            self._attempt += 1
            stale, self._arriving = self._arriving, None
        if stale is not None:
            _close_in_background(stale)
        return self._attempt

    def _on_connected(self, session, attempt: int) -> None:
        with self._handoff:
            current = attempt == self._attempt and session is not None and session is self._arriving
            if current:
                self._arriving = None
        if not current:  # a stale attempt: _next_attempt or the worker itself closed its session
            return
        self.session = session
        self.terminal.set_backend(session)
        events, key = self._events, self._key

        def on_closed(reason: str) -> None:  # the reader thread: the relay outlives every tab
            events.closed.emit(key, reason or "the connection was closed", attempt)

        session.start_reader(self.terminal.on_data, on_closed)
        self._set_state("connected", "")
        # the widget may have changed size while the shell was being opened
        try:
            session.resize(self.terminal.cols, self.terminal.rows)
        except Exception:  # noqa: BLE001
            pass
        start_in = getattr(self.target, "start_in", None)
        if start_in:  # "Open terminal here": typed as the person would, so the shell's own cd runs
            import shlex

            try:
                session.write(f"cd -- {shlex.quote(start_in)}\n".encode())
            except Exception:  # noqa: BLE001 - a shell that went at once says so itself
                pass
        self.terminal.setFocus()

    @property
    def folder(self) -> str | None:
        """The folder the shell last reported (OSC 7), or None when it never did."""
        return self.terminal.folder

    @Slot(str)
    def _folder_changed(self, folder: str) -> None:
        self.titleChanged.emit(self.terminal.title)  # the tooltip names the folder

    def _on_failed(self, reason: str, attempt: int) -> None:
        if attempt == self._attempt and not self._closing:
            self._set_state("failed", f"Could not connect to {self.target.title()}: {reason}")

    @Slot(str, int)
    def _on_closed(self, reason: str, attempt: int) -> None:
        if attempt != self._attempt or self._closing:
            return
        self.terminal.set_backend(None)
        self.terminal.flush()
        self._set_state("disconnected", f"Disconnected: {reason}")

    @Slot()
    def reconnect(self) -> None:
        old, self.session = self.session, None
        self.terminal.set_backend(None)
        if old is not None:
            _close_in_background(old)
        self.terminal.feed(b"\r\n\x1b[0m")
        self.connect_session()

    def close_session(self) -> None:
        """Close the tab's session, and any an attempt still under way opens, off the GUI thread."""
        self._closing = True
        self._events.tabs.pop(self._key, None)
        self._next_attempt()
        session, self.session = self.session, None
        self.terminal.shutdown()  # a reader waiting to hand over bytes goes on, to its end
        if session is not None:
            _close_in_background(session)
        self._set_state("closed", "")

    def _set_state(self, state: str, text: str) -> None:
        self.state, self.reason = state, text
        self.status.setText(text)
        self.banner.setVisible(state in ("connecting", "failed", "disconnected"))
        self.reconnect_button.setVisible(state in ("failed", "disconnected"))
        self.stateChanged.emit(state)


def _close_quietly(session) -> None:
    try:
        session.close()
    except Exception as exc:  # noqa: BLE001
        log.debug("closing SSH session: %s", exc)


def _close_in_background(session) -> threading.Thread:
    """Close ``session`` on a thread of its own. Not a pool worker: a close can wait seconds on a
    dead peer, and a daemon thread does not hold up quitting the way a pool's threads do."""
    thread = threading.Thread(target=_close_quietly, args=(session,), name="ssh-close", daemon=True)
    thread.start()
    return thread


EMPTY_HINT = ("No terminal open.\n\nRight-click a running instance → SSH login…\n"
              "or File → New → SSH connection… for any host.")


class TerminalTabs(QTabWidget):
    """The editor area's terminal tabs (objectName ``terminalTabs``)."""

    #: right-click a terminal tab → Show folder in tree: the window reveals that folder of its host
    showFolderRequested = Signal(object)  # the TerminalTab

    def __init__(self, parent: QWidget | None = None, session_factory=_default_session_factory):
        super().__init__(parent)
        self.setObjectName("terminalTabs")
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self._factory = session_factory
        self.terminal_font: QFont | None = None  # None: the system's fixed font
        self.tabCloseRequested.connect(self.close_tab)
        self.tabBar().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tabBar().customContextMenuRequested.connect(self._tab_menu)

    @Slot(QPoint)
    def _tab_menu(self, pos: QPoint) -> None:
        tab = self.widget(self.tabBar().tabAt(pos))
        if not isinstance(tab, TerminalTab):
            return
        menu = QMenu(self)
        show = menu.addAction("Show folder in tree", lambda: self.showFolderRequested.emit(tab))
        show.setObjectName("showFolderInTree")
        show.setToolTip(f"Show {tab.folder} in the project tree" if tab.folder else
                        "The shell has not said which folder it is in (OSC 7)")
        menu.addAction("Reconnect", tab.reconnect).setEnabled(tab.state in ("failed", "disconnected"))
        menu.addSeparator()
        menu.addAction("Close", lambda: self.close_tab(self.indexOf(tab)))
        menu.exec(self.tabBar().mapToGlobal(pos))

    def set_terminal_font(self, font: QFont | None) -> None:
        """The font of every terminal, open and to come (Edit → Preferences → Terminal font)."""
        self.terminal_font = font
        if font is None:
            return
        for i in range(self.count()):
            tab = self.widget(i)
            if isinstance(tab, TerminalTab):
                tab.terminal.set_font(font)  # the grid, and the remote's pty, follow the new cell size

    def open_session(self, target, known_hosts, interaction) -> TerminalWidget:
        """Open a tab for ``target`` (gridclient.ssh.SSHTarget) and connect it in the background."""
        tab = TerminalTab(target, known_hosts, interaction, self._factory, self, font=self.terminal_font)
        index = self.addTab(tab, target.title())
        self.setTabToolTip(index, target.title())
        tab.titleChanged.connect(lambda title, tab=tab: self._retitle(tab, title))
        self.setCurrentIndex(index)
        tab.terminal.setFocus()
        tab.connect_session()
        return tab.terminal

    def tab_of(self, terminal: TerminalWidget) -> TerminalTab | None:
        for i in range(self.count()):
            tab = self.widget(i)
            if isinstance(tab, TerminalTab) and tab.terminal is terminal:
                return tab
        return None

    def _retitle(self, tab: TerminalTab, title: str) -> None:
        index = self.indexOf(tab)
        if index >= 0:
            text = title.strip() or tab.target.title()
            self.setTabText(index, text if len(text) <= 40 else text[:39] + "…")
            lines = [tab.target.title()] + ([title] if title else []) + ([f"in {tab.folder}"] if tab.folder else [])
            self.setTabToolTip(index, "\n".join(lines))

    @Slot(int)
    def close_tab(self, index: int) -> None:
        tab = self.widget(index)
        if isinstance(tab, TerminalTab):
            tab.close_session()
        self.removeTab(index)
        if tab is not None:
            tab.deleteLater()

    def live_sessions(self) -> int:
        """Tabs whose session is open or opening: what closing the window would end."""
        return sum(1 for i in range(self.count())
                   if isinstance(tab := self.widget(i), TerminalTab) and tab.state in ("connecting", "connected"))

    def close_all(self) -> None:
        while self.count():
            self.close_tab(0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.count():
            return
        # an empty editor area says what goes there and how to get it
        from PySide6.QtGui import QPainter, QPalette

        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                         int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), EMPTY_HINT)
        painter.end()
