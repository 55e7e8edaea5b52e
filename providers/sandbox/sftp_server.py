"""The demo SSH endpoint's files: an SFTP subsystem confined to a throwaway folder per login user.

What a person sees. Each login user (``ubuntu``, ``ec2-user``, …) has a file system of its own,
a folder on this machine presented as "/": its home is ``/home/<user>`` (``canonicalize(".")``),
seeded with a README, a ``config.ini`` and a ``data/`` folder, and it is the only thing reachable.
"/" rather than the home as the top keeps paths as they are on a real instance (``/home/ubuntu``,
what the ``sftp`` scheme shows as the home and what a person types), and going up stops at "/".

Why per login user, not per instance. The demo's instances are moto records: every one is reached
through the VO's one ``ssh_host_override`` (this endpoint), with the same host key and (for the
seeded ones) the same key pair, so a connection says nothing about which instance it is for — and
the app itself keys its SFTP connections by ``user@host:port``, so two instances with one login
user would share one connection anyway. The user is what differs between image families, so
Ubuntu and Amazon Linux instances each have their own files.

Confinement. Every path the client sends is made absolute (relative to the home), normalized with
".." stopping at "/", and joined under the root; then resolved with ``os.path.realpath`` and
checked to be inside the root (``commonpath``) — all of it for operations that follow links
(open, stat, list, setstat), all but the last name for those that act on a link itself (lstat,
remove, rename, readlink, mkdir, rmdir, symlink). A file is opened with ``O_NOFOLLOW`` on the
resolved path. A link whose target is outside is listed as a link; going through it answers
"permission denied". A link made over SFTP with an absolute target points into the root
(``readlink`` gives the target back as typed).

Commands. The ``sftp`` storage scheme runs a few commands on exec channels: its long-lived
checksum helper (:data:`gridclient.storage.sftp_sums.HELPER`, one per connection: a line per file
in, a SHA-256 out), and where that does not start ``sha256sum <FILE`` (``sha256sum </dev/null`` to
ask whether it can); ``cp -p -- A B && mv -f -- B C``. A shell here would see this machine's paths,
not the root's, and confining it would need a chroot. So :func:`storage_command` recognizes exactly
those forms (and ``sha256sum [--] FILE…``, ``cp -p --`` and ``mv [-f] --`` alone, joined by
``&&``); :func:`serve_sums` answers the helper's protocol and :func:`run_storage_command` carries
the others out, here, on the same confined paths; any other command is none of this module's
business (the endpoint's shell runs it, as before).

:class:`FileRoots` holds the roots: a ``mkdtemp`` folder made when the endpoint starts, removed
(after the sessions using it have ended) when it stops.

Some 500 lines: the confinement rules and their two users (the SFTP requests, the scheme's
commands) are one thing to read and check together.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import posixpath
import re
import shlex
import shutil
import stat as st
import tempfile
import threading
import time

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED
from paramiko.sftp_attr import SFTPAttributes

from gridclient.storage.sftp_ahead import TAR
from gridclient.storage.sftp_sums import HELPER, decode_request

log = logging.getLogger(__name__)

__all__ = ["ConfinedRoot", "ConfinedSFTP", "ConfinedSFTPServer", "FileRoots", "run_storage_command",
           "serve_sums", "serve_tar", "storage_command"]

_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_MAX_READ = 256 * 1024  # as OpenSSH's sftp-server
_NO_SUCH_FILE = (errno.ENOENT, errno.ENOTDIR)
_DENIED = (errno.EACCES, errno.EPERM, errno.ELOOP)


def _refused(path: str) -> PermissionError:
    return PermissionError(errno.EACCES, "outside the demo instance's files", path)


class ConfinedRoot:
    """One login user's file system: a real folder shown as "/", its home ``/home/<user>``."""

    def __init__(self, real: str, user: str):
        self.real = os.path.realpath(real)
        self.user = user
        self.home = f"/home/{user}"
        self.closed = False

    # -- paths --------------------------------------------------------------------------------
    def virtual(self, path: str | bytes) -> str:
        """The absolute, normalized path as the client means it ("/.." is "/")."""
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        if "\0" in path:
            raise ValueError("a path with a NUL byte")
        if not path.startswith("/"):
            path = posixpath.join(self.home, path)
        return posixpath.normpath("/" + path.lstrip("/"))

    def inside(self, real: str) -> bool:
        return os.path.commonpath([self.real, real]) == self.real

    def follow(self, path: str | bytes) -> str:
        """The real path of ``path`` with every link resolved; PermissionError if that is outside."""
        if self.closed:
            raise _refused(str(path))
        v = self.virtual(path)
        real = os.path.realpath(os.path.join(self.real, v.lstrip("/")))
        if not self.inside(real):
            raise _refused(v)
        return real

    def nofollow(self, path: str | bytes) -> str:
        """The real path of ``path`` itself (a last name that is a link is not followed): its folder
        resolved and inside the root."""
        if self.closed:
            raise _refused(str(path))
        v = self.virtual(path)
        if v == "/":
            return self.real
        parent, name = posixpath.split(v)
        real_parent = os.path.realpath(os.path.join(self.real, parent.lstrip("/")))
        if not self.inside(real_parent):
            raise _refused(v)
        return os.path.join(real_parent, name)

    def shown(self, real: str) -> str:
        """The client's path of a real path inside the root."""
        rel = os.path.relpath(real, self.real)
        return "/" if rel == "." else "/" + rel.replace(os.sep, "/")

    # -- links --------------------------------------------------------------------------------
    def stored_target(self, target: str, link: str) -> str:
        """What a link made by the client at ``link`` holds: an absolute target under the root (so it
        means the same file here); a relative one as written unless it climbs above "/"."""
        if "\0" in target:
            raise ValueError("a link target with a NUL byte")
        base = posixpath.dirname(self.virtual(link))
        if target.startswith("/"):
            return os.path.join(self.real, posixpath.normpath("/" + target.lstrip("/")).lstrip("/"))
        depth = len([p for p in base.split("/") if p])
        for part in target.split("/"):
            if part in ("", "."):
                continue
            depth += -1 if part == ".." else 1
            if depth < 0:  # above "/": where the client's "/.." would stop
                return posixpath.relpath(posixpath.normpath(posixpath.join(base, target)), base)
        return target

    def shown_target(self, stored: str) -> str:
        """A link's target as the client sees it: one under the root as its path there."""
        if os.path.isabs(stored):
            real = os.path.normpath(stored)
            if self.inside(real):
                return self.shown(real)
        return stored


