"""The command line run in-process with click's CliRunner, on a throwaway workspace, the real
keyring fixture and moto's server over HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

SECRET = "s3cr3t-from-stdin-only"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def gc(app_paths, keyring_backend):
    """``gc("vm", "list", input=…)``: gridclient with the workspace of ``app_paths``, in-process."""
    from click.testing import CliRunner

    from gridclient.cli.app import build
    from gridclient.registry import ExtensionRegistry

    command = build(ExtensionRegistry().discover())
    root = str(app_paths.config.parent)

    def run(*args: str, input: str | None = None, env: dict | None = None, registry=None) -> Ran:
        cmd = command if registry is None else build(registry)
        result = CliRunner().invoke(cmd, ["--workspace", root, *args], input=input, env=env,
                                    prog_name="gridclient", catch_exceptions=False)
        return Ran(result.exit_code, result.stdout, result.stderr)

    run.root = root
    return run


@pytest.fixture
def aws_vo(gc, moto):
    """A VO "Lab" on the moto server, added through the command line (secret from stdin)."""
    ran = gc("vo", "add", "Lab", "--type", "aws", "--region", "us-east-1", "--endpoint-url", moto,
             "--access-key-id", "AKIDTEST", "--secret-stdin", input=SECRET + "\n")
    assert ran.code == 0, ran.err
    return "Lab"


@pytest.fixture
def instances(boto, aws_vo):
    """Two running instances in moto (one named "web"); their ids."""
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")["Instances"]
    ids = [i["InstanceId"] for i in made]
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "Name", "Value": "web"}])
    return ids


def moto_state(boto, instance_id: str) -> str:
    res = boto("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return res[0]["Instances"][0]["State"]["Name"]
