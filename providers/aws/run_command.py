"""Run command… on instances: a command, or a local script, on each selected instance over SSH.

The handler builds each instance's login target as SSH login does (:func:`providers.aws.actions.
login_target`: address, user — asked once per image when it does not tell — key, the host key
fingerprints it printed) and hands them to the core's job queue (``Workbench.jobs``,
:mod:`gridclient.remote_jobs`), which runs them in parallel and shows them in Operations → Jobs.
It returns as soon as the job has started.
"""

from __future__ import annotations

import dataclasses
import os

from gridclient.actions import ActionContext, ActionResult
from gridclient.remote_jobs import SCRIPT_LIMIT

COMMAND, SCRIPT = "a command", "a local script"


def script_problem(value: str) -> str:
    """What keeps this file from being run as a script ("" when nothing)."""
    path = os.path.expanduser(str(value or "").strip())
    if not path:
        return ""
    if not os.path.exists(path):
        return "no such file."
    if not os.path.isfile(path):
        return "not a file."
    if not os.access(path, os.R_OK):
        return "not readable by you."
    if os.path.getsize(path) > SCRIPT_LIMIT:
        return f"larger than {SCRIPT_LIMIT >> 20} MB; copy it over with a transfer instead."
    return ""


def what_to_run(values: dict) -> tuple[str, bytes | None, str]:
    """(command, script bytes or None, script name) from the action's values; ValueError (a sentence)
    unless exactly one of the two is given."""
    command = str(values.get("command") or "").strip()
    script = str(values.get("script") or "").strip()
    source = values.get("source")  # the form's choice; from a script or the console it may be absent
    if source == SCRIPT:
        command = ""
    elif source == COMMAND:
        script = ""
    if not command and not script:
        raise ValueError("Give a command to run, or a local script.")
    if command and script:
        raise ValueError("Give a command or a local script, not both.")
    if command:
        return command, None, ""
    problem = script_problem(script)
    if problem:
        raise ValueError(f"The script {script}: {problem}")
    path = os.path.expanduser(script)
    with open(path, "rb") as fh:
        return "", fh.read(), os.path.basename(path)


def run_command(ctx: ActionContext) -> ActionResult:
    """The action's handler: starts the job and says where it is shown."""
    job = start_job(ctx)
    what = f"the script {job.script_name}" if job.script_name else f"“{job.title}”"
    labels = ", ".join(e.label for e in ctx.elements[:5]) + (" …" if len(ctx.elements) > 5 else "")
    return ActionResult(message=f"Running {what} on {labels}: see Operations → Jobs.")


def start_job(ctx: ActionContext):
    """Submit the job for ``ctx.elements`` with ``ctx.values`` and return it (a front end that
    waits for its end, and streams its output, calls this rather than the handler)."""
    from providers.aws.actions import login_target

    command, script, name = what_to_run(ctx.values)
    hosts: list[tuple] = []
    for element in ctx.elements:
        # one context per instance, seeing the login users learnt for the ones before it
        vo = dataclasses.replace(ctx.vo, settings={**ctx.vo.settings, **ctx.remember})
        one = ActionContext([element], vo, ctx.token, ctx.interaction, ctx.paths, ctx.operation,
                            ctx.values, {}, ctx.workbench)
        try:
            target = login_target(one, "Run command")
        except ValueError as exc:  # no address to log into (stopped meanwhile): that host fails
            hosts.append((element.label, str(exc)))
        else:
            hosts.append((element.label, target))
        finally:
            ctx.remember.update(one.remember)
    return ctx.workbench.jobs.submit(hosts, command, script=script, script_name=name,
                                     interaction=ctx.interaction)
