"""``gridclient vm ssh ID [-- COMMAND…]``: the window's SSH login, in this terminal.

The action whose command is "vm ssh" (the AWS provider's SSH login…) runs through the action
runner and gives the login target — address (or the VO's "SSH via host[:port]"), user, the key the
app holds for the instance's key pair, the host key fingerprints the instance printed — as it
gives the window's terminal tab. Then the same :class:`~gridclient.ssh.SSHSession` connects, with
the same host-key policy: an unknown key is asked on the terminal with its fingerprint (never
answered by ``--yes``), refused when nobody can be asked; a changed one is refused (exit 4).

Without a command: a shell with a pty, this terminal in raw mode (termios), its size sent again on
every SIGWINCH, until the shell ends; with one (after ``--``): it runs, its output streamed here, and
standard input passed on when it is not a terminal. Either way the exit status is the remote one.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import threading
from typing import Any

import click

from gridclient.cli import generated
from gridclient.cli.app import common, session
from gridclient.cli.complete import complete_ids
from gridclient.cli.session import Failed, Refused
from gridclient.cli.terminal import TerminalInteraction


def add_commands(root: click.Group, registry: Any) -> None:
    action = next((a for a in registry.actions.values() if a.cli == "vm ssh"), None)
    group = root.commands.get("vm")
    if action is not None and isinstance(group, click.Group):
        group.add_command(make_command(action))


def user_option() -> Any:
    return click.option("--user", "-l", "user", metavar="NAME",
                        help="Log in as NAME (e.g. ec2-user, ubuntu, admin), remembered for the instance's "
                             "image as the window remembers it; without it, the user the image tells, or "
                             "the one given before.")


def instances_as(s: Any, action: Any, ids: list[str], user: str | None) -> list:
    """The instances ``ids`` name, for ``action``; with ``user`` (``--user``) first remembered as
    their images' login user."""
    vo = s.vo()
    elements = s.find(vo, action, ids)
    if user:
        remember_user(s, vo, elements, user)
    return elements


def remember_user(s: Any, vo: Any, elements: list, user: str) -> None:
    """``user`` as the login user of these instances' images, in the VO's settings, as the window
    keeps the answer to its "Which user logs into …?" question (``ssh_users``: image id → user)."""
    saved = s.wb.workspace.vos.get(vo.id, vo)  # not a --region copy: the action's VO is made from it
    users = dict(saved.settings.get("ssh_users", {}))
    images = {e.properties.get("ImageId") for e in elements} - {None, ""}
    if not images:
        raise click.UsageError("--user: the instance's image is not known, so the user cannot be set for it.")
    users.update({image: user.strip() for image in images})
    s.wb.workspace.update_vo_settings(saved, {"ssh_users": users})


def checked(s: Any, outcome: Any, interaction: Any, wait: bool) -> None:
    if outcome.state != "done":
        generated.report(s, outcome, interaction, wait)


def make_command(action: Any) -> click.Command:
    @click.command("ssh", context_settings={"ignore_unknown_options": True},
                   help="Log into an instance in this terminal, as the window's SSH login does (same user, "
                        "key and host-key checks), or run COMMAND there (after --). The exit status is "
                        "the remote one.")
    @click.argument("instance", metavar="ID", shell_complete=complete_ids(action.kinds))
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    @click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE",
                  help="An answer the login asks for (user=…).")
    @user_option()
    @common()
    def ssh(instance: str, command: tuple[str, ...], field: tuple[str, ...], user: str | None) -> None:
        from gridclient.ssh import SSHError, SSHSession
        from gridclient.ssh.known_hosts import KnownHosts
        from gridclient.ssh.target import HostKeyChanged, HostKeyRejected

        s = session()
        tty = sys.stdin.isatty()
        if not command and not tty:
            raise click.UsageError("An interactive session needs a terminal: give a command after --, "
                                   "e.g. gridclient vm ssh ID -- uptime.")
        outcome = generated.run_action(s, action, [instance], generated.pairs(field), False, show=checked,
                                       elements=instances_as(s, action, [instance], user))
        target = outcome.terminal
        if target is None:
            raise Failed(outcome.message or f"{action.title} gave nothing to log into.")
        asker = TerminalInteraction(yes=s.yes, tty=tty)  # a host key: asked on a tty only, never by --yes
        ssh_session = SSHSession(target, KnownHosts(s.wb.paths.known_hosts), asker)
        try:
            ssh_session.connect()
            status = run_command(ssh_session, " ".join(command), tty) if command else shell(ssh_session)
        except (HostKeyRejected, HostKeyChanged) as exc:
            raise Refused(asker.refusal or str(exc)) from None
        except SSHError as exc:
            raise Failed(str(exc)) from None
        finally:
            ssh_session.close()
        raise click.exceptions.Exit(status)

    return ssh


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def shell(session: Any) -> int:
    """A shell on a pty, this terminal raw until it ends; its exit status."""
    import termios
    import tty as tty_mode

    cols, rows = shutil.get_terminal_size((80, 24))
    session.open_shell(cols, rows, os.environ.get("TERM") or "xterm-256color")
    ended = threading.Event()
    why: list[str] = []
    out = sys.stdout.fileno()

    def closed(reason: str) -> None:
        why.append(reason)
        ended.set()

    session.start_reader(lambda data: _write_all(out, data), closed)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    resize = lambda *_: session.resize(*shutil.get_terminal_size((80, 24)))  # noqa: E731
    before = signal.signal(signal.SIGWINCH, resize)
    tty_mode.setraw(fd)
    try:
        while not ended.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 4096)
                if not data:
                    break
                session.write(data)
        ended.wait(5)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, before)
    if why and why[0]:
        raise Failed(why[0])
    status = session.exit_status
    return status if status >= 0 else 0


def run_command(session: Any, command: str, tty: bool) -> int:
    """``command`` on the host: its output streamed here, standard input passed on unless it is a
    terminal; its exit status."""
    import paramiko

    chan = session.transport.open_session()
    try:
        chan.exec_command(command)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise Failed(f"The command could not be started: {exc}.") from None
    if not tty:
        def feed() -> None:
            try:
                while True:
                    data = os.read(sys.stdin.fileno(), 65536)
                    if not data:
                        break
                    chan.sendall(data)
            except (OSError, EOFError, paramiko.SSHException, ValueError):
                pass
            finally:
                try:
                    chan.shutdown_write()
                except (OSError, EOFError, paramiko.SSHException):
                    pass

        threading.Thread(target=feed, name="ssh-stdin", daemon=True).start()
    out, err = sys.stdout.buffer, sys.stderr.buffer
    while True:
        while chan.recv_ready():
            out.write(chan.recv(65536))
            out.flush()
        while chan.recv_stderr_ready():
            err.write(chan.recv_stderr(65536))
            err.flush()
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            break
        if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
            break
        select.select([chan], [], [], 0.5)
    status = chan.recv_exit_status() if chan.exit_status_ready() else -1
    chan.close()
    if status < 0:
        raise Failed("The connection ended before the command said how it ended.")
    return status
