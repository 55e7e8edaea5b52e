"""The transfer queue with the AWS provider's ``s3`` scheme, against a real moto server over HTTP.

A real ExtensionRegistry with the aws provider registered as an installed one, an ``AwsToken``
pointed at moto, real files under tmp_path, a real TransferQueue and its state file. What went over
the wire is observed with botocore's own event hooks on the token's client (the client the scheme
uses); a corrupted download goes through a real HTTP shim between the client and moto.

Cancelling "in the middle" is made deterministic without sleeps: one request of the managed
transfer goes through and cancels the job, the others wait in a botocore hook until s3transfer has
really cancelled the transfer (its coordinator says so in its debug log), so the transfer cannot
finish before the cancel reaches it.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from gridclient.registry import ExtensionRegistry
from gridclient.storage import Entry, Location, Storage
from gridclient.storage.transfers import FileTask, Job, TransferQueue, part_path
from gridclient.workspace import VirtualOrganization
from providers.aws.token import AwsToken
from tests.fixtures.workspace import load_provider

pytest.importorskip("moto.server")

MiB = 1024 * 1024


def make_vo(endpoint: str, name: str = "T") -> VirtualOrganization:
    return VirtualOrganization(name=name, type="aws", settings={
        "region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": endpoint})


def make_token(endpoint: str, name: str = "T") -> AwsToken:
    return AwsToken(make_vo(endpoint, name), {"secret_access_key": "x"})


@dataclass
class Env:
    token: AwsToken
    storage: Storage
    queue: TransferQueue
    tmp: Path
    tokens: dict

    @property
    def s3(self):
        """The very client the s3 scheme uses (one per token and region)."""
        return self.token.client("s3")

    def at(self, bucket: str, path: str = "", token: AwsToken | None = None) -> Location:
        return Location("s3", (token or self.token).vo_id, bucket, path)

    def run(self, *args, **kw) -> Job:
        job = self.queue.submit(*args, **kw)
        assert self.queue.wait(job, timeout=60), f"the job did not end: {job.state} {job.message}"
        return job


@pytest.fixture
def registry():
    reg = ExtensionRegistry()
    load_provider(reg, "aws", "providers.aws:manifest")
    return reg


@pytest.fixture
def env(moto, registry, tmp_path):
    token = make_token(moto)
    tokens = {token.vo_id: token}
    storage = Storage(registry, lambda vo_id: tokens[vo_id])
    queue = TransferQueue(storage, tmp_path / "ws" / "transfers.json")
    for bucket in ("bucket-one", "bucket-two"):
        token.client("s3").create_bucket(Bucket=bucket)
    yield Env(token, storage, queue, tmp_path, tokens)
    queue.shutdown()


def calls(client, operation: str, event: str = "before-parameter-build") -> list[dict]:
    """Every ``operation`` call the client makes from now on, with its API parameters."""
    seen: list[dict] = []
    client.meta.events.register(f"{event}.s3.{operation}", lambda params=None, **kw: seen.append(dict(params or {})))
    return seen


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*")}


def keys(client, bucket: str, prefix: str = "") -> dict[str, int]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", ())})
    return out


def states(job: Job) -> list[tuple[str, str, str]]:
    return [(t.label, t.state, t.error) for t in job.files]


# -- holding a managed transfer in the middle -------------------------------------------------------

class _Log(logging.Handler):
    def __init__(self, event: threading.Event):
        super().__init__(logging.DEBUG)
        self.event = event

    def emit(self, record):
        if "cancel(" in record.getMessage():
            self.event.set()


@pytest.fixture
def s3transfer_cancelled():
    """An Event set when s3transfer has cancelled a managed transfer."""
    event = threading.Event()
    logger = logging.getLogger("s3transfer.futures")
    handler, level = _Log(event), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield event
    logger.removeHandler(handler)
    logger.setLevel(level)


def hold_all_but_first(client, operation: str, release: threading.Event, first_done) -> None:
    """Let the first ``operation`` request through and call ``first_done`` after it; every other
    one waits (at most 30 s) until ``release`` is set."""
    lock, first = threading.Lock(), []

    def before(params=None, **kw):
        with lock:
            mine = not first
            if mine:
                first.append(params)
        if not mine:
            release.wait(30)

    def after(**kw):
        with lock:
            if len(first) == 1:
                first.append("done")
                run_it = True
            else:
                run_it = False
        if run_it:
            first_done()

    client.meta.events.register(f"before-parameter-build.s3.{operation}", before)
    client.meta.events.register(f"after-call.s3.{operation}", after)


# -- uploads and downloads --------------------------------------------------------------------------

def test_a_folder_goes_up_in_parts_and_comes_back_byte_for_byte(env):
    src = env.tmp / "src"
    (src / "sub").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "small.txt").write_bytes(b"hello\n" * 100)
    (src / "sub" / "big.bin").write_bytes(os.urandom(20 * MiB))
    parts = calls(env.s3, "UploadPart")

    up = env.run("upload", [Location.parse(str(src) + "/")], env.at("bucket-one", "backup/"))

    assert up.state == "done", (up.message, states(up))
    assert keys(env.s3, "bucket-one") == {"backup/src/small.txt": 600, "backup/src/sub/big.bin": 20 * MiB,
                                          "backup/src/empty/": 0}
    head = env.s3.head_object(Bucket="bucket-one", Key="backup/src/sub/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # 20 MiB in 8 MiB parts
    assert sorted(p["PartNumber"] for p in parts) == [1, 2, 3]
    assert env.s3.list_multipart_uploads(Bucket="bucket-one").get("Uploads", []) == []

    dst = env.tmp / "dst"
    dst.mkdir()
    down = env.run("download", [env.at("bucket-one", "backup/src/")], Location.parse(str(dst) + "/"))

    assert down.state == "done", (down.message, states(down))
    assert tree(dst) == {"src/", "src/small.txt", "src/sub/", "src/sub/big.bin", "src/empty/"}
    for rel in ("small.txt", "sub/big.bin"):
        assert sha256(dst / "src" / rel) == sha256(src / rel), rel
    assert down.renamed == []


# moto cannot store a key holding "\n" over HTTP (its router answers 404), so the control
# characters here are a tab and a terminal escape
HOSTILE = ["../../escape.txt", "/abs.txt", "a/../../b.txt", "x\\..\\y.txt", "tab\there.txt",
           "esc\x1b[2J.txt", "n" * 296 + ".txt"]


def test_hostile_keys_all_land_inside_the_target_and_are_listed_as_renamed(env):
    for i, key in enumerate(HOSTILE + ["plain.txt"]):
        env.s3.put_object(Bucket="bucket-one", Key=key, Body=f"body {i}: {key!r}".encode())
    stored = keys(env.s3, "bucket-one")
    assert set(stored) == set(HOSTILE) | {"plain.txt"}  # the server kept every key as given
    target = env.tmp / "one" / "two" / "target"  # so that "../.." stays under tmp_path, where we look
    target.mkdir(parents=True)
    (env.tmp / "ws").mkdir(exist_ok=True)
    before = tree(env.tmp) - {p for p in tree(env.tmp) if p.startswith("ws/")}
    around = set(os.listdir(env.tmp.parent))
    abs_there = os.path.exists("/abs.txt")

    job = env.run("download", [env.at("bucket-one", "")], Location.parse(str(target) + "/"))

    assert job.state == "done", (job.message, states(job))
    after = {p for p in tree(env.tmp) if not p.startswith("ws/")}
    assert {p for p in after - before if not p.startswith("one/two/target/")} == set()
    assert set(os.listdir(env.tmp.parent)) == around
    assert os.path.exists("/abs.txt") == abs_there
    bodies = sorted(p.read_bytes() for p in target.rglob("*") if p.is_file())
    assert bodies == sorted(f"body {i}: {k!r}".encode() for i, k in enumerate(HOSTILE + ["plain.txt"]))
    assert (target / "plain.txt").read_bytes() == f"body {len(HOSTILE)}: 'plain.txt'".encode()
    assert sorted(t.source.location.path for t in job.renamed) == sorted(HOSTILE)
    assert all(t.renamed for t in job.renamed)
    for t in job.files:  # every target the queue chose is inside the folder
        assert target.resolve() in Path(t.target.path).resolve().parents
    assert f"{len(HOSTILE)} names changed" in job.message


# -- cancelling -------------------------------------------------------------------------------------

def test_cancel_in_the_middle_of_a_multipart_upload_leaves_no_parts_and_no_object(env, s3transfer_cancelled):
    big = env.tmp / "big.bin"
    big.write_bytes(os.urandom(64 * MiB))
    jobs: list[Job] = []
    # the first part to be stored cancels the job (a queue listener only hears progress every
    # 0.1 s, too coarse to be sure to land mid-upload); the other parts wait for the cancel
    hold_all_but_first(env.s3, "UploadPart", s3transfer_cancelled, lambda: jobs[0].cancel())
    creates = calls(env.s3, "CreateMultipartUpload")
    aborts = calls(env.s3, "AbortMultipartUpload")
    completes = calls(env.s3, "CompleteMultipartUpload")

    jobs.append(env.queue.submit("upload", [Location.parse(str(big))], env.at("bucket-one", "up/")))
    job = jobs[0]
    assert env.queue.wait(job, timeout=60)

    assert job.state == "cancelled", (job.message, states(job))
    assert [t.state for t in job.files] == ["cancelled"]
    assert job.message.startswith("0 of 1 files, 0 B in ")  # what arrived, not the parts taken back
    assert len(creates) == 1 and len(aborts) == 1 and completes == []
    assert env.s3.list_multipart_uploads(Bucket="bucket-one").get("Uploads", []) == []
    assert keys(env.s3, "bucket-one") == {}


def _download_job(env, size: int) -> tuple[Path, Path, bytes]:
    data = os.urandom(size)
    env.s3.put_object(Bucket="bucket-one", Key="data/big.bin", Body=data)
    dst = env.tmp / "dst"
    dst.mkdir()
    return dst, dst / "big.bin", data


def test_cancel_in_the_middle_of_a_download_then_retry_completes_it(env, s3transfer_cancelled):
    dst, final, data = _download_job(env, 20 * MiB)
    jobs: list[Job] = []
    hold_all_but_first(env.s3, "GetObject", s3transfer_cancelled, lambda: jobs[0].cancel())

    jobs.append(env.queue.submit("download", [env.at("bucket-one", "data/big.bin")], Location.parse(str(dst) + "/")))
    job = jobs[0]
    assert env.queue.wait(job, timeout=60)

    assert job.state == "cancelled", (job.message, states(job))
    assert not final.exists()
    assert set(os.listdir(dst)) <= {os.path.basename(part_path(str(final)))}

    s3transfer_cancelled.set()  # nothing is held any more
    env.queue.retry(job)
    assert env.queue.wait(job, timeout=60)

    assert job.state == "done", (job.message, states(job))
    assert final.read_bytes() == data
    assert os.listdir(dst) == ["big.bin"]


def test_a_download_cancelled_after_a_later_range_arrived_resumes_to_the_right_bytes(env, s3transfer_cancelled):
    """s3transfer fetches ranges in parallel: here the first range waits until the two later ones
    have been read, then the job is cancelled. Whatever the part file then holds (a later range
    written where it belongs leaves a hole before it), the retry must end with the object's bytes."""
    dst, final, data = _download_job(env, 20 * MiB)  # ranges of 8, 8 and 4 MiB
    jobs: list[Job] = []
    held: list[dict] = []

    def hold_the_first_range(params=None, **kw):
        if str((params or {}).get("Range", "")).startswith("bytes=0-") and not held:
            held.append(params)
            task = jobs[0].files[0]
            for _ in range(3000):  # (30 s at most) until the other two ranges have been read
                if task.done >= 12 * MiB:
                    break
                time.sleep(0.01)
            jobs[0].cancel()
            s3transfer_cancelled.wait(30)

    env.s3.meta.events.register("before-parameter-build.s3.GetObject", hold_the_first_range)
    jobs.append(env.queue.submit("download", [env.at("bucket-one", "data/big.bin")], Location.parse(str(dst) + "/")))
    job = jobs[0]
    assert env.queue.wait(job, timeout=60)

    assert job.state == "cancelled", (job.message, states(job))
    assert not final.exists()

    env.queue.retry(job)
    assert env.queue.wait(job, timeout=60)

    assert job.state == "done", (job.message, states(job))
    assert final.read_bytes() == data


