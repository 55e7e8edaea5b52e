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


MAX_EXPIRY = 7 * 86400  # SigV4: a presigned URL is valid for at most 7 days


def expiry_seconds(value: Any) -> int:
    """A presigned URL's lifetime: one of the form's choices ("1 hour"), or seconds ("5400");
    ValueError saying why not (over 7 days, not a number)."""
    text = str(value if value not in (None, "") else "1 hour").strip()
    if text in EXPIRIES:
        return EXPIRIES[text]
    try:
        seconds = int(text)
    except ValueError:
        raise ValueError(f"“{text}” is neither one of {', '.join(EXPIRIES)} nor a number of seconds.") from None
    if not 1 <= seconds <= MAX_EXPIRY:
        raise ValueError(f"{seconds:,} s: a presigned URL is valid for 1 second to 7 days ({MAX_EXPIRY:,} s).")
    return seconds


def expiry_problem(value: Any) -> str:
    try:
        expiry_seconds(value)
    except ValueError as exc:
        return str(exc)
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
    from botocore.exceptions import ClientError

    try:  # in us-east-1, CreateBucket answers 200 for a bucket of one's own that exists
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    else:
        raise ValueError(f"A bucket named {name} exists already: choose another name.")
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
    s3 = scheme.client(root)
    count, size = 0, 0
    for entry in scheme.walk(root):
        count += 1
        size += entry.size
    older = _older_versions(s3, bucket)
    if count or older:
        from gridclient.storage.transfers import human_bytes

        kept = (f" It also keeps {len(older):,} older version{'s' if len(older) != 1 else ''} or delete "
                "marker" + ("s" if len(older) != 1 else "") + ", which go too." if older else "")
        if not ctx.interaction.confirm(
                "Delete bucket", f"The bucket {bucket} holds {count:,} object{'s' if count != 1 else ''} "
                                 f"({human_bytes(size)}).{kept} "
                                 "Delete them all, and then the bucket? This cannot be undone."):
            raise Cancelled()
        if count:
            job = ctx.transfers.submit("delete", [root], None, ctx.interaction)
            ctx.transfers.wait(job)
            if job.state != "done":
                raise RuntimeError(f"The bucket was not emptied: {job.message}")
        # a versioned bucket keeps what was deleted as older versions and delete markers:
        # DeleteBucket refuses it (BucketNotEmpty) until those go as well
        _delete_versions(s3, bucket, _older_versions(s3, bucket))
    elif not ctx.interaction.confirm("Delete bucket", f"Delete the empty bucket {bucket}?"):
        raise Cancelled()
    s3.delete_bucket(Bucket=bucket)
    opened = [u for u in ctx.vo.settings.get(OPENED, []) if split_uri(u)[0] != bucket]
    if opened != ctx.vo.settings.get(OPENED, []):
        ctx.remember[OPENED] = opened
    return f"Deleted the bucket {bucket}" + (f" and its {count:,} object{'s' if count != 1 else ''}." if count else ".")


def _older_versions(s3, bucket: str) -> list[dict]:
    """Every version and delete marker of a bucket that has (had) versioning; [] for one that never
    had it, and on a server without versions."""
    from botocore.exceptions import ClientError

    try:
        if not s3.get_bucket_versioning(Bucket=bucket).get("Status"):
            return []
        found = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found.append({"Key": v["Key"], "VersionId": v["VersionId"]})
        return found
    except ClientError as exc:
        if not_offered(exc):
            return []
        raise


def _delete_versions(s3, bucket: str, versions: list[dict]) -> None:
    for at in range(0, len(versions), 1000):  # DeleteObjects takes 1,000 at a time
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions[at:at + 1000], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise RuntimeError(f"{len(answer['Errors'])} older versions could not be deleted (first: "
                               f"{first.get('Key')}: {first.get('Message') or first.get('Code')}); the bucket stays.")


def presign(ctx) -> ActionResult:
    ref = ctx.element.ref
    bucket = ref["bucket"]
    seconds = expiry_seconds(ctx.values.get("expiry"))
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
    expiry = str(ctx.values.get("expiry") or "1 hour")
    valid = expiry if expiry in EXPIRIES else f"{seconds:,} seconds"
    return ActionResult(message=f"A link for the {verb} s3://{bucket}/{key}, valid for {valid}.", copy=url)


