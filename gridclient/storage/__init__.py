"""Storage: files and folders in any scheme (``file`` here, ``s3`` and more from providers), and the
transfer queue that moves them. Qt-free.

:class:`Storage` finds the scheme of a location: ``file`` is the core's own, the others are the
registry's ``StorageScheme`` contributions, made on first use with a way to get a VO's auth token.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridclient.storage.base import Entry, Integrity, Location, NotFound, Scheme, Stop, StorageError

_BASE = {"Entry", "Integrity", "Location", "NotFound", "Scheme", "Stop", "StorageError"}


def __getattr__(name: str):
    """The vocabulary of base.py, imported on first use: start-up imports this package for the
    built-in manifest only (its data classes cost ~3 ms)."""
    if name in _BASE:
        from gridclient.storage import base

        return getattr(base, name)
    raise AttributeError(f"module 'gridclient.storage' has no attribute {name!r}")


__all__ = ["Entry", "Integrity", "Location", "NotFound", "Scheme", "Stop", "Storage", "StorageError",
           "location_of_element"]


def location_of_element(element: Any, vo_id: str = "") -> "Location | None":
    """Where a tree element is stored, if it is a file or folder of some storage (its ``ref["uri"]``)."""
    uri = (getattr(element, "ref", None) or {}).get("uri")
    if not uri:
        return None
    from gridclient.storage.base import Location

    return Location.parse(uri, vo_id)  # the VO for remote schemes; a local path has none


class Storage:
    def __init__(self, registry: Any, token_for: Callable[[str], Any],
                 on_made: Callable[[str, "Scheme"], None] | None = None):
        """``on_made(name, scheme)``: called once for each scheme made here (the workbench tells
        the sftp scheme where host keys are kept and who answers its questions)."""
        from gridclient.storage.local import FileScheme

        self.registry = registry
        self.token_for = token_for
        self.on_made = on_made
        self._schemes: dict[str, "Scheme"] = {"file": FileScheme()}
        self._lock = threading.Lock()

    def scheme(self, name: str) -> "Scheme":
        with self._lock:
            s = self._schemes.get(name)
            if s is None:
                from gridclient.registry import resolve

                contribution = self.registry.storage_schemes.get(name)
                if contribution is None:
                    from gridclient.storage.base import StorageError

                    raise StorageError(f"No loaded provider reaches {name}:// storage. See Help → Providers.")
                s = self._schemes[name] = resolve(contribution.implementation)(self.token_for)
                if self.on_made is not None:
                    self.on_made(name, s)
            return s

    def close(self) -> None:
        """Close what the schemes hold open (SSH connections) when the app quits."""
        with self._lock:
            schemes = list(self._schemes.values())
        for s in schemes:
            closing = getattr(s, "close", None)
            if callable(closing):
                closing()

    def of(self, location: "Location") -> "Scheme":
        return self.scheme(location.scheme)
