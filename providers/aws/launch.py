"""Launch instance…: the launch wizard's questions, what they become (RunInstances), and the
equivalent ``aws ec2 run-instances`` command line shown before anything is made.

The handler runs on a worker (the core's ActionRunner). It reads what the account offers (images,
instance types compatible with the image, key pairs, security groups, subnets, zones) and asks in
three steps through ``ctx.interaction``: the image (skipped when launched from one), then one
form of several pages (the window shows it as a wizard, Next disabled with the reason while a
page has a problem), then a review with the command line. Only then is anything made: a new key
pair (its private key 0600 where the person chose, and held by the app for SSH login), a new
"SSH from my address" security group, the instances. New instances are listed at once (the
Computing node reloads) and their state followed until it is stable.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from gridclient.actions import ActionContext, ActionResult, Cancelled
from gridclient.interaction import Field
from providers.aws import kinds as K

CHECKS = "providers.aws.access_checks"
HERE = "providers.aws.launch"

USER_DATA_LIMIT = 16 * 1024  # what EC2 takes, before base64
MAX_COUNT = 20
VOLUME_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1", "standard")

KEY_EXISTING, KEY_NEW, KEY_IMPORT, KEY_NONE = ("Use an existing key pair", "Create a new key pair",
                                               "Import a public key", "No key pair (no SSH login)")
GROUP_EXISTING, GROUP_NEW = "Use an existing security group", "Create one: SSH from my address"
ANY_SUBNET, ANY_ZONE = "(the default)", "(any)"
NO_USER_DATA, USER_DATA_TYPED, USER_DATA_FILE = "none", "typed here", "from a file"


# -- checks the forms run as the person types -----------------------------------------------------
def count_problem(value: Any) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "a whole number, please."
    return "" if 1 <= n <= MAX_COUNT else f"between 1 and {MAX_COUNT}."


def user_data_problem(value: Any) -> str:
    path = Path(os.path.expanduser(str(value or "").strip()))
    if not str(value or "").strip():
        return ""
    if not path.is_file():
        return f"there is no file {path}."
    size = path.stat().st_size
    if size > USER_DATA_LIMIT:
        return f"{size:,} bytes; EC2 takes at most {USER_DATA_LIMIT:,} (16 KB)."
    return ""


def user_data_text_problem(value: Any) -> str:
    size = len(str(value or "").encode("utf-8"))
    return f"{size:,} bytes; EC2 takes at most {USER_DATA_LIMIT:,} (16 KB)." if size > USER_DATA_LIMIT else ""


def user_data_of(values: dict[str, Any]) -> tuple[str, str] | None:
    """The user data asked for, as (text, where from: "typed" or the file's path), or None. A
    script's answers may name only ``user_data`` (a file), as before the text could be typed."""
    mode = values.get("user_data_from") or (USER_DATA_FILE if values.get("user_data") else NO_USER_DATA)
    if mode == USER_DATA_TYPED and values.get("user_data_text"):
        return str(values["user_data_text"]), "typed"
    if mode == USER_DATA_FILE and values.get("user_data"):
        path = os.path.expanduser(str(values["user_data"]))
        return Path(path).read_text(encoding="utf-8"), path
    return None


def name_tag_problem(value: Any) -> str:
    text = str(value or "")
    if len(text) > 256:
        return "at most 256 characters."
    if any(ord(c) < 32 for c in text):
        return "no control characters."
    return ""


def __getattr__(name: str):
    """``root_size_at_least_<N>``: the check of a root volume size for an image whose snapshot is
    N GiB (a Field names its check by "module:attr", so the image's minimum is in the name)."""
    m = re.fullmatch(r"root_size_at_least_(\d+)", name)
    if m is None:
        raise AttributeError(name)
    least = int(m.group(1))

    def check(value: Any) -> str:
        try:
            n = int(value)
        except (TypeError, ValueError):
            return "a whole number of GiB, please."
        if n < least:
            return f"the image's root snapshot is {least} GiB: at least that much."
        return "" if n <= 16384 else "at most 16,384 GiB."
    return check


# -- what the account offers --------------------------------------------------------------------
def _describe_image(ec2, image_id: str) -> dict:
    """The image, or a ValueError naming it: an id the region does not know is the image's
    problem, never taken for the node the launch started from having gone."""
    try:
        found = ec2.describe_images(ImageIds=[image_id]).get("Images", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed",
                                                              "InvalidAMIID.Unavailable"):
            raise
        found = []
    if not found:
        raise ValueError(f"There is no image {image_id} in {ec2.meta.region_name} that this account may use: "
                         "check its id, and the region.")
    return found[0]


def check_default(token, name: str, value: str) -> str:
    """A default ``vm boot`` falls back to (or the VO's region), checked when it is set (``gridclient default key …``)
    rather than found wrong at the next launch: the image, instance type, key pair or security
    group must be one the VO's region offers. A group's name that several VPCs use is refused:
    its id says which."""
    ec2 = token.client("ec2")
    region = ec2.meta.region_name
    if name == "region":
        try:
            offered = {r["RegionName"] for r in ec2.describe_regions(AllRegions=True).get("Regions", [])}
        except ClientError as exc:
            from providers.aws.s3 import not_offered

            if not_offered(exc):
                return value  # a cloud that cannot list its regions: its name is taken as it is
            raise
        if offered and value not in offered:
            raise LookupError(f"{token.endpoint_url or 'AWS'} has no region “{value}”: gridclient location list "
                              "shows those of the account.")
        return value
    if name == "image":
        try:
            _describe_image(ec2, value)
        except ValueError as exc:
            raise LookupError(str(exc)) from None
        return value
    if name == "flavor":
        from providers.aws.manage_access import instance_types

        if not any(t["name"] == value for t in instance_types(token)):
            raise LookupError(f"{region} offers no instance type “{value}”: gridclient flavor list shows those "
                              "it does.")
        return value
    if name == "key":
        if value not in {k["KeyName"] for k in ec2.describe_key_pairs().get("KeyPairs", [])}:
            raise LookupError(f"There is no key pair “{value}” in {region}: gridclient key list shows them, and "
                              "gridclient key add --name NAME makes one.")
        return value
    if name == "group":
        groups = ec2.describe_security_groups().get("SecurityGroups", [])
        found = [g for g in groups if value in (g["GroupId"], g.get("GroupName"))]
        if not found:
            raise LookupError(f"There is no security group “{value}” in {region}: gridclient sg list shows them.")
        if len(found) > 1:
            raise LookupError(f"“{value}” names {len(found)} security groups in {region} (one per VPC): give its "
                              f"id ({', '.join(g['GroupId'] for g in found)}).")
        return value
    raise LookupError(f"“{name}” is no launch default.")


def _root_size(img: dict) -> int:
    root = img.get("RootDeviceName")
    for m in img.get("BlockDeviceMappings", []):
        if m.get("DeviceName") == root and m.get("Ebs", {}).get("VolumeSize"):
            return int(m["Ebs"]["VolumeSize"])
    return 8


def type_choices(types: list[dict], arch: str) -> list[str]:
    """Instance types the image can run on, smallest first, each "t3.micro — 2 vCPU, 1 GiB"."""
    from providers.aws.nodes import gib_text

    fit = [t for t in types if not t.get("archs") or arch in t["archs"]]
    fit.sort(key=lambda t: (t.get("vcpus") or 0, t.get("memory") or 0, t["name"]))
    return [f"{t['name']} — {t.get('vcpus') or '?'} vCPU, "
            f"{gib_text(t['memory']) if t.get('memory') else '? GiB'}, {'/'.join(t.get('archs') or [arch])}"
            for t in fit]


def first_word(choice: Any) -> str:
    return str(choice or "").split(" ", 1)[0]


def _my_cidr(ctx: ActionContext) -> tuple[str, str]:
    """This computer's public address as a CIDR, or "" and why not (a few seconds at most)."""
    from providers.aws import access_checks as C

    url = ctx.vo.settings.get("public_address_url", C.CHECKIP_URL)
    if not url:
        return "", "no address service is set for this VO"
    config = getattr(ctx.token, "config", None)
    try:
        return C.address_as_cidr(C.public_address(url, C.CHECKIP_TIMEOUT, getattr(config, "proxies", None))), ""
    except Exception as exc:  # noqa: BLE001 - offline or blocked: the person types it
        return "", C.why_not(exc, C.CHECKIP_TIMEOUT)


def questions(image: dict, types: list[str], keys: list[str], groups: list[str], subnets: list[str],
              zones: list[str], my_cidr: str, why_no_cidr: str, default_name: str) -> list[Field]:
    """The launch form's fields, on its pages (pure: the tests read it)."""
    least = _root_size(image)
    key_modes = ((KEY_EXISTING,) if keys else ()) + (KEY_NEW, KEY_IMPORT, KEY_NONE)
    group_modes = ((GROUP_EXISTING,) if groups else ()) + (GROUP_NEW,)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return [
        # Instance type
        Field("type", "Instance type", kind="choice", choices=tuple(types), required=True, editable=False,
              default=next((t for t in types if first_word(t) in ("t3.micro", "t2.micro")), types[0] if types else None),
              page="Instance type",
              help=f"Types that run {image.get('Architecture', 'this')} images; type to filter (“4 vCPU”, “16 GiB”)."),
        Field("count", "How many", kind="int", default=1, check=f"{HERE}:count_problem", page="Instance type"),
        # Key pair
        Field("key_mode", "Log in with", kind="choice", choices=key_modes, default=key_modes[0], editable=False,
              page="Key pair"),
        Field("key", "Key pair", kind="choice", choices=tuple(keys), required=True, editable=False,
              when=("key_mode", (KEY_EXISTING,)), page="Key pair"),
        Field("new_key", "New key pair's name", required=True, default=f"{default_name}-key",
              check=f"{CHECKS}:key_name_problem", when=("key_mode", (KEY_NEW, KEY_IMPORT)), page="Key pair"),
        Field("key_folder", "Save the private key in", kind="folder", default=os.path.expanduser("~/.ssh"),
              required=True, when=("key_mode", (KEY_NEW,)), page="Key pair",
              help="The private key is written there, readable by you only, and kept by the app for SSH login."),
        Field("public_key", "Public key file", kind="path", required=True, when=("key_mode", (KEY_IMPORT,)),
              default=os.path.expanduser("~/.ssh/id_ed25519.pub"), check=f"{CHECKS}:public_key_file_problem",
              page="Key pair"),
        # Firewall
        Field("group_mode", "Firewall", kind="choice", choices=group_modes, default=group_modes[-1],
              editable=False, page="Firewall"),
        Field("group", "Security group", kind="choice", choices=tuple(groups), required=True, editable=False,
              when=("group_mode", (GROUP_EXISTING,)), page="Firewall"),
        Field("ssh_from", "Allow SSH (TCP 22) from", required=True, default=my_cidr, placeholder="203.0.113.7/32",
              check=f"{CHECKS}:cidr_problem", when=("group_mode", (GROUP_NEW,)), page="Firewall",
              help=("Your public address, as the address service sees it; change it for a network."
                    if my_cidr else f"Your public address could not be found ({why_no_cidr}): type it as a CIDR.")),
        Field("new_group", "New group's name", required=True, default=f"ssh-from-my-address-{stamp}",
              check=f"{CHECKS}:group_name_problem", when=("group_mode", (GROUP_NEW,)), page="Firewall"),
        # Placement and storage
        Field("subnet", "Subnet", kind="choice", choices=(ANY_SUBNET, *subnets), default=ANY_SUBNET,
              editable=False, page="Placement and storage"),
        Field("zone", "Availability zone", kind="choice", choices=(ANY_ZONE, *zones), default=ANY_ZONE,
              editable=False, when=("subnet", (ANY_SUBNET,)), page="Placement and storage"),
        Field("root_size", "Root volume (GiB)", kind="int", default=least, check=f"{HERE}:root_size_at_least_{least}",
              page="Placement and storage"),
        Field("root_type", "Root volume type", kind="choice", choices=VOLUME_TYPES, default="gp3", editable=False,
              page="Placement and storage"),
        Field("protect", "Protect from termination", kind="bool", default=False, page="Placement and storage"),
        # Details
        Field("name", "Name", default=default_name, check=f"{HERE}:name_tag_problem", page="Details",
              help="The Name tag; with several instances, -1, -2… is added."),
        Field("tags", "Other tags", placeholder="project=atlas, owner=ana", check=f"{CHECKS}:ec2_tags_problem",
              page="Details"),
        Field("user_data_from", "User data (a script run at first boot)", kind="choice",
              choices=(NO_USER_DATA, USER_DATA_TYPED, USER_DATA_FILE), default=NO_USER_DATA, editable=False,
              page="Details", help="cloud-init runs it as root at first boot; at most 16 KB."),
        Field("user_data_text", "Script", kind="lines", placeholder="#!/bin/bash\napt-get install -y htop",
              check=f"{HERE}:user_data_text_problem", when=("user_data_from", (USER_DATA_TYPED,)),
              page="Details", required=True),
        Field("user_data", "File", kind="path", required=True, when=("user_data_from", (USER_DATA_FILE,)),
              check=f"{HERE}:user_data_problem", page="Details", help="A file of at most 16 KB."),
    ]


# -- what the answers become --------------------------------------------------------------------
def run_parameters(values: dict[str, Any], image: dict) -> dict[str, Any]:
    """RunInstances' parameters for the answers (the key pair and group already made or chosen:
    ``values["key"]`` and ``values["group_id"]``)."""
    from providers.aws import access_checks as C

    count = int(values.get("count") or 1)
    params: dict[str, Any] = {"ImageId": image["ImageId"], "InstanceType": first_word(values["type"]),
                              "MinCount": count, "MaxCount": count}
    if values.get("key"):
        params["KeyName"] = values["key"]
    if values.get("group_id"):
        params["SecurityGroupIds"] = [values["group_id"]]
    subnet = values.get("subnet") or ANY_SUBNET
    if subnet != ANY_SUBNET:
        params["SubnetId"] = first_word(subnet)
    elif (values.get("zone") or ANY_ZONE) != ANY_ZONE:
        params["Placement"] = {"AvailabilityZone": values["zone"]}
    root = image.get("RootDeviceName")
    if root and image.get("RootDeviceType", "ebs") == "ebs":
        params["BlockDeviceMappings"] = [{"DeviceName": root, "Ebs": {
            "VolumeSize": int(values.get("root_size") or _root_size(image)),
            "VolumeType": values.get("root_type") or "gp3", "DeleteOnTermination": True}}]
    if values.get("protect"):
        params["DisableApiTermination"] = True
    tags = [{"Key": "Name", "Value": values["name"]}] if values.get("name") else []
    tags += C.parse_ec2_tags(values.get("tags") or "")
    if tags:
        params["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
    data = user_data_of(values)
    if data is not None:
        params["UserData"], params["_user_data_from"] = data
    return params


def command_line(params: dict[str, Any], region: str, endpoint_url: str | None = None) -> str:
    """The equivalent ``aws ec2 run-instances`` command (user data as ``file://``)."""
    import json

    parts = ["aws", "ec2", "run-instances", "--region", region]
    if endpoint_url:
        parts += ["--endpoint-url", endpoint_url]
    parts += ["--image-id", params["ImageId"], "--instance-type", params["InstanceType"],
              "--count", str(params["MinCount"])]
    if "KeyName" in params:
        parts += ["--key-name", params["KeyName"]]
    if "SecurityGroupIds" in params:
        parts += ["--security-group-ids", *params["SecurityGroupIds"]]
    if "SubnetId" in params:
        parts += ["--subnet-id", params["SubnetId"]]
    if "Placement" in params:
        parts += ["--placement", f"AvailabilityZone={params['Placement']['AvailabilityZone']}"]
    if "BlockDeviceMappings" in params:
        parts += ["--block-device-mappings", json.dumps(params["BlockDeviceMappings"], separators=(",", ":"))]
    if params.get("DisableApiTermination"):
        parts += ["--disable-api-termination"]
    if "TagSpecifications" in params:
        parts += ["--tag-specifications", json.dumps(params["TagSpecifications"], separators=(",", ":"))]
    if "UserData" in params:  # a file by its name; typed text as it is (the shell keeps its newlines)
        source = params.get("_user_data_from", "typed")
        parts += ["--user-data", params["UserData"] if source == "typed" else "file://" + source]
    return " ".join(shlex.quote(p) for p in parts)


def review_text(values: dict[str, Any], image: dict, params: dict[str, Any], cmd: str) -> str:
    key = {KEY_NEW: f"a new key pair “{values.get('new_key')}” (private key into {values.get('key_folder')})",
           KEY_IMPORT: f"the public key {values.get('public_key')}, imported as “{values.get('new_key')}”",
           KEY_NONE: "no key pair: SSH login will not be possible"}.get(values.get("key_mode"),
                                                                        f"the key pair “{values.get('key')}”")
    group = (f"a new security group “{values.get('new_group')}” allowing SSH from {values.get('ssh_from')}"
             if values.get("group_mode") == GROUP_NEW else f"the security group {values.get('group')}")
    n = params["MinCount"]
    return (f"Launch {n} × {params['InstanceType']} from {image.get('Name') or image['ImageId']} "
            f"({image['ImageId']}), with {key}, and {group}"
            + (f", root volume {params['BlockDeviceMappings'][0]['Ebs']['VolumeSize']} GiB "
               f"{params['BlockDeviceMappings'][0]['Ebs']['VolumeType']}" if "BlockDeviceMappings" in params else "")
            + (", protected from termination" if params.get("DisableApiTermination") else "")
            + "?\n\nThe same from a shell" + (" (sg-NEW: the group made first)" if values.get("group_mode") == GROUP_NEW
                                                 else "") + f":\n{cmd}")


# -- the handler -------------------------------------------------------------------------------------
def _choose_image(ctx: ActionContext, ec2) -> dict:
    """The image: the one launched from, or one searched as typed among the account's own and the
    region's fetched public catalog (gridclient.catalog), newest first."""
    from gridclient.catalog import Catalog
    from providers.aws import catalog as C

    if ctx.element.kind == K.IMAGE:
        return _describe_image(ec2, ctx.element.id)
    own = ec2.describe_images(Owners=["self"]).get("Images", [])
    own = [i for i in own if i.get("State", "available") == "available"]
    cat = Catalog.at(C.db_path(ctx.paths))
    public = [C.scope(ctx.token, o) for o in C.OWNERS if cat.about(C.scope(ctx.token, o)) is not None]
    if not own and not public:  # nothing to search in: the image's id, typed (or given: --image)
        values = ctx.values if ctx.values.get("image") else ctx.interaction.ask("Launch instance", [Field(
            "image", "Image id", required=True, placeholder="ami-0123456789abcdef0",
            help="An image this account may launch in the region: its own, shared with it, or public.")],
            text="This account has no image of its own, and the region's public image catalog is not fetched "
                 "(Services → Image catalog → Fetch image catalog…, or gridclient image refresh) to search. "
                 "Launch from which image id?")
        if values is None:
            raise Cancelled()
        return _describe_image(ec2, first_word(values.get("image")))
    scopes = [C.put_own(ctx.token, ctx.paths, own), *public]
    cat.warm(scopes)  # here on the worker: the first keystroke finds every row in memory
    held = ", ".join(f"{a.total:,} {a.label}" for a in (cat.about(x) for x in public) if a) or \
        "no public images (Services → Image catalog → Fetch image catalog… adds them)"
    values = ctx.values if ctx.values.get("image") else ctx.interaction.ask("Launch instance", [Field(
        "image", "Image", kind="search", required=True, editable=False, search_from="gridclient.catalog:field_search",
        search_args=(C.db_path(ctx.paths), *scopes), placeholder="every word must appear: ubuntu noble arm64",
        help=f"Your {len(own)} image(s) and {held}, newest first.")],
        text="Launch from which image? Type to search your images and the region's public catalog.")
    if values is None:
        raise Cancelled()
    chosen = first_word(values.get("image"))
    found = next((i for i in own if i["ImageId"] == chosen), None)
    return found if found is not None else _describe_image(ec2, chosen)


def _offered(ctx: ActionContext, ec2) -> dict[str, list[str]]:
    from providers.aws.manage_access import instance_types

    keys = sorted(k["KeyName"] for k in ec2.describe_key_pairs().get("KeyPairs", []))
    groups = [f"{g['GroupId']} — {g.get('GroupName', '')}" for g in
              ec2.describe_security_groups().get("SecurityGroups", [])]
    subnets = [f"{s['SubnetId']} — {s.get('AvailabilityZone', '')}, {s.get('CidrBlock', '')}"
               for s in ec2.describe_subnets().get("Subnets", [])]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones().get("AvailabilityZones", [])
             if z.get("State", "available") == "available"]
    return {"types": instance_types(ctx.token), "keys": keys, "groups": groups, "subnets": subnets, "zones": zones}


def _short_name(image: dict) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (image.get("Name") or "instance").lower()).strip("-")
    return (base.split("-")[0] or "instance")[:20]


