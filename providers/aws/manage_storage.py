"""Handlers for images, EBS volumes and snapshots, and Elastic IPs: what a person makes, attaches,
moves and throws away around an instance.

Like :mod:`providers.aws.actions` they are Qt-free and run as Operations by the core's
ActionRunner: they talk to the person only through ``ctx.interaction`` and return a message or an
:class:`ActionResult`. AWS errors reach the person through :func:`providers.aws.errors.explain`
(the runner calls it); an id that names nothing any more is :class:`ElementGone`
(``acting_on``). What this code refuses itself — a volume still attached, an address still
associated, a device name taken, a size outside a type's limits — is :class:`Refused`: a
sentence that says why and what to do instead, raised before anything is changed.

Questions whose choices come from the cloud (the zones of the region, the instances in a volume's
zone) are asked here rather than declared on the Action, and asked again with the problem on top
when the answer does not fit (a size below st1's 125 GiB), keeping what was typed.

Over 500 lines for a reason: four families of handlers (images, volumes, snapshots, Elastic IPs)
that lean on each other (deregistering deletes snapshots, deleting a snapshot asks which image
holds it, attaching and associating pick instances the same way) and share the checks above them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from botocore.exceptions import ClientError

from gridclient.actions import ActionContext, ActionResult, Cancelled, ElementGone
from gridclient.elements import Element
from gridclient.interaction import Field
from providers.aws.errors import BAD_KEY, DENIED, NOT_FOUND, SKEW, acting_on, explain
from providers.aws.nodes import instance_names, name_tag, own_account

M = "providers.aws.manage_storage"


class Refused(Exception):
    """The action cannot be done as asked; ``str()`` says why and what to do instead. Raised
    before anything is changed."""


# -- small helpers ---------------------------------------------------------------------------
def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def labels(elements: list[Element], limit: int = 5) -> str:
    return ", ".join(e.label for e in elements[:limit]) + (" …" if len(elements) > limit else "")


def named(label: str, ident: str) -> str:
    """“data” (vol-0a1b…), or the id alone where the label is the id."""
    return f"“{label}” ({ident})" if label and label != ident else ident


def ask_until_valid(ctx: ActionContext, title: str, fields: list[Field], text: str,
                    problem: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Ask; while ``problem(answer)`` has something to say, ask again with it on top and the
    answer kept as the fields' defaults. Closing the form is :class:`Cancelled`."""
    shown = text
    while True:
        answer = ctx.interaction.ask(title, fields, text=shown)
        if answer is None:
            raise Cancelled()
        said = problem(answer)
        if not said:
            return answer
        fields = [replace(f, default=answer.get(f.name, f.default)) for f in fields]
        shown = f"⚠ {said}\n\n{text}"


INSTANCE_ID = re.compile(r"\b(i-[0-9a-fA-F]+)\b")


def instance_choice(inst: dict) -> str:
    """How an instance reads in a choice: "web-1 (i-0a1b…, running)"; its id is taken back from it."""
    iid, state = inst["InstanceId"], inst.get("State", {}).get("Name", "")
    name = name_tag(inst.get("Tags"))
    return f"{name} ({iid}, {state})" if name else f"{iid} ({state})"


def chosen_instance(text: str) -> str:
    found = INSTANCE_ID.search(str(text or ""))
    return found.group(1) if found else ""


def _instances(ec2, filters: list[dict]) -> list[dict]:
    out = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for res in page.get("Reservations", []):
            out.extend(res.get("Instances", []))
    return sorted(out, key=lambda i: (name_tag(i.get("Tags")) or "~" + i["InstanceId"]).lower())


LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def _forceable(exc: Exception) -> bool:
    """A detach the server refused for the volume's state (busy, stuck detaching), not for who
    asks: forcing may help. Permissions, keys, clocks and missing ids are not helped by force."""
    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code", "")
    return bool(code) and code not in DENIED | BAD_KEY | SKEW and not NOT_FOUND.search(code) \
        and code not in ("ExpiredToken", "RequestLimitExceeded", "Throttling")


