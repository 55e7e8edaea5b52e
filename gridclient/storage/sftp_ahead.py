"""Small files read ahead for the ``sftp`` scheme (:mod:`gridclient.storage.sftp`). Qt-free.

A download of a folder of many small files spent its time waiting: each file took a worker an
open and a read, one round trip each, and ten workers sharing one connection (one paramiko thread
reading for all) woke each other for every answer. A read-ahead is told the files a transfer job is
about to download (:meth:`SFTPScheme.read_ahead`, by the transfer queue) and fetches the small ones
(up to :data:`SMALL` bytes) on ONE channel by ONE thread, many files on the wire at once: an open
for each of the next :data:`DEPTH` files, and as each handle comes back its read and its close. The
bytes wait in memory (at most :data:`WINDOW` files past the last one a worker asked for) until the
worker downloading that file takes them: :meth:`ReadAhead.take`, which gives None — the worker
then reads the file itself, as without a read-ahead — for a file not fetched (an error, a short
read, a dropped connection, cancelled), so every failure is told and retried as before.

Where commands run and the server has GNU tar, a job of :data:`TAR_FROM` small files or more gets
them as ONE tar stream instead (:data:`TAR` on an exec channel of the same connection, the names
NUL-separated on its standard input, in order): a file then costs a tar header rather than an
open, a read and a close — the way ``scp -r`` moves a folder, and half the time per file here.
What tar leaves out (gone, unreadable, changed since the listing) its worker reads over SFTP and
says; a server whose ``tar`` is not GNU tar is read over SFTP, and not asked again on that
connection. Every file is still checked with the SHA-256 the server computes.

An upload job's small files go the other way the same way (:class:`WriteAhead`, told by
:meth:`SFTPScheme.write_ahead`): one thread writes each into its hidden part name beside its target
— open, then its write, time, attributes, close and the target's attributes in one round trip —
many files at once, and asks their checksums in batches; the worker uploading that file finds its
part written and only waits for the check and renames it (:meth:`WriteAhead.take`). A part no
worker came for (its file cancelled) is removed when the job ends (:meth:`WriteAhead.close`).
"""

from __future__ import annotations

import logging
import posixpath
import tarfile
import threading
from collections import deque

import paramiko
from paramiko.sftp import (CMD_CLOSE, CMD_DATA, CMD_FSETSTAT, CMD_FSTAT, CMD_HANDLE, CMD_OPEN, CMD_READ, CMD_STAT,
                           CMD_STATUS, CMD_WRITE, SFTP_FLAG_CREATE, SFTP_FLAG_READ, SFTP_FLAG_TRUNC, SFTP_FLAG_WRITE,
                           int64)
from paramiko.sftp_attr import SFTPAttributes

from gridclient.storage.base import Entry, Location, Stop
from gridclient.storage.sftp_channels import Connection, _Replies, raw, send_all
from gridclient.storage.sftp_sums import Pending

log = logging.getLogger(__name__)

SMALL = 64 * 1024  # files up to this size are read ahead (one read each)
TAR_FROM = 16  # from this many small files, they come as one tar stream where the server has GNU tar
# names NUL-separated on standard input, each as given (no recursion into a folder a file became),
# a hard link's bytes as its own; tar's complaints (a file gone) go to its stderr, not the stream
TAR = "exec tar --null --no-recursion --hard-dereference -C / -cf - -T -"
DEPTH = 32  # files on the wire at once
WINDOW = 128  # files fetched past the last one a worker asked for


def _send_names(chan, names: list[bytes]) -> None:
    """tar's list of names, then the end of its input (a thread of its own: tar writes its stream
    while it reads them, and neither side may wait on the other)."""
    try:
        chan.sendall(b"".join(n + b"\0" for n in names))
        chan.shutdown_write()
    except Exception as exc:  # noqa: BLE001 - the reading side says what went wrong
        log.debug("sending tar its names stopped: %s", exc)


