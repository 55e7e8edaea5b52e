"""Fixtures for the demo sandbox (providers/aws/demo.py); star-imported by tests/conftest.py.

moto keeps its data in module globals, so every moto server in the test process shares it:
the ``moto`` fixture's reset empties the sandbox too. A test that needs the demo data should not
also use ``moto``/``boto``; ``demo_sandbox.reseed()`` puts the data back after someone else's reset.
"""

from __future__ import annotations

import io

import pytest

__all__ = ["demo_sandbox", "demo_pkey"]


@pytest.fixture(scope="module")
def demo_sandbox():
    """A started DemoSandbox (moto on 127.0.0.1 + the demo SSH endpoint), stopped after the module."""
    pytest.importorskip("moto.server")
    from providers.aws.demo import DemoSandbox

    sandbox = DemoSandbox().start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def demo_pkey(demo_sandbox):
    """The demo key pair's private key as a paramiko key."""
    import paramiko

    return paramiko.RSAKey.from_private_key(io.StringIO(demo_sandbox.private_key_pem))
