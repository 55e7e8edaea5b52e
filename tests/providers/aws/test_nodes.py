"""providers.aws.nodes: every child loader against a real moto server over HTTP.

Each test seeds moto through its own boto3 client, runs the loader with an ``AwsToken`` pointed at
the server, and checks what a person would see in the tree: kinds, ids, labels, state, icons,
detail text, whether a row expands, the ``ref`` that finds its children, the flattened
properties, sorting and paging. No Qt.
"""

from __future__ import annotations

import http.client
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from gridclient.elements import Element
from gridclient.storage.jobs import human_bytes
from gridclient.workspace import VirtualOrganization
from providers.aws import nodes
from providers.aws.nodes import (
    flatten,
    load_bucket,
    load_computing,
    load_images,
    load_keypairs,
    load_regions,
    load_security_groups,
    load_services,
    load_storage,
    load_volumes,
)
from providers.aws.token import AwsToken

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog (see providers/sandbox/cloud.py)


def make_token(endpoint: str, region: str = "us-east-1") -> AwsToken:
    vo = VirtualOrganization(name="T", type="aws", settings={
        "region": region, "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": endpoint})
    return AwsToken(vo, {"secret_access_key": "x"})


@pytest.fixture
def token(moto):
    return make_token(moto)


def pages_of(loader, token, parent: Element) -> list[list[Element]]:
    return [list(page) for page in loader(token, parent)]


def rows_of(loader, token, parent: Element) -> list[Element]:
    return [e for page in pages_of(loader, token, parent) for e in page]


def run_instance(ec2, **kw) -> dict:
    kw.setdefault("ImageId", AMAZON_IMAGE)
    kw.setdefault("InstanceType", "t3.micro")
    return ec2.run_instances(MinCount=1, MaxCount=1, **kw)


def describe(ec2, iid: str) -> dict:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


# -- small helpers ----------------------------------------------------------------------------
def test_flatten_nested_lists_tags_and_dates():
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    data = {
        "InstanceId": "i-1",
        "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
        "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "Env", "Value": "prod"}],
        "SecurityGroups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}],
        "ProductCodes": ["a", "b"],
        "Empty": [],
        "LaunchTime": when,
        "NetworkInterfaces": [{"Tags": [{"Key": "Role", "Value": "eth0"}], "Ipv6Addresses": []}],
        "ResponseMetadata": {"RequestId": "r"},
    }
    flat = flatten(data)
    assert flat["InstanceId"] == "i-1"
    assert flat["Placement.AvailabilityZone"] == "us-east-1a"
    assert flat["Placement.Tenancy"] == "default"
    assert flat["Tag:Name"] == "web" and flat["Tag:Env"] == "prod"
    assert "Tags" not in flat and not any(k.startswith("Tags") for k in flat)
    assert flat["SecurityGroups[0].GroupId"] == "sg-1"
    assert flat["SecurityGroups[1].GroupId"] == "sg-2"
    assert flat["ProductCodes"] == "a, b"  # a list of scalars reads as one value
    assert flat["Empty"] == ""
    assert flat["LaunchTime"] == "2026-03-04T05:06:07+00:00"
    assert flat["NetworkInterfaces[0].Tag:Role"] == "eth0"
    assert not any(k.startswith("ResponseMetadata") for k in flat)
    # every value is a scalar: the Properties view shows one line per key
    assert all(not isinstance(v, (dict, list)) for v in flat.values())


