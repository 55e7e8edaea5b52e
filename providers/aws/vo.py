"""Choices offered by the AWS VO wizard. Reads files only: no boto3 import, no network."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

# The commercial regions; EC2-compatible clouds name their own, which the wizard accepts too.
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
    "sa-east-1", "mx-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2",
    "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-east-1", "me-south-1", "me-central-1", "il-central-1", "af-south-1",
)


def region_names() -> list[str]:
    return list(AWS_REGIONS)


def is_region_name(name: str) -> bool:
    """Loose check: AWS-shaped names, or anything a private cloud might call its region."""
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", name or ""))


def profile_names() -> list[str]:
    """Profiles in ~/.aws/config and ~/.aws/credentials (honouring AWS_CONFIG_FILE and friends)."""
    names: set[str] = set()
    config = Path(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")).expanduser()
    creds = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()
    for path, is_config in ((config, True), (creds, False)):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in parser.sections():
            if is_config:
                if section == "default":
                    names.add("default")
                elif section.startswith("profile "):
                    names.add(section[len("profile "):].strip())
            else:
                names.add(section.strip())
    return sorted(names)


def validate(values: dict) -> list[str]:
    """Problems across fields the wizard shows before it lets Finish go: an unknown region on AWS
    proper, an SSH override that is no host[:port], proxy credentials without a proxy."""
    problems = []
    region = str(values.get("region") or "").strip()
    if region and not values.get("endpoint_url"):
        if region not in AWS_REGIONS:
            problems.append(f"“{region}” is not an AWS region. Pick one from the list, or set the endpoint "
                            "URL of an EC2-compatible cloud that uses this name.")
    elif region and not is_region_name(region):
        problems.append(f"“{region}” is not a region name (lower-case letters, digits and dashes).")
    url = str(values.get("endpoint_url") or "").strip()
    if url:
        problems += endpoint_url_problems(url)
    override = str(values.get("ssh_host_override") or "").strip()
    if override:
        from providers.aws.ssh_login import parse_host_port

        try:
            parse_host_port(override)
        except ValueError as exc:
            problems.append(f"SSH via host[:port]: {exc}")
    if (values.get("proxy_user") or values.get("proxy_password")) and not values.get("proxy_url"):
        problems.append("A proxy user or password is set, but no proxy: set the HTTP(S) proxy, or clear them.")
    return problems


def endpoint_url_problems(url: str) -> list[str]:
    """An endpoint URL botocore can dial: http(s), a host, a port if any that is a number."""
    from urllib.parse import urlsplit

    example = "such as https://ec2.example.org:8773/services/compute or http://localhost:5000"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when it is no number in range
    except ValueError:
        return [f"Endpoint URL: “{url}” has no valid port ({example})."]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"Endpoint URL: “{url}” is not an http:// or https:// address ({example})."]
    return []
