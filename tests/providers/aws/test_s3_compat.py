"""The ``s3`` scheme and S3's actions on S3-compatible servers that lack parts of the S3 API.

Each case is an answer a real S3-compatible server gave when gridclient was tried on it
(scripts/try_s3_endpoint.py against s3rver 3.7.1, a Node.js implementation of S3), reproduced
here by a small HTTP shim between gridclient and the shared moto server: the shim passes every
request to moto, except the ones it answers as that server did —

- UploadPartCopy: 501 NotImplemented (CopyObject works);
- AbortMultipartUpload and ListParts: 405 MethodNotAllowed; ListMultipartUploads: 501;
- ListObjectVersions: 405 MethodNotAllowed;
- DeleteObjectTagging: 501 NotImplemented, with no <Message> (PutObjectTagging with an empty tag
  set works: the shim asks moto, which answers that one with a 500, the equivalent DELETE);
  bucket tagging: 501;
- HeadObject with ``partNumber``: the parameter is ignored, the whole object is described.

What the app did is checked on moto directly (a plain boto3 client), never through the shim.
"""

from __future__ import annotations

import http.client
import http.server
import os
import threading
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.storage import Location, Storage
from gridclient.storage.transfers import TransferQueue
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws.token import AwsToken
from tests.providers.aws.test_s3_transfers import (Env, calls, hold_all_but_first, make_vo, registry,  # noqa: F401
                                                   s3transfer_cancelled, states)

pytest.importorskip("moto.server")

MiB = 1024 * 1024
BUCKET = "compat"
STORAGE = Element(K.STORAGE, "p1/aws.storage", "Storage", has_children=True, icon="storage")

NOT_IMPLEMENTED = (501, "NotImplemented", "A parameter you provided implies functionality that is not implemented")
NOT_ALLOWED = (405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


def _rule(method: str, query: dict, headers, key: str, name: str) -> bool:
    """Whether the request is the one the rule ``name`` answers in the server's stead."""
    return {
        "part_copy": method == "PUT" and "uploadId" in query and bool(headers.get("x-amz-copy-source")),
        "abort": method == "DELETE" and "uploadId" in query,
        "list_uploads": method == "GET" and "uploads" in query,
        "list_parts": method == "GET" and "uploadId" in query,
        "versions": method == "GET" and "versions" in query,
        "delete_tagging": method == "DELETE" and "tagging" in query and bool(key),
        "bucket_tagging": "tagging" in query and not key,
    }[name]


ANSWERS = {"part_copy": NOT_IMPLEMENTED, "abort": NOT_ALLOWED, "list_uploads": NOT_IMPLEMENTED,
           "list_parts": NOT_ALLOWED, "versions": NOT_ALLOWED,
           "delete_tagging": (501, "NotImplemented", None),  # s3rver says no more than the code
           "bucket_tagging": NOT_IMPLEMENTED}


class _Compat(http.server.BaseHTTPRequestHandler):
    """Forwards to moto, except what the server being imitated does not implement."""

    protocol_version = "HTTP/1.1"
    upstream: ClassVar[tuple[str, int]] = ("127.0.0.1", 0)
    lacks: ClassVar[frozenset[str]] = frozenset()
    ignore_part_number: ClassVar[bool] = False
    answered: ClassVar[list[str]] = []  # each shim gets its own subclass and list
    forwarded: ClassVar[list[str]] = []

    def log_message(self, *args):
        pass

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if not size:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self):
        body = self._body()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        _bucket, _, key = parts.path.lstrip("/").partition("/")
        for name in sorted(self.lacks):
            if _rule(self.command, query, self.headers, key, name):
                status, code, message = ANSWERS[name]
                self.answered.append(f"{self.command} {name}")
                xml = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                       + (f"<Message>{message}</Message>" if message else "") + "</Error>").encode()
                self._reply(status, xml, [("Content-Type", "application/xml")])
                return
        path, method = self.path, self.command
        if "delete_tagging" in self.lacks and method == "PUT" and "tagging" in query and b"<Tag>" not in (body or b""):
            # that server takes an empty tag set (moto answers one with a 500): moto is asked the
            # equivalent it understands
            self.answered.append("PUT empty tagging")
            method, body = "DELETE", None
        if self.ignore_part_number and method == "HEAD" and "partNumber" in query:
            self.answered.append("HEAD partNumber ignored")
            query.pop("partNumber")
            path = urlunsplit(("", "", parts.path, urlencode(query, doseq=True), ""))
        self.forwarded.append(f"{method} {path}")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                        "content-length")}
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        kept = [(k, v) for k, v in resp.getheaders()
                if k.lower() not in ("transfer-encoding", "connection", "date", "server")
                and not (k.lower() == "content-length" and self.command != "HEAD")]
        self._reply(resp.status, data, kept)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward


@pytest.fixture
def shim(moto):
    """shim(lacks=..., ignore_part_number=...) → (endpoint URL, the handler class with its logs)."""
    servers = []

    def make(lacks=(), ignore_part_number=False):
        parts = urlsplit(moto)
        handler = type("Shim", (_Compat,), {"upstream": (parts.hostname, parts.port), "lacks": frozenset(lacks),
                                            "ignore_part_number": ignore_part_number, "answered": [],
                                            "forwarded": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def s3(boto):
    """A plain client on moto itself: the setup and the checks, never through the shim."""
    client = boto("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def compat(shim, s3, registry, tmp_path):  # noqa: F811 - the fixture imported above
    """compat(lacks=..., ...) → (Env whose token talks to moto through the shim, the shim's handler)."""
    made = []

    def make(**behaviour):
        url, handler = shim(**behaviour)
        token = AwsToken(make_vo(url, "S3-compatible"), {"secret_access_key": "x"})
        tokens = {token.vo_id: token}
        queue = TransferQueue(Storage(registry, lambda vo_id: tokens[vo_id]), tmp_path / "ws" / "transfers.json")
        made.append(queue)
        return Env(token, queue.storage, queue, tmp_path, tokens), handler

    yield make
    for queue in made:
        queue.shutdown()


def _multipart_object(s3, key: str, data: bytes, part: int = 5 * MiB) -> str:
    """An object stored in parts of ``part`` bytes, as any S3 client leaves it; its ETag."""
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = []
    for n, start in enumerate(range(0, len(data), part), 1):
        etag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=n,
                              Body=data[start:start + part])["ETag"]
        done.append({"PartNumber": n, "ETag": etag})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
    return s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')


# -- copying --------------------------------------------------------------------------------------
def test_a_big_copy_on_a_server_without_uploadpartcopy_is_made_by_copyobject_on_the_server(compat, s3):
    env, server = compat(lacks={"part_copy"})
    data = os.urandom(9 * MiB)  # over the 8 MiB threshold: s3transfer copies it in parts
    s3.put_object(Bucket=BUCKET, Key="src/big.bin", Body=data)
    s3.put_object(Bucket=BUCKET, Key="src/other.bin", Body=data[::-1])
    gets = calls(env.s3, "GetObject")
    sent = calls(env.s3, "PutObject") + calls(env.s3, "UploadPart")
    part_copies = calls(env.s3, "UploadPartCopy")
    copies = calls(env.s3, "CopyObject")

    job = env.run("copy", [env.at(BUCKET, "src/big.bin")], env.at(BUCKET, "dst/"))

    assert job.state == "done", (job.message, states(job))
    assert any(a.endswith("part_copy") for a in server.answered)  # the server really said no
    assert s3.get_object(Bucket=BUCKET, Key="dst/big.bin")["Body"].read() == data
    assert gets == [] and sent == []  # still not a byte through here
    assert len(copies) == 1

    # the next big copy on that endpoint goes straight to CopyObject
    before = len(part_copies)
    job = env.run("copy", [env.at(BUCKET, "src/other.bin")], env.at(BUCKET, "dst/"))
    assert job.state == "done", (job.message, states(job))
    assert len(part_copies) == before and len(copies) == 2
    assert s3.get_object(Bucket=BUCKET, Key="dst/other.bin")["Body"].read() == data[::-1]


# -- cancelling and going on -------------------------------------------------------------------------
def test_a_cancel_whose_parts_the_server_will_not_remove_says_so_and_a_retry_starts_anew(
        compat, s3, s3transfer_cancelled):  # noqa: F811
    env, server = compat(lacks={"abort", "list_uploads", "list_parts"})
    src = env.tmp / "big.bin"
    data = os.urandom(20 * MiB)
    src.write_bytes(data)
    jobs = []
    hold_all_but_first(env.s3, "UploadPart", s3transfer_cancelled, lambda: jobs[0].cancel())

    jobs.append(env.queue.submit("upload", [Location.parse(str(src))], env.at(BUCKET, "up/")))
    job = jobs[0]
    assert env.queue.wait(job, timeout=60)

    assert "DELETE abort" in server.answered  # s3transfer asked, the server refused
    # the parts are still there (moto, asked directly, lists the upload): the job must not pass
    # for a clean cancel
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])] == ["up/big.bin"]
    [task] = job.files
    assert task.state == "failed", (job.message, states(job))
    assert "refused to remove the parts" in task.error and "MethodNotAllowed" in task.error
    assert "refused to remove the parts" in job.message
    assert "big.bin" not in {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

    # Retry: the server can list neither uploads nor parts, so the file goes up anew
    s3transfer_cancelled.set()  # nothing is held any more
    env.queue.retry(job)
    assert env.queue.wait(job, timeout=60)
    assert job.state == "done", (job.message, states(job))
    assert "GET list_parts" in server.answered
    assert s3.get_object(Bucket=BUCKET, Key="up/big.bin")["Body"].read() == data


def test_resumable_says_start_anew_when_the_server_cannot_list_uploads_or_parts(compat, s3):
    env, server = compat(lacks={"list_uploads", "list_parts"})
    scheme = env.storage.scheme("s3")
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="half.bin")["UploadId"]
    target = env.at(BUCKET, "half.bin")

    assert scheme.resumable(target, 0.0, None) is None  # ListMultipartUploads: 501
    assert scheme.resumable(target, 0.0, {"upload_id": upload_id}) is None  # ListParts: 405
    assert {"GET list_uploads", "GET list_parts"} <= set(server.answered)