def filter_folder(ctx) -> ActionResult:
    wanted = str(ctx.values.get("filter") or "").strip().lstrip("/")
    text = f"Showing names beginning with “{wanted}”." if wanted else "Showing every name."
    return ActionResult(message=text, ref={"filter": wanted})


def _tags_text(tags: list[dict]) -> str:
    return "; ".join(f"{t['Key']}={t.get('Value', '')}" for t in tags)


def parse_tags(text: str) -> list[dict]:
    """"k=v; k2=v2" (or one pair a line) → S3's TagSet; raises ValueError saying what is wrong."""
    tags = []
    for part in re.split(r"[;\n]", str(text)):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"“{part}” is no tag: write key=value, pairs separated by “;”.")
        if len(key) > 128 or len(value) > 256:
            raise ValueError(f"“{key}”: a key has at most 128 characters, a value 256.")
        tags.append({"Key": key, "Value": value})
    if len({t["Key"] for t in tags}) != len(tags):
        raise ValueError("A key is given twice.")
    return tags


def tags_problem(text: Any) -> str:
    try:
        parse_tags(str(text))
    except ValueError as exc:
        return str(exc)
    return ""


def details(ctx) -> ActionResult:
    """What the listing does not say: content type, user metadata, encryption, checksums, tags,
    versions — into the Properties view."""
    from botocore.exceptions import ClientError

    from providers.aws.nodes import flatten

    ref = ctx.element.ref
    s3 = ctx.storage.scheme("s3").client(_location(ctx))
    head = s3.head_object(Bucket=ref["bucket"], Key=ref["key"], ChecksumMode="ENABLED")
    props = {k: v for k, v in flatten(head).items()
             if not k.startswith(("ResponseMetadata", "AcceptRanges")) and v not in (None, "")}
    try:
        for t in s3.get_object_tagging(Bucket=ref["bucket"], Key=ref["key"]).get("TagSet", []):
            props[f"Tag:{t['Key']}"] = t.get("Value", "")
    except ClientError:
        props["Tags"] = "(not readable with these credentials)"
    try:
        versions = [v for v in s3.list_object_versions(Bucket=ref["bucket"], Prefix=ref["key"]).get("Versions", [])
                    if v["Key"] == ref["key"]]
        props["Versions"] = len(versions) if versions else "versioning is off"
    except ClientError as exc:  # a server without versions (s3rver) still has the rest to show
        props["Versions"] = (f"this server keeps no versions ({_code(exc)})" if not_offered(exc)
                             else f"(not readable: {_code(exc)})")
    return ActionResult(message=f"Details of s3://{ref['bucket']}/{ref['key']} in Properties.", properties=props)


def not_offered(exc) -> bool:
    """:func:`providers.aws.s3.not_offered`, imported when first asked: this module also holds the
    checks forms run as typed, and importing s3 (boto3, s3transfer) there would load them on the
    GUI thread."""
    from providers.aws.s3 import not_offered as said_not_offered

    return said_not_offered(exc)


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", "") or
               exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _location(ctx):
    from gridclient.storage import location_of_element

    return location_of_element(ctx.element, ctx.vo.id)