# -- the roots of one endpoint --------------------------------------------------------------------
_SEED = {
    "README.txt": (
        "This is a demo instance of gridclient's sandbox.\n\n"
        "Its files live in a throwaway folder on your computer, shown here as \"/\"; they are removed\n"
        "when the demo stops. Browse them, drag files in and out (to a bucket, to your desktop),\n"
        "edit config.ini and save it: nothing here reaches a real cloud.\n"),
    "config.ini": (
        "[server]\nlisten = 0.0.0.0:8080\nworkers = 4\n\n"
        "[storage]\nbucket = demo-datasets\nprefix = processed/\n\n"
        "[logging]\nlevel = info\n"),
    "data/readings.csv": "time,sensor,celsius\n" + "".join(
        f"2026-11-01T{h:02d}:00:00Z,sensor-{h % 4},{20 + h % 9}.{h % 10}\n" for h in range(24)),
}


def _name_for(user: str) -> str:
    """``user`` if it is a plausible login name, else a stable stand-in (never a path)."""
    if _USER.fullmatch(user or ""):
        return user
    return "user-" + hashlib.sha256((user or "").encode("utf-8", "surrogateescape")).hexdigest()[:12]


FOLDER_PREFIX = "gridclient-demo-files-"
HELD = ".held"  # in a roots folder, outside every user's root: flocked while its endpoint runs
UNHELD_STALE = 3600.0  # a folder without that file (an older version's) is left this long


def _hold(folder: str) -> int | None:
    """An exclusive flock on the folder's HELD file, kept until the fd closes (or the process
    ends, however it ends); None where the OS has no flock."""
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(os.path.join(folder, HELD), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def sweep_stale(parent: str) -> list[str]:
    """Remove the roots folders of demo endpoints that are gone without removing them (a
    killed app): their HELD file is no longer locked. The folders removed."""
    try:
        import fcntl
    except ImportError:
        return []
    removed = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(FOLDER_PREFIX)]
    except OSError:
        return []
    for name in names:
        folder = os.path.join(parent, name)
        try:
            fd = os.open(os.path.join(folder, HELD), os.O_RDWR)
        except FileNotFoundError:
            try:  # being made this moment, or an older version's: only when old
                if time.time() - os.stat(folder).st_mtime > UNHELD_STALE and os.path.isdir(folder) \
                        and not os.path.islink(folder):
                    _remove_tree(folder)
                    removed.append(folder)
            except OSError:
                pass
            continue
        except OSError:
            continue
        try:
            if time.time() - os.fstat(fd).st_mtime < 60:
                continue  # just made: its endpoint may not hold it yet
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its endpoint runs
        finally:
            os.close(fd)
        _remove_tree(folder)
        removed.append(folder)
    return removed


