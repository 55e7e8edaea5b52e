"""The AWS auth token: its clients as boto3 makes them (one botocore session, boto3's user agent,
S3's with boto3's transfer methods), boto3 imported only for S3, and timestamps parsed into the
very datetimes botocore's own parser gives."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from gridclient.workspace import VirtualOrganization
from providers.aws.token import AwsToken, parse_timestamp
from tests.qt_free import ROOT

STAMPS = ["2026-12-01T19:51:34.000Z", "2026-12-01T19:51:34Z", "2026-12-01T19:51:34.123456Z", "2026-12-01T19:51:34.1Z",
          "2026-12-01T19:51:34.123+00:00", "2026-12-01T19:51:34+02:00", "Tue, 01 Dec 2026 19:51:34 GMT", "1700000000",
          1700000000, 1700000000.5, "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999999Z",
          "2026-03-29T01:30:00.000Z", "2026-10-25T01:30:00.000Z", "2026-11-01T06:30:00Z"]
BAD = ["2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z", "yesterday"]


def same(a, b) -> bool:
    return (a == b and repr(a) == repr(b) and a.tzname() == b.tzname() and a.utcoffset() == b.utcoffset()
            and a.fold == b.fold)


@pytest.mark.parametrize("zone", ["", "UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
def test_timestamps_parse_into_what_botocores_parser_gives(zone, monkeypatch):
    if zone:
        monkeypatch.setenv("TZ", zone)
    else:
        monkeypatch.delenv("TZ", raising=False)
    time.tzset()
    try:
        for value in STAMPS:
            assert same(parse_timestamp(value), botocore_parse_timestamp(value)), value
        for value in BAD:
            with pytest.raises(ValueError) as ours:
                parse_timestamp(value)
            with pytest.raises(ValueError) as theirs:
                botocore_parse_timestamp(value)
            assert str(ours.value) == str(theirs.value)
    finally:
        monkeypatch.undo()
        time.tzset()


def make_token(endpoint: str = "http://127.0.0.1:9") -> AwsToken:
    vo = VirtualOrganization(name="T", type="aws", settings={
        "region": "eu-west-1", "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": endpoint})
    return AwsToken(vo, {"secret_access_key": "x", "session_token": "tok"})


def test_clients_are_as_boto3_makes_them():
    import boto3

    token = make_token()
    ec2, s3 = token.client("ec2"), token.client("s3")
    plain = boto3.session.Session(aws_access_key_id="AKIDTEST", aws_secret_access_key="x", aws_session_token="tok",
                                  region_name="eu-west-1")
    for ours, service in ((ec2, "ec2"), (s3, "s3")):
        theirs = plain.client(service, endpoint_url=token.endpoint_url, config=ours.meta.config)
        assert ours.meta.config.user_agent == theirs.meta.config.user_agent
        assert ours.meta.region_name == theirs.meta.region_name == "eu-west-1"
        mine, boto3s = ours._request_signer._credentials, theirs._request_signer._credentials
        assert (mine.access_key, mine.secret_key, mine.token) == (boto3s.access_key, boto3s.secret_key, boto3s.token)
        assert hasattr(ours, "download_file") == hasattr(theirs, "download_file") == (service == "s3")
    assert token.session._session is token.botocore  # one botocore session: its data loaded once
    assert ec2.meta.events is not None and token.client("ec2") is ec2


def test_listing_instances_does_not_import_boto3():
    code = ("import sys; from tests.providers.aws.test_token import make_token; make_token().client('ec2'); "
            "print(sorted(m for m in ('boto3', 's3transfer', 'multiprocessing') if m in sys.modules))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"
