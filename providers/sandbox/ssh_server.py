"""A loopback-only SSH endpoint for the demo sandbox's instances.

The demo's EC2 instances are moto records with made-up addresses; the demo VO logs into them
through ``ssh_host_override`` = this server. It is a small paramiko server that:

* listens on 127.0.0.1 (never a routable address) at a free port, with a host key made at start;
* accepts only public-key authentication with the one authorized key (the demo key pair), under
  any user name — the shell always runs as the user running the app;
* serves ``pty-req``, ``window-change``, ``env`` (LANG, LC_*, COLORTERM), ``shell`` and ``exec``:
  a shell runs in a real pseudo-terminal (controlling tty, job control, Ctrl+C) in the user's
  home directory; ``exec`` without a pty runs with pipes and separates stdout and stderr;
* sends the exit status and closes the channel when the program ends; ``stop()`` hangs up every
  child and closes the listener.

Nothing here logs key material, typed input or program output.
"""

from __future__ import annotations

import errno
import fcntl
import hmac
import logging
import os
import pwd
import re
import select
import signal
import socket
import struct
import subprocess
import termios
import threading
import time

import paramiko

log = logging.getLogger(__name__)

CHUNK = 65536
_ENV_ACCEPTED = re.compile(r"^(LANG|LANGUAGE|LC_[A-Z_]+|COLORTERM)$")
_FORK_LOCK = threading.Lock()  # no other of our forks may inherit a master fd before it is CLOEXEC


def _default_signals() -> None:
    """In a forked child before exec: every signal back to its default action, none blocked.

    An ignored signal stays ignored across exec. Python ignores SIGPIPE and SIGXFSZ, and an app
    started with ``nohup`` or as a background job of a script also ignores SIGHUP and SIGINT; a
    shell given those would let Ctrl+C leave ``seq 1 1e9`` running and ``yes | head`` complain.
    """
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _winsize(rows: int, cols: int, xpix: int = 0, ypix: int = 0) -> bytes:
    return struct.pack("HHHH", max(1, min(rows, 0xFFFF)), max(1, min(cols, 0xFFFF)),
                       max(0, min(ypix, 0xFFFF)), max(0, min(xpix, 0xFFFF)))


def _exit_code(status: int) -> int:
    """A wait status as ssh reports it: the exit code, or 128 + the signal number."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255


class _Child:
    """One program run for one channel: in a pty (pid + master fd) or with pipes (Popen)."""

    def __init__(self, pid: int, master: int | None = None, popen: subprocess.Popen | None = None):
        self.pid = pid
        self.master = master
        self.popen = popen
        self.done = threading.Event()
        self._lock = threading.Lock()

    def resize(self, rows: int, cols: int, xpix: int = 0, ypix: int = 0) -> None:
        with self._lock:
            if self.master is not None:
                try:
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, _winsize(rows, cols, xpix, ypix))
                except OSError:
                    pass

    def close_master(self) -> None:
        with self._lock:
            if self.master is not None:
                try:
                    os.close(self.master)
                except OSError:
                    pass
                self.master = None

    def hang_up(self) -> None:
        """SIGHUP to the child's process group (it leads its own session), as sshd does."""
        if self.done.is_set():
            return
        for target in (lambda s: os.killpg(self.pid, s), lambda s: os.kill(self.pid, s)):
            try:
                target(signal.SIGHUP)
                target(signal.SIGCONT)
                return
            except (ProcessLookupError, PermissionError):
                continue

    def kill(self) -> None:
        if self.done.is_set():
            return
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
                return
            except (ProcessLookupError, PermissionError):
                continue


class _ChannelState:
    def __init__(self) -> None:
        self.term: str | None = None
        self.size = (24, 80, 0, 0)  # rows, cols, xpix, ypix
        self.env: dict[str, str] = {}
        self.child: _Child | None = None
        self.started = False