# -- checks the forms run as the person types --------------------------------------------------
AMI_NAME = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]+")


def ami_name_problem(value: Any) -> str:
    """EC2's rule for image names: 3–128 of letters, digits and ( ) [ ] space . / - ' @ _; said
    after the field's label ("Image name: 3 to 128 characters (2 now).")."""
    name = str(value or "")
    if not 3 <= len(name) <= 128:
        return f"3 to 128 characters ({len(name)} now)."
    if not AMI_NAME.fullmatch(name):
        bad = "".join(dict.fromkeys(c for c in name if not AMI_NAME.fullmatch(c)))
        return f"“{bad}” is not allowed: only letters, digits, spaces and ( ) [ ] . / - ' @ _."
    return ""


def image_description_problem(value: Any) -> str:
    text = str(value or "")
    return f"at most 255 characters ({len(text)} now)." if len(text) > 255 else ""


DEVICE = re.compile(r"/dev/(sd|xvd)[b-z]|xvd[b-z]")


def device_problem(value: Any) -> str:
    """A device name EC2 takes for a data volume on Linux (/dev/sdf) or Windows (xvdf)."""
    if DEVICE.fullmatch(str(value or "").strip()):
        return ""
    return ("like /dev/sdf: /dev/sd or /dev/xvd and one letter b–z (AWS recommends f–p for data volumes; "
            "xvdf on Windows).")


# -- images ------------------------------------------------------------------------------------
def create_image(ctx: ActionContext) -> str:
    """Create image… on an instance: the name checked, a description, no-reboot."""
    name = str(ctx.values.get("name") or "").strip()
    for label, problem in (("Image name", ami_name_problem(name)),
                           ("Description", image_description_problem(ctx.values.get("description")))):
        if problem:
            raise Refused(f"{label}: {problem}")
    description = str(ctx.values.get("description") or "").strip()
    no_reboot = bool(ctx.values.get("no_reboot"))
    from providers.aws.regions import ec2_for, region_of

    ec2 = ec2_for(ctx)  # in the instance's region (All regions lists every region's)
    account = own_account(ctx.token)
    same = [i for i in ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
            .get("Images", []) if account is None or i.get("OwnerId") == account]
    if same:
        raise Refused(f"This account already has an image named “{name}” ({same[0]['ImageId']}): names are "
                      "unique in a region. Choose another name.")
    kwargs: dict[str, Any] = {"InstanceId": ctx.element.id, "Name": name, "NoReboot": no_reboot}
    if description:
        kwargs["Description"] = description
    with acting_on(ctx.elements):
        image_id = ec2.create_image(**kwargs)["ImageId"]
    reboot = "" if no_reboot else f" ({ctx.element.label} reboots for it)"
    region = region_of(ctx.element)
    if region and region != ctx.token.region:
        return (f"Creating the image “{name}” ({image_id}) in {region} from {ctx.element.label}{reboot}: "
                f"Services → My images lists {ctx.token.region}, the VO's region.")
    return (f"Creating the image “{name}” ({image_id}) from {ctx.element.label}{reboot}: it shows under "
            "Services → My images, pending until it is available.")


def image_snapshots(image: dict) -> list[tuple[str, int]]:
    """(snapshot id, GiB) of each EBS snapshot behind an image's block devices."""
    out = []
    for m in image.get("BlockDeviceMappings") or ():
        ebs = m.get("Ebs") or {}
        if ebs.get("SnapshotId"):
            out.append((ebs["SnapshotId"], int(ebs.get("VolumeSize") or 0)))
    return out


