"""S3's own actions: New bucket, Open bucket (by name, for accounts that may not list them all),
Delete bucket (offering to empty it), presigned URLs. The file-like actions (upload, download,
rename, delete objects) are the core's, over the ``s3`` scheme."""

from __future__ import annotations

import re
from typing import Any

from gridclient.actions import ActionResult
from gridclient.operations import Cancelled
from providers.aws import EXPIRIES
from providers.aws import kinds as K

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
OPENED = "open_buckets"  # VO setting: buckets opened by name, shown under Storage


def bucket_name_problem(name: Any) -> str:
    """S3's naming rules for general purpose buckets, as a sentence ("" when the name is fine)."""
    name = str(name).strip()
    if not 3 <= len(name) <= 63:
        return f"3 to 63 characters ({len(name)} now)."
    if not BUCKET_NAME.match(name):
        return ("only lower-case letters, digits, “.” and “-”, beginning and ending with a letter "
                "or a digit.")
    if ".." in name or ".-" in name or "-." in name:
        return "no “..”, “.-” or “-.”."
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "not an IP address."
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        return "this prefix or suffix is reserved by AWS."
    return ""


def split_uri(text: str) -> tuple[str, str]:
    text = str(text).strip()
    if text.startswith("s3://"):
        text = text[5:]
    bucket, _, prefix = text.partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def open_problem(text: Any) -> str:
    bucket, _ = split_uri(str(text))
    return bucket_name_problem(bucket) if bucket else "a bucket name is needed."


def new_bucket(ctx) -> str:
    name = str(ctx.values.get("name") or "").strip()
    problem = bucket_name_problem(name)
    if problem:
        raise ValueError(f"“{name}” is no bucket name: {problem}")
    region = str(ctx.values.get("region") or "").strip() or ctx.token.region
    s3 = ctx.token.client("s3", region)
    kw: dict[str, Any] = {}
    if region != "us-east-1":
        kw["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(Bucket=name, **kw)
    return f"Made the bucket {name} in {region}."


def open_bucket(ctx) -> ActionResult:
    bucket, prefix = split_uri(ctx.values.get("uri", ""))
    problem = bucket_name_problem(bucket)
    if problem:
        raise ValueError(f"“{bucket}” is no bucket name: {problem}")
    # one request the bucket's reader may make: list one key (no ListAllMyBuckets needed)
    ctx.token.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    opened = [u for u in ctx.vo.settings.get(OPENED, []) if u != f"s3://{bucket}/{prefix}"]
    ctx.remember[OPENED] = opened + [f"s3://{bucket}/{prefix}"]
    return ActionResult(message=f"Opened s3://{bucket}/{prefix} — it stays under Storage.")


def delete_bucket(ctx) -> str:
    from gridclient.storage import Location

    bucket = ctx.element.ref["bucket"]
    scheme = ctx.storage.scheme("s3")
    root = Location("s3", ctx.vo.id, bucket, "")
    count, size = 0, 0
    for entry in scheme.walk(root):
        count += 1
        size += entry.size
    if count:
        from gridclient.storage.transfers import human_bytes

        if not ctx.interaction.confirm(
                "Delete bucket", f"The bucket {bucket} holds {count:,} objects ({human_bytes(size)}). "
                                 "Delete them all, and then the bucket? This cannot be undone."):
            raise Cancelled()
        job = ctx.transfers.submit("delete", [root], None, ctx.interaction)
        ctx.transfers.wait(job)
        if job.state != "done":
            raise RuntimeError(f"The bucket was not emptied: {job.message}")
    elif not ctx.interaction.confirm("Delete bucket", f"Delete the empty bucket {bucket}?"):
        raise Cancelled()
    ctx.token.client("s3").delete_bucket(Bucket=bucket)
    opened = [u for u in ctx.vo.settings.get(OPENED, []) if split_uri(u)[0] != bucket]
    if opened != ctx.vo.settings.get(OPENED, []):
        ctx.remember[OPENED] = opened
    return f"Deleted the bucket {bucket}" + (f" and its {count:,} objects." if count else ".")


def presign(ctx) -> ActionResult:
    ref = ctx.element.ref
    bucket = ref["bucket"]
    seconds = EXPIRIES.get(str(ctx.values.get("expiry") or ""), 3600)
    put = str(ctx.values.get("method", "")).startswith("upload")
    if ctx.element.kind == K.OBJECT:
        key = ref["key"]
    else:
        name = str(ctx.values.get("name") or "").strip().strip("/")
        if not put or not name:
            raise ValueError("A download link is for an object; for a folder, choose upload and give "
                             "the name the file is to have.")
        key = ref.get("prefix", "") + name
    from gridclient.storage import Location

    s3 = ctx.storage.scheme("s3").client(Location("s3", ctx.vo.id, bucket, key))
    url = s3.generate_presigned_url("put_object" if put else "get_object",
                                    Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds)
    verb = "upload to" if put else "download of"
    return ActionResult(message=f"Copied a link for the {verb} s3://{bucket}/{key}, valid for "
                                f"{ctx.values.get('expiry') or '1 hour'}.", copy=url)
