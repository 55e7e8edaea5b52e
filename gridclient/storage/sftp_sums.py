"""Server checksums of the ``sftp`` scheme (:mod:`gridclient.storage.sftp`): the SHA-256 of a file
computed by the server from what is on its disk. Qt-free.

One long-lived helper per connection. Opening an exec channel and starting the login shell costs
~40–250 ms a command (bash reads ~/.bashrc even for ``bash -c``); a file's ``sha256sum`` a few ms.
So each connection runs ONE command for its checksums, on one exec channel kept open
(:data:`HELPER`: ``exec sh -c '…'``, a POSIX ``sh`` loop), and every file's check is one line to it
and one line back:

- start: the client sends ``hello``; the helper answers ``ready PID TOOLS`` (PID its process on the
  server; TOOLS two digits: ``sha256sum`` works, ``openssl dgst -sha256`` works — each checked on the
  empty input) or ``no`` (neither: sizes only). Anything the login shell prints before is skipped;
- a request: ``K T PATH`` on one line. ``K`` is ``h`` (the rest of the line is the path's bytes as
  they are: printable ASCII only) or ``e`` (escaped: every byte outside printable ASCII, and every
  backslash, written ``\\0ooo``, decoded by ``printf '%b'`` with a guard for trailing newlines) — so
  any name a server can hold (newlines, quotes, spaces, leading dashes, bytes that are not UTF-8)
  reaches the helper whole and the line stays one line. ``T`` is ``s`` (``sha256sum < PATH``) or
  ``o`` (``openssl dgst -sha256 -r < PATH``: OpenSSL's SHA-256 is several times faster on large
  files; its start-up slower, so files under :data:`FAST_FROM` use ``sha256sum``);
- an answer: ``= HEX`` (the 64 hex digits) or ``E missing`` / ``E unreadable``; answers come in the
  order of the requests, so several threads' requests are on the wire at once (pipelined; the
  helper hashes one file at a time);
- a range of a file (an upload's, checked while the rest is still on its way): ``r SKIP COUNT``
  and a space before the request — the SHA-256 of COUNT MiB from MiB SKIP (``dd bs=1048576 skip=…
  count=…`` into the tool);
- a batch (many small files: a ``sha256sum`` started per file cost the server ~1 ms of CPU each):
  ``m s N`` and then N lines, each a path of printable ASCII without a backslash (an absolute path:
  never taken for an option). The answer: ``E missing PATH`` / ``E unreadable PATH`` for the ones
  that are not readable files, then ONE ``sha256sum -- PATH…`` of the rest (its lines, ``HEX  PATH``),
  then ``.``. Answers are matched to the paths; a path the batch did not answer (gone between the
  test and the hashing) is asked again on its own.

The file is read through a redirection, never as an argument, so no name is taken for an option.
A helper that dies (its channel closes: killed, the connection dropped) is started again by the
next request, and the requests it had not answered are asked once more of the new one. A request
waits at most 60 s + its bytes and those queued before it at 20 MB/s; then the helper counts as
stuck: it is closed and the file fails. Where the helper does not start (a restricted shell, no
``sh``), a command per file (``sha256sum < PATH`` on its own exec channel, as before) checks;
where commands do not run at all (an SFTP-only account: ``ForceCommand internal-sftp``, which reads
our ``hello`` as a malformed SFTP packet and hangs up at once) only sizes are checked.

The loopback server of the demo sandbox runs no shell: it recognizes :data:`HELPER` exactly and
answers the same protocol on its confined files (:mod:`providers.sandbox.sftp_server`).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import re
import shlex
import socket
import threading
import time
from typing import Any

from gridclient.storage.base import Entry, Integrity, StorageError

log = logging.getLogger(__name__)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
FAST_FROM = 4 * 1024 * 1024  # files from this size are hashed with openssl where it works
START_TIMEOUT = 15.0  # seconds for the helper's greeting (the login shell starts first)
RATE = 20e6  # bytes a second a request's time limit counts on
BUSY = 2  # requests the helper works on before more small files are gathered for a batch

# One line (csh and fish take a single-quoted newline badly), no single quote and no backslash (the
# login shell gives it to sh as one single-quoted word; fish would read a backslash there).
_SCRIPT = (
    "exec 2>/dev/null; e=" + EMPTY_SHA256 + "; s=0; f=0; "
    "o=$(printf \"\" | sha256sum) && [ \"${o%% *}\" = $e ] && s=1; "
    "o=$(printf \"\" | openssl dgst -sha256 -r) && [ \"${o%% *}\" = $e ] && f=1; "
    "IFS= read -r l; "
    "[ $s$f = 00 ] && { echo no; exit 0; }; "
    "echo \"ready $$ $s$f\"; "
    "while IFS= read -r l; do "
    "case $l in m*) n=${l#????}; set --; "
    "while [ $n -gt 0 ] && IFS= read -r p; do n=$((n-1)); "
    "if [ -f \"$p\" ] && [ -r \"$p\" ]; then set -- \"$@\" \"$p\"; "
    "elif [ -e \"$p\" ]; then echo \"E unreadable $p\"; else echo \"E missing $p\"; fi; done; "
    "[ $# -gt 0 ] && sha256sum -- \"$@\"; echo .; continue;; esac; "
    "case $l in r*) r=${l#??}; k=${r%% *}; r=${r#* }; c=${r%% *}; l=${r#* };; *) k=;; esac; "
    "case $l in e*) p=$(printf \"%bx\" \"${l#????}\"); p=${p%x};; *) p=${l#????};; esac; "
    "if [ -n \"$k\" ]; then [ -f \"$p\" ] && [ -r \"$p\" ] && "
    "case $l in ??o*) o=$(dd if=\"$p\" bs=1048576 skip=$k count=$c | openssl dgst -sha256 -r);; "
    "*) o=$(dd if=\"$p\" bs=1048576 skip=$k count=$c | sha256sum);; esac; "
    "else case $l in ??o*) o=$(openssl dgst -sha256 -r < \"$p\");; *) o=$(sha256sum < \"$p\");; esac; fi "
    "&& echo \"= ${o%% *}\" "
    "|| { [ -e \"$p\" ] && echo \"E unreadable\" || echo \"E missing\"; }; "
    "done"
)
HELPER = "exec sh -c " + shlex.quote(_SCRIPT)
HELLO = b"hello\n"
_PLAIN = frozenset(range(0x20, 0x7F))  # printable ASCII: sent as it is (the line stays a line)
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")  # the same bytes, a whole path at once
_HEX = re.compile(r"[0-9a-f]{64}")


def request(path: bytes, tool: str) -> bytes:
    """The request line for ``path`` (its bytes on the server), ``tool`` "s" or "o"."""
    if _PRINTABLE.fullmatch(path):
        return b"h " + tool.encode() + b" " + path + b"\n"
    out = bytearray(b"e " + tool.encode() + b" ")
    for b in path:
        out += bytes([b]) if b in _PLAIN and b != 0x5C else b"\\0%03o" % b
    return bytes(out) + b"\n"


def decode_request(line: bytes) -> tuple[str, bytes] | None:
    """(tool, path bytes) of a request line (without its newline, nor a range's ``r SKIP COUNT``), as
    the helper reads it; None if it is none. The demo's server answers with this."""
    if len(line) < 4 or line[:1] not in (b"h", b"e") or line[1:2] != b" " or line[3:4] != b" ":
        return None
    tool, rest = line[2:3].decode("ascii", "replace"), line[4:]
    if line[:1] == b"e":
        rest = re.sub(rb"\\0([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8) & 0xFF]), rest)
    return tool, rest


class HelperDied(Exception):
    """The helper's channel closed before it answered."""


class Pending:
    """A checksum asked for; :meth:`result` waits for it (the hex digest, or None: not checked here).
    ``span``: (first MiB, MiB) of a range of the file, else None."""

    def __init__(self, sums: "Sums", path: bytes, size: int, what: str, span: tuple[int, int] | None = None):
        self.sums, self.path, self.size, self.what, self.span = sums, path, size, what, span
        self.ahead = 0  # bytes queued before this request on its helper
        self._done = threading.Event()
        self._answer: str | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _set(self, answer: str | None = None, error: BaseException | None = None) -> None:
        self._answer, self._error = answer, error
        self._done.set()

    def result(self) -> str | None:
        if self._thread is not None:  # a command of its own (no helper)
            self._thread.join()
        else:
            for attempt in (0, 1):
                limit = 60 + (self.size + self.ahead) / RATE
                if not self._done.wait(limit):
                    self.sums.stuck(self, limit)
                if isinstance(self._error, HelperDied) and attempt == 0:
                    log.info("checksum helper on %s stopped (%s); asking a new one", self.sums.conn.where,
                             self._error)
                    self._done.clear()
                    self._error = None
                    if self.sums.resend(self):
                        continue
                break
        if isinstance(self._error, HelperDied):
            raise StorageError(f"Could not compute the checksum of {self.what} on the server: the checksum "
                               f"command stopped twice ({self._error}).")
        if self._error is not None:
            raise self._error
        return self._answer


def batchable(path: bytes) -> bool:
    """A path that may go in a batch: printable ASCII without a backslash, and absolute."""
    return path.startswith(b"/") and b"\\" not in path and _PRINTABLE.fullmatch(path) is not None


class Batch:
    """Pending checksums asked in one batch request; answered by path, then ``.``."""

    def __init__(self, pendings: list[Pending]):
        self.pendings = pendings
        self.size = sum(p.size for p in pendings)
        self._by_path: dict[bytes, list[Pending]] = {}
        for p in pendings:
            self._by_path.setdefault(p.path, []).append(p)

    def answer(self, line: bytes) -> list[tuple[Pending, str | None, BaseException | None]]:
        """What one line of the answer settles: (pending, digest, error)."""
        if line.startswith(b"E "):
            kind, _, path = line[2:].partition(b" ")
            reason = "it is not there" if kind == b"missing" else "it cannot be read there"
            return [(p, None, StorageError(f"Could not compute the checksum of {p.what} on the server: {reason}."))
                    for p in self._by_path.pop(path, [])]
        digest, path = line[:64].decode("ascii", "replace"), line[66:]
        if not _HEX.fullmatch(digest) or line[64:66] not in (b"  ", b" *"):
            return []
        return [(p, digest, None) for p in self._by_path.pop(path, [])]

    def unanswered(self) -> list[Pending]:
        left = [p for group in self._by_path.values() for p in group]
        self._by_path.clear()
        return left


class Helper:
    """The helper's exec channel: requests written in order, answers read by a thread of its own."""

    def __init__(self, conn: Any, channel: Any, pid: int, tools: str, rest: bytes):
        self.conn, self.channel, self.pid = conn, channel, pid
        self.sha256sum, self.openssl = tools[:1] == "1", tools[1:2] == "1"
        self.generation = conn.generation
        self.queue: collections.deque[Pending | Batch] = collections.deque()
        self.queued_bytes = 0
        self.answered = 0
        self.batches = 0  # batch requests sent (each one sha256sum on the server)
        self.alive = True
        self._lock = threading.Lock()
        self._sending = threading.RLock()
        self._outbox: list[Pending] = []  # gathered for the next batch
        self._kick = threading.Event()
        self._buf = rest
        self._reader = threading.Thread(target=self._read, daemon=True, name="gridclient-sums")
        self._reader.start()
        threading.Thread(target=self._flusher, daemon=True, name="gridclient-sums-batch").start()

    def ask(self, pending: Pending) -> bool:
        """Queue ``pending``'s request; False if this helper has gone."""
        tool = "o" if self.openssl and (pending.size >= FAST_FROM or not self.sha256sum) else "s"
        line = request(pending.path, tool)
        if pending.span is not None:
            line = b"r %d %d " % pending.span + line
        return self._send(pending, [pending], line)

    def ask_many(self, pendings: list[Pending]) -> bool:
        """Queue a :class:`Batch` of ``pendings`` (batchable paths, sha256sum); False if this
        helper has gone."""
        lines = b"m s %d\n" % len(pendings) + b"".join(p.path + b"\n" for p in pendings)
        return self._send(Batch(pendings), pendings, lines)

    def gather(self, pending: Pending) -> bool:
        """Queue ``pending`` (a batchable path, sha256sum) to go in the next batch: sent now while
        the helper has little to do, else once it has answered one of the requests it works on —
        threads each asking for one file (an upload's workers) are answered by a batch."""
        with self._lock:
            if not self.alive:
                return False
            self._outbox.append(pending)
            idle = len(self.queue) < BUSY
        if idle:
            self._flush()
        return True

    def _flush(self) -> None:
        with self._sending:
            with self._lock:
                take, self._outbox = self._outbox, []
            if len(take) == 1:
                sent = self.ask(take[0])
            else:
                sent = not take or self.ask_many(take)
            if not sent:
                for p in take:
                    p._set(error=HelperDied("it stopped"))

    def _flusher(self) -> None:
        while self.alive:
            self._kick.wait(1.0)
            self._kick.clear()
            if self._outbox:
                self._flush()

    def _send(self, asked: Pending | Batch, pendings: list[Pending], data: bytes) -> bool:
        # the lines in the order of the queue; the reader never waits for this lock (re-entrant:
        # a flush holds it around its ask)
        with self._sending:
            with self._lock:
                if not self.alive:
                    return False
                for p in pendings:
                    p.ahead = self.queued_bytes
                self.queue.append(asked)
                self.queued_bytes += sum(p.size for p in pendings)
                self.batches += isinstance(asked, Batch)
            try:
                self.channel.sendall(data)
            except Exception as exc:  # noqa: BLE001 - the channel went
                self._end(HelperDied(str(exc) or type(exc).__name__))
        return True

    def _read(self) -> None:
        why = "its channel closed"
        try:
            while True:
                while b"\n" in self._buf:
                    line, self._buf = self._buf.split(b"\n", 1)
                    self._answer(line)
                try:
                    data = self.channel.recv(65536)
                except socket.timeout:
                    if not self.alive:
                        return
                    continue
                if not data:
                    break
                self._buf += data
        except Exception as exc:  # noqa: BLE001 - the channel went
            why = str(exc) or type(exc).__name__
        self._end(HelperDied(why))

    def _answer(self, raw_line: bytes) -> None:
        with self._lock:
            if not self.queue:
                log.warning("checksum helper on %s said %r unasked", self.conn.where, raw_line[:80])
                return
            head = self.queue[0]
            if isinstance(head, Batch):
                if raw_line.rstrip(b"\r") != b".":
                    settled = head.answer(raw_line)
                    self.answered += len(settled)
                else:
                    self.queue.popleft()
                    self.queued_bytes -= head.size
                    settled = [(p, None, HelperDied("the batch did not answer it")) for p in head.unanswered()]
                batch = True
            else:
                pending = self.queue.popleft()
                self.queued_bytes -= pending.size
                self.answered += 1
                batch = False
        if self._outbox and len(self.queue) < BUSY:
            self._kick.set()
        if batch:
            for p, digest, error in settled:
                p._set(digest, error)
            return
        line = raw_line.decode("ascii", "replace").strip()
        word = line[2:].strip()
        if line.startswith("= ") and _HEX.fullmatch(word):
            pending._set(word)
        else:
            reason = {"E missing": "it is not there", "E unreadable": "it cannot be read there"}.get(
                line, f"the checksum command said {line[:80]!r}")
            pending._set(error=StorageError(f"Could not compute the checksum of {pending.what} on the server: "
                                            f"{reason}."))

    def _end(self, error: BaseException) -> None:
        with self._lock:
            self.alive = False
            asked, self.queue = list(self.queue), collections.deque()
            self.queued_bytes = 0
            gathered, self._outbox = self._outbox, []
        self._kick.set()  # the flusher ends
        left = [p for a in asked for p in (a.unanswered() if isinstance(a, Batch) else [a])] + gathered
        for pending in left:
            pending._set(error=error)
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001 - closing what is already broken
            pass

    def close(self) -> None:
        self._end(HelperDied("closed"))


class Sums:
    """A connection's server checksums: its helper, else a command per file, else none (sizes only).
    ``mode``: None (not asked yet), "helper", "exec" or "none"."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.mode: str | None = None
        self.helper: Helper | None = None
        self.started = 0  # helpers started on this connection (the first, then each restart)
        self._lock = threading.Lock()

    # -- asking ----------------------------------------------------------------------------------
    def probe(self) -> None:
        """Once per connection (again after it dropped, if the first try lost it): what checks here."""
        with self._lock:
            if self.mode is None:
                self._start()

    def submit(self, path: bytes, size: int, what: str) -> Pending | None:
        """Ask for the SHA-256 of ``path`` (the bytes of a path on the server) now; None where the
        server cannot say (then only the size is checked)."""
        self.probe()
        if not self.conn.sha256:
            return None
        pending = Pending(self, path, size, what)
        if self.mode == "exec":
            pending._thread = threading.Thread(target=self._by_command, args=(pending,), daemon=True,
                                               name="gridclient-sha256")
            pending._thread.start()
        elif size < FAST_FROM and batchable(path) and self._send(lambda h: h.sha256sum and h.gather(pending)):
            pass
        elif not self.resend(pending):
            pending._set(error=HelperDied("it did not start again"))
        return pending

    def submit_range(self, path: bytes, first: int, count: int, size: int, what: str) -> Pending | None:
        """The SHA-256 of ``count`` MiB of ``path`` from MiB ``first`` (``size`` bytes), by the
        helper; None where there is no helper (then the whole file is asked for at the end)."""
        self.probe()
        if not self.conn.sha256 or self.mode != "helper":
            return None
        pending = Pending(self, path, size, what, (first, count))
        if not self.resend(pending):
            pending._set(error=HelperDied("it did not start again"))
        return pending

    def submit_many(self, files: list[tuple[bytes, int, str]]) -> list[Pending | None]:
        """:meth:`submit` for several files (path, size, what) at once: the small ones with a path
        that may be batched are asked in ONE request (a single ``sha256sum`` on the server)."""
        self.probe()
        if not self.conn.sha256:
            return [None] * len(files)
        pendings = [Pending(self, path, size, what) for path, size, what in files]
        together = [p for p in pendings if p.size < FAST_FROM and batchable(p.path)]
        if self.mode != "helper" or len(together) < 2 or not self._send(lambda h: h.sha256sum and h.ask_many(together)):
            together = []
        for p in pendings:
            if p not in together:
                if self.mode == "exec":
                    p._thread = threading.Thread(target=self._by_command, args=(p,), daemon=True,
                                                 name="gridclient-sha256")
                    p._thread.start()
                elif not self.resend(p):
                    p._set(error=HelperDied("it did not start again"))
        return pendings

    def resend(self, pending: Pending) -> bool:
        """Queue ``pending`` on the helper, started again if it has gone; False if it cannot be."""
        return self._send(lambda helper: helper.ask(pending))

    def _send(self, ask) -> bool:
        """``ask(helper)`` on the live helper, started again if it has gone; False if it cannot be
        (or ``ask`` says no)."""
        for _ in (0, 1):
            with self._lock:
                helper = self.helper
                if helper is None or not helper.alive or helper.generation != self.conn.generation:
                    if helper is not None:
                        helper.close()
                    helper = self._start()
                if helper is None:
                    return False
            if ask(helper):
                return True
            if helper.alive:  # it said no (no sha256sum for a batch): not a dead helper
                return False
        return False

    def stuck(self, pending: Pending, limit: float) -> None:
        """``pending`` waited ``limit`` seconds: its helper is closed (the next request starts
        another) and the file fails."""
        with self._lock:
            helper = self.helper
        if helper is not None:
            helper.close()
        raise StorageError(f"Could not compute the checksum of {pending.what} on the server: no answer "
                           f"within {limit:.0f} seconds.")

    def close(self) -> None:
        with self._lock:
            helper, self.helper = self.helper, None
        if helper is not None:
            helper.close()

    # -- starting ----------------------------------------------------------------------------------
    def _start(self) -> Helper | None:
        """(Under the lock.) Start the helper; on the first time, settle ``mode`` and the
        connection's ``shell`` / ``sha256``."""
        first = self.mode is None
        helper, why = self._open_helper()
        if helper is not None:
            self.helper, self.mode = helper, "helper"
            self.started += 1
            if first:
                self.conn.shell, self.conn.sha256 = True, helper.sha256sum or helper.openssl
            log.info("%s: checksum helper started (pid %s on the server, sha256sum %s, openssl %s)",
                     self.conn.where, helper.pid, helper.sha256sum, helper.openssl)
            return helper
        if not first:
            return None  # it ran before: this file fails; the next one tries again
        if why == "no":  # commands run, neither tool is there
            self.mode, self.conn.shell, self.conn.sha256 = "none", True, False
            return None
        log.info("%s: no checksum helper (%s); asking with a command per file", self.conn.where, why)
        status, out, err = self._command("sha256sum </dev/null", 15)
        if status is None:  # nothing runs here (an SFTP-only account)
            self.mode, self.conn.shell, self.conn.sha256 = "none", False, False
        else:
            ok = status == 0 and out.split()[:1] == [EMPTY_SHA256]
            self.mode = "exec" if ok else "none"
            self.conn.sha256, self.conn.shell = ok, ok or status == 127 or "not found" in err
        log.info("%s: commands %s, sha256sum %s", self.conn.where, self.conn.shell, self.conn.sha256)
        return None

    def _open_helper(self) -> tuple[Helper | None, str]:
        """The helper started and greeted, or (None, why not)."""
        try:
            chan = self.conn.exec_channel(HELPER, START_TIMEOUT)
            chan.sendall(HELLO)
        except Exception as exc:  # noqa: BLE001 - refused, or the connection went
            self._lost_if_gone(exc)
            return None, str(exc) or type(exc).__name__
        buf, deadline = b"", time.monotonic() + START_TIMEOUT
        chan.settimeout(1.0)
        try:
            while True:
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    words = line.decode("ascii", "replace").split()
                    if words == ["no"]:
                        chan.close()
                        return None, "no"
                    if len(words) == 3 and words[0] == "ready" and words[1].isdigit():
                        return Helper(self.conn, chan, int(words[1]), words[2], buf), ""
                    # anything the login shell printed before: skipped
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {START_TIMEOUT:g} seconds")
                try:
                    data = chan.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    raise EOFError("it ended at once")
                buf += data
        except Exception as exc:  # noqa: BLE001 - then: a command per file, or sizes only
            chan.close()
            self._lost_if_gone(exc)
            return None, str(exc) or type(exc).__name__

    def _command(self, command: str, timeout: float) -> tuple[int | None, str, str]:
        """Run ``command`` on an exec channel of its own, its input closed (a ForceCommand
        internal-sftp ends at once then): (status or None if nothing ran, stdout, stderr)."""
        try:
            chan = self.conn.exec_channel(command, timeout)
        except Exception as exc:  # noqa: BLE001
            self._lost_if_gone(exc)
            return None, "", str(exc)
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            chan.shutdown_write()
            chan.settimeout(0.2)
            while not (chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready()):
                if time.monotonic() > deadline:
                    raise StorageError(f"{self.conn.where}: the command did not finish within {timeout:g} seconds.")
                try:
                    while chan.recv_stderr_ready():
                        err += chan.recv_stderr(65536)
                    data = chan.recv(65536)
                    if not data and chan.closed:
                        break
                    out += data
                except socket.timeout:
                    pass
                if chan.closed and not chan.recv_ready():
                    break
            status = chan.recv_exit_status() if chan.exit_status_ready() else -1
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._lost_if_gone(exc)
            raise StorageError(f"{self.conn.where}: the command did not run ({exc}).") from exc
        finally:
            chan.close()
        text_out, text_err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if status == -1 or (status == 255 and not text_out):  # internal-sftp in its place, or a hang-up
            return None, text_out, text_err
        return status, text_out, text_err

    def _by_command(self, pending: Pending) -> None:
        """A command per file (no helper here): ``sha256sum < PATH``."""
        try:
            path = pending.path.decode("utf-8")
        except UnicodeDecodeError:
            pending._set(None)  # a name that is not UTF-8 is not typed into a command line
            return
        self.conn._slot(False)  # a channel of the connection's pool, as any command's
        try:
            status, out, err = self._command(f"sha256sum < {shlex.quote(path)}", 60 + pending.size / RATE)
            word = out.split()[:1]
            if status != 0 or not word or not _HEX.fullmatch(word[0]):
                raise StorageError(f"Could not compute the checksum of {pending.what} on the server: "
                                   f"{err.strip() or f'sha256sum exited with {status}'}.")
            pending._set(word[0])
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            pending._set(error=exc)
        finally:
            self.conn.release()

    def _lost_if_gone(self, exc: BaseException) -> None:
        s = self.conn._session
        if s is None or not s.connected:
            self.conn.lost(EOFError(str(exc)))
            from gridclient.storage.sftp_channels import ConnectionLost

            raise ConnectionLost(f"The connection to {self.conn.where} was lost while asking for a checksum "
                                 f"({exc}). It is made again at the next try.") from exc


# -- what the scheme compares -----------------------------------------------------------------------
def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


class Sha256Check:
    """A download's checker: the SHA-256 of the bytes fed, against the one the server computes
    meanwhile (asked of the connection's checksum helper when the download starts: the file is not
    changing, and if it did, the comparison at the end says so)."""

    def __init__(self, scheme: Any, entry: Entry, asked: tuple[bool, Pending | None] = (False, None)):
        self.entry, self.digest = entry, hashlib.sha256()
        self._pending = asked[1] if asked[0] else scheme.ask_sha256(entry.location, entry.size)

    def update(self, data) -> None:
        self.digest.update(data)

    def finish(self) -> None:
        remote = self._pending.result() if self._pending is not None else None
        if remote is not None and remote != self.digest.hexdigest():
            raise Integrity(f"{self.entry.location.display}: the bytes received differ from the file's "
                            "on the server (SHA-256).")
