"""The AWS auth token: a boto3 Session with retries, proxy and endpoint, and its connection test.

boto3 itself is imported when a client of S3 is first made (its managed transfers are S3's):
importing it brings s3transfer and multiprocessing, ~25 ms of a command that lists instances. The
other clients come from the same botocore session, set up as boto3 sets it up (its user agent,
profile, keys and region), which boto3 then wraps (:attr:`AwsToken.session`).
"""

from __future__ import annotations

import datetime
import importlib.util
import re
import threading
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from dateutil.tz import enfold, tzlocal, tzutc

#: the timestamps of S3's and EC2's XML answers (LastModified, LaunchTime): UTC, to the second or
#: with milliseconds or microseconds
_WIRE_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?Z\Z")
_UTC = tzutc()


def parse_timestamp(value: Any) -> datetime.datetime:
    """botocore's timestamp parser, the same datetimes, without dateutil for the common form.

    botocore parses every timestamp of an answer with ``dateutil.parser.parse`` (~0.1 ms each):
    a listing of 10,000 objects spent over a second on their LastModified alone. The form S3 and
    EC2 send, ``2026-12-01T19:51:34.000Z``, is read by the standard library here, into the very
    datetime dateutil gives for it (:func:`_marked_utc`); anything else (an RFC 822 header date,
    an epoch number, another offset) goes to botocore's own parser, as before.
    """
    if isinstance(value, str) and _WIRE_UTC.match(value):
        try:
            naive = datetime.datetime.fromisoformat(value[:-1])
        except ValueError:  # February 30th: botocore's parser says why
            pass
        else:
            return _marked_utc(naive)
    return botocore_parse_timestamp(value)


def _marked_utc(naive: datetime.datetime) -> datetime.datetime:
    """What ``dateutil.parser.parse`` makes of a time marked "Z" (its zone name "UTC", offset 0):
    where the local zone is called UTC, the time in ``tzlocal()`` (folded if that names it UTC),
    else — or if the local zone does not call that moment UTC — in ``tzutc()``."""
    if "UTC" in time.tzname:
        aware = naive.replace(tzinfo=tzlocal())
        if aware.tzname() == "UTC":
            return aware
        folded = enfold(aware, fold=1)
        return folded if folded.tzname() == "UTC" else aware.replace(tzinfo=_UTC)
    return naive.replace(tzinfo=_UTC)


_VERSION_LINE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.M)


def boto3_version() -> str:
    """boto3's ``__version__``, read from its ``__init__.py`` rather than by importing it (and
    s3transfer with it); imported where that file does not say it plainly."""
    try:
        spec = importlib.util.find_spec("boto3")
        with open(spec.origin, encoding="utf-8") as fh:  # type: ignore[union-attr, arg-type]
            found = _VERSION_LINE.search(fh.read())
        if found:
            return found.group(1)
    except (OSError, ValueError, TypeError, AttributeError, ImportError):
        pass
    import boto3

    return boto3.__version__


def botocore_session(*, profile: str | None = None, key_id: str | None = None, secret: str | None = None,
                     session_token: str | None = None, region: str | None = None) -> botocore.session.Session:
    """A botocore session set up as ``boto3.session.Session(profile_name=…, aws_access_key_id=…,
    …, region_name=…)`` sets up its own — boto3's user agent, the profile, the keys, the region —
    whose clients parse timestamps with :func:`parse_timestamp`. boto3 wraps it later, unchanged
    (``boto3.session.Session(botocore_session=…)`` only adds its handlers for S3 and resources)."""
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    if session.user_agent_name == "Botocore":  # boto3.session.Session.__init__'s user agent
        botocore_info = f"Botocore/{session.user_agent_version}"
        session.user_agent_extra = f"{session.user_agent_extra} {botocore_info}" if session.user_agent_extra \
            else botocore_info
        session.user_agent_name = "Boto3"
        session.user_agent_version = boto3_version()
    if profile is not None:
        session.set_config_variable("profile", profile)
    if key_id or secret or session_token:
        session.set_credentials(key_id, secret, session_token)
    if region is not None:
        session.set_config_variable("region", region)
    return session


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
            self.botocore = botocore_session(profile=s.get("profile") or None, region=self.region)
        else:
            if not s.get("access_key_id") or not secrets.get("secret_access_key"):
                # never let boto3 fill the gap from the environment: that is another account
                raise ValueError(f"“{vo.name}” uses access keys, and needs both the access key id and "
                                 "the secret access key. Enter them in Edit → Preferences → Edit.")
            self.botocore = botocore_session(key_id=s.get("access_key_id") or None,
                                             secret=secrets.get("secret_access_key") or None,
                                             session_token=secrets.get("session_token") or None, region=self.region)
        self._session: Any = None  # the boto3 Session over self.botocore, made on first use
        self._session_lock = threading.Lock()
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

    @property
    def session(self) -> Any:
        """The boto3 Session (over :attr:`botocore`), made when first asked for."""
        with self._session_lock:
            if self._session is None:
                import boto3.session

                self._session = boto3.session.Session(botocore_session=self.botocore)
            return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.region
        with self._lock:
            c = self._clients.get((service, region))
            if c is None:
                config = self.config
                if service == "s3":  # presigned URLs in SigV4 (botocore's default for them is SigV2)
                    config = config.merge(Config(signature_version="s3v4"))
                # S3's from boto3 (its client has boto3's transfer methods); others as boto3 makes them
                make = self.session.client if service == "s3" else self.botocore.create_client
                c = make(service, region_name=region, endpoint_url=self.endpoint_url, config=config)
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
