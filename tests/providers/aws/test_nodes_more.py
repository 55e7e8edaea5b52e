"""providers.aws.nodes: the loaders of the nodes issue 10 adds — an instance's volumes and Elastic
IPs, Storage → Snapshots, Services → Elastic IPs and Instance types, and the availability zones
under each region — against a real moto server over HTTP.

Each test seeds moto through its own boto3 client, runs the loader with an ``AwsToken`` pointed at
the server and checks what a person would see: kinds, ids, labels, states, icons, details, order.
"""

from __future__ import annotations

import pytest

from gridclient.elements import Element
from providers.aws import kinds as K
from providers.aws import nodes
from providers.aws.nodes import (gib_text, load_addresses, load_instance, load_instance_types, load_regions, load_snapshots,
                                 load_zones, type_order)

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"


from tests.providers.aws.test_nodes import make_token, token  # noqa: F401 - the fixture, shared


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def rows_of(loader, token, parent: Element) -> list[Element]:
    return [e for page in loader(token, parent) for e in page]


def launch(ec2, name: str | None = None, zone: str = "us-east-1a") -> dict:
    kw = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]} if name else {}
    return ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             Placement={"AvailabilityZone": zone}, **kw)["Instances"][0]


def instance_el(ec2, iid: str) -> Element:
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return nodes.instance_element(inst)


# -- under an instance ---------------------------------------------------------------------------
def test_an_instance_lists_its_volumes_by_device_then_its_elastic_ip(token, ec2):
    inst = launch(ec2, "web-1")
    iid = inst["InstanceId"]
    bystander = launch(ec2, "other")["InstanceId"]
    data = ec2.create_volume(Size=20, AvailabilityZone="us-east-1a", VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}])["VolumeId"]
    logs = ec2.create_volume(Size=5, AvailabilityZone="us-east-1a", VolumeType="gp2")["VolumeId"]
    ec2.attach_volume(VolumeId=logs, InstanceId=iid, Device="/dev/sdh")
    ec2.attach_volume(VolumeId=data, InstanceId=iid, Device="/dev/sdf")
    elsewhere = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    ec2.attach_volume(VolumeId=elsewhere, InstanceId=bystander, Device="/dev/sdf")
    eip = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=iid)
    root = next(m["Ebs"]["VolumeId"] for m in ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]
                ["Instances"][0]["BlockDeviceMappings"] if m["DeviceName"] not in ("/dev/sdf", "/dev/sdh"))

    parent = instance_el(ec2, iid)
    assert parent.has_children
    rows = rows_of(load_instance, token, parent)

    volumes = [e for e in rows if e.kind == K.VOLUME]
    assert [e.id for e in volumes] == [root, data, logs]  # by device: /dev/sda1, /dev/sdf, /dev/sdh
    assert elsewhere not in {e.id for e in rows}  # only this instance's
    by_id = {e.id: e for e in volumes}
    assert by_id[data].label == "data" and by_id[data].detail == "/dev/sdf · 20 GiB · gp3"
    assert by_id[logs].label == logs and by_id[logs].detail == "/dev/sdh · 5 GiB · gp2"
    assert all(e.state == "in-use" and e.icon == "volume" and not e.has_children for e in volumes)
    assert by_id[data].ref == {"device": "/dev/sdf", "instance_id": iid}
    assert rows[-1].kind == K.ADDRESS and rows[-1].id == eip["AllocationId"]
    assert rows[-1].label == eip["PublicIp"] and rows[-1].state == "associated"
    assert rows[-1].detail == "Elastic IP"  # under its instance: no "→ web-1"


def test_an_instance_with_nothing_attached_says_so(token, ec2):
    iid = launch(ec2, "gone")["InstanceId"]
    ec2.terminate_instances(InstanceIds=[iid])  # its root volume goes with it
    rows = rows_of(load_instance, token, instance_el(ec2, iid))
    assert [(e.kind, e.label) for e in rows] == [("info", "No EBS volume attached and no Elastic IP")]


# -- Storage → Snapshots ---------------------------------------------------------------------------
def test_snapshots_are_the_accounts_own_newest_first(token, ec2):
    vol = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    first = ec2.create_snapshot(VolumeId=vol, Description="first")["SnapshotId"]
    second = ec2.create_snapshot(VolumeId=vol, Description="nightly", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "nightly"}]}])["SnapshotId"]
    every = ec2.describe_snapshots()["Snapshots"]
    assert len(every) > 10  # moto's public AMIs bring snapshots of other accounts: not ours to list

    rows = rows_of(load_snapshots, token, Element(K.SNAPSHOTS, "us-east-1/snapshots", "Snapshots (EBS)"))

    assert {e.id for e in rows} == {first, second}
    by_id = {e.id: e for e in rows}
    snap = next(s for s in every if s["SnapshotId"] == second)
    started = snap["StartTime"].isoformat()[:10]
    assert by_id[second].label == "nightly" and by_id[first].label == first
    assert by_id[second].detail == f"8 GiB · {started} · nightly"
    assert by_id[second].state == "completed" and by_id[second].icon == "snapshot"
    assert by_id[second].ref == {"volume_id": vol, "size": 8}
    assert by_id[second].properties["Tag:Name"] == "nightly"
    starts = [str(next(s for s in every if s["SnapshotId"] == e.id)["StartTime"]) for e in rows]
    assert starts == sorted(starts, reverse=True)


def test_no_snapshots_is_an_empty_listing(token):
    assert rows_of(load_snapshots, token, Element(K.SNAPSHOTS, "s", "Snapshots (EBS)")) == []


