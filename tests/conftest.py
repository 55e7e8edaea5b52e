"""The test run's setting, and its fixtures (tests/fixtures/): a real moto server over HTTP, a real
OpenSSH sshd, the demo sandbox, a real keyring backend, a throwaway workspace, the sample provider.

Qt runs offscreen; nothing here talks to AWS: the AWS_* variables are pointed at nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# never reach a real account from a test, whatever the developer's shell holds
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request is noise

pytest_plugins = ["tests.fixtures.moto", "tests.fixtures.workspace", "tests.fixtures.sandbox",
                  "tests.fixtures.sshd", "tests.fixtures.storage"]