def test_a_download_stopped_after_its_last_byte_but_before_the_rename_finishes_on_resume(env):
    """The app was stopped between writing the last byte of the part file and renaming it."""
    dst, final, data = _download_job(env, 3 * MiB)
    part = Path(part_path(str(final)))
    part.write_bytes(data)
    head = env.s3.head_object(Bucket="bucket-one", Key="data/big.bin")
    source = Entry(env.at("bucket-one", "data/big.bin"), len(data), head["LastModified"].timestamp(),
                   head["ETag"].strip('"'))
    job = Job("download", [source.location], Location.parse(str(dst) + "/"), state="running",
              files=[FileTask(source, Location.parse(str(final)), len(data), state="running",
                              started=time.time() - 5)])
    state_file = env.tmp / "ws" / "transfers.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"version": 1, "jobs": [job.to_dict()]}), "utf-8")

    queue = TransferQueue(env.storage, state_file)
    try:
        [again] = queue.jobs
        assert again.state == "interrupted"
        queue.resume(again)
        assert queue.wait(again, timeout=60)
    finally:
        queue.shutdown()

    assert again.state == "done", (again.message, states(again))
    assert final.read_bytes() == data
    assert not part.exists()


# -- a body corrupted in transit ---------------------------------------------------------------------

class _Flipping(http.server.BaseHTTPRequestHandler):
    """Forwards every request to moto; flips one byte in the body of every GET of an object."""

    protocol_version = "HTTP/1.1"
    upstream: ClassVar[tuple[str, int]] = ("127.0.0.1", 0)
    flipped: ClassVar[list[str]] = []  # each server gets its own subclass and list
    flip: ClassVar[bool] = True
    refuse_copies: ClassVar[bool] = False  # answer a server-side copy with 403 AccessDenied

    def log_message(self, *args):
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.refuse_copies and self.headers.get("x-amz-copy-source"):
            self.flipped.append("refused " + self.path)
            denied = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                      b"<Message>Access Denied</Message></Error>")
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(denied)))
            self.end_headers()
            self.wfile.write(denied)
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "proxy-connection", "transfer-encoding")}
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        _bucket, _, key = urlsplit(self.path).path.lstrip("/").partition("/")
        if self.flip and self.command == "GET" and key and resp.status in (200, 206) and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
            self.flipped.append(key)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "date", "server") or \
                    (k.lower() == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward


def _shim(moto: str, **behaviour):
    parts = urlsplit(moto)
    handler = type("Shim", (_Flipping,), {"upstream": (parts.hostname, parts.port), "flipped": [], **behaviour})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", handler.flipped


@pytest.fixture
def flipping_proxy(moto):
    server, url, flipped = _shim(moto)
    yield url, flipped
    server.shutdown()
    server.server_close()


@pytest.fixture
def copy_refusing_proxy(moto):
    """An endpoint that passes everything to moto but refuses every server-side copy, as S3 does
    when the target's keys may not read the source."""
    server, url, refused = _shim(moto, flip=False, refuse_copies=True)
    yield url, refused
    server.shutdown()
    server.server_close()


def test_a_body_corrupted_in_transit_fails_the_file_and_leaves_no_final_file(env, flipping_proxy):
    url, flipped = flipping_proxy
    data = os.urandom(100_000)
    env.s3.put_object(Bucket="bucket-one", Key="in/good.txt", Body=b"")  # nothing to flip
    env.s3.put_object(Bucket="bucket-one", Key="in/bad.bin", Body=data)
    vo = make_vo(url, "through a bad link")
    via_proxy = AwsToken(vo, {"secret_access_key": "x"})
    env.tokens[vo.id] = via_proxy
    dst = env.tmp / "dst"
    dst.mkdir()

    job = env.run("download", [env.at("bucket-one", "in/", via_proxy)], Location.parse(str(dst) + "/"))

    assert "in/bad.bin" in flipped  # the shim really was in the way
    by_name = {Path(t.target.path).name: t for t in job.files}
    assert job.state == "failed", (job.message, states(job))
    assert by_name["bad.bin"].state == "failed", by_name["bad.bin"].error
    error = by_name["bad.bin"].error.lower()
    assert "checksum" in error or "differ" in error, error
    assert by_name["good.txt"].state == "done"
    assert not (dst / "in" / "bad.bin").exists()
    assert not Path(part_path(str(dst / "in" / "bad.bin"))).exists()  # a bad copy is not kept
    assert (dst / "in" / "good.txt").read_bytes() == b""

    vo.settings["endpoint_url"] = env.token.endpoint_url  # the link is mended
    env.tokens[vo.id] = AwsToken(vo, {"secret_access_key": "x"})
    env.queue.retry(job)
    assert env.queue.wait(job, timeout=60)

    assert job.state == "done", (job.message, states(job))
    assert (dst / "in" / "bad.bin").read_bytes() == data


# -- going on after a restart ------------------------------------------------------------------------

def test_an_upload_interrupted_by_a_restart_goes_on_from_its_finished_parts(env):
    data = os.urandom(20 * MiB)
    src = env.tmp / "big.bin"
    src.write_bytes(data)
    key = "resume/big.bin"
    upload_id = env.s3.create_multipart_upload(Bucket="bucket-one", Key=key)["UploadId"]
    # the job began a little before its multipart upload, by the server's clock (moto reports a
    # fixed time in 2010 as every upload's Initiated)
    [upload] = env.s3.list_multipart_uploads(Bucket="bucket-one")["Uploads"]
    started = upload["Initiated"].timestamp() - 5
    for n in (1, 2):
        env.s3.upload_part(Bucket="bucket-one", Key=key, UploadId=upload_id, PartNumber=n,
                           Body=data[(n - 1) * 8 * MiB:n * 8 * MiB])
    source = Entry(Location.parse(str(src)), len(data), src.stat().st_mtime)
    job = Job("upload", [source.location], env.at("bucket-one", "resume/"), title="Upload big.bin",
              state="running", files=[FileTask(source, env.at("bucket-one", key), len(data),
                                               done=16 * MiB, state="running", started=started)])
    state_file = env.tmp / "ws" / "transfers.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"version": 1, "jobs": [job.to_dict()]}), "utf-8")

    queue = TransferQueue(env.storage, state_file)  # the app starts again
    try:
        [again] = queue.jobs
        assert again.state == "interrupted" and again.id == job.id
        sent = calls(env.s3, "UploadPart")
        creates = calls(env.s3, "CreateMultipartUpload")

        queue.resume(again)
        assert queue.wait(again, timeout=60)
    finally:
        queue.shutdown()

    assert again.state == "done", (again.message, states(again))
    assert [p["PartNumber"] for p in sent] == [3] and [p["UploadId"] for p in sent] == [upload_id]
    assert creates == []
    head = env.s3.head_object(Bucket="bucket-one", Key=key)
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")
    assert env.s3.get_object(Bucket="bucket-one", Key=key)["Body"].read() == data
    assert env.s3.list_multipart_uploads(Bucket="bucket-one").get("Uploads", []) == []
    assert json.loads(state_file.read_text("utf-8"))["jobs"][0]["state"] == "done"


# -- between buckets, and deleting -----------------------------------------------------------------

def test_a_copy_between_two_buckets_of_one_vo_stays_on_the_server(env):
    data = os.urandom(20 * MiB)
    env.s3.put_object(Bucket="bucket-one", Key="src/big.bin", Body=data)
    gets = calls(env.s3, "GetObject")
    puts = calls(env.s3, "PutObject") + calls(env.s3, "UploadPart")
    server_side = calls(env.s3, "CopyObject")
    part_copies = calls(env.s3, "UploadPartCopy")

    job = env.run("copy", [env.at("bucket-one", "src/big.bin")], env.at("bucket-two", "dst/"))

    assert job.state == "done", (job.message, states(job))
    assert gets == [] and puts == []  # not a byte through here
    assert server_side or part_copies
    head = env.s3.head_object(Bucket="bucket-two", Key="dst/big.bin")
    assert head["ContentLength"] == len(data)
    assert env.s3.get_object(Bucket="bucket-two", Key="dst/big.bin")["Body"].read() == data
    assert keys(env.s3, "bucket-one") == {"src/big.bin": len(data)}  # a copy keeps the original


def test_a_move_between_buckets_leaves_the_target_and_removes_the_source(env):
    env.s3.put_object(Bucket="bucket-one", Key="box/a.txt", Body=b"a" * 10)
    env.s3.put_object(Bucket="bucket-one", Key="box/sub/b.txt", Body=b"b" * 20)
    env.s3.put_object(Bucket="bucket-one", Key="stay.txt", Body=b"s")

    job = env.run("move", [env.at("bucket-one", "box/")], env.at("bucket-two", "in/"))

    assert job.state == "done", (job.message, states(job))
    assert keys(env.s3, "bucket-two") == {"in/box/a.txt": 10, "in/box/sub/b.txt": 20}
    assert env.s3.get_object(Bucket="bucket-two", Key="in/box/sub/b.txt")["Body"].read() == b"b" * 20
    assert keys(env.s3, "bucket-one") == {"stay.txt": 1}


def test_a_local_file_moved_up_is_gone_here_and_there_on_s3(env):
    src = env.tmp / "note.txt"
    src.write_bytes(b"moving day")

    job = env.run("move", [Location.parse(str(src))], env.at("bucket-one", "notes/"))

    assert job.state == "done", (job.message, states(job))
    assert not src.exists()
    assert env.s3.get_object(Bucket="bucket-one", Key="notes/note.txt")["Body"].read() == b"moving day"


def test_deleting_a_prefix_of_2500_objects_removes_all_in_batches_of_at_most_1000(env):
    names = [f"many/{i:04d}.txt" for i in range(2500)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: env.s3.put_object(Bucket="bucket-one", Key=k, Body=b"x"), names))
    env.s3.put_object(Bucket="bucket-one", Key="other/keep.txt", Body=b"k")
    assert len(keys(env.s3, "bucket-one", "many/")) == 2500
    batches = calls(env.s3, "DeleteObjects")

    job = env.run("delete", [env.at("bucket-one", "many/")], None)

    assert job.state == "done", (job.message, states(job)[:3])
    assert keys(env.s3, "bucket-one") == {"other/keep.txt": 1}
    sizes = [len(b["Delete"]["Objects"]) for b in batches]
    assert sizes and max(sizes) <= 1000
    deleted = [o["Key"] for b in batches for o in b["Delete"]["Objects"]]
    assert set(names) <= set(deleted) and len(deleted) == len(set(deleted))
    assert job.message.startswith("1 folder and 2500 files deleted"), job.message