# -- Services → Elastic IPs ------------------------------------------------------------------------
def test_elastic_ips_by_address_saying_where_each_goes(token, ec2):
    iid = launch(ec2, "web-1")["InstanceId"]
    unnamed = launch(ec2)["InstanceId"]
    made = [ec2.allocate_address(Domain="vpc") for _ in range(3)]
    ec2.associate_address(AllocationId=made[0]["AllocationId"], InstanceId=iid)
    ec2.associate_address(AllocationId=made[1]["AllocationId"], InstanceId=unnamed)
    ec2.create_tags(Resources=[made[2]["AllocationId"]], Tags=[{"Key": "Name", "Value": "spare"}])

    rows = rows_of(load_addresses, token, Element(K.ADDRESSES, "us-east-1/addresses", "Elastic IPs"))

    def ip_key(ip: str) -> tuple:
        return tuple(int(p) for p in ip.split("."))

    assert [e.label for e in rows] == sorted((m["PublicIp"] for m in made), key=ip_key)
    by_id = {e.id: e for e in rows}
    assert by_id[made[0]["AllocationId"]].detail == f"→ web-1 ({iid})"
    assert by_id[made[1]["AllocationId"]].detail == f"→ {unnamed}"
    assert by_id[made[2]["AllocationId"]].detail == "spare · not associated"
    assert [by_id[m["AllocationId"]].state for m in made] == ["associated", "associated", "unassociated"]
    assert all(e.kind == K.ADDRESS and e.icon == "address" and not e.has_children for e in rows)
    assert by_id[made[0]["AllocationId"]].ref["association_id"].startswith("eipassoc-")
    assert by_id[made[2]["AllocationId"]].ref == {"allocation_id": made[2]["AllocationId"],
                                                  "public_ip": made[2]["PublicIp"], "association_id": "",
                                                  "instance_id": ""}


# -- Services → Instance types ---------------------------------------------------------------------
def test_memory_reads_as_people_say_it():
    assert [gib_text(m) for m in (512, 1024, 1740, 3840, 16384, 786432, 25165824)] == \
        ["0.5 GiB", "1 GiB", "1.7 GiB", "3.75 GiB", "16 GiB", "768 GiB", "24576 GiB"]


def test_type_order_is_family_then_size():
    names = ["t3.2xlarge", "t3.micro", "m5.metal", "t3.xlarge", "t3.nano", "m5.large", "t3.small", "m5.24xlarge",
             "t3.medium", "m5.4xlarge", "t3.large"]
    assert sorted(names, key=type_order) == ["m5.large", "m5.4xlarge", "m5.24xlarge", "m5.metal", "t3.nano",
                                             "t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge",
                                             "t3.2xlarge"]


def test_instance_types_with_vcpu_memory_architecture_and_network(token, ec2):
    expected = {}
    for page in ec2.get_paginator("describe_instance_types").paginate():
        expected.update({t["InstanceType"]: t for t in page["InstanceTypes"]})

    rows = rows_of(load_instance_types, token, Element(K.INSTANCE_TYPES, "us-east-1/instancetypes", "Instance types"))

    assert [e.id for e in rows] == sorted(expected, key=type_order)  # every type, once, in family/size order
    t3 = [e.id for e in rows if e.id.startswith("t3.")]
    assert t3 == ["t3.nano", "t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge"]
    micro = next(e for e in rows if e.id == "t3.micro")
    t = expected["t3.micro"]
    assert (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"], t["NetworkInfo"]["NetworkPerformance"]) == \
        (2, 1024, "Up to 5 Gigabit")
    assert micro.detail == "2 vCPU · 1 GiB · x86_64 · Up to 5 Gigabit"
    assert micro.kind == K.INSTANCE_TYPE and micro.icon == "flavor" and not micro.has_children
    assert micro.ref == {"vcpus": 2, "memory_mib": 1024, "architectures": "x86_64"}
    graviton = next(e for e in rows if e.id == "m6g.large")
    assert "arm64" in graviton.detail and graviton.detail.startswith("2 vCPU · 8 GiB")


# -- Services → Regions → zones --------------------------------------------------------------------
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_each_region_expands_into_its_zones_with_their_state(moto, boto, region):
    token = make_token(moto)  # the VO is in us-east-1: each region's zones are asked of that region
    regions = rows_of(load_regions, token, Element(K.REGIONS, "regions", "Regions"))
    row = next(e for e in regions if e.id == region)
    assert row.has_children and all(e.has_children for e in regions)

    zones = rows_of(load_zones, token, row)

    expected = boto("ec2", region=region).describe_availability_zones()["AvailabilityZones"]
    assert [e.id for e in zones] == sorted(z["ZoneName"] for z in expected)
    assert all(e.id.startswith(region) for e in zones)
    by_name = {z["ZoneName"]: z for z in expected}
    for e in zones:
        assert e.kind == K.ZONE and e.label == e.id and e.icon == "zone" and not e.has_children
        assert e.state == "available"
        assert e.detail == f"{by_name[e.id]['ZoneId']} · available"


def test_every_new_kind_has_its_loader_and_icon_in_the_manifest():
    from importlib.resources import files

    from providers.aws import manifest

    loaders = {}
    for contributor in manifest.node_contributors:
        loaders.update(contributor.loaders)
    for kind, name in ((K.INSTANCE, "load_instance"), (K.SNAPSHOTS, "load_snapshots"),
                       (K.ADDRESSES, "load_addresses"), (K.INSTANCE_TYPES, "load_instance_types"),
                       (K.REGION, "load_zones")):
        assert loaders[kind] == f"providers.aws.nodes:{name}" and callable(getattr(nodes, name)), kind
    icons = files("resources") / "icons"
    for icon in ("snapshot", "address", "flavor", "zone"):
        assert (icons / f"{icon}.svg").is_file(), icon