class FileRoots:
    """The per-user roots of one endpoint, in a ``mkdtemp`` folder (under ``parent`` if given),
    held by a flock while it runs: a new endpoint removes the folders of those that were killed."""

    def __init__(self, parent: str | None = None):
        where = parent or tempfile.gettempdir()
        sweep_stale(where)
        self.folder = os.path.realpath(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=where))
        self._held = _hold(self.folder)
        self._roots: dict[str, ConfinedRoot] = {}
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self.closed = False

    def for_user(self, user: str) -> ConfinedRoot:
        """The user's root, made and seeded on first use. RuntimeError once closed."""
        name = _name_for(user)
        with self._lock:
            if self.closed:
                raise RuntimeError("the demo's files are gone: the endpoint stopped")
            root = self._roots.get(name)
            if root is None:
                real = os.path.join(self.folder, name)
                home = os.path.join(real, "home", name)
                os.makedirs(home, mode=0o755)
                for rel, body in _SEED.items():
                    path = os.path.join(home, *rel.split("/"))
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(body)
                root = self._roots[name] = ConfinedRoot(real, name)
            return root

    # sessions and commands using the roots: close() waits for them before removing the folder
    def track(self, thread: threading.Thread) -> bool:
        with self._lock:
            if self.closed:
                return False
            self._threads.add(thread)
            return True

    def untrack(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.discard(thread)

    def close(self, wait: float = 3.0) -> None:
        """Refuse every path from now on, let the sessions end, remove the folder."""
        with self._lock:
            self.closed = True
            threads = list(self._threads)
            for root in self._roots.values():
                root.closed = True
        deadline = time.monotonic() + wait
        for t in threads:
            if t is not threading.current_thread():
                try:
                    t.join(max(0.0, deadline - time.monotonic()))
                except RuntimeError:  # made, never started
                    pass
        _remove_tree(self.folder)
        if self._held is not None:
            os.close(self._held)
            self._held = None


def _remove_tree(folder: str) -> None:
    """``rm -rf``, also of folders a client made read-only."""
    try:
        os.chmod(folder, 0o700)
        for here, dirs, _files in os.walk(folder):
            for d in dirs:
                p = os.path.join(here, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


# -- the SFTP subsystem ---------------------------------------------------------------------------
def _code(exc: BaseException) -> int:
    if isinstance(exc, OSError):
        if exc.errno in _NO_SUCH_FILE:
            return SFTP_NO_SUCH_FILE
        if exc.errno in _DENIED:
            return SFTP_PERMISSION_DENIED
    return SFTP_FAILURE


def _answers(fn):
    """An OSError (or a path no file system takes) as an SFTP status code."""
    @functools.wraps(fn)
    def wrapper(self, *args):
        try:
            return fn(self, *args)
        except (OSError, ValueError) as exc:
            return _code(exc)
    return wrapper


def _wire_name(name: str) -> str | bytes:
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:  # a name that is not UTF-8: its bytes as they are
        return os.fsencode(name)


def _set(attr: SFTPAttributes, target: int | str) -> None:
    """Apply what ``attr`` carries (permissions, times, size; an owner only if unchanged) to an
    open file descriptor or a resolved path."""
    if attr.st_uid is not None or attr.st_gid is not None:
        now = os.stat(target) if isinstance(target, str) else os.fstat(target)
        if (attr.st_uid not in (None, now.st_uid)) or (attr.st_gid not in (None, now.st_gid)):
            raise PermissionError(errno.EPERM, "the demo does not change owners")
    if attr.st_size is not None:
        (os.truncate if isinstance(target, str) else os.ftruncate)(target, attr.st_size)
    if attr.st_mode is not None:
        (os.chmod if isinstance(target, str) else os.fchmod)(target, st.S_IMODE(attr.st_mode))
    if attr.st_atime is not None and attr.st_mtime is not None:
        os.utime(target, (attr.st_atime, attr.st_mtime))


class _File(paramiko.SFTPHandle):
    """An open file: reads and writes at offsets on its descriptor."""

    def __init__(self, fd: int, flags: int):
        super().__init__(flags)
        self.fd = fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def read(self, offset, length):
        try:
            return os.pread(self.fd, min(int(length), _MAX_READ), int(offset))
        except OSError as exc:
            return _code(exc)

    def write(self, offset, data):
        try:
            view, offset = memoryview(data), int(offset)
            while view:
                n = os.pwrite(self.fd, view, offset)
                view, offset = view[n:], offset + n
        except OSError as exc:
            return _code(exc)
        return SFTP_OK

    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.fd))
        except OSError as exc:
            return _code(exc)

    def chattr(self, attr):
        try:
            _set(attr, self.fd)
        except OSError as exc:
            return _code(exc)
        return SFTP_OK


