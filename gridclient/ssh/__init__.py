"""SSH without Qt: describe a login, check host keys, connect, log in, run a shell or a command.

The package is split by concern:

- :mod:`~gridclient.ssh.target` – :class:`SSHTarget` (where to log in) and the errors;
- :mod:`~gridclient.ssh.known_hosts` – remembered host keys and fingerprints;
- :mod:`~gridclient.ssh.config` – what ~/.ssh/config makes of a target;
- :mod:`~gridclient.ssh.auth` – keys, ssh-agent, passphrases and passwords;
- :mod:`~gridclient.ssh.session` – :class:`SSHSession`, the connection itself.

Every public name is importable from here, but only on first use (PEP 562): the AWS
provider and the dialogs import :class:`SSHTarget` to describe a login, and that must not
pull in paramiko, which only a real connection needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "SSHTarget": ("target", "SSHTarget"),
    "SSHError": ("target", "SSHError"),
    "ConnectionFailed": ("target", "ConnectionFailed"),
    "HostKeyRejected": ("target", "HostKeyRejected"),
    "HostKeyChanged": ("target", "HostKeyChanged"),
    "AuthenticationFailed": ("target", "AuthenticationFailed"),
    "fingerprint": ("known_hosts", "fingerprint"),
    "key_type_label": ("known_hosts", "key_type_label"),
    "host_entry": ("known_hosts", "host_entry"),
    "KnownEntry": ("known_hosts", "KnownEntry"),
    "KnownHosts": ("known_hosts", "KnownHosts"),
    "Resolved": ("config", "Resolved"),
    "resolve": ("config", "resolve"),
    "parse_jump": ("config", "parse_jump"),
    "config_for": ("config", "config_for"),
    "describe_net_error": ("config", "describe_net_error"),
    "DEFAULT_KEYS": ("auth", "DEFAULT_KEYS"),
    "authenticate": ("auth", "authenticate"),
    "load_key": ("auth", "load_key"),
    "SSHSession": ("session", "SSHSession"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # what type checkers and editors see; nothing is imported at run time
    from gridclient.ssh.auth import DEFAULT_KEYS, authenticate, load_key
    from gridclient.ssh.config import Resolved, config_for, describe_net_error, parse_jump, resolve
    from gridclient.ssh.known_hosts import KnownEntry, KnownHosts, fingerprint, host_entry, key_type_label
    from gridclient.ssh.session import SSHSession
    from gridclient.ssh.target import (
        AuthenticationFailed,
        ConnectionFailed,
        HostKeyChanged,
        HostKeyRejected,
        SSHError,
        SSHTarget,
    )