def deregister_images(ctx: ActionContext) -> str:
    """Deregister (Del) on images: only this account's; offers to delete their snapshots too."""
    ec2 = ctx.token.client("ec2")
    with acting_on(ctx.elements):
        images = ec2.describe_images(ImageIds=[e.id for e in ctx.elements]).get("Images", [])
    by_id = {i["ImageId"]: i for i in images}
    account = own_account(ctx.token)
    foreign = [e for e in ctx.elements if account and by_id.get(e.id, {}).get("OwnerId") not in (None, account)]
    if foreign:
        e = foreign[0]
        owner = by_id[e.id].get("ImageOwnerAlias") or by_id[e.id].get("OwnerId")
        raise Refused(f"{named(e.label, e.id)} belongs to another account ({owner}): only its owner can "
                      "deregister it.")
    snaps = [s for e in ctx.elements for s in image_snapshots(by_id.get(e.id, {}))]
    it = "it" if len(ctx.elements) == 1 else "them"
    what = (f"Deregister {labels(ctx.elements)}? No new instance can be launched from {it}; instances "
            f"launched from {it} go on.")
    delete_snaps = False
    if snaps:
        gib = sum(size for _, size in snaps)
        delete_choice = f"Deregister and delete {plural(len(snaps), 'snapshot')}"
        keep_choice = "Deregister, keep the " + ("snapshot" if len(snaps) == 1 else "snapshots")
        answer = ctx.interaction.ask("Deregister image", [
            Field("then", "Snapshots", kind="choice", choices=(delete_choice, keep_choice), editable=False,
                  default=keep_choice)],
            text=f"{what}\n\n{'It is' if len(ctx.elements) == 1 else 'They are'} stored in "
                 f"{plural(len(snaps), 'snapshot')} ({gib} GiB: {', '.join(s for s, _ in snaps)}), which "
                 f"{'costs' if len(snaps) == 1 else 'cost'} storage while kept. A deleted snapshot cannot be "
                 "recovered.")
        if not answer or answer.get("then") not in (delete_choice, keep_choice):
            raise Cancelled()
        delete_snaps = answer["then"] == delete_choice
    elif not ctx.interaction.confirm("Deregister image", what):
        raise Cancelled()
    for e in ctx.elements:
        with acting_on([e]):
            ec2.deregister_image(ImageId=e.id)
    message = f"Deregistered {labels(ctx.elements)}."
    if not delete_snaps:
        return message + (f" {plural(len(snaps), 'snapshot')} kept (Storage → Snapshots)." if snaps else "")
    deleted, kept = [], []
    for sid, _ in snaps:
        try:
            ec2.delete_snapshot(SnapshotId=sid)
            deleted.append(sid)
        except ClientError as exc:  # another image made from the same snapshot, say
            kept.append(f"{sid}: {explain(exc)}")
    message += f" Deleted {plural(len(deleted), 'snapshot')}."
    if kept:
        ctx.interaction.notify("warning", "Deregister image", "Some snapshots were kept:\n" + "\n".join(kept))
        message += f" Kept {plural(len(kept), 'snapshot')} that could not be deleted."
    return message


# -- volumes -----------------------------------------------------------------------------------
VOLUME_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1", "standard")
#: GiB each type allows (EBS limits; gp3 and io2 Block Express go to 64 TiB)
VOLUME_SIZES = {"gp3": (1, 65536), "gp2": (1, 16384), "io1": (4, 16384), "io2": (4, 65536),
                "st1": (125, 16384), "sc1": (125, 16384), "standard": (1, 1024)}
#: provisioned IOPS: (least, most, most per GiB)
VOLUME_IOPS = {"io1": (100, 64000, 50), "io2": (100, 256000, 1000)}
SIZES_HELP = "; ".join(f"{t} {lo:,}–{hi:,}" for t, (lo, hi) in VOLUME_SIZES.items()) + " GiB"


