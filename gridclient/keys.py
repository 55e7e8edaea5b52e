"""Private keys of key pairs the app holds: one file per VO and key pair, mode 0600, in 0700 folders.

A key pair made or imported through the app (and the demo's) is kept here under the VO's id, so
"log in with the key the instance was launched with" (g-Eclipse) finds it by the instance's key
pair name. Names that could leave the store (``..``, separators) are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from gridclient.paths import AppPaths
from gridclient.workspace import atomic_write_text


def _checked_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name \
            or "\0" in name or name != name.strip():
        raise ValueError(f"The {what} “{name}” cannot name a file in the key store "
                         "(it is empty, or contains a path separator or “..”).")
    return name


def _key_file(paths: AppPaths, vo_id: str, key_name: str) -> Path:
    root = Path(paths.keys)
    path = root / _checked_name("VO id", vo_id) / f"{_checked_name('key pair name', key_name)}.pem"
    # belt and braces: the resolved file must stay inside the store
    if root.resolve() not in path.resolve().parents:
        raise ValueError(f"The key pair name “{key_name}” would leave the key store.")
    return path


def key_path(paths: AppPaths, vo_id: str, key_name: str) -> Path | None:
    """The stored private key of key pair ``key_name`` in VO ``vo_id``, or None if the app holds none.

    Raises ValueError for names that would escape the key store."""
    path = _key_file(paths, vo_id, key_name)
    return path if path.is_file() else None


def store_key(paths: AppPaths, vo_id: str, key_name: str, pem: str) -> Path:
    """Write a key pair's private key into the store: 0600, atomically, in 0700 folders."""
    path = _key_file(paths, vo_id, key_name)
    if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
        raise ValueError(f"The key material for “{key_name}” is not a PEM/OpenSSH private key.")
    text = pem.strip() + "\n"  # OpenSSH wants the final newline
    for d in (Path(paths.keys), path.parent):
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(d, 0o700)
    atomic_write_text(path, text, mode=0o600)
    return path
