"""Child loaders for the AWS tree. Each yields pages (lists of Elements) as boto3 paginators give them.

Run on worker threads only; a loader never touches the UI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from gridclient.elements import Element
from gridclient.storage.jobs import human_bytes
from providers.aws import kinds as K

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
    ec2 = token.client("ec2")
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 500}):
        out = []
        for res in page.get("Reservations", []):
            for inst in res.get("Instances", []):
                out.append(instance_element(inst))
        yield out


def instance_element(inst: dict) -> Element:
    iid = inst["InstanceId"]
    state = inst.get("State", {}).get("Name", "")
    addr = inst.get("PublicIpAddress") or inst.get("PrivateIpAddress") or ""
    name = name_tag(inst.get("Tags"))
    props = flatten(inst)
    return Element(
        kind=K.INSTANCE, id=iid, label=name or iid, state=state, properties=props,
        icon=f"instance-{state}" if state else "instance",
        detail=" · ".join(x for x in (inst.get("InstanceType", ""), state, addr) if x),
        ref={"image_id": inst.get("ImageId", ""), "key_name": inst.get("KeyName", "")},
    )


def load_services(token, parent: Element) -> Pages:
    region = token.region
    yield [
        Element(K.IMAGES, f"{region}/images", "My images (AMIs)", has_children=True, icon="images"),
        Element(K.CATALOG, f"{region}/catalog", "Image catalog", has_children=True, icon="catalog",
                detail="right-click → Search…"),
        Element(K.KEYPAIRS, f"{region}/keypairs", "Key pairs", has_children=True, icon="keys"),
        Element(K.SECURITY_GROUPS, f"{region}/sg", "Security groups", has_children=True, icon="firewall"),
        Element(K.REGIONS, "regions", "Regions", has_children=True, icon="regions"),
    ]


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
                   icon="volume")]


# -- services -------------------------------------------------------------------------------
def image_element(img: dict) -> Element:
    return Element(
        K.IMAGE, img["ImageId"], img.get("Name") or img["ImageId"], state=img.get("State", ""),
        properties=flatten(img), icon="image",
        detail=" · ".join(x for x in (img.get("Architecture", ""), img.get("PlatformDetails", ""),
                                      str(img.get("CreationDate", ""))[:10]) if x),
    )


def load_images(token, parent: Element) -> Pages:
    ec2 = token.client("ec2")
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]):
        yield sorted((image_element(i) for i in page.get("Images", [])), key=lambda e: e.label.lower())


CATALOG_LIMIT = 200


def load_catalog(token, parent: Element) -> Pages:
    """Public images, only for a query the person typed: never the whole catalog on expand."""
    query = (parent.ref or {}).get("query", "").strip()
    if not query:
        yield [_info(parent, "Right-click “Image catalog” → Search image catalog… to find public images")]
        return
    owner = parent.ref.get("owner") or "amazon"
    kwargs: dict[str, Any] = {"Filters": [{"Name": "name", "Values": [f"*{query}*"]},
                                          {"Name": "state", "Values": ["available"]}]}
    if owner != "any":
        kwargs["Owners"] = [owner]
    images = token.client("ec2").describe_images(**kwargs).get("Images", [])
    images.sort(key=lambda i: i.get("CreationDate", ""), reverse=True)
    shown = [image_element(i) for i in images[:CATALOG_LIMIT]]
    if not shown:
        shown = [_info(parent, f"No public image matches “{query}”")]
    elif len(images) > CATALOG_LIMIT:
        shown.append(_info(parent, f"{len(images) - CATALOG_LIMIT} more — narrow the search"))
    yield shown


def load_keypairs(token, parent: Element) -> Pages:
    pairs = token.client("ec2").describe_key_pairs().get("KeyPairs", [])
    yield [Element(K.KEYPAIR, k.get("KeyPairId") or k["KeyName"], k["KeyName"],
                   properties=flatten(k), icon="key", detail=k.get("KeyFingerprint", "")[:23])
           for k in sorted(pairs, key=lambda k: k["KeyName"].lower())]


def load_security_groups(token, parent: Element) -> Pages:
    for page in token.client("ec2").get_paginator("describe_security_groups").paginate():
        yield [Element(K.SECURITY_GROUP, g["GroupId"], g.get("GroupName") or g["GroupId"],
                       properties=flatten(g), icon="firewall", detail=g.get("Description", ""))
               for g in page.get("SecurityGroups", [])]


def load_regions(token, parent: Element) -> Pages:
    regions = token.client("ec2").describe_regions().get("Regions", [])
    yield [Element(K.REGION, r["RegionName"], r["RegionName"], properties=flatten(r), icon="region",
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
            key = obj["Key"]
            if key == prefix:  # the folder's own marker object
                continue
            size = obj.get("Size", 0)
            modified = obj.get("LastModified")
            modified = modified.isoformat() if isinstance(modified, datetime) else str(modified or "")
            out.append(Element(
                K.OBJECT, f"{bucket}/{key}", key[len(prefix):], icon="file",
                properties={"Bucket": bucket, "Key": key, "Size": size, "LastModified": modified,
                            "ETag": obj.get("ETag", ""), "StorageClass": obj.get("StorageClass", "")},
                detail=f"{human_bytes(size)} · {modified[:19].replace('T', ' ')}",
                ref={"bucket": bucket, "key": key, "uri": f"s3://{bucket}/{key}"},
            ))
        yield out
