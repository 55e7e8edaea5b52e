"""``gridclient`` / ``python -m gridclient``: the desktop app, or a command done here.

Without a command (``gridclient``, ``--demo``, ``--workspace DIR``, ``--log-level L``) the GUI
starts as it always has: parsed by argparse, found by name ("ui.app:run") so that this package
never imports Qt, and without importing click (~40 ms of start-up). With a command, help or
shell completion, the command line made from the registry (:mod:`gridclient.cli.app`, click)
runs; it never imports PySide6.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

from gridclient import __version__
from gridclient.registry import resolve

COMPLETE_VAR = "_GRIDCLIENT_COMPLETE"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridclient",
                                description="A resource-tree browser for AWS and EC2-compatible clouds.")
    p.add_argument("--version", action="version", version=f"gridclient {__version__}")
    p.add_argument("--workspace", metavar="DIR",
                   help="keep everything the app writes under DIR (config, cache, keys)")
    p.add_argument("--demo", action="store_true",
                   help="start the built-in demo sandbox (moto, loopback only) in a throwaway workspace")
    p.add_argument("--log-level", default="WARNING", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def wants_gui(argv: list[str]) -> bool:
    """Whether ``argv`` only starts the GUI: nothing left once the GUI's own options are taken."""
    if os.environ.get(COMPLETE_VAR) or any(a in ("-h", "--help") for a in argv):
        return False
    _args, rest = parser().parse_known_args(argv)
    return not rest


def start_gui(args: argparse.Namespace) -> int:
    try:
        run = resolve("ui.app:run")
    except ImportError as exc:
        print(f"gridclient: the desktop interface could not start ({exc}). "
              "Install it with: pip install gridclient", file=sys.stderr)
        return 2
    return int(run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if wants_gui(argv):
        args = parser().parse_args(argv)
        logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
        # botocore at DEBUG prints request headers (signatures); never let it below INFO
        logging.getLogger("botocore").setLevel(max(logging.INFO, logging.getLogger().level))
        logging.getLogger("paramiko").setLevel(max(logging.WARNING, logging.getLogger().level))
        return start_gui(args)
    from gridclient.cli.app import build
    from gridclient.registry import ExtensionRegistry

    command = build(ExtensionRegistry().discover())
    try:
        command.main(args=argv, prog_name="gridclient", complete_var=COMPLETE_VAR)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        leave_to_the_exit()
    return 0


def leave_to_the_exit() -> None:
    """A command is done, and the process ends next (``main`` is its entry point).

    What the command made is frozen out of the garbage collector's reach: otherwise the
    interpreter's collections at shutdown walk every object still alive — botocore's service
    models are hundreds of thousands — and that was ~0.1 s of every command's wall time (aws-cli
    pays it too). The exit frees the memory all the same; only garbage in reference cycles is then
    not finalized, and the command has closed what it opened (its workbench: the queue, the
    connections, the files) before this point.
    """
    gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