class ConfinedSFTP(paramiko.SFTPServerInterface):
    """SFTP requests on one login user's :class:`ConfinedRoot`. ``server`` is the connection's
    ServerInterface; its ``username`` names the root in ``roots``."""

    def __init__(self, server, roots: FileRoots, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.root = roots.for_user(server.username)

    def canonicalize(self, path):
        return self.root.virtual(path)

    @_answers
    def list_folder(self, path):
        folder = self.root.follow(path)
        out = []
        with os.scandir(folder) as entries:
            for e in entries:
                try:
                    out.append(SFTPAttributes.from_stat(e.stat(follow_symlinks=False), _wire_name(e.name)))
                except OSError:
                    continue  # gone meanwhile
        return out

    @_answers
    def stat(self, path):
        return SFTPAttributes.from_stat(os.stat(self.root.follow(path)))

    @_answers
    def lstat(self, path):
        return SFTPAttributes.from_stat(os.lstat(self.root.nofollow(path)))

    @_answers
    def open(self, path, flags, attr):
        real = self.root.follow(path)
        mode = st.S_IMODE(attr.st_mode) if attr.st_mode is not None else 0o666
        fd = os.open(real, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
        return _File(fd, flags)

    @_answers
    def remove(self, path):
        real = self._below_root(path)
        if os.path.isdir(real) and not os.path.islink(real):
            return SFTP_FAILURE  # a folder is removed with rmdir
        os.remove(real)
        return SFTP_OK

    @_answers
    def rename(self, oldpath, newpath):
        """SFTPv3's rename: never over an existing name."""
        old, new = self._below_root(oldpath), self._below_root(newpath)
        if os.path.lexists(new):
            return SFTP_FAILURE
        os.rename(old, new)
        return SFTP_OK

    @_answers
    def posix_rename(self, oldpath, newpath):
        """posix-rename@openssh.com: over an existing name, at once."""
        os.replace(self._below_root(oldpath), self._below_root(newpath))
        return SFTP_OK

    @_answers
    def mkdir(self, path, attr):
        mode = st.S_IMODE(attr.st_mode) if attr.st_mode is not None else 0o777
        os.mkdir(self.root.nofollow(path), mode)
        return SFTP_OK

    @_answers
    def rmdir(self, path):
        os.rmdir(self._below_root(path))
        return SFTP_OK

    @_answers
    def chattr(self, path, attr):
        _set(attr, self.root.follow(path))
        return SFTP_OK

    @_answers
    def readlink(self, path):
        return self.root.shown_target(os.readlink(self.root.nofollow(path)))

    @_answers
    def symlink(self, target_path, path):
        os.symlink(self.root.stored_target(target_path, path), self.root.nofollow(path))
        return SFTP_OK

    def _below_root(self, path) -> str:
        real = self.root.nofollow(path)
        if real == self.root.real:
            raise PermissionError(errno.EACCES, "the root folder stays", "/")
        return real


class ConfinedSFTPServer(paramiko.SFTPServer):
    """paramiko's SFTP subsystem, its thread known to ``roots`` (which waits for it before it
    removes the files). Registered as ``set_subsystem_handler("sftp", ConfinedSFTPServer,
    ConfinedSFTP, roots)``."""

    def __init__(self, channel, name, server, sftp_si=ConfinedSFTP, roots: FileRoots | None = None,
                 *args, **kwargs):
        if roots is None:
            raise ValueError("ConfinedSFTPServer needs the FileRoots")
        super().__init__(channel, name, server, sftp_si, roots, *args, **kwargs)
        self._roots = roots
        if not roots.track(self):
            raise RuntimeError("the demo's files are gone: the endpoint stopped")

    def finish_subsystem(self):
        try:
            super().finish_subsystem()
        finally:
            self._roots.untrack(self)


# -- the storage scheme's commands ----------------------------------------------------------------
_OPERATORS = set("();<>|&")


def storage_command(command: str) -> list[tuple[str, ...]] | None:
    """The steps of ``command`` if it is one of the file commands the ``sftp`` storage scheme runs
    (joined by ``&&``), else None (not for this module: the shell's). The scheme's checksum helper
    (:data:`gridclient.storage.sftp_sums.HELPER`, exactly) is ``[("sums",)]``: :func:`serve_sums`."""
    if command == HELPER:
        return [("sums",)]
    if command == TAR:
        return [("tar",)]
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        words = list(lex)
    except ValueError:
        return None
    steps: list[tuple[str, ...]] = []
    start = 0
    for i in range(len(words) + 1):
        if i < len(words) and words[i] != "&&":
            continue
        step = _step(words[start:i])
        if step is None:
            return None
        steps.append(step)
        start = i + 1
    return steps or None


def _step(w: list[str]) -> tuple[str, ...] | None:
    if len(w) == 3 and w[:2] == ["sha256sum", "<"]:
        return ("sha256-in", w[2])
    if w[:1] == ["sha256sum"] and len(w) >= 2:
        files = w[2:] if w[1] == "--" else w[1:]
        if files and not any(f.startswith("-") or set(f) <= _OPERATORS for f in files):
            return ("sha256", *files)
        return None
    if len(w) == 5 and w[:3] == ["cp", "-p", "--"]:
        return ("cp", w[3], w[4])
    if len(w) in (4, 5) and w[0] == "mv" and w[1:-2] in (["--"], ["-f", "--"]):
        return ("mv", w[-2], w[-1])
    return None


def _sha256_of(real: str) -> str:
    h = hashlib.sha256()
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _why(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _one(root: ConfinedRoot, kind: str, args: list[str]) -> str:
    """One step (one file of a ``sha256sum``) on the root's files; its output."""
    if kind == "sha256-in":
        digest = hashlib.sha256().hexdigest() if args[0] == "/dev/null" else _sha256_of(root.follow(args[0]))
        return f"{digest}  -\n"
    if kind == "sha256":
        return f"{_sha256_of(root.follow(args[0]))}  {args[0]}\n"
    if kind == "cp":
        src, dst = root.follow(args[0]), root.follow(args[1])
        if os.path.isdir(src):
            raise IsADirectoryError(errno.EISDIR, f"-r not specified; omitting directory '{args[0]}'")
        if os.path.isdir(dst):
            dst = root.follow(posixpath.join(root.virtual(args[1]), posixpath.basename(args[0])))
        shutil.copy2(src, dst)
        return ""
    if kind == "mv":
        src, dst = root.nofollow(args[0]), root.nofollow(args[1])
        if root.real in (src, dst):
            raise _refused("/")
        if os.path.isdir(dst) and not os.path.islink(dst):
            dst = root.nofollow(posixpath.join(root.virtual(args[1]), posixpath.basename(src)))
        os.replace(src, dst)
        return ""
    raise ValueError(f"not a storage command step: {kind}")


def serve_sums(channel: paramiko.Channel, root: ConfinedRoot) -> None:
    """The ``sftp`` scheme's checksum helper (:mod:`gridclient.storage.sftp_sums` has the protocol):
    after the client's hello, ``ready PID 10``; then for each request line ``= HEX`` or ``E …`` (for a
    batch, ``E … PATH`` lines, ``HEX  PATH`` lines and ``.``), the SHA-256 of the file on the root's confined paths (links resolved, and refused if they lead out).
    Ends when the client closes the channel or the endpoint stops (the root closes)."""
    buf, greeted = b"", False
    batch: list[bytes] | None = None  # the paths of a batch being read, and how many are to come
    to_come = 0
    channel.settimeout(0.5)
    while not root.closed:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not greeted:
                greeted = True
                channel.sendall(f"ready {os.getpid()} 10\n".encode())
            elif batch is not None:
                batch.append(line)
                to_come -= 1
                if not to_come:
                    channel.sendall(_batch_answer(root, batch))
                    batch = None
            elif line.startswith(b"m s ") and line[4:].isdigit() and int(line[4:]) > 0:
                batch, to_come = [], int(line[4:])
            else:
                channel.sendall(_sum_answer(root, line).encode() + b"\n")
        try:
            data = channel.recv(65536)
        except TimeoutError:
            continue
        if not data:
            return
        buf += data


def serve_tar(channel: paramiko.Channel, root: ConfinedRoot) -> None:
    """The ``sftp`` scheme's tar stream of small files (:data:`gridclient.storage.sftp_ahead.TAR`):
    the NUL-separated names on standard input ("./" and the path from "/"), each regular file on
    the root's confined paths as a member of that name, in order; a missing or unreadable one said
    on stderr and left out (exit status 2, as GNU tar's)."""
    import tarfile

    names = b""
    while chunk := channel.recv(65536):
        names += chunk
    status = 0
    with channel.makefile("wb") as out, tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT,
                                                     encoding="utf-8", errors="surrogateescape") as tar:
        for name in filter(None, names.split(b"\0")):
            try:
                real = root.follow(b"/" + name[2:] if name.startswith(b"./") else b"/" + name)
                if not os.path.isfile(real):
                    raise IsADirectoryError(real)
                with open(real, "rb") as f:
                    info = tar.gettarinfo(arcname=name.decode("utf-8", "surrogateescape"), fileobj=f)
                    tar.addfile(info, f)
            except (OSError, ValueError) as exc:
                status = 2
                channel.sendall_stderr(f"tar: {name.decode('utf-8', 'replace')}: {exc}\n".encode())
    channel.shutdown_write()
    channel.send_exit_status(status)


def _batch_answer(root: ConfinedRoot, paths: list[bytes]) -> bytes:
    """A batch's answer: ``E …`` lines, then one ``HEX  PATH`` line per file hashed, then ``.``."""
    errors, sums = [], []
    for path in paths:
        answer = _sum_answer(root, b"h s " + path)
        if answer.startswith("= "):
            sums.append(answer[2:].encode() + b"  " + path + b"\n")
        else:
            errors.append(answer.encode() + b" " + path + b"\n")
    return b"".join(errors + sums) + b".\n"


def _sum_answer(root: ConfinedRoot, line: bytes) -> str:
    span = None
    if line.startswith(b"r "):  # a range: r SKIP COUNT, in MiB, then the request
        words = line.split(b" ", 3)
        if len(words) < 4 or not words[1].isdigit() or not words[2].isdigit():
            return "E request"
        span, line = (int(words[1]) << 20, int(words[2]) << 20), words[3]
    asked = decode_request(line)
    if asked is None:
        return "E request"
    try:
        real = root.follow(asked[1])
        if span is not None:
            if not os.path.isfile(real):
                raise IsADirectoryError(real)
            with open(real, "rb") as f:
                f.seek(span[0])
                return "= " + hashlib.sha256(f.read(span[1])).hexdigest()
        return "= " + _sha256_of(real)
    except (FileNotFoundError, NotADirectoryError):
        return "E missing"
    except (OSError, ValueError):  # outside the root, a folder, not readable
        return "E unreadable"


def run_storage_command(root: ConfinedRoot, steps: list[tuple[str, ...]]) -> tuple[int, bytes, bytes]:
    """Carry out ``steps`` (from :func:`storage_command`) on ``root``'s files as the commands would:
    (exit status, stdout, stderr); a step that fails ends the ``&&`` chain."""
    out, err, status = [], [], 0
    for kind, *args in steps:
        program = {"sha256-in": "sh", "sha256": "sha256sum"}.get(kind, kind)
        for one in ([[a] for a in args] if kind == "sha256" else [args]):
            try:
                out.append(_one(root, kind, one))
            except (OSError, ValueError) as exc:
                name = f"{one[0]}: " if kind.startswith("sha256") else ""
                err.append(f"{program}: {name}{_why(exc)}\n")
                status = 1
        if status:
            break
    return status, "".join(out).encode("utf-8", "surrogateescape"), "".join(err).encode("utf-8", "surrogateescape")
