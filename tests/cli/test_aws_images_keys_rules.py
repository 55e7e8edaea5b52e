"""``image refresh | search``, ``key get``, ``sg rules | rule-remove`` on moto over HTTP: the image
catalog fetched and searched through the tree's own catalog node, a key pair's public key as EC2
gives it, and a group's rules named as the tree (and ``sg rule-add``) word them, removed through
the window's Remove rule with its confirmation."""

from __future__ import annotations

import subprocess

import pytest

from gridclient.cli.output import ELEMENT_KEYS


def amazon_images(boto) -> list[dict]:
    ec2 = boto("ec2")
    return [i for page in ec2.get_paginator("describe_images").paginate(
        Owners=["amazon"], Filters=[{"Name": "state", "Values": ["available"]}]) for i in page["Images"]]


def test_image_refresh_fetches_the_catalog_and_search_finds_in_any_case(gc, boto, aws_vo):
    images = amazon_images(boto)
    ubuntu = {i["ImageId"] for i in images if "ubuntu" in (i.get("Name", "") + i["ImageId"]).lower()}
    assert len(ubuntu) >= 2  # moto's Amazon images hold a few
    # before any fetch: EC2's name filter, and a note saying the catalog is not fetched
    before = gc("image", "search", "ubuntu", "--json")
    assert before.code == 0, before.err
    assert "Not fetched yet" in before.err
    assert before.json() and {r["id"] for r in before.json()} <= ubuntu

    refreshed = gc("image", "refresh")
    assert refreshed.code == 0, refreshed.err
    assert f"holds Amazon's images, {len(images):,} of them" in refreshed.out

    found = gc("image", "search", "UBUNTU", "--json")
    assert found.code == 0, found.err
    rows = found.json()
    assert {r["id"] for r in rows} == ubuntu  # any case: "Ubuntu CUDA…" as well as "ubuntu/images/…"
    assert all(tuple(r) == ELEMENT_KEYS and r["kind"] == "aws.ec2.image" for r in rows)
    assert f"of {len(images):,} Amazon's images, fetched just now" in found.err
    one = min((i for i in images if i["ImageId"] in ubuntu and i["Name"].startswith("ubuntu/")),
              key=lambda i: i["ImageId"])
    by_id = gc("image", "search", one["ImageId"].upper(), "--json").json()
    assert [r["id"] for r in by_id] == [one["ImageId"]]
    assert by_id[0]["properties"]["Name"] == one["Name"]
    words = one["Name"].split("/")[-1].split("-")[:2]  # every word must appear, in any order
    both = gc("image", "search", " ".join(reversed(words)), "--json").json()
    assert one["ImageId"] in {r["id"] for r in both} and len(both) < len(images)
    table = gc("image", "search", "ubuntu")
    assert table.code == 0 and table.out.splitlines()[0].split()[:2] == ["ID", "NAME"]
    assert all(i in table.out for i in ubuntu)
    none = gc("image", "search", "no-such-image-xyzzy", "--json")
    assert none.code == 0 and none.json() == [] and "No cached image matches" in none.err
    assert gc("image", "search", "   ").code == 2
    # refreshed again: the same count, as JSON the action's record
    again = gc("image", "refresh", "--json")
    assert again.code == 0 and again.json()["state"] == "done" and f"{len(images):,}" in again.json()["message"]


def test_key_get_prints_the_public_key_and_fingerprint(gc, boto, aws_vo, tmp_path):
    key = tmp_path / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", str(key)], check=True)
    public = (tmp_path / "id_test.pub").read_text().strip()
    ec2 = boto("ec2")
    ec2.import_key_pair(KeyName="laptop", PublicKeyMaterial=public.encode())
    ec2.create_key_pair(KeyName="other")
    held = {k["KeyName"]: k for k in ec2.describe_key_pairs(IncludePublicKey=True)["KeyPairs"]}

    ran = gc("key", "get", "laptop")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert held["laptop"]["KeyFingerprint"] in lines[0]
    assert lines[-1].split()[:2] == public.split()[:2]

    as_json = gc("key", "get", "laptop", "--json")
    assert as_json.code == 0, as_json.err
    fields = as_json.json()["properties"]
    assert fields["KeyFingerprint"] == held["laptop"]["KeyFingerprint"]
    assert fields["PublicKey"].split()[:2] == public.split()[:2] and fields["KeyName"] == "laptop"
    assert as_json.json()["elements"][0]["label"] == "laptop"
    # by the key pair's id too; another key's own public key
    by_id = gc("key", "get", held["other"]["KeyPairId"], "--json").json()["properties"]
    assert by_id["KeyName"] == "other" and by_id["PublicKey"] == held["other"]["PublicKey"].strip()

    missing = gc("key", "get", "nope")
    assert missing.code == 3 and "nope" in missing.err and missing.out == ""
    assert gc("key", "get").code == 2


