"""The terminal emulator core behind one small, Qt-free class, so it can be swapped.

Today the core is libghostty-vt through pyghostty 0.1.3 (cffi). It parses VT output, keeps the
screens and a scrollback, answers the remote's queries (device attributes, cursor position …)
through ``on_reply``, encodes keys and pastes, and tracks which rows changed since the last frame.
pyghostty's Python layer covers feeding, modes and plain text; the rest (render state, key and
paste encoding, viewport scrolling, title) is reached through its raw ``ffi``/``lib`` here and
nowhere else.

Everything here is plain Python and thread-safe: each public method takes the emulator's lock,
so a reader thread may :meth:`feed` while the GUI thread calls :meth:`render`.

It is longer than the project's other files on purpose: it is one thing, the boundary to a C
library through cffi. Every raw ``ffi``/``lib`` call, struct layout and union twin is here and
nowhere else, so what has to change with the next libghostty-vt stays in one file.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable, NamedTuple

from pyghostty import Terminal, ffi, lib
from pyghostty._ffi import union_fn

RGB = tuple[int, int, int]

# ghostty_terminal_scroll_viewport takes a tagged union by value, which ABI-mode cffi cannot pass;
# like pyghostty's own GhosttyPointS, a layout-identical struct twin has the same call ABI.
ffi.cdef("""
typedef struct { int64_t delta; uint64_t _pad; } GridclientScrollValueS;
typedef struct { GhosttyTerminalScrollViewportTag tag; GridclientScrollValueS value; } GridclientScrollViewportS;
""")
assert ffi.sizeof("GridclientScrollViewportS") == ffi.sizeof("GhosttyTerminalScrollViewport")
_scroll_fn = union_fn("ghostty_terminal_scroll_viewport",
                      "void(*)(GhosttyTerminal, GridclientScrollViewportS)")


def _cell_layout() -> dict[str, tuple[int, int]]:
    """Bit positions of the packed GhosttyCell, read from the library's own type manifest."""
    layout = {"content_tag": (0, 2), "content": (2, 24), "style_id": (26, 16), "wide": (42, 2)}
    try:
        bits = json.loads(ffi.string(lib.ghostty_type_json()))["types"]["GhosttyCell"]["bits"]
        for name in layout:
            layout[name] = (bits[name]["lsb"], bits[name]["width"])
    except Exception:  # noqa: BLE001 - the defaults above are this version's layout
        pass
    return layout


_L = _cell_layout()
_TAG_SHIFT, _TAG_MASK = _L["content_tag"][0], (1 << _L["content_tag"][1]) - 1
_CONTENT_SHIFT = _L["content"][0]
_CP_MASK = (1 << 21) - 1
_STYLE_SHIFT, _STYLE_MASK = _L["style_id"][0], (1 << _L["style_id"][1]) - 1
_WIDE_SHIFT, _WIDE_MASK = _L["wide"][0], (1 << _L["wide"][1]) - 1
# a cell word below this is a plain code point: content tag 0, style 0, narrow, nothing else set
_PLAIN_LIMIT = 1 << (_CONTENT_SHIFT + 21) if (_TAG_SHIFT, _CONTENT_SHIFT) == (0, 2) and min(
    _STYLE_SHIFT, _WIDE_SHIFT) >= _CONTENT_SHIFT + 21 else 0
_TAG_CP, _TAG_GRAPHEME = lib.GHOSTTY_CELL_CONTENT_CODEPOINT, lib.GHOSTTY_CELL_CONTENT_CODEPOINT_GRAPHEME
_TAG_BG_PALETTE, _TAG_BG_RGB = lib.GHOSTTY_CELL_CONTENT_BG_COLOR_PALETTE, lib.GHOSTTY_CELL_CONTENT_BG_COLOR_RGB
_WIDE, _SPACER_TAIL, _SPACER_HEAD = (lib.GHOSTTY_CELL_WIDE_WIDE, lib.GHOSTTY_CELL_WIDE_SPACER_TAIL,
                                     lib.GHOSTTY_CELL_WIDE_SPACER_HEAD)


