"""The command line's root: ``gridclient [--workspace DIR] [--log-level L] COMMAND …``.

The core's commands (``vo``, ``project``, ``action``) are here and in :mod:`.vo`; every other one
is made from the registry by :mod:`.generated`. The common options (``--vo``, ``--region``,
``--json``, ``--yes``, ``--workspace``, ``--log-level``) are taken before or after the command
words and kept on the run's :class:`~gridclient.cli.session.Session`. Every error leaves as one
sentence on standard error with its exit code; a traceback only with ``--log-level DEBUG``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable

import click

from gridclient import __version__
from gridclient.cli.complete import complete_vo
from gridclient.cli.session import Failed, Interrupted, Session

log = logging.getLogger("gridclient.cli")

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Stderr(logging.StreamHandler):
    """Log lines to whatever ``sys.stderr`` is at the time (a test's runner swaps it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    # botocore at DEBUG prints request headers (signatures); never let it below INFO
    logging.getLogger("botocore").setLevel(max(logging.INFO, root.level))
    logging.getLogger("paramiko").setLevel(max(logging.WARNING, root.level))


def session(ctx: click.Context | None = None) -> Session:
    return (ctx or click.get_current_context()).find_root().obj


def _keep(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option's callback: its value, when given, goes onto the run's Session (an option given
    after the command words wins over the same given before them)."""
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is None or value is False or value == ():
            return value
        s = session(ctx)
        setattr(s, attr, value)
        if attr == "log_level":
            setup_logging(value)
        return value
    return callback


COMMON: dict[str, Callable[[Callable], Callable]] = {
    "vo": click.option("--vo", metavar="NAME", expose_value=False, callback=_keep("vo_name"),
                       shell_complete=complete_vo,
                       help="The Virtual Organisation (default: $GRIDCLIENT_VO, or the only one)."),
    "region": click.option("--region", metavar="REGION", expose_value=False, callback=_keep("region"),
                           help="Another region than the VO's, for this command."),
    "json": click.option("--json", "json_", is_flag=True, expose_value=False, callback=_keep("json"),
                         help="Print JSON (stable keys) instead of a table."),
    "yes": click.option("--yes", "-y", is_flag=True, expose_value=False, callback=_keep("yes"),
                        help="Answer yes to confirmations."),
    "workspace": click.option("--workspace", metavar="DIR", expose_value=False, callback=_keep("workspace"),
                              help="Keep everything the app writes under DIR."),
    "log_level": click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False), expose_value=False,
                              callback=_keep("log_level"), help="DEBUG also shows tracebacks."),
}
ALL_COMMON = tuple(COMMON)


def common(*names: str) -> Callable[[Callable], Callable]:
    """Decorate a command with the named common options (all of them when none is named)."""
    def decorate(f: Callable) -> Callable:
        for name in reversed(names or ALL_COMMON):
            f = COMMON[name](f)
        return f
    return decorate


class Root(click.Group):
    """The root command: makes the run's Session, and turns every error that is not already a
    click one into a sentence with exit code 1."""

    def __init__(self, registry: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.registry = registry

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        extra.setdefault("obj", Session(self.registry))
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.call_on_close(ctx.obj.close)
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if exc.__cause__ is not None:  # a failure told in words: what it came from, at DEBUG
                log.debug("the command failed", exc_info=exc)
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted("Stopped (Ctrl+C).") from None
        except BrokenPipeError:  # `gridclient … | head`: whoever read the output has gone
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            raise click.exceptions.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - one sentence; the traceback at DEBUG only
            log.debug("the command failed", exc_info=True)
            s: Session = ctx.obj
            raise Failed(s.explain(exc, next(iter(s._vos.values()), None))) from exc


def build(registry: Any) -> click.Group:
    """The whole command line for the providers in ``registry``."""
    from gridclient.cli import boot, buckets, generated, jobs, rules, ssh, transfer, vo

    @click.group(cls=Root, registry=registry, name="gridclient", invoke_without_command=True,
                 context_settings=CONTEXT,
                 help="A resource-tree browser for AWS and EC2-compatible clouds. Without a command, "
                      "starts the desktop app; with one, does it here (exit codes: 0 done, 1 failed, "
                      "2 usage, 3 not found, 4 refused, 130 stopped with Ctrl+C).")
    @click.version_option(__version__, prog_name="gridclient")
    @common()  # every common option also before the command's words
    @click.option("--demo", is_flag=True, help="Start the desktop app on the built-in demo sandbox.")
    @click.pass_context
    def root(ctx: click.Context, demo: bool) -> None:
        s = session(ctx)
        setup_logging(s.log_level)
        if ctx.invoked_subcommand is not None:
            if demo:
                raise click.UsageError("--demo starts the desktop app; it takes no command.")
            return
        from argparse import Namespace

        from gridclient.cli import start_gui

        ctx.exit(start_gui(Namespace(workspace=s.workspace, demo=demo, log_level=s.log_level)))

    vo.add_commands(root)
    generated.add_commands(root, registry)
    # aws-cli's and cloudmesh's spellings over the same actions, and the transfer queue
    for module in (transfer, buckets, boot, ssh, jobs, rules):
        module.add_commands(root, registry)
    return root
