"""TerminalWidget: the terminal's QWidget. It composes the emulator core (emulator.py), the byte
queue from the session's reader thread (intake.py), the painting of frames into a backing image
(painter.py) and the key mapping (keys.py); here are the events, the mouse and the selection, the
scrollbar, the cursor's blink and the focus.

Threading and speed: the session's reader thread calls :meth:`TerminalWidget.on_data`, which only
queues the bytes (no emulator call there) and wakes the GUI thread at most once per frame. The GUI
thread feeds everything queued to the emulator in 256 KB slices, at most ~8 ms of feeding per
event-loop turn (libghostty-vt parses at hundreds of MB/s, so a turn swallows megabytes), then
takes a render snapshot of the rows that changed — at most ~60 frames a second — paints only
those rows into the backing image and asks Qt to repaint just their rectangles. Input events get
their turn between slices, so Ctrl+C goes straight out through ``backend.write`` during a flood.
Past 1 MB queued, the reader thread waits, which pushes back on the SSH channel's window.

The widget writes to a *backend*: anything with ``write(bytes)`` and ``resize(cols, rows)`` — an
SSH session in the app, a recording fake in tests. It never closes it: the session belongs to
its terminal tab (:mod:`ui.terminal.tabs`), which closes it off the GUI thread.

What is left here (~540 lines) is one thing, the QWidget's own event handling: keys, mouse reports
and local selection, wheel, focus and blink each need the widget's state and Qt's event objects;
what needs neither went to the modules named above.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QGuiApplication, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import QScrollBar, QSizePolicy, QWidget

from ui.terminal.emulator import ALT, CTRL, Emulator
from ui.terminal.intake import Intake
from ui.terminal.keys import KeyCommand, KeyStroke, claims_shortcut, encoder_mods, interpret
from ui.terminal.painter import (DEFAULT_BACKGROUND, DEFAULT_FOREGROUND, ScreenImage, default_font,
                                 paint_cursor, paint_selection)

log = logging.getLogger(__name__)

FRAME_MS = 16  # at most ~60 repaints a second
FEED_BUDGET = 0.008  # seconds of feeding per event-loop turn before input gets a chance
BLINK_MS = 530  # cursor blink half-period, as xterm and GNOME Terminal


class TerminalBackend(Protocol):
    """Where the terminal's bytes go; closing it is its owner's business, not the widget's."""

    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...