class ReadAhead:
    """The small files of one job on one connection, fetched in the job's order."""

    streams = True  # may come as one tar stream (:meth:`_by_tar`)

    def __init__(self, conn: Connection, entries: list[Entry], stop: Stop, path_of):
        self.conn, self.stop = conn, stop
        self.entries = entries
        self.index = {e.location: i for i, e in enumerate(entries)}
        self._path_of = path_of
        self._lock = threading.Lock()
        self._window = threading.Condition(self._lock)  # the fetching thread waits on it
        self._here: dict[int, threading.Event] = {}  # index → set once its bytes (or None) are in
        self._got: dict[int, bytes | None] = {}  # index → bytes, or None: the worker reads it itself
        self._sums: dict[int, Pending | None] = {}  # index → the server's checksum, asked
        self._sums_taken: set[int] = set()
        self._asked = -1  # the furthest index a worker asked for
        self._let_go = -WINDOW  # files below this index, not taken by then, were let go
        self._ended = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="gridclient-read-ahead")
        self.on_close = lambda ahead: None  # the scheme's registry forgets it

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """The job ended: what no worker took is let go."""
        with self._lock:
            self._got.clear()
            self._sums.clear()
        self.on_close(self)

    # -- the workers' side ---------------------------------------------------------------------
    def _wait(self, i: int, stop: Stop) -> bool:
        """Wait until file ``i`` is in (or the read-ahead ended); False if ``stop`` came first. Wakes
        this worker alone (ten workers woken for every file cost more than the file)."""
        with self._lock:
            if i > self._asked:
                self._asked = i
                self._window.notify()
            if i in self._got or self._ended:
                return True
            here = self._here.get(i) or self._here.setdefault(i, threading.Event())
        while not here.wait(0.05):
            if stop.is_set():
                return False
        return True

    def take(self, entry: Entry, stop: Stop) -> bytes | None:
        """The entry's bytes once fetched, or None (not fetched: read it yourself)."""
        i = self.index.get(entry.location)
        if i is None or not self._wait(i, stop):
            return None
        with self._lock:
            self._here.pop(i, None)
            return self._got.pop(i, None)

    def checksum(self, entry: Entry, stop: Stop) -> tuple[bool, Pending | None]:
        """(True, the checksum asked with the batch the entry was fetched in), or (False, None) when
        it was not asked here."""
        i = self.index.get(entry.location)
        if i is None or i in self._sums_taken or not self._wait(i, stop):  # asked again (a retry): alone
            return False, None
        with self._lock:
            if i not in self._sums:
                return False, None
            self._sums_taken.add(i)
            return True, self._sums.pop(i)

    # -- the fetching thread ---------------------------------------------------------------------
    def _may_fetch(self, i: int) -> bool:
        """Wait until file ``i`` is within the window; False when the read-ahead is to end."""
        with self._lock:
            while i > self._asked + WINDOW:
                if self.stop.is_set():
                    return False
                self._window.wait(0.05)
            # files the workers went past without taking (skipped, cancelled) are let go — looked
            # for once the workers moved on by a window's quarter, not at every file
            below = self._asked - WINDOW
            if below >= self._let_go + WINDOW // 4:
                self._let_go = below
                for old in [k for k in self._got if k < below]:
                    del self._got[old]
                for old in [k for k in self._sums if k < below]:
                    del self._sums[old]
            return not self.stop.is_set()

    def _put(self, i: int, data: bytes | None) -> None:
        with self._lock:
            self._got[i] = data
            here = self._here.get(i)
        if here is not None:
            here.set()

    def _run(self) -> None:
        client = None
        generation = -1
        clean = False
        try:
            if self.streams and len(self.entries) >= TAR_FROM and self._by_tar():
                return
            client, generation = self.conn.take()
            self._fetch(client)
            clean = True
        except Exception as exc:  # noqa: BLE001 - the workers read those files themselves, and say
            log.info("read-ahead on %s stopped: %s", self.conn.where, exc)
        finally:
            if client is not None:
                self.conn.release(client, keep=clean, generation=generation)
            with self._lock:
                self._ended = True
                waiting = list(self._here.values())
            for here in waiting:
                here.set()

    def _by_tar(self) -> bool:
        """The files as one tar stream from the server (GNU tar on an exec channel of the same
        connection, the names on its standard input): a file costs a tar header, not an open, a
        read and a close each. False, with nothing fetched, where that cannot run here (an
        SFTP-only account, no GNU tar: then SFTP, as before, and not tried again on this
        connection). Raises once something was fetched: the rest the workers read themselves."""
        conn = self.conn
        conn.probe()  # does a command run here at all (the checksum helper's start says)
        if not conn.shell or conn.tar is False:
            return False
        names = []
        for e in self.entries:
            path = raw(self._path_of(e.location))
            if not path.startswith(b"/") or b"\0" in path:
                return False
            names.append(b"./" + path[1:])  # from "/", never read as an option
        conn._slot(False)  # one of the connection's channels (the server's MaxSessions)
        try:
            chan = conn.exec_channel(TAR, 15)
        except Exception as exc:  # noqa: BLE001 - refused, or the connection went: SFTP then
            conn.release()
            log.info("%s: no tar stream (%s)", conn.where, exc)
            return False
        index = {name.decode("utf-8", "surrogateescape"): i for i, name in enumerate(names)}
        sender = threading.Thread(target=_send_names, args=(chan, names), daemon=True, name="gridclient-tar-names")
        sender.start()
        done, asked_sums = 0, 0  # files put (in order: tar keeps the order of its names); checksums asked
        try:
            with tarfile.open(fileobj=chan.makefile("rb", 1 << 16), mode="r|", encoding="utf-8",
                              errors="surrogateescape") as stream:
                for member in stream:
                    i = index.get(member.name if member.name.startswith("./") else "./" + member.name)
                    if i is None or i < done:
                        continue
                    while asked_sums <= i:  # their checksums go in batches, as the files come
                        group = [(n, raw(self._path_of(e.location)), e)
                                 for n, e in enumerate(self.entries[asked_sums:asked_sums + DEPTH], asked_sums)]
                        self._ask_sums(group)
                        asked_sums += len(group)
                    if not self._may_fetch(i):
                        return True
                    for skipped in range(done, i):  # tar said why on its stderr: the worker's own read says
                        self._put(skipped, None)
                    size = self.entries[i].size  # one that changed since the listing: its worker reads it
                    fits = member.isreg() and member.size == size
                    self._put(i, stream.extractfile(member).read() if fits else None)
                    done = i + 1
        except (tarfile.TarError, OSError, EOFError) as exc:
            if not done and conn.tar is None:  # not a tar stream at all (no GNU tar): SFTP from now on
                log.info("%s: no tar stream (%s); small files are read over SFTP", conn.where, exc)
                conn.tar = False
                return False
            raise
        finally:
            chan.close()
            conn.release()
            sender.join(5)
        conn.tar = True
        for rest in range(done, len(self.entries)):  # missing or unreadable there: the workers' reads say
            self._put(rest, None)
        return True

    def _ask_sums(self, group: list[tuple[int, bytes, Entry]]) -> None:
        """The checksums of these files (index, path on the server, entry), asked in one batch."""
        asked = self.conn.sums.submit_many([(path, e.size, e.location.display) for _, path, e in group])
        with self._lock:
            for (i, _, _), pending in zip(group, asked):
                self._sums[i] = pending

    def _fetch(self, client: paramiko.SFTPClient) -> None:
        replies = _Replies()
        wire: deque = deque()  # (request number, "open" | "read", index, entry)
        todo = iter(enumerate(self.entries))

        def refill() -> None:
            """Opens for the next files, up to DEPTH on the wire, and their checksums in one batch."""
            opened = []
            while len(wire) + len(opened) < DEPTH:
                nxt = next(todo, None)
                if nxt is None or not self._may_fetch(nxt[0]):
                    break
                i, entry = nxt
                opened.append((i, raw(self._path_of(entry.location)), entry))
            nums = send_all(client, replies, [(CMD_OPEN, path, SFTP_FLAG_READ, SFTPAttributes())
                                              for _, path, _ in opened]) if opened else []
            wire.extend((num, "open", i, entry) for num, (i, _, entry) in zip(nums, opened))
            if opened:
                self._ask_sums(opened)

        refill()
        while wire:
            num, kind, i, entry = wire.popleft()
            t, msg = replies.wait(client, num)
            if kind == "open":
                if t != CMD_HANDLE:
                    self._put(i, None)  # missing, refused: the worker's own open says so
                else:
                    handle = msg.get_string()
                    if entry.size:  # its read, and its close (whose answer is not waited for), together
                        num, _ = send_all(client, replies, [(CMD_READ, handle, int64(0), entry.size),
                                                            (CMD_CLOSE, handle)], unanswered=1)
                        wire.append((num, "read", i, entry))
                    else:
                        self._put(i, b"")
                        send_all(client, replies, [(CMD_CLOSE, handle)], unanswered=1)
            elif t == CMD_DATA:
                data = msg.get_string()
                self._put(i, data if len(data) == entry.size else None)  # a short read: read it again there
            else:
                self._put(i, None)
                if t != CMD_STATUS:
                    raise paramiko.SFTPError("Expected data")
            if len(wire) <= DEPTH // 2:  # refilled by halves: the checksums go in batches
                refill()


