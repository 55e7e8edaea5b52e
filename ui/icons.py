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
        return QIcon(str(path))
