"""TerminalWidget: paints an :class:`~ui.terminal.emulator.Emulator` and turns keys into bytes.

Threading: the session's reader thread calls :meth:`TerminalWidget.on_data`, which only queues
the bytes (no emulator call there) and wakes the GUI thread at most once per frame. The GUI
thread feeds everything queued to the emulator in 256 KB slices, at most ~8 ms of feeding per
event-loop turn (libghostty-vt parses at hundreds of MB/s, so a turn swallows megabytes), then
takes a render snapshot of the rows that changed — at most ~60 frames a second — paints only
those rows into a backing image and asks Qt to repaint just their rectangles. Input events get
their turn between slices, so Ctrl+C goes straight out through ``backend.write`` during a flood.
Past 1 MB queued, the reader thread waits, which pushes back on the SSH channel's window.

Feeding on the reader thread under a lock was tried first and measured worse: every small SSH
packet became one emulator call whose return had to win the GIL back from the painting thread,
which cut a 20 MB ``cat`` from ~30 MB/s to ~13 MB/s.

The widget talks to a *backend*: anything with ``write(bytes)``, ``resize(cols, rows)`` and
``close()`` — an SSH session in the app, a recording fake in tests.
"""

from __future__ import annotations

import logging
from collections import deque
import threading
import time
from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QFontMetrics, QGuiApplication, QImage, QKeyEvent,
                           QPainter, QPalette)
from PySide6.QtWidgets import QScrollBar, QSizePolicy, QWidget

from ui.terminal.emulator import ALT, CTRL, SHIFT, SUPER, Attr, Emulator, Frame, Run

log = logging.getLogger(__name__)

FRAME_MS = 16  # at most ~60 repaints a second
BLINK_MS = 530  # cursor blink half-period, as xterm and GNOME Terminal
SLICE = 256 * 1024  # bytes fed to the emulator in one call
FEED_BUDGET = 0.008  # seconds of feeding per event-loop turn before input gets a chance
MAX_PENDING = 1024 * 1024  # bytes queued before the reader thread is made to wait


class TerminalBackend(Protocol):
    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def close(self) -> None: ...


