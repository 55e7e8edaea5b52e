"""What the access actions check as the person types (a Field's ``check``: value → a sentence of
what is wrong, or ""), and the parsing behind those checks: key pair and group names, CIDRs,
ports, public keys, EC2 tags, the caller's public address.

Pure Python and light: a form imports this on the GUI thread, so nothing here imports boto3.
The handlers are in :mod:`providers.aws.manage_access`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import struct
from typing import Any

# -- names --------------------------------------------------------------------------------------
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+=@-]{0,254}$")
# what EC2 allows in a VPC security group's name and description, and in a rule's description
EC2_TEXT = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")


def key_name_problem(value: Any) -> str:
    """A key pair name EC2 takes and the app's key store can hold as a file name."""
    name = str(value)
    if not name.strip():
        return "a name is needed."
    if name != name.strip():
        return "no spaces at the beginning or the end."
    if len(name) > 255:
        return f"at most 255 characters ({len(name)} now)."
    if not KEY_NAME.match(name) or name.endswith("."):
        return ("letters, digits, spaces and . _ - + = @ only, beginning with a letter or a digit and "
                "not ending with “.”.")
    return ""


def group_name_problem(value: Any) -> str:
    name = str(value).strip()
    if not name:
        return "a name is needed."
    if len(name) > 255:
        return f"at most 255 characters ({len(name)} now)."
    if name.lower().startswith("sg-"):
        return "“sg-” begins group ids, not names."
    if not EC2_TEXT.match(name):
        return "letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * only."
    return ""


def description_problem(value: Any) -> str:
    text = str(value).strip()
    if len(text) > 255:
        return f"at most 255 characters ({len(text)} now)."
    if not EC2_TEXT.match(text):
        return "letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * only."
    return ""


# -- addresses, ports ---------------------------------------------------------------------------
def parse_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPv4 or IPv6 network; a bare address is that one address (/32, /128). ValueError in words."""
    text = str(value).strip()
    if not text:
        raise ValueError("an address like 203.0.113.7/32 or 2001:db8::/64 is needed.")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"“{text}” is no IPv4 or IPv6 address or CIDR, like 203.0.113.7/32 or "
                         "2001:db8::/64.") from None
    raise ValueError(f"“{text}” has bits set after the /{loose.prefixlen}: the network is {loose}, "
                     f"one address is {text.split('/')[0]}/{loose.max_prefixlen}.")


def cidr_problem(value: Any) -> str:
    try:
        parse_cidr(value)
    except ValueError as exc:
        return str(exc)
    return ""


GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")


def source_problem(value: Any) -> str:
    """A CIDR (IPv4/IPv6) or another security group's id."""
    text = str(value).strip()
    if text.startswith("sg-"):
        return "" if GROUP_ID.match(text) else f"“{text}” is no group id (sg- and 8 or 17 hex digits)."
    return cidr_problem(text)


def parse_ports(value: Any) -> tuple[int, int]:
    """"22", "8000-8080" (or with “–”), "all" → (from, to)."""
    text = str(value).strip().replace("–", "-").replace(" ", "")
    if text.lower() in ("all", "*", "0-65535"):
        return 0, 65535
    m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", text)
    if not m:
        raise ValueError(f"“{value}” is no port or range: write 22, 8000-8080 or all.")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
        raise ValueError("ports are 0 to 65535.")
    if lo > hi:
        raise ValueError(f"the range {lo}-{hi} runs backwards: write {hi}-{lo}.")
    return lo, hi


def ports_problem(value: Any) -> str:
    try:
        parse_ports(value)
    except ValueError as exc:
        return str(exc)
    return ""


# -- public keys --------------------------------------------------------------------------------
KEY_TYPES = ("ssh-rsa", "ssh-ed25519")  # what EC2's ImportKeyPair takes
PUBLIC_KEY_LIMIT = 16 * 1024


def _blob_algorithm(blob: bytes) -> str:
    if len(blob) < 4:
        return ""
    (n,) = struct.unpack(">I", blob[:4])
    return blob[4:4 + n].decode("ascii", "replace") if 0 < n < 64 else ""