def volume_problem(values: dict[str, Any], zones: list[str], least: int = 0) -> str:
    """What is wrong with a new volume's size, type, IOPS and zone, or "" (``least``: the GiB of
    the snapshot it is made from)."""
    kind = str(values.get("type") or "")
    if kind not in VOLUME_SIZES:
        return f"Choose a volume type: {', '.join(VOLUME_TYPES)}."
    try:
        size = int(values.get("size") or 0)
    except (TypeError, ValueError):
        return "The size is a whole number of GiB."
    lo, hi = VOLUME_SIZES[kind]
    if not lo <= size <= hi:
        return f"{kind} volumes have {lo:,} to {hi:,} GiB; {size:,} GiB is outside that."
    if size < least:
        return f"The snapshot holds {least:,} GiB: the volume needs at least that much."
    if kind in VOLUME_IOPS:
        i_lo, i_hi, per_gib = VOLUME_IOPS[kind]
        try:
            iops = int(values.get("iops") or 0)
        except (TypeError, ValueError):
            return "IOPS is a whole number."
        if not i_lo <= iops <= i_hi:
            return f"{kind} volumes have {i_lo:,} to {i_hi:,} IOPS; {iops:,} is outside that."
        if iops > per_gib * size:
            return (f"{kind} volumes have at most {per_gib} IOPS per GiB: {size:,} GiB allows up to "
                    f"{per_gib * size:,} IOPS, not {iops:,}. Make it larger or ask for fewer.")
    if values.get("zone") not in zones:
        return f"Choose an availability zone of the region: {', '.join(zones)}."
    return ""


def _zones(ec2) -> list[str]:
    zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
    return sorted(z["ZoneName"] for z in zones.get("AvailabilityZones", []))


def _create_volume(ctx: ActionContext, snapshot: dict | None) -> ActionResult:
    ec2 = ctx.token.client("ec2")
    zones = _zones(ec2)
    if not zones:
        raise Refused(f"{ctx.token.region} lists no availability zone that is available: no volume can be "
                      "made there now.")
    least = int(snapshot.get("VolumeSize") or 0) if snapshot else 0
    fields = [
        Field("size", "Size (GiB)", kind="int", required=True, default=max(least, 8), help=SIZES_HELP),
        Field("type", "Volume type", kind="choice", choices=VOLUME_TYPES, editable=False, default="gp3",
              help="gp3/gp2: general purpose SSD; io1/io2: provisioned IOPS SSD; st1: throughput HDD; "
                   "sc1: cold HDD; standard: previous-generation magnetic."),
        Field("iops", "IOPS", kind="int", default=3000, when=("type", tuple(VOLUME_IOPS)),
              help="io1: 100–64,000, at most 50 per GiB; io2: 100–256,000, at most 1,000 per GiB."),
        Field("zone", "Availability zone", kind="choice", choices=tuple(zones), editable=False, default=zones[0],
              help="A volume attaches only to instances in its own zone."),
        Field("name", "Name (optional)", placeholder="data"),
    ]
    source = f" from {named(ctx.element.label, snapshot['SnapshotId'])} ({least} GiB)" if snapshot else ""
    answer = ask_until_valid(ctx, "Create volume", fields, f"A new EBS volume in {ctx.token.region}{source}.",
                             lambda v: volume_problem(v, zones, least))
    kind, size, zone = answer["type"], int(answer["size"]), answer["zone"]
    kwargs: dict[str, Any] = {"Size": size, "VolumeType": kind, "AvailabilityZone": zone}
    if kind in VOLUME_IOPS:
        kwargs["Iops"] = int(answer["iops"])
    if snapshot:
        kwargs["SnapshotId"] = snapshot["SnapshotId"]
    name = str(answer.get("name") or "").strip()
    if name:
        kwargs["TagSpecifications"] = [{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}]
    if snapshot:
        with acting_on(ctx.elements):
            vid = ec2.create_volume(**kwargs)["VolumeId"]
    else:
        vid = ec2.create_volume(**kwargs)["VolumeId"]
    where = " It shows under Storage → Volumes (EBS)." if snapshot else ""
    return ActionResult(message=f"Creating the volume {named(name, vid)}: {size} GiB {kind} in {zone}{source}."
                                f"{where}")


def create_volume(ctx: ActionContext) -> ActionResult:
    """Create volume… on Storage → Volumes: size, type, zone (from DescribeAvailabilityZones)."""
    return _create_volume(ctx, None)