class _Later:
    """``fn(*args)`` on a daemon thread: one the person backs out of is left to finish alone (an
    executor's thread would be waited for when the app exits, a slow endpoint keeping it alive)."""

    def __init__(self, fn, *args):
        import threading

        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - raised again in result()
                self._error = exc
            finally:
                self._done.set()

        threading.Thread(target=run, name="launch-offered", daemon=True).start()

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


def launch(ctx: ActionContext) -> ActionResult:
    from providers.aws.errors import acting_on

    ec2 = ctx.token.client("ec2")
    # what the account offers (instance types: ~900 on AWS) is read while the person picks the image
    offered_later = _Later(_offered, ctx, ec2)
    with acting_on(ctx.elements):
        image = _choose_image(ctx, ec2)
    offered = offered_later.result()
    arch = image.get("Architecture", "x86_64")
    types = type_choices(offered["types"], arch)
    if not types:
        raise ValueError(f"This region offers no instance type for {arch} images.")
    my_cidr, why = _my_cidr(ctx)
    fields = questions(image, types, offered["keys"], offered["groups"], offered["subnets"], offered["zones"],
                       my_cidr, why, _short_name(image))
    values = ctx.interaction.ask("Launch instance", fields,
                                 text=f"From {image.get('Name') or image['ImageId']} ({image['ImageId']}, {arch}).")
    if values is None:
        raise Cancelled()
    values = {**{f.name: f.default for f in fields}, **values}  # a script may leave defaults out
    _refuse_bad(values, fields)
    # the review, with what would be made, before anything is
    planned = dict(values)
    planned["key"] = {KEY_NEW: values.get("new_key"), KEY_IMPORT: values.get("new_key"),
                      KEY_NONE: None}.get(values.get("key_mode"), values.get("key"))
    planned["group_id"] = first_word(values.get("group")) if values.get("group_mode") == GROUP_EXISTING else "sg-NEW"
    params = run_parameters(planned, image)
    cmd = command_line(params, ctx.token.region, getattr(ctx.token, "endpoint_url", None))
    if not ctx.interaction.confirm("Launch instance", review_text(values, image, params, cmd), default=True,
                                   command=cmd):
        raise Cancelled()
    made: list[str] = []
    key = _key_pair(ctx, ec2, values, made)
    group_id = _security_group(ctx, ec2, values, made)
    final = dict(values, key=key, group_id=group_id)
    params = run_parameters(final, image)
    params.pop("_user_data_from", None)  # the command line's, not EC2's
    count = params["MinCount"]
    with acting_on(ctx.elements):
        reservation = ec2.run_instances(**params)
    instances = reservation.get("Instances", [])
    ids = [i["InstanceId"] for i in instances]
    if params.get("DisableApiTermination"):
        # said again on each: some EC2-compatible servers (moto among them) ignore it in RunInstances
        for iid in ids:
            ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    if count > 1 and values.get("name"):  # web-1, web-2, …
        for n, iid in enumerate(ids, 1):
            ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": f"{values['name']}-{n}"}])
    said = f"Launched {', '.join(ids)} ({params['InstanceType']}): pending."
    if made:
        said += " Made " + " and ".join(made) + "."
    # the Computing node lists them at once, wherever the launch was started from, and their rows
    # follow them from pending to running
    from providers.aws.nodes import instance_element

    return ActionResult(message=said, refresh=f"kind:{K.COMPUTING}",
                        watch=tuple(instance_element(i) for i in instances))


