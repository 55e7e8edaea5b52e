"""Icons from the packaged resources/icons/*.svg.

Tree rows get :func:`row_icon`: the icon plus a Selected-mode variant with a light outline (our
blue drawings vanished into the blue of a selected row). Windows, menus and buttons never draw an
icon on the selection's blue, so they get the plain :func:`icon`, which renders nothing until it
is painted: the outline renders each icon at two sizes when it is made, a cost start-up paid for
every menu entry.
"""

from __future__ import annotations

import os

from PySide6.QtGui import QIcon

FALLBACK = {"instance-": "instance"}

_plain: dict[str, QIcon] = {}
_rows: dict[str, QIcon] = {}


def loaded_icon(name: str) -> QIcon | None:
    """The row icon if the GUI thread has made it already, else None; for worker threads.

    A QIcon is made on the GUI thread only; copying a made one is safe from any thread (it is
    implicitly shared, with an atomic reference count).
    """
    return _rows.get(name)


def row_icon(name: str) -> QIcon:
    """The named icon for a tree row, with its outline on a selected row (GUI thread)."""
    found = _rows.get(name)
    if found is None:
        found = _rows[name] = _with_selected_halo(icon(name))
    return found


def icon(name: str) -> QIcon:
    """The named icon for a window, a menu or a button (GUI thread)."""
    found = _plain.get(name)
    if found is None:
        found = _plain[name] = _make(name)
    return found


def _icon_folder() -> str | None:
    """resources/icons, beside the package's own file (a plain directory in every install we make:
    importlib.resources' traversal cost start-up ~3 ms for the same answer)."""
    try:
        import resources
    except ImportError:  # resources missing: no icons, still a working tree
        return None
    return os.path.join(os.path.dirname(resources.__file__), "icons")


def _make(name: str) -> QIcon:
    folder = _icon_folder() if name else None
    if folder is None:
        return QIcon()
    path = os.path.join(folder, f"{name}.svg")
    if not os.path.isfile(path):
        for prefix, fallback in FALLBACK.items():
            if name.startswith(prefix):
                path = os.path.join(folder, f"{fallback}.svg")
                break
    return QIcon(path) if os.path.isfile(path) else QIcon()


def _with_selected_halo(base: QIcon) -> QIcon:
    """The icon plus a Selected-mode variant with a 1 px light outline.

    Our icons are drawn in the blue of the selection highlight; on a selected row they vanished
    into it. The outline keeps their shape readable there; unselected rows are unchanged.
    """
    if base.isNull():
        return base
    from PySide6.QtCore import QPoint, QSize
    from PySide6.QtGui import QColor, QPainter, QPixmap

    icon_ = QIcon(base)
    for side in (16, 32):
        pm = base.pixmap(QSize(side, side))
        if pm.isNull():
            continue
        halo = QPixmap(pm.size())
        halo.fill(QColor(0, 0, 0, 0))
        white = QPixmap(pm.size())
        white.fill(QColor(255, 255, 255, 0))
        p = QPainter(white)
        p.drawPixmap(0, 0, pm)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        p.fillRect(white.rect(), QColor(255, 255, 255, 235))
        p.end()
        p = QPainter(halo)
        step = max(1, side // 16)
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)):
            p.drawPixmap(QPoint(dx * step, dy * step), white)
        p.drawPixmap(0, 0, pm)
        p.end()
        icon_.addPixmap(halo, QIcon.Mode.Selected)
    return icon_