def test_sizes_in_the_tree_are_human_bytes():
    """Decimal units, as the transfer queue and the desktop's file managers say sizes."""
    human_size = human_bytes
    assert human_size(0) == "0 B"
    assert human_size(999) == "999 B"
    assert human_size(1000) == "1.0 KB"
    assert human_size(1536) == "1.5 KB"
    assert human_size(5 * 1000 ** 2) == "5.0 MB"
    assert human_size(3 * 1000 ** 3 // 2) == "1.5 GB"
    assert human_size(1000 ** 4) == "1.0 TB"
    assert human_size(2048 * 1000 ** 4) == "2048.0 TB"  # nothing above TB


# -- categories -------------------------------------------------------------------------------
def test_load_computing_lists_every_instance_with_state_address_and_properties(token, boto):
    ec2 = boto("ec2")
    ec2.create_key_pair(KeyName="team-key")
    named = run_instance(ec2, KeyName="team-key", TagSpecifications=[{
        "ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "Env", "Value": "prod"}]}])
    named_id = named["Instances"][0]["InstanceId"]
    pair = ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.small", MinCount=2, MaxCount=2)
    plain_ids = [i["InstanceId"] for i in pair["Instances"]]
    ec2.stop_instances(InstanceIds=[plain_ids[1]])

    pages = pages_of(load_computing, token, Element("aws.computing", "computing", "Computing"))
    assert pages[0][0].kind == "aws.all_regions"  # first, "All regions" (tests/providers/aws/test_all_regions.py)
    rows = {e.id: e for page in pages for e in page if e.kind != "aws.all_regions"}
    assert set(rows) == {named_id, *plain_ids}  # both reservations, every instance
    assert all(e.kind == "aws.ec2.instance" and e.has_children for e in rows.values())  # volumes, Elastic IPs

    web = rows[named_id]
    inst = describe(ec2, named_id)
    addr = inst.get("PublicIpAddress") or inst["PrivateIpAddress"]
    assert web.label == "web-1"  # the Name tag, not the id
    assert web.state == "running" and web.icon == "instance-running"
    assert web.detail == f"t3.micro · running · {addr}"
    assert web.ref == {"image_id": AMAZON_IMAGE, "key_name": "team-key"}
    assert web.properties["InstanceId"] == named_id
    assert web.properties["Placement.AvailabilityZone"] == inst["Placement"]["AvailabilityZone"]
    assert web.properties["Tag:Name"] == "web-1" and web.properties["Tag:Env"] == "prod"
    assert web.properties["InstanceType"] == "t3.micro"
    assert web.properties["KeyName"] == "team-key"

    running, stopped = rows[plain_ids[0]], rows[plain_ids[1]]
    assert running.label == plain_ids[0]  # no Name tag: the id
    assert stopped.label == plain_ids[1]
    assert stopped.state == "stopped" and stopped.icon == "instance-stopped"
    assert stopped.detail.startswith("t3.small · stopped")
    assert running.ref["key_name"] == ""


def test_load_computing_with_no_instances_yields_an_empty_page(token):
    rows = rows_of(load_computing, token, Element("aws.computing", "computing", "Computing"))
    assert [e.kind for e in rows] == ["aws.all_regions"]  # no instance: only "All regions"


def test_load_services_yields_the_service_nodes_scoped_to_the_region(moto):
    token = make_token(moto, region="eu-west-1")
    pages = pages_of(load_services, token, Element("aws.services", "services", "Services"))
    assert len(pages) == 1
    rows = pages[0]
    assert [(e.kind, e.id, e.label) for e in rows] == [
        ("aws.images", "eu-west-1/images", "My images (AMIs)"),
        ("aws.catalog", "eu-west-1/catalog", "Image catalog"),
        ("aws.keypairs", "eu-west-1/keypairs", "Key pairs"),
        ("aws.securitygroups", "eu-west-1/sg", "Security groups"),
        ("aws.addresses", "eu-west-1/addresses", "Elastic IPs"),
        ("aws.instancetypes", "eu-west-1/instancetypes", "Instance types"),
        ("aws.regions", "regions", "Regions"),
    ]
    assert all(e.has_children for e in rows)  # each one expands
    assert [e.icon for e in rows] == ["images", "catalog", "keys", "firewall", "address", "flavor", "regions"]
    assert rows[1].detail == "right-click → Fetch… then Search…"


def test_load_storage_yields_buckets_case_insensitively_then_the_volumes_node(token, boto):
    s3 = boto("s3")
    for name in ("Zeta-Bucket", "alpha", "Beta"):  # list_buckets answers in creation order
        s3.create_bucket(Bucket=name)

    pages = pages_of(load_storage, token, Element("aws.storage", "storage", "Storage"))
    assert len(pages) == 2
    buckets, volumes = pages
    assert [e.label for e in buckets] == ["alpha", "Beta", "Zeta-Bucket"]
    for b in buckets:
        assert b.kind == "aws.s3.bucket" and b.id == b.label
        assert b.has_children and b.icon == "bucket"
        assert b.ref == {"bucket": b.label, "prefix": "", "uri": f"s3://{b.label}/"}
        assert "Name" not in b.properties  # the Properties view shows the name once, as Name
        assert re.match(r"\d{4}-\d\d-\d\dT", b.properties["CreationDate"])  # flattened date
    assert [(e.kind, e.id, e.label, e.has_children, e.icon) for e in volumes] == [
        ("aws.volumes", "us-east-1/volumes", "Volumes (EBS)", True, "volume"),
        ("aws.snapshots", "us-east-1/snapshots", "Snapshots (EBS)", True, "snapshot")]


def test_load_storage_without_buckets_still_offers_volumes(token):
    pages = pages_of(load_storage, token, Element("aws.storage", "storage", "Storage"))
    assert pages[0] == []
    assert [e.kind for e in pages[1]] == ["aws.volumes", "aws.snapshots"]


# -- services ---------------------------------------------------------------------------------
def test_load_images_lists_only_own_images_sorted_by_name(token, boto):
    ec2 = boto("ec2")
    iid = run_instance(ec2)["Instances"][0]["InstanceId"]
    made = {}
    for name in ("zulu-image", "Mike-image", "alpha-image"):  # case-sensitive: "Mike" first
        made[name] = ec2.create_image(InstanceId=iid, Name=name, Description=f"{name} desc")["ImageId"]

    rows = rows_of(load_images, token, Element("aws.images", "us-east-1/images", "My images"))
    # moto's public catalog (Owner amazon) has >1,000 images: none of them is "mine"
    assert [e.label for e in rows] == ["alpha-image", "Mike-image", "zulu-image"]
    assert {e.id for e in rows} == set(made.values())
    ref = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=list(made.values()))["Images"]}
    for e in rows:
        img = ref[e.id]
        assert e.id == made[e.label]
        assert e.kind == "aws.ec2.image" and e.icon == "image" and not e.has_children
        assert e.state == "available"
        assert e.properties["ImageId"] == e.id and e.properties["Name"] == e.label
        assert e.properties["Description"] == f"{e.label} desc"
        expected = " · ".join(x for x in (img.get("Architecture", ""), img.get("PlatformDetails", ""),
                                          str(img["CreationDate"])[:10]) if x)
        assert e.detail == expected
        assert str(img["CreationDate"])[:10] in e.detail and img["Architecture"] in e.detail


def test_load_images_without_own_images_is_empty(token):
    assert rows_of(load_images, token, Element("aws.images", "us-east-1/images", "My images")) == []


def test_load_keypairs_sorted_by_name_with_fingerprint(token, boto):
    ec2 = boto("ec2")
    made = {}
    for name in ("zeta", "Beta", "alpha"):  # case-sensitive order would put "Beta" first
        made[name] = ec2.create_key_pair(KeyName=name)

    pages = pages_of(load_keypairs, token, Element("aws.keypairs", "us-east-1/keypairs", "Key pairs"))
    assert len(pages) == 1
    rows = pages[0]
    assert [e.label for e in rows] == ["alpha", "Beta", "zeta"]
    for e in rows:
        kp = made[e.label]
        assert e.kind == "aws.ec2.keypair" and e.icon == "key" and not e.has_children
        assert e.id == kp["KeyPairId"] and e.id.startswith("key-")
        assert e.detail == kp["KeyFingerprint"][:23] and len(e.detail) == 23
        assert e.properties["KeyName"] == e.label
        assert e.properties["KeyFingerprint"] == kp["KeyFingerprint"]
        assert "KeyMaterial" not in e.properties  # no private key in the tree


def test_load_security_groups_lists_groups_with_rules_flattened(token, boto):
    ec2 = boto("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    gid = ec2.create_security_group(GroupName="web", Description="HTTP from anywhere", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "Name", "Value": "web-sg"}])

    rows = rows_of(load_security_groups, token, Element("aws.securitygroups", "us-east-1/sg", "Security groups"))
    by_id = {e.id: e for e in rows}
    expected = {g["GroupId"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert set(by_id) == set(expected)  # the default group too
    assert any(e.label == "default" for e in rows)
    web = by_id[gid]
    assert web.kind == "aws.ec2.securitygroup" and web.icon == "firewall" and web.has_children  # its rules
    assert web.label == "web"
    assert web.detail == "HTTP from anywhere"
    assert web.properties["VpcId"] == vpc
    assert web.properties["IpPermissions[0].FromPort"] == 80
    assert web.properties["IpPermissions[0].IpRanges[0].CidrIp"] == "0.0.0.0/0"
    assert web.properties["Tag:Name"] == "web-sg"


def test_load_regions_sorted_with_the_tokens_region_marked_current(moto, boto):
    token = make_token(moto, region="eu-west-1")
    rows = rows_of(load_regions, token, Element("aws.regions", "regions", "Regions"))
    expected = boto("ec2", region="eu-west-1").describe_regions()["Regions"]
    names = [e.id for e in rows]
    assert names == sorted(r["RegionName"] for r in expected)
    assert len(names) > 5 and names == sorted(names)
    current = [e for e in rows if e.state == "current"]
    assert [e.id for e in current] == ["eu-west-1"]
    assert current[0].detail == "current"
    endpoints = {r["RegionName"]: r["Endpoint"] for r in expected}
    for e in rows:
        assert e.kind == "aws.region" and e.label == e.id and e.icon == "region"
        assert e.properties["RegionName"] == e.id
        if e.id != "eu-west-1":
            assert e.state == "" and e.detail == endpoints[e.id]
    us = next(e for e in rows if e.id == "us-east-1")
    assert us.detail == "ec2.us-east-1.amazonaws.com"


# -- storage ----------------------------------------------------------------------------------
def test_load_volumes_detail_name_and_state(token, boto):
    ec2 = boto("ec2")
    named = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a", VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}])["VolumeId"]
    plain = ec2.create_volume(Size=100, AvailabilityZone="us-east-1b", VolumeType="io1", Iops=1000)["VolumeId"]
    inst = run_instance(ec2, Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=named, InstanceId=inst, Device="/dev/sdf")
    volumes = {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}

    rows = rows_of(load_volumes, token, Element("aws.volumes", "us-east-1/volumes", "Volumes (EBS)"))
    by_id = {e.id: e for e in rows}
    assert set(by_id) == set(volumes)  # the instance's root volume as well
    data, big = by_id[named], by_id[plain]
    assert data.label == "data" and big.label == plain
    assert data.detail == "8 GiB · gp3 · in-use" and data.state == "in-use"
    assert big.detail == "100 GiB · io1 · available" and big.state == "available"
    assert data.properties["Attachments[0].InstanceId"] == inst
    assert data.properties["Tag:Name"] == "data"
    assert big.properties["AvailabilityZone"] == "us-east-1b"
    assert all(e.kind == "aws.ec2.volume" and e.icon == "volume" and not e.has_children for e in rows)


def _put_objects(endpoint: str, bucket: str, keys: list[str], body: bytes = b"x", workers: int = 4) -> None:
    """Plain S3 REST PUTs over kept-alive connections (moto does not check signatures)."""
    url = urlsplit(endpoint)
    auth = ("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/s3/aws4_request, "
            f"SignedHeaders=host, Signature={'0' * 64}")

    def put(chunk: list[str]) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            for key in chunk:
                conn.request("PUT", f"/{bucket}/{key}", body=body, headers={"Authorization": auth})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200, (key, resp.status)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(put, keys[i::workers]) for i in range(workers)]:
            f.result()


def _bucket(name: str, prefix: str = "") -> Element:
    kind = "aws.s3.folder" if prefix else "aws.s3.bucket"
    return Element(kind, f"{name}/{prefix}" if prefix else name, prefix or name, has_children=True,
                   ref={"bucket": name, "prefix": prefix})


def test_load_bucket_folders_then_objects(token, boto):
    s3 = boto("s3")
    s3.create_bucket(Bucket="photos")
    s3.put_object(Bucket="photos", Key="readme.txt", Body=b"r" * 1536)
    s3.put_object(Bucket="photos", Key="2024/", Body=b"")  # the console's folder marker
    s3.put_object(Bucket="photos", Key="2024/summary.csv", Body=b"a,b\n")
    s3.put_object(Bucket="photos", Key="2024/jan/a.jpg", Body=b"j" * 3 * 1024 ** 2)
    s3.put_object(Bucket="photos", Key="2024/feb/b.jpg", Body=b"f")
    s3.put_object(Bucket="photos", Key="2025/x.jpg", Body=b"x")

    top = rows_of(load_bucket, token, _bucket("photos"))
    assert [(e.kind, e.label) for e in top] == [
        ("aws.s3.folder", "2024/"), ("aws.s3.folder", "2025/"), ("aws.s3.object", "readme.txt")]
    folder = top[0]
    assert folder.id == "photos/2024/" and folder.has_children and folder.icon == "folder"
    assert folder.ref == {"bucket": "photos", "prefix": "2024/", "uri": "s3://photos/2024/"}
    assert folder.properties == {"Bucket": "photos", "Prefix": "2024/"}
    readme = top[2]
    head = s3.head_object(Bucket="photos", Key="readme.txt")
    assert readme.id == "s3://photos/readme.txt" and not readme.has_children and readme.icon == "file"
    assert readme.ref == {"bucket": "photos", "key": "readme.txt", "uri": "s3://photos/readme.txt"}
    assert readme.properties["Size"] == 1536
    assert readme.properties["Key"] == "readme.txt" and readme.ref["uri"] == "s3://photos/readme.txt"
    assert readme.properties["ETag"] == head["ETag"]
    assert readme.properties["LastModified"].startswith(head["LastModified"].strftime("%Y-%m-%dT%H:%M"))
    assert readme.detail == f"1.5 KB · {readme.properties['LastModified'][:19].replace('T', ' ')}"
    assert re.fullmatch(r"1\.5 KB · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", readme.detail)

    # a folder found through its ref: sub-folders relative to the prefix, its own marker skipped
    inside = rows_of(load_bucket, token, Element(folder.kind, folder.id, folder.label, ref=folder.ref))
    assert [(e.kind, e.label) for e in inside] == [
        ("aws.s3.folder", "feb/"), ("aws.s3.folder", "jan/"), ("aws.s3.object", "summary.csv")]
    assert inside[1].ref == {"bucket": "photos", "prefix": "2024/jan/", "uri": "s3://photos/2024/jan/"}
    assert inside[1].id == "photos/2024/jan/"
    assert inside[2].ref == {"bucket": "photos", "key": "2024/summary.csv", "uri": "s3://photos/2024/summary.csv"}
    assert inside[2].id == "s3://photos/2024/summary.csv"
    assert "2024/" not in {e.properties.get("Key") for e in inside}

    deeper = rows_of(load_bucket, token, _bucket("photos", "2024/jan/"))
    assert [(e.label, e.properties["Key"]) for e in deeper] == [("a.jpg", "2024/jan/a.jpg")]
    assert deeper[0].detail.startswith("3.1 MB · ")


def test_load_bucket_empty_bucket_and_empty_folder(token, boto):
    s3 = boto("s3")
    s3.create_bucket(Bucket="empty")
    assert rows_of(load_bucket, token, _bucket("empty")) == []
    s3.put_object(Bucket="empty", Key="only-marker/", Body=b"")
    top = rows_of(load_bucket, token, _bucket("empty"))
    assert [(e.kind, e.label) for e in top] == [("aws.s3.folder", "only-marker/")]
    assert rows_of(load_bucket, token, _bucket("empty", "only-marker/")) == []  # the marker is no row


def test_load_bucket_pages_through_more_than_a_thousand_objects(token, boto, moto):
    s3 = boto("s3")
    s3.create_bucket(Bucket="big")
    keys = [f"k{i:05d}.txt" for i in range(1005)]
    _put_objects(moto, "big", keys)
    _put_objects(moto, "big", ["sub/inner.txt"], workers=1)

    pages = pages_of(load_bucket, token, _bucket("big"))
    assert len(pages) >= 2  # S3 answers at most 1,000 keys a request
    assert len(pages[0]) <= 1001  # one page is one answer, not the whole bucket
    rows = [e for page in pages for e in page]
    objects = [e.label for e in rows if e.kind == "aws.s3.object"]
    assert sorted(objects) == keys  # every key, once
    assert [e.label for e in rows if e.kind == "aws.s3.folder"] == ["sub/"]
    assert all(e.detail.startswith("1 B · ") for e in rows if e.kind == "aws.s3.object")


def test_every_expandable_kind_has_a_loader_here():
    """Each kind a loader's rows expand into is mapped, in the provider manifest, to a loader of
    the provider (a node without one would show an arrow that does nothing)."""
    from gridclient.registry import resolve
    from providers.aws import manifest

    loaders = {}
    for contributor in manifest.node_contributors:
        loaders.update(contributor.loaders)
    for kind in ("aws.computing", "aws.services", "aws.storage", "aws.images", "aws.catalog",
                 "aws.keypairs", "aws.securitygroups", "aws.regions", "aws.volumes", "aws.s3.bucket",
                 "aws.s3.folder"):
        assert loaders[kind].startswith("providers.aws.") and callable(resolve(loaders[kind])), kind
