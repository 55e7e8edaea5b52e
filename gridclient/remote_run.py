"""One host of a job over SSH: connect, run the command (or the script sent on stdin), stream its
output, and signal the remote process when cancelled. Qt-free; runs on a job's worker thread.

The connection is the terminal's :class:`~gridclient.ssh.SSHSession` — the same host-key policy
(unknown: asked with the fingerprint through the Interaction; changed: refused), key lookup,
~/.ssh/config and ProxyJump. The command runs as ``ssh host 'command'`` runs it: in the login
shell (POSIX shells: sh, bash, dash, zsh), after one line giving that shell's pid
(``gridclient-pid N``), which is taken out of the output. sshd makes each session's shell the
leader of a new process group, so a cancel sends ``kill -TERM -N`` — the whole group — on a second
exec channel of the same connection, then ``kill -KILL -N`` if the channel is still open after
:data:`GRACE` seconds. A closed channel alone would leave ``sleep 300`` running on the server.

A script is copied over and run without leaving a file behind: its bytes go on stdin into
``umask 077; t=$(mktemp) && cat >"$t" && chmod 700 "$t" && "$t"``, then the file is removed
(also when the job is cancelled: the shell traps TERM), so a shebang line picks its interpreter.
"""

from __future__ import annotations

import logging
import re
import select
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridclient.remote_jobs import HostRun, Job

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 20.0
GRACE = 3.0  # seconds between SIGTERM and SIGKILL of a cancelled command's process group
PID_LINE = re.compile(rb"^gridclient-pid (\d+)\r?$")
PID_HEAD = b"printf 'gridclient-pid %s\\n' \"$$\"\n"
SCRIPT = (b"umask 077; t=$(mktemp) || exit 125; trap 'rm -f \"$t\"; exit 143' TERM HUP INT; "
          b"cat >\"$t\" && chmod 700 \"$t\" && \"$t\"; s=$?; rm -f \"$t\"; exit $s")


def remote_command(job: "Job") -> str:
    """What the exec request carries: the pid line, then the command or the script runner."""
    body = SCRIPT if job.script is not None else job.command.encode("utf-8")
    return (PID_HEAD + body).decode("utf-8")


class _Stdout:
    """Feeds stdout to the host's tail, taking the pid line out (lines a login script printed
    before it pass through)."""

    def __init__(self, host: "HostRun"):
        self.host = host
        self.head = bytearray()
        self.scanning = True

    def feed(self, data: bytes) -> None:
        if not self.scanning:
            self.host._output("stdout", data)
            return
        self.head += data
        while self.scanning and b"\n" in self.head:
            line, _, rest = bytes(self.head).partition(b"\n")
            self.head = bytearray(rest)
            m = PID_LINE.match(line)
            if m:
                self.host.pid = int(m.group(1))
                self.scanning = False
            else:
                self.host._output("stdout", line + b"\n")
        if not self.scanning or len(self.head) > 4096:  # found, or no such line is coming
            self.scanning = False
            if self.head:
                self.host._output("stdout", bytes(self.head))
            self.head = bytearray()

    def flush(self) -> None:
        if self.head:
            self.host._output("stdout", bytes(self.head))
            self.head = bytearray()


def _signal(transport: Any, pid: int, name: str) -> None:
    """``kill -NAME -pid`` (the process group) on a second exec channel; errors only logged."""
    try:
        chan = transport.open_session(timeout=10)
        try:
            chan.exec_command(f"kill -{name} -{pid} 2>/dev/null || kill -{name} {pid}")
            chan.shutdown_write()
            chan.status_event.wait(10)
        finally:
            chan.close()
    except Exception as exc:  # noqa: BLE001 - the channel is closed below whatever happens here
        log.info("could not send %s to %s: %s", name, pid, exc)


