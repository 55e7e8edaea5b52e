"""Child loaders for the AWS tree. Each yields pages (lists of Elements) as boto3 paginators give them.

Run on worker threads only; a loader never touches the UI.

Over 500 lines for a reason: one short loader per kind of node the provider shows, all sharing
``flatten``, ``name_tag`` and the info row; a loader is looked up here by the manifest's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from gridclient.elements import Element
from providers.aws import kinds as K
from providers.aws.s3_rows import object_element

Pages = Iterator[list[Element]]


def flatten(data: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every attribute as one flat "Path.To.Value" → scalar mapping, for the Properties view."""
    out = {} if out is None else out
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "ResponseMetadata":
                continue
            if k == "Tags" and isinstance(v, list):
                for t in v:
                    out[f"{prefix}Tag:{t.get('Key')}"] = t.get("Value", "")
                continue
            flatten(v, f"{prefix}{k}.", out)
    elif isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            out[prefix[:-1]] = ", ".join(str(v) for v in data)
        else:
            for i, v in enumerate(data):
                flatten(v, f"{prefix[:-1]}[{i}].", out)
    else:
        out[prefix[:-1]] = data.isoformat() if isinstance(data, datetime) else data
    return out


def name_tag(tags: list[dict] | None) -> str:
    """The value of the Name tag in an EC2 Tags list, or an empty string."""
    for t in tags or ():
        if t.get("Key") == "Name" and t.get("Value"):
            return t["Value"]
    return ""


def _info(parent: Element, text: str, kind: str = "info") -> Element:
    return Element(kind=kind, id=f"{parent.id}#{kind}", label=text, icon="info")


# -- categories -----------------------------------------------------------------------------
def load_computing(token, parent: Element) -> Pages:
    """The VO region's instances, after "All regions" (providers/aws/regions.py) — that row comes
    with the first answer, so a Computing that cannot be listed is an error row, not a row and an error.
    Its rows carry no ``ref["region"]``: none is the VO's own."""
    from providers.aws.regions import all_regions_element

    ec2 = token.client("ec2")
    first = True
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 500}):
        out = [all_regions_element()] if first else []
        first = False
        for res in page.get("Reservations", []):
            for inst in res.get("Instances", []):
                out.append(instance_element(inst))
        yield out


def instance_element(inst: dict, region: str | None = None) -> Element:
    """An instance's row; ``region``: the one it was listed in when not the VO's own
    (``ref["region"]``: its actions, its children and the state watcher then ask there)."""
    iid = inst["InstanceId"]
    state = inst.get("State", {}).get("Name", "")
    addr = inst.get("PublicIpAddress") or inst.get("PrivateIpAddress") or ""
    name = name_tag(inst.get("Tags"))
    props = flatten(inst)
    return Element(
        kind=K.INSTANCE, id=iid, label=name or iid, state=state, properties=props,
        icon=f"instance-{state}" if state else "instance",
        has_children=True,  # its volumes and Elastic IPs (load_instance)
        detail=" · ".join(x for x in (inst.get("InstanceType", ""), state, addr) if x),
        ref={"image_id": inst.get("ImageId", ""), "key_name": inst.get("KeyName", ""),
             **({"region": region} if region else {})},
    )


def instance_states(token, elements: list[Element]) -> list[Element]:
    """The instances' current Elements, made as Computing lists them (the core's StateWatcher
    compares them with the rows shown); one that no longer exists is left out. A filter rather
    than ``InstanceIds``: an id that is gone fails the whole call with InvalidInstanceID.NotFound."""
    region = next((e.ref.get("region") for e in elements if e.ref.get("region")), None)
    if region == token.region:
        region = None  # the VO's own: said by no region, as Computing's rows say it
    ec2 = token.client("ec2", region=region)
    ids = [e.id for e in elements]
    out: list[Element] = []
    for start in range(0, len(ids), 200):  # at most 200 values in one filter
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-id", "Values": ids[start:start + 200]}])
        for page in pages:
            for res in page.get("Reservations", []):
                out.extend(instance_element(inst, region) for inst in res.get("Instances", []))
    return out


