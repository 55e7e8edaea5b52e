"""The person's ~/.ssh/config applied to an :class:`~gridclient.ssh.target.SSHTarget`.

A target names a host as the person would type it after ``ssh``; OpenSSH's configuration
may turn that alias into another HostName, Port, User, IdentityFile, ProxyJump or
ProxyCommand. :func:`resolve` does that once, before dialling, so the session, the login and
the messages all speak of the same machine. Network errors are turned into sentences here
too, because what to check depends on where the connection was going.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from gridclient.ssh.target import SSHError, SSHTarget


@dataclass
class Resolved:
    """A target after ~/.ssh/config: what is really dialled, as whom, with which keys."""

    host: str  # as the person named it (the config alias)
    hostname: str
    port: int
    user: str
    identity_files: list[str] = field(default_factory=list)
    identities_only: bool = False
    proxy_jump: str = ""
    proxy_command: str = ""
    host_key_alias: str = ""
    connect_timeout: float | None = None


def config_for(target: SSHTarget) -> paramiko.SSHConfig | None:
    """The SSH configuration the target asks for; None when there is none or it is disabled."""
    path = target.ssh_config_file
    if path == "":
        return None
    cfg_path = Path(path).expanduser() if path else Path("~/.ssh/config").expanduser()
    if not cfg_path.exists():
        if path:
            raise SSHError(f"The SSH configuration file {cfg_path} does not exist. "
                           "Choose an existing file or leave the setting empty.")
        return None
    try:
        return paramiko.SSHConfig.from_path(str(cfg_path))
    except Exception as e:  # a config we cannot parse is the person's to fix
        raise SSHError(f"Could not read the SSH configuration file {cfg_path}: {e}. "
                       "Fix that line, or leave the configuration file out.") from e


def resolve(target: SSHTarget) -> Resolved:
    """Fill the target's empty fields from the configuration, then from OpenSSH's defaults."""
    cfg = config_for(target)
    opts: dict[str, Any] = cfg.lookup(target.host) if cfg is not None else {"hostname": target.host}
    port: Any = target.port if target.port is not None else opts.get("port", 22)
    try:
        port = int(port)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise SSHError(f"“{port}” is not a valid SSH port for {target.host}; use a number from 1 to 65535.")
    user = target.user or opts.get("user") or getpass.getuser()
    files: list[str] = []
    if target.key_file:
        files.append(str(Path(target.key_file).expanduser()))
    for f in opts.get("identityfile", []) or []:
        f = str(Path(f).expanduser())
        if f not in files:
            files.append(f)
    jump = str(opts.get("proxyjump", "") or "")
    command = str(opts.get("proxycommand", "") or "")
    timeout = opts.get("connecttimeout")
    try:
        timeout = float(timeout) if timeout else None
    except ValueError:
        timeout = None
    return Resolved(
        host=target.host,
        hostname=str(opts.get("hostname") or target.host),
        port=port,
        user=str(user),
        identity_files=files,
        identities_only=str(opts.get("identitiesonly", "no")).lower() == "yes",
        proxy_jump="" if jump.lower() == "none" else jump,
        proxy_command="" if command.lower() == "none" else command,
        host_key_alias=str(opts.get("hostkeyalias", "") or ""),
        connect_timeout=timeout,
    )


def parse_jump(spec: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` (or ``ssh://…``) → (user, host, port)."""
    spec = spec.strip()
    if spec.startswith("ssh://"):
        spec = spec[len("ssh://"):]
    user = None
    if "@" in spec:
        user, spec = spec.rsplit("@", 1)
    port = None
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif spec.count(":") == 1:
        host, port = spec.split(":")
    else:
        host = spec
    if port is not None:
        try:
            port = int(port)
        except ValueError:
            raise SSHError(f"The ProxyJump host “{spec}” has a port that is not a number.")
    if not host:
        raise SSHError("A ProxyJump entry in the SSH configuration names no host.")
    return user, host, port


def describe_net_error(e: BaseException, hostname: str, port: int) -> str:
    """A sentence saying why ``hostname`` port ``port`` could not be reached and what to check."""
    where = f"{hostname} port {port}"
    if isinstance(e, socket.gaierror):
        return (f"Could not find the host “{hostname}”: the name does not resolve. "
                "Check the spelling of the host name and your network connection.")
    if isinstance(e, ConnectionRefusedError):
        return (f"{where} refused the connection. The machine is reachable but no SSH server "
                "listens on that port; check the port, or wait until the server has started.")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return (f"Connecting to {where} timed out. The machine may be down, or a firewall "
                "(a security group) may block the port.")
    if isinstance(e, OSError) and e.strerror:
        return f"Could not connect to {where}: {e.strerror}. Check the address and your network."
    return f"Could not connect to {where}: {e}. Check the address and your network."
