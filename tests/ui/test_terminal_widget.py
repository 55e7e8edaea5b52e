"""The terminal widget fed bytes directly: what lands in the emulated cells, what keys send,
scrollback, alternate screen, paste, title and resize — checked on the widget's own screen."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from ui.terminal.widget import TerminalWidget


class RecordingBackend:
    """What a session would receive: bytes written, sizes asked for — and whether anything closed
    it, which the widget must never do (the session belongs to its tab)."""

    def __init__(self):
        self.written: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.closed = False
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self.written.append(data)

    def resize(self, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        with self._lock:
            data, self.written = b"".join(self.written), []
        return data


@pytest.fixture
def backend():
    return RecordingBackend()


@pytest.fixture
def term(qtbot, backend):
    w = TerminalWidget(backend=backend)
    qtbot.addWidget(w)
    w.resize(820, 480)
    w.show()
    qtbot.waitExposed(w)
    w.setFocus()
    backend.take()
    return w


def press(qtbot, w, key, mods=Qt.KeyboardModifier.NoModifier, text=None):
    if text is None:
        qtbot.keyClick(w, key, mods)
    else:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        QGuiApplication.sendEvent(w, QKeyEvent(QEvent.Type.KeyPress, key, mods, text))


def test_colours_bold_reverse_land_in_cells_and_on_screen(term):
    term.feed(b"ab\x1b[1;31mRED\x1b[0m \x1b[7mrev\x1b[0m \x1b[4;38;5;208mU\x1b[0m "
              b"\x1b[38;2;10;20;30;48;2;200;100;50mT\x1b[0m\r\n")
    assert term.lines()[0] == "abRED rev U T"
    red = term.cell(2, 0)
    assert (red.char, red.bold, red.fg) == ("R", True, ("palette", 1))
    assert not term.cell(0, 0).bold and term.cell(0, 0).fg is None
    rev = term.cell(6, 0)
    assert rev.char == "r" and rev.reverse and not rev.bold
    under = term.cell(10, 0)
    assert under.underline and under.fg == ("palette", 208)
    true = term.cell(12, 0)
    assert true.fg == ("rgb", (10, 20, 30)) and true.bg == ("rgb", (200, 100, 50))

    # and the painted screen shows them: the true-colour cell's background, the reverse cell's
    # background in the default foreground colour
    image = term.grab().toImage()
    cw = term.cell_size().width()
    assert image.pixelColor(12 * cw + 1, 1) == QColor(200, 100, 50)
    assert image.pixelColor(7 * cw + 1, 1) == QColor(*term._fg)
    assert image.pixelColor(30 * cw, 1) == QColor(*term._bg)


def test_alternate_screen_restores_the_old_screen(term):
    term.feed(b"$ first line\r\n$ second line\r\n$ ")
    before = term.text()
    term.feed(b"\x1b[?1049h\x1b[H\x1b[2Jfull screen program\r\nmore")
    assert term.emulator.alternate_screen
    assert "full screen program" in term.text() and "first line" not in term.text()
    term.feed(b"\x1b[?1049l")
    assert not term.emulator.alternate_screen
    assert term.text() == before
    assert "full screen program" not in term.text()


def test_scrollback_keeps_over_ten_thousand_lines_and_shift_pgup_scrolls(qtbot, term, backend):
    term.feed(b"".join(b"line %05d\r\n" % i for i in range(12_000)))
    assert term.emulator.scrollback_rows >= 10_000
    # the oldest of the last 10,000 lines is still there
    assert "line 01990" in term.emulator.contents()
    total, first, length = term.scroll_position
    assert first == total - length  # at the bottom
    bottom_view = term.visible_text()
    press(qtbot, term, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ShiftModifier)
    total2, first2, _ = term.scroll_position
    assert first2 == first - (term.rows - 1)
    assert term.visible_text() != bottom_view
    assert f"line {11_999 - (term.rows - 1) - (term.rows - 2):05d}" in term.visible_text()
    press(qtbot, term, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ShiftModifier)
    assert term.scroll_position[1] == first
    assert backend.take() == b""  # scrolling is local, nothing went to the remote
    # the wheel scrolls back too, and typing returns to the bottom
    term.scroll_lines(-50)
    assert term.scroll_position[1] == first - 50
    press(qtbot, term, Qt.Key.Key_A, text="a")
    term.flush()
    assert term.scroll_position[1] == term.scroll_position[0] - term.scroll_position[2]
    assert backend.take() == b"a"


def test_arrows_in_normal_and_application_cursor_mode(qtbot, term, backend):
    keys = [(Qt.Key.Key_Up, "A"), (Qt.Key.Key_Down, "B"), (Qt.Key.Key_Right, "C"), (Qt.Key.Key_Left, "D")]
    for key, final in keys:
        press(qtbot, term, key)
        assert backend.take() == b"\x1b[" + final.encode()
    term.feed(b"\x1b[?1h")  # what vim and less send: DECCKM on
    assert term.emulator.application_cursor
    for key, final in keys:
        press(qtbot, term, key)
        assert backend.take() == b"\x1bO" + final.encode()
    term.feed(b"\x1b[?1l")
    press(qtbot, term, Qt.Key.Key_Up)
    assert backend.take() == b"\x1b[A"


def test_function_and_editing_keys(qtbot, term, backend):
    expected = [b"\x1bOP", b"\x1bOQ", b"\x1bOR", b"\x1bOS", b"\x1b[15~", b"\x1b[17~", b"\x1b[18~",
                b"\x1b[19~", b"\x1b[20~", b"\x1b[21~", b"\x1b[23~", b"\x1b[24~"]
    for i, want in enumerate(expected, start=1):
        press(qtbot, term, getattr(Qt.Key, f"Key_F{i}"))
        assert backend.take() == want, f"F{i}"
    for key, want in [(Qt.Key.Key_Home, b"\x1b[H"), (Qt.Key.Key_End, b"\x1b[F"), (Qt.Key.Key_PageUp, b"\x1b[5~"),
                      (Qt.Key.Key_PageDown, b"\x1b[6~"), (Qt.Key.Key_Insert, b"\x1b[2~"),
                      (Qt.Key.Key_Delete, b"\x1b[3~"), (Qt.Key.Key_Return, b"\r"), (Qt.Key.Key_Backspace, b"\x7f"),
                      (Qt.Key.Key_Escape, b"\x1b")]:
        press(qtbot, term, key)
        assert backend.take() == want, key


def test_ctrl_and_alt_combinations(qtbot, term, backend):
    press(qtbot, term, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier, text="\x03")
    assert backend.take() == b"\x03"
    press(qtbot, term, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert backend.take() == b"\x03"
    press(qtbot, term, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier, text="\x04")
    assert backend.take() == b"\x04"
    press(qtbot, term, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier, text="x")
    assert backend.take() == b"\x1bx"
    press(qtbot, term, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ControlModifier, text="\x1b")
    assert backend.take() == b"\x1b"
    press(qtbot, term, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert backend.take() == b"\x1b[1;5A"
    press(qtbot, term, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier, text="A")
    assert backend.take() == b"A"
    press(qtbot, term, Qt.Key.Key_unknown, text="é")
    assert backend.take() == "é".encode()


def test_tab_goes_to_the_terminal_not_to_the_next_widget(qtbot, backend):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    term = TerminalWidget(backend=backend)
    other = QLineEdit()
    layout.addWidget(term)
    layout.addWidget(other)
    host.resize(700, 500)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    term.setFocus()
    qtbot.waitUntil(term.hasFocus)
    backend.take()
    qtbot.keyClick(term, Qt.Key.Key_Tab)
    assert term.hasFocus()
    assert backend.take() == b"\t"
    qtbot.keyClick(term, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert term.hasFocus()
    assert backend.take() == b"\x1b[Z"


def test_paste_is_bracketed_only_when_the_remote_asks(qtbot, term, backend):
    QGuiApplication.clipboard().setText("echo one\necho two")
    press(qtbot, term, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    plain = backend.take()
    assert plain == b"echo one\recho two"
    term.feed(b"\x1b[?2004h")
    assert term.emulator.bracketed_paste
    press(qtbot, term, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert backend.take() == b"\x1b[200~echo one\necho two\x1b[201~"
    term.feed(b"\x1b[?2004l")
    term.paste_text("x")
    assert backend.take() == b"x"


def test_selection_and_copy(qtbot, term, backend):
    term.feed(b"first row here\r\nsecond row\r\n")
    first_row = term.scroll_position[1]
    term.select((6, first_row), (3, first_row + 1))
    press(qtbot, term, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text() == "row here\nsec"
    assert backend.take() == b""  # copying sends nothing
    # selecting with the mouse: drag over "second"
    cw, ch = term.cell_size().width(), term.cell_size().height()
    from PySide6.QtCore import QPoint

    qtbot.mousePress(term, Qt.MouseButton.LeftButton, pos=QPoint(0, ch + ch // 2))
    qtbot.mouseMove(term, QPoint(6 * cw, ch + ch // 2))
    qtbot.mouseRelease(term, Qt.MouseButton.LeftButton, pos=QPoint(6 * cw, ch + ch // 2))
    assert term.selected_text() == "second"


def test_osc_0_and_2_set_the_title(qtbot, term):
    with qtbot.waitSignal(term.titleChanged) as blocker:
        term.feed(b"\x1b]2;user@host: ~/src\x07")
    assert blocker.args == ["user@host: ~/src"]
    assert term.title == "user@host: ~/src"
    with qtbot.waitSignal(term.titleChanged) as blocker:
        term.feed(b"\x1b]0;vim notes.txt\x1b\\")
    assert blocker.args == ["vim notes.txt"]


def test_resize_changes_grid_and_tells_the_backend(qtbot, term, backend):
    cw, ch = term.cell_size().width(), term.cell_size().height()
    before = (term.cols, term.rows)
    with qtbot.waitSignal(term.gridSizeChanged) as blocker:
        term.resize(term.width() - 10 * cw, term.height() - 4 * ch)
    assert (term.cols, term.rows) == (before[0] - 10, before[1] - 4)
    assert backend.sizes[-1] == (term.cols, term.rows)
    assert blocker.args == [term.cols, term.rows]
    # the emulated screen wraps at the new width
    term.feed(b"x" * (term.cols + 3))
    assert term.lines()[0] == "x" * term.cols and term.lines()[1] == "xxx"


def test_device_attribute_queries_are_answered_to_the_remote(term, backend):
    term.feed(b"\x1b[c")
    assert backend.take().startswith(b"\x1b[?")
    term.feed(b"\x1b[3;5H\x1b[6n")
    assert backend.take() == b"\x1b[3;5R"


def test_reader_thread_flood_reaches_the_screen_and_keys_still_go_out(qtbot, term, backend):
    lines = [b"-rw-r--r-- 1 user group %8d Jan 01 12:00 file%06d.txt\r\n" % (i, i) for i in range(60_000)]
    blob = b"".join(lines)
    chunk = 32_768

    def reader():
        for i in range(0, len(blob), chunk):
            term.on_data(blob[i:i + chunk])

    thread = threading.Thread(target=reader)
    thread.start()
    press(qtbot, term, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert backend.take() == b"\x03"
    # the reader is held back while the GUI thread catches up, so keep the event loop running
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=60_000)
    qtbot.waitUntil(lambda: "file059999.txt" in term.visible_text())
    assert term.frames >= 1


_EMULATOR_AND_INTAKE = r"""
from ui.terminal.emulator import Emulator
from ui.terminal.intake import Intake