def create_volume_from_snapshot(ctx: ActionContext) -> ActionResult:
    """Create volume from this snapshot…: as Create volume…, at least the snapshot's size."""
    ec2 = ctx.token.client("ec2")
    with acting_on(ctx.elements):
        snapshot = ec2.describe_snapshots(SnapshotIds=[ctx.element.id])["Snapshots"][0]
    if snapshot.get("State") != "completed":
        raise Refused(f"{named(ctx.element.label, ctx.element.id)} is {snapshot.get('State')}: a volume can be "
                      "made from a completed snapshot only. Wait for it (F5 shows its progress).")
    return _create_volume(ctx, snapshot)


def _volume(ec2, element: Element) -> dict:
    with acting_on([element]):
        return ec2.describe_volumes(VolumeIds=[element.id])["Volumes"][0]


def _attached(volume: dict) -> list[dict]:
    return [a for a in volume.get("Attachments") or () if a.get("State") != "detached"]


SUGGESTED_DEVICES = [f"/dev/sd{c}" for c in "fghijklmnop"]


def _devices_in_use(inst: dict) -> set[str]:
    used = {m.get("DeviceName", "") for m in inst.get("BlockDeviceMappings") or ()}
    used.add(inst.get("RootDeviceName", ""))
    # /dev/sdf and /dev/xvdf are one device to the instance's kernel
    return used | {d.replace("/dev/xvd", "/dev/sd") for d in used} | {d.replace("/dev/sd", "/dev/xvd") for d in used}


def free_device(inst: dict) -> str:
    used = _devices_in_use(inst)
    return next((d for d in SUGGESTED_DEVICES if d not in used), "")


def attach_volume(ctx: ActionContext) -> str:
    """Attach… an available volume to an instance in its zone, as a device name (suggested)."""
    ec2 = ctx.token.client("ec2")
    el = ctx.element
    volume = _volume(ec2, el)
    if volume.get("State") != "available" or _attached(volume):
        raise Refused(f"{named(el.label, el.id)} is {volume.get('State')}: only an available volume can be "
                      "attached. Detach it from its instance first.")
    zone = volume.get("AvailabilityZone", "")
    instances = _instances(ec2, [{"Name": "availability-zone", "Values": [zone]},
                                 {"Name": "instance-state-name", "Values": LIVE_STATES}])
    if not instances:
        raise Refused(f"No instance is in {zone}, the zone of {named(el.label, el.id)}: a volume attaches only "
                      "to an instance in its own zone. To use it elsewhere, create a snapshot of it and a "
                      "volume from that snapshot in the other zone.")
    by_id = {i["InstanceId"]: i for i in instances}
    choices = tuple(instance_choice(i) for i in instances)
    suggested = free_device(instances[0]) or "/dev/sdf"
    fields = [Field("instance", "Instance", kind="choice", choices=choices, editable=False, default=choices[0],
                    help=f"The instances in {zone}: a volume attaches only in its own zone."),
              Field("device", "Device name", required=True, default=suggested, check=f"{M}:device_problem",
                    help="/dev/sdf to /dev/sdp are the names AWS recommends for data volumes; a recent "
                         "Linux kernel shows it as /dev/nvme1n1 or /dev/xvdf.")]

    def problem(values: dict[str, Any]) -> str:
        inst = by_id.get(chosen_instance(values.get("instance")))
        if inst is None:
            return "Choose one of the instances listed."
        device = str(values.get("device") or "").strip()
        said = device_problem(device)
        if said:
            return f"Device name: {said}"
        if device in _devices_in_use(inst):
            free = free_device(inst)
            return (f"{device} is in use on {instance_choice(inst)}." +
                    (f" {free} is free." if free else " Choose another name."))
        return ""

    answer = ask_until_valid(ctx, "Attach volume", fields,
                             f"Attach {named(el.label, el.id)} ({volume.get('Size')} GiB, {zone}) to:", problem)
    iid, device = chosen_instance(answer["instance"]), str(answer["device"]).strip()
    with acting_on(ctx.elements):
        ec2.attach_volume(VolumeId=el.id, InstanceId=iid, Device=device)
    who = name_tag(by_id[iid].get("Tags")) or iid
    return f"Attaching {el.label} to {who} as {device}."