def folder_of_report(url: str) -> str | None:
    """The path of an OSC 7 report (``file://host/path``, percent-encoded, as bash's and zsh's
    usual prompt hooks send it); None for anything else."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "file" or not parts.path.startswith("/"):
        return None
    path = unquote(parts.path, errors="surrogateescape")
    return None if any(ord(c) < 32 for c in path) else path


class TerminalWidget(QWidget):
    """An xterm-class terminal view over an :class:`Emulator` and a backend."""

    titleChanged = Signal(str)
    folderChanged = Signal(str)  # the shell's folder, a path on the remote host (OSC 7)
    gridSizeChanged = Signal(int, int)  # cols, rows
    _wake = Signal()

    _BUTTONS = {Qt.MouseButton.LeftButton: 1, Qt.MouseButton.RightButton: 2, Qt.MouseButton.MiddleButton: 3}

    def __init__(self, parent: QWidget | None = None, *, backend: TerminalBackend | None = None,
                 font: QFont | None = None, scrollback: int = 10_000, cols: int = 80, rows: int = 24,
                 foreground: tuple[int, int, int] = DEFAULT_FOREGROUND,
                 background: tuple[int, int, int] = DEFAULT_BACKGROUND):
        super().__init__(parent)
        self.setObjectName("terminalWidget")
        font = font or default_font()
        self.backend: TerminalBackend | None = backend
        self.emulator = Emulator(cols, rows, scrollback=scrollback, on_reply=self.send,
                                 foreground=foreground, background=background)
        self.intake = Intake(self._post_wake)
        self._screen = ScreenImage(font, background)
        self._fg, self._bg = foreground, background
        self._title = ""
        self.folder: str | None = None  # the shell's folder as it last reported it (OSC 7); None: never
        self._scroll = (rows, 0, rows)
        self._cursor: tuple[int, int] | None = (0, 0)
        self._cursor_style = "block"
        self._cursor_blink = False  # the remote asked for a blinking cursor
        self._blink_on = True  # the blinking cursor's current phase
        self._last_motion: tuple[int, int] | None = None  # cell of the last hover report
        self._dirty_all = True
        self._sel_anchor: tuple[int, int] | None = None  # (x, screen row)
        self._sel_end: tuple[int, int] | None = None
        self._selecting = False
        self.frames = 0  # how many frames were painted (for the benchmark)
        self._last_frame = 0.0

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # hover moves reach mouseMoveEvent, for programs that ask for any-motion reports (mode 1003)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.IBeamCursor)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(*background))
        self.setPalette(pal)
        self.setAutoFillBackground(False)

        self._scrollbar = QScrollBar(Qt.Orientation.Vertical, self)
        self._scrollbar.setCursor(Qt.CursorShape.ArrowCursor)
        self._scrollbar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scrollbar.valueChanged.connect(self._scrollbar_moved)
        self._syncing_scrollbar = False

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._blink_tick)

        self.set_font(font)

    # -- public API ---------------------------------------------------------------------------
    @property
    def cols(self) -> int:
        return self.emulator.cols

    @property
    def rows(self) -> int:
        return self.emulator.rows

    @property
    def title(self) -> str:
        return self._title

    def set_backend(self, backend: TerminalBackend | None) -> None:
        self.backend = backend

    def set_font(self, font: QFont) -> None:
        """Use ``font`` (monospace) for the grid; the grid size follows from the widget size."""
        self._screen.set_font(font)
        self.setFont(font)
        self._dirty_all = True
        self._fit_grid()
        self.update()

    def cell_size(self) -> QSize:
        return QSize(self._screen.cw, self._screen.ch)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(80 * self._screen.cw + self._scrollbar.sizeHint().width(), 24 * self._screen.ch)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(10 * self._screen.cw, 3 * self._screen.ch)

    def on_data(self, data: bytes) -> None:
        """Bytes from the remote; safe to call from any thread (the session's reader thread).
        Queued, with the GUI thread woken at most once per frame; past
        :data:`~ui.terminal.intake.MAX_PENDING` bytes waiting, the caller blocks until the GUI
        thread caught up (or the widget shut down): back-pressure on the SSH channel's window."""
        self.intake.append(data)

    def _post_wake(self) -> None:  # the reader thread, via the intake
        try:
            self._wake.emit()
        except RuntimeError:  # the widget was deleted while the reader still ran: let it go
            self.intake.close()

    def feed(self, data: bytes) -> None:
        """Feed bytes now, on this thread, and repaint what changed (tests, local echo)."""
        self.intake.drain(self.emulator.feed)
        self.emulator.feed(data)
        self.flush()

    def flush(self) -> None:
        """Feed everything queued and bring the painted screen up to date at once."""
        self._timer.stop()
        self.intake.drain(self.emulator.feed)
        self._render()

    def send(self, data: bytes) -> None:
        """Bytes to the remote, as if typed (also the emulator's answers to the remote's queries)."""
        if data and self.backend is not None:
            try:
                self.backend.write(data)
            except Exception as exc:  # noqa: BLE001 - a dead channel is reported by the session
                log.debug("terminal write failed: %s", exc)

    def text(self) -> str:
        """The active screen as text (what a person sees when scrolled to the bottom)."""
        return self.emulator.text()

    def lines(self) -> list[str]:
        return self.emulator.lines()

    def visible_text(self) -> str:
        """What is in view, which differs from :meth:`text` while scrolled back."""
        return self.emulator.viewport_text()

    def cell(self, x: int, y: int):
        return self.emulator.cell(x, y)

    def scroll_lines(self, delta: int) -> None:
        self.emulator.scroll(delta)
        self.flush()

    def scroll_to_bottom(self) -> None:
        self.emulator.scroll_to_bottom()
        self.flush()

    def scroll_to_top(self) -> None:
        self.emulator.scroll_to_top()
        self.flush()

    @property
    def scroll_position(self) -> tuple[int, int, int]:
        """(total rows, first row in view, rows in view), as last painted."""
        return self._scroll

    def has_selection(self) -> bool:
        return self._sel_anchor is not None and self._sel_end is not None and self._sel_anchor != self._sel_end

    def select(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Select from ``start`` to ``end``, (x, row) with rows counted from the top of the scrollback."""
        self._sel_anchor, self._sel_end = start, end
        self.update()

    def clear_selection(self) -> None:
        self._sel_anchor = self._sel_end = None
        self.update()

    def selected_text(self) -> str:
        if not self.has_selection():
            return ""
        (ax, ay), (bx, by) = sorted([self._sel_anchor, self._sel_end], key=lambda p: (p[1], p[0]))
        # the selection's end is a boundary between cells; the emulator wants the last cell
        if bx == 0:
            bx, by = self.cols, by - 1
        if (by, bx) <= (ay, ax):
            return ""
        return self.emulator.selection_text((ax, ay), (bx - 1, by))

    @Slot()
    def copy(self) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    @Slot()
    def paste(self) -> None:
        self.paste_text(QGuiApplication.clipboard().text())

    def paste_text(self, text: str) -> None:
        """Paste ``text``: bracketed when the remote asked for it, newlines as Enter otherwise."""
        if text:
            self.emulator.scroll_to_bottom()
            self.send(self.emulator.encode_paste(text))

    def shutdown(self) -> None:
        """Stop taking data — a reader thread waiting in :meth:`on_data` returns — and stop
        writing: the backend is let go, not closed (its owner, the tab, closes it)."""
        self._stop()
        self.backend = None

    def _stop(self) -> None:
        self._timer.stop()
        self._blink.stop()
        self.intake.close()

    # -- emulator → GUI ----------------------------------------------------------------------
    @Slot()
    def _on_wake(self) -> None:
        # paint at once after a quiet spell (keystroke echo), else at most once per frame
        if not self._timer.isActive():
            since = (time.monotonic() - self._last_frame) * 1000
            self._timer.start(max(0, int(FRAME_MS - since)))

    @Slot()
    def _tick(self) -> None:
        backlog = self.intake.drain(self.emulator.feed, FEED_BUDGET)
        if not backlog or (time.monotonic() - self._last_frame) * 1000 >= FRAME_MS:
            self._render()
        if backlog:  # let the event loop handle input (Ctrl+C), then go on feeding
            self._timer.start(0)

    def _render(self) -> None:
        self._last_frame = time.monotonic()
        screen = self._screen
        frame = self.emulator.render(force_full=self._dirty_all or screen.image is None)
        self._dirty_all = False
        if frame.cols == 0:
            return
        if frame.title is not None and frame.title != self._title:
            self._title = frame.title
            self.titleChanged.emit(frame.title)
        if frame.pwd is not None:
            folder = folder_of_report(frame.pwd)
            if folder is not None and folder != self.folder:
                self.folder = folder
                self.folderChanged.emit(folder)
        screen.ensure_size(frame.cols, frame.lines, self.devicePixelRatioF())
        old_cursor = self._cursor
        self._cursor, self._cursor_style = frame.cursor, frame.cursor_style
        if frame.cursor_blink != self._cursor_blink or (old_cursor != self._cursor and self._cursor_blink):
            self._cursor_blink = frame.cursor_blink
            self._restart_blink()  # solid while the cursor moves (typing, output), as terminals do
        if frame.scroll != self._scroll:
            self._scroll = frame.scroll
            self._sync_scrollbar()
        if frame.rows:
            screen.paint_rows(frame)
            self.frames += 1
        dirty_rows = set(frame.rows) | {c[1] for c in (old_cursor, self._cursor) if c is not None}
        if frame.full:
            self.update()
        elif dirty_rows:
            self.update(screen.rows_rect(min(dirty_rows), max(dirty_rows), frame.cols))

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(event.rect(), QColor(*self._bg))
        if self._screen.image is not None:
            p.drawImage(QPoint(0, 0), self._screen.image)
        if self.has_selection():
            paint_selection(p, self._screen, self._sel_anchor, self._sel_end, self._scroll[1], self.rows, self.cols)
        if self._cursor is not None and self._blink_on:
            paint_cursor(p, self._screen.cell_rect(*self._cursor), self._cursor_style, QColor(*self._fg),
                         self.hasFocus())
        p.end()

    # -- geometry -----------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        sb = self._scrollbar.sizeHint().width()
        self._scrollbar.setGeometry(self.width() - sb, 0, sb, self.height())
        self._fit_grid()

    def _fit_grid(self) -> None:
        sb = self._scrollbar.sizeHint().width()
        cols = max(2, (self.width() - sb) // self._screen.cw)
        rows = max(1, self.height() // self._screen.ch)
        if (cols, rows) == (self.emulator.cols, self.emulator.rows) and self._screen.image is not None:
            return
        self.resize_grid(cols, rows)

    def resize_grid(self, cols: int, rows: int) -> None:
        """Make the grid ``cols`` × ``rows`` and tell the remote (the widget itself may differ)."""
        changed = (cols, rows) != (self.emulator.cols, self.emulator.rows)
        self.emulator.resize(cols, rows, self._screen.cw, self._screen.ch)
        self._screen.drop()
        self._dirty_all = True
        self.flush()
        if changed:
            if self.backend is not None:
                try:
                    self.backend.resize(cols, rows)
                except Exception as exc:  # noqa: BLE001
                    log.debug("terminal resize failed: %s", exc)
            self.gridSizeChanged.emit(cols, rows)

    def _sync_scrollbar(self) -> None:
        total, first, length = self._scroll
        self._syncing_scrollbar = True
        try:
            self._scrollbar.setRange(0, max(0, total - length))
            self._scrollbar.setPageStep(max(1, length))
            self._scrollbar.setValue(first)
        finally:
            self._syncing_scrollbar = False

    @Slot(int)
    def _scrollbar_moved(self, value: int) -> None:
        if not self._syncing_scrollbar:
            self.emulator.scroll_to_row(value)
            self.flush()

    # -- keyboard -----------------------------------------------------------------------------------
    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802,A002 - Tab belongs to the terminal
        return False

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            if not claims_shortcut(event):
                return super().event(event)  # leave Ctrl+Shift+… to the application
            event.accept()
            return True
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        data = self.key_bytes(event)
        if data is None:
            return
        if data:
            if self._cursor_blink:
                self._restart_blink()
            self.clear_selection()
            if not self.emulator.at_bottom:
                self.emulator.scroll_to_bottom()
                self._timer.start(0)
            self.send(data)
        event.accept()

    def key_bytes(self, event: QKeyEvent) -> bytes | None:
        """The bytes a key press sends, or None when the widget handled it itself (copy, scroll …)."""
        meaning = interpret(event, alternate_screen=self.emulator.alternate_screen)
        if isinstance(meaning, KeyStroke):
            return meaning.encode(self.emulator)
        if meaning is not None:
            page = max(1, self.rows - 1)
            command = {KeyCommand.COPY: self.copy, KeyCommand.PASTE: self.paste,
                       KeyCommand.PAGE_UP: lambda: self.scroll_lines(-page),
                       KeyCommand.PAGE_DOWN: lambda: self.scroll_lines(page),
                       KeyCommand.TO_TOP: self.scroll_to_top, KeyCommand.TO_BOTTOM: self.scroll_to_bottom}
            command[meaning]()
        return None

    def inputMethodEvent(self, event) -> None:  # noqa: N802
        text = event.commitString()
        if text:
            self.send(text.encode("utf-8"))
        event.accept()

    # -- mouse ---------------------------------------------------------------------------------------
    def _cell_at(self, pos) -> tuple[int, int]:
        x = max(0, min(self.cols, int(round(pos.x() / self._screen.cw))))
        vy = max(0, min(self.rows - 1, int(pos.y() // self._screen.ch)))
        return x, self._scroll[1] + vy

    def _reporting(self, event) -> bool:
        """Whether mouse events go to the remote (it asked for them; Shift keeps local selection)."""
        return (not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier)) and self.emulator.mouse_tracking

    def _report(self, action: str, button: int | None, event) -> None:
        mods = encoder_mods(event.modifiers()) & (CTRL | ALT)
        cw, ch = self._screen.cw, self._screen.ch
        pos = event.position()
        grid = (self.cols * cw, self.rows * ch)
        x = max(0.0, min(pos.x(), grid[0] - 1.0))
        y = max(0.0, min(pos.y(), grid[1] - 1.0))
        self.send(self.emulator.encode_mouse(action, button, x, y, mods=mods, screen=grid, cell=(cw, ch),
                                             any_pressed=bool(event.buttons() & ~Qt.MouseButton.NoButton)))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self._reporting(event) and event.button() in self._BUTTONS:
            self._report("press", self._BUTTONS[event.button()], event)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._sel_anchor = self._sel_end = self._cell_at(event.position())
            self._selecting = True
            self.update()
        elif event.button() == Qt.MouseButton.MiddleButton:
            clip = QGuiApplication.clipboard()
            text = clip.text(clip.Mode.Selection) if clip.supportsSelection() else ""
            self.paste_text(text)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if not self._selecting and self._reporting(event):
            held = next((b for q, b in self._BUTTONS.items() if event.buttons() & q), None)
            cell = self._cell_at(event.position())
            if held is None and cell == self._last_motion:
                return  # hover within one cell: nothing new to tell
            self._last_motion = cell
            # the encoder sends what the remote's mode asks for: drags in 1002, any motion in
            # 1003, nothing for a hover in 1000
            self._report("motion", held, event)
            return
        if self._selecting:
            self._sel_end = self._cell_at(event.position())
            if event.position().y() < 0:
                self.scroll_lines(-1)
            elif event.position().y() > self.height():
                self.scroll_lines(1)
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if not self._selecting and self._reporting(event) and event.button() in self._BUTTONS:
            self._report("release", self._BUTTONS[event.button()], event)
            return
        if event.button() == Qt.MouseButton.LeftButton and self._selecting:
            self._selecting = False
            self._sel_end = self._cell_at(event.position())
            if self.has_selection():
                clip = QGuiApplication.clipboard()
                if clip.supportsSelection():
                    clip.setText(self.selected_text(), clip.Mode.Selection)
            self.update()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        x, row = self._cell_at(event.position())
        line = self.emulator.selection_text((0, row), (self.cols - 1, row))
        word = next((m for m in re.finditer(r"\S+", line) if m.start() <= x < m.end()), None)
        if word is not None:
            self.select((word.start(), row), (word.end(), row))

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() // 40  # three lines per notch
        if not steps:
            return
        if self._reporting(event):  # wheel as buttons 4 (up) and 5 (down)
            for _ in range(abs(steps)):
                self._report("press", 4 if steps > 0 else 5, event)
            event.accept()
            return
        if self.emulator.alternate_screen:  # less, vim, man: the wheel moves the program's view
            key = "arrow_up" if steps > 0 else "arrow_down"
            self.send(self.emulator.encode_key(key) * abs(steps))
        else:
            self.scroll_lines(-steps)
        event.accept()

    def focusInEvent(self, event) -> None:  # noqa: N802
        super().focusInEvent(event)
        self._restart_blink()

    def focusOutEvent(self, event) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self._restart_blink()

    # -- cursor blink ---------------------------------------------------------------------------------
    @property
    def cursor_blinking(self) -> bool:
        """Whether the cursor blinks now: the remote asked for it and the terminal has the focus."""
        return self._blink.isActive()

    def _restart_blink(self) -> None:
        """Show the cursor now; blink from here if the remote asked for it and we have the focus."""
        self._blink_on = True
        if self._cursor_blink and self.hasFocus() and not self.intake.closed:
            self._blink.start()
        else:
            self._blink.stop()
        self._update_cursor()

    @Slot()
    def _blink_tick(self) -> None:
        self._blink_on = not self._blink_on
        self._update_cursor()

    def _update_cursor(self) -> None:
        if self._cursor is not None:
            self.update(self._screen.cell_rect(*self._cursor))

    def closeEvent(self, event) -> None:  # noqa: N802
        self._stop()
        super().closeEvent(event)