class Upload:
    """A file an upload job is about to send: ``location`` its target."""

    def __init__(self, local: str, size: int, location: Location, mtime: float | None):
        self.local, self.size, self.location, self.mtime = local, size, location, mtime


class Prepared:
    """A small file written into its part name: what the worker's check and rename need."""

    def __init__(self, part: str, settled: tuple, sha256: str, pending: Pending | None):
        self.part, self.settled, self.sha256, self.pending = part, settled, sha256, pending


class WriteAhead(ReadAhead):
    """The small files of one upload job on one connection, written into their part names in order."""

    streams = False  # written over SFTP, file by file

    def __init__(self, conn: Connection, uploads: list[Upload], stop: Stop, path_of, part_of):
        super().__init__(conn, uploads, stop, path_of)  # type: ignore[arg-type]
        self._part_of = part_of
        self._written: dict[int, str] = {}  # index → part name, until a worker takes it

    def take(self, entry, stop: Stop) -> Prepared | None:  # type: ignore[override]
        i = self.index.get(entry.location)
        prepared = super().take(entry, stop)
        if prepared is not None or not stop.is_set():
            with self._lock:  # the worker's now: renamed, or written again by it under the same name
                self._written.pop(i, None)
        return prepared

    def close(self) -> None:
        """The job ended: the parts no worker took (files cancelled, or written ahead in vain) are
        removed, once the thread has finished what it had on the wire."""
        self._thread.join(60)
        with self._lock:
            left, self._written = list(self._written.values()), {}
            self._got.clear()
        self.on_close(self)
        if not left:
            return

        def remove(c):
            for part in left:
                try:
                    c.remove(raw(part))
                except OSError:
                    pass
        try:
            self.conn.run(remove, self.conn.where, "remove")
        except Exception as exc:  # noqa: BLE001 - hidden part names; told, not raised
            log.info("could not remove %d parts on %s: %s", len(left), self.conn.where, exc)

    def _fetch(self, client: paramiko.SFTPClient) -> None:
        import hashlib

        from gridclient.storage.sftp_channels import attrs_of, make_folders, write_size

        replies = _Replies()
        wire: deque = deque()  # ("open", num, i, up, part, data) | ("settle", nums, i, up, part, sha)
        todo = iter(enumerate(self.entries))
        made: set[str] = set()
        again: set[int] = set()  # opened a second time
        to_check: list[tuple[int, str, Upload]] = []

        creating = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC

        def read_part(i: int, up: Upload) -> tuple | None:
            """(i, up, part, bytes) of a file to open, or None (its worker reads it itself)."""
            try:
                with open(up.local, "rb") as f:
                    data = f.read(up.size + 1)
            except OSError:
                return self._put(i, None)  # the worker's own read says what is wrong
            if len(data) != up.size:
                return self._put(i, None)
            part = self._part_of(self._path_of(up.location))
            with self._lock:
                self._written[i] = part  # removed at the end unless a worker takes it
            return i, up, part, data

        def refill() -> None:
            if to_check:  # the written ones first: their workers wait for them
                asked = self.conn.sums.submit_many([(raw(part), up.size, up.location.display)
                                                    for _, part, up in to_check])
                for (i, part, up), pending in zip(to_check, asked):
                    self._put(i, Prepared(part, settled.pop(i), sha.pop(i), pending))
                to_check.clear()
            opening = []
            while len(wire) + len(opening) < DEPTH:
                nxt = next(todo, None)
                if nxt is None or not self._may_fetch(nxt[0]):
                    break
                if (ready := read_part(*nxt)) is not None:
                    opening.append(ready)
            nums = send_all(client, replies, [(CMD_OPEN, raw(part), creating, SFTPAttributes())
                                              for _, _, part, _ in opening]) if opening else []
            wire.extend(("open", num, i, up, part, data) for num, (i, up, part, data) in zip(nums, opening))

        sha: dict[int, str] = {}
        settled: dict[int, tuple] = {}
        refill()
        while wire:
            kind, nums, i, up, part, extra = wire.popleft()
            if kind == "open":
                t, msg = replies.wait(client, nums)
                if t != CMD_HANDLE:
                    folder = posixpath.dirname(part)
                    if i not in again:  # its folder may not be there yet: made here, then once more
                        again.add(i)
                        try:
                            if folder not in made:
                                made.add(folder)
                                make_folders(client, folder, self.conn.where)
                        except Exception:  # noqa: BLE001 - the worker's own upload says why
                            self._put(i, None)
                            continue
                        num = client._async_request(replies, CMD_OPEN, raw(part), creating, SFTPAttributes())
                        wire.append(("open", num, i, up, part, extra))
                        continue
                    self._put(i, None)
                    continue
                handle = msg.get_string()
                step = write_size(client, handle)  # whole packets, as many as the server takes
                requests: list[tuple] = [(CMD_WRITE, handle, int64(at), extra[at:at + step])
                                         for at in range(0, len(extra), step)]
                if up.mtime is not None:
                    times = SFTPAttributes()
                    times.st_atime = times.st_mtime = up.mtime
                    requests.append((CMD_FSETSTAT, handle, times))
                requests += [(CMD_FSTAT, handle), (CMD_CLOSE, handle), (CMD_STAT, raw(self._path_of(up.location)))]
                sent = send_all(client, replies, requests)
                wire.append(("settle", sent, i, up, part, hashlib.sha256(extra).hexdigest()))
            else:
                answers = [replies.wait(client, n) for n in nums]
                fstat, close, stat = answers[-3:]
                ok = all(t == CMD_STATUS and msg.get_int() == 0 for t, msg in answers[:-3] + [close])
                mine = attrs_of(client, fstat) if ok else None
                if mine is None or int(mine.st_size or 0) != up.size:
                    self._put(i, None)  # the worker writes it again itself, and says what fails
                    continue
                try:
                    was = attrs_of(client, stat)
                except Exception:  # noqa: BLE001 - the worker's own upload says why
                    self._put(i, None)
                    continue
                sha[i], settled[i] = extra, (mine, was)
                to_check.append((i, part, up))
            if len(wire) <= DEPTH // 2:
                refill()
        refill()  # the last files' checksums