def load_services(token, parent: Element) -> Pages:
    region = token.region
    yield [
        Element(K.IMAGES, f"{region}/images", "My images (AMIs)", has_children=True, icon="images"),
        catalog_element(region),
        Element(K.KEYPAIRS, f"{region}/keypairs", "Key pairs", has_children=True, icon="keys"),
        Element(K.SECURITY_GROUPS, f"{region}/sg", "Security groups", has_children=True, icon="firewall"),
        Element(K.ADDRESSES, f"{region}/addresses", "Elastic IPs", has_children=True, icon="address"),
        Element(K.INSTANCE_TYPES, f"{region}/instancetypes", "Instance types", has_children=True,
                icon="flavor"),
        Element(K.REGIONS, "regions", "Regions", has_children=True, icon="regions"),
    ]


def catalog_element(region: str, ref: dict[str, Any] | None = None) -> Element:
    """Services → Image catalog; ``ref``: its search (``query``, ``owner``), as Search… sets it."""
    return Element(K.CATALOG, f"{region}/catalog", "Image catalog", has_children=True, icon="catalog",
                   detail="right-click → Fetch… then Search…", ref=dict(ref or {}))


def bucket_element(name: str, prefix: str = "", properties: dict | None = None, opened: bool = False) -> Element:
    label = f"{name}/{prefix}" if prefix else name
    return Element(K.BUCKET, f"{name}/{prefix}" if prefix else name, label, has_children=True, icon="bucket",
                   properties=properties or {"Name": name, "Prefix": prefix},
                   detail="opened by name" if opened else "",
                   ref={"bucket": name, "prefix": prefix, "uri": f"s3://{name}/{prefix}"})


def load_storage(token, parent: Element) -> Pages:
    """Buckets the account lists, and those opened by name (Open bucket…): an account that may
    not ListAllMyBuckets still shows those, with a line saying why the others are missing."""
    from botocore.exceptions import ClientError

    s3 = token.client("s3")
    opened = [u for u in token.settings.get("open_buckets", []) if isinstance(u, str) and u.startswith("s3://")]
    buckets: list[Element] = []
    try:
        listed = s3.list_buckets().get("Buckets", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "AllAccessDisabled") or not opened:
            raise
        listed = None
    names = set()
    for b in listed or ():
        names.add(b["Name"])
        buckets.append(bucket_element(b["Name"], properties={k: v for k, v in flatten(b).items() if k != "Name"}))
    for uri in opened:
        name, _, prefix = uri[5:].partition("/")
        if prefix or name not in names:
            buckets.append(bucket_element(name, prefix, opened=True))
    buckets.sort(key=lambda e: e.label.lower())
    if listed is None:
        buckets.append(_info(parent, "This account may not list its buckets: only those opened by name "
                                     "are shown (right-click Storage → Open bucket…)"))
    yield buckets
    yield [Element(K.VOLUMES, f"{token.region}/volumes", "Volumes (EBS)", has_children=True,
                   icon="volume"),
           Element(K.SNAPSHOTS, f"{token.region}/snapshots", "Snapshots (EBS)", has_children=True,
                   icon="snapshot")]


# -- services -------------------------------------------------------------------------------
def image_element(img: dict) -> Element:
    return Element(
        K.IMAGE, img["ImageId"], img.get("Name") or img["ImageId"], state=img.get("State", ""),
        properties=flatten(img), icon="image",
        detail=" · ".join(x for x in ("" if img.get("State") in (None, "", "available") else img["State"],
                                      img.get("Architecture", ""), img.get("PlatformDetails", ""),
                                      str(img.get("CreationDate", ""))[:10]) if x),  # "pending · x86_64 · …"
    )


def load_images(token, parent: Element) -> Pages:
    ec2 = token.client("ec2")
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]):
        yield sorted((image_element(i) for i in page.get("Images", [])), key=lambda e: e.label.lower())


def load_keypairs(token, parent: Element) -> Pages:
    pairs = token.client("ec2").describe_key_pairs().get("KeyPairs", [])
    yield [Element(K.KEYPAIR, k.get("KeyPairId") or k["KeyName"], k["KeyName"],
                   properties=flatten(k), icon="key", detail=k.get("KeyFingerprint", "")[:23])
           for k in sorted(pairs, key=lambda k: k["KeyName"].lower())]


