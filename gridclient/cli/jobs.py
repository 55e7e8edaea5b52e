"""``gridclient vm run ID… -c COMMAND | --script FILE``: a command on instances, as a job.

The action that declares ``COMMAND_RUN`` for the instances' kind (the AWS provider's Run command…)
runs through the action runner with the command or the script as its fields, and starts a job of
:mod:`gridclient.remote_jobs` — the window's Jobs tab's, with the same host-key policy and key
lookup as the terminal, kept in the workspace's history. This command then follows it: each host's
output as it streams, a line per host's end, Ctrl+C cancels (the remote processes are signalled).
Exit status: 0 when every host exited 0; else the one host's status, or 1.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gridclient.cli import generated
from gridclient.cli.app import common, session
from gridclient.cli.complete import complete_ids
from gridclient.cli.session import Failed
from gridclient.cli.ssh import instances_as, user_option
from gridclient.remote_jobs import PARALLEL

POLL = 0.1


def add_commands(root: click.Group, registry: Any) -> None:
    from gridclient.registry import COMMAND_RUN

    action = next((a for a in registry.actions.values() if a.command == COMMAND_RUN), None)
    group = root.commands.get("vm")
    if action is not None and isinstance(group, click.Group):
        group.add_command(make_command(action))


def _quiet(s: Any, outcome: Any, interaction: Any, wait: bool) -> None:
    if outcome.state != "done":
        generated.report(s, outcome, interaction, wait)


class _AfterDashes(click.Command):
    """``vm run ID… -- COMMAND WORDS``, as ``vm ssh ID -- COMMAND`` takes it: what follows ``--`` is
    the command (click would take it for more ids)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta["gridclient.after_dashes"] = args[at + 1:]
            args = args[:at]
        return super().parse_args(ctx, args)


def make_command(action: Any) -> click.Command:
    @click.command("run", cls=_AfterDashes,
                   help="Run a command (-c, or after --) or a local script (--script) on each instance, in "
                        "parallel, over SSH as the window's terminal logs in; each host's output "
                        "is printed as it comes, prefixed with its name. Ctrl+C cancels. The exit status: "
                        "one host's own, else 0 when every host's is 0, else 1.")
    @click.argument("instances", nargs=-1, required=True, metavar="ID…", shell_complete=complete_ids(action.kinds))
    @click.option("--command", "-c", "command", metavar="COMMAND", help="Run by each instance's login shell.")
    @click.option("--script", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
                  help="Sent over, run by its #! line, then removed.")
    @click.option("--parallel", "parallel", type=click.IntRange(1, 256), default=None, metavar="N",
                  help=f"At most N hosts at once (default {PARALLEL}).")
    @user_option()
    @common()
    def run(instances: tuple[str, ...], command: str | None, script: str | None, parallel: int | None,
            user: str | None) -> None:
        s = session()
        words = click.get_current_context().meta.get("gridclient.after_dashes")
        if words and command:
            raise click.UsageError("Give the command with -c or after --, not both.")
        command = " ".join(words) if words else command  # as ssh joins its command's words
        if bool(command) == bool(script):
            raise click.UsageError("Give a command (-c COMMAND, or after --) or a script (--script FILE): one "
                                   "of the two.")
        if parallel is not None:
            s.wb.jobs.parallel = parallel
        given = {"command": command} if command else {"script": script}
        elements = instances_as(s, action, list(instances), user)
        before = {id(j) for j in s.wb.jobs.jobs}
        outcome = generated.run_action(s, action, list(instances), given, False, show=_quiet, elements=elements)
        job = next((j for j in reversed(s.wb.jobs.jobs) if id(j) not in before), None)
        if job is None:
            raise Failed(outcome.message or f"{action.title} started nothing.")
        raise click.exceptions.Exit(follow(job, s.json))

    return run


def follow(job: Any, as_json: bool = False) -> int:
    """Print the job's output as it comes until it ends (Ctrl+C cancels it); its exit status."""
    many = len(job.hosts) > 1
    sent = {id(h): [0, 0] for h in job.hosts}
    partial = {(id(h), k): b"" for h in job.hosts for k in (0, 1)}
    told: set[int] = set()

    def pump(final: bool = False) -> None:
        for h in job.hosts:
            for k, (tail, out) in enumerate(((h.stdout, sys.stdout), (h.stderr, sys.stderr))):
                data = tail.since(sent[id(h)][k])
                if data is None:  # more than is kept came meanwhile
                    data = f"[… {tail.dropped} bytes not kept …]\n".encode() + tail.data()
                sent[id(h)][k] = tail.total
                if as_json:
                    continue
                data = partial[(id(h), k)] + data
                lines = data.split(b"\n")
                partial[(id(h), k)] = lines.pop() if not final else b""
                if final and lines and lines[-1] == b"":
                    lines.pop()
                for line in lines + ([partial[(id(h), k)]] if final and partial[(id(h), k)] else []):
                    text = line.decode("utf-8", "replace")
                    out.write(f"[{h.label}] {text}\n" if many else text + "\n")
                out.flush()
            if h.ended and id(h) not in told and (final or not any(partial[(id(h), k)] for k in (0, 1))):
                told.add(id(h))
                if not as_json and (many or h.state != "done"):
                    status = f"exit {h.exit_status}" if h.exit_status is not None else h.state
                    click.echo(f"[{h.label}] {h.state}" + (f", {status}" if h.exit_status is not None else "")
                               + (f": {h.error}" if h.error else ""), err=True)

    interrupted = False
    try:
        while not job.wait(POLL):
            pump()
    except KeyboardInterrupt:
        interrupted = True
        job.cancel()
        click.echo("Cancelling: the remote commands are being stopped…", err=True)
        job.wait(10)
    pump(final=True)
    if as_json:
        import json

        click.echo(json.dumps([{"host": h.label, "where": h.where, "state": h.state, "exit_status": h.exit_status,
                                "error": h.error, "stdout": h.stdout.text(), "stderr": h.stderr.text()}
                               for h in job.hosts], indent=2))
    if interrupted:
        return 130  # as a shell reports an interrupted command, and the other commands here
    statuses = [h.exit_status for h in job.hosts]
    if all(h.state == "done" and st == 0 for h, st in zip(job.hosts, statuses)):
        return 0
    bad = [st for st in statuses if st not in (None, 0)]
    return bad[0] if len(job.hosts) == 1 and bad else 1