e = Emulator(10, 3)
e.feed(b"hi\r\nthere")
assert e.text() == "hi\nthere", e.text()
assert e.cursor == (5, 1)
assert e.encode_key("f5") == b"\x1b[15~"
wakes = []
intake = Intake(lambda: wakes.append(1))
intake.append(b"\x1b[2J\x1b[Hqueued")
intake.append(b" and drained")
assert wakes == [1]
assert intake.drain(e.feed) is False
assert e.text().startswith("queued and"), e.text()
e.close()
print("PySide6 imported:", any(m.split(".")[0] in ("PySide6", "shiboken6") for m in sys.modules))
"""


def test_emulator_and_intake_are_qt_free_and_standalone():
    from tests.qt_free import run_without_qt

    result = run_without_qt(_EMULATOR_AND_INTAKE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "PySide6 imported: False"


def test_shutdown_releases_a_waiting_reader_and_leaves_the_backend_open(qtbot, term, backend):
    from ui.terminal.intake import MAX_PENDING

    done = threading.Event()

    def reader():  # more than the intake holds, with no event loop running to drain it: it waits
        term.on_data(b"x" * (MAX_PENDING + 1))
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    assert not done.wait(0.3)
    term.shutdown()
    assert done.wait(5)
    thread.join(5)
    assert not backend.closed  # its owner closes it, not the widget
    press(qtbot, term, Qt.Key.Key_A, text="a")
    assert backend.take() == b""  # let go: typing goes nowhere
    term.on_data(b"late")  # a reader's last bytes after the shutdown are dropped, not queued
    assert term.intake.pending == 0


def test_mouse_goes_to_the_remote_only_when_it_asks(qtbot, term, backend):
    from PySide6.QtCore import QPoint

    cw, ch = term.cell_size().width(), term.cell_size().height()
    at = QPoint(4 * cw + 2, 2 * ch + 2)  # column 5, row 3 in the remote's 1-based terms
    qtbot.mouseClick(term, Qt.MouseButton.LeftButton, pos=at)
    assert backend.take() == b""  # a plain shell: clicks select locally
    term.feed(b"\x1b[?1000h\x1b[?1006h")  # what vim with mouse=a or htop send
    qtbot.mouseClick(term, Qt.MouseButton.LeftButton, pos=at)
    assert backend.take() == b"\x1b[<0;5;3M\x1b[<0;5;3m"
    # Shift keeps the local selection even then
    qtbot.mouseClick(term, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=at)
    assert backend.take() == b""


def hover(w, x: int, y: int) -> None:
    """A mouse move with no button and no modifier (QTest's mouseMove repeats the modifiers of the
    last click, which a test before may have made with Shift)."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    pos = QPointF(x, y)
    QGuiApplication.sendEvent(w, QMouseEvent(QEvent.Type.MouseMove, pos, w.mapToGlobal(pos), Qt.MouseButton.NoButton,
                                             Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def test_hover_is_reported_only_in_any_motion_mode(qtbot, term, backend):
    cw, ch = term.cell_size().width(), term.cell_size().height()
    term.feed(b"\x1b[?1000h\x1b[?1006h")  # clicks only: a hover says nothing
    hover(term, 2 * cw + 2, ch + 2)
    hover(term, 3 * cw + 2, ch + 2)
    assert backend.take() == b""
    term.feed(b"\x1b[?1003h")  # any motion (what htop, tmux and vim's 'mousemoveevent' ask for)
    hover(term, 6 * cw + 2, 2 * ch + 2)
    sent = backend.take()
    assert sent == b"\x1b[<35;7;3M", sent  # motion (32) + no button (3), column 7, row 3
    hover(term, 6 * cw + 4, 2 * ch + 4)  # the same cell: nothing new
    assert backend.take() == b""
    term.feed(b"\x1b[?1003l")
    hover(term, 9 * cw + 2, 2 * ch + 2)
    assert backend.take() == b""


def test_bold_basic_colours_are_drawn_bright(term):
    term.feed(b"\x1b[31mN\x1b[0m \x1b[1;31mB\x1b[0m \x1b[1;38;5;1mP\x1b[0m \x1b[1;91mH\x1b[0m\r\n")
    term.flush()
    runs = {run.text: run.attr for runs in term.emulator.render(force_full=True).rows.values() for run in runs}
    palette = term.emulator._palette
    assert runs["N"].fg == palette[1]  # plain red
    assert runs["B"].fg == palette[9]  # bold red is bright red
    assert runs["P"].fg == palette[9]  # also when named through the 256-colour index 1
    assert runs["H"].fg == palette[9]  # bright stays bright
    term.emulator.bold_is_bright = False
    term.feed(b"\x1b[2J\x1b[H\x1b[1;31mB\x1b[0m\r\n")
    runs = {run.text: run.attr for runs in term.emulator.render(force_full=True).rows.values() for run in runs}
    assert runs["B"].fg == palette[1]


def test_cursor_blinks_when_asked_and_only_with_focus(qtbot, term, backend):
    from PySide6.QtCore import QPoint

    term.feed(b"$ ")
    term.flush()
    assert not term.cursor_blinking  # steady by default
    cw, ch = term.cell_size().width(), term.cell_size().height()
    cursor_px = QPoint(2 * cw + cw // 2, ch // 2)
    steady = term.grab().toImage().pixelColor(cursor_px)
    term.feed(b"\x1b[1 q")  # DECSCUSR 1: blinking block
    term.flush()
    assert term.cursor_blinking
    # within two half-periods the cursor cell shows the background once (the "off" phase)
    seen_off = []
    qtbot.waitUntil(lambda: seen_off.append(term.grab().toImage().pixelColor(cursor_px) == QColor(*term._bg))
                    or any(seen_off), timeout=3000)
    assert steady != QColor(*term._bg)
    # typing shows it solid again at once
    press(qtbot, term, Qt.Key.Key_A, text="a")
    assert term._blink_on
    term.clearFocus()
    qtbot.waitUntil(lambda: not term.hasFocus(), timeout=2000)
    assert not term.cursor_blinking  # an unfocused terminal shows a steady hollow cursor
    term.setFocus()
    qtbot.waitUntil(lambda: term.cursor_blinking, timeout=2000)
    term.feed(b"\x1b[2 q")  # steady block
    term.flush()
    assert not term.cursor_blinking
