"""The command line's questions on a real terminal (a pty), as a person answers them: the secret
asked without echo, a confirmation answered no then yes, a fixed choice as a numbered list."""

from __future__ import annotations

import json

from gridclient.paths import AppPaths
from gridclient.secrets import SERVICE, encrypted_file_keyring
from tests.cli.test_subprocess import SECRET, gridclient
from tests.cli.test_vm_ssh import under_pty


def state(ec2, iid: str) -> str:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_vo_add_asks_the_secret_without_echo_and_a_stop_is_confirmed_on_the_terminal(tmp_path, moto, boto):
    ws = tmp_path / "ws"
    ec2 = boto("ec2")
    iid = ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]

    code, said = under_pty(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id",
                           "AKIDTEST", typed=[((b"Secret access key",), SECRET.encode() + b"\r")])

    assert code == 0, said
    assert SECRET not in said  # typed, never shown
    [vo] = json.loads((ws / "config" / "workspace.json").read_text())["vos"]
    keyring = encrypted_file_keyring(AppPaths.under(ws).data / "secrets.cfg", "master-pw-for-the-test")
    assert keyring.get_password(SERVICE, f"{vo['id']}/secret_access_key") == SECRET

    code, said = under_pty(ws, "vm", "stop", iid, typed=[((b"[y/N]",), b"n\r")])
    assert code == 4 and "Stop" in said, said
    assert state(ec2, iid) == "running"
    code, said = under_pty(ws, "vm", "stop", iid, "--wait", typed=[((b"[y/N]",), b"y\r")])
    assert code == 0, said
    assert state(ec2, iid) == "stopped" and f"{iid}: stopped" in said


def test_a_fixed_choice_is_a_numbered_list_answered_by_number(tmp_path, moto, boto):
    ws = tmp_path / "ws"
    ec2 = boto("ec2")
    amazon = ec2.describe_images()["Images"][0]["ImageId"]
    base = ec2.run_instances(ImageId=amazon, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=base, Name="base-image")["ImageId"]
    ec2.terminate_instances(InstanceIds=[base])
    for name in ("alpha-key", "beta-key", "gamma-key"):
        ec2.create_key_pair(KeyName=name)
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    added = gridclient(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id",
                       "AKIDTEST", "--secret-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr

    # no --key: the key pair is asked; a number out of the list is asked again, then 2 is beta-key
    code, said = under_pty(ws, "vm", "boot", "--image", image, "--group", group, "--name", "picked",
                           typed=[((b"Number",), b"9\r"), ((b"Number",), b"2\r"), ((b"[Y/n]", b"[y/N]"), b"y\r")])

    assert code == 0, said
    lines = [line.strip() for line in said.splitlines()]
    assert "1) alpha-key" in lines and "2) beta-key" in lines and "3) gamma-key" in lines, said
    assert "not one of its entries" in said  # the 9
    made = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["picked"]}])["Reservations"]
            for i in r["Instances"]]
    assert [i["KeyName"] for i in made] == ["beta-key"]
