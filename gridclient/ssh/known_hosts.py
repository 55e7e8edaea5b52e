"""Host keys: which servers this app has met, and how a key is shown to a person.

A server proves who it is with its host key. The app remembers accepted keys in its own
known_hosts file and also trusts the person's ``~/.ssh/known_hosts``, which it only reads.
Both files use OpenSSH's format (plain and hashed names, ``*``/``?`` patterns, negations,
``@revoked``), so OpenSSH and this app agree on what is known. Fingerprints are printed
exactly as ``ssh-keygen -l`` prints them, so a person can compare them with the cloud console.

Nothing here imports paramiko: keys are only asked for their name, base64 and bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gridclient.workspace import atomic_write_bytes

if TYPE_CHECKING:
    import paramiko

log = logging.getLogger(__name__)


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>``, exactly as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


_TYPE_LABELS = {
    "ssh-ed25519": "ED25519",
    "ssh-rsa": "RSA",
    "ssh-dss": "DSA",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    "sk-ssh-ed25519@openssh.com": "ED25519-SK",
    "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK",
}


def key_type_label(key: paramiko.PKey | str) -> str:
    """The short key type OpenSSH shows a person: ED25519, RSA, ECDSA."""
    name = key if isinstance(key, str) else key.get_name()
    return _TYPE_LABELS.get(name, name)


def host_entry(host: str, port: int) -> str:
    """The known_hosts name of a host: ``host`` on port 22, else ``[host]:port``."""
    return host if int(port) == 22 else f"[{host}]:{port}"


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):  # hashed: |1|base64(salt)|base64(hmac-sha1(salt, name))
        try:
            _, _, salt_b64, hash_b64 = pattern.split("|")
            salt = base64.b64decode(salt_b64)
            want = base64.b64decode(hash_b64)
        except (ValueError, base64.binascii.Error):
            return False
        got = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(got, want)
    # OpenSSH's patterns know only * and ?; "[" is literal (as in "[host]:port")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, name.lower()) is not None


def _hosts_match(field_: str, name: str) -> bool:
    """OpenSSH's rule: a name matches if some pattern matches and no negated pattern does."""
    hit = False
    for pattern in field_.split(","):
        if not pattern:
            continue
        if pattern.startswith("!"):
            if _pattern_matches(pattern[1:], name):
                return False
        elif _pattern_matches(pattern, name):
            hit = True
    return hit


def _names_host(line: str, name: str) -> bool:
    """Whether a known_hosts line is a plain host key line that names ``name`` itself.

    Only an exact name (or a hashed one that hashes to it) counts: a wildcard line that merely
    matches also speaks for other hosts, and ``@revoked``/``@cert-authority`` lines were written
    by a person on purpose, so :meth:`KnownHosts.forget` leaves those alone.
    """
    parts = line.strip().split()
    if len(parts) < 3 or parts[0].startswith(("#", "@")):
        return False
    named = any(
        (p.startswith("|1|") and _pattern_matches(p, name))
        or (not p.startswith(("!", "|")) and "*" not in p and "?" not in p and p.lower() == name.lower())
        for p in parts[0].split(",")
    )
    return named and _hosts_match(parts[0], name)


@dataclass(frozen=True)
class KnownEntry:
    file: Path
    line: int  # 1-based
    key_type: str
    key_b64: str
    marker: str = ""  # "" or "@revoked" (@cert-authority lines are not host keys and are skipped)


class KnownHosts:
    """The app's known_hosts file (written) plus the person's ~/.ssh/known_hosts (only read)."""

    def __init__(self, app_file: Path, user_file: Path | None = Path("~/.ssh/known_hosts").expanduser()):
        self.app_file = Path(app_file)
        self.user_file = Path(user_file) if user_file is not None else None
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        return [f for f in (self.app_file, self.user_file) if f is not None]

    def entries(self, host: str, port: int) -> list[KnownEntry]:
        """Every line of every file naming ``host`` on ``port``."""
        name = host_entry(host, port)
        found: list[KnownEntry] = []
        for path in self.files():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except OSError as e:
                log.warning("cannot read %s: %s", path, e)
                continue
            for number, raw in enumerate(text.splitlines(), 1):
                parts = raw.strip().split()
                if not parts or parts[0].startswith("#"):
                    continue
                marker = ""
                if parts[0].startswith("@"):
                    marker, parts = parts[0], parts[1:]
                    if marker != "@revoked":
                        continue
                if len(parts) < 3:
                    continue
                if _hosts_match(parts[0], name):
                    found.append(KnownEntry(path, number, parts[1], parts[2], marker))
        return found

    def check(self, host: str, port: int, key) -> str:
        """``"known"``, ``"unknown"`` or ``"changed"`` for ``key`` presented by host:port."""
        return self._verdict(host, port, key)[0]

    def conflicts(self, host: str, port: int, key) -> list[KnownEntry]:
        """The lines that make ``key`` a changed (or revoked) key for host:port."""
        return self._verdict(host, port, key)[1]

    def known_types(self, host: str, port: int) -> list[str]:
        """Key types remembered for host:port, so the connection can ask for one of those first."""
        out: list[str] = []
        for e in self.entries(host, port):
            if not e.marker and e.key_type not in out:
                out.append(e.key_type)
        return out

    def _verdict(self, host: str, port: int, key) -> tuple[str, list[KnownEntry]]:
        ktype, kb64 = key.get_name(), key.get_base64()
        entries = self.entries(host, port)
        revoked = [e for e in entries if e.marker == "@revoked" and e.key_b64 == kb64]
        if revoked:
            return "changed", revoked
        plain = [e for e in entries if not e.marker]
        if any(e.key_type == ktype and e.key_b64 == kb64 for e in plain):
            return "known", []
        same_type = [e for e in plain if e.key_type == ktype]
        if same_type:
            return "changed", same_type
        return "unknown", []

    def add(self, host: str, port: int, key) -> None:
        """Append ``key`` for host:port to the app's file (created 0600, its folder 0700)."""
        line = f"{host_entry(host, port)} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.app_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.app_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size:
                    with open(self.app_file, "rb") as fh:
                        fh.seek(size - 1)
                        if fh.read(1) != b"\n":
                            line = "\n" + line
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        log.info("remembered the %s host key of %s", key_type_label(key), host_entry(host, port))

    def forget(self, host: str, port: int) -> int:
        """Remove the host keys remembered for host:port from the app's file; return how many lines went.

        For a server that is known to get a new host key (the demo sandbox makes one at each
        start), so the next connection meets it as unknown instead of as changed. Only the
        app's own file is rewritten, never the person's ~/.ssh/known_hosts. The rewrite is
        atomic, so a crash leaves the old file or the new one, never half of one. Comments,
        other hosts, wildcard lines and ``@revoked`` lines stay. OSError passes through.
        """
        name = host_entry(host, port)
        with self._lock:
            try:
                raw = self.app_file.read_bytes()
            except FileNotFoundError:
                return 0
            kept: list[bytes] = []
            gone = 0
            for line in raw.splitlines(keepends=True):
                if _names_host(line.decode("utf-8", "replace"), name):
                    gone += 1
                else:
                    kept.append(line)
            if gone:
                atomic_write_bytes(self.app_file, b"".join(kept))
        if gone:
            log.info("forgot %d remembered host key line(s) of %s", gone, name)
        return gone
