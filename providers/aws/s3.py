"""The ``s3`` storage scheme: buckets, folders and objects on S3 and S3-compatible endpoints.

Bytes move through boto3's managed transfers (s3transfer's ``TransferManager``): multipart
uploads with parts in parallel, ranged parallel downloads, and server-side copies (CopyObject, or
UploadPartCopy for big objects) when source and target are in one account. A cancelled or failed
managed upload aborts its multipart upload (s3transfer's failure cleanup), so no parts are left.

Two things boto3 does not do are done here: going on with a multipart upload the app was killed
in the middle of (its finished parts are found with ListMultipartUploads / ListParts), and
checking a finished file against the object's ETag (an MD5 for a single-part object, the MD5 of
the parts' MD5s for a multipart one). A local file's multipart upload has the MD5 of each part
taken from the file while the parts go (:class:`_PartDigests`), so its check reads the file again
only where the file changed meanwhile.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any, BinaryIO, Iterator

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError, FlexibleChecksumError
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import ChunksizeAdjuster

from gridclient.operations import Cancelled
from gridclient.storage.base import (CopyRefused, Entry, Integrity, Location, Progress, Scheme, SpanHashes, Stop,
                                     StorageError)

MB = 1024 * 1024
CONFIG = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=10,
                        use_threads=True)
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


class _Progress(BaseSubscriber):
    """Progress to the queue, and the end of the transfer at once (not at the next poll: with a
    poll every 50 ms, 1,000 small files took twice as long as aws-cli's)."""

    def __init__(self, progress: Progress, size: int | None = None):
        self.progress, self.size = progress, size
        self.ended = threading.Event()

    def on_done(self, future, **kwargs):
        self.ended.set()

    def on_queued(self, future, **kwargs):
        if self.size is not None:
            future.meta.provide_transfer_size(self.size)

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.progress(bytes_transferred)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# how S3-compatible servers answer a request they do not implement (s3rver: NotImplemented and
# 501 for ListMultipartUploads and UploadPartCopy, MethodNotAllowed and 405 for ListParts and
# AbortMultipartUpload)
NOT_OFFERED = frozenset({"NotImplemented", "MethodNotAllowed", "XNotImplemented", "NotSupported",
                         "UnsupportedOperation", "501", "405"})
COPY_OBJECT_LIMIT = 5 * 1024 ** 3  # CopyObject copies at most this much in one request


def not_offered(exc: BaseException) -> bool:
    """The server said it does not implement this request (not: refused it, or failed)."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _code(exc) in NOT_OFFERED or status in (501, 405)


def _said(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    return f"{getattr(exc, 'operation_name', '') or 'the request'}: {err.get('Code') or '?'}" + \
        (f" — {err['Message']}" if err.get("Message") else "")


def _entry(bucket_loc: Location, key: str, obj: dict[str, Any]) -> Entry:
    modified = obj.get("LastModified")
    return Entry(Location("s3", bucket_loc.vo_id, bucket_loc.root, key),
                 size=int(obj.get("Size", obj.get("ContentLength", 0)) or 0),
                 modified=modified.timestamp() if hasattr(modified, "timestamp") else None,
                 etag=str(obj.get("ETag", "")).strip('"'),
                 extra={k: obj[k] for k in ("StorageClass", "ContentType", "ServerSideEncryption")
                        if obj.get(k)})


def _content_type(target: Location) -> dict[str, str]:
    """The object's Content-Type from its name, as aws-cli guesses it (a browser opening a link
    to it, and our preview, go by it)."""
    import mimetypes

    kind, _ = mimetypes.guess_type(target.path)
    return {"ContentType": kind} if kind else {}


HASH_CHUNK = 256 * 1024  # hashing reads this much at a time: a check holds no part in memory


class ETagCheck:
    """The object's ETag computed from its bytes, fed in order: the MD5 of a single-part object,
    or the MD5 of its parts' MD5s and their count for a multipart one. Fed while a download
    arrives (the queue follows the file's contiguous bytes), or from the file afterwards."""

    def __init__(self, uri: str, etag: str, part_size: int = 0):
        self.uri, self.etag, self.part_size = uri, etag, part_size
        self._h = SpanHashes(part_size, hashlib.md5) if part_size else hashlib.md5()
        self._given: list[bytes] | None = None  # the parts' MD5s, given instead of their bytes

    def update(self, data) -> None:
        self._h.update(data)

    def parts(self, digests: list[bytes]) -> None:
        """The MD5 of each part, in order, instead of the parts' bytes (a multipart check only)."""
        self._given = list(digests)

    def finish(self) -> None:
        """Raise :class:`Integrity` when what was fed is not the object's bytes."""
        if not self.part_size:
            got, what = self._h.hexdigest(), "MD5 checksum"
        else:
            parts = self._given if self._given is not None else [h.digest() for h in self._h.finish()]
            got = f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"
            what = "multipart checksum"
        if got != self.etag:
            raise Integrity(f"{self.uri}: the bytes received differ from the object's ({what}).")


def _identity(path: str) -> tuple[int, int, int, int]:
    """What says a local file is unchanged: its device, inode, size and modification time."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class _PartDigests:
    """The MD5 of each part of one local file's multipart upload, taken from the file by a thread
    of its own while the parts go: hashing a part (~17 ms a part of 8 MiB here) no longer holds
    that part back before it is sent, and 200 MiB went up ~6 % faster. Each part's span of the
    file is read in ``part_size`` steps, as s3transfer cuts it; the ETag check then needs the file
    only if it changed since (:meth:`S3Scheme.verify`), and a part hashed from other bytes than the
    server got fails the check."""

    def __init__(self, path: str, size: int, part_size: int):
        self.path, self.size, self.part_size = path, size, part_size
        self.identity = _identity(path)
        self.parts: dict[int, tuple[bytes, int]] = {}  # part number → (MD5, length)
        self.failed = False  # the file could not be read here: the check reads it
        # paced by the upload: a part is hashed once the bytes sent come within the parts in
        # flight of it, so it is read while the upload's own reads have it in the page cache (a
        # file bigger than memory is not read twice from the disk)
        self.ahead = CONFIG.max_concurrency * part_size
        self._sent = 0
        self._paced = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridclient-s3-md5", daemon=True)
        self._thread.start()

    def following(self, progress: Progress) -> Progress:
        """``progress``, which also tells this how far the upload has gone."""
        def both(n: int) -> None:
            progress(n)
            with self._paced:
                self._sent += n
                self._paced.notify()
        return both

    def sent(self) -> None:
        """The upload is complete: hash the rest at once."""
        with self._paced:
            self._sent = self.size
            self._paced.notify()

    def _run(self) -> None:
        buf = bytearray(HASH_CHUNK)
        view = memoryview(buf)
        try:
            with open(self.path, "rb", buffering=0) as f:
                number = 1
                while not self._stop.is_set():
                    with self._paced:
                        while self._sent + self.ahead < min(number * self.part_size, self.size) and \
                                not self._stop.is_set():
                            self._paced.wait(1.0)
                    h, length = hashlib.md5(), 0
                    while length < self.part_size and \
                            (n := f.readinto(view[:min(HASH_CHUNK, self.part_size - length)])):
                        h.update(view[:n])
                        length += n
                    if not length:
                        return
                    self.parts[number] = (h.digest(), length)
                    number += 1
        except Exception:  # noqa: BLE001 - the upload reports its own trouble; the check reads the file
            self.failed = True

    def stop(self) -> None:
        """The upload ended without an object: no more hashing."""
        self._stop.set()
        with self._paced:
            self._paced.notify()

    def digests(self, part_size: int) -> list[bytes] | None:
        """The parts' MD5s in order, if they are the whole file cut in ``part_size`` parts as it is
        now; else None (the file is read)."""
        self._thread.join()
        count = -(-self.size // part_size) if part_size else 0
        if self.failed or part_size != self.part_size or not count or sorted(self.parts) != list(range(1, count + 1)):
            return None
        if any(self.parts[n][1] != min(part_size, self.size - (n - 1) * part_size) for n in self.parts):
            return None
        try:
            if _identity(self.path) != self.identity:
                return None
        except OSError:
            return None
        return [self.parts[n][0] for n in range(1, count + 1)]


class S3Scheme(Scheme):
    name = "s3"
    server_side_copy = True

    def __init__(self, tokens):
        super().__init__(tokens)
        self._managers: dict[int, Any] = {}
        self._regions: dict[tuple[str, str], str] = {}
        self._notes: dict[str, dict[str, dict]] = {}  # bucket → key → the note of the upload under way
        self._abort_refused: dict[str, str] = {}  # upload id → what the server said to AbortMultipartUpload
        self._no_part_copy: set[str] = set()  # endpoints that answered UploadPartCopy with "not implemented"
        self._uploaded: dict[tuple[str, str, str], _PartDigests] = {}  # (VO, bucket, key) → for verify()
        self._lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------------
    def client(self, loc: Location):
        """The S3 client for the bucket's own region (AWS answers other regions with a redirect)."""
        token = self.tokens(loc.vo_id)
        if not loc.root or token.endpoint_url:
            return token.client("s3")
        key = (loc.vo_id, loc.root)
        region = self._regions.get(key)
        if region is None:
            region = token.region
            try:
                head = token.client("s3").head_bucket(Bucket=loc.root)
                region = head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", region)
            except ClientError as exc:
                region = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
                    "x-amz-bucket-region", region)
            self._regions[key] = region
        return token.client("s3", region)

    def manager(self, client):
        with self._lock:
            m = self._managers.get(id(client))
            if m is None:
                m = self._managers[id(client)] = create_transfer_manager(client, CONFIG)
                # s3transfer keeps its upload id to itself: read it from the answer, which names
                # the bucket and key, so an app stopped mid-upload finds that upload again
                client.meta.events.register("after-call.s3.CreateMultipartUpload", self._created)
                # s3transfer aborts a cancelled upload's multipart upload, and keeps quiet when the
                # server refuses: hear the answer, so a cancel does not pass for a clean one
                client.meta.events.register("before-parameter-build.s3.AbortMultipartUpload", self._aborting)
                client.meta.events.register("after-call.s3.AbortMultipartUpload", self._aborted)
            return m

    def _created(self, parsed=None, **_kwargs) -> None:
        parsed = parsed or {}
        note = self._notes.get(parsed.get("Bucket"), {}).get(parsed.get("Key"))
        if note is not None and parsed.get("UploadId"):
            note["upload_id"] = parsed["UploadId"]

    @staticmethod
    def _aborting(params=None, context=None, **_kwargs) -> None:
        if context is not None and params:
            context["gridclient_upload_id"] = params.get("UploadId")

    def _aborted(self, http_response=None, parsed=None, context=None, **_kwargs) -> None:
        upload_id = (context or {}).get("gridclient_upload_id")
        status = getattr(http_response, "status_code", 200)
        err = (parsed or {}).get("Error", {})
        if upload_id and status >= 300 and err.get("Code") not in ("NoSuchUpload",) and status != 404:
            self._abort_refused[upload_id] = f"{err.get('Code') or f'HTTP {status}'}" + \
                (f" — {err['Message']}" if err.get("Message") else "")

    def _wait(self, future, stop: Stop, watch: "_Progress") -> Any:
        """The managed transfer's result; ``stop`` cancels it (s3transfer then aborts a multipart
        upload, so its parts are not left on the bucket). A transfer that ended before the cancel
        took hold is not reported as cancelled: its file is there."""
        while not future.done():
            watch.ended.wait(0.05)
            if stop.is_set():
                future.cancel()
                try:
                    return future.result()
                except Exception:  # noqa: BLE001 - the cancel is what we report
                    raise Cancelled() from None
        return future.result()

    # -- reading -------------------------------------------------------------------------------
    def list(self, folder: Location) -> Iterator[list[Entry]]:
        s3 = self.client(folder)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=folder.root, Prefix=folder.path,
                                                                  Delimiter="/"):
            out = [Entry(Location("s3", folder.vo_id, folder.root, cp["Prefix"]))
                   for cp in page.get("CommonPrefixes", ())]
            out += [_entry(folder, obj["Key"], obj) for obj in page.get("Contents", ())
                    if obj["Key"] != folder.path]
            yield out

    def walk(self, folder: Location, times: dict[str, float] | None = None) -> Iterator[Entry]:
        """Every object under the prefix, in one flat listing (no request per folder)."""
        s3 = self.client(folder)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=folder.root, Prefix=folder.path):
            for obj in page.get("Contents", ()):
                if obj["Key"] != folder.path:
                    yield _entry(folder, obj["Key"], obj)

    def stat(self, location: Location) -> Entry | None:
        s3 = self.client(location)
        if location.is_folder:
            page = s3.list_objects_v2(Bucket=location.root, Prefix=location.path, MaxKeys=1)
            return Entry(location) if page.get("KeyCount", 0) else None
        try:
            head = s3.head_object(Bucket=location.root, Key=location.path)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return _entry(location, location.path, head)

    def open_read(self, entry: Entry, offset: int = 0) -> BinaryIO:
        kw = {"Range": f"bytes={offset}-"} if offset else {}
        loc = entry.location
        return self.client(loc).get_object(Bucket=loc.root, Key=loc.path, **kw)["Body"]

    def read_head(self, entry: Entry, limit: int) -> bytes:
        if entry.size == 0:
            return b""
        loc = entry.location
        body = self.client(loc).get_object(Bucket=loc.root, Key=loc.path, Range=f"bytes=0-{limit - 1}")["Body"]
        with body:
            return body.read()

    # -- moving bytes ----------------------------------------------------------------------------
    def download(self, entry: Entry, target: BinaryIO, progress: Progress, stop: Stop, offset: int = 0) -> None:
        loc = entry.location
        try:
            self._download(entry, target, progress, stop, offset)
        except FlexibleChecksumError as exc:  # botocore checked the bytes against S3's checksum
            raise Integrity(f"{loc.uri}: the bytes received differ from the object's (checksum).") from exc

    def _download(self, entry: Entry, target: BinaryIO, progress: Progress, stop: Stop, offset: int) -> None:
        loc = entry.location
        s3 = self.client(loc)
        if offset:  # go on where an interrupted download stopped, if the object is the same
            kw = {"IfMatch": f'"{entry.etag}"'} if entry.etag else {}
            body = s3.get_object(Bucket=loc.root, Key=loc.path, Range=f"bytes={offset}-", **kw)["Body"]
            target.seek(offset)
            while chunk := body.read(MB):
                if stop.is_set():
                    body.close()
                    raise Cancelled()
                target.write(chunk)
                progress(len(chunk))
            return
        watch = _Progress(progress, entry.size)
        future = self.manager(s3).download(loc.root, loc.path, target, subscribers=[watch])
        self._wait(future, stop, watch)

    def upload(self, source: str | BinaryIO, size: int, target: Location, progress: Progress, stop: Stop,
               resume: dict[str, Any] | None = None, note: dict[str, Any] | None = None) -> Entry:
        s3 = self.client(target)
        if resume:
            self._go_on(s3, source, size, target, progress, stop, resume)
        elif isinstance(source, str) and size < CONFIG.multipart_threshold:
            # one PutObject, whose answer has the ETag: no HeadObject after it (half the requests
            # of a folder of small files); what s3transfer would do for it, less the second request
            if stop.is_set():
                raise Cancelled()
            with open(source, "rb") as f:
                put = s3.put_object(Bucket=target.root, Key=target.path, Body=f, **_content_type(target))
            progress(size)
            return Entry(target, size=size, modified=time.time(), etag=str(put.get("ETag", "")).strip('"'),
                         extra={k: put[k] for k in ("ServerSideEncryption",) if put.get(k)})
        else:
            manager = self.manager(s3)
            note = note if note is not None else {}  # the upload id is heard here either way
            self._notes.setdefault(target.root, {})[target.path] = note
            digests = _PartDigests(source, size, ChunksizeAdjuster().adjust_chunksize(
                CONFIG.multipart_chunksize, size)) if isinstance(source, str) else None
            watch = _Progress(digests.following(progress) if digests is not None else progress, size)
            try:
                future = manager.upload(source, target.root, target.path, extra_args=_content_type(target),
                                        subscribers=[watch])
                self._wait(future, stop, watch)
                if digests is not None:
                    digests.sent()
                    self._uploaded[(target.vo_id, target.root, target.path)] = digests
            except Cancelled:
                refused = self._abort_refused.pop(note.get("upload_id") or "", None)
                if refused:  # the cancel stopped the upload, but its parts are still on the server
                    raise StorageError(
                        f"Cancelled, but the server refused to remove the parts already sent "
                        f"(AbortMultipartUpload: {refused}); they may stay in {target.root} and take up "
                        "space there.") from None
                raise
            finally:
                self._notes.get(target.root, {}).pop(target.path, None)
                if digests is not None and self._uploaded.get((target.vo_id, target.root, target.path)) is not digests:
                    digests.stop()  # no object: no check
        stored = self.stat(target)
        if stored is None:
            self._uploaded.pop((target.vo_id, target.root, target.path), None)
            raise StorageError(f"{target.uri} is not there after the upload.")
        return stored

    def resumable(self, target: Location, since: float, note: dict[str, Any] | None = None) -> dict[str, Any] | None:
        s3 = self.client(target)
        upload_id = (note or {}).get("upload_id")
        if not upload_id:  # no note: the newest unfinished upload of this key begun since then
            try:
                listed = s3.list_multipart_uploads(Bucket=target.root, Prefix=target.path).get("Uploads", ())
            except ClientError as exc:
                if not_offered(exc):
                    return None  # this server cannot list unfinished uploads: the file goes up anew
                raise
            uploads = [u for u in listed if u["Key"] == target.path and u["Initiated"].timestamp() >= since - 120]
            if not uploads:
                return None
            upload_id = max(uploads, key=lambda u: u["Initiated"])["UploadId"]
        parts = []
        try:
            for page in s3.get_paginator("list_parts").paginate(Bucket=target.root, Key=target.path,
                                                                UploadId=upload_id):
                parts += [{"n": p["PartNumber"], "etag": p["ETag"], "size": p["Size"]}
                          for p in page.get("Parts", ())]
        except ClientError as exc:
            if _code(exc) in ("NoSuchUpload", "404") or not_offered(exc):
                return None  # completed or aborted meanwhile, or the server cannot list parts: anew
            raise
        first = [p["size"] for p in parts if p["n"] == 1]
        if not first:
            return None
        return {"upload_id": upload_id, "part_size": first[0], "parts": parts}

    def _go_on(self, s3, source: str | BinaryIO, size: int, target: Location, progress: Progress,
               stop: Stop, resume: dict[str, Any]) -> None:
        """Upload the parts an interrupted multipart upload lacks, then complete it."""
        part_size = int(resume["part_size"]) or CONFIG.multipart_chunksize
        count = max(1, -(-size // part_size))
        have = {p["n"]: p for p in resume["parts"]
                if p["size"] == min(part_size, size - (p["n"] - 1) * part_size)}
        upload_id = resume["upload_id"]
        progress(sum(p["size"] for p in have.values()))
        f = open(source, "rb") if isinstance(source, str) else source
        try:
            for n in range(1, count + 1):
                if n in have:
                    continue
                if stop.is_set():
                    raise Cancelled()  # the parts stay: another resume goes on from here
                f.seek((n - 1) * part_size)
                body = f.read(part_size)
                etag = s3.upload_part(Bucket=target.root, Key=target.path, UploadId=upload_id,
                                      PartNumber=n, Body=body)["ETag"]
                have[n] = {"n": n, "etag": etag, "size": len(body)}
                progress(len(body))
        finally:
            if isinstance(source, str):
                f.close()
        s3.complete_multipart_upload(
            Bucket=target.root, Key=target.path, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": have[n]["etag"]} for n in sorted(have)]})

    def discard(self, target: Location, since: float) -> None:
        s3 = self.client(target)
        for u in s3.list_multipart_uploads(Bucket=target.root, Prefix=target.path).get("Uploads", ()):
            if u["Key"] == target.path and u["Initiated"].timestamp() >= since - 120:
                s3.abort_multipart_upload(Bucket=target.root, Key=target.path, UploadId=u["UploadId"])

    def can_copy(self, source: Location, target: Location) -> bool:
        """One VO; or two VOs on one endpoint (two sets of keys of one account, or an account the
        target's keys may read from): the server is asked, and a refusal streams instead."""
        if not source.scheme == target.scheme == "s3":
            return False
        if source.vo_id == target.vo_id:
            return True
        return self.tokens(source.vo_id).endpoint_url == self.tokens(target.vo_id).endpoint_url

    def copy(self, source: Entry, target: Location, progress: Progress, stop: Stop) -> Entry:
        src = source.location
        s3 = self.client(target)
        endpoint = self.tokens(target.vo_id).endpoint_url or ""
        try:
            if source.size >= CONFIG.multipart_threshold and endpoint in self._no_part_copy:
                self._copy_whole(s3, source, target, progress, stop)
            else:
                try:
                    watch = _Progress(progress, source.size)
                    future = self.manager(s3).copy({"Bucket": src.root, "Key": src.path}, target.root, target.path,
                                                   subscribers=[watch], source_client=self.client(src))
                    self._wait(future, stop, watch)
                except ClientError as exc:
                    if getattr(exc, "operation_name", "") != "UploadPartCopy" or not not_offered(exc):
                        raise
                    # a server without UploadPartCopy (s3rver): one CopyObject, still on the server
                    self._no_part_copy.add(endpoint)
                    self._copy_whole(s3, source, target, progress, stop, exc)
        except ClientError as exc:
            if src.vo_id != target.vo_id and _code(exc) in ("AccessDenied", "403", "AllAccessDisabled",
                                                             "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise CopyRefused(f"{target.uri}: these keys may not read {src.uri}") from exc
            if getattr(exc, "operation_name", "") == "CopyObject" and not_offered(exc):
                raise CopyRefused(f"{target.uri}: the server does not copy objects ({_said(exc)})") from exc
            raise
        stored = self.stat(target)
        if stored is None:
            raise StorageError(f"{target.uri} is not there after the copy.")
        if stored.size != source.size:
            raise Integrity(f"The copy of {src.uri} has {stored.size} bytes, the original {source.size}.")
        if "-" not in source.etag and "-" not in stored.etag and source.etag != stored.etag:
            raise Integrity(f"The copy of {src.uri} differs from the original (ETag).")
        return stored

    def _copy_whole(self, s3, source: Entry, target: Location, progress: Progress, stop: Stop,
                    why: ClientError | None = None) -> None:
        """One CopyObject (up to 5 GiB), for a server that does not copy in parts."""
        src = source.location
        if source.size > COPY_OBJECT_LIMIT:
            said = f" ({_said(why)})" if why is not None else ""
            raise CopyRefused(f"{target.uri}: the server does not copy in parts{said}, and one request copies "
                              "at most 5 GiB")
        if stop.is_set():
            raise Cancelled()
        s3.copy_object(Bucket=target.root, Key=target.path, CopySource={"Bucket": src.root, "Key": src.path})
        progress(source.size)

    def checker(self, entry: Entry, part_size: int = 0) -> ETagCheck | None:
        """How to check a file against the object's ETag, where the ETag is a content hash.
        ``part_size``: the parts' size where this app just uploaded them (else it is asked)."""
        etag = entry.etag
        if not etag or entry.extra.get("ServerSideEncryption") == "aws:kms":
            return None  # an SSE-KMS object's ETag is no MD5 of its bytes
        if "-" not in etag:
            return ETagCheck(entry.location.uri, etag) if len(etag) == 32 else None
        loc = entry.location
        count = etag.rpartition("-")[2]
        if part_size and count.isdigit() and -(-entry.size // part_size) == int(count):
            return ETagCheck(loc.uri, etag, part_size)  # as sent: no HeadObject of part 1
        try:  # how big the parts were: the first one's length
            head = self.client(loc).head_object(Bucket=loc.root, Key=loc.path, PartNumber=1)
        except ClientError:
            return None  # the server cannot say: the size is checked
        part_size = int(head.get("ContentLength", 0))
        # a server that ignores partNumber (s3rver) answers with the whole object: then the parts'
        # size is not known, and a check made with it would fail a good file
        if not part_size or not count.isdigit() or -(-entry.size // part_size) != int(count) or \
                head.get("PartsCount") not in (None, int(count)):
            return None
        return ETagCheck(loc.uri, etag, part_size)

    def verify(self, stored: Entry, local_path: str) -> None:
        """The local file against the object's ETag: from the MD5s of the parts this scheme just
        uploaded from it, where the file is unchanged since and its parts are the object's;
        else read (256 KiB at a time)."""
        loc = stored.location
        sent = self._uploaded.pop((loc.vo_id, loc.root, loc.path), None)
        if sent is not None and (sent.path != local_path or sent.size != stored.size):
            sent = None
        check = self.checker(stored, sent.part_size if sent is not None else 0)
        if check is None:
            return
        if sent is not None and check.part_size:
            digests = sent.digests(check.part_size)
            if digests is not None:
                check.parts(digests)
                check.finish()
                return
        buf = bytearray(HASH_CHUNK)
        view = memoryview(buf)
        with open(local_path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                check.update(view[:n])
        check.finish()

    # -- changing ------------------------------------------------------------------------------
    def delete(self, locations: list[Location]) -> list[tuple[Location, str]]:
        failed: list[tuple[Location, str]] = []
        by_bucket: dict[tuple[str, str], list[Location]] = {}
        for loc in locations:
            if loc.path:  # a bucket's root is no key: the bucket itself goes with Delete bucket
                by_bucket.setdefault((loc.vo_id, loc.root), []).append(loc)
        for group in by_bucket.values():
            s3 = self.client(group[0])
            for i in range(0, len(group), DELETE_BATCH):
                batch = group[i:i + DELETE_BATCH]
                resp = s3.delete_objects(Bucket=batch[0].root, Delete={
                    "Objects": [{"Key": loc.path} for loc in batch], "Quiet": True})
                by_key = {loc.path: loc for loc in batch}
                for err in resp.get("Errors", ()):
                    loc = by_key.get(err.get("Key", ""))
                    if loc is not None:
                        failed.append((loc, err.get("Message") or err.get("Code") or "refused"))
        return failed

    def make_folder(self, location: Location) -> None:
        self.client(location).put_object(Bucket=location.root, Key=location.path, Body=b"")
