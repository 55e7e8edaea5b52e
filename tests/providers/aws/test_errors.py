"""Test connection against endpoints that differ from AWS: moto behind a small forwarding shim
that plays a cloud without STS (Eucalyptus, OpenStack's EC2 API) or a server whose clock differs
from ours, and a proxy that refuses. Every request goes over real HTTP through boto3."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gridclient.workbench import Workbench
from tests.providers.aws.test_listing import make_vo

ERROR = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
         "<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>")


class Shim:
    """Forwards every request to moto, except what ``answer(body)`` answers itself."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.answer = lambda body: None  # -> (status, xml) or None
        self.expected_auth: str | None = None
        self.seen: list[bytes] = []
        self.proxy_auth: list[str | None] = []  # Proxy-Authorization of requests sent to us as a proxy
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                shim.seen.append(body)
                target = shim.upstream + self.path
                if self.path.startswith("http://"):  # asked as an HTTP proxy: absolute URL
                    shim.proxy_auth.append(self.headers.get("Proxy-Authorization"))
                    target = self.path
                    if shim.proxy_auth[-1] != shim.expected_auth:  # as squid answers
                        page = b"<html><body><h1>407 Proxy Authentication Required</h1></body></html>"
                        self.send_response(407)
                        self.send_header("Proxy-Authenticate", 'Basic realm="shim"')
                        self.send_header("Content-Type", "text/html")
                        self.send_header("Content-Length", str(len(page)))
                        self.end_headers()
                        self.wfile.write(page)
                        return
                own = shim.answer(body)
                if own is not None:
                    status, payload = own[0], own[1].encode()
                    headers = {"Content-Type": "text/xml"}
                else:
                    req = urllib.request.Request(target, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() not in ("host", "proxy-authorization")})
                    try:
                        with urllib.request.urlopen(req) as r:
                            status, payload, headers = r.status, r.read(), dict(r.headers)
                    except urllib.error.HTTPError as e:
                        status, payload, headers = e.code, e.read(), dict(e.headers)
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() in ("content-type", "x-amzn-requestid"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shim(moto):
    s = Shim(moto)
    yield s
    s.close()


@pytest.fixture
def wb(app_paths, keyring_backend):
    w = Workbench(app_paths)
    yield w
    w.close()


def explained(wb, vo) -> str:
    try:
        result = wb.tokens.test(vo)
    except Exception as exc:  # noqa: BLE001
        return wb.tokens.explain(vo, exc)
    raise AssertionError(f"the connection test passed: {result}")


def test_endpoint_without_sts_falls_back_to_describe_regions(wb, shim, boto):
    shim.answer = lambda body: ((400, ERROR.format(code="InvalidAction", message="GetCallerIdentity is not valid"))
                                if b"Action=GetCallerIdentity" in body else None)
    vo = make_vo(wb, shim.url, name="No STS")
    result = wb.tokens.test(vo)
    regions = boto("ec2").describe_regions()["Regions"]
    assert "endpoint answers EC2 DescribeRegions" in result and f"({len(regions)} regions" in result
    assert any(b"Action=GetCallerIdentity" in b for b in shim.seen)  # STS was tried first
    assert any(b"Action=DescribeRegions" in b for b in shim.seen)


def test_a_refused_key_is_not_hidden_by_the_fallback(wb, shim):
    shim.answer = lambda body: (403, ERROR.format(code="InvalidClientTokenId",
                                                  message="The security token included in the request is invalid."))
    vo = make_vo(wb, shim.url, name="Bad key")
    assert "access key id or secret access key was not accepted" in explained(wb, vo)
    assert not any(b"Action=DescribeRegions" in b for b in shim.seen)


@pytest.mark.parametrize("code, message", [
    # what STS says when the request's time is off by more than 15 minutes
    ("SignatureDoesNotMatch", "Signature expired: 20261123T100000Z is now earlier than 20261123T101500Z "
                              "(20261123T103000Z - 15 min.)"),
    ("RequestExpired", "Request has expired."),  # EC2
])
def test_clock_skew_is_named_as_such(wb, shim, code, message):
    shim.answer = lambda body: (403, ERROR.format(code=code, message=message))
    vo = make_vo(wb, shim.url, name="Skewed")
    msg = explained(wb, vo)
    assert "clock" in msg and "not accepted" not in msg


def test_a_proxy_that_refuses_is_named(wb, moto):
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    vo = make_vo(wb, moto, name="Proxied", proxy_url=f"http://127.0.0.1:{port}")
    msg = explained(wb, vo)
    assert "proxy refused the connection" in msg and f"127.0.0.1:{port}" in msg


def test_a_proxy_with_user_and_password_carries_the_requests(wb, shim, moto):
    import base64

    shim.expected_auth = "Basic " + base64.b64encode(b"alice:pr0xy-s3cret").decode()
    vo = make_vo(wb, moto, name="Via proxy", proxy_url=shim.url, proxy_user="alice",
                 proxy_password="pr0xy-s3cret")
    assert "proxy_password" in vo.secret_fields  # kept in the keyring, not in the VO file
    assert "Connected" in wb.tokens.test(vo)
    assert shim.proxy_auth and all(a == shim.expected_auth for a in shim.proxy_auth)
    # a wrong password: the proxy says 407 and the person is told it is the proxy
    wrong = make_vo(wb, moto, name="Wrong proxy pw", proxy_url=shim.url, proxy_user="alice",
                    proxy_password="guess")
    msg = explained(wb, wrong)
    assert "proxy user and password" in msg and "HTTP 407" in msg, msg


def test_a_proxy_password_never_reaches_a_message_a_log_or_a_file(wb, app_paths, moto, caplog):
    import logging

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    vo = make_vo(wb, moto, name="Secret proxy", proxy_url=f"http://127.0.0.1:{port}", proxy_user="alice",
                 proxy_password="pr0xy-pw-XYZ")
    caplog.set_level(logging.DEBUG)
    msg = explained(wb, vo)
    assert "proxy refused the connection" in msg and f"http://127.0.0.1:{port}" in msg
    assert "pr0xy-pw-XYZ" not in msg and "alice" not in msg
    # through the Workbench's own paths too: a listing that fails, an operation that fails
    from gridclient.elements import Element

    try:
        wb.children(vo, Element("aws.computing", "x", "Computing", has_children=True))
    except Exception as exc:  # noqa: BLE001
        assert "pr0xy-pw-XYZ" not in wb.tokens.explain(vo, exc)
    assert "pr0xy-pw-XYZ" not in caplog.text
    wb.cache.close()
    for path in app_paths.config.parent.rglob("*"):
        if path.is_file():
            assert b"pr0xy-pw-XYZ" not in path.read_bytes(), path


def test_an_error_without_a_message_is_still_explained():
    """An S3-compatible server (s3rver) answers some requests with a code and no message."""
    from botocore.exceptions import ClientError

    from providers.aws.errors import explain

    exc = ClientError({"Error": {"Code": "NotImplemented", "Message": None},
                       "ResponseMetadata": {"HTTPStatusCode": 501}}, "DeleteObjectTagging")
    said = explain(exc)
    assert isinstance(said, str) and "NotImplemented" in said
