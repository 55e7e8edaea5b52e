"""The SSH connection of the ``sftp`` scheme (:mod:`gridclient.storage.sftp`): its pool of SFTP
channels, its exec channels, and the SFTP requests it sends pipelined. Qt-free.

One :class:`Connection` per (vo_id, root): an :class:`gridclient.ssh.SSHSession` — the terminal's
code: host keys, keys, ~/.ssh/config, ProxyJump — made on first use and again after it dropped. A
paramiko ``SFTPClient`` is not for several threads at once: an operation borrows one (``take`` /
``release``, or ``run``) and no thread ever holds two of one connection (a pool in use by threads
each waiting for a second channel could wait forever). Reads, writes and folder listings keep many
requests on the wire (paramiko's own prefetch leaves a spinning thread behind a cancelled read).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import stat as st
import struct
import threading
import time
from collections import deque
from typing import Any, BinaryIO, Callable, Iterator

import paramiko
from paramiko.sftp import (CMD_ATTRS, CMD_CLOSE, CMD_DATA, CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_FSETSTAT, CMD_FSTAT,
                           CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READ, CMD_READDIR, CMD_STAT, CMD_STATUS, CMD_WRITE,
                           int64)
from paramiko.sftp_attr import SFTPAttributes

from gridclient.operations import Cancelled
from gridclient.storage.base import Integrity, NotFound, Progress, SpanHashes, StorageError
from gridclient.storage.sftp_sums import Sums

log = logging.getLogger(__name__)

REQUEST = 32 * 1024  # bytes a write request moves (every SFTP server takes this much)
IN_FLIGHT = 64  # write requests of REQUEST bytes on the wire at once in a transfer (fewer of bigger ones)
PACKETS = 8  # SSH packets a write may fill, where the server says it takes that much
BLOCK = 1024 * 1024  # bytes an upload reads from its source at once
# reads ask for more at once: a server that gives less answers a short read and the rest is asked
# again (OpenSSH gives up to 255 KiB); 32 KiB reads reached 0.46x scp, 128 KiB ones ~0.9x
READ_REQUEST = 128 * 1024
READS_IN_FLIGHT = 32
# SFTP and exec channels open on one connection: sshd allows 10 sessions per connection and still
# counts one we closed until its process has gone; the rest is for a terminal on the same connection
# (and a refusal is retried for a few seconds); the checksum process's one channel (sftp_sums) comes
# on top, for the connection's life
MAX_CHANNELS = 6
WINDOW = 8 * 1024 * 1024  # the SSH channel window of an SFTP channel
SILENCE = 120  # seconds a channel may stay silent before its connection counts as lost


class Unreachable(StorageError):
    """The SSH connection could not be made (refused, host key, login); ``ssh_error`` says which."""

    def __init__(self, text: str, ssh_error: BaseException | None = None):
        super().__init__(text)
        self.ssh_error = ssh_error


class ConnectionLost(StorageError):
    """The connection dropped during an operation; the next one connects again."""


class Shorter(Exception):
    """The server's file ended before the size it had when listed."""

