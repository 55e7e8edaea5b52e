"""Images, volumes, snapshots and Elastic IPs (providers/aws/manage_storage.py), run through the
core's ActionRunner on a real Workbench with the real AWS provider against the shared moto server
over HTTP.

The elements handed to the actions are the ones the tree shows (listed with ``wb.children``); the
person's answers come from a ScriptedInteraction that also keeps the fields each question offered;
what an action did is checked with a separate boto3 client on moto, never with the code under test.

moto detaches a volume at once and never refuses a plain detach, so the one test of "force offered
when it fails" puts a small HTTP relay in front of moto that answers a plain DetachVolume as EC2
does for a volume stuck busy (IncorrectState) and passes everything else, a forced detach too, to
moto.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.registry import COMMAND_DELETE, ExtensionRegistry
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws.manage_storage import ami_name_problem, device_problem, volume_problem

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog, owned by "amazon"
COMPUTING = Element(K.COMPUTING, "p1/aws.computing", "Computing", has_children=True)
SERVICES = Element(K.SERVICES, "p1/aws.services", "Services", has_children=True)
STORAGE = Element(K.STORAGE, "p1/aws.storage", "Storage", has_children=True)
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]


@dataclass
class Asked(ScriptedInteraction):
    """A ScriptedInteraction that also keeps the fields of every question (name → Field)."""

    fields_asked: list[dict] = field(default_factory=list)

    def ask(self, title, fields, *, text=""):
        self.fields_asked.append({f.name: f for f in fields})
        return super().ask(title, fields, text=text)

    def texts(self, kind: str) -> list[str]:
        return [entry[2] for entry in self.log if entry[0] == kind]


# -- helpers ---------------------------------------------------------------------------------------
def make_workbench(app_paths) -> Workbench:
    return Workbench(app_paths, registry=ExtensionRegistry().discover())


def save_vo(wb: Workbench, endpoint: str):
    return wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                     "secret_access_key": "x", "endpoint_url": endpoint})


def node(wb, vo, parent: Element, label: str) -> Element:
    found = [e for e in wb.children(vo, parent) if e.label == label]
    assert found, f"{label!r} is not among {[e.label for e in wb.children(vo, parent)]}"
    return found[0]


def listed(wb, vo, category: Element, node_label: str, ident: str) -> Element:
    """The row of ``ident`` under Services/Storage → ``node_label``, as the tree lists it."""
    rows = [e for e in wb.children(vo, node(wb, vo, category, node_label)) if e.id == ident]
    assert rows, f"{ident} is not listed under {node_label}"
    return rows[0]


def instance_row(wb, vo, iid: str) -> Element:
    return next(e for e in wb.children(vo, COMPUTING) if e.id == iid)


def run(wb, vo, action_id: str, elements, interaction=None):
    outcome = wb.actions.run(action_id, list(elements), vo, interaction or Asked(), timeout=60)
    assert outcome is not None
    return outcome


def launch(ec2, name: str, zone: str = "us-east-1a") -> str:
    return ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             Placement={"AvailabilityZone": zone},
                             TagSpecifications=[{"ResourceType": "instance",
                                                 "Tags": [{"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]


def volume(ec2, size: int = 10, zone: str = "us-east-1a", name: str = "") -> str:
    kw = {"TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}]} if name else {}
    return ec2.create_volume(Size=size, AvailabilityZone=zone, VolumeType="gp3", **kw)["VolumeId"]


def volumes(ec2) -> dict[str, dict]:
    return {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}


def own_images(ec2) -> dict[str, dict]:
    return {i["ImageId"]: i for i in ec2.describe_images(Owners=["self"])["Images"]}


def snapshot_ids(ec2) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots()["Snapshots"]}


def addresses(ec2) -> dict[str, dict]:
    return {a["AllocationId"]: a for a in ec2.describe_addresses()["Addresses"]}


def tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or ()}


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def ec2(boto):
    return boto("ec2")


@pytest.fixture
def env(moto, ec2, app_paths, keyring_backend):
    wb = make_workbench(app_paths)
    vo = save_vo(wb, moto)
    yield wb, vo
    wb.close()


# == images ========================================================================================
@pytest.mark.parametrize("name", ["abc", "web-1 backup (2026-12-01)", "a/b.c_d@e'f[g]", "x" * 128])
def test_good_image_names_have_no_problem(name):
    assert ami_name_problem(name) == ""


@pytest.mark.parametrize("name, says", [
    ("ab", "3 to 128 characters (2 now)."),
    ("", "3 to 128 characters (0 now)."),
    ("x" * 129, "3 to 128 characters (129 now)."),
    ("web#1", "“#” is not allowed: only letters, digits, spaces and ( ) [ ] . / - ' @ _."),
    ("naïve!", "“ï!” is not allowed"),
    ("tab\there", "“\t” is not allowed"),
])
def test_bad_image_names_are_told_in_a_sentence(name, says):
    assert ami_name_problem(name).startswith(says)
    assert ami_name_problem(name).endswith(".")


def test_create_image_from_an_instance_shows_under_my_images(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    asked = Asked(ask_answers=[{"name": "web-1 backup (2026)", "description": "nightly", "no_reboot": True}])

    outcome = run(wb, vo, "aws.ec2.create_image", [instance_row(wb, vo, iid)], asked)

    assert outcome.state == "done", outcome.message
    [image] = [i for i in own_images(ec2).values() if i["Name"] == "web-1 backup (2026)"]
    assert image["Description"] == "nightly"
    assert image.get("SourceInstanceId", iid) == iid
    assert outcome.message == (f"Creating the image “web-1 backup (2026)” ({image['ImageId']}) from web-1: it shows "
                               "under Services → My images, pending until it is available.")
    # the runner asked the declared fields, with the name checked as typed
    assert asked.fields_asked[0]["name"].check == "providers.aws.manage_storage:ami_name_problem"
    assert asked.fields_asked[0]["no_reboot"].kind == "bool"
    row = listed(wb, vo, SERVICES, "My images (AMIs)", image["ImageId"])
    assert row.label == "web-1 backup (2026)" and row.state in ("pending", "available")


def test_create_image_with_a_reboot_says_so(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    outcome = run(wb, vo, "aws.ec2.create_image", [instance_row(wb, vo, iid)],
                  Asked(ask_answers=[{"name": "rebooted", "description": "", "no_reboot": False}]))
    assert outcome.state == "done"
    assert "from web-1 (web-1 reboots for it)" in outcome.message
    assert [i["Name"] for i in own_images(ec2).values()] == ["rebooted"]


def test_create_image_refuses_a_bad_name_even_past_the_form(env, ec2):
    """The form blocks it as typed; the runner's other callers (command line, console) get the same sentence."""
    wb, vo = env
    iid = launch(ec2, "web-1")
    outcome = run(wb, vo, "aws.ec2.create_image", [instance_row(wb, vo, iid)],
                  Asked(ask_answers=[{"name": "web#1", "description": "", "no_reboot": True}]))
    assert outcome.state == "failed"
    assert outcome.message == "Image name: “#” is not allowed: only letters, digits, spaces and ( ) [ ] . / - ' @ _."
    assert own_images(ec2) == {}