class _Interface(paramiko.ServerInterface):
    """Per connection: authentication and the requests on its session channels."""

    def __init__(self, server: "LoopbackSSHServer", peer: str):
        self.server = server
        self.peer = peer
        self.channels: dict[int, _ChannelState] = {}
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
            return paramiko.AUTH_SUCCESSFUL
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
        return self._run(channel, command)

    def _run(self, channel: paramiko.Channel, command: str | None) -> bool:
        st = self._state(channel)
        if st.started or self.server._stopping:
            return False
        st.started = True
        try:
            st.child = self.server._spawn(channel, st, command)
        except OSError as exc:
            log.warning("demo ssh: could not start the shell: %s", exc.strerror or exc)
            return False
        return True


class LoopbackSSHServer:
    """A paramiko SSH server on 127.0.0.1 that accepts only ``authorized_key``.

    ``start()`` binds a free port (``port``) and makes the host key (``host_key``);
    ``stop()`` hangs up every session and closes the listener. Usable as a context manager.
    """

    def __init__(self, authorized_key: paramiko.PKey, host: str = "127.0.0.1", *,
                 shell: str | None = None, host_key: paramiko.PKey | None = None):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the demo SSH server listens on loopback only, not on {host!r}")
        if not isinstance(authorized_key, paramiko.PKey):
            raise TypeError("authorized_key must be a paramiko.PKey")
        self.authorized_key = authorized_key
        self._authorized_blob = authorized_key.asbytes()
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port: int | None = None
        self.host_key: paramiko.PKey | None = host_key
        self._shell = shell
        self._sock: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._transports: set[paramiko.Transport] = set()
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._stopping = False
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
        log.info("demo ssh: stopped")

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

    def _env(self, st: _ChannelState, shell: str, peer: tuple) -> dict[str, str]:
        env = {
            "HOME": self._home,
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

    def _spawn(self, channel: paramiko.Channel, st: _ChannelState, command: str | None) -> _Child:
        shell = self._shell_path()
        try:
            peer = channel.get_transport().getpeername()
        except Exception:  # noqa: BLE001
            peer = ()
        env = self._env(st, shell, peer)
        argv0 = "-" + os.path.basename(shell)  # a login shell, as sshd starts it
        args = [argv0] if command is None else [os.path.basename(shell), "-c", command]
        if st.term is not None:
            child = self._spawn_pty(shell, args, env, st.size)
            pumps = [(self._pump_pty_out, (channel, child)), (self._pump_pty_in, (channel, child))]
        else:
            popen = subprocess.Popen(args, executable=shell, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self._home, env=env, start_new_session=True,
                                     bufsize=0)
            child = _Child(popen.pid, popen=popen)
            pumps = [(self._pump_pipes, (channel, child))]
        with self._lock:
            self._children.add(child)
        for target, args_ in pumps:
            threading.Thread(target=target, args=args_, name="demo-ssh-pump", daemon=True).start()
        return child

    def _spawn_pty(self, shell: str, args: list[str], env: dict[str, str], size: tuple) -> _Child:
        """The login shell on a new pty, started the way sshd starts one: default signal
        dispositions, nothing blocked (see :func:`_default_signals`)."""
        winsize = _winsize(*size)
        home = self._home
        with _FORK_LOCK:
            pid, master = os.forkpty()  # child: new session, the pty slave as controlling tty
            if pid == 0:  # pragma: no cover - the child only sets up and execs
                try:
                    _default_signals()
                    fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                    try:
                        os.chdir(home)
                    except OSError:
                        os.chdir("/")
                    os.execve(shell, args, env)
                except BaseException:  # noqa: BLE001
                    os.write(2, b"demo ssh: could not start the shell\r\n")
                finally:
                    os._exit(127)
            os.set_inheritable(master, False)
        os.set_blocking(master, False)
        return _Child(pid, master=master)

    @staticmethod
    def _after_reply(channel: paramiko.Channel) -> None:
        """Wait until paramiko has answered the shell/exec request that started this program.

        paramiko sends that reply from its transport thread only after our callback returns, and
        a short program can end before that: a close that overtakes the reply makes the client's
        exec_command fail with "Channel closed". The transport thread handles messages in order,
        so once it has handled the client's answer to a keepalive sent now, the reply is out.
        """
        transport = channel.get_transport()
        try:
            if transport is not None and transport.is_active():
                transport.global_request("keepalive@openssh.com", wait=True)
        except (OSError, EOFError, paramiko.SSHException):
            pass

    def _finish(self, channel: paramiko.Channel, child: _Child, status: int) -> None:
        child.done.set()
        with self._lock:
            self._children.discard(child)
        try:
            if not channel.closed:
                channel.shutdown_write()
                channel.send_exit_status(_exit_code(status))
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            try:
                channel.close()
            except (OSError, EOFError, paramiko.SSHException):
                pass  # the connection is gone already (the server is stopping, the client hung up)

    def _pump_pty_out(self, channel: paramiko.Channel, child: _Child) -> None:
        """The pty's output to the channel; when the program ends, its status and close."""
        self._after_reply(channel)
        master = child.master
        while True:
            try:
                readable, _, _ = select.select([master], [], [], 0.5)
            except (OSError, ValueError):
                break
            if not readable:
                continue
            # a pty hands out a few KB per read: gather what is there into one big send
            data = bytearray()
            ended = False
            while len(data) < CHUNK:
                try:
                    piece = os.read(master, CHUNK - len(data))
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EIO, errno.EBADF):  # EIO: the program closed the pty
                        log.debug("demo ssh: pty read failed: %s", exc)
                    ended = True
                    break
                if not piece:
                    ended = True
                    break
                data += piece
            if not data and ended:
                break
            try:
                if data:
                    channel.sendall(bytes(data))
            except (OSError, EOFError, paramiko.SSHException):
                child.hang_up()
                break
            if ended:
                break
        try:
            _, status = os.waitpid(child.pid, 0)
        except ChildProcessError:  # reaped elsewhere: its status is lost
            status = 255 << 8
        child.close_master()
        self._finish(channel, child, status)

    def _pump_pty_in(self, channel: paramiko.Channel, child: _Child) -> None:
        """The channel's input to the pty; a closed channel hangs the program up."""
        while True:
            try:
                data = channel.recv(CHUNK)
            except (OSError, EOFError, paramiko.SSHException):
                data = b""
            if not data:
                break
            view = memoryview(data)
            while view:
                master = child.master
                if master is None:
                    return
                try:
                    n = os.write(master, view)
                except BlockingIOError:
                    select.select([], [master], [], 0.5)
                    continue
                except OSError:
                    return
                view = view[n:]
        if channel.closed and not child.done.is_set():
            child.hang_up()

    def _pump_pipes(self, channel: paramiko.Channel, child: _Child) -> None:
        popen = child.popen
        assert popen is not None
        self._after_reply(channel)

        def out(stream, send):
            try:
                while True:
                    data = os.read(stream.fileno(), CHUNK)
                    if not data:
                        break
                    send(data)
            except (OSError, EOFError, ValueError, paramiko.SSHException):
                pass

        def inp():
            try:
                while True:
                    data = channel.recv(CHUNK)
                    if not data:
                        break
                    popen.stdin.write(data)
            except (OSError, EOFError, ValueError, paramiko.SSHException):
                pass
            finally:
                try:
                    popen.stdin.close()
                except OSError:
                    pass
                if channel.closed and popen.poll() is None:
                    child.hang_up()

        readers = [threading.Thread(target=out, args=(popen.stdout, channel.sendall), daemon=True),
                   threading.Thread(target=out, args=(popen.stderr, channel.sendall_stderr), daemon=True)]
        for t in readers:
            t.start()
        threading.Thread(target=inp, daemon=True).start()
        for t in readers:
            t.join()
        popen.wait()
        status = popen.returncode
        # Popen gives -signal for a killed program; turn it back into a wait status for _exit_code
        wait_status = (-status) & 0x7F if status < 0 else (status & 0xFF) << 8
        for s in (popen.stdout, popen.stderr):
            s.close()
        self._finish(channel, child, wait_status)