_QT_KEYS: dict[int, str] = {
    Qt.Key.Key_Up: "arrow_up", Qt.Key.Key_Down: "arrow_down", Qt.Key.Key_Left: "arrow_left",
    Qt.Key.Key_Right: "arrow_right", Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end",
    Qt.Key.Key_PageUp: "page_up", Qt.Key.Key_PageDown: "page_down", Qt.Key.Key_Insert: "insert",
    Qt.Key.Key_Delete: "delete", Qt.Key.Key_Backspace: "backspace", Qt.Key.Key_Tab: "tab",
    Qt.Key.Key_Backtab: "tab", Qt.Key.Key_Return: "enter", Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Escape: "escape", Qt.Key.Key_Space: "space",
    Qt.Key.Key_Minus: "minus", Qt.Key.Key_Equal: "equal", Qt.Key.Key_BracketLeft: "bracket_left",
    Qt.Key.Key_BracketRight: "bracket_right", Qt.Key.Key_Backslash: "backslash",
    Qt.Key.Key_Semicolon: "semicolon", Qt.Key.Key_Apostrophe: "quote", Qt.Key.Key_QuoteLeft: "backquote",
    Qt.Key.Key_Comma: "comma", Qt.Key.Key_Period: "period", Qt.Key.Key_Slash: "slash",
}
_QT_KEYS.update({getattr(Qt.Key, f"Key_F{i}"): f"f{i}" for i in range(1, 25)})
_QT_KEYS.update({getattr(Qt.Key, f"Key_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_QT_KEYS.update({getattr(Qt.Key, f"Key_{d}"): f"digit_{d}" for d in "0123456789"})
# what the key types without Shift, for Ctrl/Alt combinations whose text Qt reports as control chars
_UNSHIFTED = {"minus": "-", "equal": "=", "bracket_left": "[", "bracket_right": "]", "backslash": "\\",
              "semicolon": ";", "quote": "'", "backquote": "`", "comma": ",", "period": ".", "slash": "/",
              "space": " "}
_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
                  Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_ScrollLock, Qt.Key.Key_Super_L,
                  Qt.Key.Key_Super_R, Qt.Key.Key_Hyper_L, Qt.Key.Key_Hyper_R}

DEFAULT_FOREGROUND = (220, 223, 228)
DEFAULT_BACKGROUND = (24, 26, 31)
SELECTION_COLOR = QColor(90, 140, 220, 110)


def default_font(point_size: int = 10) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace, QFont.StyleStrategy.PreferDefault)
    font.setFixedPitch(True)
    font.setKerning(False)
    font.setPointSize(point_size)
    return font


class TerminalWidget(QWidget):
    """An xterm-class terminal view over an :class:`Emulator` and a backend."""

    titleChanged = Signal(str)
    gridSizeChanged = Signal(int, int)  # cols, rows
    _wake = Signal()

    def __init__(self, parent: QWidget | None = None, *, backend: TerminalBackend | None = None,
                 font: QFont | None = None, scrollback: int = 10_000, cols: int = 80, rows: int = 24,
                 foreground: tuple[int, int, int] = DEFAULT_FOREGROUND,
                 background: tuple[int, int, int] = DEFAULT_BACKGROUND):
        super().__init__(parent)
        self.setObjectName("terminalWidget")
        self.backend: TerminalBackend | None = backend
        self.emulator = Emulator(cols, rows, scrollback=scrollback, on_reply=self._reply,
                                 foreground=foreground, background=background)
        self._fg, self._bg = foreground, background
        self._title = ""
        self._scroll = (rows, 0, rows)
        self._cursor: tuple[int, int] | None = (0, 0)
        self._cursor_style = "block"
        self._cursor_blink = False  # the remote asked for a blinking cursor
        self._blink_on = True  # the blinking cursor's current phase
        self._last_motion: tuple[int, int] | None = None  # cell of the last hover report
        self._image: QImage | None = None
        self._dirty_all = True
        self._wake_lock = threading.Condition()
        self._wake_posted = False
        self._pending: deque[bytes] = deque()  # bytes from the reader thread, not yet fed
        self._pending_size = 0
        self._closed = False
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
        self._timer.setInterval(FRAME_MS)  # noqa
        self._timer.timeout.connect(self._tick)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._blink_tick)

        self.set_font(font or default_font())

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
        self._fonts = {}
        for bold in (False, True):
            for italic in (False, True):
                f = QFont(font)
                f.setBold(bold)
                f.setItalic(italic)
                f.setKerning(False)
                f.setStyleHint(QFont.StyleHint.Monospace)
                self._fonts[(bold, italic)] = f
        fm = QFontMetrics(self._fonts[(False, False)])
        self._cw = max(1, fm.horizontalAdvance("M"))
        self._ch = max(1, fm.height())
        self._ascent = fm.ascent()
        self._underline_y = min(self._ch - 1, self._ascent + max(1, fm.underlinePos()))
        self.setFont(font)
        self._image = None
        self._dirty_all = True
        self._fit_grid()
        self.update()

    def cell_size(self) -> QSize:
        return QSize(self._cw, self._ch)

    def sizeHint(self) -> QSize:
        return QSize(80 * self._cw + self._scrollbar.sizeHint().width(), 24 * self._ch)

    def minimumSizeHint(self) -> QSize:
        return QSize(10 * self._cw, 3 * self._ch)

    def on_data(self, data: bytes) -> None:
        """Bytes from the remote; safe to call from any thread (the session's reader thread).

        The bytes are queued and the GUI thread is woken at most once per frame. When more than
        :data:`MAX_PENDING` bytes wait, the caller blocks until the GUI thread has caught up, which
        pushes back on the SSH channel's flow control instead of growing memory.
        """
        if not data:
            return
        with self._wake_lock:
            if self._closed:
                return
            self._pending.append(data)
            self._pending_size += len(data)
            wake = not self._wake_posted
            self._wake_posted = True
            while self._pending_size > MAX_PENDING and not self._closed:
                if wake:
                    try:
                        self._wake.emit()
                    except RuntimeError:
                        return
                    wake = False
                self._wake_lock.wait(0.1)
        if wake:
            try:
                self._wake.emit()
            except RuntimeError:  # the widget was deleted while the reader still ran
                pass

    def feed(self, data: bytes) -> None:
        """Feed bytes now, on this thread, and repaint what changed (tests, local echo)."""
        self._drain(None)
        self.emulator.feed(data)
        self.flush()

    def flush(self) -> None:
        """Feed everything queued and bring the painted screen up to date at once."""
        with self._wake_lock:
            self._wake_posted = False
        self._timer.stop()
        self._drain(None)
        self._render()

    def _drain(self, budget: float | None) -> bool:
        """Feed queued bytes to the emulator in slices until ``budget`` seconds are spent (None: all).
        Returns whether bytes are still waiting."""
        start = time.monotonic()
        while True:
            with self._wake_lock:
                if not self._pending:
                    return False
                chunks, size = [], 0
                while self._pending and size < SLICE:
                    chunk = self._pending.popleft()
                    chunks.append(chunk)
                    size += len(chunk)
                self._pending_size -= size
                self._wake_lock.notify_all()
            self.emulator.feed(b"".join(chunks) if len(chunks) > 1 else chunks[0])
            if budget is not None and time.monotonic() - start >= budget:
                with self._wake_lock:
                    return bool(self._pending)

    def send(self, data: bytes) -> None:
        """Bytes to the remote, as if typed."""
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

    def close_session(self) -> None:
        with self._wake_lock:
            self._pending.clear()
            self._pending_size = 0
            self._wake_lock.notify_all()
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("closing terminal backend: %s", exc)

    # -- emulator → GUI ----------------------------------------------------------------------
    def _reply(self, data: bytes) -> None:
        self.send(data)

    @Slot()
    def _on_wake(self) -> None:
        # paint at once after a quiet spell (keystroke echo), else at most once per frame
        if not self._timer.isActive():
            since = (time.monotonic() - self._last_frame) * 1000
            self._timer.start(max(0, int(FRAME_MS - since)))

    @Slot()
    def _tick(self) -> None:
        with self._wake_lock:
            self._wake_posted = False
        backlog = self._drain(FEED_BUDGET)
        if not backlog or (time.monotonic() - self._last_frame) * 1000 >= FRAME_MS:
            self._render()
        if backlog:  # let the event loop handle input (Ctrl+C), then go on feeding
            self._timer.start(0)

    def _render(self) -> None:
        self._last_frame = time.monotonic()
        frame = self.emulator.render(force_full=self._dirty_all or self._image is None)
        self._dirty_all = False
        if frame.cols == 0:
            return
        if frame.title is not None and frame.title != self._title:
            self._title = frame.title
            self.titleChanged.emit(frame.title)
        self._ensure_image(frame.cols, frame.lines)
        old_cursor = self._cursor
        self._cursor, self._cursor_style = frame.cursor, frame.cursor_style
        if frame.cursor_blink != self._cursor_blink or (old_cursor != self._cursor and self._cursor_blink):
            self._cursor_blink = frame.cursor_blink
            self._restart_blink()  # solid while the cursor moves (typing, output), as terminals do
        if frame.scroll != self._scroll:
            self._scroll = frame.scroll
            self._sync_scrollbar()
        if frame.rows:
            self._paint_rows(frame)
            self.frames += 1
        dirty_rows = set(frame.rows)
        for c in (old_cursor, self._cursor):
            if c is not None:
                dirty_rows.add(c[1])
        if frame.full:
            self.update()
        elif dirty_rows:
            top, bottom = min(dirty_rows), max(dirty_rows)
            self.update(QRect(0, top * self._ch, frame.cols * self._cw, (bottom - top + 1) * self._ch))

    def _ensure_image(self, cols: int, lines: int) -> None:
        dpr = self.devicePixelRatioF()
        w, h = cols * self._cw, lines * self._ch
        if self._image is None or self._image.width() != int(w * dpr) or self._image.height() != int(h * dpr):
            self._image = QImage(int(w * dpr), int(h * dpr), QImage.Format.Format_RGB32)
            self._image.setDevicePixelRatio(dpr)
            self._image.fill(QColor(*self._bg))

    def _paint_rows(self, frame: Frame) -> None:
        p = QPainter(self._image)
        try:
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            default_bg = QColor(*frame.background)
            default_fg = frame.foreground
            cw, ch = self._cw, self._ch
            width = frame.cols * cw
            for y, runs in frame.rows.items():
                top = y * ch
                p.fillRect(0, top, width, ch, default_bg)
                for run in runs:
                    self._paint_run(p, run, top, default_fg, frame.background)
        finally:
            p.end()

    def _paint_run(self, p: QPainter, run: Run, top: int, default_fg, default_bg) -> None:
        a: Attr = run.attr
        fg = a.fg or default_fg
        bg = a.bg
        if a.reverse:
            fg, bg = (bg or default_bg), fg
        cw, ch = self._cw, self._ch
        x0, w = run.x * cw, run.width * cw
        if bg is not None:
            p.fillRect(x0, top, w, ch, QColor(*bg))
        if a.invisible:
            return
        text = run.text
        blank = not text.strip()
        if blank and not a.underline and not a.strikethrough:
            return
        color = QColor(*fg)
        if a.faint:
            color.setAlphaF(0.6)
        p.setPen(color)
        if not blank:
            p.setFont(self._fonts[(a.bold, a.italic)])
            baseline = top + self._ascent
            if text.isascii():
                p.drawText(x0, baseline, text)
            else:  # keep every glyph on its cell, whatever the fallback font's advance
                x = x0
                step = cw * run.width // max(1, len(text)) if len(text) == 1 else cw
                for chr_ in text:
                    if chr_ != " ":
                        p.drawText(x, baseline, chr_)
                    x += step
        if a.underline:
            p.drawLine(x0, top + self._underline_y, x0 + w - 1, top + self._underline_y)
        if a.strikethrough:
            mid = top + ch // 2
            p.drawLine(x0, mid, x0 + w - 1, mid)
        if a.overline:
            p.drawLine(x0, top, x0 + w - 1, top)

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        rect = event.rect()
        p.fillRect(rect, QColor(*self._bg))
        if self._image is not None:
            p.drawImage(QPoint(0, 0), self._image)
        self._paint_selection(p)
        self._paint_cursor(p)
        p.end()

    def _paint_selection(self, p: QPainter) -> None:
        if not self.has_selection():
            return
        (ax, ay), (bx, by) = sorted([self._sel_anchor, self._sel_end], key=lambda q: (q[1], q[0]))
        first, lines = self._scroll[1], self.rows
        cols = self.cols
        for row in range(max(ay, first), min(by, first + lines - 1) + 1):
            x0 = ax if row == ay else 0
            x1 = bx if row == by else cols
            if x1 > x0:
                p.fillRect((x0 * self._cw), (row - first) * self._ch, (x1 - x0) * self._cw, self._ch, SELECTION_COLOR)

    def _paint_cursor(self, p: QPainter) -> None:
        if self._cursor is None or not self._blink_on:
            return
        x, y = self._cursor
        r = QRect(x * self._cw, y * self._ch, self._cw, self._ch)
        color = QColor(*self._fg)
        if not self.hasFocus() or self._cursor_style == "hollow":
            p.setPen(color)
            p.drawRect(r.adjusted(0, 0, -1, -1))
        elif self._cursor_style == "bar":
            p.fillRect(QRect(r.left(), r.top(), max(2, self._cw // 6), r.height()), color)
        elif self._cursor_style == "underline":
            p.fillRect(QRect(r.left(), r.bottom() - 1, r.width(), 2), color)
        else:
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
            p.fillRect(r, QColor(255, 255, 255))
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)

    # -- geometry -----------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        sb = self._scrollbar.sizeHint().width()
        self._scrollbar.setGeometry(self.width() - sb, 0, sb, self.height())
        self._fit_grid()

    def _fit_grid(self) -> None:
        sb = self._scrollbar.sizeHint().width()
        cols = max(2, (self.width() - sb) // self._cw)
        rows = max(1, self.height() // self._ch)
        if (cols, rows) == (self.emulator.cols, self.emulator.rows) and self._image is not None:
            return
        self.resize_grid(cols, rows)

    def resize_grid(self, cols: int, rows: int) -> None:
        """Make the grid ``cols`` × ``rows`` and tell the remote (the widget itself may differ)."""
        changed = (cols, rows) != (self.emulator.cols, self.emulator.rows)
        self.emulator.resize(cols, rows, self._cw, self._ch)
        self._image = None
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
            # keys typed into the terminal go to the remote, not to the window's shortcuts (Ctrl+C, F5, Del …)
            key_event: QKeyEvent = event
            mods = key_event.modifiers()
            ctrl_shift = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            if (mods & ctrl_shift) == ctrl_shift and key_event.key() not in (Qt.Key.Key_C, Qt.Key.Key_V):
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
        key = event.key()
        m = event.modifiers()
        shift = bool(m & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(m & Qt.KeyboardModifier.ControlModifier)
        alt = bool(m & Qt.KeyboardModifier.AltModifier)
        meta = bool(m & Qt.KeyboardModifier.MetaModifier)
        if ctrl and shift and key == Qt.Key.Key_C:
            self.copy()
            return None
        if ctrl and shift and key == Qt.Key.Key_V or (shift and not ctrl and key == Qt.Key.Key_Insert):
            self.paste()
            return None
        if shift and not ctrl and not alt:
            if key == Qt.Key.Key_PageUp:
                self.scroll_lines(-max(1, self.rows - 1))
                return None
            if key == Qt.Key.Key_PageDown:
                self.scroll_lines(max(1, self.rows - 1))
                return None
            if key == Qt.Key.Key_Home and not self.emulator.alternate_screen:
                self.emulator.scroll_to_top()
                self.flush()
                return None
            if key == Qt.Key.Key_End and not self.emulator.alternate_screen:
                self.scroll_to_bottom()
                return None
        if key in _MODIFIER_KEYS:
            return None
        mods = (SHIFT if shift else 0) | (CTRL if ctrl else 0) | (ALT if alt else 0) | (SUPER if meta else 0)
        if key == Qt.Key.Key_Backtab:
            mods |= SHIFT
        name = _QT_KEYS.get(key, "")
        text = event.text()
        unshifted = ""
        if len(name) == 1:
            unshifted = name
        elif name.startswith("digit_"):
            unshifted = name[-1]
        elif name in _UNSHIFTED:
            unshifted = _UNSHIFTED[name]
        if text and (ord(text[0]) < 0x20 or text == "\x7f") and name not in ("enter", "tab", "backspace", "escape"):
            # Qt's rendering of Ctrl+key as a control character: give the encoder the key's own character
            text = unshifted
        elif text and (ord(text[0]) < 0x20 or text == "\x7f"):
            text = ""
        if not text and name in ("space",):
            text = " "
        if not name and not text:
            return b""
        return self.emulator.encode_key(name, mods, text, unshifted)

    def inputMethodEvent(self, event) -> None:  # noqa: N802
        text = event.commitString()
        if text:
            self.send(text.encode("utf-8"))
        event.accept()

    # -- mouse ---------------------------------------------------------------------------------------
    def _cell_at(self, pos) -> tuple[int, int]:
        x = max(0, min(self.cols, int(round(pos.x() / self._cw))))
        vy = max(0, min(self.rows - 1, int(pos.y() // self._ch)))
        return x, self._scroll[1] + vy

    _BUTTONS = {Qt.MouseButton.LeftButton: 1, Qt.MouseButton.RightButton: 2, Qt.MouseButton.MiddleButton: 3}

    def _reporting(self, event) -> bool:
        """Whether mouse events go to the remote (it asked for them; Shift keeps local selection)."""
        return (not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier)) and self.emulator.mouse_tracking

    def _report(self, action: str, button: int | None, event) -> None:
        m = event.modifiers()
        mods = ((CTRL if m & Qt.KeyboardModifier.ControlModifier else 0)
                | (ALT if m & Qt.KeyboardModifier.AltModifier else 0))
        pos = event.position()
        grid = (self.cols * self._cw, self.rows * self._ch)
        x = max(0.0, min(pos.x(), grid[0] - 1.0))
        y = max(0.0, min(pos.y(), grid[1] - 1.0))
        self.send(self.emulator.encode_mouse(action, button, x, y, mods=mods, screen=grid,
                                             cell=(self._cw, self._ch),
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
        if x < len(line) and not line[x].isspace():
            start = x
            while start > 0 and not line[start - 1].isspace():
                start -= 1
            end = x
            while end < len(line) and not line[end].isspace():
                end += 1
            self.select((start, row), (end, row))

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
        if self._cursor_blink and self.hasFocus() and not self._closed:
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
            self.update(QRect(self._cursor[0] * self._cw, self._cursor[1] * self._ch, self._cw, self._ch))

    def shutdown(self) -> None:
        """Stop taking data (a reader thread blocked in :meth:`on_data` returns) and close the backend."""
        self._timer.stop()
        self._blink.stop()
        with self._wake_lock:
            self._closed = True
            self._pending.clear()
            self._pending_size = 0
            self._wake_lock.notify_all()
        self.close_session()

    def closeEvent(self, event) -> None:  # noqa: N802
        self._timer.stop()
        self._blink.stop()
        with self._wake_lock:
            self._closed = True
            self._pending.clear()
            self._pending_size = 0
            self._wake_lock.notify_all()
        super().closeEvent(event)
