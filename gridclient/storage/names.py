"""Safe local names for downloaded remote objects.

Remote names are chosen by whoever wrote the bucket or the server, not by the person downloading:
an S3 key may be "../../.bashrc", "/etc/cron.d/x", "C:\\Windows\\x", hold a newline or a terminal
escape, be 1000 bytes long, or be "CON", which Windows cannot create. Downloading it into the folder
the person chose must never write outside that folder, and must not fail halfway through a folder
because one name is unacceptable to the local file system. ``LocalNames`` maps each remote relative
path to a unique safe relative path under the target, and lists every name it had to change so the
app can tell the person. Nothing is created on disk here.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_WINDOWS = os.name == "nt"
_WINDOWS_CHARS = frozenset(':*?"<>|')
# as in Python 3.13's ntpath, plus COM0/LPT0; reserved with any extension ("nul.txt", "con .tar.gz")
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
                      | {f"{p}{c}" for p in ("COM", "LPT") for c in "0123456789\xb9\xb2\xb3"})
_DRIVE = re.compile(r"[A-Za-z]:(?=[/\\]|$)")
_MAX_EXT = 16  # bytes; a longer "extension" is not one worth keeping when shortening
# a segment with none of the characters safe_segment replaces (surrogates, controls, backslash;
# on Windows also its forbidden characters)
_PLAIN = re.compile(r"[^\x00-\x1f\x7f-\x9f\\\ud800-\udfff]*\Z")
_PLAIN_WINDOWS = re.compile(r'[^\x00-\x1f\x7f-\x9f\\\ud800-\udfff:*?"<>|]*\Z')


@dataclass(frozen=True)
class Renamed:
    remote: str  # the remote relative path as given
    local: str  # the relative local path chosen (os.sep-joined)
    reason: str  # short plain-English reason(s), "; "-joined when there are several


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a multi-byte character."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", "ignore")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _replace(text: str, bad, reason: str, reasons: list[str]) -> str:
    out = "".join("_" if bad(c) else c for c in text)
    if out != text:
        reasons.append(reason)
    return out


def safe_segment(name: str, max_bytes: int = 255, *, windows: bool = _WINDOWS) -> tuple[str, list[str]]:
    """One path segment → (safe segment, reasons it was changed; empty when it was not).

    ``windows`` applies the Windows-only rules (forbidden characters, trailing dots/spaces); it
    defaults to the running platform. Reserved device names are fixed on every platform, since
    downloaded files are often copied to Windows later."""
    if (_PLAIN_WINDOWS if windows else _PLAIN).match(name) and name.strip(". ") \
            and not (windows and name != name.rstrip(". ")) \
            and name.partition(".")[0].rstrip(" ").upper() not in _RESERVED and _nbytes(name) <= max_bytes:
        return name, []  # most names: nothing to change (checked at C speed, not per character)
    reasons: list[str] = []
    s = _replace(name, lambda c: "\ud800" <= c <= "\udfff", "undecodable characters replaced", reasons)
    # C0, DEL and C1 controls (0x9b is an 8-bit terminal escape)
    s = _replace(s, lambda c: ord(c) < 32 or 127 <= ord(c) < 160, "control characters replaced", reasons)
    s = _replace(s, lambda c: c == "\\", "backslash replaced", reasons)
    if windows:
        s = _replace(s, _WINDOWS_CHARS.__contains__, "characters not allowed on Windows replaced", reasons)
    if not s.strip(". "):
        s = "_"
        reasons.append("name made only of dots or spaces replaced")
    elif windows and s != s.rstrip(". "):
        s = s.rstrip(". ")
        reasons.append("trailing dots or spaces removed")
    stem, dot, rest = s.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:
        s = f"{stem}_{dot}{rest}"
        reasons.append("reserved name on Windows")
    if _nbytes(s) > max_bytes:
        tag = "~" + hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem, ext = os.path.splitext(s)
        if _nbytes(ext) > _MAX_EXT or max_bytes - len(tag) - _nbytes(ext) < 1:
            stem, ext = s, ""
        s = _cut(_cut(stem, max_bytes - len(tag) - _nbytes(ext)) + tag + ext, max_bytes) or "_"
        reasons.append("name too long: shortened")
    return s, reasons


def _with_suffix(segment: str, suffix: str, max_bytes: int, keep_ext: bool) -> str:
    """``segment`` with ``suffix`` before its extension (if kept), shortened to fit ``max_bytes``."""
    stem, ext = os.path.splitext(segment) if keep_ext else (segment, "")
    if _nbytes(ext) > _MAX_EXT:
        stem, ext = segment, ""
    return _cut(stem, max_bytes - _nbytes(suffix) - _nbytes(ext)) + suffix + ext


def _fold(part: str) -> str:
    """The key under which the local file system compares names: case-insensitively on Windows
    and (by default) macOS, which also ignores Unicode normalization; exactly on Linux."""
    if sys.platform == "darwin":
        return unicodedata.normalize("NFD", part).casefold()
    return os.path.normcase(part)


def _name_max(target: Path) -> int:
    """PC_NAME_MAX of the target (or its nearest existing parent), at most 255; else 255."""
    for p in (target, *target.parents):
        try:
            n = os.pathconf(p, "PC_NAME_MAX")
        except FileNotFoundError:
            continue
        except (AttributeError, OSError, ValueError):
            break
        return n if 0 < n <= 255 else 255
    return 255


class LocalNames:
    """Maps remote relative paths to unique safe relative local paths under one target folder."""

    def __init__(self, target: Path, max_name_bytes: int | None = None):
        self.target = Path(target)
        self.max_name_bytes = max_name_bytes or _name_max(self.target)
        self.renamed: list[Renamed] = []
        self._cache: dict[str, Path] = {}
        self._kinds: dict[tuple[str, ...], str] = {}  # folded local parts → "file" | "dir"
        self._dirs: dict[tuple[tuple[str, ...], str], str] = {}  # (folded parent, folded want) → dir
        self._lock = threading.Lock()
        self._resolved: dict[Path, Path] = {}  # folders → resolved, once
        self._inside = ""  # the target resolved (once), with a separator at its end

    def local_path(self, remote: str) -> Path:
        """``target / <safe relative path>`` for ``remote``; the same answer for the same remote, a
        different one for a different remote. Raises ValueError if it would resolve outside the
        target (a symlink inside the target pointing out)."""
        with self._lock:
            path = self._cache.get(remote)
            if path is None:
                path = self._map(remote)
        resolved = self._resolve(path)
        if not self._inside:
            self._inside = os.path.join(str(self.target.resolve()), "")  # "/t/" ("/" for the root itself)
        if not str(resolved).startswith(self._inside):  # both resolved: compared as strings
            raise ValueError(f"{remote!r} would land outside {self._inside} (at {resolved})")
        return path

    def _resolve(self, path: Path) -> Path:
        """``path.resolve()``, each folder resolved once (a folder of 1,000 files: 1,000 lstat calls,
        not 20,000); the path itself still followed where it is a link."""
        if path.name in ("", ".", "..") or path.is_symlink():
            return path.resolve()
        folder = self._resolved.get(path.parent)
        if folder is None:
            folder = self._resolved[path.parent] = path.parent.resolve()
        return folder / path.name

    def _map(self, remote: str) -> Path:
        reasons: list[str] = []
        rest = remote
        if m := _DRIVE.match(rest):
            rest = rest[m.end():].lstrip("/\\")
            reasons.append("absolute path made relative")
        elif rest.startswith("/"):
            rest = rest.lstrip("/")
            reasons.append("absolute path made relative")
        is_dir = rest.endswith("/")  # an S3 "folder" key
        wanted: list[str] = []
        for seg in rest.rstrip("/").split("/"):
            if seg == "..":
                reasons.append("“..” segment removed")
            elif seg in ("", "."):
                if rest:
                    reasons.append("empty or “.” segment removed")
            else:
                safe, why = safe_segment(seg, self.max_name_bytes)
                wanted.append(safe)
                reasons += why
        if not wanted:
            wanted, is_dir = ["_"], False
            reasons.append("empty name replaced with “_”")
        local: list[str] = []
        for i, want in enumerate(wanted):
            kind = "dir" if is_dir or i < len(wanted) - 1 else "file"
            parent = tuple(map(_fold, local))
            dir_key = (parent, _fold(want))
            if kind == "dir" and dir_key in self._dirs:
                local.append(self._dirs[dir_key])
                continue
            name, n = want, 1
            while parent + (_fold(name),) in self._kinds:
                n += 1
                name = _with_suffix(want, f" ({n})", self.max_name_bytes, keep_ext=kind == "file")
            if n > 1:
                reasons.append("clashes with another name")
            self._kinds[parent + (_fold(name),)] = kind
            if kind == "dir":
                self._dirs[dir_key] = name
            local.append(name)
        path = self.target.joinpath(*local)
        self._cache[remote] = path
        if reasons:
            self.renamed.append(Renamed(remote, os.sep.join(local), "; ".join(dict.fromkeys(reasons))))
        return path
