"""Icons from the packaged resources/icons/*.svg, looked up with importlib.resources."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import as_file, files

from PySide6.QtGui import QIcon

FALLBACK = {"instance-": "instance"}


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
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
