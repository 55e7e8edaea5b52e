"""The terminal's keyboard: what a Qt key event means, before anything is sent or done.

:func:`interpret` turns a key press into either a :class:`KeyStroke` — what the emulator's key
encoder needs (key name, modifiers, text, unshifted character), which the emulator then encodes
for the remote's current modes (application cursor keys, Kitty protocol …) — or a
:class:`KeyCommand` the widget carries out itself (copy, paste, scrolling back), or None for a
key that does nothing alone (Shift, Ctrl …). :func:`claims_shortcut` says which keys the terminal
takes before the window's shortcuts see them. Nothing here holds state or touches the widget.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from ui.terminal.emulator import ALT, CTRL, SHIFT, SUPER

QT_KEYS: dict[int, str] = {
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
QT_KEYS.update({getattr(Qt.Key, f"Key_F{i}"): f"f{i}" for i in range(1, 25)})
QT_KEYS.update({getattr(Qt.Key, f"Key_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
QT_KEYS.update({getattr(Qt.Key, f"Key_{d}"): f"digit_{d}" for d in "0123456789"})
# what the key types without Shift, for Ctrl/Alt combinations whose text Qt reports as control chars
_UNSHIFTED = {"minus": "-", "equal": "=", "bracket_left": "[", "bracket_right": "]", "backslash": "\\",
              "semicolon": ";", "quote": "'", "backquote": "`", "comma": ",", "period": ".", "slash": "/",
              "space": " "}
_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
                  Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_ScrollLock, Qt.Key.Key_Super_L,
                  Qt.Key.Key_Super_R, Qt.Key.Key_Hyper_L, Qt.Key.Key_Hyper_R}
# keys whose control character Qt reports is the key itself, not a Ctrl+letter rendering
_OWN_CONTROL_CHAR = ("enter", "tab", "backspace", "escape")
_CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class KeyCommand(enum.Enum):
    """What a key asks of the terminal itself; nothing goes to the remote."""

    COPY = "copy"  # Ctrl+Shift+C
    PASTE = "paste"  # Ctrl+Shift+V, Shift+Insert
    PAGE_UP = "page_up"  # Shift+PgUp: a page back in the scrollback
    PAGE_DOWN = "page_down"
    TO_TOP = "to_top"  # Shift+Home: the oldest line kept
    TO_BOTTOM = "to_bottom"


class KeyStroke(NamedTuple):
    """A key for the remote, as :meth:`Emulator.encode_key` takes it."""

    name: str  # the encoder's key name ("arrow_up", "a", "digit_1" …), "" for a key it has no name for
    mods: int  # SHIFT | CTRL | ALT | SUPER
    text: str  # what the key types, "" when nothing
    unshifted: str  # the character the key types without Shift

    def encode(self, emulator) -> bytes:
        """The bytes to send (b"" for a key that types nothing and has no name)."""
        if not self.name and not self.text:
            return b""
        return emulator.encode_key(self.name, self.mods, self.text, self.unshifted)


def encoder_mods(m: Qt.KeyboardModifier) -> int:
    """Qt's modifiers as the emulator's encoders count them."""
    return ((SHIFT if m & Qt.KeyboardModifier.ShiftModifier else 0)
            | (CTRL if m & Qt.KeyboardModifier.ControlModifier else 0)
            | (ALT if m & Qt.KeyboardModifier.AltModifier else 0)
            | (SUPER if m & Qt.KeyboardModifier.MetaModifier else 0))


def claims_shortcut(event: QKeyEvent) -> bool:
    """Whether the terminal takes this key before the window's shortcuts (Ctrl+C, F5, Del … go to
    the remote); Ctrl+Shift+… stays the application's, except the terminal's copy and paste."""
    if (event.modifiers() & _CTRL_SHIFT) == _CTRL_SHIFT:
        return event.key() in (Qt.Key.Key_C, Qt.Key.Key_V)
    return True


def interpret(event: QKeyEvent, *, alternate_screen: bool) -> KeyCommand | KeyStroke | None:
    """What a key press means. Shift+Home/End scroll the scrollback only on the normal screen:
    full-screen programs (alternate screen) get those keys."""
    key = event.key()
    m = event.modifiers()
    shift = bool(m & Qt.KeyboardModifier.ShiftModifier)
    ctrl = bool(m & Qt.KeyboardModifier.ControlModifier)
    alt = bool(m & Qt.KeyboardModifier.AltModifier)
    if ctrl and shift and key == Qt.Key.Key_C:
        return KeyCommand.COPY
    if ctrl and shift and key == Qt.Key.Key_V or (shift and not ctrl and key == Qt.Key.Key_Insert):
        return KeyCommand.PASTE
    if shift and not ctrl and not alt:
        if key == Qt.Key.Key_PageUp:
            return KeyCommand.PAGE_UP
        if key == Qt.Key.Key_PageDown:
            return KeyCommand.PAGE_DOWN
        if key == Qt.Key.Key_Home and not alternate_screen:
            return KeyCommand.TO_TOP
        if key == Qt.Key.Key_End and not alternate_screen:
            return KeyCommand.TO_BOTTOM
    if key in _MODIFIER_KEYS:
        return None
    mods = encoder_mods(m)
    if key == Qt.Key.Key_Backtab:
        mods |= SHIFT
    name = QT_KEYS.get(key, "")
    unshifted = ""
    if len(name) == 1:
        unshifted = name
    elif name.startswith("digit_"):
        unshifted = name[-1]
    elif name in _UNSHIFTED:
        unshifted = _UNSHIFTED[name]
    text = event.text()
    if text and (ord(text[0]) < 0x20 or text == "\x7f"):
        # Qt's rendering of Ctrl+key as a control character: give the encoder the key's own
        # character; Enter, Tab, Backspace and Escape are encoded from their names
        text = "" if name in _OWN_CONTROL_CHAR else unshifted
    if not text and name == "space":
        text = " "
    return KeyStroke(name, mods, text, unshifted)