def detach_volumes(ctx: ActionContext) -> str:
    """Detach (confirmed by the runner): each volume from its instance; where the server refuses
    for the volume's state, a forced detach is offered with what it risks."""
    ec2 = ctx.token.client("ec2")
    done, forced, loose, failed = [], [], [], []
    for el in ctx.elements:
        attachments = _attached(_volume(ec2, el))
        if not attachments:
            loose.append(el.label)
            continue
        for a in attachments:
            try:
                with acting_on([el]):
                    ec2.detach_volume(VolumeId=el.id, InstanceId=a["InstanceId"], Device=a["Device"])
                done.append(el.label)
            except ClientError as exc:
                if not _forceable(exc):
                    raise
                failed.append((el, a, exc))
    if failed:
        reasons = "\n".join(f"{named(el.label, el.id)} from {a['InstanceId']}: {explain(exc)}"
                            for el, a, exc in failed)
        if not ctx.interaction.confirm(
                "Force detach",
                f"Detaching failed:\n{reasons}\n\nForce the detach? Only for a volume that is stuck: the instance "
                "gets no chance to flush its caches or unmount the file system, so data being written may be "
                "lost and the file system damaged."):
            raise Refused(f"Not detached:\n{reasons}" + (f"\nDetached: {', '.join(done)}." if done else ""))
        for el, a, _exc in failed:
            with acting_on([el]):
                ec2.detach_volume(VolumeId=el.id, InstanceId=a["InstanceId"], Device=a["Device"], Force=True)
            forced.append(el.label)
    parts = []
    if done:
        parts.append(f"Detaching {', '.join(done)}.")
    if forced:
        parts.append(f"Forced the detach of {', '.join(forced)}.")
    if loose:
        parts.append(f"{', '.join(loose)} {'was' if len(loose) == 1 else 'were'} not attached any more.")
    return " ".join(parts)


def delete_volumes(ctx: ActionContext) -> str:
    """Delete (Del) on volumes: refused while any is attached; confirmed with how much is lost."""
    ec2 = ctx.token.client("ec2")
    with acting_on(ctx.elements):
        volumes = {v["VolumeId"]: v for v in ec2.describe_volumes(VolumeIds=[e.id for e in ctx.elements])["Volumes"]}
    attached = [(e, a) for e in ctx.elements for a in _attached(volumes.get(e.id, {}))[:1]]
    if attached:
        names = instance_names(ec2, [a["InstanceId"] for _, a in attached])
        lines = [f"{named(e.label, e.id)} is attached to {named(names.get(a['InstanceId'], ''), a['InstanceId'])} "
                 f"as {a.get('Device', '?')}" for e, a in attached]
        raise Refused("; ".join(lines) + ". Detach " + ("it" if len(lines) == 1 else "them") +
                      " first (right-click → Detach). Nothing was deleted.")
    gib = sum(int(v.get("Size") or 0) for v in volumes.values())
    n = len(ctx.elements)
    if not ctx.interaction.confirm(
            "Delete volume",
            f"Delete {plural(n, 'volume')} ({labels(ctx.elements)}), {gib:,} GiB? Everything on "
            f"{'it' if n == 1 else 'them'} is lost; this cannot be undone. (Create snapshot… keeps a copy.)"):
        raise Cancelled()
    for e in ctx.elements:
        with acting_on([e]):
            ec2.delete_volume(VolumeId=e.id)
    return f"Deleted {labels(ctx.elements)}."


