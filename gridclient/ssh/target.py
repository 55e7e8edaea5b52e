"""Where to log in over SSH, and what can go wrong doing it.

This is the part of :mod:`gridclient.ssh` that describes a login without making one: the AWS
provider, the connect dialog and the terminal tabs build an :class:`SSHTarget` and catch the
:class:`SSHError` family. It deliberately does not import paramiko, so describing a login
costs nothing at startup; only :mod:`gridclient.ssh.session` dials.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass
class SSHTarget:
    """Where to log in. Empty fields are filled from ~/.ssh/config, then from OpenSSH's defaults."""

    host: str
    port: int | None = None  # None -> ~/.ssh/config Port, else 22
    user: str | None = None  # None -> ~/.ssh/config User, else getpass.getuser()
    key_file: str | None = None  # private key; else config IdentityFile, ssh-agent, default keys
    label: str = ""  # tab title; default "user@host"
    keepalive: int = 30
    ssh_config_file: str | None = None  # default ~/.ssh/config; "" disables
    # the host key fingerprints ("SHA256:…") a cloud instance printed in its console output at first
    # boot: an unknown host key is checked against them. None: not known (no instance, or its
    # console could not be read); (): read, and none printed there (yet)
    console_fingerprints: tuple[str, ...] | None = None
    # the folder the shell changes to once it is open ("Open terminal here" on a folder of the host)
    start_in: str | None = None

    def title(self) -> str:
        if self.label:
            return self.label
        return f"{self.user or getpass.getuser()}@{self.host}"


class SSHError(Exception):
    """Something went wrong with SSH; ``str(e)`` is a sentence for a person."""


class ConnectionFailed(SSHError):
    """The server could not be reached: DNS, refused, timed out, no SSH server there."""


class HostKeyRejected(SSHError):
    """The server's host key was unknown and the person did not accept it."""


class HostKeyChanged(SSHError):
    """The server's host key differs from the one remembered for it: refused."""


class AuthenticationFailed(SSHError):
    """The server did not accept any of the keys or passwords tried."""
