"""Icons from the packaged resources/icons/*.svg, looked up with importlib.resources."""

from __future__ import annotations

from importlib.resources import as_file, files

from PySide6.QtGui import QIcon

FALLBACK = {"instance-": "instance"}

_loaded: dict[str, QIcon] = {}


def loaded_icon(name: str) -> QIcon | None:
    """The icon if the GUI thread has made it already, else None; for worker threads.

    A QIcon is made on the GUI thread only; copying a made one is safe from any thread (it is
    implicitly shared, with an atomic reference count).
    """
    return _loaded.get(name)


def icon(name: str) -> QIcon:
    """The named icon (GUI thread)."""
    found = _loaded.get(name)
    if found is None:
        found = _loaded[name] = _make(name)
    return found


def _make(name: str) -> QIcon:
    if not name:
        return QIcon()
    try:
        folder = files("resources") / "icons"
        candidate = folder / f"{name}.svg"
        found = candidate.is_file()
    except (OSError, ModuleNotFoundError):  # resources missing: no icons, still a working tree
        return QIcon()
    if not found:
        for prefix, fallback in FALLBACK.items():
            if name.startswith(prefix):
                candidate = folder / f"{fallback}.svg"
                break
    if not candidate.is_file():
        return QIcon()
    with as_file(candidate) as path:
        made = QIcon(str(path))
    return _with_selected_halo(made)


def _with_selected_halo(base: QIcon) -> QIcon:
    """The icon plus a Selected-mode variant with a 1 px light outline.

    Our icons are drawn in the blue of the selection highlight; on a selected row they vanished
    into it. The outline keeps their shape readable there; unselected rows are unchanged.
    """
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