def edit_tags(ctx) -> ActionResult:
    from gridclient.interaction import Field

    ref = ctx.element.ref
    s3 = ctx.storage.scheme("s3").client(_location(ctx))
    bucket_only = ctx.element.kind == K.BUCKET
    from botocore.exceptions import ClientError

    try:
        current = (s3.get_bucket_tagging(Bucket=ref["bucket"]) if bucket_only else
                   s3.get_object_tagging(Bucket=ref["bucket"], Key=ref["key"])).get("TagSet", [])
    except ClientError as exc:
        if not_offered(exc):
            raise RuntimeError(f"This server does not offer tags on {'buckets' if bucket_only else 'objects'} "
                               f"({exc.operation_name}: {_code(exc)}).") from exc
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchTagSet", "NoSuchTagSetError"):
            raise
        current = []
    answer = ctx.interaction.ask("Edit tags", [Field(
        "tags", "Tags", default=_tags_text(current), placeholder="project=atlas; owner=ana",
        check="providers.aws.s3_actions:tags_problem", help="key=value pairs separated by “;”.")],
        text=f"Tags of s3://{ref['bucket']}/{'' if bucket_only else ref['key']}")
    if answer is None:
        raise Cancelled()
    tags = parse_tags(answer.get("tags", ""))
    if bucket_only:
        if tags:
            s3.put_bucket_tagging(Bucket=ref["bucket"], Tagging={"TagSet": tags})
        else:
            s3.delete_bucket_tagging(Bucket=ref["bucket"])
    elif tags:
        s3.put_object_tagging(Bucket=ref["bucket"], Key=ref["key"], Tagging={"TagSet": tags})
    else:
        try:
            s3.delete_object_tagging(Bucket=ref["bucket"], Key=ref["key"])
        except ClientError as exc:  # a server without DeleteObjectTagging (s3rver): an empty tag set
            if not not_offered(exc):
                raise
            s3.put_object_tagging(Bucket=ref["bucket"], Key=ref["key"], Tagging={"TagSet": []})
    props = {f"Tag:{t['Key']}": t["Value"] for t in tags}
    return ActionResult(message=f"{len(tags)} tag{'s' if len(tags) != 1 else ''} saved.", properties=props)


def versions(ctx) -> str:
    """List an object's versions; download one, or make one the current version again."""
    import os

    from botocore.exceptions import ClientError

    from gridclient.interaction import Field

    ref = ctx.element.ref
    s3 = ctx.storage.scheme("s3").client(_location(ctx))
    try:
        listed = s3.list_object_versions(Bucket=ref["bucket"], Prefix=ref["key"]).get("Versions", [])
    except ClientError as exc:
        if not not_offered(exc):
            raise
        raise RuntimeError(f"This server keeps no object versions (ListObjectVersions: {_code(exc)}): "
                           "there is only the current one.") from exc
    found = [v for v in listed if v["Key"] == ref["key"]]
    if not found or found == [] or all(v.get("VersionId") in (None, "null") for v in found):
        return f"s3://{ref['bucket']} keeps no versions (versioning is off): there is only the current one."
    found.sort(key=lambda v: v["LastModified"], reverse=True)
    from gridclient.storage.transfers import human_bytes

    labels = {f"{v['LastModified']:%Y-%m-%d %H:%M:%S} · {human_bytes(v.get('Size', 0))}"
              f"{' · current' if v.get('IsLatest') else ''} · {v['VersionId']}": v for v in found}
    answer = ctx.interaction.ask("Versions", [
        Field("version", "Version", kind="choice", choices=tuple(labels), default=next(iter(labels)), editable=False),
        Field("do", "Do", kind="choice", choices=("Download it to…", "Make it the current version"),
              default="Download it to…", editable=False),
        Field("folder", "Into the folder", kind="folder", default=os.path.join("~", "Downloads"),
              when=("do", ("Download it to…",))),
    ], text=f"{len(found)} versions of s3://{ref['bucket']}/{ref['key']}, newest first.")
    if answer is None:
        raise Cancelled()
    version = labels[answer["version"]]
    vid = version["VersionId"]
    if answer.get("do", "").startswith("Make"):
        s3.copy_object(Bucket=ref["bucket"], Key=ref["key"],
                       CopySource={"Bucket": ref["bucket"], "Key": ref["key"], "VersionId": vid})
        return f"The version of {version['LastModified']:%Y-%m-%d %H:%M} is the current one again."
    folder = os.path.expanduser(str(answer.get("folder") or "~/Downloads"))
    os.makedirs(folder, exist_ok=True)
    from gridclient.storage.names import LocalNames

    final = LocalNames(__import__("pathlib").Path(folder)).local_path(
        f"{ref['key'].rpartition('/')[2]}.{version['LastModified']:%Y%m%d-%H%M%S}")
    from gridclient.storage.transfers import part_path

    part = part_path(str(final))
    s3.download_file(ref["bucket"], ref["key"], part, ExtraArgs={"VersionId": vid})
    if os.path.getsize(part) != version.get("Size", 0):
        os.unlink(part)
        raise RuntimeError("The version arrived incomplete; nothing was kept.")
    os.replace(part, final)
    return f"Saved that version as {final}."
