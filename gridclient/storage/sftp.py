"""The ``sftp`` storage scheme: files and folders on any SSH server, over paramiko's SFTP. Qt-free.

Locations. ``Location("sftp", vo_id, root, path)``, whose URI is ``sftp://user@host:port/path``
(``Location.uri`` and ``Location.parse`` give each other back):

- ``root`` is ``user@host:port``, always with the user and the port (one server reached as two users
  is two roots; an IPv6 address in brackets, ``me@[::1]:22``). ``host`` is the name as typed: an
  alias of ~/.ssh/config stays an alias and is resolved when dialling, as the terminal does;
- ``path`` is the absolute path on the server without its leading "/" ("" is "/", ``home/me/`` the
  home folder; a folder ends with "/", as in every scheme). Names are the server's bytes; those that
  are not UTF-8 are kept with ``surrogateescape``, so they are reached again byte for byte;
- ``vo_id`` is "" for a connection of its own (File → New → SSH connection) and a VO's id for an
  instance of that VO: one address reached with two VOs' keys stays two connections.

Connections. One SSH connection per (vo_id, root), shared by every operation of the scheme, made by
:class:`gridclient.ssh.SSHSession` — the terminal's code: its host-key policy (unknown: asked with
the fingerprint through the Interaction; changed: refused), key lookup, ~/.ssh/config and ProxyJump.
Whoever opens one says how with :meth:`SFTPScheme.add_target` (the target, the Interaction, the
KnownHosts; optionally the terminal's own connected session, used until it closes); a URI nobody
added (a transfer resumed after a restart, a typed ``sftp://`` address) is dialled with the
defaults given by :meth:`SFTPScheme.use`, as ``ssh user@host -p port`` would. The connection is
made on first use, and again once by the next operation after it dropped (a short operation that
finds it dropped is tried once more on the new one). The connection, its small pool of SFTP
channels (paramiko's ``SFTPClient`` is not for several threads at once: each operation borrows
one) and its exec channels are :mod:`gridclient.storage.sftp_channels`; this module (some 600
lines) is every operation of the Scheme, each with its own resume, check and failure handling.

Transfers. Reads and writes are pipelined (many requests of 32 KiB on the wire), a download from an offset (resume), an upload into a hidden ``.….gridclient-part`` name
beside the target, renamed over it (``posix-rename@openssh.com``) only when its size and checksum
are right: no partial file ever sits under a final name, here or on the server. An upload that
fails keeps its part (:meth:`resumable` finds it: Retry appends from its size); a cancelled one
removes it. Checks: the size always; and where the server has ``sha256sum`` (asked once per
connection), the SHA-256 computed there from the file on its disk, by one long-lived checksum
process per connection (:mod:`gridclient.storage.sftp_sums`: a line per file, not a command),
compared with the bytes here — a download's asked when it starts and computed while the bytes
arrive (:meth:`checker`), an upload's asked the moment its last byte is acknowledged, before the rename
— over 32 MiB, range by range as each range's bytes are acknowledged (:class:`Ranges`), so only the
last range is waited for; a range is compared once it is in, so a change made there to a range
already hashed would not be seen (what was sent is what was written is what is checked).
A download job's small files are read ahead, many at once on one channel, with their checksums
asked in batches (:mod:`gridclient.storage.sftp_ahead`). ``Entry.etag`` is a weak validator, ``mtime-size`` (rsync's quick check), so a resumed download
notices a file changed meanwhile. Symbolic links are listed as such (``Entry.is_link``, never a
folder) and a deletion removes a link, never what it points to. Copies between two places of one
connection run on the server (``cp -p`` then ``mv`` from a part name), or through one channel here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shlex
import stat as st
import threading
from typing import Any, BinaryIO, Callable, Iterator

from paramiko.sftp_attr import SFTPAttributes

from gridclient.operations import Cancelled
from gridclient.storage.base import Entry, Integrity, Location, NotFound, Progress, Scheme, Stop, StorageError
from gridclient.storage.jobs import part_path
from gridclient.storage.sftp_ahead import Prepared, ReadAheads, Upload
from gridclient.storage.sftp_channels import (Chunks, Connection, ConnectionLost, Hashing, Unreachable, look,
                                              make_folders, raw, read_exactly, readdir, reads, remove_tree, reraise, settle,
                                              text, write_size, writes)
from gridclient.storage.sftp_sums import Pending, Sha256Check, file_sha256

__all__ = ["ConnectionLost", "SFTPScheme", "Unreachable", "remote_path", "root_of", "split_root"]

log = logging.getLogger(__name__)

PAGE = 1000  # entries a listing page holds


RANGE = 32 * 1024 * 1024  # a big upload's checksum is asked range by range, as the bytes are in


class Ranges:
    """A big upload's check: the server's SHA-256 of each :data:`RANGE` of the part, asked while the
    rest was on its way, against this side's of the same bytes. ``result()``: the whole file's
    SHA-256 (this side's) when every range is the same, else a sentence that is not a digest."""

    def __init__(self, pendings: list[Pending | None], digest: Hashing, what: str):
        self.pendings, self.digest, self.what = pendings, digest, what

    def result(self) -> str | None:
        theirs = [p.result() if p is not None else None for p in self.pendings]
        whole = self.digest.hexdigest()
        if any(t is None for t in theirs):
            return None  # not checked there: sizes only, as where the server has no checksum
        for n, (mine, there) in enumerate(zip(self.digest.ranges, theirs)):
            if mine != there:
                return f"range {n} differs"
        return whole if len(theirs) == len(self.digest.ranges) else "ranges missing"


# -- names ---------------------------------------------------------------------------------------
def root_of(user: str, host: str, port: int) -> str:
    """``user@host:port`` (an IPv6 address in brackets): a Location's root."""
    return f"{user}@{f'[{host}]' if ':' in host else host}:{int(port)}"


def split_root(root: str) -> tuple[str | None, str, int | None]:
    """``user@host:port`` → (user, host, port); a missing user or port is None."""
    user, at, hostport = root.rpartition("@")
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    return (user if at else None) or None, host, int(port) if port.isdigit() else None


def remote_path(location: Location) -> str:
    """The absolute path on the server ("/" for the root)."""
    return "/" + location.path.strip("/")


def _entry(vo_id: str, root: str, path: str, attr: SFTPAttributes) -> Entry:
    """``path`` without its leading "/"; a folder's Location ends with "/", a link's never does."""
    mode = attr.st_mode or 0
    folder = st.S_ISDIR(mode)
    size = 0 if folder else int(attr.st_size or 0)
    mtime = float(attr.st_mtime) if attr.st_mtime is not None else None
    path = path.strip("/")
    loc = Location("sftp", vo_id, root, path + "/" if folder and path else path)
    return Entry(loc, size=size, modified=mtime, etag="" if folder else f"{int(mtime or 0)}-{size}",
                 is_link=st.S_ISLNK(mode),
                 extra={"mode": st.S_IMODE(mode), "permissions": st.filemode(mode),
                        "uid": attr.st_uid, "gid": attr.st_gid})


class _Stream(io.RawIOBase):
    """A remote file read from an offset (for transfers to another scheme); holds its channel until
    closed."""

    def __init__(self, conn: Connection, client, generation: int, handle, what: str, chunks: Iterator[bytes]):
        super().__init__()
        self._conn, self._client, self._generation = conn, client, generation
        self._handle, self._what, self._chunks = handle, what, chunks
        self._buf = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self._buf and not self._ended:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                self._ended = True
            except BaseException as exc:
                reraise(self._conn.failure(exc, self._what, "read"), exc)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            clean = self._ended
            try:
                if clean:
                    self._handle.close()
            except BaseException:  # noqa: BLE001 - then the channel is not kept
                clean = False
            self._conn.release(self._client, keep=clean, generation=self._generation)
        super().close()


# -- the scheme ------------------------------------------------------------------------------------
class SFTPScheme(Scheme):
    name = "sftp"
    server_side_copy = True

    def __init__(self, tokens: Callable[[str], Any] | None = None):
        super().__init__(tokens or (lambda vo_id: None))
        self.known_hosts: Any = None
        self.interaction: Any = None
        self._targets: dict[tuple[str, str], tuple[Any, Any, Any, Any]] = {}
        self._connections: dict[tuple[str, str], Connection] = {}
        self._lock = threading.Lock()
        self._ahead = ReadAheads()

    # -- reaching servers ------------------------------------------------------------------------
    def use(self, known_hosts: Any, interaction: Any) -> None:
        """How to reach an ``sftp://`` location nobody added: these host keys and questions."""
        self.known_hosts, self.interaction = known_hosts, interaction

    def add_target(self, target: Any, interaction: Any = None, known_hosts: Any = None, vo_id: str = "",
                   session: Any = None) -> Location:
        """Reach ``target`` (a :class:`gridclient.ssh.SSHTarget`) for ``vo_id``: returns the server's
        root ("/"). ``session``: a connected :class:`SSHSession` to it (a terminal's) to share."""
        from gridclient.ssh.config import resolve

        r = resolve(target)
        root = root_of(r.user, target.host, r.port)
        known_hosts = known_hosts if known_hosts is not None else self.known_hosts
        interaction = interaction if interaction is not None else self.interaction
        if known_hosts is None or interaction is None:
            raise ValueError("add_target needs the KnownHosts and the Interaction (or use() first)")
        key = (vo_id, root)
        with self._lock:
            self._targets[key] = (target, known_hosts, interaction, session)
            old = self._connections.get(key)
            if old is not None and old.target != target:  # another key or jump host: dialled anew
                del self._connections[key]
            else:
                old = None
        if old is not None:
            old.close()
        return Location("sftp", vo_id, root, "")

    def _conn(self, loc: Location) -> Connection:
        key = (loc.vo_id, loc.root)
        with self._lock:
            conn = self._connections.get(key)
            if conn is None:
                how = self._targets.get(key)
                if how is None:
                    if self.known_hosts is None or self.interaction is None:
                        raise StorageError(f"No SSH connection to {loc.root} is open here. Connect to it first "
                                           "(File → New → SSH connection).")
                    from gridclient.ssh import SSHTarget

                    user, host, port = split_root(loc.root)
                    how = (SSHTarget(host=host, port=port, user=user), self.known_hosts, self.interaction, None)
                conn = self._connections[key] = Connection(loc.root, *how)
            return conn

    def home(self, location: Location) -> Location:
        """The login's home folder on that server."""
        path = self._conn(location).run(lambda c: text(c.normalize(".")), location.root, "reach")
        return Location("sftp", location.vo_id, location.root, path.strip("/") + "/" if path.strip("/") else "")

    def close(self) -> None:
        """Close every connection this scheme made (the app quits)."""
        with self._lock:
            conns, self._connections = list(self._connections.values()), {}
        for conn in conns:
            conn.close()

    # -- reading -------------------------------------------------------------------------------
    def list(self, folder: Location) -> Iterator[list[Entry]]:
        """A page per :data:`PAGE` entries as the server sends them (a folder of 100,000 is never
        whole in memory); each page folders first, then by name."""
        conn = self._conn(folder)
        base = folder.path if folder.is_folder else folder.path + "/"
        for attempt in (0, 1):
            client, generation = conn.take()
            clean, shown = False, False
            try:
                page: list[Entry] = []
                for batch in readdir(client, raw(remote_path(folder))):
                    for raw_name, attr in batch:
                        if raw_name in (b".", b"..") or b"/" in raw_name or b"\0" in raw_name:
                            continue  # no name of a folder's own: a server that says so is not believed
                        page.append(_entry(folder.vo_id, folder.root, base + text(raw_name), attr))
                        if len(page) >= PAGE:
                            shown = True
                            yield _sorted(page)
                            page = []
                clean = True
                if page or not shown:
                    yield _sorted(page)
                return
            except GeneratorExit:
                raise
            except BaseException as exc:
                if conn.lost(exc) and attempt == 0 and not shown:
                    continue
                reraise(conn.failure(exc, folder.display, "list"), exc)
            finally:
                conn.release(client, keep=clean, generation=generation)

    def stat(self, location: Location) -> Entry | None:
        conn = self._conn(location)
        try:
            attr = conn.run(lambda c: c.lstat(raw(remote_path(location))), location.display, "look up")
        except NotFound:
            return None
        return _entry(location.vo_id, location.root, location.path, attr)

    def open_read(self, entry: Entry, offset: int = 0) -> BinaryIO:
        conn = self._conn(entry.location)
        client, generation = conn.take()
        try:
            handle = client.open(raw(remote_path(entry.location)), "rb")
        except BaseException as exc:
            lost = conn.lost(exc)
            conn.release(client, keep=not lost, generation=generation)
            reraise(conn.failure(exc, entry.location.display, "read"), exc)
        stream = _Stream(conn, client, generation, handle, entry.location.display,
                         reads(client, handle.handle, offset, entry.size))
        return io.BufferedReader(stream, 1024 * 1024)  # type: ignore[return-value]

    def read_head(self, entry: Entry, limit: int) -> bytes:
        out = bytearray()

        def head(c):
            with c.open(raw(remote_path(entry.location)), "rb") as f:
                for data in reads(c, f.handle, 0, min(limit, entry.size)):
                    out.extend(data)

        self._conn(entry.location).run(head, entry.location.display, "read")
        return bytes(out)

    # -- moving bytes ----------------------------------------------------------------------------
    def read_ahead(self, entries: list[Entry], stop: Stop) -> list:
        by_conn: dict[tuple[str, str], list[Entry]] = {}
        for e in entries:
            if e.location.scheme == "sftp":
                by_conn.setdefault((e.location.vo_id, e.location.root), []).append(e)
        started = [self._ahead.start(self._conn(files[0].location), files, stop, remote_path)
                   for files in by_conn.values()]
        return [a for a in started if a is not None]

    def write_ahead(self, files: list[tuple[str, int, Location]], stop: Stop) -> list:
        by_conn: dict[tuple[str, str], list[Upload]] = {}
        for local, size, target in files:
            if target.scheme == "sftp":
                try:
                    mtime = os.stat(local).st_mtime
                except OSError:
                    continue  # the worker's own upload says what is wrong
                by_conn.setdefault((target.vo_id, target.root), []).append(Upload(local, size, target, mtime))
        started = [self._ahead.start_writing(self._conn(ups[0].location), ups, stop, remote_path, part_path)
                   for ups in by_conn.values()]
        return [a for a in started if a is not None]

    def download(self, entry: Entry, target: BinaryIO, progress: Progress, stop: Stop, offset: int = 0) -> None:
        if not offset and (data := self._ahead.take(entry, stop)) is not None:
            target.seek(0)
            target.write(data)
            progress(len(data))
            return
        conn = self._conn(entry.location)
        what = entry.location.display
        client, generation = conn.take()
        clean = False
        try:
            with client.open(raw(remote_path(entry.location)), "rb") as f:
                target.seek(offset)
                for data in reads(client, f.handle, offset, entry.size):
                    if stop.is_set():
                        raise Cancelled()
                    target.write(data)
                    progress(len(data))
                f._close(async_=True)  # its answer is not waited for (the channel's next user reads it)
            clean = True
        except BaseException as exc:
            reraise(conn.failure(exc, what, "download"), exc)
        finally:
            conn.release(client, keep=clean, generation=generation)

    def upload(self, source: str | BinaryIO, size: int, target: Location, progress: Progress, stop: Stop,
               resume: dict[str, Any] | None = None, note: dict[str, Any] | None = None) -> Entry:
        """Into the target's part name (appending from ``resume["offset"]``), checked, renamed."""
        conn = self._conn(target)
        if isinstance(source, str) and not resume:
            prepared = self._ahead.take(Upload(source, size, target, None), stop)
            if isinstance(prepared, Prepared) and prepared.settled[0].st_size == size:
                # written ahead into its part: checked and renamed here
                if note is not None:
                    note["part"] = prepared.part
                progress(size)
                return self._place(conn, prepared.part, target, size, prepared.sha256, prepared.settled,
                                   prepared.pending, source)
        final = remote_path(target)
        part = str((resume or {}).get("part") or part_path(final))
        if note is not None:
            note["part"] = part  # kept with the queue: Retry, even after a restart, goes on from it
        offset = int((resume or {}).get("offset") or 0)
        local = source if isinstance(source, str) else None
        if offset > size or (offset and local is None):
            offset = 0
        if not offset and size > RANGE:
            conn.sums.probe()
        ranged = not offset and size > RANGE and conn.sums.mode == "helper"
        digest = Hashing(hashlib.sha256(), RANGE if ranged else 0)
        f = open(local, "rb", buffering=0) if local is not None else source
        try:
            if offset:  # the checksum covers the whole file: the bytes sent before, read again here
                left = offset
                while left and (chunk := f.read(min(1024 * 1024, left))):
                    digest.update(chunk)
                    left -= len(chunk)
                progress(offset)
            asked: list = []
            ranges: list[Pending | None] = []  # the server's checksum of each range of the part
            acked = [offset]

            def ask_ranges(upto: int) -> None:  # each range whose bytes are all in: hashed there now
                while ranged and min((len(ranges) + 1) * RANGE, size) <= upto and len(ranges) * RANGE < size:
                    first = len(ranges) * RANGE
                    n = min(RANGE, size - first)
                    ranges.append(conn.sums.submit_range(raw(part), first >> 20, -(-n >> 20), n, target.display))

            def sent(n: int) -> None:
                acked[0] += n
                ask_ranges(acked[0])
                progress(n)

            def written() -> None:  # the last byte acknowledged: the server hashes the part meanwhile
                if ranged:
                    ask_ranges(size)
                    asked.append(Ranges(ranges, digest, target.display))
                else:
                    asked.append(conn.sums.submit(raw(part), size, target.display))

            settled = self._send(conn, f, part, offset, size, digest, sent, stop, target, written,
                                 os.stat(local).st_mtime if local is not None else None)
        except Cancelled:
            self._remove_part(conn, part)  # a cancel leaves nothing on the server
            raise
        finally:
            digest.close()
            if local is not None:
                f.close()
        return self._place(conn, part, target, size, digest.hexdigest(), settled, asked[0] if asked else None, local)

    def _send(self, conn: Connection, f, part: str, offset: int, size: int, digest, progress, stop,
              target: Location, written: Callable[[], None] | None = None,
              mtime: float | None = None) -> tuple[SFTPAttributes, SFTPAttributes | None]:
        """``f``'s bytes into ``part`` from ``offset``; then the part's attributes (its modification
        time set to ``mtime``) and the target's (None where there is none yet)."""
        client, generation = conn.take()
        clean = False
        try:
            try:
                h = client.open(raw(part), "r+b" if offset else "wb")
            except FileNotFoundError:  # its folder is not there yet (a folder's files go in parallel);
                # made on this channel: waiting for a second one while holding this could wait forever
                make_folders(client, remote_path(target.parent), target.root)
                h = client.open(raw(part), "r+b" if offset else "wb")
            with h:
                if offset:
                    h.truncate(offset)
                last = None
                if size - offset <= write_size(client, h.handle):  # one write: it goes with the settling
                    if stop.is_set():
                        raise Cancelled()
                    data = read_exactly(f, size - offset)
                    if len(data) != size - offset:
                        raise Integrity(f"The file to upload ended after {offset + len(data)} of {size} bytes.")
                    digest.update(data)
                    last = (offset, data) if data else None
                else:
                    writes(client, h.handle, f, offset, size, digest, progress, stop)
                settled = settle(client, h, raw(remote_path(target)), mtime, last)
                if last is not None:
                    progress(len(last[1]))
                if written is not None:
                    written()
            clean = True
            return settled
        except BaseException as exc:
            err = conn.failure(exc, target.display, "upload")
            if isinstance(err, ConnectionLost):
                err = ConnectionLost(f"{err} What was sent is kept on the server: Retry goes on from there.")
            reraise(err, exc)
        finally:
            conn.release(client, keep=clean, generation=generation)

    def _place(self, conn: Connection, part: str, target: Location, size: int, sha256: str,
               settled: tuple[SFTPAttributes, SFTPAttributes | None], asked: Pending | None = None,
               local: str | None = None) -> Entry:
        """The part's size (``settled``: its attributes and the target's, as :func:`settle` gives
        them) and checksum checked (``asked``: the server's checksum of the part, asked already), then
        renamed over the target, keeping an existing file's permissions."""
        mine, was = settled
        if asked is None:
            asked = conn.sums.submit(raw(part), size, target.display)
        got = int(mine.st_size or 0)
        if got != size:
            self._remove_part(conn, part)
            raise Integrity(f"{target.display}: the server holds {got} bytes of {size}.")
        remote = asked.result() if asked is not None else None  # not answered: the part stays, for Retry
        if remote is not None and remote != sha256:
            self._remove_part(conn, part)
            raise Integrity(f"{target.display}: the bytes stored differ from the ones sent (SHA-256).")
        final = raw(remote_path(target))
        keep = st.S_IMODE(was.st_mode) if was is not None and st.S_ISREG(was.st_mode or 0) else None

        def place(c):
            if keep is not None and keep != st.S_IMODE(mine.st_mode or 0):
                c.chmod(raw(part), keep)
                mine.st_mode = (mine.st_mode or 0) & ~0o7777 | keep
            try:
                c.posix_rename(raw(part), final)
            except OSError as exc:
                if exc.errno is not None:
                    raise
                try:  # a server without posix-rename@openssh.com: remove, then rename
                    c.remove(final)
                except FileNotFoundError:
                    pass
                c.rename(raw(part), final)

        conn.run(place, target.display, "store")
        stored = _entry(target.vo_id, target.root, target.path, mine)
        if remote is not None:
            stored.extra.update(sha256=remote, checked=local)
        return stored

    def _remove_part(self, conn: Connection, part: str) -> None:
        try:
            conn.run(lambda c: c.remove(raw(part)), part, "remove")
        except StorageError as exc:
            log.info("could not remove %s: %s", part, exc)

    def resumable(self, target: Location, since: float, note: dict[str, Any] | None = None) -> dict[str, Any] | None:
        conn = self._conn(target)
        part = str((note or {}).get("part") or part_path(remote_path(target)))
        try:
            attr = conn.run(lambda c: c.lstat(raw(part)), target.display, "look up")
        except NotFound:
            return None
        if not st.S_ISREG(attr.st_mode or 0) or (attr.st_mtime or 0) < since - 120:
            return None
        return {"part": part, "offset": int(attr.st_size or 0)}

    def discard(self, target: Location, since: float) -> None:
        self._remove_part(self._conn(target), part_path(remote_path(target)))

    # -- checks ----------------------------------------------------------------------------------
    def remote_sha256(self, location: Location, size: int = 0) -> str | None:
        """The SHA-256 of the file as the server computes it, or None where it cannot."""
        pending = self.ask_sha256(location, size)
        return pending.result() if pending is not None else None

    def ask_sha256(self, location: Location, size: int = 0) -> Pending | None:
        """:meth:`remote_sha256` asked now, its answer waited for later (``.result()``); None where
        the server cannot compute it."""
        return self._conn(location).sums.submit(raw(remote_path(location)), size, location.display)

    def checker(self, entry: Entry, stop: Stop | None = None) -> Sha256Check | None:
        conn = self._conn(entry.location)
        conn.probe()
        if not conn.sha256:
            return None
        return Sha256Check(self, entry, self._ahead.checksum(entry, stop or Stop()))

    def verify(self, stored: Entry, local_path: str) -> None:
        if stored.extra.get("sha256") and stored.extra.get("checked") == local_path:
            return  # the upload compared these very bytes before the rename
        remote = self.remote_sha256(stored.location, stored.size)
        if remote is not None and remote != file_sha256(local_path):
            raise Integrity(f"{local_path} differs from {stored.location.display} (SHA-256).")

    # -- copies on the server ----------------------------------------------------------------------
    def can_copy(self, source: Location, target: Location) -> bool:
        return source.scheme == target.scheme == "sftp" and source.same_root(target)

    def copy(self, source: Entry, target: Location, progress: Progress, stop: Stop) -> Entry:
        """``cp -p`` to the part name, then ``mv`` over the target, on the server; where commands do
        not run, the bytes through one channel here (never two: a pool of channels in use by
        streams waiting for a second one could wait forever)."""
        conn = self._conn(target)
        src, dst = remote_path(source.location), remote_path(target)
        part = part_path(dst)
        if stop.is_set():
            raise Cancelled()
        conn.probe()
        self.make_folder(target.parent)
        done = False
        if conn.shell and conn.cp and all(_typable(p) for p in (src, dst)):
            q = [shlex.quote(p) for p in (src, part, dst)]
            status, _, err = conn.exec(f"cp -p -- {q[0]} {q[1]} && mv -f -- {q[1]} {q[2]}",
                                       timeout=120 + source.size / 20e6)
            if status == 127:
                conn.cp = False
            elif status != 0:
                self._remove_part(conn, part)
                raise StorageError(f"Could not copy {source.location.display}: {err.strip() or status}.")
            else:
                done = True
                progress(source.size)
        if not done:
            asked = self.ask_sha256(source.location, source.size)  # hashed there while it is read
            sent = self._copy_through(conn, source, part, progress, stop, target)
            original = asked.result() if asked is not None else None
            if original is not None and original != sent:
                self._remove_part(conn, part)
                raise Integrity(f"The copy of {source.location.display} read other bytes than the original's.")
            self._place(conn, part, target, source.size, sent,
                        conn.run(lambda c: look(c, raw(part), raw(dst)), target.display, "check"))
        stored = self.stat(target)
        if stored is None:
            raise StorageError(f"{target.display} is not there after the copy.")
        if stored.size != source.size:
            raise Integrity(f"The copy of {source.location.display} has {stored.size} bytes, "
                            f"the original {source.size}.")
        return stored

    def _copy_through(self, conn: Connection, source: Entry, part: str, progress, stop, target: Location) -> str:
        """The source's bytes into ``part`` on one channel; returns their SHA-256."""
        client, generation = conn.take()
        clean = False
        digest = Hashing(hashlib.sha256())
        try:
            with client.open(raw(remote_path(source.location)), "rb") as r, client.open(raw(part), "wb") as w:
                writes(client, w.handle, Chunks(reads(client, r.handle, 0, source.size)), 0, source.size,
                        digest, progress, stop)
            clean = True
        except BaseException as exc:
            err = conn.failure(exc, target.display, "copy")
            if isinstance(err, Cancelled):
                conn.release(client, generation=generation)
                client = None
                self._remove_part(conn, part)
            reraise(err, exc)
        finally:
            digest.close()
            if client is not None:
                conn.release(client, keep=clean, generation=generation)
        return digest.hexdigest()

    # -- changing ------------------------------------------------------------------------------
    def delete(self, locations: list[Location]) -> list[tuple[Location, str]]:
        """Files, links (the link, never what it points to) and folders with all they hold."""
        failed: list[tuple[Location, str]] = []
        for loc in locations:
            if not loc.path.strip("/"):
                failed.append((loc, "The root folder of a server is not deleted from here"))
                continue
            problems: list[str] = []
            try:
                self._conn(loc).run(lambda c: remove_tree(c, raw(remote_path(loc)), problems),
                                    loc.display, "delete")
            except NotFound:
                continue
            except StorageError as exc:
                failed.append((loc, str(exc).rstrip(".")))
                continue
            if problems:
                failed.append((loc, problems[0]))
        return failed

    def make_folder(self, location: Location) -> None:
        """The folder and any missing folder above it (``mkdir -p``)."""
        path = remote_path(location)
        if path != "/":
            self._conn(location).run(lambda c: make_folders(c, path, location.root), location.display,
                                     "make the folder")

    def rename(self, location: Location, new: Location | str) -> Entry:
        """Rename or move on the server (one connection); ``new``: a Location, or a name in the same
        folder. An existing target is not replaced."""
        if isinstance(new, str):
            new = location.parent.child(new, folder=location.is_folder)
        if not location.same_root(new):
            raise StorageError("A rename stays on one server.")
        src, dst = raw(remote_path(location)), raw(remote_path(new))

        def move(c):
            try:
                c.lstat(dst)
            except FileNotFoundError:
                c.rename(src, dst)
                return c.lstat(dst)
            raise StorageError(f"{new.display} exists already.")

        attr = self._conn(location).run(move, location.display, "rename", again=False)
        return _entry(new.vo_id, new.root, new.path, attr)

    def chmod(self, location: Location, mode: int) -> Entry:
        """Change the permission bits (``0o644``) of a file or folder."""
        path = raw(remote_path(location))

        def change(c):
            c.chmod(path, mode & 0o7777)
            return c.lstat(path)

        attr = self._conn(location).run(change, location.display, "change the permissions of")
        return _entry(location.vo_id, location.root, location.path, attr)


def _typable(path: str) -> bool:
    """Whether a path can go into a command line (not: names that are not UTF-8)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sorted(page: list[Entry]) -> list[Entry]:
    return sorted(page, key=lambda e: (not e.is_folder, e.location.name.lower()))
