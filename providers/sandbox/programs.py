"""The local programs behind the demo SSH endpoint's sessions (:mod:`providers.sandbox.ssh_server`).

A session's shell or command runs as the user running the app, on this machine:

* :func:`spawn_pty` starts it in a real pseudo-terminal (a new session with the pty slave as its
  controlling tty, so job control and Ctrl+C work), the way sshd starts a login shell: default
  signal dispositions, nothing blocked;
* :func:`spawn_pipes` starts it with pipes, keeping stdout and stderr apart (``exec`` without a pty);
* :class:`Child` is the started program's control: resize, hang up, kill, and ``done``;
* :func:`start_pumps` moves bytes between the SSH channel and the program in daemon threads and,
  when the program ends, sends its exit status and closes the channel.

The server hands over the session's paramiko channel; this module never imports the server.
Nothing here logs typed input or program output.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import signal
import struct
import subprocess
import termios
import threading
from typing import Callable

import paramiko

log = logging.getLogger(__name__)

CHUNK = 65536
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


class Child:
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


# -- starting ------------------------------------------------------------------------------
def spawn_pty(shell: str, args: list[str], env: dict[str, str], cwd: str, size: tuple) -> Child:
    """The login shell on a new pty, started the way sshd starts one: default signal
    dispositions, nothing blocked (see :func:`_default_signals`). ``size`` is (rows, cols,
    xpix, ypix); the child starts in ``cwd``, or in / if it cannot."""
    winsize = _winsize(*size)
    with _FORK_LOCK:
        pid, master = os.forkpty()  # child: new session, the pty slave as controlling tty
        if pid == 0:  # pragma: no cover - the child only sets up and execs
            try:
                _default_signals()
                fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                try:
                    os.chdir(cwd)
                except OSError:
                    os.chdir("/")
                os.execve(shell, args, env)
            except BaseException:  # noqa: BLE001
                os.write(2, b"demo ssh: could not start the shell\r\n")
            finally:
                os._exit(127)
        os.set_inheritable(master, False)
    os.set_blocking(master, False)
    return Child(pid, master=master)


def spawn_pipes(shell: str, args: list[str], env: dict[str, str], cwd: str) -> Child:
    """The command with pipes for stdin, stdout and stderr, leading a session of its own."""
    popen = subprocess.Popen(args, executable=shell, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
                             bufsize=0)
    return Child(popen.pid, popen=popen)


# -- pumps ---------------------------------------------------------------------------------
def start_pumps(channel: paramiko.Channel, child: Child, on_end: Callable[[Child], None]) -> None:
    """Start the daemon threads that move bytes between ``channel`` and ``child``.

    When the program ends: ``child.done`` is set, ``on_end(child)`` is called, then the exit
    status goes to the channel and the channel is closed.
    """
    if child.popen is None:
        pumps = [(_pump_pty_out, (channel, child, on_end)), (_pump_pty_in, (channel, child))]
    else:
        pumps = [(_pump_pipes, (channel, child, on_end))]
    for target, args in pumps:
        threading.Thread(target=target, args=args, name="demo-ssh-pump", daemon=True).start()


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


def _finish(channel: paramiko.Channel, child: Child, status: int, on_end: Callable[[Child], None]) -> None:
    child.done.set()
    on_end(child)
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


def _pump_pty_out(channel: paramiko.Channel, child: Child, on_end: Callable[[Child], None]) -> None:
    """The pty's output to the channel; when the program ends, its status and close."""
    _after_reply(channel)
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
    _finish(channel, child, status, on_end)


def _pump_pty_in(channel: paramiko.Channel, child: Child) -> None:
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


def _pump_pipes(channel: paramiko.Channel, child: Child, on_end: Callable[[Child], None]) -> None:
    popen = child.popen
    assert popen is not None
    _after_reply(channel)

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
    _finish(channel, child, wait_status, on_end)
