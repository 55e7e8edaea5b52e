"""What a storage scheme is: locations, entries, and the operations every scheme offers.

A *location* names a file or a folder in one storage system the same way for every scheme: its
scheme (``file``, ``s3``), the VO it is reached through (none for ``file``), a root (a bucket; ""
for the local file system) and a path inside it. Folders end with "/" — S3's own convention, used
for every scheme so a location says what it is without a round trip.

A *scheme* is the code that acts on one kind of location: the core's ``file`` scheme, the AWS
provider's ``s3``. The transfer queue (:mod:`gridclient.storage.transfers`) moves bytes between
them and chooses the route (a server-side copy where the scheme can, else the bytes through here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import quote, unquote, urlsplit

Progress = Callable[[int], None]  # called with the number of bytes moved since the last call


class StorageError(Exception):
    """A storage operation failed; ``str(e)`` is a sentence for the person."""


class NotFound(StorageError):
    pass


class Integrity(StorageError):
    """A finished file is not what the source holds: a size or checksum differs."""


class CopyRefused(StorageError):
    """The server would not copy between these two places itself (another account's credentials):
    the queue moves the bytes through here instead."""


class SpanHashes:
    """The hashes of each ``span`` bytes of what is fed in order (``new()`` makes one): S3's part
    MD5s, an SFTP upload's SHA-256 ranges. :meth:`finish` gives them all, the last one shorter."""

    def __init__(self, span: int, new: Callable[[], Any]):
        self.span, self._new = span, new
        self._done: list[Any] = []
        self._h, self._in = new(), 0

    def update(self, data) -> None:
        view = memoryview(data)
        while len(view):
            take = min(len(view), self.span - self._in)
            self._h.update(view[:take])
            self._in += take
            view = view[take:]
            if self._in == self.span:
                self._done.append(self._h)
                self._h, self._in = self._new(), 0

    def finish(self) -> list[Any]:
        if self._in:
            self._done.append(self._h)
            self._h, self._in = self._new(), 0
        return self._done


class Stop(threading.Event):
    """Set to stop a transfer; schemes check it between chunks."""


@dataclass(frozen=True)
class Location:
    scheme: str
    vo_id: str = ""
    root: str = ""  # the bucket; "" for the local file system
    path: str = ""  # "" is the root; a folder ends with "/"; for "file" an absolute POSIX path

    @property
    def is_folder(self) -> bool:
        return self.path == "" or self.path.endswith("/")

    @property
    def name(self) -> str:
        """The last segment, without a folder's "/" ("" for a root)."""
        return self.path.rstrip("/").rpartition("/")[2]

    @property
    def parent(self) -> "Location":
        """The folder this is in (a root is its own parent)."""
        head = self.path.rstrip("/").rpartition("/")[0]
        if self.scheme == "file":
            return replace(self, path=(head or "") + "/")
        return replace(self, path=head + "/" if head else "")

    def child(self, relative: str, folder: bool = False) -> "Location":
        """``relative`` ("a/b.txt", "/"-separated) inside this folder."""
        base = self.path if self.is_folder else self.parent.path
        rel = relative.strip("/")
        return replace(self, path=base + rel + ("/" if folder and rel else ""))

    def relative_to(self, folder: "Location") -> str:
        return self.path[len(folder.path):] if self.path.startswith(folder.path) else self.name

    def contains(self, other: "Location") -> bool:
        """``other`` is this folder or inside it (same storage)."""
        return (self.is_folder and self.same_root(other) and other.path.startswith(self.path))

    def same_root(self, other: "Location") -> bool:
        return (self.scheme, self.vo_id, self.root) == (other.scheme, other.vo_id, other.root)

    @property
    def uri(self) -> str:
        """``s3://bucket/key``, ``file:///home/me/x``: what Copy URI gives and what a drag carries."""
        if self.scheme == "file":
            return "file://" + quote(self.path)
        return f"{self.scheme}://{self.root}/{self.path}"

    @property
    def display(self) -> str:
        return self.path if self.scheme == "file" else self.uri

    def to_dict(self) -> dict[str, str]:
        return {"scheme": self.scheme, "vo_id": self.vo_id, "root": self.root, "path": self.path}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Location":
        return cls(str(data["scheme"]), str(data.get("vo_id", "")), str(data.get("root", "")),
                   str(data.get("path", "")))

    @classmethod
    def parse(cls, uri: str, vo_id: str = "") -> "Location":
        """``s3://bucket/prefix``, ``file:///path`` or a plain local path."""
        if "://" not in uri:
            import os

            path = os.path.abspath(os.path.expanduser(uri)).replace(os.sep, "/")
            return cls("file", path=path + ("/" if uri.endswith(("/", os.sep)) else ""))
        parts = urlsplit(uri)
        if parts.scheme == "file":
            return cls("file", path=unquote(parts.path))
        return cls(parts.scheme, vo_id, parts.netloc, parts.path.lstrip("/"))


@dataclass(frozen=True)
class Entry:
    """A file or folder as its scheme reports it."""

    location: Location
    size: int = 0
    modified: float | None = None  # seconds since the epoch
    etag: str = ""  # S3's ETag, without quotes
    is_link: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # storage class, type…

    @property
    def is_folder(self) -> bool:
        return self.location.is_folder


class Scheme:
    """The operations of one kind of storage. Every method runs on a worker thread.

    ``tokens`` gives a VO's auth token by VO id (the core's :class:`~gridclient.tokens.AuthTokens`).
    Methods a scheme cannot offer raise :class:`StorageError` saying so.
    """

    name = ""
    #: move bytes between two locations of this scheme without them passing through the client
    server_side_copy = False

    def __init__(self, tokens: Callable[[str], Any]):
        self.tokens = tokens

    # -- reading -------------------------------------------------------------------------------
    def list(self, folder: Location) -> Iterator[list[Entry]]:
        """One level: sub-folders and files, a page at a time."""
        raise StorageError(f"{self.name} storage cannot list folders.")

    def walk(self, folder: Location, times: dict[str, float] | None = None) -> Iterator[Entry]:
        """Every file under ``folder`` (and every empty folder, as a folder entry), depth first.
        ``times`` gets the modification time of each folder under it that has one, by path."""
        stack = [Entry(folder)]
        while stack:
            here = stack.pop()
            empty = True
            for page in self.list(here.location):
                for entry in page:
                    empty = False
                    if entry.is_folder and not entry.is_link:
                        stack.append(entry)
                        if times is not None and entry.modified:
                            times[entry.location.path] = entry.modified
                    elif not entry.is_folder:
                        yield entry
            if empty and here.location != folder:
                yield here

    def stat(self, location: Location) -> Entry | None:
        """The entry, or None when nothing is there."""
        raise StorageError(f"{self.name} storage cannot look files up.")

    def open_read(self, entry: Entry, offset: int = 0) -> BinaryIO:
        """A stream of the file's bytes from ``offset`` (for transfers between schemes)."""
        raise StorageError(f"{self.name} storage cannot read files.")

    def read_head(self, entry: Entry, limit: int) -> bytes:
        """The first ``limit`` bytes of a file (a preview)."""
        with self.open_read(entry) as f:
            return f.read(limit)

    # -- moving bytes ----------------------------------------------------------------------------
    def download(self, entry: Entry, target: BinaryIO, progress: Progress, stop: Stop, offset: int = 0) -> None:
        """Write the file's bytes from ``offset`` into ``target`` (opened for writing there)."""
        raise StorageError(f"{self.name} storage cannot download.")

    def read_ahead(self, entries: list[Entry], stop: Stop) -> list:
        """A hint: these files are about to be downloaded, in this order (until ``stop`` is set); a
        scheme may start fetching them. Returns what it started: each is closed (``close()``) when
        the job ends."""
        return []

    def write_ahead(self, files: list[tuple[str, int, Location]], stop: Stop) -> list:
        """A hint: these local files (path, size, target) are about to be uploaded, in this order; as
        :meth:`read_ahead`."""
        return []

    def upload(self, source: BinaryIO, size: int, target: Location, progress: Progress, stop: Stop,
               resume: dict[str, Any] | None = None, note: dict[str, Any] | None = None) -> Entry:
        """Store ``size`` bytes read from ``source`` at ``target``; returns what is stored there.

        ``resume`` is the scheme's own record of an unfinished upload (see :meth:`resumable`);
        ``note`` a dict the scheme may write into while it uploads (kept with the queue, so a
        restarted app finds that upload again: S3's upload id)."""
        raise StorageError(f"{self.name} storage cannot upload.")

    def copy(self, source: Entry, target: Location, progress: Progress, stop: Stop) -> Entry:
        """A server-side copy, when :meth:`can_copy` says the two are reachable together."""
        raise StorageError(f"{self.name} storage cannot copy on the server.")

    def can_copy(self, source: Location, target: Location) -> bool:
        """Worth asking the server to copy (it may still refuse with :class:`CopyRefused`)."""
        return False

    def verify(self, stored: Entry, local_path: str) -> None:
        """Raise :class:`Integrity` when the local file's bytes are not the stored entry's.

        Size always (done by the queue); a scheme adds a content check where it can."""

    def checker(self, entry: Entry) -> Any:
        """An object with ``update(bytes)`` and ``finish()`` (raising :class:`Integrity`) that checks
        the entry's bytes fed in order — so a download is checked as it arrives — or None, and
        :meth:`verify` is used on the finished file."""
        return None

    def resumable(self, target: Location, since: float, note: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """An unfinished upload to ``target`` — the one ``note`` names, or one started after
        ``since`` — that :meth:`upload` can go on with, or None."""
        return None

    def discard(self, target: Location, since: float) -> None:
        """Remove what an unfinished upload to ``target`` left (S3's multipart parts)."""

    # -- changing ------------------------------------------------------------------------------
    def delete(self, locations: list[Location]) -> list[tuple[Location, str]]:
        """Delete files (and empty folders); returns the ones that failed, with why."""
        raise StorageError(f"{self.name} storage cannot delete.")

    def make_folder(self, location: Location) -> None:
        raise StorageError(f"{self.name} storage cannot make folders.")
