"""A loopback-only SSH endpoint for the demo sandbox's instances.

The demo's EC2 instances are moto records with made-up addresses; the demo VO logs into them
through ``ssh_host_override`` = this server. It is a small paramiko server that:

* listens on 127.0.0.1 (never a routable address) at a free port, with a host key made at start;
* accepts only public-key authentication with the one authorized key (the demo key pair), or a
  key ``also_authorized`` accepts (the sandbox's: a key pair made or imported in the sandbox, so
  an instance launched there with a new key pair can be logged into), under any user name — the
  shell always runs as the user running the app;
* serves ``pty-req``, ``window-change``, ``env`` (LANG, LC_*, COLORTERM), ``shell`` and ``exec``:
  a shell runs in a real pseudo-terminal (controlling tty, job control, Ctrl+C); ``exec`` without
  a pty runs with pipes and separates stdout and stderr. Both start in the login's home in the
  folder SFTP serves (below), and a bash shell is given an rc file (:func:`shell_rc`) that shows
  and takes paths as SFTP does — ``/home/ubuntu/data`` — and reports its folder (OSC 7), so
  "Open terminal here" and "Show folder in tree" work on the demo as on an instance. It is a view,
  not a jail: the programs still run as the app's user on this machine;
* sends the exit status and closes the channel when the program ends; ``stop()`` hangs up every
  child and closes the listener;
* serves the ``sftp`` subsystem, confined to a throwaway folder per login user shown as "/" (home
  ``/home/<user>``), and carries out the file commands the ``sftp`` storage scheme runs on exec
  channels (its checksum helper, ``sha256sum <FILE``, ``cp -p -- A B && mv -f -- B C``) on those
  same files rather than in a shell: :mod:`providers.sandbox.sftp_server` says how and why. The folders are made in a
  ``mkdtemp`` folder at ``start()`` and removed at ``stop()``.

This module is the SSH side: the listener, the connections and what each session channel asks
for. The programs themselves (pty or pipes, their control, the byte pumps and the exit status)
are :mod:`providers.sandbox.programs`; the files, :mod:`providers.sandbox.sftp_server`.

Nothing here logs key material, typed input or program output.
"""

from __future__ import annotations

import hmac
import logging
import os
import pwd
import re
import socket
import threading
import time
from typing import Callable

import paramiko

from providers.sandbox.programs import Child, _after_reply, spawn_pipes, spawn_pty, start_pumps
from providers.sandbox.sftp_server import (ConfinedSFTP, ConfinedSFTPServer, FileRoots, run_storage_command,
                                           serve_sums, serve_tar, storage_command)

log = logging.getLogger(__name__)

_ENV_ACCEPTED = re.compile(r"^(LANG|LANGUAGE|LC_[A-Z_]+|COLORTERM)$")


class _ChannelState:
    def __init__(self) -> None:
        self.term: str | None = None
        self.size = (24, 80, 0, 0)  # rows, cols, xpix, ypix
        self.env: dict[str, str] = {}
        self.child: Child | None = None
        self.started = False