def test_create_image_refuses_a_name_the_account_has(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    first = ec2.create_image(InstanceId=iid, Name="golden", NoReboot=True)["ImageId"]
    outcome = run(wb, vo, "aws.ec2.create_image", [instance_row(wb, vo, iid)],
                  Asked(ask_answers=[{"name": "golden", "description": "", "no_reboot": True}]))
    assert outcome.state == "failed"
    assert outcome.message == (f"This account already has an image named “golden” ({first}): names are unique in "
                               "a region. Choose another name.")
    assert list(own_images(ec2)) == [first]


def test_create_image_is_for_running_or_stopped_instances(env, ec2):
    wb, vo = env
    iid = launch(ec2, "old")
    ec2.terminate_instances(InstanceIds=[iid])
    row = instance_row(wb, vo, iid)
    assert row.state == "terminated"
    outcome = run(wb, vo, "aws.ec2.create_image", [row])
    assert outcome.state == "refused" and "running or stopped" in outcome.message
    assert own_images(ec2) == {}


def _image_with_snapshot(ec2) -> tuple[str, str]:
    iid = launch(ec2, "web-1")
    image = ec2.create_image(InstanceId=iid, Name="web image", NoReboot=True)["ImageId"]
    snap = own_images(ec2)[image]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    return image, snap


def test_deregister_offers_to_delete_the_images_snapshots_and_does(env, ec2):
    wb, vo = env
    image, snap = _image_with_snapshot(ec2)
    size = own_images(ec2)[image]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"]
    row = listed(wb, vo, SERVICES, "My images (AMIs)", image)
    asked = Asked(ask_answers=[{"then": "Deregister and delete 1 snapshot"}])

    outcome = run(wb, vo, "aws.ec2.deregister_image", [row], asked)

    assert outcome.state == "done", outcome.message
    assert outcome.message == "Deregistered web image. Deleted 1 snapshot."
    assert image not in own_images(ec2)
    assert snap not in snapshot_ids(ec2)
    question = asked.fields_asked[0]["then"]
    assert question.choices == ("Deregister and delete 1 snapshot", "Deregister, keep the snapshot")
    assert question.default == "Deregister, keep the snapshot"  # the safe answer is the default
    assert f"1 snapshot ({size} GiB: {snap})" in asked.texts("ask")[0]
    assert outcome.refresh == "parent"  # My images is reloaded


def test_deregister_keeping_the_snapshots(env, ec2):
    wb, vo = env
    image, snap = _image_with_snapshot(ec2)
    outcome = run(wb, vo, "aws.ec2.deregister_image", [listed(wb, vo, SERVICES, "My images (AMIs)", image)],
                  Asked(ask_answers=[{"then": "Deregister, keep the snapshot"}]))
    assert outcome.state == "done"
    assert outcome.message == "Deregistered web image. 1 snapshot kept (Storage → Snapshots)."
    assert image not in own_images(ec2)
    assert snap in snapshot_ids(ec2)


def test_deregister_closed_question_changes_nothing(env, ec2):
    wb, vo = env
    image, snap = _image_with_snapshot(ec2)
    outcome = run(wb, vo, "aws.ec2.deregister_image", [listed(wb, vo, SERVICES, "My images (AMIs)", image)],
                  Asked(ask_answers=[None]))
    assert outcome.state == "cancelled"
    assert image in own_images(ec2) and snap in snapshot_ids(ec2)


def test_deregister_refuses_another_accounts_image(env, ec2):
    wb, vo = env
    catalog = node(wb, vo, SERVICES, "Image catalog")
    catalog.ref = {"query": "amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2", "owner": "amazon"}  # as Search… leaves it
    [public] = [e for e in wb.children(vo, catalog) if e.id == AMAZON_IMAGE]
    asked = Asked(default_confirm=True)
    outcome = run(wb, vo, "aws.ec2.deregister_image", [public], asked)
    assert outcome.state == "failed"
    assert outcome.message == ("“amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2” (ami-760aaa0f) belongs to another "
                               "account (amazon): only its owner can deregister it.")
    assert asked.log == []  # refused before anything was asked
    assert ec2.describe_images(ImageIds=[AMAZON_IMAGE])["Images"]


# == volumes =======================================================================================
def test_create_volume_asks_size_type_and_a_zone_of_the_region(env, ec2):
    wb, vo = env
    volumes_node = node(wb, vo, STORAGE, "Volumes (EBS)")
    asked = Asked(ask_answers=[{"size": 20, "type": "gp3", "zone": "us-east-1b", "name": "data"}])

    outcome = run(wb, vo, "aws.ebs.create_volume", [volumes_node], asked)

    assert outcome.state == "done", outcome.message
    [made] = volumes(ec2).values()
    assert (made["Size"], made["VolumeType"], made["AvailabilityZone"]) == (20, "gp3", "us-east-1b")
    assert tags(made) == {"Name": "data"}
    assert outcome.message == f"Creating the volume “data” ({made['VolumeId']}): 20 GiB gp3 in us-east-1b."
    assert outcome.refresh == "self"  # the Volumes node is reloaded
    offered = asked.fields_asked[0]
    assert list(offered["zone"].choices) == ZONES and offered["zone"].editable is False
    assert offered["type"].choices == ("gp3", "gp2", "io1", "io2", "st1", "sc1", "standard")
    assert offered["iops"].when == ("type", ("io1", "io2"))
    assert any(e.id == made["VolumeId"] and e.label == "data" for e in wb.children(vo, volumes_node))


def test_create_an_io2_volume_with_its_iops(env, ec2):
    wb, vo = env
    outcome = run(wb, vo, "aws.ebs.create_volume", [node(wb, vo, STORAGE, "Volumes (EBS)")],
                  Asked(ask_answers=[{"size": 100, "type": "io2", "iops": 20000, "zone": "us-east-1a", "name": ""}]))
    assert outcome.state == "done", outcome.message
    [made] = volumes(ec2).values()
    assert (made["VolumeType"], made["Size"], made["Iops"]) == ("io2", 100, 20000)
    assert tags(made) == {}
    assert outcome.message == f"Creating the volume {made['VolumeId']}: 100 GiB io2 in us-east-1a."


BAD_VOLUMES = [
    ({"size": 8, "type": "st1"}, "st1 volumes have 125 to 16,384 GiB; 8 GiB is outside that."),
    ({"size": 0, "type": "gp3"}, "gp3 volumes have 1 to 65,536 GiB; 0 GiB is outside that."),
    ({"size": 2000, "type": "standard"}, "standard volumes have 1 to 1,024 GiB; 2,000 GiB is outside that."),
    ({"size": 20000, "type": "gp2"}, "gp2 volumes have 1 to 16,384 GiB; 20,000 GiB is outside that."),
    ({"size": 2, "type": "io1", "iops": 100}, "io1 volumes have 4 to 16,384 GiB; 2 GiB is outside that."),
    ({"size": 100, "type": "io1", "iops": 90000}, "io1 volumes have 100 to 64,000 IOPS; 90,000 is outside that."),
    ({"size": 10, "type": "io1", "iops": 1000},
     "io1 volumes have at most 50 IOPS per GiB: 10 GiB allows up to 500 IOPS, not 1,000. Make it larger or ask for fewer."),
    ({"size": 10, "type": "io2", "iops": 50}, "io2 volumes have 100 to 256,000 IOPS; 50 is outside that."),
    ({"size": 10, "type": "gp3", "zone": "us-east-1z"}, "Choose an availability zone of the region: " + ", ".join(ZONES) + "."),
    ({"size": 10, "type": "ssd"}, "Choose a volume type: gp3, gp2, io1, io2, st1, sc1, standard."),
]


@pytest.mark.parametrize("answer, says", BAD_VOLUMES, ids=[s[:40] for _, s in BAD_VOLUMES])
def test_create_volume_asks_again_with_the_problem_and_creates_nothing(env, ec2, answer, says):
    wb, vo = env
    first = {"zone": "us-east-1a", "name": "", **answer}
    asked = Asked(ask_answers=[first, None])  # a bad answer, then the form closed
    outcome = run(wb, vo, "aws.ebs.create_volume", [node(wb, vo, STORAGE, "Volumes (EBS)")], asked)
    assert outcome.state == "cancelled"
    assert volumes(ec2) == {}
    texts = asked.texts("ask")
    assert len(texts) == 2 and texts[1].startswith(f"⚠ {says}\n\n")
    # what was typed is kept for the second try
    assert asked.fields_asked[1]["size"].default == answer["size"]
    assert asked.fields_asked[1]["type"].default == answer["type"]


def test_volume_problem_accepts_the_limits_themselves():
    assert volume_problem({"size": 125, "type": "st1", "zone": "z"}, ["z"]) == ""
    assert volume_problem({"size": 16384, "type": "sc1", "zone": "z"}, ["z"]) == ""
    assert volume_problem({"size": 10, "type": "io1", "iops": 500, "zone": "z"}, ["z"]) == ""
    assert volume_problem({"size": 4, "type": "io2", "iops": 4000, "zone": "z"}, ["z"]) == ""
    assert volume_problem({"size": 9, "type": "gp3", "zone": "z"}, ["z"], least=10) == \
        "The snapshot holds 10 GiB: the volume needs at least that much."


def _attach_choice(name: str, iid: str, state: str = "running") -> str:
    return f"{name} ({iid}, {state})"


def test_attach_offers_the_instances_of_the_volumes_zone_and_a_free_device(env, ec2):
    wb, vo = env
    here = launch(ec2, "web-1", "us-east-1a")
    also_here = launch(ec2, "batch", "us-east-1a")
    ec2.stop_instances(InstanceIds=[also_here])
    launch(ec2, "elsewhere", "us-east-1b")
    vid = volume(ec2, 10, "us-east-1a", "data")
    row = listed(wb, vo, STORAGE, "Volumes (EBS)", vid)
    assert row.state == "available"
    asked = Asked(ask_answers=[{"instance": _attach_choice("web-1", here), "device": "/dev/sdg"}])

    outcome = run(wb, vo, "aws.ebs.attach", [row], asked)

    assert outcome.state == "done", outcome.message
    assert outcome.message == "Attaching data to web-1 as /dev/sdg."
    attachment = volumes(ec2)[vid]["Attachments"][0]
    assert (attachment["InstanceId"], attachment["Device"]) == (here, "/dev/sdg")
    offered = asked.fields_asked[0]
    assert offered["instance"].choices == (_attach_choice("batch", also_here, "stopped"), _attach_choice("web-1", here))
    assert offered["device"].default == "/dev/sdf"  # the first of /dev/sdf…/dev/sdp the instance does not use
    assert "(10 GiB, us-east-1a)" in asked.texts("ask")[0]
    # the volume now shows under its instance too, with its device
    under = [e for e in wb.children(vo, instance_row(wb, vo, here)) if e.id == vid]
    assert under and under[0].detail.startswith("/dev/sdg · 10 GiB")


def test_attach_suggests_the_next_free_device(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    ec2.attach_volume(VolumeId=volume(ec2), InstanceId=iid, Device="/dev/sdf")
    vid = volume(ec2, name="second")
    asked = Asked(ask_answers=[None])
    run(wb, vo, "aws.ebs.attach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)
    assert asked.fields_asked[0]["device"].default == "/dev/sdg"


@pytest.mark.parametrize("device, says", [
    ("sdf", "Device name: like /dev/sdf: /dev/sd or /dev/xvd and one letter b–z"),
    ("/dev/sda", "Device name: like /dev/sdf"),
    ("/dev/sdf", "/dev/sdf is in use on web-1"),
    ("/dev/xvdf", "/dev/xvdf is in use on web-1"),  # the same device to the instance's kernel
])
def test_attach_refuses_a_bad_or_used_device_and_asks_again(env, ec2, device, says):
    wb, vo = env
    iid = launch(ec2, "web-1")
    ec2.attach_volume(VolumeId=volume(ec2), InstanceId=iid, Device="/dev/sdf")
    vid = volume(ec2, name="second")
    asked = Asked(ask_answers=[{"instance": _attach_choice("web-1", iid), "device": device}, None])
    outcome = run(wb, vo, "aws.ebs.attach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)
    assert outcome.state == "cancelled"
    assert volumes(ec2)[vid]["Attachments"] == []
    second = asked.texts("ask")[1]
    assert second.startswith(f"⚠ {says}")
    if "in use" in says:
        assert "/dev/sdg is free." in second


def test_device_names_ec2_takes():
    for good in ("/dev/sdf", "/dev/sdp", "/dev/xvdh", "xvdf", "/dev/sdb"):
        assert device_problem(good) == "", good
    for bad in ("", "/dev/sd", "/dev/sdf1", "/dev/nvme1n1", "/dev/sdA", "sdf"):
        assert device_problem(bad).startswith("like /dev/sdf: /dev/sd or /dev/xvd and one letter b–z"), bad


def test_attach_refuses_when_no_instance_is_in_the_volumes_zone(env, ec2):
    wb, vo = env
    launch(ec2, "web-1", "us-east-1a")
    vid = volume(ec2, zone="us-east-1c", name="far")
    asked = Asked()
    outcome = run(wb, vo, "aws.ebs.attach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)
    assert outcome.state == "failed"
    assert outcome.message == (f"No instance is in us-east-1c, the zone of “far” ({vid}): a volume attaches only to "
                               "an instance in its own zone. To use it elsewhere, create a snapshot of it and a "
                               "volume from that snapshot in the other zone.")
    assert asked.log == []


def test_attach_is_only_for_available_volumes(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    row = listed(wb, vo, STORAGE, "Volumes (EBS)", vid)
    outcome = run(wb, vo, "aws.ebs.attach", [row])
    assert outcome.state == "refused"
    assert outcome.message == "Attach is for elements that are available; data: in-use."


def test_detach_an_attached_volume(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    asked = Asked(confirm_answers=[True])
    outcome = run(wb, vo, "aws.ebs.detach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)
    assert outcome.state == "done", outcome.message
    assert outcome.message == "Detaching data."
    assert volumes(ec2)[vid]["Attachments"] == [] and volumes(ec2)[vid]["State"] == "available"
    assert asked.texts("confirm") == ["Detach data (1 selected)? Unmount its file systems inside the instance first, "
                                      "or data being written is lost."]


def test_detach_from_under_the_instance_and_declined(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    row = next(e for e in wb.children(vo, instance_row(wb, vo, iid)) if e.id == vid)
    assert run(wb, vo, "aws.ebs.detach", [row], Asked(confirm_answers=[False])).state == "declined"
    assert volumes(ec2)[vid]["Attachments"][0]["InstanceId"] == iid
    outcome = run(wb, vo, "aws.ebs.detach", [row], Asked(confirm_answers=[True]))
    assert outcome.state == "done" and outcome.refresh == "parent"  # the instance's children reloaded
    assert volumes(ec2)[vid]["Attachments"] == []


class RefusingDetach:
    """An EC2 endpoint in front of moto that answers a plain DetachVolume as EC2 does for a volume
    stuck busy, and passes everything else (a forced detach too) through to moto."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.detaches: list[bytes] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name (S3 lists buckets with GET)
                self._relay("GET", None)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if b"Action=DetachVolume" in body:
                    relay.detaches.append(body)
                    if b"Force=true" not in body:
                        payload = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                                   b"<Code>IncorrectState</Code><Message>Volume is in the 'busy' state.</Message>"
                                   b"</Error></Errors><RequestID>relay</RequestID></Response>")
                        return self._answer(400, payload, "text/xml")
                self._relay("POST", body)

            def _relay(self, method: str, body: bytes | None) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(relay.upstream + self.path, data=body, headers=headers, method=method)
                try:
                    with urllib.request.urlopen(request, timeout=30) as resp:
                        self._answer(resp.status, resp.read(), resp.headers.get("Content-Type", "text/xml"))
                except urllib.error.HTTPError as err:
                    self._answer(err.code, err.read(), err.headers.get("Content-Type", "text/xml"))

            def _answer(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def busy(moto, app_paths, keyring_backend):
    relay = RefusingDetach(moto)
    wb = make_workbench(app_paths)
    vo = save_vo(wb, relay.url)
    yield wb, vo, relay
    wb.close()
    relay.close()


def test_detach_refused_by_the_server_offers_force_and_forces(busy, ec2):
    wb, vo, relay = busy
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    asked = Asked(confirm_answers=[True, True])  # detach: yes; force: yes

    outcome = run(wb, vo, "aws.ebs.detach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)

    assert outcome.state == "done", outcome.message
    assert outcome.message == "Forced the detach of data."
    assert volumes(ec2)[vid]["Attachments"] == []
    assert len(relay.detaches) == 2 and b"Force=true" in relay.detaches[1] and b"Force" not in relay.detaches[0]
    force = asked.log[1]
    assert force[:2] == ("confirm", "Force detach")
    assert (f"“data” ({vid}) from {iid}: DetachVolume failed: IncorrectState: Volume is in the 'busy' state."
            in force[2])
    assert "data being written may be lost" in force[2]


def test_detach_refused_by_the_server_and_force_declined_leaves_it_attached(busy, ec2):
    wb, vo, relay = busy
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    outcome = run(wb, vo, "aws.ebs.detach", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)],
                  Asked(confirm_answers=[True, False]))
    assert outcome.state == "failed"
    assert outcome.message == (f"Not detached:\n“data” ({vid}) from {iid}: DetachVolume failed: IncorrectState: "
                               "Volume is in the 'busy' state.")
    assert len(relay.detaches) == 1
    assert volumes(ec2)[vid]["Attachments"][0]["InstanceId"] == iid


def test_delete_is_refused_while_the_volume_is_attached(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    row = listed(wb, vo, STORAGE, "Volumes (EBS)", vid)
    assert wb.registry.action_for_command(COMMAND_DELETE, [row]).id == "aws.ebs.delete_volume"  # Del
    asked = Asked(default_confirm=True)
    outcome = run(wb, vo, "aws.ebs.delete_volume", [row], asked)
    assert outcome.state == "failed"
    assert outcome.message == (f"“data” ({vid}) is attached to “web-1” ({iid}) as /dev/sdf. Detach it first "
                               "(right-click → Detach). Nothing was deleted.")
    assert asked.log == []  # refused before the question
    assert vid in volumes(ec2)


def test_delete_volumes_confirmed_with_how_many_and_how_much(env, ec2):
    wb, vo = env
    a, b = volume(ec2, 10, name="alpha"), volume(ec2, 20, name="beta")
    keep = volume(ec2, 5, name="kept")
    rows = [listed(wb, vo, STORAGE, "Volumes (EBS)", v) for v in (a, b)]
    asked = Asked(confirm_answers=[True])
    outcome = run(wb, vo, "aws.ebs.delete_volume", rows, asked)
    assert outcome.state == "done" and outcome.message == "Deleted alpha, beta."
    assert asked.texts("confirm") == ["Delete 2 volumes (alpha, beta), 30 GiB? Everything on them is lost; this "
                                      "cannot be undone. (Create snapshot… keeps a copy.)"]
    assert set(volumes(ec2)) == {keep}


def test_delete_volume_declined_keeps_it(env, ec2):
    wb, vo = env
    vid = volume(ec2, name="data")
    outcome = run(wb, vo, "aws.ebs.delete_volume", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)],
                  Asked(confirm_answers=[False]))
    assert outcome.state == "cancelled" and vid in volumes(ec2)


def test_a_volume_deleted_outside_the_app_is_told_gone(env, ec2):
    wb, vo = env
    vid = volume(ec2, name="data")
    row = listed(wb, vo, STORAGE, "Volumes (EBS)", vid)
    ec2.delete_volume(VolumeId=vid)
    outcome = run(wb, vo, "aws.ebs.delete_volume", [row], Asked(default_confirm=True))
    assert outcome.state == "gone" and outcome.refresh == "parent"
    assert f"“data” ({vid}) no longer exists" in outcome.message


# == snapshots =====================================================================================
def test_create_snapshot_of_a_volume_shows_under_snapshots(env, ec2):
    wb, vo = env
    vid = volume(ec2, 10, name="data")
    asked = Asked(ask_answers=[{"name": "before upgrade", "description": "pre-upgrade copy"}])
    outcome = run(wb, vo, "aws.ebs.create_snapshot", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)], asked)
    assert outcome.state == "done", outcome.message
    [snap] = [s for s in ec2.describe_snapshots()["Snapshots"] if s.get("VolumeId") == vid]
    assert snap["Description"] == "pre-upgrade copy" and tags(snap) == {"Name": "before upgrade"}
    assert outcome.message == (f"Creating the snapshot “before upgrade” ({snap['SnapshotId']}) of data "
                               "(Storage → Snapshots (EBS)).")
    row = listed(wb, vo, STORAGE, "Snapshots (EBS)", snap["SnapshotId"])
    assert row.label == "before upgrade" and row.kind == K.SNAPSHOT


def test_create_snapshot_of_an_attached_volume_says_what_it_holds(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    vid = volume(ec2, name="data")
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    outcome = run(wb, vo, "aws.ebs.create_snapshot", [listed(wb, vo, STORAGE, "Volumes (EBS)", vid)],
                  Asked(ask_answers=[{"name": "", "description": ""}]))
    assert outcome.state == "done"
    assert outcome.message.endswith(" Taken while attached: consistent as after a power cut.")


def test_delete_snapshot(env, ec2):
    wb, vo = env
    vid = volume(ec2, 10, name="data")
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    other = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    row = listed(wb, vo, STORAGE, "Snapshots (EBS)", sid)
    assert wb.registry.action_for_command(COMMAND_DELETE, [row]).id == "aws.ebs.delete_snapshot"
    asked = Asked(confirm_answers=[True])
    outcome = run(wb, vo, "aws.ebs.delete_snapshot", [row], asked)
    assert outcome.state == "done" and outcome.message == f"Deleted {sid}."
    assert asked.texts("confirm") == [f"Delete 1 snapshot ({sid}), of 10 GiB of volumes? This cannot be undone."]
    assert sid not in snapshot_ids(ec2) and other in snapshot_ids(ec2)


def test_delete_snapshot_is_refused_while_an_image_is_made_of_it(env, ec2):
    wb, vo = env
    image, snap = _image_with_snapshot(ec2)
    asked = Asked(default_confirm=True)
    outcome = run(wb, vo, "aws.ebs.delete_snapshot", [listed(wb, vo, STORAGE, "Snapshots (EBS)", snap)], asked)
    assert outcome.state == "failed"
    assert outcome.message == (f"{snap} holds the image “web image” ({image}). Deregister the image first (Services → "
                               "My images → Deregister image, which offers to delete its snapshots). Nothing was "
                               "deleted.")
    assert asked.log == [] and snap in snapshot_ids(ec2)


def test_create_volume_from_a_snapshot_needs_at_least_its_size(env, ec2):
    wb, vo = env
    sid = ec2.create_snapshot(VolumeId=volume(ec2, 10, name="data"))["SnapshotId"]
    row = listed(wb, vo, STORAGE, "Snapshots (EBS)", sid)
    assert row.state == "completed"
    asked = Asked(ask_answers=[{"size": 5, "type": "gp3", "zone": "us-east-1d", "name": "restored"},
                               {"size": 12, "type": "gp3", "zone": "us-east-1d", "name": "restored"}])
    outcome = run(wb, vo, "aws.ebs.volume_from_snapshot", [row], asked)
    assert outcome.state == "done", outcome.message
    [made] = [v for v in volumes(ec2).values() if v.get("SnapshotId") == sid]
    assert (made["Size"], made["AvailabilityZone"], tags(made)) == (12, "us-east-1d", {"Name": "restored"})
    assert asked.fields_asked[0]["size"].default == 10  # the snapshot's size is offered
    assert asked.texts("ask")[1].startswith("⚠ The snapshot holds 10 GiB: the volume needs at least that much.")
    assert outcome.message == (f"Creating the volume “restored” ({made['VolumeId']}): 12 GiB gp3 in us-east-1d from "
                               f"{sid} (10 GiB). It shows under Storage → Volumes (EBS).")


# == Elastic IPs ===================================================================================
def test_allocate_an_elastic_ip(env, ec2):
    wb, vo = env
    eips = node(wb, vo, SERVICES, "Elastic IPs")
    asked = Asked(confirm_answers=[True], ask_answers=[{"name": "front door"}])
    outcome = run(wb, vo, "aws.eip.allocate", [eips], asked)
    assert outcome.state == "done", outcome.message
    [made] = addresses(ec2).values()
    assert tags(made) == {"Name": "front door"} and made["Domain"] == "vpc"
    assert outcome.message == (f"Allocated {made['PublicIp']} ({made['AllocationId']}) in us-east-1: right-click it → "
                               "Associate… to give it to an instance.")
    assert "charges for every public IPv4 address" in asked.texts("confirm")[0]
    assert outcome.refresh == "self"
    [row] = wb.children(vo, eips)
    assert (row.id, row.label, row.state) == (made["AllocationId"], made["PublicIp"], "unassociated")


def test_allocate_declined_allocates_nothing(env, ec2):
    wb, vo = env
    outcome = run(wb, vo, "aws.eip.allocate", [node(wb, vo, SERVICES, "Elastic IPs")], Asked(confirm_answers=[False]))
    assert outcome.state == "declined" and addresses(ec2) == {}


def test_associate_with_an_instance_then_disassociate(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    other = launch(ec2, "db", "us-east-1b")
    alloc = ec2.allocate_address(Domain="vpc")
    row = listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])
    asked = Asked(ask_answers=[{"instance": _attach_choice("web-1", iid)}])

    outcome = run(wb, vo, "aws.eip.associate", [row], asked)

    assert outcome.state == "done", outcome.message
    assert outcome.message == f"Associated {alloc['PublicIp']} with web-1."
    assert addresses(ec2)[alloc["AllocationId"]]["InstanceId"] == iid
    offered = asked.fields_asked[0]["instance"]
    assert set(offered.choices) == {_attach_choice("web-1", iid), _attach_choice("db", other)}
    assert offered.editable  # a form with a list (an id may be typed), never a row of long buttons
    # the tree: the address says where it goes, and shows under the instance
    row = listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])
    assert row.state == "associated" and row.detail == f"→ web-1 ({iid})"
    assert [e.id for e in wb.children(vo, instance_row(wb, vo, iid)) if e.kind == K.ADDRESS] == [alloc["AllocationId"]]

    assert run(wb, vo, "aws.eip.associate", [row]).state == "refused"  # already associated
    asked = Asked(confirm_answers=[True])
    outcome = run(wb, vo, "aws.eip.disassociate", [row], asked)
    assert outcome.state == "done" and outcome.message == f"Disassociated {alloc['PublicIp']}."
    assert "InstanceId" not in addresses(ec2)[alloc["AllocationId"]] or not addresses(ec2)[alloc["AllocationId"]]["InstanceId"]
    assert asked.texts("confirm")[0].startswith(f"Disassociate {alloc['PublicIp']} (1 selected)?")


def test_associate_tells_of_the_instances_previous_address(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    old = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=old["AllocationId"], InstanceId=iid)
    new = ec2.allocate_address(Domain="vpc")
    outcome = run(wb, vo, "aws.eip.associate", [listed(wb, vo, SERVICES, "Elastic IPs", new["AllocationId"])],
                  Asked(ask_answers=[{"instance": _attach_choice("web-1", iid)}]))
    assert outcome.state == "done"
    assert outcome.message == (f"Associated {new['PublicIp']} with web-1. Its previous Elastic IP {old['PublicIp']} "
                               "stays allocated to the account (and is charged) until released.")


def test_associate_takes_a_typed_instance_id_and_refuses_an_unknown_one(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    gone = launch(ec2, "gone")
    ec2.terminate_instances(InstanceIds=[gone])
    alloc = ec2.allocate_address(Domain="vpc")
    asked = Asked(ask_answers=[{"instance": gone}, {"instance": "  " + iid}])
    outcome = run(wb, vo, "aws.eip.associate", [listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])], asked)
    assert outcome.state == "done", outcome.message
    assert addresses(ec2)[alloc["AllocationId"]]["InstanceId"] == iid
    assert asked.texts("ask")[1].startswith(f"⚠ “{gone}” is not an instance of us-east-1 that is running or stopped: "
                                            "choose one of those listed.")
    assert _attach_choice("gone", gone, "terminated") not in asked.fields_asked[0]["instance"].choices


def test_associate_is_refused_without_an_instance(env, ec2):
    wb, vo = env
    alloc = ec2.allocate_address(Domain="vpc")
    asked = Asked()
    outcome = run(wb, vo, "aws.eip.associate", [listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])], asked)
    assert outcome.state == "failed"
    assert outcome.message == f"No instance in us-east-1 to associate {alloc['PublicIp']} with: launch one first."
    assert asked.log == []


def test_release_is_refused_while_associated(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    alloc = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=alloc["AllocationId"], InstanceId=iid)
    row = listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])
    assert wb.registry.action_for_command(COMMAND_DELETE, [row]).id == "aws.eip.release"  # Del
    asked = Asked(default_confirm=True)
    outcome = run(wb, vo, "aws.eip.release", [row], asked)
    assert outcome.state == "failed"
    assert outcome.message == (f"{alloc['PublicIp']} is associated with “web-1” ({iid}). Disassociate it first "
                               "(right-click → Disassociate). Nothing was released.")
    assert asked.log == []
    assert alloc["AllocationId"] in addresses(ec2)


def test_release_an_unassociated_address(env, ec2):
    wb, vo = env
    alloc = ec2.allocate_address(Domain="vpc")
    kept = ec2.allocate_address(Domain="vpc")
    row = listed(wb, vo, SERVICES, "Elastic IPs", alloc["AllocationId"])
    assert run(wb, vo, "aws.eip.release", [row], Asked(confirm_answers=[False])).state == "cancelled"
    assert alloc["AllocationId"] in addresses(ec2)
    asked = Asked(confirm_answers=[True])
    outcome = run(wb, vo, "aws.eip.release", [row], asked)
    assert outcome.state == "done" and outcome.message == f"Released {alloc['PublicIp']}."
    assert asked.texts("confirm") == [f"Release 1 Elastic IP ({alloc['PublicIp']})? It goes back to AWS's pool: you "
                                      "may never get it again."]
    assert set(addresses(ec2)) == {kept["AllocationId"]}


# == which actions a person is offered =============================================================
def test_actions_offered_by_kind_and_state():
    reg = ExtensionRegistry().discover()
    available = Element(K.VOLUME, "vol-1", "a", state="available")
    in_use = Element(K.VOLUME, "vol-2", "b", state="in-use")
    snap_done = Element(K.SNAPSHOT, "snap-1", "s", state="completed")
    snap_pending = Element(K.SNAPSHOT, "snap-2", "p", state="pending")
    free_ip = Element(K.ADDRESS, "eipalloc-1", "1.2.3.4", state="unassociated")
    busy_ip = Element(K.ADDRESS, "eipalloc-2", "1.2.3.5", state="associated")
    running = Element(K.INSTANCE, "i-1", "web", state="running")

    def enabled(action_id, element):
        return reg.actions[action_id].enabled_for([element])

    assert enabled("aws.ebs.attach", available) and not enabled("aws.ebs.attach", in_use)
    assert enabled("aws.ebs.detach", in_use) and not enabled("aws.ebs.detach", available)
    assert enabled("aws.ebs.create_snapshot", available) and enabled("aws.ebs.create_snapshot", in_use)
    assert enabled("aws.ebs.volume_from_snapshot", snap_done) and not enabled("aws.ebs.volume_from_snapshot", snap_pending)
    assert enabled("aws.eip.associate", free_ip) and not enabled("aws.eip.associate", busy_ip)
    assert enabled("aws.eip.disassociate", busy_ip) and not enabled("aws.eip.disassociate", free_ip)
    assert enabled("aws.ec2.create_image", running)
    # Del on each kind is its delete; the handler refuses what is attached or associated, with a reason
    for element, action in ((available, "aws.ebs.delete_volume"), (in_use, "aws.ebs.delete_volume"),
                            (snap_done, "aws.ebs.delete_snapshot"), (busy_ip, "aws.eip.release"),
                            (Element(K.IMAGE, "ami-1", "img", state="available"), "aws.ec2.deregister_image")):
        assert reg.action_for_command(COMMAND_DELETE, [element]).id == action
    # creating is offered on the nodes
    assert "aws.ebs.create_volume" in {a.id for a in reg.actions_for([Element(K.VOLUMES, "v", "Volumes")])}
    assert "aws.eip.allocate" in {a.id for a in reg.actions_for([Element(K.ADDRESSES, "e", "Elastic IPs")])}
    # deletes come last in the menu, after creating and the life cycle
    ids = [a.id for a in reg.actions_for([in_use])]
    assert ids.index("aws.ebs.detach") < ids.index("aws.ebs.create_snapshot") < ids.index("aws.ebs.delete_volume")
