"""Terminal tabs: one SSH session per tab, connected on a worker thread, never on the GUI thread.

A tab shows "Connecting…" while the worker connects (host-key questions and passphrases go
through the Interaction, marshalled to the GUI thread), then the terminal; a failed connection
or a dropped one shows the reason in the tab with a **Reconnect** button. Closing the tab closes
the session. The tab title follows the title the remote sets (OSC 0/2).
"""

from __future__ import annotations

import logging
import threading

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout,
                               QWidget)

from ui.interaction import gui_safe

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


class _SessionEvents(QObject):
    """Signals a worker and a reader thread send to one tab (queued to the GUI thread)."""

    connected = Signal(object, int)  # session, attempt
    failed = Signal(str, int)
    closed = Signal(str, int)


class TerminalTab(QWidget):
    """One tab: a status banner (connecting / error / disconnected + Reconnect) over the terminal."""

    titleChanged = Signal(str)
    stateChanged = Signal(str)  # connecting | connected | failed | disconnected | closed

    def __init__(self, target, known_hosts, interaction, session_factory=_default_session_factory,
                 parent: QWidget | None = None, font: QFont | None = None):
        super().__init__(parent)
        self.setObjectName("terminalTab")
        self.target, self.known_hosts = target, known_hosts
        self.interaction = gui_safe(interaction)
        self._factory = session_factory
        self.session = None
        self.state = "new"
        self.reason = ""
        self._attempt = 0
        self._closing = False

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.terminal, 1)
        self.setFocusProxy(self.terminal)

        self._events = _SessionEvents()
        self._events.connected.connect(self._on_connected, Qt.ConnectionType.QueuedConnection)
        self._events.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._events.closed.connect(self._on_closed, Qt.ConnectionType.QueuedConnection)

    # -- connection lifecycle -------------------------------------------------------------------
    def connect_session(self) -> None:
        """Connect on a worker thread; the outcome arrives as a queued signal."""
        self._attempt += 1
        attempt = self._attempt
        self._set_state("connecting", f"Connecting to {self.target.title()}…")
        events, factory = self._events, self._factory
        target, known_hosts, interaction = self.target, self.known_hosts, self.interaction
        terminal = self.terminal

        def on_closed(reason: str) -> None:  # reader thread
            try:
                events.closed.emit(reason or "the connection was closed", attempt)
            except RuntimeError:  # the tab is gone
                pass

        def work() -> None:
            session = None
            try:
                session = factory(target, known_hosts, interaction)
                session.connect(timeout=15)
                if self._closing or attempt != self._attempt:
                    session.close()
                    return
                session.open_shell(terminal.cols, terminal.rows)
                terminal.set_backend(session)
                session.start_reader(terminal.on_data, on_closed)
            except Exception as exc:  # noqa: BLE001 - every failure is shown in the tab
                if session is not None:
                    try:
                        session.close()
                    except Exception:  # noqa: BLE001
                        pass
                log.info("SSH connection to %s failed: %s", target.title(), exc)
                message = str(exc) or type(exc).__name__
                try:
                    events.failed.emit(message, attempt)
                except RuntimeError:
                    pass
                return
            try:
                events.connected.emit(session, attempt)
            except RuntimeError:
                session.close()

        threading.Thread(target=work, name=f"ssh-connect {target.title()}", daemon=True).start()

    @Slot(object, int)
    def _on_connected(self, session, attempt: int) -> None:
        if attempt != self._attempt or self._closing:
            _close_in_background(session)
            return
        self.session = session
        self._set_state("connected", "")
        # the widget may have changed size while the shell was being opened
        try:
            session.resize(self.terminal.cols, self.terminal.rows)
        except Exception:  # noqa: BLE001
            pass
        self.terminal.setFocus()

    @Slot(str, int)
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
        """Close the channel and the connection (on a helper thread: a dead peer must not hang the GUI)."""
        self._closing = True
        self._attempt += 1
        session, self.session = self.session, None
        self.terminal.shutdown()
        if session is not None:
            _close_in_background(session)
        self._set_state("closed", "")

    def _set_state(self, state: str, text: str) -> None:
        self.state, self.reason = state, text
        self.status.setText(text)
        self.banner.setVisible(state in ("connecting", "failed", "disconnected"))
        self.reconnect_button.setVisible(state in ("failed", "disconnected"))
        self.stateChanged.emit(state)


def _close_in_background(session) -> threading.Thread:
    def close() -> None:
        try:
            session.close()
        except Exception as exc:  # noqa: BLE001
            log.debug("closing SSH session: %s", exc)

    thread = threading.Thread(target=close, name="ssh-close", daemon=True)
    thread.start()
    return thread


EMPTY_HINT = ("No terminal open.\n\nRight-click a running instance → SSH login…\n"
              "or File → New → SSH connection… for any host.")


class TerminalTabs(QTabWidget):
    """The editor area's terminal tabs (objectName ``terminalTabs``)."""

    def __init__(self, parent: QWidget | None = None, session_factory=_default_session_factory):
        super().__init__(parent)
        self.setObjectName("terminalTabs")
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self._factory = session_factory
        self.terminal_font: QFont | None = None  # None: the system's fixed font
        self.tabCloseRequested.connect(self.close_tab)

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
            self.setTabToolTip(index, f"{tab.target.title()}\n{title}" if title else tab.target.title())

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