def raw(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def text(name: bytes | str) -> str:
    return name if isinstance(name, str) else name.decode("utf-8", "surrogateescape")

def said(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__).rstrip(".:")

def reraise(err: BaseException, exc: BaseException):
    """Raise ``err`` (what :meth:`Connection.failure` made of ``exc``) with ``exc`` as its cause."""
    if err is exc:
        raise err
    raise err from exc


def close_quietly(client: Any) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001 - closing what is already broken
        pass


# -- the channel's input --------------------------------------------------------------------------
class _Queue:
    """What paramiko's BufferedPipe keeps as ``_buffer``, as a queue of the packets' bytes: paramiko's
    own ``array`` copies every packet in, and moves the whole rest of the buffer (up to the 8 MiB
    window) each time the SFTP reader takes its next 4 bytes off the front."""

    def __init__(self):
        self._parts: deque[bytes] = deque()
        self._size = 0
        self._skip = 0  # bytes of the first part already taken

    def __len__(self) -> int:
        return self._size

    def frombytes(self, data: bytes) -> None:
        if data:
            self._parts.append(bytes(data))
            self._size += len(data)

    def head(self, limit: int | None) -> bytes:
        want = self._size if limit is None else min(limit, self._size)
        out, at = [], self._skip
        for part in self._parts:
            if want <= 0:
                break
            piece = part[at:at + want]
            out.append(piece)
            want -= len(piece)
            at = 0
        return out[0] if len(out) == 1 else b"".join(out)

    def __delitem__(self, span: slice) -> None:
        n = self._size if span.stop is None else min(span.stop, self._size)
        self._size -= n
        n += self._skip
        while self._parts and n >= len(self._parts[0]):
            n -= len(self._parts.popleft())
        self._skip = n if self._parts else 0


class _Pipe(paramiko.buffered_pipe.BufferedPipe):
    """A channel's input buffer that moves each byte once."""

    def __init__(self):
        super().__init__()
        self._buffer = _Queue()

    def _buffer_frombytes(self, data) -> None:
        self._buffer.frombytes(data)

    def _buffer_tobytes(self, limit=None) -> bytes:
        return self._buffer.head(limit)


def open_sftp(transport: paramiko.Transport, window: int) -> paramiko.SFTPClient | None:
    """``SFTPClient.from_transport``, with a channel whose input is a :class:`_Pipe`."""
    chan = transport.open_session(window_size=window)
    if chan is None:
        return None
    chan.in_buffer = _Pipe()  # before the subsystem starts: nothing has arrived yet
    chan.invoke_subsystem("sftp")
    client = paramiko.SFTPClient(chan)
    client.max_write = max_write(client)  # type: ignore[attr-defined]
    return client


def max_write(client: paramiko.SFTPClient) -> int:
    """The most bytes the server takes in one write, where it says (OpenSSH's ``limits@openssh.com``
    extension, since 8.6); 0 where it does not (an unknown extension is answered "unsupported")."""
    try:
        t, msg = ask_all(client, [(CMD_EXTENDED, "limits@openssh.com")])[0]
        if t != CMD_EXTENDED_REPLY:
            return 0
        msg.get_int64()  # the longest packet
        msg.get_int64()  # the longest read
        return max(0, msg.get_int64())
    except (paramiko.SFTPError, paramiko.SSHException, EOFError, OSError, struct.error):
        return 0


# -- pipelined SFTP requests ----------------------------------------------------------------------
class _Replies:
    """Collects the answers to requests sent with ``_async_request`` (paramiko's fileobj protocol)."""

    def __init__(self):
        self.got: dict[int, tuple[int, paramiko.Message]] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.got[num] = (t, msg)

    def wait(self, client: paramiko.SFTPClient, num: int) -> tuple[int, paramiko.Message]:
        while num not in self.got:
            client._read_response()  # one packet, handed to whoever asked for it
        return self.got.pop(num)


def readdir(client: paramiko.SFTPClient, path: bytes, ahead: int = 4) -> Iterator[list[tuple[bytes, SFTPAttributes]]]:
    """A folder's names and attributes, a server reply at a time, ``ahead`` READDIRs on the wire."""
    t, msg = client._request(CMD_OPENDIR, path)
    if t != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_string()
    replies, pending, ended = _Replies(), deque(), False
    for _ in range(ahead):
        pending.append(client._async_request(replies, CMD_READDIR, handle))
    while pending:
        t, msg = replies.wait(client, pending.popleft())
        if t == CMD_STATUS:
            try:
                client._convert_status(msg)
            except EOFError:
                ended = True
            continue
        if t != CMD_NAME:
            raise paramiko.SFTPError("Expected name")
        out = []
        for _ in range(msg.get_int()):
            name = msg.get_string()
            msg.get_string()  # the ls -l line
            out.append((name, SFTPAttributes._from_msg(msg)))
        if not ended:
            pending.append(client._async_request(replies, CMD_READDIR, handle))
        yield out
    client._request(paramiko.sftp.CMD_CLOSE, handle)


def reads(client: paramiko.SFTPClient, handle: bytes, offset: int, size: int) -> Iterator[bytes]:
    """The bytes from ``offset`` to ``size``, in order, :data:`READS_IN_FLIGHT` reads on the wire."""
    replies, pending, at = _Replies(), deque(), offset
    while pending or at < size:
        while at < size and len(pending) < READS_IN_FLIGHT:
            n = min(READ_REQUEST, size - at)
            pending.append((client._async_request(replies, CMD_READ, handle, int64(at), n), at, n))
            at += n
        num, start, n = pending.popleft()
        while n:
            t, msg = replies.wait(client, num)
            if t == CMD_STATUS:
                try:
                    client._convert_status(msg)
                except EOFError:  # SFTP's end of file, not the connection's
                    raise Shorter() from None
                raise paramiko.SFTPError("Expected data")
            if t != CMD_DATA:
                raise paramiko.SFTPError("Expected data")
            data = msg.get_string()
            if not data:
                raise Shorter()
            yield data
            start, n = start + len(data), n - len(data)
            if n:  # a short read: the rest of this request's range, before going on
                num = client._async_request(replies, CMD_READ, handle, int64(start), n)


class Hashing:
    """A hashlib digest fed on a thread of its own, in order: hashing a block runs beside the
    sending of the next ones (hashlib lets go of the GIL) instead of between them. ``hexdigest()``
    waits for what was fed; ``close()`` (always, also after a failure) lets the thread end."""

    def __init__(self, digest: Any, span: int = 0):
        self._digest = digest
        self._blocks: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # with a span, the SHA-256 of each ``span`` bytes too: ``ranges``, once hexdigest() returned
        self._spans = SpanHashes(span, hashlib.sha256) if span else None
        self.ranges: list[str] = []

    def update(self, data: bytes) -> None:
        if self._thread is None and len(data) < BLOCK:  # a small file: a thread costs more
            return self._feed(data)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="gridclient-hash")
            self._thread.start()
        self._blocks.put(data)

    def _feed(self, block: bytes) -> None:
        self._digest.update(block)
        if self._spans is not None:
            self._spans.update(block)

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._feed(block)

    def close(self) -> None:
        if self._thread is not None:
            self._blocks.put(None)
            self._thread.join()
            self._thread = None

    def hexdigest(self) -> str:
        self.close()
        if self._spans is not None:
            self.ranges = [h.hexdigest() for h in self._spans.finish()]
        return self._digest.hexdigest()


