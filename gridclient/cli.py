"""``gridclient`` / ``python -m gridclient``: parse the command line, then start the GUI.

The GUI is found by name ("ui.app:run") so that this core module never imports Qt.
"""

from __future__ import annotations

import argparse
import logging
import sys

from gridclient import __version__
from gridclient.registry import resolve


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridclient",
                                description="A resource-tree browser for AWS and EC2-compatible clouds.")
    p.add_argument("--version", action="version", version=f"gridclient {__version__}")
    p.add_argument("--workspace", metavar="DIR",
                   help="keep everything the app writes under DIR (config, cache, keys)")
    p.add_argument("--demo", action="store_true",
                   help="start the built-in demo sandbox (moto, loopback only) in a throwaway workspace")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    # botocore at DEBUG prints request headers (signatures); never let it below INFO
    logging.getLogger("botocore").setLevel(max(logging.INFO, logging.getLogger().level))
    logging.getLogger("paramiko").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        run = resolve("ui.app:run")
    except ImportError as exc:
        print(f"gridclient: the desktop interface could not start ({exc}). "
              "Install it with: pip install gridclient", file=sys.stderr)
        return 2
    return int(run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