def security_group_element(g: dict) -> Element:
    return Element(K.SECURITY_GROUP, g["GroupId"], g.get("GroupName") or g["GroupId"],
                   properties=flatten(g), icon="firewall", detail=g.get("Description", ""),
                   has_children=True)  # its rules


def load_security_groups(token, parent: Element) -> Pages:
    for page in token.client("ec2").get_paginator("describe_security_groups").paginate():
        yield [security_group_element(g) for g in page.get("SecurityGroups", [])]


# -- a security group's rules: one row per protocol, ports and source (or destination) --------
PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
WELL_KNOWN = {22: "SSH", 80: "HTTP", 443: "HTTPS", 3389: "RDP", 3306: "MySQL", 5432: "PostgreSQL"}


def protocol_name(value: Any) -> str:
    value = str(value).lower()
    return PROTOCOLS.get(value, value if not value.isdigit() else f"protocol {value}")


def rule_ports(perm: dict) -> str:
    """"22", "8000–8080", "all ports", "type 8" (ICMP), or "" where ports do not apply."""
    proto, lo, hi = protocol_name(perm.get("IpProtocol", "-1")), perm.get("FromPort"), perm.get("ToPort")
    if proto in ("tcp", "udp"):
        if lo in (None, -1) or (lo == 0 and hi in (65535, -1)):
            return "all ports"
        return str(lo) if lo == hi else f"{lo}–{hi}"
    if proto in ("icmp", "icmpv6") and lo not in (None, -1):
        return f"type {lo}" + (f" code {hi}" if hi not in (None, -1) else "")
    return ""


def rule_label(perm: dict, other: str, outbound: bool) -> str:
    """"tcp 22 from 203.0.113.7/32", "all traffic to 0.0.0.0/0"."""
    proto = protocol_name(perm.get("IpProtocol", "-1"))
    what = "all traffic" if proto == "all" else " ".join(x for x in (proto, rule_ports(perm)) if x)
    return f"{what} {'to' if outbound else 'from'} {other}"


def _rule_ends(perm: dict) -> Iterator[tuple[str, dict, str]]:
    """(the other end as text, that end alone as a permission's part, its description) per end."""
    for r in perm.get("IpRanges") or ():
        yield r["CidrIp"], {"IpRanges": [{"CidrIp": r["CidrIp"]}]}, r.get("Description", "")
    for r in perm.get("Ipv6Ranges") or ():
        yield r["CidrIpv6"], {"Ipv6Ranges": [{"CidrIpv6": r["CidrIpv6"]}]}, r.get("Description", "")
    for r in perm.get("UserIdGroupPairs") or ():
        pair = {k: r[k] for k in ("GroupId", "UserId") if r.get(k)}
        yield r.get("GroupId", "?"), {"UserIdGroupPairs": [pair]}, r.get("Description", "")
    for r in perm.get("PrefixListIds") or ():
        yield r["PrefixListId"], {"PrefixListIds": [{"PrefixListId": r["PrefixListId"]}]}, r.get("Description", "")


def rule_elements(group: dict, names: dict[str, str] | None = None) -> list[Element]:
    """The rows of a group's rules, inbound first; ``ref["permission"]`` is the rule alone, as
    RevokeSecurityGroupIngress/Egress take it."""
    gid, names = group["GroupId"], names or {}
    out = []
    for outbound, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
        direction = "outbound" if outbound else "inbound"
        for perm in group.get(key) or ():
            base = {k: perm[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in perm}
            for other, end, description in _rule_ends(perm):
                if other == gid:
                    shown = "this group"
                elif other in names:
                    shown = f"{other} ({names[other]})"
                else:
                    shown = other
                ports = rule_ports(perm)
                label = rule_label(perm, shown, outbound)
                hint = description or (WELL_KNOWN.get(perm.get("FromPort")) if ports.isdigit() else "") or ""
                out.append(Element(
                    K.SG_RULE, f"{gid}/{direction}/{base.get('IpProtocol')}/{base.get('FromPort', '')}-"
                               f"{base.get('ToPort', '')}/{other}",
                    label, state=direction, icon="firewall",
                    detail=" · ".join(x for x in (direction, hint) if x),
                    properties={"Group": gid, "Direction": direction,
                                "Protocol": protocol_name(perm.get("IpProtocol", "-1")),
                                "Ports": ports or "all", ("Destination" if outbound else "Source"): shown,
                                "Description": description},
                    ref={"group_id": gid, "group_name": group.get("GroupName", ""), "direction": direction,
                         "permission": {**base, **end}}))
    return out


def load_security_group_rules(token, parent: Element) -> Pages:
    ec2 = token.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[parent.id])["SecurityGroups"][0]
    others = {r.get("GroupId") for key in ("IpPermissions", "IpPermissionsEgress")
              for p in group.get(key) or () for r in p.get("UserIdGroupPairs") or ()} - {None, parent.id}
    names: dict[str, str] = {}
    if others:
        try:  # names make "from sg-0a1b… (web)" readable; a group we may not describe keeps its id
            for g in ec2.describe_security_groups(GroupIds=sorted(others))["SecurityGroups"]:
                names[g["GroupId"]] = g.get("GroupName", "")
        except Exception:  # noqa: BLE001
            pass
    rows = rule_elements(group, names)
    if not any(r.state == "inbound" for r in rows):
        rows.insert(0, _info(parent, "No inbound rules: nothing may connect in — right-click the group → Add rule…"))
    yield rows


