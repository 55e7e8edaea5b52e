"""A throwaway workspace bound to the demo sandbox: a "Demo" VO and project, its key and host key."""

from __future__ import annotations

import os
from pathlib import Path

from gridclient.workbench import Workbench
from gridclient.workspace import GridProject


def prepare(wb: Workbench, sandbox) -> None:
    """Create the Demo VO and project (once), hold the demo key pair's private key, trust its host."""
    from providers.aws.ssh_login import store_key

    vo = wb.workspace.vo_by_name("Demo")
    vo = wb.save_vo("Demo", "aws", {**sandbox.vo_settings(), **sandbox.vo_secrets()}, vo=vo)
    if not any(p.vo == vo.id for p in wb.workspace.projects.values()):
        wb.workspace.add_project(GridProject("Demo", vo.id))
    store_key(wb.paths, vo.id, sandbox.key_name, sandbox.private_key_pem)
    known: Path = wb.paths.known_hosts
    line = sandbox.known_hosts_line().strip()
    existing = known.read_text().splitlines() if known.exists() else []
    host = line.split()[0]
    kept = [x for x in existing if x.split()[:1] != [host]]  # a new sandbox has a new host key
    known.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(known, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(kept + [line]) + "\n")