# -- checking what arrived -------------------------------------------------------------------------
def test_a_multipart_download_from_a_server_that_ignores_partnumber_is_not_failed(compat, s3):
    env, server = compat(ignore_part_number=True)
    direct = compat()[0]  # the same moto, answering partNumber
    data = os.urandom(12 * MiB)
    etag = _multipart_object(s3, "mp/big.bin", data)
    assert etag.endswith("-3")  # an AWS-style multipart ETag: the MD5 of the 3 parts' MD5s
    into = env.tmp / "down"
    into.mkdir()

    job = env.run("download", [env.at(BUCKET, "mp/big.bin")], Location.parse(str(into) + "/"))

    assert "HEAD partNumber ignored" in server.answered
    assert job.state == "done", (job.message, states(job))
    assert (into / "big.bin").read_bytes() == data
    # where the server says how big part 1 is, the download is checked part by part; where it
    # ignores partNumber, the parts' size is unknown: no check (the size is), rather than one
    # that fails good bytes
    scheme = direct.storage.scheme("s3")
    assert scheme.checker(scheme.stat(direct.at(BUCKET, "mp/big.bin"))).part_size == 5 * MiB
    scheme = env.storage.scheme("s3")
    assert scheme.checker(scheme.stat(env.at(BUCKET, "mp/big.bin"))) is None