def load_regions(token, parent: Element) -> Pages:
    regions = token.client("ec2").describe_regions().get("Regions", [])
    yield [Element(K.REGION, r["RegionName"], r["RegionName"], properties=flatten(r), icon="region",
                   has_children=True,  # its availability zones (load_zones)
                   state="current" if r["RegionName"] == token.region else "",
                   detail="current" if r["RegionName"] == token.region else r.get("Endpoint", ""))
           for r in sorted(regions, key=lambda r: r["RegionName"])]


# -- storage --------------------------------------------------------------------------------
def load_volumes(token, parent: Element) -> Pages:
    for page in token.client("ec2").get_paginator("describe_volumes").paginate():
        out = []
        for v in page.get("Volumes", []):
            name = name_tag(v.get("Tags"))
            out.append(Element(K.VOLUME, v["VolumeId"], name or v["VolumeId"],
                               state=v.get("State", ""), properties=flatten(v), icon="volume",
                               detail=f"{v.get('Size', '?')} GiB · {v.get('VolumeType', '')} · "
                                      f"{v.get('State', '')}"))
        yield out


def load_bucket(token, parent: Element) -> Pages:
    """A bucket or folder: sub-folders by the "/" delimiter, then objects, a page at a time."""
    bucket = parent.ref["bucket"]
    prefix = parent.ref.get("prefix", "")
    wanted = parent.ref.get("filter", "")  # Filter…: names beginning with this, asked of the server
    if wanted:
        yield [_info(parent, f"Only names beginning with “{wanted}” — Filter… with nothing to show all")]
    s3 = token.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix + wanted, Delimiter="/"):
        out = []
        for cp in page.get("CommonPrefixes", ()):
            p = cp["Prefix"]
            out.append(Element(K.FOLDER, f"{bucket}/{p}", p[len(prefix):].rstrip("/") + "/",
                               has_children=True, icon="folder",
                               properties={"Bucket": bucket, "Prefix": p},
                               ref={"bucket": bucket, "prefix": p, "uri": f"s3://{bucket}/{p}"}))
        for obj in page.get("Contents", ()):
            if obj["Key"] == prefix:  # the folder's own marker object
                continue
            # a folder may hold 100,000: a packed row, its properties made when shown (s3_rows.py)
            out.append(object_element(bucket, prefix, obj))
        yield out


# -- volumes under an instance, snapshots, Elastic IPs, instance types, zones --------------------
# (their actions: providers/aws/manage_storage.py)
def own_account(token) -> str | None:
    """The caller's account id (STS), or None where the endpoint has no STS. Some EC2-compatible
    endpoints (moto among them) ignore ``OwnerIds=["self"]``; the loaders then keep only what
    this account owns."""
    try:
        return token.client("sts").get_caller_identity().get("Account") or None
    except Exception:  # noqa: BLE001 - only a filter is lost
        return None


