"""Where the app writes: the platform's config and cache dirs, or everything under --workspace."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "gridclient"


@dataclass(frozen=True)
class AppPaths:
    config: Path  # VOs, projects, preferences, known_hosts, key store
    cache: Path  # the info cache
    data: Path  # keys and the encrypted file keyring

    @classmethod
    def default(cls) -> "AppPaths":
        import platformdirs

        return cls(
            Path(platformdirs.user_config_dir(APP)),
            Path(platformdirs.user_cache_dir(APP)),
            Path(platformdirs.user_data_dir(APP)),
        )

    @classmethod
    def under(cls, root: str | Path) -> "AppPaths":
        root = Path(root).expanduser().resolve()
        return cls(root / "config", root / "cache", root / "data")

    def ensure(self) -> "AppPaths":
        for p in (self.config, self.cache, self.data):
            p.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @property
    def known_hosts(self) -> Path:
        """The app's own OpenSSH-format known_hosts file (~/.ssh/known_hosts is read too)."""
        return self.config / "known_hosts"

    @property
    def keys(self) -> Path:
        """Private keys of key pairs the app holds, one file per key, mode 0600."""
        return self.data / "keys"


class AlreadyRunning(RuntimeError):
    """Another gridclient holds this workspace."""


class WorkspaceLock:
    """One running app per workspace: two would overwrite each other's VOs and projects.

    An advisory ``flock`` on ``config/.lock``: the OS drops it when the process ends, however it
    ends, so a crash never leaves a stale lock behind. The holder's pid is written for the message.
    """

    def __init__(self, paths: AppPaths):
        self.path = paths.ensure().config / ".lock"
        self._fd: int | None = None

    def acquire(self) -> "WorkspaceLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(
                f"gridclient is already running with this workspace (process {holder}). Use that "
                f"window, or start another workspace with --workspace DIR.") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