def ingress(boto, gid: str, key: str = "IpPermissions") -> list[tuple]:
    """The group's rules in moto: (protocol, from, to, CIDR) each."""
    group = boto("ec2").describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    return sorted((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
                  for p in group.get(key, []) for r in p.get("IpRanges", []))


@pytest.fixture
def web(boto, aws_vo) -> str:
    ec2 = boto("ec2")
    gid = ec2.create_security_group(GroupName="web", Description="web boxes")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return gid


def test_sg_rules_lists_a_groups_rules_by_id_or_name(gc, web):
    by_name = gc("sg", "rules", "web", "--json")
    assert by_name.code == 0, by_name.err
    rows = by_name.json()
    assert sorted((r["label"], r["state"]) for r in rows) == [
        ("all traffic to 0.0.0.0/0", "outbound"), ("tcp 22 from 0.0.0.0/0", "inbound"),
        ("tcp 80 from 0.0.0.0/0", "inbound")]
    assert all(tuple(r) == ELEMENT_KEYS and r["kind"] == "aws.ec2.sgrule" for r in rows)
    assert gc("sg", "rules", web, "--json").json() == rows
    assert web in {r["id"] for r in gc("sg", "rules", "--json").json()}  # no GROUP: the groups
    assert gc("sg", "rules", "nosuch").code == 3
    assert gc("sg", "rules", "sg-0123456789abcdef0").code == 3


def test_sg_rule_remove_asks_then_removes_rules_named_as_the_tree_and_rule_add_say_them(gc, boto, web):
    # no terminal, no --yes: refused, and the rule is still there
    refused = gc("sg", "rule-remove", "web", "tcp 22 from 0.0.0.0/0")
    assert refused.code == 4, refused.err
    assert "--yes" in refused.err and "tcp 22 from 0.0.0.0/0" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert ("tcp", 22, 22, "0.0.0.0/0") in ingress(boto, web)
    # a rule the group does not have, a group that does not exist: not found, nothing removed
    assert gc("sg", "rule-remove", "web", "tcp 23 from 0.0.0.0/0", "--yes").code == 3
    assert gc("sg", "rule-remove", "nosuch", "tcp 22 from 0.0.0.0/0", "--yes").code == 3
    assert gc("sg", "rule-remove", "web", "--yes").code == 2  # which rules?
    assert len(ingress(boto, web)) == 2

    done = gc("sg", "rule-remove", "web", "tcp 22 from 0.0.0.0/0", "--yes")
    assert done.code == 0, done.err
    assert done.out.strip() == "Removed inbound tcp 22 from 0.0.0.0/0 from web."
    assert ingress(boto, web) == [("tcp", 80, 80, "0.0.0.0/0")]

    # what rule-add says it added is what rule-remove takes back (a range's "–" typed as "-")
    added = gc("sg", "rule-add", "web", "--ports", "8000-8080", "--source", "10.0.0.0/8")
    assert added.code == 0, added.err
    assert added.out.strip() == "Added inbound tcp 8000–8080 from 10.0.0.0/8 to web."
    said = added.out.strip()[len("Added "):-len(" to web.")]
    assert ("tcp", 8000, 8080, "10.0.0.0/8") in ingress(boto, web)
    typed = said.replace("–", "-").upper()
    removed = gc("sg", "rule-remove", web, typed, "all traffic to 0.0.0.0/0", "--yes", "--json")
    assert removed.code == 0, removed.err
    record = removed.json()
    assert record["state"] == "done" and sorted(e["label"] for e in record["elements"]) == [
        "all traffic to 0.0.0.0/0", "tcp 8000–8080 from 10.0.0.0/8"]
    assert ingress(boto, web) == [("tcp", 80, 80, "0.0.0.0/0")]
    assert ingress(boto, web, "IpPermissionsEgress") == []

    # by id alone, as "Copy as command" gives it: the id names its group
    rule = next(r for r in gc("sg", "rules", "web", "--json").json() if r["label"] == "tcp 80 from 0.0.0.0/0")
    assert gc("sg", "rule-remove", rule["id"]).code == 4 and len(ingress(boto, web)) == 1
    assert gc("sg", "rule-remove", rule["id"], "--yes").code == 0
    assert ingress(boto, web) == []
    assert gc("sg", "rule-remove", rule["id"], "--yes").code == 3  # gone now