def attached_volume_element(v: dict, instance_id: str, root_device: str = "") -> Element:
    """A volume as a child of the instance it is attached to: its device first."""
    device = next((a.get("Device", "") for a in v.get("Attachments") or () if a.get("InstanceId") == instance_id), "")
    return Element(K.VOLUME, v["VolumeId"], name_tag(v.get("Tags")) or v["VolumeId"], state=v.get("State", ""),
                   properties=flatten(v), icon="volume",
                   detail=" · ".join(x for x in (device, "root" if device and device == root_device else "",
                                                 f"{v.get('Size', '?')} GiB", v.get("VolumeType", "")) if x),
                   ref={"device": device, "instance_id": instance_id})


def address_element(a: dict, names: dict[str, str] | None = None) -> Element:
    """An Elastic IP: "associated" (with an instance or a network interface) or "unassociated";
    ``names``: instance id → Name, for the detail "→ web-1 (i-…)"."""
    ip = a.get("PublicIp", "")
    associated = bool(a.get("AssociationId") or a.get("InstanceId") or a.get("NetworkInterfaceId"))
    iid = a.get("InstanceId") or ""
    name = (names or {}).get(iid, "")
    if iid:
        where = f"→ {name} ({iid})" if name and name != iid else f"→ {iid}"
    elif associated:
        where = f"→ {a.get('NetworkInterfaceId', '')}"
    else:
        where = "not associated"
    return Element(K.ADDRESS, a.get("AllocationId") or ip, ip, state="associated" if associated else "unassociated",
                   properties=flatten(a), icon="address",
                   detail=" · ".join(x for x in (name_tag(a.get("Tags")), where) if x),
                   ref={"allocation_id": a.get("AllocationId", ""), "public_ip": ip,
                        "association_id": a.get("AssociationId", ""), "instance_id": iid})


def instance_names(ec2, ids: list[str]) -> dict[str, str]:
    """Name tags of these instances (id → name, or id where unnamed); {} when they cannot be read."""
    if not ids:
        return {}
    try:
        res = ec2.describe_instances(InstanceIds=sorted(set(ids)))["Reservations"]
    except Exception:  # noqa: BLE001 - an address still shows with its instance's id
        return {}
    return {i["InstanceId"]: name_tag(i.get("Tags")) or i["InstanceId"] for r in res for i in r.get("Instances", [])}


def load_instance(token, parent: Element) -> Pages:
    """An instance's children: the volumes attached to it (by device) and its Elastic IPs."""
    ec2 = token.client("ec2", region=parent.ref.get("region"))  # the region it was listed in
    volumes: list[dict] = []
    for page in ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "attachment.instance-id", "Values": [parent.id]}]):
        volumes.extend(page.get("Volumes", []))
    root = str(parent.properties.get("RootDeviceName", ""))
    rows = sorted((attached_volume_element(v, parent.id, root) for v in volumes), key=lambda e: e.ref["device"])
    addresses = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [parent.id]}]).get("Addresses", [])
    for a in addresses:  # under its instance, "→ web-1" would say the obvious
        row = address_element(a)
        row.detail = " · ".join(x for x in ("Elastic IP", name_tag(a.get("Tags"))) if x)
        rows.append(row)
    opened = (token.settings.get("instance_files") or {}).get(parent.id)
    if isinstance(opened, dict) and opened.get("uri"):  # Browse files… opened its home folder
        ssh = opened.get("ssh") or {}
        rows.insert(0, Element("sftp.root", opened["uri"], "Files", has_children=True, icon="folder",
                               detail=f"{ssh.get('user', '')}@{ssh.get('host', '')} · {opened['uri']}",
                               ref={"uri": opened["uri"], "ssh": ssh}))
    if not rows:
        rows = [_info(parent, "No EBS volume attached and no Elastic IP")]
    yield rows


def snapshot_element(s: dict) -> Element:
    started = s.get("StartTime")
    started = started.isoformat() if isinstance(started, datetime) else str(started or "")
    state = s.get("State", "")
    progress = s.get("Progress", "") if state == "pending" else ""
    return Element(K.SNAPSHOT, s["SnapshotId"], name_tag(s.get("Tags")) or s["SnapshotId"], state=state,
                   properties=flatten(s), icon="snapshot",
                   detail=" · ".join(x for x in (f"{s.get('VolumeSize', '?')} GiB", progress, started[:10],
                                                 s.get("Description", "")) if x),
                   ref={"volume_id": s.get("VolumeId", ""), "size": s.get("VolumeSize", 0)})