# -- S3's own actions ------------------------------------------------------------------------------
@pytest.fixture
def bench(shim, s3, app_paths, keyring_backend):
    """bench(lacks=...) → (Workbench with a VO whose endpoint is the shim, the VO, the shim's handler),
    and the object ``doc.txt`` tagged project=atlas in the bucket."""
    from gridclient.registry import ExtensionRegistry

    s3.put_object(Bucket=BUCKET, Key="doc.txt", Body=b"doc", Tagging="project=atlas")
    made = []

    def make(**behaviour):
        url, handler = shim(**behaviour)
        wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
        made.append(wb)
        vo = wb.save_vo("Compat", "aws", {"region": "us-east-1", "credential_mode": "keys",
                                          "access_key_id": "AKIDTEST", "secret_access_key": "x",
                                          "endpoint_url": url})
        return wb, vo, handler

    yield make
    for wb in made:
        wb.close()


def _element(wb, vo, parent: Element, label: str) -> Element:
    [found] = [e for e in wb.children(vo, parent) if e.label == label]
    return found


def _run(wb, vo, action_id: str, element: Element, interaction=None):
    return wb.actions.run(action_id, [element], vo, interaction or ScriptedInteraction(), timeout=60)


def test_details_on_a_server_without_versions_still_shows_the_rest(bench):
    wb, vo, server = bench(lacks={"versions"})
    obj = _element(wb, vo, _element(wb, vo, STORAGE, BUCKET), "doc.txt")

    outcome = _run(wb, vo, "aws.s3.details", obj)

    assert outcome.state == "done", outcome.message
    assert "GET versions" in server.answered
    assert outcome.properties["ContentLength"] == 3 and outcome.properties["Tag:project"] == "atlas"
    assert "keeps no versions" in outcome.properties["Versions"]


def test_versions_on_a_server_without_them_says_so_in_a_sentence(bench):
    wb, vo, _server = bench(lacks={"versions"})
    obj = _element(wb, vo, _element(wb, vo, STORAGE, BUCKET), "doc.txt")

    outcome = _run(wb, vo, "aws.s3.versions", obj)

    assert outcome.state == "failed"
    assert outcome.message.startswith("This server keeps no object versions (ListObjectVersions: MethodNotAllowed)")


def test_clearing_an_objects_tags_on_a_server_without_deleteobjecttagging(bench, s3):
    wb, vo, server = bench(lacks={"delete_tagging"})
    obj = _element(wb, vo, _element(wb, vo, STORAGE, BUCKET), "doc.txt")

    outcome = _run(wb, vo, "aws.s3.tags", obj, ScriptedInteraction(ask_answers=[{"tags": ""}]))

    assert outcome.state == "done", outcome.message
    assert server.answered == ["DELETE delete_tagging", "PUT empty tagging"]
    assert s3.get_object_tagging(Bucket=BUCKET, Key="doc.txt")["TagSet"] == []


def test_bucket_tags_on_a_server_without_them_fail_in_a_sentence(bench, s3):
    wb, vo, _server = bench(lacks={"bucket_tagging"})
    bucket = _element(wb, vo, STORAGE, BUCKET)

    outcome = _run(wb, vo, "aws.s3.tags", bucket, ScriptedInteraction(ask_answers=[{"tags": "a=1"}]))

    assert outcome.state == "failed"
    assert outcome.message == "This server does not offer tags on buckets (GetBucketTagging: NotImplemented)."
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=BUCKET)  # nothing was set


def test_a_server_that_implements_everything_is_not_taken_for_one_that_does_not(compat, s3):
    """Through a shim that passes everything: moto's own answers keep the S3 paths (UploadPartCopy,
    the multipart check)."""
    env, server = compat()
    data = os.urandom(9 * MiB)
    s3.put_object(Bucket=BUCKET, Key="a.bin", Body=data)
    part_copies = calls(env.s3, "UploadPartCopy")
    job = env.run("copy", [env.at(BUCKET, "a.bin")], env.at(BUCKET, "b/"))
    assert job.state == "done", (job.message, states(job))
    assert len(part_copies) == 2 and server.answered == []
