"""``vm boot`` through the launch's own handler, with cloudmesh's names and the VO's defaults;
``default``; ``refresh on|off``; ``vm list --all-regions`` — on moto over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest


def workspace_file(gc) -> Path:
    return Path(gc.root) / "config" / "workspace.json"


def set_vo_setting(gc, name: str, key: str, value) -> None:
    path = workspace_file(gc)
    data = json.loads(path.read_text())
    next(v for v in data["vos"] if v["name"] == name)["settings"][key] = value
    path.write_text(json.dumps(data))


@pytest.fixture
def account(boto, aws_vo, gc):
    """An image of the account's own (the launch offers those), a key pair, a group; no address
    lookup on the network (the group is given)."""
    ec2 = boto("ec2")
    amazon = ec2.describe_images()["Images"][0]["ImageId"]
    base = ec2.run_instances(ImageId=amazon, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    own = ec2.create_image(InstanceId=base, Name="base-image")["ImageId"]
    other = ec2.create_image(InstanceId=base, Name="other-image")["ImageId"]
    ec2.terminate_instances(InstanceIds=[base])
    ec2.create_key_pair(KeyName="lab-key")
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    set_vo_setting(gc, aws_vo, "public_address_url", "")
    return {"ec2": ec2, "image": own, "other": other, "group": group, "base": base}


def launched(ec2, exclude: str) -> list[dict]:
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
            if i["InstanceId"] != exclude and i["State"]["Name"] != "terminated"]


def tag(inst: dict) -> str:
    return next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), "")


def test_boot_with_the_vos_defaults_then_with_flags(gc, account, tmp_path):
    ec2 = account["ec2"]
    needs_image = gc("vm", "boot", "--yes")
    assert needs_image.code == 2 and "--image" in needs_image.err
    for key, value in (("image", account["image"]), ("flavor", "t3.micro"), ("key", "lab-key"), ("group", "web")):
        ran = gc("default", key, value)
        assert ran.code == 0, ran.err
    shown = gc("default", "--json").json()
    assert shown == {"vo": "", "region": "us-east-1", "image": account["image"], "flavor": "t3.micro",
                     "key": "lab-key", "group": "web"}
    # the review is a confirmation: refused without a terminal, nothing launched
    refused = gc("vm", "boot", "--name", "one")
    assert refused.code == 4 and "--yes" in refused.err and launched(ec2, account["base"]) == []
    assert len(refused.err.strip().splitlines()) == 1 and "aws ec2" not in refused.err  # the question, not more
    one = gc("vm", "boot", "--name", "one", "--yes", "--wait")
    assert one.code == 0, one.err
    [inst] = launched(ec2, account["base"])
    assert (inst["ImageId"], inst["InstanceType"], inst["KeyName"]) == (account["image"], "t3.micro", "lab-key")
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [account["group"]] and tag(inst) == "one"
    assert f"{inst['InstanceId']}: running" in one.out.splitlines()  # --wait: the new instance's state
    # flags win over the defaults
    script = tmp_path / "init.sh"
    script.write_text("#!/bin/sh\necho booted > /tmp/booted\n")
    two = gc("vm", "boot", "--image", account["other"], "--flavor", "t3.small", "--count", "2", "--name", "two",
             "--group", account["group"], "--user-data", str(script), "--yes", "--json")
    assert two.code == 0, two.err
    made = [i for i in launched(ec2, account["base"]) if i["InstanceId"] != inst["InstanceId"]]
    assert len(made) == 2 and {i["InstanceType"] for i in made} == {"t3.small"}
    assert {i["ImageId"] for i in made} == {account["other"]} and sorted(map(tag, made)) == ["two-1", "two-2"]
    data = ec2.describe_instance_attribute(InstanceId=made[0]["InstanceId"], Attribute="userData")
    assert base64.b64decode(data["UserData"]["Value"]).decode() == script.read_text()
    assert two.json()["action"] == "aws.ec2.launch"
    assert sorted(e["id"] for e in two.json()["elements"]) == sorted(i["InstanceId"] for i in made)
    # a flavor the image cannot run, or that does not exist: said, nothing made
    bad = gc("vm", "boot", "--flavor", "no.such", "--yes")
    assert bad.code == 3 and "no instance type “no.such”" in bad.err and len(launched(ec2, account["base"])) == 3
    arm = gc("vm", "boot", "--flavor", "t4g.micro", "--yes")  # offered, but not for this x86_64 image
    assert arm.code == 2 and "Instance type" in arm.err and len(launched(ec2, account["base"])) == 3
    # a key or group named that the region does not have: said as `default` says it
    no_key = gc("vm", "boot", "--key", "nokey", "--yes")
    assert no_key.code == 3 and "no key pair “nokey”" in no_key.err and "--name NAME" in no_key.err
    no_group = gc("vm", "boot", "--group", "nogroup", "--yes")
    assert no_group.code == 3 and "no security group “nogroup”" in no_group.err
    # an image id the region does not know: the image is named, not the Computing node
    for wrong in ("ami-00000000", "ami-0123456789abcdef0"):
        no_image = gc("vm", "boot", "--image", wrong, "--yes")
        assert no_image.code == 3 and f"no image {wrong}" in no_image.err, no_image.err
        assert "Computing" not in no_image.err and len(launched(ec2, account["base"])) == 3
    assert gc("default", "image", "--unset").code == 0
    assert gc("default", "image", "--json").json() == {"image": ""}


def test_a_default_the_cloud_does_not_offer_is_refused_when_set(gc, account):
    ec2 = account["ec2"]
    for key, value, said in (("image", "ami-00000000", "no image ami-00000000"),
                             ("flavor", "t3.huge", "no instance type “t3.huge”"),
                             ("key", "lost-key", "no key pair “lost-key”"),
                             ("group", "nope", "no security group “nope”")):
        ran = gc("default", key, value)
        assert ran.code == 3 and said in ran.err, (key, ran.err)
        assert gc("default", key, "--json").json() == {key: ""}  # not kept
    # a name two VPCs' groups share is refused; its id is taken
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_security_group(GroupName="web", Description="web too", VpcId=vpc)
    twice = gc("default", "group", "web")
    assert twice.code == 3 and "2 security groups" in twice.err and account["group"] in twice.err
    for key, value in (("image", account["image"]), ("flavor", "t3.micro"), ("key", "lab-key"),
                       ("group", account["group"])):
        ran = gc("default", key, value)
        assert ran.code == 0 and ran.err == "", (key, ran.err)
    assert gc("default", "--json").json()["group"] == account["group"]


def test_a_default_set_while_the_cloud_is_unreachable_is_kept_with_the_reason(gc, aws_vo):
    set_vo_setting(gc, aws_vo, "endpoint_url", "http://127.0.0.1:9")  # nothing listens there
    ran = gc("default", "key", "lab-key")
    assert ran.code == 0 and "kept without a check" in ran.err and "lab-key" in ran.out, ran.err
    assert gc("default", "key", "--json").json() == {"key": "lab-key"}


def test_default_vo_is_used_without_vo(gc, moto, aws_vo):
    more = gc("vo", "add", "Lab2", "--type", "aws", "--endpoint-url", moto, "--access-key-id", "A",
              "--secret-stdin", input="x\n")
    assert more.code == 0
    assert gc("vm", "list").code == 2  # two VOs, none named
    assert gc("default", "vo", "Nope").code == 3
    assert gc("default", "vo", "Lab2").code == 0
    assert gc("vm", "list").code == 0
    assert json.loads(workspace_file(gc).read_text())["preferences"]["default_vo"] == "Lab2"
    assert gc("default", "region", "eu-west-1").code == 0
    unknown = gc("default", "region", "mars-1")  # a region name, but none the endpoint has
    assert unknown.code == 3 and "no region “mars-1”" in unknown.err, unknown.err
    malformed = gc("default", "region", "Mars 1")
    assert malformed.code == 2 and "not a region name" in malformed.err, malformed.err
    bad_url = gc("vo", "add", "Lab3", "--type", "aws", "--endpoint-url", "notaurl", "--access-key-id", "A",
                 "--secret-stdin", input="x\n")
    assert bad_url.code == 2 and "not an http:// or https:// address" in bad_url.err, bad_url.err
    vo = next(v for v in json.loads(workspace_file(gc).read_text())["vos"] if v["name"] == "Lab2")
    assert vo["settings"]["region"] == "eu-west-1"


def test_refresh_on_and_off_is_the_windows_preference(gc, app_paths):
    from gridclient.workspace import Workspace

    off = gc("refresh", "off")
    assert off.code == 0 and "refresh off" in off.out
    assert Workspace(app_paths).preferences["live_refresh"] is False
    assert gc("refresh", "--json").json() == {"live_refresh": False}
    assert gc("refresh", "on").code == 0
    assert Workspace(app_paths).preferences["live_refresh"] is True
    assert gc("refresh", "sideways").code == 2


def test_vm_list_all_regions(gc, boto, instances):
    far = boto("ec2", "eu-west-1")
    image = far.describe_images()["Images"][0]["ImageId"]
    there = far.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    here = gc("vm", "list", "--json").json()
    assert there not in {r["id"] for r in here}
    everywhere = gc("vm", "list", "--all-regions", "--json")
    assert everywhere.code == 0, everywhere.err
    rows = everywhere.json()
    assert {r["id"] for r in rows} == {*instances, there} and {r["kind"] for r in rows} == {"aws.ec2.instance"}
    table = gc("vm", "list", "--all-regions")
    line = next(x for x in table.out.splitlines() if x.startswith(there))
    assert "eu-west-1" in line and "REGION" in table.out.splitlines()[0]
    assert gc("vm", "list", "--all-regions", "extra").code == 2


def test_boot_from_a_public_image_by_id_with_no_image_of_the_accounts_and_no_catalog(gc, boto, aws_vo):
    ec2 = boto("ec2")
    amazon = ec2.describe_images()["Images"][0]["ImageId"]  # moto's, not the account's own
    ec2.create_key_pair(KeyName="lab-key")
    ec2.create_security_group(GroupName="web", Description="web")
    set_vo_setting(gc, aws_vo, "public_address_url", "")
    ran = gc("vm", "boot", "--image", amazon, "--key", "lab-key", "--group", "web", "--name", "pub", "--yes")
    assert ran.code == 0, ran.err
    made = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"] if tag(i) == "pub"]
    assert [(i["ImageId"], i["KeyName"]) for i in made] == [(amazon, "lab-key")]
    # nothing to search and no --image: the id is asked for, and without a terminal that is a usage error
    asked = gc("vm", "boot", "--key", "lab-key", "--group", "web", "--yes")
    assert asked.code == 2 and "--image" in asked.err


def test_a_key_given_where_the_account_has_no_key_pair_is_said_plainly(gc, boto, aws_vo):
    ec2 = boto("ec2")
    amazon = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_security_group(GroupName="web", Description="web")
    set_vo_setting(gc, aws_vo, "public_address_url", "")
    ran = gc("vm", "boot", "--image", amazon, "--key", "nokey", "--group", "web", "--yes")
    assert ran.code == 3, ran.err
    assert "There is no key pair “nokey” in us-east-1" in ran.err and "key add --name NAME" in ran.err, ran.err
    assert not [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
