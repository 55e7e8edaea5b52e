"""Handlers of the access actions: key pairs, security groups and their rules, tags on EC2
elements, an instance's type, termination protection and console output.

Qt-free, like :mod:`providers.aws.actions`: the core's ActionRunner runs each as a background
Operation; a handler talks to the person only through ``ctx.interaction``, raises ``ValueError``
(a sentence) for what it refuses and :class:`Cancelled` when the person backs out, and returns a
message or an :class:`ActionResult`. What is checked as typed is in
:mod:`providers.aws.access_checks`.

Private keys: the key material EC2 returns is written 0600 where the person chose (never over a
file that exists) and into the app's key store (:mod:`gridclient.keys`) under the VO, so "SSH
login…" finds it by the instance's key pair name. It is never logged, told or returned.

Over 500 lines: seven small families of handlers (key pairs, groups, rules, the caller's address,
tags, instance settings, console output) that share the checks and the EC2 error handling, one
section each.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from gridclient.actions import ActionContext, ActionResult, Cancelled
from gridclient.interaction import Field
from providers.aws import access_checks as C
from providers.aws import kinds as K

log = logging.getLogger(__name__)

CHECKS = "providers.aws.access_checks"


def _ec2(ctx: ActionContext, element=None):
    """EC2 in the region the element (else the action's elements) was listed in; else the VO's."""
    from providers.aws.regions import ec2_for

    return ec2_for(ctx, element)


def _names(elements) -> str:
    return ", ".join(e.label for e in elements[:5]) + (" …" if len(elements) > 5 else "")


def _code(exc: BaseException) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def _client_error():
    from botocore.exceptions import ClientError

    return ClientError


# == key pairs ==================================================================================
def write_private_key(path: Path, pem: str) -> None:
    """A new file, mode 0600 from the start; never over one that exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (pem.strip() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def create_key_pair(ctx: ActionContext) -> ActionResult:
    """Create a key pair; its private key saved 0600 in the chosen folder and held by the app."""
    from gridclient.keys import key_path, store_key

    name = str(ctx.values.get("name") or "")
    problem = C.key_name_problem(name)
    if problem:
        raise ValueError(f"“{name}” cannot name a key pair: {problem}")
    key_type = str(ctx.values.get("type") or "ed25519")
    folder = Path(os.path.expanduser(str(ctx.values.get("folder") or "~/.ssh").strip() or "~/.ssh"))
    target = folder / f"{name}.pem"
    if target.exists():
        raise ValueError(f"{target} exists already, and a private key is never written over: choose "
                         "another name or folder.")
    held = key_path(ctx.paths, ctx.vo.id, name)
    if held is not None:
        raise ValueError(f"The app holds the private key of an earlier key pair “{name}” ({held}); "
                         "instances launched with it still need it. Choose another name.")
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise ValueError(f"The folder {folder} cannot be made: {exc.strerror or exc}.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"You may not write into {folder}: choose another folder.")
    ec2 = _ec2(ctx)
    kwargs: dict[str, Any] = {"KeyName": name}
    if key_type != "rsa":  # RSA is the default, and the only type some EC2-compatible clouds know
        kwargs["KeyType"] = key_type
    try:
        made = ec2.create_key_pair(**kwargs)
    except _client_error() as exc:
        if _code(exc) == "InvalidKeyPair.Duplicate":
            raise ValueError(f"A key pair named “{name}” exists already in {ctx.token.region}: "
                             "choose another name.") from None
        raise
    pem = made.get("KeyMaterial") or ""
    try:
        store_key(ctx.paths, ctx.vo.id, name, pem)
    except Exception as exc:  # its private key would be lost: the key pair goes again
        ec2.delete_key_pair(KeyName=name)
        raise ValueError(f"The private key of “{name}” could not be kept ({type(exc).__name__}), so the "
                         "key pair was deleted again.") from None
    try:
        write_private_key(target, pem)
    except OSError as exc:
        ctx.interaction.notify("warning", "Create key pair",
                               f"The key pair “{name}” is made and the app holds its private key, so SSH "
                               f"login works, but {target} could not be written: {exc.strerror or exc}.")
        return ActionResult(message=f"Made the key pair {name}; its private key is held by the app only.",
                            refresh="self")
    return ActionResult(message=f"Made the key pair {name}: its private key is in {target} (readable by "
                                "you only) and held by the app for SSH login.", refresh="self")


def import_key_pair(ctx: ActionContext) -> ActionResult:
    """Import a public key (a .pub file or pasted text) as a key pair."""
    name = str(ctx.values.get("name") or "")
    problem = C.key_name_problem(name)
    if problem:
        raise ValueError(f"“{name}” cannot name a key pair: {problem}")
    from_file = ctx.values.get("source", "a file") == "a file"
    path = os.path.expanduser(str(ctx.values.get("file") or "").strip())
    try:
        line = C.read_public_key_file(path) if from_file else C.parse_public_key(ctx.values.get("text", ""))
    except (ValueError, OSError) as exc:
        raise ValueError(f"No public key imported: {exc}") from None
    try:
        _ec2(ctx).import_key_pair(KeyName=name, PublicKeyMaterial=line.encode())
    except _client_error() as exc:
        if _code(exc) == "InvalidKeyPair.Duplicate":
            raise ValueError(f"A key pair named “{name}” exists already in {ctx.token.region}: "
                             "choose another name.") from None
        raise
    message = f"Imported the {line.split()[0]} key as the key pair {name}."
    private = path[:-4] if from_file and path.endswith(".pub") else ""
    if private and os.path.isfile(private):
        files = dict(ctx.vo.settings.get("key_files") or {})
        files[name] = private
        ctx.remember["key_files"] = files  # SSH login on its instances uses the private key beside it
        message += f" SSH login on instances launched with it uses {private}."
    return ActionResult(message=message, refresh="self")


def delete_key_pairs(ctx: ActionContext) -> ActionResult:
    """Delete key pairs (EC2 forgets their public keys; instances launched with them keep them)."""
    from gridclient.keys import key_path

    ec2 = _ec2(ctx)
    held = []
    for e in ctx.elements:
        name = str(e.properties.get("KeyName") or e.label)
        ec2.delete_key_pair(KeyName=name)
        try:
            if key_path(ctx.paths, ctx.vo.id, name) is not None:
                held.append(name)
        except ValueError:
            pass
    message = f"Deleted the key pair{'s' if len(ctx.elements) > 1 else ''} {_names(ctx.elements)}."
    if held:
        message += (f" The app keeps the private key of {', '.join(held)}: instances launched with "
                    f"{'them' if len(held) > 1 else 'it'} still accept it.")
    return ActionResult(message=message)


def show_public_key(ctx: ActionContext) -> ActionResult:
    """Show public key: the key pair's public key as EC2 keeps it (DescribeKeyPairs with
    IncludePublicKey), in a tab of its own, and its fingerprint; both into Properties."""
    from providers.aws.errors import acting_on

    e = ctx.element
    name = str(e.properties.get("KeyName") or e.label)
    with acting_on(ctx.elements):
        pairs = _ec2(ctx).describe_key_pairs(KeyNames=[name], IncludePublicKey=True).get("KeyPairs", [])
    pair = next((p for p in pairs if p.get("KeyName") == name), None)
    if pair is None:
        from gridclient.actions import ElementGone

        raise ElementGone(f"The key pair {name} no longer exists in {ctx.token.region}.")
    public = str(pair.get("PublicKey") or "").strip()
    if not public:
        raise ValueError(f"The endpoint gave no public key for the key pair {name} (it may not know "
                         f"IncludePublicKey); its fingerprint is {pair.get('KeyFingerprint', '?')}.")
    kind = str(pair.get("KeyType") or public.split()[0])
    fingerprint = str(pair.get("KeyFingerprint") or "")
    return ActionResult(message=f"Key pair {name}: {kind}, fingerprint {fingerprint or 'not given'}.",
                        text=public, title=f"{name}.pub",
                        properties={"KeyName": name, "KeyPairId": pair.get("KeyPairId", ""), "KeyType": kind,
                                    "KeyFingerprint": fingerprint, "PublicKey": public})


# == security groups ============================================================================
def _all_groups(ec2) -> list[dict]:
    return [g for page in ec2.get_paginator("describe_security_groups").paginate()
            for g in page.get("SecurityGroups", [])]


def _vpc_label(vpc: dict) -> str:
    from providers.aws.nodes import name_tag

    name = name_tag(vpc.get("Tags"))
    return " · ".join(x for x in (vpc["VpcId"], name, vpc.get("CidrBlock", ""),
                                  "default" if vpc.get("IsDefault") else "") if x)


def create_security_group(ctx: ActionContext) -> ActionResult:
    """A new group (in the VPC the person picks when the account has several), optionally with
    SSH allowed from the caller's address."""
    name = str(ctx.values.get("name") or "").strip()
    description = str(ctx.values.get("description") or "").strip() or name
    for what, problem in (("name", C.group_name_problem(name)), ("description", C.description_problem(description))):
        if problem:
            raise ValueError(f"The group's {what} will not do: {problem}")
    ec2 = _ec2(ctx)
    vpcs = ec2.describe_vpcs().get("Vpcs", [])
    kwargs: dict[str, Any] = {"GroupName": name, "Description": description}
    if len(vpcs) > 1:
        vpcs.sort(key=lambda v: (not v.get("IsDefault"), v["VpcId"]))
        choices = {_vpc_label(v): v["VpcId"] for v in vpcs}
        answer = ctx.interaction.ask("Create security group", [Field(
            "vpc", "VPC", kind="choice", choices=tuple(choices), default=next(iter(choices)), editable=True)],
            text=f"This account has {len(vpcs)} VPCs. Which one is “{name}” for? A group protects "
                 "instances of its own VPC only.")
        if answer is None:
            raise Cancelled()
        picked = str(answer.get("vpc") or "").strip()
        kwargs["VpcId"] = choices.get(picked) or (picked if picked in choices.values() else "")
        if not kwargs["VpcId"]:
            raise ValueError(f"“{picked}” is none of this account's VPCs: {', '.join(choices.values())}.")
    elif vpcs:
        kwargs["VpcId"] = vpcs[0]["VpcId"]
    try:
        gid = ec2.create_security_group(**kwargs)["GroupId"]
    except _client_error() as exc:
        if _code(exc) == "InvalidGroup.Duplicate":
            raise ValueError(f"A security group named “{name}” exists already there: choose another "
                             "name.") from None
        raise
    message = f"Made the security group {name} ({gid})."
    if ctx.values.get("ssh"):
        message += " " + _allow_ssh(ctx, gid, name)
    return ActionResult(message=message, refresh="self")


def _group_users(ec2, gid: str, groups: list[dict]) -> list[str]:
    """What keeps a group from being deleted, each with its remedy: instances in it, groups whose
    rules name it."""
    from providers.aws.nodes import name_tag

    users = []
    states = ["pending", "running", "stopping", "stopped", "shutting-down"]
    found = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": "instance.group-id", "Values": [gid]}, {"Name": "instance-state-name", "Values": states}]):
        for res in page.get("Reservations", []):
            for inst in res.get("Instances", []):
                found.append(name_tag(inst.get("Tags")) or inst["InstanceId"])
    if found:
        them = "them" if len(found) > 1 else "it"
        users.append(f"in use by the instance{'s' if len(found) > 1 else ''} {', '.join(sorted(found)[:5])}"
                     f"{' …' if len(found) > 5 else ''} (terminate {them} or give {them} another group first)")
    naming = sorted({g.get("GroupName") or g["GroupId"] for g in groups if g["GroupId"] != gid and any(
        pair.get("GroupId") == gid for key in ("IpPermissions", "IpPermissionsEgress")
        for perm in g.get(key) or () for pair in perm.get("UserIdGroupPairs") or ())})
    if naming:
        users.append(f"named in rules of the group{'s' if len(naming) > 1 else ''} {', '.join(naming)} "
                     "(remove those rules first)")
    return users


def delete_security_groups(ctx: ActionContext) -> ActionResult:
    """Delete groups that nothing uses. What uses the others is looked up first and said plainly;
    the confirmation comes after that, naming only what will be deleted."""
    ec2 = _ec2(ctx)
    groups = _all_groups(ec2)
    known = {g["GroupId"]: g for g in groups}
    selected = {e.id for e in ctx.elements}
    free, refused = [], []
    for e in ctx.elements:
        group = known.get(e.id)
        if group is None:
            refused.append(f"“{e.label}” no longer exists (refresh with F5).")
        elif group.get("GroupName") == "default":
            refused.append(f"“{e.label}” is its VPC's default group, which cannot be deleted.")
        elif users := _group_users(ec2, e.id, [g for g in groups if g["GroupId"] not in selected]):
            refused.append(f"“{e.label}” is {' and '.join(users)}.")
        else:
            free.append(e)
    if not free:
        raise ValueError(("Nothing was deleted. " if len(ctx.elements) > 1 else "") + " ".join(refused))
    text = f"Delete the security group{'s' if len(free) > 1 else ''} {_names(free)}?"
    if refused:
        text += " Kept: " + " ".join(refused)
    if not ctx.interaction.confirm("Delete security group", text):
        raise Cancelled()
    deleted = []
    for e in free:
        try:
            ec2.delete_security_group(GroupId=e.id)
        except _client_error() as exc:  # in use by what we could not see: an interface, another account
            if _code(exc) not in ("DependencyViolation", "InvalidGroup.InUse", "CannotDelete"):
                raise
            msg = exc.response.get("Error", {}).get("Message", "")
            refused.append(f"“{e.label}” is in use ({msg or _code(exc)}): by a network interface, an "
                           "instance or another group's rule.")
            continue
        deleted.append(e.label)
    if not deleted:
        raise ValueError(" ".join(refused))
    message = f"Deleted the security group{'s' if len(deleted) > 1 else ''} {', '.join(deleted)}."
    if refused:
        message += " Kept: " + " ".join(refused)
    return ActionResult(message=message)


# -- rules --------------------------------------------------------------------------------------
def _authorize(ec2, gid: str, outbound: bool, perm: dict) -> bool:
    """Add one rule; False when the group has it already."""
    call = ec2.authorize_security_group_egress if outbound else ec2.authorize_security_group_ingress
    try:
        call(GroupId=gid, IpPermissions=[perm])
    except _client_error() as exc:
        if _code(exc) == "InvalidPermission.Duplicate":
            return False
        raise
    return True


def permission(protocol: str, ports: str, other: str, description: str = "") -> dict:
    """The IpPermissions entry of one rule from what the form holds (checked again here)."""
    proto = {"all": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}.get(protocol)
    if proto is None:
        raise ValueError(f"“{protocol}” is no protocol here: tcp, udp, icmp or all.")
    other = other.strip()
    problem = C.source_problem(other)
    if problem:
        raise ValueError(f"The other end will not do: {problem}")
    perm: dict[str, Any] = {"IpProtocol": proto}
    if proto in ("tcp", "udp"):
        perm["FromPort"], perm["ToPort"] = C.parse_ports(ports)
    elif proto == "icmp":
        perm["FromPort"], perm["ToPort"] = -1, -1  # every type and code
    end: dict[str, Any]
    if other.startswith("sg-"):
        end = {"GroupId": other}
        key = "UserIdGroupPairs"
    else:
        net = C.parse_cidr(other)
        key, field = ("IpRanges", "CidrIp") if net.version == 4 else ("Ipv6Ranges", "CidrIpv6")
        if net.version == 6 and proto == "icmp":
            perm["IpProtocol"] = "icmpv6"  # ICMP over IPv6 is its own protocol (58)
        end = {field: str(net)}
    if description:
        end["Description"] = description
    perm[key] = [end]
    return perm


def add_rule(ctx: ActionContext) -> ActionResult:
    from providers.aws.errors import acting_on
    from providers.aws.nodes import rule_label

    v = ctx.values
    group = ctx.element
    outbound = v.get("direction") == "outbound"
    description = str(v.get("description") or "").strip()
    problem = C.description_problem(description)
    if problem:
        raise ValueError(f"The description will not do: {problem}")
    perm = permission(str(v.get("protocol") or "tcp"), str(v.get("ports") or ""), str(v.get("source") or ""),
                      description)
    other = (perm.get("IpRanges") or perm.get("Ipv6Ranges") or perm.get("UserIdGroupPairs"))[0]
    shown = other.get("CidrIp") or other.get("CidrIpv6") or other.get("GroupId")
    if shown == group.id:
        shown = "this group"  # as the group's rule rows say it
    # what `gridclient sg rule-remove GROUP RULE` takes back: the direction, then the row's label
    text = f"{'outbound' if outbound else 'inbound'} {rule_label(perm, shown, outbound)}"
    with acting_on(ctx.elements):
        added = _authorize(_ec2(ctx), group.id, outbound, perm)
    if not added:
        return ActionResult(message=f"{group.label} has the rule {text} already: nothing changed.", refresh="self")
    return ActionResult(message=f"Added {text} to {group.label}.", refresh="self")


def remove_rules(ctx: ActionContext) -> ActionResult:
    """Revoke the selected rules, grouped into one call per group and direction."""
    from providers.aws.errors import acting_on

    ec2 = _ec2(ctx)
    calls: dict[tuple[str, str], list[dict]] = {}
    for e in ctx.elements:
        calls.setdefault((e.ref["group_id"], e.ref["direction"]), []).append(e.ref["permission"])
    unknown = 0
    with acting_on(ctx.elements):
        for (gid, direction), perms in calls.items():
            call = ec2.revoke_security_group_egress if direction == "outbound" else ec2.revoke_security_group_ingress
            # AWS answers a rule it does not have with InvalidPermission.NotFound, or (VPC groups,
            # newer API versions) with success and the rule in UnknownIpPermissions
            unknown += len(call(GroupId=gid, IpPermissions=perms).get("UnknownIpPermissions") or ())
    if unknown:
        from gridclient.actions import ElementGone

        raise ElementGone(f"{unknown} of the rules {_names(ctx.elements)} no longer existed: they were removed "
                          "outside this app. The list they were in is reloaded.")
    return ActionResult(message=removed_message(ctx.elements))


def removed_message(rules) -> str:
    """"Removed inbound tcp 22 from 0.0.0.0/0 from web.": the rules as Add rule… words them (the
    direction, then the row's label), then their group; few named, many counted."""
    def listed(items: list[str]) -> str:
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"

    by_group: dict[str, list[str]] = {}
    for e in rules:
        group = e.ref.get("group_name") or e.ref.get("group_id", "?")
        by_group.setdefault(group, []).append(f"{e.ref.get('direction', '')} {e.label}".strip())
    if len(rules) > 5:
        return f"Removed {len(rules)} rules from {', '.join(by_group)}."
    return "Removed " + "; ".join(f"{listed(named)} from {group}" for group, named in by_group.items()) + "."


def _proxies(ctx: ActionContext) -> dict[str, str] | None:
    config = getattr(ctx.token, "config", None)
    return getattr(config, "proxies", None) or None


def _allow_ssh(ctx: ActionContext, gid: str, label: str) -> str:
    """Find the caller's address, have the person confirm or type it, allow TCP 22 from it."""
    url = ctx.vo.settings.get("public_address_url", C.CHECKIP_URL)
    found, why = "", ""
    if url:
        try:
            found = C.address_as_cidr(C.public_address(url, C.CHECKIP_TIMEOUT, _proxies(ctx)))
        except Exception as exc:  # noqa: BLE001 - offline, blocked, a strange answer: the person types it
            why = C.why_not(exc, C.CHECKIP_TIMEOUT)
    where = url.split("/")[2] if "://" in url else "the address service"
    if found:
        seen = f"{where} sees this computer as" if "://" in url else "This computer's address is"
        text = (f"{seen} {found.split('/')[0]}. Allow SSH (TCP 22) into “{label}” from this address, or "
                "change it (a network as a CIDR):")
    elif url:
        text = (f"Your public address could not be found ({where}: {why}). Type it, as a CIDR "
                f"(203.0.113.7/32 for one address), to allow SSH (TCP 22) into “{label}” from it:")
    else:
        text = f"Type your public address, as a CIDR (203.0.113.7/32 for one address), to allow SSH into “{label}”:"
    answer = ctx.interaction.ask("Allow SSH from my address", [Field(
        "cidr", "Allow SSH from", required=True, default=found, placeholder="203.0.113.7/32",
        check=f"{CHECKS}:cidr_problem", help="IPv4 or IPv6, one address (/32, /128) or a network.")], text=text)
    if answer is None:
        raise Cancelled()
    net = C.parse_cidr(answer.get("cidr", ""))
    perm = permission("tcp", "22", str(net), "SSH from my address")
    if not _authorize(_ec2(ctx), gid, False, perm):
        return f"SSH from {net} is allowed into {label} already."
    return f"SSH is allowed into {label} from {net}."


def allow_ssh_from_me(ctx: ActionContext) -> ActionResult:
    from providers.aws.errors import acting_on

    with acting_on(ctx.elements):
        return ActionResult(message=_allow_ssh(ctx, ctx.element.id, ctx.element.label), refresh="self")


# == tags on any EC2 element ====================================================================
#: kinds whose row is labelled by their Name tag: editing it renames the row
NAMED_BY_TAG = {K.INSTANCE, K.VOLUME}


def _resource_id(e) -> str:
    if e.kind == K.KEYPAIR:
        rid = str(e.properties.get("KeyPairId") or (e.id if e.id.startswith("key-") else ""))
        if not rid:
            raise ValueError(f"This cloud gives the key pair “{e.label}” no id, and tags are set by id.")
        return rid
    return e.id


def edit_tags(ctx: ActionContext) -> ActionResult:
    """Edit an instance's, image's, volume's, snapshot's, group's or key pair's tags as k=v; k=v."""
    from providers.aws.errors import acting_on

    e = ctx.element
    rid = _resource_id(e)
    ec2 = _ec2(ctx)
    with acting_on(ctx.elements):
        current = {t["Key"]: t.get("Value", "") for page in ec2.get_paginator("describe_tags").paginate(
            Filters=[{"Name": "resource-id", "Values": [rid]}]) for t in page.get("Tags", [])}
    answer = ctx.interaction.ask("Edit tags", [Field(
        "tags", "Tags", default="; ".join(f"{k}={v}" for k, v in current.items()),
        placeholder="Name=web-1; project=atlas", check=f"{CHECKS}:ec2_tags_problem",
        help="key=value pairs separated by “;”. Name is what the tree shows for instances and volumes.")],
        text=f"Tags of {e.label} ({rid})")
    if answer is None:
        raise Cancelled()
    wanted = {t["Key"]: t["Value"] for t in C.parse_ec2_tags(answer.get("tags", ""))}
    changed = [{"Key": k, "Value": v} for k, v in wanted.items() if current.get(k) != v]
    removed = [{"Key": k} for k in current if k not in wanted]
    with acting_on(ctx.elements):
        if changed:
            ec2.create_tags(Resources=[rid], Tags=changed)
        if removed:
            ec2.delete_tags(Resources=[rid], Tags=removed)
    if not changed and not removed:
        return ActionResult(message=f"The tags of {e.label} are unchanged.", refresh="")
    parts = [f"{len(changed)} set"] if changed else []
    parts += [f"{len(removed)} removed"] if removed else []
    message = f"Tags of {e.label} saved ({', '.join(parts)})."
    if e.kind in NAMED_BY_TAG and wanted.get("Name", "") != current.get("Name", ""):
        message += f" It is shown as {wanted.get('Name') or e.id} now."
    return ActionResult(message=message, refresh="parent")  # the row's label and Properties follow


# == instances ==================================================================================
_TYPES: dict[tuple[str, str], tuple[float, list[dict]]] = {}
_TYPES_LOCK = threading.Lock()
TYPES_FOR = 24 * 3600.0  # DescribeInstanceTypes answers the same all day


def instance_types(token, region: str | None = None) -> list[dict]:
    """Every instance type of the region (the token's by default: name, vCPUs, memory,
    architectures), asked once a day per endpoint and region: the full answer is large (about 900
    types on AWS)."""
    region = region or token.region
    key = (token.endpoint_url or "aws", region)
    with _TYPES_LOCK:
        hit = _TYPES.get(key)
        if hit and time.monotonic() - hit[0] < TYPES_FOR:
            return hit[1]
    kept = _types_file(token, key)
    found = _read_types(kept)
    if found is None:
        found = []
        for page in token.client("ec2", region=region).get_paginator("describe_instance_types").paginate():
            for t in page.get("InstanceTypes", []):
                found.append({"name": t["InstanceType"],
                              "vcpus": (t.get("VCpuInfo") or {}).get("DefaultVCpus"),
                              "memory": (t.get("MemoryInfo") or {}).get("SizeInMiB"),
                              "archs": list((t.get("ProcessorInfo") or {}).get("SupportedArchitectures") or ())})
        _keep_types(kept, found)
    with _TYPES_LOCK:
        _TYPES[key] = (time.monotonic(), found)
    return found


def _types_file(token, key: tuple[str, str]):
    """Where the region's instance types are kept between runs (a command line is a new process
    each time: ~3 s of paging on every vm boot): the info cache, by endpoint and region; None
    where the token has no app paths."""
    import hashlib

    paths = getattr(token, "app_paths", None)
    if paths is None:
        return None
    return paths.cache / "instance-types" / (hashlib.sha256("\n".join(key).encode()).hexdigest()[:24] + ".json")


def _read_types(path) -> list[dict] | None:
    """The kept types, if written less than :data:`TYPES_FOR` ago and readable; else None."""
    import json

    try:
        if path is None or time.time() - path.stat().st_mtime >= TYPES_FOR:
            return None
        found = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None  # not there, or damaged: asked again, and written again
    if not isinstance(found, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in found):
        return None
    return found


def _keep_types(path, found: list[dict]) -> None:
    import json

    from gridclient.workspace import atomic_write_text

    if path is None or not found:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(found, separators=(",", ":")))
    except OSError as exc:
        log.info("instance types not kept: %s", exc)


def _type_label(t: dict) -> str:
    from providers.aws.nodes import gib_text

    mem = t.get("memory")
    return f"{t['name']} — {t.get('vcpus') or '?'} vCPU, {gib_text(mem) if mem else '? GiB'}"


def _describe(ctx: ActionContext, e) -> dict:
    from providers.aws.errors import acting_on

    with acting_on([e]):
        return _ec2(ctx).describe_instances(InstanceIds=[e.id])["Reservations"][0]["Instances"][0]


def change_instance_type(ctx: ActionContext) -> ActionResult:
    """Change a stopped instance's type to one of its architecture."""
    e = ctx.element
    inst = _describe(ctx, e)
    state = (inst.get("State") or {}).get("Name", "")
    if state != "stopped":
        raise ValueError(f"{e.label} is {state}: its type can change only while it is stopped. Stop it first.")
    current, arch = inst.get("InstanceType", ""), inst.get("Architecture") or "x86_64"
    from providers.aws.nodes import type_order

    from providers.aws.regions import region_of

    region = region_of(e) or ctx.token.region
    types = sorted((t for t in instance_types(ctx.token, region) if not t["archs"] or arch in t["archs"]),
                   key=lambda t: type_order(t["name"]))
    labels = {_type_label(t): t["name"] for t in types}
    if current not in labels.values():
        labels = {current: current, **labels}
    default = next(label for label, name in labels.items() if name == current)
    answer = ctx.interaction.ask("Change instance type", [Field(
        "type", "Instance type", kind="choice", choices=tuple(labels), default=default, editable=False,
        help=f"The {len(labels)} types of {region} for {arch}.")],
        text=f"{e.label} is a {current} ({arch}).")
    if answer is None:
        raise Cancelled()
    chosen = labels.get(str(answer.get("type")), str(answer.get("type") or "").split(" —")[0].strip())
    if chosen not in labels.values():
        raise ValueError(f"“{chosen}” is no instance type of {region} for {arch}.")
    if chosen == current:
        return ActionResult(message=f"{e.label} is a {current} already: nothing changed.", refresh="")
    from providers.aws.errors import acting_on

    with acting_on(ctx.elements):
        _ec2(ctx).modify_instance_attribute(InstanceId=e.id, InstanceType={"Value": chosen})
    return ActionResult(message=f"{e.label} is a {chosen} now (was {current}); it runs as one when started.")


def protected(ec2, instance_id: str) -> bool:
    answer = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")
    return bool((answer.get("DisableApiTermination") or {}).get("Value"))


HOW_TO_UNPROTECT = "right-click it → Termination protection…, untick “Protect from termination”, then terminate."


def termination_protection(ctx: ActionContext) -> ActionResult:
    """Turn termination protection on or off (ModifyInstanceAttribute DisableApiTermination)."""
    from providers.aws.errors import acting_on

    with acting_on(ctx.elements):
        now = {e.id: protected(_ec2(ctx, e), e.id) for e in ctx.elements}
    if len(set(now.values())) == 1:
        told = f"Termination protection is {'on' if any(now.values()) else 'off'} for {_names(ctx.elements)}."
    else:
        told = "Termination protection now: " + "; ".join(
            f"{e.label} {'on' if now[e.id] else 'off'}" for e in ctx.elements[:10]) + "."
    answer = ctx.interaction.ask("Termination protection", [Field(
        "protect", "Protect from termination", kind="bool", default=all(now.values()),
        help="While on, Terminate refuses the instance (here and in every other client).")],
        text=told)
    if answer is None:
        raise Cancelled()
    want = bool(answer.get("protect"))
    with acting_on(ctx.elements):
        for e in ctx.elements:
            if now[e.id] != want:
                _ec2(ctx, e).modify_instance_attribute(InstanceId=e.id, DisableApiTermination={"Value": want})
    return ActionResult(message=f"Termination protection is {'on' if want else 'off'} for {_names(ctx.elements)}.",
                        properties={"DisableApiTermination": want})


def refuse_protected(ctx: ActionContext) -> None:
    """Before Terminate: ValueError naming the protected instances, and how to turn it off."""
    found = []
    for e in ctx.elements:
        try:
            if protected(_ec2(ctx, e), e.id):
                found.append(e.label)
        except _client_error() as exc:
            if "NotFound" in _code(exc):
                raise
            return  # may not read the attribute: TerminateInstances itself will refuse, told as below
    if found:
        raise ValueError(protected_message(found))


def protected_message(labels: list[str]) -> str:
    several = len(labels) > 1
    return (f"{', '.join(labels)} {'are' if several else 'is'} protected from termination: nothing was "
            f"terminated. To terminate {'them' if several else 'it'}, turn protection off first: {HOW_TO_UNPROTECT}")


# -- console output ------------------------------------------------------------------------------
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def readable_console(raw: str) -> str:
    """EC2's base64 console output as text: decoded, terminal escapes and stray controls removed."""
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        data = raw.encode("utf-8", "replace")  # an EC2-compatible cloud that sends it as text
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def console_output(ctx: ActionContext) -> ActionResult:
    """The instance's console output (the last 64 KB EC2 keeps), for a read-only tab."""
    from providers.aws.errors import acting_on

    e = ctx.element
    with acting_on(ctx.elements):
        out = _ec2(ctx).get_console_output(InstanceId=e.id)
    text = readable_console(out.get("Output") or "")
    if not text.strip():
        return ActionResult(message=f"{e.label} has no console output yet: EC2 keeps it from a few minutes "
                                    "after the instance starts.")
    stamp = out.get("Timestamp")
    when = f" as of {stamp:%Y-%m-%d %H:%M %Z}".rstrip() if hasattr(stamp, "strftime") else ""
    return ActionResult(message=f"Console output of {e.label}{when}.", text=text, title=f"Console: {e.label}")