# -- snapshots ---------------------------------------------------------------------------------
def create_snapshot(ctx: ActionContext) -> str:
    """Create snapshot… on a volume (a description, an optional name)."""
    el = ctx.element
    description = str(ctx.values.get("description") or "").strip()
    if image_description_problem(description):
        raise Refused(f"Description: {image_description_problem(description)}")
    kwargs: dict[str, Any] = {"VolumeId": el.id}
    if description:
        kwargs["Description"] = description
    name = str(ctx.values.get("name") or "").strip()
    if name:
        kwargs["TagSpecifications"] = [{"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": name}]}]
    with acting_on(ctx.elements):
        sid = ctx.token.client("ec2").create_snapshot(**kwargs)["SnapshotId"]
    # taken from an attached volume, it holds what a power cut would have left on the disk
    note = " Taken while attached: consistent as after a power cut." if el.state == "in-use" else ""
    return f"Creating the snapshot {named(name, sid)} of {el.label} (Storage → Snapshots (EBS)).{note}"


def _images_using(ec2, token) -> dict[str, dict]:
    """snapshot id → this account's image whose block devices use it."""
    account = own_account(token)
    out = {}
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]):
        for img in page.get("Images", []):
            if account and img.get("OwnerId") != account:
                continue
            for sid, _ in image_snapshots(img):
                out.setdefault(sid, img)
    return out


def delete_snapshots(ctx: ActionContext) -> str:
    """Delete (Del) on snapshots: refused for one an image of this account is made of."""
    ec2 = ctx.token.client("ec2")
    with acting_on(ctx.elements):
        snaps = {s["SnapshotId"]: s for s in ec2.describe_snapshots(SnapshotIds=[e.id for e in ctx.elements])["Snapshots"]}
    used = _images_using(ec2, ctx.token)
    in_use = [(e, used[e.id]) for e in ctx.elements if e.id in used]
    if in_use:
        lines = [f"{named(e.label, e.id)} holds the image {named(img.get('Name', ''), img['ImageId'])}"
                 for e, img in in_use]
        raise Refused("; ".join(lines) + ". Deregister the image first (Services → My images → Deregister image, "
                      "which offers to delete its snapshots). Nothing was deleted.")
    gib = sum(int(s.get("VolumeSize") or 0) for s in snaps.values())
    n = len(ctx.elements)
    if not ctx.interaction.confirm("Delete snapshot",
                                   f"Delete {plural(n, 'snapshot')} ({labels(ctx.elements)}), of {gib:,} GiB of "
                                   "volumes? This cannot be undone."):
        raise Cancelled()
    for e in ctx.elements:
        with acting_on([e]):
            ec2.delete_snapshot(SnapshotId=e.id)
    return f"Deleted {labels(ctx.elements)}."


# -- Elastic IPs -------------------------------------------------------------------------------
def _address_key(e: Element) -> dict[str, str]:
    alloc = (e.ref or {}).get("allocation_id") or (e.id if e.id.startswith("eipalloc-") else "")
    return {"AllocationId": alloc} if alloc else {"PublicIp": (e.ref or {}).get("public_ip") or e.label}


def _describe_address(ec2, e: Element) -> dict:
    key = _address_key(e)
    with acting_on([e]):
        found = ec2.describe_addresses(**({"AllocationIds": [key["AllocationId"]]} if "AllocationId" in key
                                          else {"PublicIps": [key["PublicIp"]]})).get("Addresses", [])
    if not found:
        raise ElementGone(f"{e.label} is no longer allocated to this account. The list it was in is reloaded.")
    return found[0]