def parse_public_key(text: Any) -> str:
    """One OpenSSH public key line (``ssh-ed25519 AAAA… comment``) from an OpenSSH line or an
    RFC 4716 (“---- BEGIN SSH2 PUBLIC KEY ----”) block; ValueError says what is wrong."""
    text = str(text or "").strip()
    if not text:
        raise ValueError("a public key is needed: the one line of a .pub file, ssh-ed25519 AAAA…")
    if "PRIVATE KEY" in text:
        raise ValueError("this is a PRIVATE key: it never leaves your computer. Give the public key "
                         "(the .pub file beside it).")
    comment = ""
    if text.startswith("---- BEGIN SSH2 PUBLIC KEY ----"):
        body, in_header = [], False
        for line in text.splitlines()[1:]:
            line = line.strip()
            if line.startswith("---- END SSH2 PUBLIC KEY ----"):
                break
            if in_header or (":" in line and not body):
                in_header = line.endswith("\\")
                continue
            body.append(line)
        b64 = "".join(body)
    else:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if len(lines) != 1:
            raise ValueError(f"one key only: this holds {len(lines)} lines.")
        parts = lines[0].split(None, 2)
        if len(parts) < 2:
            raise ValueError("write it as OpenSSH does: type, key, comment (ssh-ed25519 AAAA… me@host).")
        if parts[0] not in KEY_TYPES and not parts[0].startswith(("ecdsa-", "ssh-dss", "sk-")):
            raise ValueError(f"“{parts[0][:30]}” is no public key type (ssh-ed25519, ssh-rsa).")
        b64 = parts[1]
        comment = parts[2].strip() if len(parts) > 2 else ""
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key's text is damaged (not base64): copy the whole line again.") from None
    algorithm = _blob_algorithm(blob)
    if algorithm.startswith(("ecdsa-", "ssh-dss", "sk-")):
        raise ValueError(f"EC2 takes RSA and ED25519 keys only; this is {algorithm}.")
    if algorithm not in KEY_TYPES:
        raise ValueError("the key's text is damaged: it does not hold an RSA or ED25519 key.")
    if not text.startswith("----") and algorithm != text.split(None, 1)[0]:
        raise ValueError(f"the line says {text.split(None, 1)[0]}, but the key is {algorithm}.")
    return " ".join(x for x in (algorithm, b64, comment) if x)


def public_key_problem(value: Any) -> str:
    try:
        parse_public_key(value)
    except ValueError as exc:
        return str(exc)
    return ""


def read_public_key_file(path: Any) -> str:
    """The key line of a .pub file (ValueError in words: missing, too large, not a public key)."""
    name = os.path.expanduser(str(path).strip())
    if not name:
        raise ValueError("a file is needed.")
    if not os.path.isfile(name):
        raise ValueError(f"there is no file {name}.")
    if os.path.getsize(name) > PUBLIC_KEY_LIMIT:
        raise ValueError(f"{name} is too large for a public key.")
    with open(name, encoding="utf-8", errors="replace") as fh:
        return parse_public_key(fh.read())


def public_key_file_problem(value: Any) -> str:
    try:
        read_public_key_file(value)
    except (ValueError, OSError) as exc:
        return str(exc)
    return ""


# -- EC2 tags -----------------------------------------------------------------------------------
def parse_ec2_tags(text: Any) -> list[dict]:
    """S3's "k=v; k2=v2" parsing (providers.aws.s3_actions.parse_tags), with EC2's own limits."""
    from providers.aws.s3_actions import parse_tags

    tags = parse_tags(str(text))
    if len(tags) > 50:
        raise ValueError(f"at most 50 tags ({len(tags)} now).")
    for t in tags:
        if t["Key"].lower().startswith("aws:"):
            raise ValueError(f"“{t['Key']}”: keys beginning with “aws:” are AWS's own.")
    return tags


def ec2_tags_problem(value: Any) -> str:
    try:
        parse_ec2_tags(value)
    except ValueError as exc:
        return str(exc)
    return ""


# -- the caller's public address ----------------------------------------------------------------
CHECKIP_URL = "https://checkip.amazonaws.com"
CHECKIP_TIMEOUT = 4.0


def public_address(url: str = CHECKIP_URL, timeout: float = CHECKIP_TIMEOUT,
                   proxies: dict[str, str] | None = None) -> str:
    """This computer's public address as ``url`` sees it (one short GET). Raises OSError or
    ValueError; :func:`why_not` turns those into words."""
    import urllib.request

    handler = urllib.request.ProxyHandler(proxies) if proxies else urllib.request.ProxyHandler()
    opener = urllib.request.build_opener(handler)
    with opener.open(urllib.request.Request(url, headers={"User-Agent": "gridclient"}), timeout=timeout) as resp:
        text = resp.read(100).decode("ascii", "replace").strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError("the answer was not an address") from None


def why_not(exc: BaseException, timeout: float = CHECKIP_TIMEOUT) -> str:
    """Why the address could not be found, in a few words, never naming a proxy's credentials."""
    import socket
    import urllib.error

    reason = getattr(exc, "reason", exc) if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, urllib.error.HTTPError):
        return f"the service answered HTTP {exc.code}"
    if isinstance(reason, ValueError):
        return str(reason)
    if isinstance(reason, OSError) and getattr(reason, "strerror", None):
        return str(reason.strerror).lower()
    return type(reason).__name__


def address_as_cidr(address: str) -> str:
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"