class _Interface(paramiko.ServerInterface):
    """Per connection: authentication and the requests on its session channels."""

    def __init__(self, server: "LoopbackSSHServer", peer: str):
        self.server = server
        self.peer = peer
        self.channels: dict[int, _ChannelState] = {}
        self.username: str | None = None  # once authenticated: whose files SFTP serves
        self._lock = threading.Lock()

    def _state(self, channel: paramiko.Channel) -> _ChannelState:
        with self._lock:
            return self.channels.setdefault(channel.get_id(), _ChannelState())

    # -- authentication --------------------------------------------------------------------
    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_none(self, username: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # paramiko has verified the signature before it asks us whether the key may log in
        if hmac.compare_digest(key.asbytes(), self.server._authorized_blob):
            self.username = username
            return paramiko.AUTH_SUCCESSFUL
        also = self.server.also_authorized
        if also is not None:
            try:
                if also(key):
                    self.username = username
                    return paramiko.AUTH_SUCCESSFUL
            except Exception:  # noqa: BLE001 - a check that fails refuses the key
                log.warning("demo ssh: the key check failed", exc_info=True)
        log.info("demo ssh: refused a %s key from %s", key.get_name(), self.peer)
        return paramiko.AUTH_FAILED

    # -- channels --------------------------------------------------------------------------
    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes) -> bool:
        st = self._state(channel)
        if st.started:
            return False
        term = term.decode("ascii", "replace") if isinstance(term, bytes) else str(term)
        st.term = term if re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", term or "") else "xterm"
        st.size = (height or 24, width or 80, pixelwidth or 0, pixelheight or 0)
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight) -> bool:
        st = self._state(channel)
        st.size = (height or 24, width or 80, pixelwidth or 0, pixelheight or 0)
        if st.child is not None:
            st.child.resize(*st.size)
        return True

    def check_channel_env_request(self, channel, name, value) -> bool:
        name = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if not _ENV_ACCEPTED.match(name) or "\0" in value:
            return False
        self._state(channel).env[name] = value
        return True

    def check_channel_shell_request(self, channel) -> bool:
        return self._run(channel, None)

    def check_channel_exec_request(self, channel, command) -> bool:
        if isinstance(command, bytes):
            command = command.decode("utf-8", "surrogateescape")
        if "\0" in command:
            return False
        steps = storage_command(command) if self._state(channel).term is None else None
        if steps is not None:  # the sftp scheme's sha256sum, cp, mv: on the files SFTP serves
            return self._run_files(channel, steps)
        return self._run(channel, command)

    # -- subsystems ------------------------------------------------------------------------
    # "sftp" is registered on the transport in LoopbackSSHServer._serve; paramiko's own
    # check_channel_subsystem_request starts it, once per channel and for an authenticated user.
    def check_channel_subsystem_request(self, channel, name) -> bool:
        st = self._state(channel)
        files = self.server._files
        if st.started or self.server._stopping or self.username is None or files is None:
            return False
        try:
            files.for_user(self.username)  # made and seeded here, not in the subsystem's thread
        except (OSError, RuntimeError) as exc:
            log.warning("demo ssh: no files for the session: %s", exc)
            return False
        st.started = True
        try:
            return super().check_channel_subsystem_request(channel, name)
        except (RuntimeError, ValueError):  # the endpoint stopped meanwhile
            return False

    def _run_files(self, channel: paramiko.Channel, steps: list) -> bool:
        st = self._state(channel)
        files = self.server._files
        if st.started or self.server._stopping or self.username is None or files is None:
            return False
        try:
            root = files.for_user(self.username)
        except (OSError, RuntimeError):
            return False
        st.started = True
        worker = threading.Thread(target=_answer_files, args=(channel, root, steps, files),
                                  name="demo-ssh-files", daemon=True)
        if not files.track(worker):
            return False
        worker.start()
        return True

    # -- programs --------------------------------------------------------------------------
    def _run(self, channel: paramiko.Channel, command: str | None) -> bool:
        st = self._state(channel)
        if st.started or self.server._stopping:
            return False
        st.started = True
        try:
            st.child = self.server._spawn(channel, st, command, self.username)
        except OSError as exc:
            log.warning("demo ssh: could not start the shell: %s", exc.strerror or exc)
            return False
        return True


def _answer_files(channel: paramiko.Channel, root, steps: list, files: FileRoots) -> None:
    """Carry out a storage command's steps and answer as the program would have."""
    try:
        _after_reply(channel)  # a fast answer must not overtake paramiko's reply to the request
        if steps == [("sums",)]:  # the scheme's checksum helper: a line per file until it hangs up
            serve_sums(channel, root)
            return
        if steps == [("tar",)]:  # the scheme's small files as one tar stream
            serve_tar(channel, root)
            return
        status, out, err = run_storage_command(root, steps)
        if out:
            channel.sendall(out)
        if err:
            channel.sendall_stderr(err)
        channel.shutdown_write()
        channel.send_exit_status(status)
    except (OSError, EOFError, paramiko.SSHException):
        pass  # the client hung up
    finally:
        files.untrack(threading.current_thread())
        try:
            channel.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass


class LoopbackSSHServer:
    """A paramiko SSH server on 127.0.0.1 that accepts only ``authorized_key``.

    ``start()`` binds a free port (``port``), makes the host key (``host_key``) and the folder of
    the SFTP roots (in ``files_parent``, else the temp dir); ``stop()`` hangs up every session,
    closes the listener and removes that folder. Usable as a context manager.
    """

    def __init__(self, authorized_key: paramiko.PKey, host: str = "127.0.0.1", *,
                 shell: str | None = None, host_key: paramiko.PKey | None = None,
                 also_authorized: "Callable[[paramiko.PKey], bool] | None" = None,
                 files_parent: str | None = None):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the demo SSH server listens on loopback only, not on {host!r}")
        if not isinstance(authorized_key, paramiko.PKey):
            raise TypeError("authorized_key must be a paramiko.PKey")
        self.authorized_key = authorized_key
        self._authorized_blob = authorized_key.asbytes()
        self.also_authorized = also_authorized
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port: int | None = None
        self.host_key: paramiko.PKey | None = host_key
        self._shell = shell
        self._sock: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._transports: set[paramiko.Transport] = set()
        self._children: set[Child] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._files_parent = files_parent
        self._files: FileRoots | None = None
        user = pwd.getpwuid(os.getuid())
        self._user = user.pw_name
        self._home = user.pw_dir if os.path.isdir(user.pw_dir) else os.path.expanduser("~")

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> "LoopbackSSHServer":
        if self._sock is not None:
            return self
        if self.host_key is None:
            self.host_key = paramiko.RSAKey.generate(2048)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        try:
            self._files = FileRoots(self._files_parent)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping = False
        self._accept_thread = threading.Thread(target=self._accept_loop, name="demo-ssh-accept", daemon=True)
        self._accept_thread.start()
        log.info("demo ssh: listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self._stopping = True
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
            except OSError:
                pass
            sock.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None
        with self._lock:
            children = list(self._children)
            transports = list(self._transports)
        for child in children:
            child.hang_up()
        deadline = time.monotonic() + 1.0
        for child in children:
            child.done.wait(max(0.0, deadline - time.monotonic()))
        for child in children:
            child.kill()
            child.done.wait(2.0)
            child.close_master()
        for t in transports:
            t.close()
        files, self._files = self._files, None
        if files is not None:
            files.close()  # after the sessions using it have ended
        log.info("demo ssh: stopped")

    def files(self, user: str):
        """The :class:`~providers.sandbox.sftp_server.ConfinedRoot` SFTP serves to ``user`` (its
        ``real`` folder on this machine), made and seeded if it was not yet."""
        if self._files is None:
            raise RuntimeError("the demo SSH server is not running")
        return self._files.for_user(user)

    def __enter__(self) -> "LoopbackSSHServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------
    def _accept_loop(self) -> None:
        sock = self._sock
        while not self._stopping and sock is not None:
            try:
                conn, addr = sock.accept()
            except OSError:
                if self._stopping:
                    return
                time.sleep(0.05)
                continue
            if self._stopping:
                conn.close()
                return
            threading.Thread(target=self._serve, args=(conn, f"{addr[0]}:{addr[1]}"),
                             name="demo-ssh-conn", daemon=True).start()

    def _serve(self, conn: socket.socket, peer: str) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", ConfinedSFTPServer, ConfinedSFTP, self._files)
        except (OSError, paramiko.SSHException) as exc:  # the peer left before we began
            log.debug("demo ssh: connection from %s ended: %s", peer, exc)
            conn.close()
            return
        iface = _Interface(self, peer)
        with self._lock:
            if self._stopping:
                transport.close()
                return
            self._transports.add(transport)
        try:
            transport.start_server(server=iface)
            held: list[paramiko.Channel] = []
            while transport.is_active() and not self._stopping:
                # paramiko holds channels weakly and closes one when it is collected: keep each
                # opened channel alive here until it has closed
                chan = transport.accept(1.0)
                held = [c for c in held if not c.closed]
                if chan is not None:
                    held.append(chan)
        except (paramiko.SSHException, EOFError, OSError, ValueError) as exc:
            log.debug("demo ssh: connection from %s ended: %s", peer, exc)
        finally:
            with self._lock:
                self._transports.discard(transport)
            transport.close()

    # -- programs --------------------------------------------------------------------------
    def _shell_path(self) -> str:
        login_shell = pwd.getpwuid(os.getuid()).pw_shell
        for candidate in (self._shell, os.environ.get("SHELL"), login_shell, "/bin/bash", "/bin/sh"):
            if candidate and os.path.isabs(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return "/bin/sh"

    def _env(self, st: _ChannelState, shell: str, peer: tuple, home: str) -> dict[str, str]:
        env = {
            "HOME": home,
            "USER": self._user,
            "LOGNAME": self._user,
            "SHELL": shell,
            "PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
        }
        for name in ("LANG", "LC_ALL", "LC_CTYPE", "TZ"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env.update(st.env)
        if st.term:
            env["TERM"] = st.term
        try:
            env["SSH_CONNECTION"] = f"{peer[0]} {peer[1]} {self.host} {self.port}"
        except (IndexError, TypeError):
            pass
        return env

    def _spawn(self, channel: paramiko.Channel, st: _ChannelState, command: str | None,
               user: str | None = None) -> Child:
        shell = self._shell_path()
        try:
            peer = channel.get_transport().getpeername()
        except Exception:  # noqa: BLE001
            peer = ()
        root = None
        if user and self._files is not None:
            try:
                root = self._files.for_user(user)
            except (OSError, RuntimeError) as exc:
                log.info("demo ssh: no files for %s: %s", user, exc)
        home = os.path.join(root.real, root.home.lstrip("/")) if root is not None else self._home
        env = self._env(st, shell, peer, home)
        argv0 = "-" + os.path.basename(shell)  # a login shell, as sshd starts it
        args = [argv0] if command is None else [os.path.basename(shell), "-c", command]
        if command is None and root is not None and os.path.basename(shell) == "bash":
            rc = root.real.rstrip("/") + ".bashrc"  # beside the folder SFTP serves, not in it
            with open(rc, "w", encoding="utf-8") as f:
                f.write(shell_rc(root.real, root.home, user))
            args = ["bash", "--rcfile", rc, "-i"]
        if st.term is not None:
            child = spawn_pty(shell, args, env, home, st.size)
        else:
            child = spawn_pipes(shell, args, env, home)
        with self._lock:  # before the pumps start: a program that ends at once must leave the set
            self._children.add(child)
        start_pumps(channel, child, on_end=self._forget)
        return child

    def _forget(self, child: Child) -> None:
        """The program has ended: ``stop()`` no longer needs to hang it up."""
        with self._lock:
            self._children.discard(child)


def shell_rc(real_root: str, home: str, user: str) -> str:
    """The demo shell's rc file: paths shown and taken as SFTP shows them (the folder ``real_root``
    as "/"), the prompt ``user@demo:/home/user/data$``, and the folder reported after every command
    (OSC 7, ``file://demo/path`` percent-encoded), as a shell set up for it on an instance does."""
    import shlex

    return f"""# gridclient demo: this login's files are the folder SFTP serves as "/"
__gc_root={shlex.quote(real_root.rstrip("/"))}
export HOME="$__gc_root"{shlex.quote(home)}
__gc_shown() {{ case "$PWD/" in "$__gc_root"/*) local p="${{PWD#"$__gc_root"}}"; printf '%s' "${{p:-/}}";; *) printf '%s' "$PWD";; esac; }}
cd() {{ [ "$1" = "--" ] && shift; case "$1" in /*) builtin cd -- "$__gc_root$1";; "") builtin cd -- "$HOME";; *) builtin cd "$@";; esac; }}
pwd() {{ __gc_shown; echo; }}
__gc_osc7() {{ local p; p=$(__gc_shown); p=${{p//%/%25}}; p=${{p// /%20}}; printf '\\033]7;file://demo%s\\033\\\\' "$p"; }}
PROMPT_COMMAND=__gc_osc7
PS1={shlex.quote(user)}'@demo:$(__gc_shown)\\$ '
builtin cd -- "$HOME"
"""
