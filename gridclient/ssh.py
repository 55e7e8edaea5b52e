"""SSH sessions without Qt: connect, verify the host key, log in, run a shell or a command.

The terminal widget (ui/terminal) drives an :class:`SSHSession` from a worker thread for
:meth:`SSHSession.connect`, then feeds the shell's output to its screen through
:meth:`SSHSession.start_reader`. The CLI and the tests use :meth:`SSHSession.run`.

Host keys are checked against the app's own known_hosts file and the person's
``~/.ssh/known_hosts`` (read only). An unknown key is shown with its SHA256 fingerprint and
remembered only if the person says yes; a changed key is refused without asking.
Passphrases and passwords are asked through the :class:`~gridclient.interaction.Interaction`
and are never logged or written anywhere.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import logging
import os
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import paramiko

from gridclient.interaction import Field, Interaction

log = logging.getLogger(__name__)

DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
_MAX_SECRET_TRIES = 3


# -- targets and errors ---------------------------------------------------------------------

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


# -- fingerprints and known hosts -------------------------------------------------------------

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


# -- the session ---------------------------------------------------------------------------

@dataclass
class _Resolved:
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


def _config_for(target: SSHTarget) -> paramiko.SSHConfig | None:
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


def _resolve(target: SSHTarget) -> _Resolved:
    cfg = _config_for(target)
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
    return _Resolved(
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


def _parse_jump(spec: str) -> tuple[str | None, str, int | None]:
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


def _describe_net_error(e: BaseException, hostname: str, port: int) -> str:
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


class SSHSession:
    """One SSH connection with at most one interactive shell channel."""

    def __init__(self, target: SSHTarget, known_hosts: KnownHosts, interaction: Interaction, *,
                 _sock: Any = None, _follow_jump: bool = True):
        self.target = target
        self.known_hosts = known_hosts
        self.interaction = interaction
        self.resolved: _Resolved | None = None
        self._given_sock = _sock
        self._follow_jump = _follow_jump
        self._jumps: list[SSHSession] = []
        self._transport: paramiko.Transport | None = None
        self._channel: paramiko.Channel | None = None
        self._closing = False
        self._closed_once = threading.Lock()
        self._closed_reported = False
        self._reader: threading.Thread | None = None

    # -- state ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        t = self._transport
        return bool(t is not None and t.is_active() and t.is_authenticated())

    @property
    def transport(self) -> paramiko.Transport | None:
        return self._transport

    def _where(self) -> str:
        r = self.resolved
        if r is None:
            return self.target.host
        return r.hostname if r.port == 22 else f"{r.hostname}:{r.port}"

    # -- connect ---------------------------------------------------------------------------
    def connect(self, timeout: float = 15) -> None:
        """Dial, verify the host key, log in. Blocking: call it on a worker thread."""
        if self.connected:
            return
        self._closing = False
        self.resolved = r = _resolve(self.target)
        if r.connect_timeout:
            timeout = r.connect_timeout
        try:
            sock = self._open_socket(r, timeout)
            transport = paramiko.Transport(sock)
            self._transport = transport
            self._prefer_known_key_types(transport, r)
            try:
                transport.start_client(timeout=timeout)
            except paramiko.SSHException as e:
                raise ConnectionFailed(
                    f"{self._where()} accepted the connection but did not complete an SSH "
                    f"handshake ({e}). Check that this port belongs to an SSH server.") from e
            except (EOFError, OSError) as e:
                raise ConnectionFailed(
                    f"{self._where()} closed the connection during the SSH handshake. "
                    "The server may still be starting, or it refuses connections from here.") from e
            self._verify_host_key(transport, r)
            self._authenticate(transport, r)
            if self.target.keepalive and self.target.keepalive > 0:
                transport.set_keepalive(int(self.target.keepalive))
            log.info("logged into %s as %s", self._where(), r.user)
        except BaseException:
            self._teardown()
            raise

    def _open_socket(self, r: _Resolved, timeout: float):
        if self._given_sock is not None:
            return self._given_sock
        if r.proxy_jump and self._follow_jump:
            return self._open_via_jumps(r, timeout)
        if r.proxy_command:
            try:
                return paramiko.ProxyCommand(r.proxy_command)
            except Exception as e:
                raise ConnectionFailed(f"The ProxyCommand for {r.host} could not be started: {e}. "
                                       "Check the ProxyCommand line in your SSH configuration.") from e
        try:
            return socket.create_connection((r.hostname, r.port), timeout=timeout)
        except OSError as e:
            raise ConnectionFailed(_describe_net_error(e, r.hostname, r.port)) from e

    def _open_via_jumps(self, r: _Resolved, timeout: float):
        """ProxyJump a,b: log into a (same host-key checks), reach b through it, then the target."""
        hops = [_parse_jump(s) for s in r.proxy_jump.split(",") if s.strip()]
        sock = None
        for i, (user, host, port) in enumerate(hops):
            jt = SSHTarget(host=host, port=port, user=user, keepalive=self.target.keepalive,
                           ssh_config_file=self.target.ssh_config_file)
            jump = SSHSession(jt, self.known_hosts, self.interaction, _sock=sock, _follow_jump=False)
            self._jumps.append(jump)
            try:
                jump.connect(timeout)
            except SSHError as e:
                raise type(e)(f"Through the jump host {host}: {e}") from e
            if i + 1 < len(hops):
                _, nh, np_ = hops[i + 1]
                nxt = _resolve(SSHTarget(host=nh, port=np_, ssh_config_file=self.target.ssh_config_file))
                dest = (nxt.hostname, nxt.port)
            else:
                dest = (r.hostname, r.port)
            try:
                sock = jump._transport.open_channel("direct-tcpip", dest, ("127.0.0.1", 0),
                                                    timeout=timeout)
            except paramiko.ChannelException as e:
                raise ConnectionFailed(
                    f"The jump host {host} could not reach {dest[0]} port {dest[1]}: "
                    f"{e.text or e}. Check the address, and that the jump host allows forwarding.") from e
            except (paramiko.SSHException, OSError, EOFError) as e:
                raise ConnectionFailed(
                    f"The jump host {host} dropped the connection while reaching "
                    f"{dest[0]} port {dest[1]}: {e}.") from e
        return sock

    def _key_host(self, r: _Resolved) -> tuple[str, int]:
        if r.host_key_alias:
            return r.host_key_alias, 22
        return r.hostname, r.port

    def _prefer_known_key_types(self, transport: paramiko.Transport, r: _Resolved) -> None:
        """Ask first for a host key type we already know, as OpenSSH does, so a known server
        is recognised instead of showing an "unknown" key of another type."""
        known = self.known_hosts.known_types(*self._key_host(r))
        if not known:
            return
        opts = transport.get_security_options()
        current = list(opts.key_types)
        wanted: list[str] = []
        for t in known:
            family = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if t == "ssh-rsa" else [t]
            wanted += [x for x in family if x in current and x not in wanted]
        if wanted:
            try:
                opts.key_types = tuple(wanted + [x for x in current if x not in wanted])
            except ValueError:
                pass

    def _verify_host_key(self, transport: paramiko.Transport, r: _Resolved) -> None:
        key = transport.get_remote_server_key()
        host, port = self._key_host(r)
        verdict = self.known_hosts.check(host, port, key)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if verdict == "known":
            return
        if verdict == "changed":
            lines = self.known_hosts.conflicts(host, port, key)
            fixes = "; ".join(f"line {e.line} of {e.file}" for e in lines)
            first = lines[0] if lines else None
            advice = (f"If you know the server's key was changed on purpose (it was reinstalled), "
                      f"delete {fixes} and connect again." if first else "")
            if first and first.marker == "@revoked":
                raise HostKeyChanged(
                    f"The host key of {where} ({key_type_label(key)} {fingerprint(key)}) is marked "
                    f"as revoked ({fixes}). The connection was refused.")
            raise HostKeyChanged(
                f"The host key of {where} has changed: it now shows the {key_type_label(key)} key "
                f"{fingerprint(key)}, which differs from the one remembered. Someone could be "
                f"intercepting the connection (a man-in-the-middle attack), so it was refused. "
                f"{advice}".strip())
        others = [key_type_label(t) for t in self.known_hosts.known_types(host, port)]
        note = (f"\n\nOther key types ({', '.join(others)}) are already known for this host, "
                "but not this one." if others else "")
        text = (f"The authenticity of host {where} cannot be established.\n\n"
                f"{key_type_label(key)} key fingerprint is {fingerprint(key)}.\n\n"
                f"Compare it with the fingerprint the server's administrator (or the cloud "
                f"console output) shows. Connect and remember this key?{note}")
        if not self.interaction.confirm("Unknown host key", text, default=False):
            raise HostKeyRejected(f"The host key of {where} ({fingerprint(key)}) was not accepted, "
                                  "so the connection was closed. Nothing was remembered.")
        self.known_hosts.add(host, port, key)

    # -- authentication -------------------------------------------------------------------
    def _load_key(self, path: str, tried: list[str]) -> paramiko.PKey | None:
        p = Path(path)
        if not p.exists():
            tried.append(f"{path} (file not found)")
            return None
        try:
            return paramiko.PKey.from_path(p)
        except TypeError:
            pass  # encrypted: ask below
        except (ValueError, paramiko.SSHException, OSError) as e:
            tried.append(f"{path} (not a private key this app can read: {e.__class__.__name__})")
            return None
        text = f"The private key {path} is protected by a passphrase."
        for attempt in range(_MAX_SECRET_TRIES):
            answer = self.interaction.ask(
                "Key passphrase", [Field("passphrase", "Passphrase", kind="secret", required=True)],
                text=text)
            secret = _secret_of(answer, "passphrase")
            if secret is None:
                tried.append(f"{path} (passphrase not given)")
                return None
            try:
                return paramiko.PKey.from_path(p, secret.encode("utf-8"))
            except (TypeError, ValueError, paramiko.SSHException):
                text = f"That passphrase does not unlock {path}. Try again."
            finally:
                secret = None  # noqa: F841 - drop the reference early
        tried.append(f"{path} (wrong passphrase)")
        return None

    def _authenticate(self, transport: paramiko.Transport, r: _Resolved) -> None:
        user = r.user
        tried: list[str] = []
        try:
            allowed = transport.auth_none(user)
            if transport.is_authenticated():
                return
        except paramiko.BadAuthenticationType as e:
            allowed = list(e.allowed_types)
        except paramiko.SSHException as e:
            raise ConnectionFailed(f"{self._where()} closed the connection before login: {e}.") from e

        def alive() -> bool:
            return transport.is_active()

        if "publickey" in allowed:
            seen: set[str] = set()
            for path in r.identity_files:
                if not alive() or transport.is_authenticated():
                    break
                key = self._load_key(path, tried)
                if key is None:
                    continue
                seen.add(key.get_base64())
                allowed = self._try_key(transport, user, key, path, tried, allowed)
            if not r.identities_only and alive() and not transport.is_authenticated():
                agent = None
                try:
                    if os.environ.get("SSH_AUTH_SOCK"):
                        agent = paramiko.Agent()
                        for key in agent.get_keys():
                            if not alive() or transport.is_authenticated():
                                break
                            if key.get_base64() in seen:
                                continue
                            seen.add(key.get_base64())
                            desc = f"ssh-agent key {key_type_label(key)} {fingerprint(key)}"
                            allowed = self._try_key(transport, user, key, desc, tried, allowed)
                except paramiko.SSHException as e:
                    log.debug("ssh-agent not usable: %s", e)
                finally:
                    if agent is not None:
                        agent.close()
                for name in DEFAULT_KEYS:
                    if not alive() or transport.is_authenticated():
                        break
                    path = str(Path.home() / ".ssh" / name)
                    if path in r.identity_files or not Path(path).exists():
                        continue
                    key = self._load_key(path, tried)
                    if key is None or key.get_base64() in seen:
                        continue
                    seen.add(key.get_base64())
                    allowed = self._try_key(transport, user, key, path, tried, allowed)

        if alive() and not transport.is_authenticated() and (
                "keyboard-interactive" in allowed or "password" in allowed):
            self._password_auth(transport, user, allowed, tried)

        if transport.is_authenticated():
            return
        where = self._where()
        if not tried:
            detail = ("No key was found to offer: give a private key file, load one into "
                      "ssh-agent, or put one in ~/.ssh.")
        else:
            detail = "Tried: " + "; ".join(tried) + "."
        lost = "" if alive() else " The server closed the connection after too many attempts."
        raise AuthenticationFailed(
            f"{where} did not accept the login of user “{user}”. {detail}{lost} "
            f"Check the user name and that the matching public key is installed on the server.")

    def _try_key(self, transport, user, key, desc, tried, allowed):
        label = desc if desc.startswith("ssh-agent") else f"{desc} ({key_type_label(key)})"
        try:
            remaining = transport.auth_publickey(user, key)
        except paramiko.BadAuthenticationType as e:
            tried.append(f"{label} (key login not allowed)")
            return list(e.allowed_types)
        except paramiko.AuthenticationException:
            tried.append(f"{label} (refused)")
            return allowed
        except (paramiko.SSHException, EOFError, OSError) as e:
            tried.append(f"{label} (connection lost: {e})")
            return allowed
        if transport.is_authenticated():
            return []
        tried.append(f"{label} (accepted, but the server wants more)")
        return list(remaining or allowed)

    def _password_auth(self, transport, user, allowed, tried) -> None:
        where = self._where()
        text = f"Password for {user} on {where}:"
        for _ in range(_MAX_SECRET_TRIES):
            if not transport.is_active():
                return
            answer = self.interaction.ask(
                "SSH password", [Field("password", "Password", kind="secret", required=True)], text=text)
            password = _secret_of(answer, "password")
            if password is None:
                tried.append("password (not given)")
                return
            try:
                if "keyboard-interactive" in allowed:
                    def handler(title, instructions, prompts, _pw=password):
                        return [_pw if not echo else "" for _prompt, echo in prompts]
                    transport.auth_interactive(user, handler)
                else:
                    transport.auth_password(user, password, fallback=False)
            except paramiko.BadAuthenticationType as e:
                allowed = list(e.allowed_types)
                if "password" in allowed and "keyboard-interactive" not in allowed:
                    continue
                tried.append("password (not allowed)")
                return
            except paramiko.AuthenticationException:
                text = f"The password for {user} on {where} was not accepted. Try again."
            except (paramiko.SSHException, EOFError, OSError):
                tried.append("password (connection lost)")
                return
            finally:
                password = None  # noqa: F841
            if transport.is_authenticated():
                return
        tried.append("password (refused)")

    # -- shell ----------------------------------------------------------------------------
    def _require(self) -> paramiko.Transport:
        if not self.connected:
            raise SSHError(f"Not connected to {self._where()}. Connect first.")
        return self._transport  # type: ignore[return-value]

    def open_shell(self, cols: int, rows: int, term: str = "xterm-256color") -> None:
        transport = self._require()
        try:
            chan = transport.open_session()
            chan.get_pty(term=term, width=max(1, int(cols)), height=max(1, int(rows)))
            chan.invoke_shell()
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise SSHError(f"{self._where()} did not open a shell: {e}.") from e
        self._channel = chan

    def start_reader(self, on_data: Callable[[bytes], None], on_closed: Callable[[str], None]) -> None:
        """Read the shell on a daemon thread; ``on_closed(reason)`` comes exactly once."""
        chan = self._channel
        if chan is None:
            raise SSHError("No shell is open: call open_shell first.")
        self._closed_reported = False

        def report(reason: str) -> None:
            with self._closed_once:
                if self._closed_reported:
                    return
                self._closed_reported = True
            try:
                on_closed(reason)
            except Exception:
                log.exception("on_closed callback failed")

        def loop() -> None:
            error: BaseException | None = None
            try:
                while True:
                    data = chan.recv(65536)
                    if not data:
                        break
                    try:
                        on_data(data)
                    except Exception:
                        log.exception("on_data callback failed")
            except Exception as e:  # socket errors, paramiko errors: the session is over
                error = e
            report(self._close_reason(chan, error))

        self._reader = threading.Thread(target=loop, name=f"ssh-reader {self.target.title()}", daemon=True)
        self._reader.start()

    def _close_reason(self, chan: paramiko.Channel, error: BaseException | None) -> str:
        if self._closing:
            return ""
        # EOF comes before the exit status; the status (or the channel's close) follows at once
        chan.status_event.wait(5)
        if chan.exit_status != -1:
            return ""  # the shell ended and said how: a clean exit, whatever its status
        t = self._transport
        if t is not None and error is None:
            t.join(2.0)  # the transport thread closes channels a moment before it ends
            if t.is_active():
                return "The server closed the session."
        if self._closing:
            return ""
        cause = error or (t.get_exception() if t is not None else None)
        if cause is None or isinstance(cause, EOFError) or not str(cause):
            why = "the server closed the connection"
        else:
            why = str(cause)
        return f"Connection lost: {why}."

    def write(self, data: bytes) -> None:
        """Send keystrokes. After the session ended this does nothing (on_closed has said why)."""
        chan = self._channel
        if chan is None or chan.closed:
            return
        try:
            chan.sendall(data)
        except (OSError, EOFError, paramiko.SSHException) as e:
            log.debug("write after the session ended: %s", e)

    def resize(self, cols: int, rows: int) -> None:
        chan = self._channel
        if chan is None or chan.closed:
            return
        try:
            chan.resize_pty(width=max(1, int(cols)), height=max(1, int(rows)))
        except (OSError, EOFError, paramiko.SSHException) as e:
            log.debug("resize after the session ended: %s", e)

    def close(self) -> None:
        self._closing = True
        self._teardown()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(5)

    def _teardown(self) -> None:
        chan, self._channel = self._channel, None
        if chan is not None:
            try:
                chan.close()
            except Exception:
                pass
        t = self._transport
        if t is not None:
            try:
                t.close()
            except Exception:
                pass
        for jump in reversed(self._jumps):
            jump._closing = True
            jump._teardown()
        self._jumps = []

    # -- one command ------------------------------------------------------------------------
    def run(self, command: str, timeout: float = 30) -> tuple[int, str, str]:
        """Run ``command``; return (exit status, stdout, stderr). Raises SSHError on timeout."""
        transport = self._require()
        try:
            chan = transport.open_session(timeout=timeout)
            chan.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise SSHError(f"{self._where()} did not run the command: {e}.") from e
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            while True:
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SSHError(f"The command did not finish within {timeout:g} seconds on "
                                   f"{self._where()}; it was stopped.")
                select.select([chan], [], [], min(remaining, 1.0))
            # drain what arrived with the exit status
            while chan.recv_ready():
                out += chan.recv(65536)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            status = chan.recv_exit_status() if chan.exit_status_ready() else -1
            if status == -1 and not transport.is_active():
                raise SSHError(f"The connection to {self._where()} was lost while the command ran.")
        finally:
            chan.close()
        return status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def __enter__(self) -> "SSHSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _secret_of(answer: dict[str, Any] | None, name: str) -> str | None:
    """The secret from an ask() answer; None when cancelled or empty."""
    if not answer:
        return None
    value = answer.get(name)
    if value is None:  # tolerate a form that named the field differently
        value = next((v for v in answer.values() if isinstance(v, str) and v), None)
    if value is None or value == "":
        return None
    return str(value)