def allocate_address(ctx: ActionContext) -> str:
    """Allocate Elastic IP… (confirmed by the runner: it costs money): a new address of the region."""
    ec2 = ctx.token.client("ec2")
    kwargs: dict[str, Any] = {"Domain": "vpc"}
    name = str(ctx.values.get("name") or "").strip()
    if name:
        kwargs["TagSpecifications"] = [{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": name}]}]
    got = ec2.allocate_address(**kwargs)
    return (f"Allocated {got['PublicIp']} ({got.get('AllocationId', '')}) in {ctx.token.region}: right-click it → "
            "Associate… to give it to an instance.")


def associate_address(ctx: ActionContext) -> str:
    """Associate… an unassociated Elastic IP with an instance of the region (a choice)."""
    ec2 = ctx.token.client("ec2")
    el = ctx.element
    address = _describe_address(ec2, el)
    if address.get("AssociationId") or address.get("InstanceId"):
        raise Refused(f"{el.label} is associated with {address.get('InstanceId') or address.get('NetworkInterfaceId')} "
                      "already: disassociate it first.")
    instances = _instances(ec2, [{"Name": "instance-state-name", "Values": LIVE_STATES}])
    if not instances:
        raise Refused(f"No instance in {ctx.token.region} to associate {el.label} with: launch one first.")
    by_id = {i["InstanceId"]: i for i in instances}
    choices = tuple(instance_choice(i) for i in instances)
    answer = ask_until_valid(
        ctx, "Associate Elastic IP",
        # editable: a form with a list to scroll (a fixed choice of five or fewer would be five
        # buttons of long labels), where an instance id may also be typed
        [Field("instance", "Instance", kind="choice", choices=choices, editable=True, default=choices[0],
               help="An instance of the region, or its id.")],
        f"Give {el.label} to:",
        lambda v: "" if chosen_instance(v.get("instance")) in by_id else
        f"“{v.get('instance')}” is not an instance of {ctx.token.region} that is running or stopped: choose one "
        "of those listed.")
    iid = chosen_instance(answer["instance"])
    before = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [iid]}]).get("Addresses", [])
    key = _address_key(el)
    with acting_on(ctx.elements):
        ec2.associate_address(InstanceId=iid, **key)
    who = name_tag(by_id[iid].get("Tags")) or iid
    message = f"Associated {el.label} with {who}."
    if before:
        message += (f" Its previous Elastic IP {', '.join(a['PublicIp'] for a in before)} stays allocated to the "
                    "account (and is charged) until released.")
    return message


def disassociate_addresses(ctx: ActionContext) -> str:
    """Disassociate (confirmed by the runner) Elastic IPs from their instances."""
    ec2 = ctx.token.client("ec2")
    done, loose = [], []
    for el in ctx.elements:
        address = _describe_address(ec2, el)
        if address.get("AssociationId"):
            with acting_on([el]):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
        elif address.get("InstanceId"):  # EC2-Classic and some EC2-compatible clouds: by address
            with acting_on([el]):
                ec2.disassociate_address(PublicIp=address["PublicIp"])
        else:
            loose.append(el.label)
            continue
        done.append(el.label)
    parts = [f"Disassociated {', '.join(done)}." if done else ""]
    if loose:
        parts.append(f"{', '.join(loose)} {'was' if len(loose) == 1 else 'were'} not associated any more.")
    return " ".join(p for p in parts if p)


def release_addresses(ctx: ActionContext) -> str:
    """Release (Del) Elastic IPs: refused while any is associated; confirmed."""
    ec2 = ctx.token.client("ec2")
    addresses = [(el, _describe_address(ec2, el)) for el in ctx.elements]
    busy = [(el, a) for el, a in addresses if a.get("AssociationId") or a.get("InstanceId")]
    if busy:
        names = instance_names(ec2, [a["InstanceId"] for _, a in busy if a.get("InstanceId")])
        lines = [f"{el.label} is associated with "
                 f"{named(names.get(a.get('InstanceId', ''), ''), a.get('InstanceId') or a.get('NetworkInterfaceId', '?'))}"
                 for el, a in busy]
        raise Refused("; ".join(lines) + ". Disassociate " + ("it" if len(lines) == 1 else "them") +
                      " first (right-click → Disassociate). Nothing was released.")
    n = len(ctx.elements)
    if not ctx.interaction.confirm(
            "Release address",
            f"Release {plural(n, 'Elastic IP')} ({labels(ctx.elements)})? "
            f"{'It goes' if n == 1 else 'They go'} back to AWS's pool: you may never get "
            f"{'it' if n == 1 else 'them'} again."):
        raise Cancelled()
    for el, _a in addresses:
        with acting_on([el]):
            ec2.release_address(**_address_key(el))
    return f"Released {labels(ctx.elements)}."