class Attr(NamedTuple):
    """How a run of cells looks. Colours are resolved RGB, or None for the terminal default."""

    fg: RGB | None = None
    bg: RGB | None = None
    bold: bool = False
    italic: bool = False
    faint: bool = False
    underline: int = 0
    reverse: bool = False
    invisible: bool = False
    strikethrough: bool = False
    overline: bool = False


PLAIN = Attr()


class Run(NamedTuple):
    """Consecutive cells of one row with the same look: starts at column ``x``, ``width`` cells."""

    x: int
    text: str
    attr: Attr
    width: int


@dataclass(frozen=True)
class Cell:
    """One cell, for inspection and tests: the character and its style as the emulator holds it.

    ``fg``/``bg`` are None (default), ``("palette", n)`` or ``("rgb", (r, g, b))``.
    """

    char: str
    fg: tuple | None
    bg: tuple | None
    bold: bool
    italic: bool
    faint: bool
    underline: int
    reverse: bool
    invisible: bool
    strikethrough: bool


@dataclass
class Frame:
    """What changed since the last :meth:`Emulator.render`: ``rows`` maps viewport y to its runs."""

    full: bool
    rows: dict[int, list[Run]]
    cols: int
    lines: int
    cursor: tuple[int, int] | None  # viewport (x, y) when the cursor is visible and in view
    cursor_style: str  # block | bar | underline | hollow
    foreground: RGB
    background: RGB
    title: str | None  # the new title when it changed, else None
    scroll: tuple[int, int, int]  # (total rows, first row in view, rows in view)
    cursor_blink: bool = False  # the remote asked for a blinking cursor (DECSCUSR 1/3/5, mode 12)
    # the shell's folder when it reported a new one (OSC 7, ``file://host/path``), else None
    pwd: str | None = None


_CURSOR_STYLES = {lib.GHOSTTY_RENDER_STATE_CURSOR_VISUAL_STYLE_BAR: "bar",
                  lib.GHOSTTY_RENDER_STATE_CURSOR_VISUAL_STYLE_BLOCK: "block",
                  lib.GHOSTTY_RENDER_STATE_CURSOR_VISUAL_STYLE_UNDERLINE: "underline",
                  lib.GHOSTTY_RENDER_STATE_CURSOR_VISUAL_STYLE_BLOCK_HOLLOW: "hollow"}

# Key names the encoder knows, as ``encode_key`` accepts them (GhosttyKey without the prefix).
KEYS = {name[len("GHOSTTY_KEY_"):].lower(): getattr(lib, name) for name in dir(lib)
        if name.startswith("GHOSTTY_KEY_") and not name.startswith(("GHOSTTY_KEY_ACTION", "GHOSTTY_KEY_ENCODER"))
        and name != "GHOSTTY_KEY_MAX_VALUE"}

SHIFT, CTRL, ALT, SUPER = 1, 2, 4, 8

# Legacy control bytes for Ctrl with punctuation, which the encoder otherwise reports in CSI-u form.
_CTRL_PUNCT = {"[": b"\x1b", "\\": b"\x1c", "]": b"\x1d", "^": b"\x1e", "6": b"\x1e", "_": b"\x1f",
               "-": b"\x1f", "/": b"\x1f", "?": b"\x7f", "@": b"\x00", "2": b"\x00", "`": b"\x00",
               "3": b"\x1b", "4": b"\x1c", "5": b"\x1d", "7": b"\x1f", "8": b"\x7f"}


def _check(res: int, what: str) -> None:
    if res != lib.GHOSTTY_SUCCESS:
        raise RuntimeError(f"libghostty-vt {what} failed ({res})")