def load_snapshots(token, parent: Element) -> Pages:
    """The account's own EBS snapshots, newest first."""
    account = own_account(token)
    found = []
    for page in token.client("ec2").get_paginator("describe_snapshots").paginate(OwnerIds=["self"]):
        found.extend(s for s in page.get("Snapshots", []) if account is None or s.get("OwnerId") in (None, account))
    found.sort(key=lambda s: str(s.get("StartTime", "")), reverse=True)
    yield [snapshot_element(s) for s in found]


def load_addresses(token, parent: Element) -> Pages:
    """Elastic IPs of the region, by address; each says which instance it is associated with."""
    ec2 = token.client("ec2")
    addresses = ec2.describe_addresses().get("Addresses", [])
    names = instance_names(ec2, [a["InstanceId"] for a in addresses if a.get("InstanceId")])

    def by_ip(a: dict) -> tuple:
        parts = a.get("PublicIp", "").split(".")
        return tuple(int(p) if p.isdigit() else 0 for p in parts)

    yield [address_element(a, names) for a in sorted(addresses, key=by_ip)]


SIZES = {"nano": 0, "micro": 1, "small": 2, "medium": 3, "large": 4, "xlarge": 5}


def type_order(name: str) -> tuple:
    """t3.nano < t3.micro < … < t3.xlarge < t3.2xlarge < … < m5.metal: by family, then size."""
    family, _, size = name.partition(".")
    if size in SIZES:
        rank = SIZES[size]
    elif size.endswith("xlarge") and size[:-6].isdigit():
        rank = 5 + int(size[:-6])
    else:
        rank = 10_000  # metal, metal-24xl
    return family, rank, size


def gib_text(mib: float) -> str:
    """Memory as people read it: "0.5 GiB", "1.7 GiB" (1,740 MiB), "3.75 GiB", "768 GiB", "24576 GiB"."""
    gib = mib / 1024
    return f"{gib:.0f} GiB" if gib >= 100 else f"{gib:.3g} GiB"


def instance_type_element(t: dict) -> Element:
    name = t["InstanceType"]
    vcpu = t.get("VCpuInfo", {}).get("DefaultVCpus")
    mib = t.get("MemoryInfo", {}).get("SizeInMiB")
    arch = ", ".join(t.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
    network = t.get("NetworkInfo", {}).get("NetworkPerformance", "")
    return Element(K.INSTANCE_TYPE, name, name, properties=flatten(t), icon="flavor",
                   detail=" · ".join(x for x in (f"{vcpu} vCPU" if vcpu else "", gib_text(mib) if mib else "",
                                                 arch, network) if x),
                   ref={"vcpus": vcpu or 0, "memory_mib": mib or 0, "architectures": arch})


def load_instance_types(token, parent: Element) -> Pages:
    """Every instance type the region offers (DescribeInstanceTypes, page by page), in one listing
    sorted by family and size: a person looks for t3.micro next to t3.small."""
    found: list[dict] = []
    for page in token.client("ec2").get_paginator("describe_instance_types").paginate(
            PaginationConfig={"PageSize": 100}):
        found.extend(page.get("InstanceTypes", []))
    yield [instance_type_element(t) for t in sorted(found, key=lambda t: type_order(t["InstanceType"]))]


def load_zones(token, parent: Element) -> Pages:
    """A region's availability zones, asked of that region, with their state."""
    from botocore.exceptions import ClientError

    try:
        zones = token.client("ec2", region=parent.id).describe_availability_zones().get("AvailabilityZones", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "OptInRequired":
            raise
        yield [_info(parent, f"{parent.id} is not enabled for this account: its zones cannot be listed")]
        return
    yield [Element(K.ZONE, z["ZoneName"], z["ZoneName"], state=z.get("State", ""), properties=flatten(z),
                   icon="zone",
                   detail=" · ".join(x for x in (z.get("ZoneId", ""), z.get("State", ""),
                                                 z.get("ZoneType", "") if z.get("ZoneType") != "availability-zone"
                                                 else "") if x))
           for z in sorted(zones, key=lambda z: z["ZoneName"])]
