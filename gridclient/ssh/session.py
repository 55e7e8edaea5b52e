"""One SSH connection: dial, check the server's host key, log in, then a shell or a command.

The terminal widget (ui/terminal) drives an :class:`SSHSession` from a worker thread for
:meth:`SSHSession.connect`, then feeds the shell's output to its screen through
:meth:`SSHSession.start_reader`. The CLI and the tests use :meth:`SSHSession.run`.

A connection goes straight to the server, through the ProxyCommand of ~/.ssh/config, or
through a chain of ProxyJump hosts (each one checked and logged into like the target).
An unknown host key is shown with its SHA256 fingerprint and remembered only if the person
says yes; a changed key is refused without asking. The login itself is
:func:`gridclient.ssh.auth.authenticate`.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from typing import Any, Callable

import paramiko

from gridclient.interaction import Interaction
from gridclient.ssh.auth import authenticate
from gridclient.ssh.config import Resolved, describe_net_error, parse_jump, resolve
from gridclient.ssh.known_hosts import KnownHosts, fingerprint, key_type_label
from gridclient.ssh.target import (
    ConnectionFailed,
    HostKeyChanged,
    HostKeyRejected,
    SSHError,
    SSHTarget,
)

log = logging.getLogger(__name__)

# AES-GCM first: the cipher authenticates the bytes itself, so paramiko computes and compares no
# separate HMAC per packet in Python (a 200 MiB download: ~160 -> ~210 MiB/s). Every OpenSSH since
# 6.2 offers it; a server without it falls back to the rest of paramiko's list.
AEAD = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def prefer_aead(transport: paramiko.Transport) -> None:
    """Offer the AES-GCM ciphers before paramiko's other ones."""
    opts = transport.get_security_options()
    current = list(opts.ciphers)
    first = [c for c in AEAD if c in current]
    if first:
        opts.ciphers = tuple(first + [c for c in current if c not in first])


class SSHSession:
    """One SSH connection with at most one interactive shell channel."""

    def __init__(self, target: SSHTarget, known_hosts: KnownHosts, interaction: Interaction, *,
                 _sock: Any = None, _follow_jump: bool = True):
        self.target = target
        self.known_hosts = known_hosts
        self.interaction = interaction
        self.resolved: Resolved | None = None
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

    @property
    def exit_status(self) -> int:
        """The shell's exit status once it has ended (-1: not yet, or none was sent)."""
        chan = self._channel
        return -1 if chan is None else chan.exit_status

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
        self.resolved = r = resolve(self.target)
        if r.connect_timeout:
            timeout = r.connect_timeout
        try:
            sock = self._open_socket(r, timeout)
            transport = paramiko.Transport(sock)
            self._transport = transport
            self._prefer_known_key_types(transport, r)
            prefer_aead(transport)
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
            authenticate(transport, r, self.interaction, self._where())
            if self.target.keepalive and self.target.keepalive > 0:
                transport.set_keepalive(int(self.target.keepalive))
            log.info("logged into %s as %s", self._where(), r.user)
        except BaseException:
            self._teardown()
            raise

    def _open_socket(self, r: Resolved, timeout: float):
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
            raise ConnectionFailed(describe_net_error(e, r.hostname, r.port)) from e

    def _open_via_jumps(self, r: Resolved, timeout: float):
        """ProxyJump a,b: log into a (same host-key checks), reach b through it, then the target."""
        hops = [parse_jump(s) for s in r.proxy_jump.split(",") if s.strip()]
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
                nxt = resolve(SSHTarget(host=nh, port=np_, ssh_config_file=self.target.ssh_config_file))
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

    def _key_host(self, r: Resolved) -> tuple[str, int]:
        if r.host_key_alias:
            return r.host_key_alias, 22
        return r.hostname, r.port

    def _prefer_known_key_types(self, transport: paramiko.Transport, r: Resolved) -> None:
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

    def _verify_host_key(self, transport: paramiko.Transport, r: Resolved) -> None:
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
        seen, printed = fingerprint(key), self.target.console_fingerprints
        if printed and seen not in printed:
            # the instance told its own keys at first boot, and this is none of them
            raise HostKeyRejected(
                f"The host key of {where} ({key_type_label(key)} {seen}) does NOT match the fingerprints "
                f"the instance printed in its console output ({', '.join(printed)}). Someone could be "
                "intercepting the connection, so it was refused. Nothing was remembered.")
        if printed:
            compare = "It matches the fingerprint the instance printed in its console output."
        elif printed is not None:
            compare = ("The instance's console output shows no host key fingerprints to compare it with "
                       "(cloud-init prints them at the first boot; the console output can lag a few "
                       "minutes). Compare it with what the server's administrator shows.")
        else:
            compare = ("Compare it with the fingerprint the server's administrator (or the cloud "
                       "console output) shows.")
        text = (f"The authenticity of host {where} cannot be established.\n\n"
                f"{key_type_label(key)} key fingerprint is {seen}.\n\n"
                f"{compare} Connect and remember this key?{note}")
        if not self.interaction.confirm("Unknown host key", text, default=bool(printed)):
            raise HostKeyRejected(f"The host key of {where} ({fingerprint(key)}) was not accepted, "
                                  "so the connection was closed. Nothing was remembered.")
        self.known_hosts.add(host, port, key)

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
                # the exit status may come before the last of the output (still in the window):
                # done once the output's end (EOF) came too
                if chan.exit_status_ready() and chan.eof_received and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
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