def _refuse_bad(values: dict[str, Any], fields: list[Field]) -> None:
    """The same checks the form ran, for answers that came from elsewhere (a script, the console)."""
    for f in fields:
        problem = f.problem(values.get(f.name)) if f.applies(values) else ""
        if problem:
            raise ValueError(problem)


def _key_pair(ctx: ActionContext, ec2, values: dict[str, Any], made: list[str]) -> str | None:
    mode = values.get("key_mode")
    if mode == KEY_EXISTING:
        return values["key"]
    if mode == KEY_NONE:
        return None
    from gridclient.actions import ActionContext as Ctx
    from providers.aws import manage_access as M

    name = values["new_key"]
    # the Create key pair… and Import public key… actions' own handlers, with the wizard's answers
    sub = Ctx(elements=ctx.elements, vo=ctx.vo, token=ctx.token, interaction=ctx.interaction, paths=ctx.paths,
              operation=ctx.operation, workbench=ctx.workbench,
              values={"name": name, "folder": values.get("key_folder"), "source": "a file",
                      "file": values.get("public_key")})
    if mode == KEY_NEW:
        M.create_key_pair(sub)
        folder = Path(os.path.expanduser(str(values.get("key_folder") or "~/.ssh")))
        made.append(f"the key pair {name} (private key in {folder / (name + '.pem')})")
    else:
        M.import_key_pair(sub)
        ctx.remember.update(sub.remember)  # an imported key's private half beside it, for SSH login
        made.append(f"the key pair {name} (imported)")
    return name


def _security_group(ctx: ActionContext, ec2, values: dict[str, Any], made: list[str]) -> str:
    if values.get("group_mode") == GROUP_EXISTING:
        return first_word(values["group"])
    from providers.aws import access_checks as C
    from providers.aws.manage_access import permission

    name = values["new_group"]
    kwargs: dict[str, Any] = {"GroupName": name, "Description": "SSH from my address (gridclient launch)"}
    subnet = values.get("subnet") or ANY_SUBNET
    if subnet != ANY_SUBNET:
        vpc = ec2.describe_subnets(SubnetIds=[first_word(subnet)])["Subnets"][0].get("VpcId")
        if vpc:
            kwargs["VpcId"] = vpc
    gid = ec2.create_security_group(**kwargs)["GroupId"]
    net = C.parse_cidr(values["ssh_from"])
    perm = permission("tcp", "22", str(net), "SSH from my address")
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    made.append(f"the group {name} (SSH from {net})")
    return gid
