"""What the AWS "SSH login…" action needs, without Qt: user, address and key of an instance.

The action handler (providers/aws/actions.py:ssh_login) describes the instance and its image,
calls :func:`build_target`, asks the person for a user name when the image does not tell,
and returns the :class:`~gridclient.ssh.SSHTarget` as the action's terminal to open.
"""

from __future__ import annotations

import os
import re

from gridclient.keys import key_path
from gridclient.paths import AppPaths
from gridclient.ssh import SSHTarget
from providers.aws.nodes import name_tag

# (pattern, user): the first family whose pattern matches the image's name, then its
# description, then the platform details, gives the login user of the stock images.
_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"amazon\s*linux|\bamzn|\bal20\d\d\b|\bal2\b"), "ec2-user"),
    (re.compile(r"ubuntu"), "ubuntu"),
    (re.compile(r"debian"), "admin"),
    (re.compile(r"centos"), "centos"),
    (re.compile(r"\brhel|red\s*hat"), "ec2-user"),
    (re.compile(r"fedora"), "ec2-user"),
    (re.compile(r"suse|\bsles\b"), "ec2-user"),
)


def guess_user(image_name: str, image_description: str = "", platform_details: str = "") -> str | None:
    """The login user of a stock image family, or None when the image does not tell."""
    for text in (image_name, image_description, platform_details):
        text = (text or "").lower()
        if not text:
            continue
        if "windows" in text:
            return None
        for pattern, user in _FAMILIES:
            if pattern.search(text):
                return user
    return None


def parse_host_port(value: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    value = value.strip()
    port_text = ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"“{value}” is not a valid host[:port]: write IPv6 addresses as [address]:port.")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    else:
        host = value  # a name, an IPv4 address, or a bare IPv6 address (no port)
    host = host.strip()
    if not host or any(c.isspace() for c in host) or "/" in host or "@" in host:
        raise ValueError(f"“{value}” is not a valid host[:port] for SSH, e.g. bastion.example.org:2222.")
    if not port_text:
        return host, 22
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError(f"“{port_text}” in “{value}” is not a port number (1–65535).")
    return host, port


def instance_address(instance: dict, override: str = "") -> tuple[str, int]:
    """(host, port) to reach an instance: the override if set, else its public then private IP."""
    if override and override.strip():
        return parse_host_port(override)
    for key in ("PublicIpAddress", "PrivateIpAddress"):
        if instance.get(key):
            return str(instance[key]), 22
    state = (instance.get("State") or {}).get("Name", "unknown")
    name = instance.get("InstanceId") or "The instance"
    raise ValueError(
        f"{name} has no IP address (state: {state}). Wait until it is running, "
        "or set “SSH via host[:port]” in the VO's settings.")


def build_target(instance: dict, image: dict | None, vo_id: str, settings: dict, paths: AppPaths,
                 remembered_user: str | None) -> tuple[SSHTarget, bool]:
    """The SSH target of an instance and whether the user name still has to be asked.

    Raises ValueError (a sentence for the person) when the instance has no address to log into.
    """
    host, port = instance_address(instance, str((settings or {}).get("ssh_host_override", "") or ""))
    image = image or {}
    user = (remembered_user or "").strip() or guess_user(
        str(image.get("Name", "")), str(image.get("Description", "")),
        str(instance.get("PlatformDetails") or image.get("PlatformDetails") or ""))
    key_file = None
    if instance.get("KeyName"):
        try:
            found = key_path(paths, vo_id, str(instance["KeyName"]))
        except ValueError:
            found = None  # a key pair name the store cannot hold: fall back to agent/default keys
        key_file = str(found) if found else None
        # else the private key beside a public key imported as this key pair (Import public key…)
        beside = ((settings or {}).get("key_files") or {}).get(str(instance["KeyName"]))
        if key_file is None and isinstance(beside, str) and os.path.isfile(beside):
            key_file = beside
    label = name_tag(instance.get("Tags")) or str(instance.get("InstanceId", "")) or host
    target = SSHTarget(host=host, port=port, user=user or None, key_file=key_file, label=label)
    return target, not user


_PRINTED = re.compile(r"-----BEGIN SSH HOST KEY FINGERPRINTS-----(.*?)-----END SSH HOST KEY FINGERPRINTS-----",
                      re.S)
_SHA256 = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def printed_fingerprints(console: str) -> tuple[str, ...]:
    """The SHA256 host key fingerprints cloud-init printed between its BEGIN/END SSH HOST KEY
    FINGERPRINTS lines (the last such block: a reboot prints them again)."""
    blocks = _PRINTED.findall(console or "")
    return tuple(dict.fromkeys(_SHA256.findall(blocks[-1]))) if blocks else ()


def console_fingerprints(ec2, instance_id: str) -> tuple[str, ...] | None:
    """What the instance printed of its host keys, or None when its console output cannot be read."""
    from providers.aws.manage_access import readable_console

    try:
        raw = ec2.get_console_output(InstanceId=instance_id).get("Output") or ""
    except Exception:  # noqa: BLE001 - no check to offer, not a failed login
        return None
    return printed_fingerprints(readable_console(raw))
