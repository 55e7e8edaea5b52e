#!/usr/bin/env python3
"""Try gridclient's S3 storage on an S3-compatible endpoint, through the app's own code paths.

    python scripts/try_s3_endpoint.py --endpoint-url http://127.0.0.1:4568 --region us-east-1 \\
        --access-key-id S3RVER          # the secret from $GRIDCLIENT_SECRET_ACCESS_KEY, else asked
    python scripts/try_s3_endpoint.py --moto   # the same against moto's ThreadedMotoServer, for comparison

What runs is what the window runs: a Workbench on a throwaway workspace (secrets in memory only,
removed at the end), a VO of type "aws" on the endpoint, the tree's loaders (``wb.children``), the
actions through the core's ActionRunner with a ScriptedInteraction answering their questions, and
the transfer queue (``wb.transfers``) with the ``s3`` scheme. Only the checks afterwards, and the
setup the app has no action for (switching versioning on), use a separate plain boto3 client.

Steps: list buckets, new bucket, new folder, upload a small file and a multipart one, download both
(sha256 compared), server-side copy of both, delete, presigned GET and PUT (plain urllib), object
and bucket tags, details, versions (in a second bucket of its own), cancel a multipart upload in the
middle (then ListMultipartUploads must be empty) and retry it, resume an interrupted download, and
delete the buckets again. Each prints one line:

    PASS         it works
    FAIL         it does not, and the server did not say it lacks the feature
    UNSUPPORTED  the server said it does not offer it (NotImplemented, MethodNotAllowed, 501, 405)
    SKIP         not tried (a step it needs failed, or it would change a bucket this run did not make)

with what the app or the server said. The exit code is 0 unless gridclient's code crashed (an
exception such as TypeError or KeyError inside it, or in this script); failures of the server are
reported, not raised.

Nothing is read from ~/.aws or the AWS_* variables: only the keys given here reach the endpoint.
The run works in new buckets named ``gridclient-try-<random>`` and removes them (and what it put
there) at the end; with ``--bucket NAME`` it works under a new prefix of that existing bucket
instead, removes only that prefix, and leaves the bucket's tags and versioning alone.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import logging
import os
import re
import secrets as random_names
import shutil
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
SECRET_ENV = "GRIDCLIENT_SECRET_ACCESS_KEY"
# exceptions that mean a bug in gridclient (or in this script), not an answer of the server
CRASH_TYPES = (TypeError, KeyError, AttributeError, IndexError, NameError, AssertionError, ZeroDivisionError,
               ImportError, LookupError, RecursionError)
# how S3-compatible servers say they lack a feature
NOT_OFFERED = re.compile(r"NotImplemented|MethodNotAllowed|not implemented|Unsupported|HTTP (501|405)\b"
                         r"|\((501|405)\)|does not offer", re.IGNORECASE)


# -- the process -----------------------------------------------------------------------------------
def isolate() -> None:
    """No credentials, profile or region from the shell or ~/.aws: only the keys given here."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                SECRET_ENV):
        os.environ.pop(var, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


class CrashWatch(logging.Handler):
    """Notes every exception of a crash type that gridclient explained or logged."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.crashes: list[str] = []
        self.seen: list[BaseException] = []

    def explained(self, exc: BaseException) -> None:
        self.seen.append(exc)
        if isinstance(exc, CRASH_TYPES):
            self.crashes.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and isinstance(record.exc_info[1], CRASH_TYPES):
            self.crashes.append(f"logged by {record.name}: {record.getMessage()}\n" +
                                "".join(traceback.format_exception(*record.exc_info)))


class Held(logging.Handler):
    """Sets an Event when s3transfer has cancelled a managed transfer (its debug log says so)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.cancelled = threading.Event()

    def emit(self, record):
        if "cancel(" in record.getMessage():
            self.cancelled.set()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def sha256_stream(body) -> str:
    h = hashlib.sha256()
    with body:
        while chunk := body.read(MiB):
            h.update(chunk)
    return h.hexdigest()


class Skip(Exception):
    """A step that is not tried; ``str`` says why."""


class Result(Exception):
    """A step's verdict given early: Result("UNSUPPORTED", "…")."""

    def __init__(self, verdict: str, detail: str):
        super().__init__(detail)
        self.verdict, self.detail = verdict, detail


def not_offered(text: str) -> bool:
    return bool(NOT_OFFERED.search(text or ""))


def server_said(exc: BaseException) -> str:
    """A plain client's error as the server put it."""
    resp = getattr(exc, "response", None) or {}
    err = resp.get("Error", {})
    status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if err:
        op = getattr(exc, "operation_name", "")
        return f"{op}: HTTP {status} {err.get('Code', '')}: {err.get('Message') or ''}".strip()
    return f"{type(exc).__name__}: {exc}"


# -- the run --------------------------------------------------------------------------------------
class Trial:
    def __init__(self, args, endpoint: str, key_id: str, secret: str):
        from botocore.config import Config
        import boto3

        from gridclient.elements import Element
        from gridclient.paths import AppPaths
        from gridclient.secrets import MemoryKeyring, SecretStore
        from gridclient.workbench import Workbench
        from providers.aws import kinds as K
        from providers.aws import s3 as s3mod

        self.args, self.K = args, K
        part = int(args.part_mib * MiB)
        # a small multipart threshold: the big file goes up, down and across in several parts
        s3mod.CONFIG.multipart_threshold = part
        s3mod.CONFIG.multipart_chunksize = part
        self.part = part
        self.tmp = Path(tempfile.mkdtemp(prefix="gridclient-try-"))
        self.wb = Workbench(AppPaths.under(self.tmp / "workspace"), secrets=SecretStore(MemoryKeyring()))
        self.vo = self.wb.save_vo("Try", "aws", {
            "region": args.region, "credential_mode": "keys", "access_key_id": key_id,
            "secret_access_key": secret, "endpoint_url": endpoint})
        self.storage_el = Element(K.STORAGE, "try/aws.storage", "Storage", has_children=True, icon="storage")
        # the checks' own client, independent of the code under test
        self.raw = boto3.client("s3", endpoint_url=endpoint, region_name=args.region, aws_access_key_id=key_id,
                                aws_secret_access_key=secret,
                                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                              retries={"mode": "standard", "max_attempts": 3}))
        self.watch = CrashWatch()
        explain = self.wb.tokens.explain

        def spying_explain(vo, exc):
            self.watch.explained(exc)
            vt = self.wb.registry.vo_types.get(getattr(vo, "type", ""))
            if vt is not None and vt.explain_error:  # the app swallows a crash of its explainer
                from gridclient.registry import resolve

                try:
                    resolve(vt.explain_error)(exc)
                except Exception as bad:  # noqa: BLE001 - reported as a crash
                    self.watch.explained(bad)
            return explain(vo, exc)

        self.wb.tokens.explain = spying_explain  # actions, transfers and listings explain through it
        logging.getLogger().addHandler(self.watch)
        logging.getLogger().setLevel(logging.INFO)
        self.held = Held()
        s3t = logging.getLogger("s3transfer.futures")
        s3t.addHandler(self.held)
        s3t.setLevel(logging.DEBUG)
        s3t.propagate = False  # its debug lines are for the Held handler only

        self.own_bucket = not args.bucket
        self.bucket = args.bucket or f"gridclient-try-{random_names.token_hex(4)}"
        self.vbucket = f"{self.bucket}-v" if self.own_bucket else ""
        self.prefix = f"gridclient-try-{random_names.token_hex(4)}/"
        self.made_buckets: list[str] = []
        self.el: dict[str, Any] = {}  # elements found in the tree, by name
        self.files: dict[str, Path] = {}
        self.results: list[tuple[str, str, str]] = []
        self.crashed = False

    # -- helpers ---------------------------------------------------------------------------
    @property
    def client(self):
        """The very client the s3 scheme uses now (tokens are remade when the VO changes)."""
        return self.wb.tokens.token(self.wb.vo(self.vo.id)).client("s3")

    @property
    def scheme(self):
        return self.wb.storage.scheme("s3")

    def loc(self, key: str = "", bucket: str | None = None):
        from gridclient.storage import Location

        return Location("s3", self.vo.id, bucket or self.bucket, key)

    def action(self, action_id: str, elements: list, *, ask=None, confirm=None, interaction=None):
        from gridclient.interaction import ScriptedInteraction

        vo = self.wb.vo(self.vo.id)
        inter = interaction or ScriptedInteraction(ask_answers=list(ask or []), confirm_answers=list(confirm or []))
        return self.wb.actions.run(action_id, list(elements), vo, inter, timeout=self.args.timeout)

    def job_of(self, before: int):
        jobs = self.wb.transfers.jobs
        if len(jobs) != before + 1:
            raise Result("FAIL", "the action submitted no transfer job")
        job = jobs[-1]
        if not self.wb.transfers.wait(job, timeout=self.args.timeout):
            raise Result("FAIL", f"the transfer did not end within {self.args.timeout:g} s: {job.state} {job.message}")
        return job

    def submit(self, kind: str, sources: list, target, **kw):
        job = self.wb.transfers.submit(kind, sources, target, **kw)
        if not self.wb.transfers.wait(job, timeout=self.args.timeout):
            raise Result("FAIL", f"the transfer did not end within {self.args.timeout:g} s: {job.state} {job.message}")
        return job

    def children(self, element) -> list:
        return self.wb.children(self.wb.vo(self.vo.id), element)

    def child(self, parent, label: str):
        found = [e for e in self.children(parent) if e.label == label]
        if not found:
            raise Result("FAIL", f"{label!r} is not shown under {parent.label!r}")
        return found[0]

    def need(self, *names: str) -> None:
        for name in names:
            if name not in self.el:
                raise Skip(f"needs {name}, which an earlier step did not give")

    def failed(self, message: str) -> Result:
        return Result("UNSUPPORTED" if not_offered(message) else "FAIL", message)

    def outcome_ok(self, outcome) -> None:
        if outcome.state != "done":
            raise self.failed(f"{outcome.state}: {outcome.message}")

    def job_ok(self, job) -> None:
        if job.state != "done":
            first = next((f"{t.label}: {t.error}" for t in job.files if t.state == "failed"), "")
            extra = f" [{first}]" if first and first not in job.message else ""
            raise self.failed(f"job {job.state}: {job.message}{extra}")

    def calls(self, operation: str, event: str = "before-parameter-build") -> tuple[list[dict], Callable[[], None]]:
        """Every ``operation`` request the scheme's client sends from now on, and how to stop listening."""
        seen: list[dict] = []
        client = self.client

        def hook(params=None, **kw):
            seen.append(dict(params or {}))

        name = f"{event}.s3.{operation}"
        client.meta.events.register(name, hook)
        return seen, lambda: client.meta.events.unregister(name, hook)

    def replies(self, operation: str) -> tuple[list[str], Callable[[], None]]:
        """What the server answered to every ``operation`` request from now on ("200", "501 NotImplemented")."""
        seen: list[str] = []
        client = self.client

        def hook(http_response=None, parsed=None, **kw):
            code = (parsed or {}).get("Error", {}).get("Code", "")
            seen.append(f"{getattr(http_response, 'status_code', '?')}{' ' + code if code else ''}")

        name = f"after-call.s3.{operation}"
        client.meta.events.register(name, hook)
        return seen, lambda: client.meta.events.unregister(name, hook)

    @staticmethod
    def _statuses(seen: list[str]) -> str:
        return ", ".join(f"{n}× {answer}" if n > 1 else answer
                         for answer, n in {a: seen.count(a) for a in seen}.items())

    def check_kind(self, entry) -> str:
        check = self.scheme.checker(entry)
        if check is None:
            return "content not checked by ETag (size only)"
        return f"checked against its ETag ({'multipart' if check.part_size else 'MD5'})"

    # -- running steps -----------------------------------------------------------------------
    def step(self, name: str, fn: Callable[[], str]) -> bool:
        started = time.monotonic()
        before = len(self.watch.crashes)
        try:
            verdict, detail = "PASS", fn()
        except Skip as exc:
            verdict, detail = "SKIP", str(exc)
        except Result as exc:
            verdict, detail = exc.verdict, exc.detail
        except Exception as exc:  # noqa: BLE001 - a step's crash is reported, the run goes on
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, (ClientError, BotoCoreError)):  # the checks' own client was refused
                said = server_said(exc)
                verdict, detail = ("UNSUPPORTED" if not_offered(said) else "FAIL"), f"server: {said}"
            else:
                verdict = "FAIL"
                detail = "crash: " + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self.crashed = True
        new = self.watch.crashes[before:]
        if new:
            self.crashed = True
            verdict = "FAIL"
            detail += "\n    gridclient crashed:\n    " + "\n    ".join("".join(new).splitlines())
        took = time.monotonic() - started
        print(f"{verdict:<11} {name:<34} {detail.strip()} ({took:.1f} s)", flush=True)
        self.results.append((verdict, name, detail))
        return verdict == "PASS"

    def run(self) -> int:
        steps = [
            ("list buckets", self.list_buckets),
            ("new bucket" if self.own_bucket else "open bucket", self.new_bucket),
            ("new folder", self.new_folder),
            ("upload small file", self.upload_small),
            ("upload multipart file", self.upload_big),
            ("download small file (sha256)", lambda: self.download("small.txt")),
            ("download multipart file (sha256)", lambda: self.download("big.bin")),
            ("server-side copy, small", lambda: self.copy("small.txt")),
            ("server-side copy, multipart", lambda: self.copy("big.bin")),
            ("delete object", self.delete_object),
            ("presigned GET (urllib)", self.presigned_get),
            ("presigned PUT (urllib)", self.presigned_put),
            ("object tags: set", self.tags_set),
            ("object tags: clear", self.tags_clear),
            ("bucket tags", self.bucket_tags),
            ("details", self.details),
            ("versions", self.versions),
            ("cancel multipart upload midway", self.cancel_upload),
            ("retry the cancelled upload", self.retry_upload),
            ("resume an interrupted download", self.resume_download),
            ("delete bucket" if self.own_bucket else "delete the run's folder", self.delete_bucket),
            ("delete versioned bucket", self.delete_vbucket),
        ]
        try:
            for name, fn in steps:
                self.step(name, fn)
        finally:
            self.cleanup()
        counts = {v: sum(1 for r in self.results if r[0] == v) for v in ("PASS", "FAIL", "UNSUPPORTED", "SKIP")}
        print("summary: " + ", ".join(f"{n} {v}" for v, n in counts.items()) +
              ("; gridclient or this script CRASHED (exit 1)" if self.crashed else ""), flush=True)
        return 1 if self.crashed else 0

    # -- the steps -------------------------------------------------------------------------------
    def list_buckets(self) -> str:
        from gridclient.listing import ListingFailed

        try:
            shown = self.children(self.storage_el)
        except ListingFailed as exc:
            raise self.failed(str(exc)) from None
        buckets = [e for e in shown if e.kind == self.K.BUCKET]
        return f"{len(buckets)} bucket(s) listed under Storage"

    def new_bucket(self) -> str:
        if not self.own_bucket:
            outcome = self.action("aws.s3.open_bucket", [self.storage_el], ask=[{"uri": f"s3://{self.bucket}"}])
            self.outcome_ok(outcome)
            found = [e for e in self.children(self.storage_el) if e.kind == self.K.BUCKET
                     and e.ref.get("bucket") == self.bucket and not e.ref.get("prefix")]
            if not found:
                raise Result("FAIL", f"{self.bucket} is not shown under Storage after Open bucket…")
            self.el["bucket"] = found[0]
            return outcome.message
        outcome = self.action("aws.s3.new_bucket", [self.storage_el], ask=[{"name": self.bucket, "region": ""}])
        if outcome.state == "done":
            self.made_buckets.append(self.bucket)
        self.outcome_ok(outcome)
        self.el["bucket"] = self.child(self.storage_el, self.bucket)
        return outcome.message

    def new_folder(self) -> str:
        self.need("bucket")
        name = self.prefix.rstrip("/")
        outcome = self.action("storage.new_folder", [self.el["bucket"]], ask=[{"name": name}])
        self.outcome_ok(outcome)
        self.el["folder"] = self.child(self.el["bucket"], self.prefix)
        return f"{outcome.message} (s3://{self.bucket}/{self.prefix})"

    def _upload(self, name: str, size: int) -> tuple[Any, list[dict]]:
        self.need("folder")
        src = self.tmp / "local" / name
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(os.urandom(size))
        self.files[name] = src
        parts, stop = self.calls("UploadPart")
        before = len(self.wb.transfers.jobs)
        try:
            outcome = self.action("storage.upload_files", [self.el["folder"]], ask=[{"files": [str(src)]}])
            self.outcome_ok(outcome)
            job = self.job_of(before)
        finally:
            stop()
        self.job_ok(job)
        entry = self.scheme.stat(self.loc(self.prefix + name))
        if entry is None or entry.size != size:
            there = "missing" if entry is None else f"{entry.size} bytes"
            raise Result("FAIL", f"the job says done, but the object is {there}")
        self.el[name] = self.child(self.el["folder"], name)
        return entry, parts

    def upload_small(self) -> str:
        entry, _ = self._upload("small.txt", 100 * 1024)
        return f"100 KiB in one PutObject, ETag {entry.etag}; {self.check_kind(entry)}"

    def upload_big(self) -> str:
        size = int(self.args.size_mib * MiB)
        entry, parts = self._upload("big.bin", size)
        if len(parts) < 2:
            raise Result("FAIL", f"stored, but in {len(parts)} UploadPart request(s): not a multipart upload")
        return (f"{self.args.size_mib:g} MiB in {len(parts)} parts of {self.args.part_mib:g} MiB, ETag {entry.etag}; "
                f"{self.check_kind(entry)}")

    def download(self, name: str) -> str:
        self.need(name)
        into = self.tmp / "downloads"
        before = len(self.wb.transfers.jobs)
        outcome = self.action("storage.download", [self.el[name]], ask=[{"folder": str(into)}])
        self.outcome_ok(outcome)
        job = self.job_of(before)
        self.job_ok(job)
        got = into / name
        if sha256_file(got) != sha256_file(self.files[name]):
            raise Result("FAIL", "the downloaded file's sha256 differs from the original's")
        return f"sha256 equal ({got.stat().st_size:,} bytes)"

    def copy(self, name: str) -> str:
        self.need(name)
        target = self.loc(self.prefix + "copies/")
        gets, stop1 = self.calls("GetObject")
        puts, stop2 = self.calls("PutObject")
        parts, stop3 = self.calls("UploadPart")
        copies, stop4 = self.replies("CopyObject")
        part_copies, stop5 = self.replies("UploadPartCopy")
        try:
            job = self.submit("copy", [self.loc(self.prefix + name)], target)
        finally:
            for stop in (stop1, stop2, stop3, stop4, stop5):
                stop()
        self.job_ok(job)
        body = self.raw.get_object(Bucket=self.bucket, Key=f"{self.prefix}copies/{name}")["Body"]
        if sha256_stream(body) != sha256_file(self.files[name]):
            raise Result("FAIL", "the copy's sha256 differs from the original's")
        how = ", ".join(f"{len(seen)} {op}" + (f" ({self._statuses(seen)})" if seen else "")
                        for op, seen in (("CopyObject", copies), ("UploadPartCopy", part_copies)))
        if gets or puts or parts:
            return (f"copied and sha256 equal, but THROUGH THIS CLIENT ({len(gets)} GetObject, "
                    f"{len(puts) + len(parts)} PutObject/UploadPart; {how})")
        return f"on the server ({how}; no byte through here), sha256 equal"

    def delete_object(self) -> str:
        self.need("folder")
        copies = self.child(self.el["folder"], "copies/")
        victim = next((e for e in self.children(copies) if e.label == "small.txt"), None)
        if victim is None:
            raise Skip("no copy of small.txt to delete")
        before = len(self.wb.transfers.jobs)
        outcome = self.action("storage.delete", [victim], confirm=[True])
        self.outcome_ok(outcome)
        job = self.job_of(before)
        self.job_ok(job)
        if self.scheme.stat(self.loc(f"{self.prefix}copies/small.txt")) is not None:
            raise Result("FAIL", "the job says done, but the object is still there")
        return job.message

    def presigned_get(self) -> str:
        self.need("small.txt")
        outcome = self.action("aws.s3.presign", [self.el["small.txt"]],
                              ask=[{"method": "download (GET)", "name": "", "expiry": "1 hour"}])
        self.outcome_ok(outcome)
        try:
            with urllib.request.urlopen(outcome.copy, timeout=60) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise self.failed(f"the server answered the link with HTTP {exc.code}: {exc.read()[:300]!r}") from None
        if body != self.files["small.txt"].read_bytes():
            raise Result("FAIL", "the link gave other bytes than the object's")
        return f"{len(body):,} bytes through the link, equal"

    def presigned_put(self) -> str:
        self.need("folder")
        outcome = self.action("aws.s3.presign", [self.el["folder"]],
                              ask=[{"method": "upload (PUT)", "name": "presigned.txt", "expiry": "15 minutes"}])
        self.outcome_ok(outcome)
        data = b"put through a presigned URL\n" * 100
        put = urllib.request.Request(outcome.copy, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(put, timeout=60) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise self.failed(f"the server answered the link with HTTP {exc.code}: {exc.read()[:300]!r}") from None
        got = self.raw.get_object(Bucket=self.bucket, Key=self.prefix + "presigned.txt")["Body"].read()
        if got != data:
            raise Result("FAIL", f"HTTP {status}, but the object holds other bytes")
        return f"HTTP {status}; the object holds the {len(data):,} bytes sent"

    def _tags(self, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.raw.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]}

    def tags_set(self) -> str:
        self.need("small.txt")
        outcome = self.action("aws.s3.tags", [self.el["small.txt"]], ask=[{"tags": "project=atlas; owner=ana"}])
        self.outcome_ok(outcome)
        tags = self._tags(self.prefix + "small.txt")
        if tags != {"project": "atlas", "owner": "ana"}:
            raise Result("FAIL", f"{outcome.message} but the server holds {tags}")
        return f"{outcome.message} Read back: {tags}"

    def tags_clear(self) -> str:
        self.need("small.txt")
        outcome = self.action("aws.s3.tags", [self.el["small.txt"]], ask=[{"tags": ""}])
        self.outcome_ok(outcome)
        tags = self._tags(self.prefix + "small.txt")
        if tags:
            raise Result("FAIL", f"{outcome.message} but the server still holds {tags}")
        return f"{outcome.message} Read back: none"

    def bucket_tags(self) -> str:
        self.need("bucket")
        if not self.own_bucket:
            raise Skip("the bucket's own tags are left alone in a bucket this run did not make")
        outcome = self.action("aws.s3.tags", [self.el["bucket"]], ask=[{"tags": "purpose=gridclient-try"}])
        self.outcome_ok(outcome)
        tags = {t["Key"]: t["Value"] for t in self.raw.get_bucket_tagging(Bucket=self.bucket)["TagSet"]}
        if tags != {"purpose": "gridclient-try"}:
            raise Result("FAIL", f"{outcome.message} but the server holds {tags}")
        return f"{outcome.message} Read back: {tags}"

    def details(self) -> str:
        self.need("small.txt")
        outcome = self.action("aws.s3.details", [self.el["small.txt"]])
        self.outcome_ok(outcome)
        props = outcome.properties or {}
        return (f"{len(props)} properties; ContentLength={props.get('ContentLength')}, "
                f"Versions={props.get('Versions')!r}")

    def versions(self) -> str:
        from gridclient.interaction import ScriptedInteraction
        from gridclient.storage.jobs import OVERWRITE

        self.need("bucket")
        if self.own_bucket:
            outcome = self.action("aws.s3.new_bucket", [self.storage_el], ask=[{"name": self.vbucket, "region": ""}])
            if outcome.state == "done":
                self.made_buckets.append(self.vbucket)
            self.outcome_ok(outcome)
            bucket, key = self.vbucket, "doc.txt"
            try:  # the app has no action for this: set up with the plain client
                self.raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
                status = self.raw.get_bucket_versioning(Bucket=bucket).get("Status")
            except Exception as exc:  # noqa: BLE001 - the server's answer is the result
                versioning = f"switching versioning on was refused ({server_said(exc)})"
            else:
                versioning = "versioning on" if status == "Enabled" else \
                    f"versioning asked for, but the bucket says its status is {status!r}"
        else:
            status = self.raw.get_bucket_versioning(Bucket=self.bucket).get("Status")
            if status != "Enabled":
                raise Skip(f"versioning is {status or 'off'} on {self.bucket}, and this run does not change it")
            bucket, key, versioning = self.bucket, self.prefix + "doc.txt", "versioning on"
        first, second = b"the first version\n", b"the second version, longer\n"
        src = self.tmp / "local" / "doc.txt"
        for body in (first, second):
            src.write_bytes(body)
            folder = key.rpartition("/")[0] + "/" if "/" in key else ""
            job = self.submit("upload", [self._file_loc(src)], self.loc(folder, bucket), conflict=OVERWRITE)
            self.job_ok(job)
        parent = self.child(self.storage_el, bucket) if bucket != self.bucket else self.el["folder"]
        obj = self.child(parent, "doc.txt")
        into = self.tmp / "versions"

        class Pick(ScriptedInteraction):
            """A person choosing the oldest version in the list, then what to do with it."""
            do = "Download it to…"

            def ask(self, title, fields, *, text=""):
                self.log.append(("ask", title, text))
                oldest = fields[0].choices[-1]  # the list is newest first
                return {"version": oldest, "do": self.do, "folder": str(into)}

        outcome = self.action("aws.s3.versions", [obj], interaction=Pick())
        without = versioning != "versioning on"  # the server would not switch it on
        if outcome.state != "done":
            raise Result("UNSUPPORTED" if without or not_offered(outcome.message) else "FAIL",
                         f"{versioning}; Versions… {outcome.state}: {outcome.message}")
        saved = list(into.glob("doc.txt.*")) if into.exists() else []
        if not saved:
            raise Result("UNSUPPORTED" if without and "versioning is off" in outcome.message else "FAIL",
                         f"{versioning}; Versions… said: {outcome.message}")
        if saved[0].read_bytes() != first:
            raise Result("FAIL", "the old version downloaded holds other bytes")
        Pick.do = "Make it the current version"
        outcome = self.action("aws.s3.versions", [obj], interaction=Pick())
        self.outcome_ok(outcome)
        now = self.raw.get_object(Bucket=bucket, Key=key)["Body"].read()
        if now != first:
            raise Result("FAIL", f"{outcome.message} but the current version holds other bytes")
        return f"{versioning}; the old version downloaded and made current again"

    def _file_loc(self, path: Path, folder: bool = False):
        from gridclient.storage import Location

        return Location.parse(str(path) + ("/" if folder else ""))

    def cancel_upload(self) -> str:
        """The first part stored cancels the job; the other parts wait until s3transfer has really
        cancelled, so the upload cannot finish first."""
        self.need("folder")
        size = max(int(self.args.size_mib * MiB), 3 * self.part + 1)
        src = self.tmp / "local" / "cancel.bin"
        src.write_bytes(os.urandom(size))
        self.files["cancel.bin"] = src
        key = self.prefix + "cancel.bin"
        self.held.cancelled.clear()
        client = self.client
        lock, first, jobs = threading.Lock(), [], []
        aborts: list[str] = []

        def before(params=None, **kw):
            with lock:
                mine = not first
                if mine:
                    first.append(1)
            if not mine:
                self.held.cancelled.wait(30)

        def after(http_response=None, parsed=None, **kw):
            with lock:
                if len(first) == 1:
                    first.append(2)
                    go = True
                else:
                    go = False
            if go:
                jobs[0].cancel()

        def aborted(http_response=None, parsed=None, **kw):
            err = (parsed or {}).get("Error", {})
            aborts.append(f"HTTP {getattr(http_response, 'status_code', '?')}" +
                          (f" {err.get('Code')}: {err.get('Message') or ''}" if err else ""))

        hooks = [("before-parameter-build.s3.UploadPart", before), ("after-call.s3.UploadPart", after),
                 ("after-call.s3.AbortMultipartUpload", aborted)]
        for name, fn in hooks:
            client.meta.events.register(name, fn)
        try:
            jobs.append(self.wb.transfers.submit("upload", [self._file_loc(src)], self.loc(self.prefix)))
            job = jobs[0]
            if not self.wb.transfers.wait(job, timeout=self.args.timeout):
                raise Result("FAIL", f"the job did not end: {job.state} {job.message}")
        finally:
            self.held.cancelled.set()
            for name, fn in hooks:
                client.meta.events.unregister(name, fn)
        self.el["cancel job"] = job
        said = f"job {job.state}: {job.message}"
        if len(first) < 2:
            raise Result("FAIL", f"no part was stored before the end ({said})")
        abort = f"AbortMultipartUpload: {', '.join(aborts) or 'not sent'}"
        if self.scheme.stat(self.loc(key)) is not None:
            raise Result("FAIL", f"{said}; but the object is there ({abort})")
        try:
            left = [u for u in self.raw.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads", [])
                    if u["Key"] == key]
        except Exception as exc:  # noqa: BLE001 - the server's answer is the result
            listed = server_said(exc)
            if not not_offered(listed):
                raise
            verdict = "UNSUPPORTED" if job.state != "cancelled" or not aborts or "HTTP 2" not in aborts[0] else "PASS"
            raise Result(verdict, f"{said}; {abort}; ListMultipartUploads cannot check it ({listed})") from None
        if left:
            if job.state == "cancelled":
                raise Result("FAIL", f"{said}, yet {len(left)} multipart upload(s) with parts are left ({abort})")
            raise Result("UNSUPPORTED", f"{said}; {len(left)} multipart upload(s) left, as the job says ({abort})")
        if job.state != "cancelled":
            raise Result("FAIL", f"{said}; ListMultipartUploads is empty ({abort})")
        return f"{said}; {abort}; ListMultipartUploads is empty, no object"

    def retry_upload(self) -> str:
        self.need("cancel job")
        job = self.el["cancel job"]
        self.wb.transfers.retry(job)
        if not self.wb.transfers.wait(job, timeout=self.args.timeout):
            raise Result("FAIL", f"the job did not end: {job.state} {job.message}")
        self.job_ok(job)
        body = self.raw.get_object(Bucket=self.bucket, Key=self.prefix + "cancel.bin")["Body"]
        if sha256_stream(body) != sha256_file(self.files["cancel.bin"]):
            raise Result("FAIL", f"{job.message} but the object's sha256 differs")
        return f"{job.message} sha256 equal"

    def resume_download(self) -> str:
        """The first range arrives whole; then the job is cancelled while the later ranges wait;
        the retry must go on from the bytes kept and end with the object's bytes."""
        self.need("big.bin")
        into = self.tmp / "resume"
        into.mkdir(exist_ok=True)
        self.held.cancelled.clear()
        client = self.client
        lock, fired, jobs = threading.Lock(), [], []

        def before(params=None, **kw):
            rng = str((params or {}).get("Range", ""))
            if not rng or rng.startswith("bytes=0-"):
                return
            with lock:
                mine = not fired
                fired.append(1)
            if mine:  # wait (30 s at most) until the first range is written, then cancel
                task = jobs[0].files[0] if jobs and jobs[0].files else None
                for _ in range(3000):
                    if task is None and jobs and jobs[0].files:
                        task = jobs[0].files[0]
                    if task is not None and task.kept >= self.part:
                        break
                    time.sleep(0.01)
                jobs[0].cancel()
            self.held.cancelled.wait(30)

        name = "before-parameter-build.s3.GetObject"
        client.meta.events.register(name, before)
        try:
            jobs.append(self.wb.transfers.submit("download", [self.loc(self.prefix + "big.bin")],
                                                 self._file_loc(into, folder=True)))
            job = jobs[0]
            if not self.wb.transfers.wait(job, timeout=self.args.timeout):
                raise Result("FAIL", f"the job did not end: {job.state} {job.message}")
        finally:
            self.held.cancelled.set()
            client.meta.events.unregister(name, before)
        if job.state != "cancelled":
            raise Result("FAIL", f"the download was not interrupted (job {job.state}: {job.message})")
        kept = job.files[0].kept
        gets, stop = self.calls("GetObject")
        try:
            self.wb.transfers.retry(job)
            if not self.wb.transfers.wait(job, timeout=self.args.timeout):
                raise Result("FAIL", f"the retry did not end: {job.state} {job.message}")
        finally:
            stop()
        self.job_ok(job)
        if sha256_file(into / "big.bin") != sha256_file(self.files["big.bin"]):
            raise Result("FAIL", "after the resume the file's sha256 differs from the original's")
        ranges = [g.get("Range", "(whole)") for g in gets]
        starts = [int(m.group(1)) for r in ranges if (m := re.match(r"bytes=(\d+)-", str(r)))]
        if kept and starts and min(starts) >= kept:
            asked = ", ".join(map(str, ranges))
            return f"{kept:,} bytes kept at the cancel; the retry asked only {asked}; sha256 equal"
        raise Result("FAIL", f"sha256 equal, but the retry did not go on from the {kept:,} bytes kept "
                             f"(it asked {', '.join(map(str, ranges)) or 'nothing'})")

    def delete_bucket(self) -> str:
        self.need("bucket")
        if not self.own_bucket:
            self.need("folder")
            before = len(self.wb.transfers.jobs)
            outcome = self.action("storage.delete", [self.el["folder"]], confirm=[True])
            self.outcome_ok(outcome)
            job = self.job_of(before)
            self.job_ok(job)
            left = self.raw.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix).get("KeyCount", 0)
            if left:
                raise Result("FAIL", f"{job.message} but {left} object(s) are left under the prefix")
            return job.message
        return self._delete_bucket(self.bucket, self.el["bucket"])

    def _delete_bucket(self, bucket: str, element) -> str:
        outcome = self.action("aws.s3.delete_bucket", [element], confirm=[True])
        self.outcome_ok(outcome)
        try:
            self.raw.head_bucket(Bucket=bucket)
        except Exception:  # noqa: BLE001 - gone, as it should be
            self.made_buckets.remove(bucket)
            return outcome.message
        raise Result("FAIL", f"{outcome.message} but the bucket is still there")

    def delete_vbucket(self) -> str:
        if not self.vbucket or self.vbucket not in self.made_buckets:
            raise Skip("no versioned bucket was made")
        return self._delete_bucket(self.vbucket, self.child(self.storage_el, self.vbucket))

    # -- leaving nothing behind -----------------------------------------------------------------
    def cleanup(self) -> None:
        """Whatever the steps left in the buckets this run made (or under its prefix), removed with
        the plain client; then the throwaway workspace."""
        left = []
        for bucket in list(self.made_buckets):
            left += self._empty(bucket, "")
            try:
                self.raw.delete_bucket(Bucket=bucket)
                left.append(f"removed the bucket {bucket} the steps left")
            except Exception as exc:  # noqa: BLE001
                left.append(f"could not remove the bucket {bucket}: {server_said(exc)}")
        if not self.own_bucket:
            left += self._empty(self.bucket, self.prefix)
        for line in left:
            print(f"cleanup: {line}", flush=True)
        try:
            self.wb.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _empty(self, bucket: str, prefix: str) -> list[str]:
        said = []
        try:
            uploads = self.raw.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
            for u in uploads:
                self.raw.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            if uploads:
                said.append(f"aborted {len(uploads)} multipart upload(s) left in {bucket}")
        except Exception as exc:  # noqa: BLE001
            said.append(f"could not list multipart uploads in {bucket} ({server_said(exc)}): "
                        "parts of cancelled uploads may stay on the server")
        try:
            n = 0
            for page in self.raw.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if doomed:
                    self.raw.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
                    n += len(doomed)
            if n:
                said.append(f"deleted {n} object version(s)/delete marker(s) left in {bucket}")
        except Exception:  # noqa: BLE001 - no versions on this server: the plain listing
            pass
        try:
            n = 0
            for page in self.raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                doomed = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if doomed:
                    self.raw.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
                    n += len(doomed)
            if n:
                said.append(f"deleted {n} object(s) left in {bucket}")
        except Exception as exc:  # noqa: BLE001
            if "NoSuchBucket" not in server_said(exc):
                said.append(f"could not empty {bucket}: {server_said(exc)}")
        return said


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"The secret access key is read from ${SECRET_ENV} (or the variable "
                                       "--secret-env names), else asked for; never give it as an argument.")
    p.add_argument("--endpoint-url", help="the S3-compatible endpoint, e.g. http://127.0.0.1:9000")
    p.add_argument("--region", default="us-east-1", help="the VO's region (default: us-east-1)")
    p.add_argument("--access-key-id", help="the access key id")
    p.add_argument("--secret-env", default=SECRET_ENV, help=f"the variable holding the secret (default: {SECRET_ENV})")
    p.add_argument("--bucket", default="", help="work under a new prefix of this existing bucket instead of "
                                                "making buckets of its own")
    p.add_argument("--size-mib", type=float, default=20, help="the multipart file's size (default: 20 MiB)")
    p.add_argument("--part-mib", type=float, default=5,
                   help="multipart threshold and part size for this run (default: 5 MiB, S3's smallest part)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for one action or transfer")
    p.add_argument("--moto", action="store_true", help="start moto's ThreadedMotoServer on 127.0.0.1 and try "
                                                       "that instead (needs moto[server])")
    p.add_argument("--verbose", action="store_true", help="gridclient's log on stderr")
    args = p.parse_args(argv)

    server = None
    if args.moto:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint, key_id, secret = f"http://{host}:{port}", "testing", "testing"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    else:
        if not args.endpoint_url or not args.access_key_id:
            p.error("--endpoint-url and --access-key-id are needed (or --moto)")
        endpoint, key_id = args.endpoint_url, args.access_key_id
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            if not sys.stdin.isatty():
                p.error(f"set ${args.secret_env} to the secret access key (no terminal to ask on)")
            secret = getpass.getpass(f"Secret access key for {key_id}: ")
        os.environ.pop(args.secret_env, None)
    isolate()
    if args.verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import botocore

    print(f"endpoint {endpoint}  region {args.region}  key id {key_id}  "
          f"{'moto ' + __import__('moto').__version__ + '  ' if server else ''}"
          f"botocore {botocore.__version__}  gridclient at {ROOT}", flush=True)
    print(f"multipart file {args.size_mib:g} MiB, threshold and part size {args.part_mib:g} MiB", flush=True)
    try:
        return Trial(args, endpoint, key_id, secret).run()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