class ReadAheads:
    """The scheme's read-aheads, found by the file a worker is about to download."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_location: dict[Location, ReadAhead] = {}

    def start(self, conn: Connection, entries: list[Entry], stop: Stop, path_of) -> ReadAhead | None:
        small = [e for e in entries if not e.is_folder and not e.is_link and e.size <= SMALL]
        if len(small) < 2:  # one file: nothing to overlap
            return None
        return self._started(ReadAhead(conn, small, stop, path_of))

    def _started(self, ahead: ReadAhead) -> ReadAhead:
        ahead.on_close = self._forget
        with self._lock:
            for e in ahead.entries:
                self._by_location[e.location] = ahead
        ahead.start()
        return ahead

    def _forget(self, ahead: ReadAhead) -> None:
        """Its job ended: its files are not looked for here any more."""
        with self._lock:
            for e in ahead.entries:
                if self._by_location.get(e.location) is ahead:
                    del self._by_location[e.location]

    def checksum(self, entry: Entry, stop: Stop) -> tuple[bool, Pending | None]:
        with self._lock:
            ahead = self._by_location.get(entry.location)
        return ahead.checksum(entry, stop) if ahead is not None else (False, None)

    def take(self, entry: Entry, stop: Stop):
        with self._lock:
            ahead = self._by_location.pop(entry.location, None)
        return ahead.take(entry, stop) if ahead is not None else None

    def start_writing(self, conn: Connection, uploads: list[Upload], stop: Stop, path_of,
                      part_of) -> WriteAhead | None:
        small = [u for u in uploads if u.size <= SMALL]
        if len(small) < 2:
            return None
        return self._started(WriteAhead(conn, small, stop, path_of, part_of))  # type: ignore[return-value]



__all__ = ["Prepared", "ReadAhead", "ReadAheads", "SMALL", "Upload", "WriteAhead"]
