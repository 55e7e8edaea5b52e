"""Icons stay readable on a selected row: our blue drawings get a light outline there."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon

from ui.icons import icon, row_icon


def light(img) -> int:
    """Nearly white, nearly opaque pixels."""
    return sum(1 for y in range(img.height()) for x in range(img.width())
               if (c := QColor.fromRgba(img.pixel(x, y))).alpha() > 200 and min(c.red(), c.green(), c.blue()) > 230)


def test_selected_rows_draw_the_icon_with_a_light_outline(qapp):
    ic = row_icon("instance-running")
    normal = ic.pixmap(QSize(16, 16), QIcon.Mode.Normal).toImage()
    selected = ic.pixmap(QSize(16, 16), QIcon.Mode.Selected).toImage()
    assert normal.size() == selected.size()
    assert light(selected) > light(normal) + 10  # the outline
    # the drawing itself is unchanged inside: the centre pixel is the same colour
    assert selected.pixel(8, 4) == normal.pixel(8, 4)


def test_menus_and_buttons_get_the_plain_icon(qapp):
    plain = icon("instance-running")
    assert not plain.isNull()
    # no outline rendered for them: that is made for tree rows only
    outlined = row_icon("instance-running").pixmap(QSize(16, 16), QIcon.Mode.Selected).toImage()
    assert light(plain.pixmap(QSize(16, 16), QIcon.Mode.Selected).toImage()) + 10 < light(outlined)
    assert icon("no-such-icon").isNull() and row_icon("no-such-icon").isNull()
