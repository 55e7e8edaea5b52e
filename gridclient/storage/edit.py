"""Editing a small text file of any storage in place (an instance's config file over SFTP, an object
in a bucket): read it whole, and write it back only if nobody changed it meanwhile. Qt-free; both
run on worker threads.

The check compares what the storage says of the file now (its ETag — S3's MD5, the sftp scheme's
``mtime-size`` — its size and its time) with what it said when the file was opened: a file changed
by someone else is not overwritten unless the person says so (:class:`Changed`). The bytes go
through the scheme's own upload, so a remote file is never left half-written under its name.
"""

from __future__ import annotations

import io
from typing import Any

from gridclient.storage.base import Entry, Integrity, Location, NotFound, Stop, StorageError

#: larger files are not edited here (a preview shows their first MB; download them to edit)
EDIT_LIMIT = 1024 * 1024


class Changed(StorageError):
    """The file changed in its storage since it was opened here."""


def _same(a: Entry, b: Entry) -> bool:
    return (a.etag, a.size, a.modified) == (b.etag, b.size, b.modified)


def open_text(storage: Any, location: Location) -> tuple[Entry, bytes]:
    """The file's entry and all its bytes; StorageError when it is too big to edit here."""
    scheme = storage.of(location)
    entry = scheme.stat(location)
    if entry is None:
        raise NotFound(f"{location.display} is not there any more.")
    if entry.size > EDIT_LIMIT:
        raise StorageError(f"{location.display} is larger than 1 MB: download it to edit it.")
    return entry, scheme.read_head(entry, EDIT_LIMIT + 1)


def save_text(storage: Any, location: Location, data: bytes, opened: Entry | None, force: bool = False) -> Entry:
    """Write ``data`` over the file opened as ``opened``: Changed when it changed since (unless
    ``force``), Integrity when what is stored is not ``data``'s size. Returns the new entry."""
    scheme = storage.of(location)
    now = scheme.stat(location)
    if not force and opened is not None:
        if now is None:
            raise Changed(f"{location.display} was deleted since you opened it.")
        if not _same(now, opened):
            raise Changed(f"{location.display} changed since you opened it (now {now.size:,} bytes).")
    stored = scheme.upload(io.BytesIO(data), len(data), location, lambda n: None, Stop())
    after = scheme.stat(location) or stored
    if after.size != len(data):
        raise Integrity(f"{location.display} holds {after.size:,} bytes after saving {len(data):,}.")
    return after