_UPLOADER = r"""
import re, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
from gridclient.registry import ExtensionRegistry
from gridclient.storage import Location, Storage
from gridclient.storage.transfers import TransferQueue
from gridclient.workspace import VirtualOrganization
from providers.aws.token import AwsToken
from tests.fixtures.workspace import load_provider

endpoint, vo_id, state, src = sys.argv[1:5]
vo = VirtualOrganization(name="T", type="aws", id=vo_id, settings={
    "region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": endpoint})
token = AwsToken(vo, {"secret_access_key": "x"})
reg = ExtensionRegistry()
load_provider(reg, "aws", "providers.aws:manifest")
queue = TransferQueue(Storage(reg, lambda v: token), Path(state))
# part n leaves n - 1 seconds late: the process is killed with some parts on the server
token.client("s3").meta.events.register(
    "before-send.s3.UploadPart",
    lambda request=None, **kw: time.sleep(int(re.search(r"partNumber=(\d+)", request.url).group(1)) - 1))
queue.submit("upload", [Location.parse(src)], Location("s3", vo_id, "bucket-one", ""), conflict="Overwrite")
time.sleep(120)
"""


def test_an_upload_whose_app_was_killed_goes_on_from_its_parts_after_a_restart(env, moto):
    """The app is killed (SIGKILL: nothing is cleaned up) while a 40 MiB upload has some of its
    5 parts on the server; the next start finds the upload by the id the queue kept, sends only
    the missing parts, and completes it."""
    import signal
    import subprocess
    import sys
    import time

    data = os.urandom(40 * MiB)
    src = env.tmp / "big.bin"
    src.write_bytes(data)
    state = env.tmp / "ws" / "transfers.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    vo_id = env.token.vo_id
    root = str(Path(__file__).resolve().parents[3])
    app = subprocess.Popen([sys.executable, "-c", _UPLOADER, moto, vo_id, str(state), str(src), root])
    try:
        deadline = time.monotonic() + 60
        parts_there = 0
        while time.monotonic() < deadline:
            kept = state.read_text() if state.exists() else ""
            uploads = env.s3.list_multipart_uploads(Bucket="bucket-one").get("Uploads", [])
            if "upload_id" in kept and uploads:
                parts_there = len(env.s3.list_parts(Bucket="bucket-one", Key="big.bin",
                                                    UploadId=uploads[0]["UploadId"]).get("Parts", []))
                if parts_there >= 2:
                    break
            time.sleep(0.1)
        assert 2 <= parts_there < 5, "the upload was not caught half-way"
        app.send_signal(signal.SIGKILL)
        app.wait(10)
    finally:
        if app.poll() is None:
            app.kill()
    assert "big.bin" not in keys(env.s3, "bucket-one")

    queue = TransferQueue(env.storage, state)  # the next start
    job = queue.jobs[-1]
    assert job.state == "interrupted"
    sent = calls(env.s3, "UploadPart")
    queue.resume(job)
    assert queue.wait(job, timeout=60) and job.state == "done", job.message
    body = env.s3.get_object(Bucket="bucket-one", Key="big.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert len(sent) <= 5 - parts_there  # the parts on the server were not sent again
    assert env.s3.list_multipart_uploads(Bucket="bucket-one").get("Uploads", []) == []
    queue.shutdown()


def _token_with(endpoint: str, key_id: str, secret: str, name: str) -> AwsToken:
    vo = VirtualOrganization(name=name, type="aws", settings={
        "region": "us-east-1", "credential_mode": "keys", "access_key_id": key_id, "endpoint_url": endpoint})
    return AwsToken(vo, {"secret_access_key": secret})


def test_between_two_vos_of_one_account_the_server_copies(env, moto):
    other = make_token(moto, "Other keys")
    env.tokens[other.vo_id] = other
    env.s3.put_object(Bucket="bucket-one", Key="data.bin", Body=os.urandom(3 * MiB))
    gets = calls(env.s3, "GetObject") + calls(other.client("s3"), "GetObject")
    job = env.run("copy", [env.at("bucket-one", "data.bin")], Location("s3", other.vo_id, "bucket-two", ""))
    assert job.state == "done", job.message
    assert gets == []  # no byte came through here
    assert env.s3.get_object(Bucket="bucket-two", Key="data.bin")["Body"].read() == \
        env.s3.get_object(Bucket="bucket-one", Key="data.bin")["Body"].read()


def test_when_the_server_refuses_to_copy_the_bytes_are_streamed(env, copy_refusing_proxy):
    """Two VOs on one endpoint that refuses server-side copies (the target's keys may not read
    the source): the queue asks the server, is refused, and streams the object through here."""
    url, refused = copy_refusing_proxy
    a, b = make_token(url, "A"), make_token(url, "B")
    env.tokens.update({a.vo_id: a, b.vo_id: b})
    body = os.urandom(2 * MiB)
    env.s3.put_object(Bucket="bucket-one", Key="shared.bin", Body=body)
    gets = calls(a.client("s3"), "GetObject")
    job = env.run("copy", [Location("s3", a.vo_id, "bucket-one", "shared.bin")],
                  Location("s3", b.vo_id, "bucket-two", ""))
    assert job.state == "done", job.message
    assert refused and len(gets) == 1  # asked of the server first, then read through here
    assert env.s3.get_object(Bucket="bucket-two", Key="shared.bin")["Body"].read() == body
    assert job.files[0].done == len(body)  # progress counted once


def test_a_name_changed_in_the_first_of_two_sources_is_listed_too(env):
    """Two folders from different places downloaded in one job: each changed name is listed with
    its reason, whichever source it came from."""
    env.s3.put_object(Bucket="bucket-one", Key="x/first/bad\x1bname.txt", Body=b"1")
    env.s3.put_object(Bucket="bucket-one", Key="y/deeper/second/ok.txt", Body=b"2")
    target = env.tmp / "target"
    target.mkdir()
    job = env.run("download", [env.at("bucket-one", "x/first/"), env.at("bucket-one", "y/deeper/second/")],
                  Location.parse(str(target) + "/"))
    assert job.state == "done", (job.message, states(job))
    assert [t.source.location.path for t in job.renamed] == ["x/first/bad\x1bname.txt"]
    assert "control" in job.renamed[0].renamed


# -- an upload's ETag check from the MD5s taken while its parts went --------------------------------------

def test_an_upload_in_parts_is_checked_from_its_parts_md5s_without_reading_the_file_again(env, monkeypatch):
    from providers.aws.s3 import ETagCheck

    data = os.urandom(20 * MiB)
    src = env.tmp / "big.bin"
    src.write_bytes(data)
    fed, given = [], []
    monkeypatch.setattr(ETagCheck, "update", lambda self, b, _u=ETagCheck.update: (fed.append(len(b)), _u(self, b)))
    monkeypatch.setattr(ETagCheck, "parts", lambda self, d, _p=ETagCheck.parts: (given.append(list(d)), _p(self, d)))
    heads = calls(env.s3, "HeadObject")

    job = env.run("upload", [Location.parse(str(src))], env.at("bucket-one", "up/"))

    assert job.state == "done", (job.message, states(job))
    assert fed == []  # the file was not read again for the check
    assert [h for h in heads if "PartNumber" in h] == []  # the parts' size is known: not asked
    assert given == [[hashlib.md5(data[i:i + 8 * MiB]).digest() for i in range(0, len(data), 8 * MiB)]]
    head = env.s3.head_object(Bucket="bucket-one", Key="up/big.bin")
    assert head["ETag"].strip('"') == hashlib.md5(b"".join(given[0])).hexdigest() + "-3"


def test_an_upload_whose_part_md5_is_not_the_objects_fails_and_leaves_no_object(env, monkeypatch):
    from providers.aws.s3 import _PartDigests

    src = env.tmp / "big.bin"
    src.write_bytes(os.urandom(20 * MiB))
    run = _PartDigests._run

    def wrong_second(self):  # as if part 2 had been read differently than it was sent
        run(self)
        self.parts[2] = (hashlib.md5(b"not these bytes").digest(), self.parts[2][1])

    monkeypatch.setattr(_PartDigests, "_run", wrong_second)

    job = env.run("upload", [Location.parse(str(src))], env.at("bucket-one", "up/"))

    assert job.state == "failed" and job.files[0].state == "failed", (job.message, states(job))
    assert "differ" in job.files[0].error, job.files[0].error
    assert keys(env.s3, "bucket-one", "up/") == {}  # not left under its final name


def test_a_file_changed_after_its_parts_went_is_read_again_and_fails_the_check(env):
    data = os.urandom(20 * MiB)
    src = env.tmp / "big.bin"
    src.write_bytes(data)

    def change(**_kw):  # the last part is in: the file changes before the check
        with open(src, "r+b") as f:
            f.write(bytes([data[0] ^ 0xFF]))
        os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))

    env.s3.meta.events.register("after-call.s3.CompleteMultipartUpload", change)

    job = env.run("upload", [Location.parse(str(src))], env.at("bucket-one", "up/"))

    assert job.state == "failed" and job.files[0].state == "failed", (job.message, states(job))
    assert "differ" in job.files[0].error, job.files[0].error
    assert keys(env.s3, "bucket-one", "up/") == {}


def test_the_parts_are_hashed_no_further_ahead_than_the_parts_in_flight(tmp_path):
    """A file bigger than memory is not read twice from the disk: the hashing follows the upload's
    progress, at most the parts in flight (max_concurrency parts) ahead of it."""
    from providers.aws.s3 import CONFIG, _PartDigests

    part = MiB
    data = os.urandom((CONFIG.max_concurrency + 2) * part)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    told: list[int] = []
    digests = _PartDigests(str(src), len(data), part)
    try:
        deadline = time.monotonic() + 10
        while len(digests.parts) < CONFIG.max_concurrency and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert sorted(digests.parts) == list(range(1, CONFIG.max_concurrency + 1))  # then it waits
        digests.following(told.append)(part)  # the first part went
        deadline = time.monotonic() + 10
        while len(digests.parts) < CONFIG.max_concurrency + 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(digests.parts) == CONFIG.max_concurrency + 1 and told == [part]
        digests.sent()  # the upload is complete: the rest at once
        assert digests.digests(part) == [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    finally:
        digests.stop()