def run_host(job: "Job", host: "HostRun", known_hosts: Any, interaction: Any) -> None:
    """Run ``job`` on ``host`` from start to end; every outcome is written on ``host``."""
    from gridclient.ssh.session import SSHSession
    from gridclient.ssh.target import SSHError

    if not host._begin():
        return  # cancelled while queued
    session = SSHSession(host.target, known_hosts, interaction)
    host._session = session
    try:
        session.connect(timeout=CONNECT_TIMEOUT)
    except SSHError as exc:
        session.close()
        host._end("cancelled" if host.cancelling else "failed", "" if host.cancelling else str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a sentence on the host's row, the others go on
        session.close()
        host._end("cancelled" if host.cancelling else "failed",
                  "" if host.cancelling else f"Could not connect to {host.where}: {exc}.")
        return
    try:
        _run(job, host, session)
    except Exception as exc:  # noqa: BLE001
        log.info("job %s on %s: %s", job.id, host.where, exc, exc_info=True)
        host._end("cancelled" if host.cancelling else "failed",
                  "" if host.cancelling else f"The command could not be run on {host.where}: {exc}.")
    finally:
        session.close()


def _run(job: "Job", host: "HostRun", session: Any) -> None:
    if host.cancelling:
        host._end("cancelled")
        return
    transport = session.transport
    chan = transport.open_session(timeout=15)
    try:
        chan.exec_command(remote_command(job))
        host._state("running")
        if job.script is not None:
            chan.sendall(job.script)
        chan.shutdown_write()  # the command reads end-of-file on stdin
        out = _Stdout(host)
        asked_at = killed_at = seen_at = 0.0
        while True:
            while chan.recv_ready():
                out.feed(chan.recv(65536))
            while chan.recv_stderr_ready():
                host._output("stderr", chan.recv_stderr(65536))
            idle = not chan.recv_ready() and not chan.recv_stderr_ready()
            # sshd may send the exit status while output is still on its way (a full window): the
            # end is the status and the end of the output, or the channel closed
            if idle and (chan.closed or chan.eof_received and chan.exit_status_ready() or not transport.is_active()):
                break
            if host.cancelling and not asked_at:
                seen_at = seen_at or time.monotonic()
                # the pid line comes first; a cancel made just as the command started waits for it
                if host.pid or not out.scanning or time.monotonic() - seen_at > 2:
                    asked_at = time.monotonic()
                    _stop_remote(host, transport, "TERM", chan)
            elif asked_at and not killed_at and time.monotonic() - asked_at > GRACE:
                killed_at = time.monotonic()
                _stop_remote(host, transport, "KILL", chan)
            elif killed_at and time.monotonic() - killed_at > GRACE:
                break  # the server ignores us: stop waiting, the channel is closed below
            select.select([chan], [], [], 0.2)
        while chan.recv_ready():
            out.feed(chan.recv(65536))
        while chan.recv_stderr_ready():
            host._output("stderr", chan.recv_stderr(65536))
        out.flush()
        status = chan.exit_status if chan.exit_status_ready() else -1
    finally:
        chan.close()
    host.exit_status = None if status == -1 else status
    if host.cancelling:
        sent = "SIGKILL" if killed_at else "SIGTERM"
        host._end("cancelled", f"Cancelled: the remote command was sent {sent}." if host.pid
                  else "Cancelled: the channel was closed (the remote shell's pid was not known).")
    elif status == 0:
        host._end("done")
    elif status > 0:
        host._end("failed", f"Exited with status {status}.")
    elif not transport.is_active():
        host._end("failed", f"The connection to {host.where} was lost while the command ran.")
    else:
        host._end("failed", "The command ended without an exit status (killed by a signal?).")


def _stop_remote(host: "HostRun", transport: Any, name: str, chan: Any) -> None:
    if host.pid:
        threading.Thread(target=_signal, args=(transport, host.pid, name), daemon=True,
                         name=f"job-kill {host.pid}").start()
    else:  # a shell that did not say its pid (not POSIX): all we can do is hang up
        chan.close()
