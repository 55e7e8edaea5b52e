"""What the benchmark scripts share: a process kept away from any real AWS account, and a fresh
Workbench with a VO on the bench's moto server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def isolate() -> None:
    """Offscreen Qt, and no credentials or profile from the shell: nothing reaches a real account."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def bench_workbench(endpoint: str, root: Path):
    """(Workbench, VO): a fresh workspace under ``root`` (cold cache, secrets in memory) with the
    VO "Bench" on ``endpoint``, its auth token made."""
    from gridclient.paths import AppPaths
    from gridclient.secrets import MemoryKeyring, SecretStore
    from gridclient.workbench import Workbench

    wb = Workbench(AppPaths.under(root), secrets=SecretStore(MemoryKeyring()))
    vo = wb.save_vo("Bench", "aws", {"region": REGION, "credential_mode": "keys", "access_key_id": "testing",
                                     "secret_access_key": "testing", "endpoint_url": endpoint})
    wb.tokens.token(vo)
    return wb, vo
