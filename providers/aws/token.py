"""The AWS auth token: a boto3 Session with retries, proxy and endpoint, and its connection test."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError


def _proxy_with_auth(url: str, user: str, password: str) -> str:
    if not url or not user:
        return url
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class AwsToken:
    """Turns a VO (settings + secrets) into clients. Thread-safe: one client per service/region."""

    def __init__(self, vo: Any, secrets: dict[str, str]):
        s = dict(vo.settings)
        self.vo_id = vo.id
        self.vo_name = vo.name
        self.region = s.get("region") or "us-east-1"
        self.endpoint_url = (s.get("endpoint_url") or "").strip() or None
        self.settings = s
        if s.get("credential_mode") == "profile":
            self.session = boto3.session.Session(profile_name=s.get("profile") or None,
                                                 region_name=self.region)
        else:
            if not s.get("access_key_id") or not secrets.get("secret_access_key"):
                # never let boto3 fill the gap from the environment: that is another account
                raise ValueError(f"“{vo.name}” uses access keys, and needs both the access key id and "
                                 "the secret access key. Enter them in Edit → Preferences → Edit.")
            self.session = boto3.session.Session(
                aws_access_key_id=s.get("access_key_id") or None,
                aws_secret_access_key=secrets.get("secret_access_key") or None,
                aws_session_token=secrets.get("session_token") or None,
                region_name=self.region,
            )
        proxy = _proxy_with_auth((s.get("proxy_url") or "").strip(), s.get("proxy_user") or "",
                                 secrets.get("proxy_password") or "")
        self.config = Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=20,
            proxies={"http": proxy, "https": proxy} if proxy else None,
            s3={"addressing_style": "path"} if self.endpoint_url else None,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.region
        with self._lock:
            c = self._clients.get((service, region))
            if c is None:
                config = self.config
                if service == "s3":  # presigned URLs in SigV4 (botocore's default for them is SigV2)
                    config = config.merge(Config(signature_version="s3v4"))
                c = self.session.client(service, region_name=region, endpoint_url=self.endpoint_url,
                                        config=config)
                self._clients[(service, region)] = c
            return c

    def __repr__(self) -> str:  # never show credentials
        return f"<AwsToken {self.vo_name!r} region={self.region} endpoint={self.endpoint_url}>"


def test_connection(token: AwsToken) -> str:
    """STS GetCallerIdentity; where the endpoint has no STS, EC2 DescribeRegions."""
    try:
        ident = token.client("sts").get_caller_identity()
        return f"Connected as {ident.get('Arn', '?')} (account {ident.get('Account', '?')})."
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # credentials problems are real answers; only "no STS here" falls through
        if not token.endpoint_url or code not in ("InvalidAction", "UnknownOperation", "NotImplemented",
                                                  "UnsupportedOperation", "404") and status not in (404, 501):
            raise
    except EndpointConnectionError:
        if not token.endpoint_url:
            raise
    except BotoCoreError:
        raise
    regions = token.client("ec2").describe_regions().get("Regions", [])
    names = ", ".join(r["RegionName"] for r in regions[:5])
    return f"Connected: the endpoint answers EC2 DescribeRegions ({len(regions)} regions: {names})."
