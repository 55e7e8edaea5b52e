"""Painting the terminal: the emulator's render :class:`~ui.terminal.emulator.Frame` into a backing
image, and the cursor and selection over it.

The widget keeps the screen in a :class:`ScreenImage` and paints into it only the rows a frame
says changed; its ``paintEvent`` then copies the image and draws the cursor and the selection on
top (:func:`paint_cursor`, :func:`paint_selection`), so a blinking cursor or a dragged selection
never repaints text. A row is painted run by run (cells of one look), one ``drawText`` per run of
ASCII, so a full 200×60 screen is a few hundred calls, not twelve thousand.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QImage, QPainter

from ui.terminal.emulator import Attr, Frame, Run

RGB = tuple[int, int, int]
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


class ScreenImage:
    """The terminal's screen as an image, in one monospace font and its bold/italic faces.

    ``cw``/``ch`` are the cell's width and height in pixels; ``image`` is None until the first
    frame, and again after :meth:`drop` (a new font, a new grid), when the next frame must be full.
    """

    def __init__(self, font: QFont, background: RGB):
        self.background = background
        self.image: QImage | None = None
        self.set_font(font)

    def set_font(self, font: QFont) -> None:
        self.fonts: dict[tuple[bool, bool], QFont] = {}
        for bold in (False, True):
            for italic in (False, True):
                f = QFont(font)
                f.setBold(bold)
                f.setItalic(italic)
                f.setKerning(False)
                f.setStyleHint(QFont.StyleHint.Monospace)
                self.fonts[(bold, italic)] = f
        fm = QFontMetrics(self.fonts[(False, False)])
        self.cw = max(1, fm.horizontalAdvance("M"))
        self.ch = max(1, fm.height())
        self.ascent = fm.ascent()
        self.underline_y = min(self.ch - 1, self.ascent + max(1, fm.underlinePos()))
        self.image = None

    def drop(self) -> None:
        """Forget the image: the next frame is painted whole into a new one."""
        self.image = None

    def cell_rect(self, x: int, y: int) -> QRect:
        return QRect(x * self.cw, y * self.ch, self.cw, self.ch)

    def rows_rect(self, top: int, bottom: int, cols: int) -> QRect:
        """Rows ``top``..``bottom`` (inclusive) of a ``cols``-wide grid, in widget pixels."""
        return QRect(0, top * self.ch, cols * self.cw, (bottom - top + 1) * self.ch)

    def ensure_size(self, cols: int, lines: int, dpr: float) -> None:
        """An image for ``cols`` × ``lines`` cells at device pixel ratio ``dpr`` (kept if it fits)."""
        w, h = int(cols * self.cw * dpr), int(lines * self.ch * dpr)
        if self.image is None or self.image.width() != w or self.image.height() != h:
            self.image = QImage(w, h, QImage.Format.Format_RGB32)
            self.image.setDevicePixelRatio(dpr)
            self.image.fill(QColor(*self.background))

    def paint_rows(self, frame: Frame) -> None:
        """Paint the rows ``frame`` carries, each wholly (background first, then its runs)."""
        p = QPainter(self.image)
        try:
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            default_bg = QColor(*frame.background)
            width = frame.cols * self.cw
            for y, runs in frame.rows.items():
                top = y * self.ch
                p.fillRect(0, top, width, self.ch, default_bg)
                for run in runs:
                    self._paint_run(p, run, top, frame.foreground, frame.background)
        finally:
            p.end()

    def _paint_run(self, p: QPainter, run: Run, top: int, default_fg: RGB, default_bg: RGB) -> None:
        a: Attr = run.attr
        fg = a.fg or default_fg
        bg = a.bg
        if a.reverse:
            fg, bg = (bg or default_bg), fg
        cw, ch = self.cw, self.ch
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
            p.setFont(self.fonts[(a.bold, a.italic)])
            baseline = top + self.ascent
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
            p.drawLine(x0, top + self.underline_y, x0 + w - 1, top + self.underline_y)
        if a.strikethrough:
            mid = top + ch // 2
            p.drawLine(x0, mid, x0 + w - 1, mid)
        if a.overline:
            p.drawLine(x0, top, x0 + w - 1, top)


def paint_selection(p: QPainter, screen: ScreenImage, start: tuple[int, int], end: tuple[int, int],
                    first_row: int, rows: int, cols: int) -> None:
    """Tint the selection from ``start`` to ``end`` ((x, row), rows counted from the top of the
    scrollback, ``end`` a boundary between cells) where it is in view: ``rows`` rows from ``first_row``."""
    (ax, ay), (bx, by) = sorted([start, end], key=lambda q: (q[1], q[0]))
    for row in range(max(ay, first_row), min(by, first_row + rows - 1) + 1):
        x0 = ax if row == ay else 0
        x1 = bx if row == by else cols
        if x1 > x0:
            p.fillRect(x0 * screen.cw, (row - first_row) * screen.ch, (x1 - x0) * screen.cw, screen.ch,
                       SELECTION_COLOR)


def paint_cursor(p: QPainter, rect: QRect, style: str, color: QColor, focused: bool) -> None:
    """The cursor in the cell ``rect``: hollow when the terminal has no focus, else as the remote
    asked (block, bar, underline); a block inverts the cell so the character stays readable."""
    if not focused or style == "hollow":
        p.setPen(color)
        p.drawRect(rect.adjusted(0, 0, -1, -1))
    elif style == "bar":
        p.fillRect(QRect(rect.left(), rect.top(), max(2, rect.width() // 6), rect.height()), color)
    elif style == "underline":
        p.fillRect(QRect(rect.left(), rect.bottom() - 1, rect.width(), 2), color)
    else:
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
        p.fillRect(rect, QColor(255, 255, 255))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
