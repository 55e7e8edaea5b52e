"""Icons stay readable on a selected row: our blue drawings get a light outline there."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon

from ui.icons import icon


def test_selected_rows_draw_the_icon_with_a_light_outline(qapp):
    ic = icon("instance-running")
    normal = ic.pixmap(QSize(16, 16), QIcon.Mode.Normal).toImage()
    selected = ic.pixmap(QSize(16, 16), QIcon.Mode.Selected).toImage()
    assert normal.size() == selected.size()

    def light(img) -> int:  # nearly white, nearly opaque pixels
        return sum(1 for y in range(img.height()) for x in range(img.width())
                   if (c := QColor.fromRgba(img.pixel(x, y))).alpha() > 200 and min(c.red(), c.green(), c.blue()) > 230)

    assert light(selected) > light(normal) + 10  # the outline
    # the drawing itself is unchanged inside: the centre pixel is the same colour
    assert selected.pixel(8, 4) == normal.pixel(8, 4)