def write_size(client: paramiko.SFTPClient, handle: bytes) -> int:
    """Bytes a write request carries: as many as fill whole SSH packets of the channel (paramiko
    sends at most the server's packet size less 64; a write's own fields take 25 bytes and the
    handle) — a 32 KiB write went out as a full packet and a 77-byte one. One packet's worth, at
    most :data:`REQUEST`, unless the server says it takes more (:func:`max_write`): then up to
    :data:`PACKETS` packets, each request then costing a fraction of the Python it did."""
    packet = client.get_channel().out_max_packet_size - 64
    fields = 25 + len(handle)
    packets = min(PACKETS, (getattr(client, "max_write", 0) + fields) // packet)
    if packets >= 2:
        return packets * packet - fields
    return max(4096, min(REQUEST, packet - fields))


def in_flight(step: int) -> int:
    """Write requests of ``step`` bytes kept on the wire: as many bytes as :data:`IN_FLIGHT` of
    :data:`REQUEST` (2 MiB), at least 4."""
    return max(4, IN_FLIGHT * REQUEST // step)


def read_exactly(source: BinaryIO, n: int) -> bytes:
    """``n`` bytes of ``source`` (a raw file or stream may give fewer at a time); fewer only at its end."""
    parts, left = [], n
    while left and (data := source.read(left)):
        parts.append(data)
        left -= len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def writes(client: paramiko.SFTPClient, handle: bytes, source: BinaryIO, offset: int, size: int,
           digest: Any, progress: Progress, stop: Any) -> None:
    """Write ``source``'s bytes (read from where it stands, a block at a time) at ``offset``…``size``,
    pipelined."""
    replies, pending, at = _Replies(), deque(), offset
    step = write_size(client, handle)
    depth = in_flight(step)
    block, used = b"", 0
    while pending or at < size:
        while at < size and len(pending) < depth:
            if stop.is_set():
                raise Cancelled()
            if used == len(block):
                block, used = source.read(min(BLOCK, size - at)), 0
                if not block:
                    raise Integrity(f"The file to upload ended after {at} of {size} bytes.")
                digest.update(block)
            data = block[used:used + step]
            used += len(data)
            pending.append((client._async_request(replies, CMD_WRITE, handle, int64(at), data), len(data)))
            at += len(data)
        num, n = pending.popleft()
        t, msg = replies.wait(client, num)
        if t != CMD_STATUS:
            raise paramiko.SFTPError("Expected status")
        client._convert_status(msg)  # a full disk, a quota: raised here
        progress(n)


def send_all(client: paramiko.SFTPClient, fileobj: Any, requests: list[tuple], unanswered: int = 0) -> list[int]:
    """``client._async_request(fileobj, *request)`` for each request, the messages written together:
    one SSH packet (and one send) for a few small requests, not one each — a read-ahead of small
    files spent half its time sending opens, reads and closes one packet at a time. The last
    ``unanswered`` requests' answers are read and dropped (a close nobody waits for)."""
    if len(requests) == 1 and not unanswered:
        return [client._async_request(fileobj, *requests[0])]
    out, nums = [], []
    with client._lock:  # as _async_request numbers and registers a request
        for n, (t, *args) in enumerate(requests):
            msg = paramiko.Message()
            msg.add_int(client.request_number)
            for item in args:
                if isinstance(item, int64):
                    msg.add_int64(item)
                elif isinstance(item, int):
                    msg.add_int(item)
                elif isinstance(item, SFTPAttributes):
                    item._pack(msg)
                else:
                    msg.add_string(item)
            nums.append(client.request_number)
            client._expecting[client.request_number] = fileobj if n < len(requests) - unanswered else type(None)
            client.request_number += 1
            body = msg.asbytes()
            out.append(struct.pack(">IB", len(body) + 1, t) + body)
    client._write_all(b"".join(out))
    return nums


def ask_all(client: paramiko.SFTPClient, requests: list[tuple]) -> list[tuple[int, paramiko.Message]]:
    """Several requests on the wire at once (one round trip, not one each); their answers in order."""
    replies = _Replies()
    return [replies.wait(client, num) for num in send_all(client, replies, requests)]


def attrs_of(client: paramiko.SFTPClient, answer: tuple[int, paramiko.Message]) -> SFTPAttributes | None:
    """An answer to STAT or FSTAT: the attributes, None for "no such file"; other errors raised."""
    t, msg = answer
    if t == CMD_ATTRS:
        return SFTPAttributes._from_msg(msg)
    try:
        client._convert_status(msg)
    except FileNotFoundError:
        return None
    raise paramiko.SFTPError("Expected attributes")


def settle(client: paramiko.SFTPClient, f: paramiko.SFTPFile, other: bytes, mtime: float | None,
           last: tuple[int, bytes] | None = None) -> tuple[SFTPAttributes, SFTPAttributes | None]:
    """A file's ``last`` write (offset, bytes: a small file's only one), its modification time set
    (``mtime``), its attributes, its handle closed, and ``other``'s attributes (None if it is not
    there) — in one round trip."""
    requests: list[tuple] = []
    if last is not None:
        requests.append((CMD_WRITE, f.handle, int64(last[0]), last[1]))
    if mtime is not None:
        times = SFTPAttributes()
        times.st_atime = times.st_mtime = mtime
        requests.append((CMD_FSETSTAT, f.handle, times))
    requests += [(CMD_FSTAT, f.handle), (CMD_CLOSE, f.handle), (CMD_STAT, other)]
    f._closed = True  # the CLOSE below is the handle's one: paramiko must not send its own
    answers = ask_all(client, requests)
    fstat, close, stat = answers[-3:]
    for t, msg in answers[:-3] + [close]:  # the WRITE, the FSETSTAT and the CLOSE: a status each
        if t != CMD_STATUS:
            raise paramiko.SFTPError("Expected status")
        client._convert_status(msg)
    mine = attrs_of(client, fstat)
    if mine is None:
        raise paramiko.SFTPError("Expected attributes")
    return mine, attrs_of(client, stat)


def look(client: paramiko.SFTPClient, path: bytes, other: bytes) -> tuple[SFTPAttributes, SFTPAttributes | None]:
    """:func:`settle`'s answer for a file written and closed already: its attributes and ``other``'s."""
    mine, was = (attrs_of(client, a) for a in ask_all(client, [(CMD_STAT, path), (CMD_STAT, other)]))
    if mine is None:
        raise FileNotFoundError(text(path))
    return mine, was


def refused_again(open_channel: Callable[[], Any], session: Any) -> Any:
    """``open_channel()``, again for a few seconds while the server refuses a channel: sshd counts
    a closed one (ours, or a command's) until its process has ended, so its MaxSessions may say
    no for a moment after we closed one."""
    for wait in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 0):
        try:
            return open_channel()
        except Exception as exc:  # noqa: BLE001 - SSHSession.run says "did not run" with the cause
            cause = exc.__cause__ or exc
            # paramiko hands a refusal's ChannelException to one of the threads opening channels at
            # that moment; another one gets "Unable to open channel."
            refused = isinstance(cause, paramiko.ChannelException) or (
                isinstance(cause, paramiko.SSHException) and "Unable to open channel" in str(cause))
            if not refused or not wait or not session.connected:
                raise
            time.sleep(wait)


# -- one connection --------------------------------------------------------------------------------
class Connection:
    """One SSH connection to one (vo_id, root), its pool of SFTP channels, and its exec channels."""

    def __init__(self, where: str, target: Any, known_hosts: Any, interaction: Any, session: Any = None):
        self.where, self.target, self.known_hosts, self.interaction = where, target, known_hosts, interaction
        self._session = session  # a terminal's, while it lives; then one of our own
        self._owned = session is None
        self._dial = threading.Lock()
        self._cond = threading.Condition()
        self._idle: list[paramiko.SFTPClient] = []
        self._busy = 0  # channels in use (SFTP and exec)
        self.generation = 0
        self.shell: bool | None = None  # commands run (not an SFTP-only account); None: not asked yet
        self.sha256: bool | None = None
        self.cp = True
        self.tar: bool | None = None  # GNU tar streams small files here; None: not tried yet
        self.execs = 0  # exec channels opened on this connection (the checksum helper's included)
        self.sums = Sums(self)

    # -- the SSH session ---------------------------------------------------------------------
    def session(self):
        with self._dial:
            s = self._session
            if s is not None and s.connected:
                return s
            from gridclient.ssh import SSHError, SSHSession

            if s is not None and self._owned:
                s.close()
            s = SSHSession(self.target, self.known_hosts, self.interaction)
            try:
                s.connect()
            except SSHError as exc:
                raise Unreachable(str(exc), exc) from exc
            with self._cond:
                old, self._idle = self._idle, []
                self._session, self._owned = s, True
                self.generation += 1
                self._cond.notify_all()
            for client in old:
                close_quietly(client)
            return s

    def lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection is gone (then the next operation dials again)."""
        if isinstance(exc, (StorageError, Cancelled)):
            return False
        s = self._session
        alive = s is not None and s.connected
        gone = isinstance(exc, (EOFError, paramiko.SSHException, socket.timeout, ConnectionError)) or (
            isinstance(exc, OSError) and exc.errno is None and not alive)
        if gone:
            with self._dial:
                if self._session is s and s is not None:
                    if self._owned:
                        s.close()
                    self._session = None
        return gone

    def failure(self, exc: BaseException, what: str, verb: str) -> BaseException:
        """``exc`` as a sentence: a StorageError (or the Cancelled / Integrity it was)."""
        if isinstance(exc, (StorageError, Cancelled)):
            return exc
        if isinstance(exc, Shorter):
            return Integrity(f"{what} got shorter while it was read.")
        if self.lost(exc):
            return ConnectionLost(f"The connection to {self.where} was lost while trying to {verb} {what} "
                                  f"({said(exc)}). It is made again at the next try.")
        if isinstance(exc, FileNotFoundError):
            return NotFound(f"{what} does not exist.")
        if isinstance(exc, PermissionError):
            return StorageError(f"The server does not let you {verb} {what}.")
        return StorageError(f"Could not {verb} {what}: {said(exc)}.")

    # -- channels --------------------------------------------------------------------------------
    def _slot(self, sftp: bool) -> paramiko.SFTPClient | None:
        """Wait for a free channel; an idle SFTP channel itself when one is wanted and there."""
        spare = None
        with self._cond:
            while True:
                if sftp and self._idle:
                    self._busy += 1
                    return self._idle.pop()
                if self._busy + len(self._idle) < MAX_CHANNELS:
                    self._busy += 1
                    break
                if self._idle:  # an exec channel in the place of an idle SFTP one
                    spare = self._idle.pop()
                    self._busy += 1
                    break
                self._cond.wait()
        if spare is not None:
            close_quietly(spare)
        return None

    def release(self, client: paramiko.SFTPClient | None = None, keep: bool = False, generation: int = -1) -> None:
        with self._cond:
            self._busy -= 1
            if client is not None and keep and generation == self.generation and not client.sock.closed:
                self._idle.append(client)
                client = None
            self._cond.notify()
        if client is not None:
            close_quietly(client)

    def take(self) -> tuple[paramiko.SFTPClient, int]:
        """An SFTP channel for this thread alone; give it back with :meth:`release`."""
        session = self.session()
        generation = self.generation
        client = self._slot(True)
        if client is not None:
            return client, generation
        try:
            client = refused_again(lambda: open_sftp(session.transport, WINDOW), session)
            if client is None:
                raise paramiko.SSHException("no channel")
            client.get_channel().settimeout(SILENCE)
        except BaseException as exc:
            self.release()
            if session.connected:  # the connection is there, SFTP is not
                raise StorageError(f"{self.where} did not open an SFTP channel ({said(exc)}). Check that "
                                   "the server offers SFTP (its sshd_config's Subsystem sftp).") from exc
            reraise(self.failure(exc, self.where, "reach"), exc)
        return client, generation

    def run(self, fn: Callable[[paramiko.SFTPClient], Any], what: str, verb: str, again: bool = True) -> Any:
        """``fn(client)`` — synchronous requests only — on a channel; if the connection turns out to
        have dropped, once more on a new one (unless ``again`` is False)."""
        for attempt in (0, 1):
            client, generation = self.take()
            try:
                result = fn(client)
            except BaseException as exc:
                lost = self.lost(exc)
                self.release(client, keep=not lost, generation=generation)
                if lost and again and attempt == 0:
                    log.info("SFTP connection to %s dropped (%s); connecting again", self.where, exc)
                    continue
                reraise(self.failure(exc, what, verb), exc)
            self.release(client, keep=True, generation=generation)
            return result
        raise AssertionError("unreachable")

    def exec(self, command: str, timeout: float) -> tuple[int, str, str]:
        """Run a command on an exec channel of the same connection."""
        from gridclient.ssh import SSHError

        session = self.session()
        self._slot(False)
        self.execs += 1
        try:
            return refused_again(lambda: session.run(command, timeout=timeout), session)
        except SSHError as exc:
            if not session.connected:
                self.lost(EOFError(str(exc)))
            raise StorageError(f"{self.where}: {exc}") from exc
        finally:
            self.release()

    def exec_channel(self, command: str, timeout: float):
        """An exec channel of this connection running ``command`` (the checksum process, a tar
        stream): opened again for a few seconds while the server refuses one (MaxSessions)."""
        session = self.session()

        def open_():
            chan = session.transport.open_session(timeout=timeout)
            chan.exec_command(command)
            return chan

        chan = refused_again(open_, session)
        self.execs += 1
        return chan

    def probe(self) -> None:
        """Once per connection: do commands run here (not an SFTP-only account), and how are files
        checked (:class:`gridclient.storage.sftp_sums.Sums`)?"""
        self.sums.probe()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for client in idle:
            close_quietly(client)
        self.sums.close()
        with self._dial:
            if self._session is not None and self._owned:
                self._session.close()
            self._session = None


def make_folders(client: paramiko.SFTPClient, path: str, where: str) -> None:
    """``mkdir -p path`` with one channel."""
    try:
        if st.S_ISDIR(client.stat(raw(path)).st_mode or 0):
            return  # there already: one request
    except FileNotFoundError:
        pass
    at = ""
    for part in path.strip("/").split("/"):
        at += "/" + part
        try:
            client.mkdir(raw(at))
        except OSError:  # there already (a generic failure), or not allowed
            try:
                mode = client.stat(raw(at)).st_mode  # a link to a folder is a folder here
            except FileNotFoundError:
                raise StorageError(f"Could not make the folder {at} on {where}.") from None
            if not st.S_ISDIR(mode or 0):
                raise StorageError(f"{at} on {where} is a file, not a folder.") from None


def remove_tree(client: paramiko.SFTPClient, path: bytes, problems: list[str]) -> None:
    """Remove ``path``: a file or a link with ``remove`` (a link itself, never its target), a folder
    after everything in it (links inside are not followed). Problems are noted, the rest goes on."""
    attr = client.lstat(path)
    if not st.S_ISDIR(attr.st_mode or 0):
        client.remove(path)
        return
    todo, folders = [path], []
    while todo:
        here = todo.pop()
        folders.append(here)
        for batch in readdir(client, here):
            for name, a in batch:
                if name in (b".", b"..") or b"/" in name:
                    continue
                child = here.rstrip(b"/") + b"/" + name
                if st.S_ISDIR(a.st_mode or 0):
                    todo.append(child)
                    continue
                try:
                    client.remove(child)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    problems.append(f"{text(child)}: {said(exc)}")
    for folder in reversed(folders):  # deepest first
        try:
            client.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if not problems:
                problems.append(f"{text(folder)}: {said(exc)}")


class Chunks:
    """Chunks of bytes as a ``read(n)`` source that may give fewer than ``n`` (a raw file's way)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buf = chunks, b""

    def read(self, n: int) -> bytes:
        if not self._buf:
            self._buf = next(self._chunks, b"")
        out, self._buf = self._buf[:n], self._buf[n:]
        return out
