"""Where the app writes: the platform's config and cache dirs, or everything under --workspace."""

from __future__ import annotations

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