class Emulator:
    """An xterm-compatible screen: feed it the remote's bytes, read back rows, cursor, modes.

    ``on_reply(bytes)`` receives what the terminal answers the remote (device attributes, cursor
    position reports …) and must send it to the pty; it is called from inside :meth:`feed`, on
    whichever thread feeds.
    """

    def __init__(self, cols: int = 80, rows: int = 24, scrollback: int = 10_000,
                 on_reply: Callable[[bytes], None] | None = None,
                 foreground: RGB | None = None, background: RGB | None = None):
        self._lock = threading.RLock()
        self._term = Terminal(max(1, cols), max(1, rows), scrollback=scrollback, fg=foreground, bg=background)
        self._t = self._term._t[0]
        self.scrollback = scrollback
        self._limit_scrollback(max(1, cols))
        self._on_reply = on_reply
        self._term.on_reply(self._reply)
        self._title_changed = False
        self._title_cb = ffi.callback("GhosttyTerminalTitleChangedFn", self._title_cb_fn)
        _check(lib.ghostty_terminal_set(self._t, lib.GHOSTTY_TERMINAL_OPT_TITLE_CHANGED, self._title_cb),
               "set title callback")
        self._pwd_changed = False
        self._pwd_cb = ffi.callback("GhosttyTerminalPwdChangedFn", self._pwd_cb_fn)
        _check(lib.ghostty_terminal_set(self._t, lib.GHOSTTY_TERMINAL_OPT_PWD_CHANGED, self._pwd_cb),
               "set pwd callback")
        # render state, row iterator and row cells are reused for every frame
        self._rs = ffi.new("GhosttyRenderState*")
        _check(lib.ghostty_render_state_new(ffi.NULL, self._rs), "render_state_new")
        self._rows_it = ffi.new("GhosttyRenderStateRowIterator*")
        _check(lib.ghostty_render_state_row_iterator_new(ffi.NULL, self._rows_it), "row_iterator_new")
        self._cells = ffi.new("GhosttyRenderStateRowCells*")
        _check(lib.ghostty_render_state_row_cells_new(ffi.NULL, self._cells), "row_cells_new")
        self._enc = ffi.new("GhosttyKeyEncoder*")
        _check(lib.ghostty_key_encoder_new(ffi.NULL, self._enc), "key_encoder_new")
        self._ev = ffi.new("GhosttyKeyEvent*")
        _check(lib.ghostty_key_event_new(ffi.NULL, self._ev), "key_event_new")
        self._menc = ffi.new("GhosttyMouseEncoder*")
        _check(lib.ghostty_mouse_encoder_new(ffi.NULL, self._menc), "mouse_encoder_new")
        self._mev = ffi.new("GhosttyMouseEvent*")
        _check(lib.ghostty_mouse_event_new(ffi.NULL, self._mev), "mouse_event_new")
        # scratch outputs
        self._u16 = ffi.new("uint16_t*")
        self._bool = ffi.new("bool*")
        self._size = ffi.new("size_t*")
        self._view = ffi.new("GhosttyCellsView*")
        self._style = ffi.new("GhosttyStyle*")
        self._style.size = ffi.sizeof("GhosttyStyle")
        self._colors = ffi.new("GhosttyRenderStateColors*")
        self._colors.size = ffi.sizeof("GhosttyRenderStateColors")
        self._cursor = ffi.new("GhosttyRenderStateCursor*")
        self._cursor.size = ffi.sizeof("GhosttyRenderStateCursor")
        self._dirty = ffi.new("GhosttyRenderStateDirty*")
        self._utf8 = ffi.new("GhosttyBuffer*")
        self._utf8_buf = ffi.new("uint8_t[]", 256)
        self._palette: list[RGB] = []
        self._closed = False
        #: bold text in one of the 8 basic colours is drawn in its bright twin, as xterm does by
        #: default (ls --color, many prompts and vim schemes count on it)
        self.bold_is_bright = True

    def _limit_scrollback(self, cols: int) -> None:
        """Keep at least ``scrollback`` lines, limited by bytes (sized for ``cols``), not by lines.

        pyghostty's ``scrollback=`` sets the line limit and leaves the byte limit at 10,000 bytes,
        which keeps only a page (~400 lines). And when the line limit is the one that binds, the
        library trims line by line and parses ~75 MB/s instead of 400–700 (measured with 10,000
        lines kept: a 20 MB ``cat`` took 0.6 s in the emulator alone). So the byte limit binds:
        a row takes ~9.5 bytes per column (measured at 40–500 columns), plus a page of margin
        because the library trims a page at a time; the line limit is set out of the way.
        """
        keep = self.scrollback + 1024
        limits = ((lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_BYTES, keep * (10 * cols + 64)),
                  (lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_LINES, keep * 16))
        for opt, value in limits:
            _check(lib.ghostty_terminal_set(self._t, opt, ffi.new("size_t*", value)), "set scrollback")

    # -- callbacks from the library (on the feeding thread) ---------------------------------
    def _reply(self, data: bytes) -> None:
        if self._on_reply is not None:
            self._on_reply(data)

    def _title_cb_fn(self, _terminal, _userdata) -> None:
        self._title_changed = True

    def _pwd_cb_fn(self, _terminal, _userdata) -> None:
        self._pwd_changed = True

    # -- input from the remote -----------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            if not self._closed:
                self._term.feed(data)

    def resize(self, cols: int, rows: int, cell_width_px: int = 8, cell_height_px: int = 16) -> None:
        cols, rows = max(1, min(int(cols), 4096)), max(1, min(int(rows), 2048))
        with self._lock:
            if (cols, rows) != self._term.size:
                # wider rows take more bytes: room for both widths while the library reflows
                self._limit_scrollback(max(cols, self._term.size[0]))
                self._term.resize(cols, rows, max(1, cell_width_px), max(1, cell_height_px))
                self._limit_scrollback(cols)

    # -- state ------------------------------------------------------------------------------
    @property
    def cols(self) -> int:
        with self._lock:
            return self._term.size[0]

    @property
    def rows(self) -> int:
        with self._lock:
            return self._term.size[1]

    @property
    def cursor(self) -> tuple[int, int]:
        """Cursor (x, y) on the active screen (not the scrolled viewport)."""
        with self._lock:
            return self._term.cursor

    @property
    def cursor_visible(self) -> bool:
        with self._lock:
            return self._term.mode(25)

    def _text(self, data: int, errors: str = "replace") -> str:
        """A string the terminal keeps (its title, its folder), "" when it has none."""
        with self._lock:
            s = ffi.new("GhosttyString*")
            if lib.ghostty_terminal_get(self._t, data, s) != lib.GHOSTTY_SUCCESS:
                return ""
            return ffi.buffer(s.ptr, s.len)[:].decode("utf-8", errors) if s.len else ""

    @property
    def title(self) -> str:
        return self._text(lib.GHOSTTY_TERMINAL_DATA_TITLE)

    @property
    def pwd(self) -> str:
        """The folder the shell last reported (OSC 7), as it sent it: ``file://host/path``, "" if none."""
        return self._text(lib.GHOSTTY_TERMINAL_DATA_PWD, "surrogateescape")

    @property
    def alternate_screen(self) -> bool:
        with self._lock:
            return self._term.get("active_screen", "GhosttyTerminalScreen") == lib.GHOSTTY_TERMINAL_SCREEN_ALTERNATE

    @property
    def application_cursor(self) -> bool:
        with self._lock:
            return self._term.mode(1)

    @property
    def bracketed_paste(self) -> bool:
        with self._lock:
            return self._term.mode(2004)

    @property
    def mouse_tracking(self) -> bool:
        with self._lock:
            return bool(self._term.get("mouse_tracking", "bool"))

    def mode(self, n: int, ansi: bool = False) -> bool:
        with self._lock:
            return self._term.mode(n, ansi)

    # -- scrollback -----------------------------------------------------------------------
    @property
    def scrollback_rows(self) -> int:
        """Lines kept above the active screen."""
        with self._lock:
            return int(self._term.get("scrollback_rows", "size_t"))

    def scrollbar(self) -> tuple[int, int, int]:
        """(total rows, first row in view, rows in view)."""
        with self._lock:
            sb = ffi.new("GhosttyTerminalScrollbar*")
            _check(lib.ghostty_terminal_get(self._t, lib.GHOSTTY_TERMINAL_DATA_SCROLLBAR, sb), "scrollbar")
            return int(sb.total), int(sb.offset), int(sb.len)

    @property
    def at_bottom(self) -> bool:
        with self._lock:
            return bool(self._term.get("viewport_active", "bool"))

    def scroll(self, delta: int) -> None:
        """Move the viewport by ``delta`` rows (negative: back into the scrollback)."""
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_DELTA, int(delta))

    def scroll_to_bottom(self) -> None:
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_BOTTOM, 0)

    def scroll_to_top(self) -> None:
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_TOP, 0)

    def scroll_to_row(self, row: int) -> None:
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_ROW, max(0, int(row)))

    def _scroll(self, tag: int, value: int) -> None:
        arg = ffi.new("GridclientScrollViewportS*")
        arg.tag, arg.value.delta = tag, value
        with self._lock:
            _scroll_fn(self._t, arg[0])

    # -- text for selection, copy and tests -------------------------------------------------
    def text(self) -> str:
        """The visible active screen as text, one line per row, trailing blanks trimmed."""
        with self._lock:
            return self._term.text()

    def viewport_text(self) -> str:
        """What is in view right now (differs from :meth:`text` when scrolled back)."""
        with self._lock:
            cols, rows = self._term.size
            sel = ffi.new("GhosttySelection*")
            sel.size = ffi.sizeof("GhosttySelection")
            sel.start = self._term.ref(0, 0, "viewport")[0]
            sel.end = self._term.ref(cols - 1, rows - 1, "viewport")[0]
            return self._term._format_sel(sel)

    def lines(self) -> list[str]:
        text = self.text()
        lines = text.split("\n")
        return lines + [""] * (self.rows - len(lines))

    def contents(self) -> str:
        """Everything: scrollback and screen, soft wraps joined."""
        with self._lock:
            return self._term.contents()

    def cell(self, x: int, y: int, where: str = "active") -> Cell:
        """The cell at (x, y) in ``where``: active | viewport | screen | history."""
        with self._lock:
            st = self._term.style(x, y, where)
            ref = self._term.ref(x, y, where)
            n = ffi.new("size_t*")
            buf = ffi.new("uint32_t[]", 16)
            res = lib.ghostty_grid_ref_graphemes(ref, buf, 16, n)
            char = "".join(chr(buf[i]) for i in range(n[0])) if res == lib.GHOSTTY_SUCCESS else ""
            return Cell(char, st["fg"], st["bg"], st["bold"], st["italic"], st["faint"], st["underline"],
                        st["inverse"], st["invisible"], st["strikethrough"])

    def selection_text(self, start: tuple[int, int], end: tuple[int, int], rectangle: bool = False) -> str:
        """Text between two (x, y) points in screen coordinates (scrollback row 0 is y 0), inclusive."""
        with self._lock:
            total = self.scrollbar()[0]
            cols = self._term.size[0]
            (x0, y0), (x1, y1) = sorted([start, end], key=lambda p: (p[1], p[0]))
            y0, y1 = max(0, min(y0, total - 1)), max(0, min(y1, total - 1))
            x0, x1 = max(0, min(x0, cols - 1)), max(0, min(x1, cols - 1))
            sel = ffi.new("GhosttySelection*")
            sel.size = ffi.sizeof("GhosttySelection")
            sel.start = self._term.ref(x0, y0, "screen")[0]
            sel.end = self._term.ref(x1, y1, "screen")[0]
            sel.rectangle = rectangle
            return self._term._format_sel(sel, unwrap=True)

    # -- output to the remote ---------------------------------------------------------------
    def encode_key(self, key: str, mods: int = 0, text: str = "", unshifted: str = "",
                   action: str = "press") -> bytes:
        """Bytes for a key event: ``key`` is a name from :data:`KEYS` ("arrow_up", "f1", "c", …)
        or "" for plain text; ``mods`` ORs SHIFT/CTRL/ALT/SUPER; ``text`` is what the key types."""
        code = KEYS.get(key.lower(), lib.GHOSTTY_KEY_UNIDENTIFIED) if key else lib.GHOSTTY_KEY_UNIDENTIFIED
        raw = text.encode("utf-8")
        with self._lock:
            enc, ev = self._enc[0], self._ev[0]
            lib.ghostty_key_encoder_setopt_from_terminal(enc, self._t)
            lib.ghostty_key_event_set_action(ev, {"press": lib.GHOSTTY_KEY_ACTION_PRESS,
                                                  "repeat": lib.GHOSTTY_KEY_ACTION_REPEAT,
                                                  "release": lib.GHOSTTY_KEY_ACTION_RELEASE}[action])
            lib.ghostty_key_event_set_key(ev, code)
            lib.ghostty_key_event_set_mods(ev, mods)
            lib.ghostty_key_event_set_consumed_mods(ev, SHIFT if (mods & SHIFT and text) else 0)
            lib.ghostty_key_event_set_utf8(ev, raw, len(raw))
            base = unshifted or (text.lower() if len(text) == 1 else "")
            lib.ghostty_key_event_set_unshifted_codepoint(ev, ord(base) if len(base) == 1 else 0)
            out = ffi.new("char[]", 128)
            _check(lib.ghostty_key_encoder_encode(enc, ev, out, 128, self._size), "key encode")
            result = ffi.buffer(out, self._size[0])[:]
            kitty = self._term.get("kitty_keyboard_flags", "uint8_t")
        if mods & CTRL and not kitty and (not result or (result.startswith(b"\x1b[") and result.endswith(b"u"))):
            legacy = _CTRL_PUNCT.get(unshifted or text or "")
            if legacy is not None:
                result = (b"\x1b" if mods & ALT else b"") + legacy
        return result

    def encode_mouse(self, action: str, button: int | None, x: float, y: float, *, mods: int = 0,
                     screen: tuple[int, int] = (0, 0), cell: tuple[int, int] = (8, 16),
                     any_pressed: bool = False) -> bytes:
        """Bytes reporting a mouse event to the remote, in the mode and format it asked for
        (b"" when it asked for none). ``action``: press | release | motion; ``button`` 1 left,
        2 right, 3 middle, 4/5 wheel up/down, None for motion without a button; ``x``/``y`` in
        pixels from the grid's top-left corner, ``screen`` the grid's size in pixels."""
        with self._lock:
            enc, ev = self._menc[0], self._mev[0]
            lib.ghostty_mouse_encoder_setopt_from_terminal(enc, self._t)
            size = ffi.new("GhosttyMouseEncoderSize*")
            size.size = ffi.sizeof("GhosttyMouseEncoderSize")
            cols, rows = self._term.size
            size.cell_width, size.cell_height = max(1, cell[0]), max(1, cell[1])
            size.screen_width = screen[0] or cols * size.cell_width
            size.screen_height = screen[1] or rows * size.cell_height
            lib.ghostty_mouse_encoder_setopt(enc, lib.GHOSTTY_MOUSE_ENCODER_OPT_SIZE, size)
            lib.ghostty_mouse_encoder_setopt(enc, lib.GHOSTTY_MOUSE_ENCODER_OPT_ANY_BUTTON_PRESSED,
                                             ffi.new("bool*", any_pressed))
            lib.ghostty_mouse_event_set_action(ev, {"press": lib.GHOSTTY_MOUSE_ACTION_PRESS,
                                                    "release": lib.GHOSTTY_MOUSE_ACTION_RELEASE,
                                                    "motion": lib.GHOSTTY_MOUSE_ACTION_MOTION}[action])
            if button:
                lib.ghostty_mouse_event_set_button(ev, button)
            else:
                lib.ghostty_mouse_event_clear_button(ev)
            lib.ghostty_mouse_event_set_mods(ev, mods)
            pos = ffi.new("GhosttyMousePosition*")
            pos.x, pos.y = x, y
            lib.ghostty_mouse_event_set_position(ev, pos[0])
            out = ffi.new("char[]", 64)
            if lib.ghostty_mouse_encoder_encode(enc, ev, out, 64, self._size) != lib.GHOSTTY_SUCCESS:
                return b""
            return ffi.buffer(out, self._size[0])[:]

    def encode_paste(self, text: str) -> bytes:
        """Bytes for pasting ``text``: bracketed when the remote asked for it (mode 2004)."""
        raw = text.encode("utf-8")
        with self._lock:
            bracketed = self._term.mode(2004)
        data = ffi.new("char[]", raw)
        size = len(raw) * 2 + 32
        buf = ffi.new("char[]", size)
        n = ffi.new("size_t*")
        _check(lib.ghostty_paste_encode(data, len(raw), bracketed, buf, size, n), "paste encode")
        return ffi.buffer(buf, n[0])[:]

    # -- rendering --------------------------------------------------------------------------
    def render(self, force_full: bool = False) -> Frame:
        """Snapshot what changed since the last call (all rows when ``force_full``) and mark it clean.

        The terminal lock is held only for the snapshot; reading the rows runs without it.
        """
        rs = self._rs[0]
        with self._lock:
            if self._closed:
                return Frame(False, {}, 0, 0, None, "block", (255, 255, 255), (0, 0, 0), None, (0, 0, 0))
            _check(lib.ghostty_render_state_begin_update(rs, self._t), "render update")
            scroll = self.scrollbar()
            title = None
            if self._title_changed:
                self._title_changed = False
                title = self.title
            pwd = None
            if self._pwd_changed:
                self._pwd_changed = False
                pwd = self.pwd
        _check(lib.ghostty_render_state_end_update(rs), "render end update")
        _check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_DIRTY, self._dirty), "dirty")
        dirty = self._dirty[0]
        full = force_full or dirty == lib.GHOSTTY_RENDER_STATE_DIRTY_FULL
        _check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_COLORS, self._colors), "colors")
        c = self._colors
        if full or not self._palette:
            self._palette = [(p.r, p.g, p.b) for p in c.palette]
        fg, bg = (c.foreground.r, c.foreground.g, c.foreground.b), (c.background.r, c.background.g, c.background.b)
        lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_COLS, self._u16)
        cols = self._u16[0]
        lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_ROWS, self._u16)
        nrows = self._u16[0]
        rows: dict[int, list[Run]] = {}
        if full or dirty != lib.GHOSTTY_RENDER_STATE_DIRTY_FALSE:
            it = self._rows_it[0]
            _check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR, self._rows_it),
                   "row iterator")
            y = 0
            while lib.ghostty_render_state_row_iterator_next(it):
                if full:
                    rows[y] = self._read_row(it)
                else:
                    lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_DIRTY, self._bool)
                    if self._bool[0]:
                        rows[y] = self._read_row(it)
                y += 1
        _check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_CURSOR, self._cursor), "cursor")
        cur = self._cursor
        cursor = (cur.viewport_x, cur.viewport_y) if cur.visible and cur.viewport_has_value else None
        lib.ghostty_render_state_clean(rs)
        return Frame(full, rows, cols, nrows, cursor, _CURSOR_STYLES.get(cur.visual_style, "block"),
                     fg, bg, title, scroll, bool(cur.blinking), pwd)

    def _color(self, c) -> RGB | None:
        if c.tag == lib.GHOSTTY_STYLE_COLOR_PALETTE:
            return self._palette[c.value.palette]
        if c.tag == lib.GHOSTTY_STYLE_COLOR_RGB:
            v = c.value.rgb
            return (v.r, v.g, v.b)
        return None

    def _read_row(self, it) -> list[Run]:
        """One row as runs of equal look. Raw cells come in one call; styles once per style id."""
        _check(lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS_RAW, self._view),
               "row cells raw")
        n = self._view.len
        if n == 0:
            return []
        raw = ffi.buffer(self._view.ptr, n * 8)
        words = memoryview(raw).cast("Q").tolist()
        if max(words) < _PLAIN_LIMIT:  # fast path: unstyled narrow code points only (most output)
            text = "".join(map(chr, [w >> _CONTENT_SHIFT for w in words])).replace("\x00", " ")
            return [Run(0, text, PLAIN, n)]
        cells_ready = False
        styles: dict[int, Attr] = {0: PLAIN}
        runs: list[Run] = []
        run_x, run_chars, run_attr = 0, [], PLAIN
        palette = self._palette
        for x, w in enumerate(words):
            tag = (w >> _TAG_SHIFT) & _TAG_MASK
            wide = (w >> _WIDE_SHIFT) & _WIDE_MASK
            if wide == _SPACER_TAIL:
                continue
            sid = (w >> _STYLE_SHIFT) & _STYLE_MASK
            attr = styles.get(sid)
            if attr is None:
                if not cells_ready:
                    lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS, self._cells)
                    cells_ready = True
                attr = self._style_at(x)
                styles[sid] = attr
            content = (w >> _CONTENT_SHIFT)
            if tag == _TAG_CP:
                cp = content & _CP_MASK
                ch = chr(cp) if cp else " "
            elif tag == _TAG_GRAPHEME:
                if not cells_ready:
                    lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS, self._cells)
                    cells_ready = True
                ch = self._grapheme_at(x) or chr(content & _CP_MASK)
            else:  # a blank cell that only carries a background colour
                ch = " "
                if tag == _TAG_BG_PALETTE:
                    attr = attr._replace(bg=palette[content & 0xFF])
                else:
                    attr = attr._replace(bg=(content & 0xFF, (content >> 8) & 0xFF, (content >> 16) & 0xFF))
            if wide == _WIDE:
                if run_chars:
                    runs.append(Run(run_x, "".join(run_chars), run_attr, len(run_chars)))
                runs.append(Run(x, ch, attr, 2))
                run_x, run_chars, run_attr = x + 2, [], attr
                continue
            if wide == _SPACER_HEAD:
                ch = " "
            if attr is not run_attr and attr != run_attr:
                if run_chars:
                    runs.append(Run(run_x, "".join(run_chars), run_attr, len(run_chars)))
                run_x, run_chars, run_attr = x, [], attr
            run_chars.append(ch)
        if run_chars:
            runs.append(Run(run_x, "".join(run_chars), run_attr, len(run_chars)))
        return runs

    def _style_at(self, x: int) -> Attr:
        cells = self._cells[0]
        lib.ghostty_render_state_row_cells_select(cells, x)
        st = self._style
        if lib.ghostty_render_state_row_cells_get(cells, lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_STYLE, st):
            return PLAIN
        fg = self._color(st.fg_color)
        if (st.bold and self.bold_is_bright and st.fg_color.tag == lib.GHOSTTY_STYLE_COLOR_PALETTE
                and st.fg_color.value.palette < 8):
            fg = self._palette[st.fg_color.value.palette + 8]
        return Attr(fg, self._color(st.bg_color), bool(st.bold), bool(st.italic),
                    bool(st.faint), int(st.underline), bool(st.inverse), bool(st.invisible),
                    bool(st.strikethrough), bool(st.overline))

    def _grapheme_at(self, x: int) -> str:
        cells = self._cells[0]
        lib.ghostty_render_state_row_cells_select(cells, x)
        b = self._utf8
        b.ptr, b.cap, b.len = self._utf8_buf, 256, 0
        if lib.ghostty_render_state_row_cells_get(cells, lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_GRAPHEMES_UTF8, b):
            return ""
        return ffi.buffer(self._utf8_buf, b.len)[:].decode("utf-8", "replace")

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            lib.ghostty_key_event_free(self._ev[0])
            lib.ghostty_mouse_event_free(self._mev[0])
            lib.ghostty_mouse_encoder_free(self._menc[0])
            lib.ghostty_key_encoder_free(self._enc[0])
            lib.ghostty_render_state_row_cells_free(self._cells[0])
            lib.ghostty_render_state_row_iterator_free(self._rows_it[0])
            lib.ghostty_render_state_free(self._rs[0])
            self._term.close()
