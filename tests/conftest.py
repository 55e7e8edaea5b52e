"""Shared fixtures: a real moto server over HTTP, a real keyring backend, a throwaway workspace.

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

import pytest  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request is noise

from tests.fixtures_demo import *  # noqa: E402,F401,F403
from tests.fixtures_sshd import *  # noqa: E402,F401,F403


@pytest.fixture(scope="session")
def moto_server():
    """moto's ThreadedMotoServer on 127.0.0.1 at a free port; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto(moto_server):
    """The shared moto server, emptied before the test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    return moto_server


@pytest.fixture
def boto(moto):
    """A factory of boto3 clients on the moto server: boto('ec2', region='eu-west-1')."""
    import boto3

    def make(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=moto, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return make


@pytest.fixture
def keyring_backend(tmp_path):
    """A real keyring backend (keyrings.alt's encrypted file keyring) set as the process default."""
    import keyring

    from gridclient.secrets import encrypted_file_keyring

    previous = keyring.get_keyring()
    backend = encrypted_file_keyring(tmp_path / "keyring" / "secrets.cfg", "test master password")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def app_paths(tmp_path):
    from gridclient.paths import AppPaths

    return AppPaths.under(tmp_path / "ws").ensure()
