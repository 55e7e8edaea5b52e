"""What the AWS provider's command-line listings need beyond the tree's loaders: the node an
argument names (``gridclient s3 ls s3://bucket/prefix``, ``image search TEXT``, ``sg rules GROUP``)."""

from __future__ import annotations

import dataclasses

from gridclient.elements import Element
from providers.aws import kinds as K


def s3_target(token, text: str) -> Element:
    """The bucket or folder ``s3://bucket[/prefix]`` names, as the tree shows it (so its listing
    refreshes the same cached node). ValueError for what is no s3:// URI; LookupError for a bucket
    that does not exist. A prefix is a folder: "s3://b/logs" lists what is under "logs/"; an
    object's URI, "s3://b/logs/a.txt", lists the names in "logs/" that begin with "a.txt" (the
    object among them), as aws s3 ls does."""
    from botocore.exceptions import ClientError

    from providers.aws.nodes import bucket_element

    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise ValueError(f"“{text}” is not an S3 URI: write s3://bucket or s3://bucket/prefix.")
    bucket, _, prefix = text[5:].partition("/")
    s3 = token.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        if status == 404 or code in ("404", "NoSuchBucket"):
            raise LookupError(f"There is no bucket “{bucket}”.") from None
        raise
    if prefix and not prefix.endswith("/") and _is_object(s3, bucket, prefix):
        # an object's URI (as aws s3 ls takes it): its folder, showing the names that begin so
        folder, _, name = prefix.rpartition("/")
        node = s3_target(token, f"s3://{bucket}/{folder}/" if folder else f"s3://{bucket}")
        # an id of its own: the window's cached rows of the folder stay the whole folder's
        return dataclasses.replace(node, id=f"{node.id}*{name}", ref={**node.ref, "filter": name})
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if not prefix:
        return bucket_element(bucket)
    return Element(K.FOLDER, f"{bucket}/{prefix}", prefix, has_children=True, icon="folder",
                   properties={"Bucket": bucket, "Prefix": prefix},
                   ref={"bucket": bucket, "prefix": prefix, "uri": f"s3://{bucket}/{prefix}"})


def _is_object(s3, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
            return False
        raise
    return True


def image_search(token, text: str) -> Element:
    """Services → Image catalog searching for ``text`` (``gridclient image search TEXT``): the
    tree's own node with the query its Search image catalog… sets, so the rows are its loader's —
    the fetched catalog searched for every word, in any case, in an image's id, name, owner,
    architecture, root device and date, newest first, at most 200; before any fetch, EC2's name
    filter. The catalog searched is the region's biggest fetched (``gridclient image refresh``),
    else Amazon's. ValueError for no words at all."""
    from providers.aws.catalog import fetched_owner
    from providers.aws.nodes import catalog_element

    query = " ".join(text.split())
    if not query:
        raise ValueError('Say what to search for: gridclient image search "ubuntu noble".')
    return catalog_element(token.region, {"query": query, "owner": fetched_owner(token) or "amazon"})


def security_group(token, text: str) -> Element:
    """The security group ``text`` names — its id (sg-…), or its name where one group of the
    region has it — as the tree shows it (``gridclient sg rules GROUP``: its rules, the tree's own
    listing of its children). LookupError when there is none; ValueError when the name is not
    unique (every VPC has a "default")."""
    from botocore.exceptions import ClientError

    from providers.aws.nodes import security_group_element

    text = text.strip()
    ec2 = token.client("ec2")
    if not text:
        raise ValueError("Name the security group: its id (sg-…) or its name.")
    if text.startswith("sg-"):  # a group's name may not begin with "sg-": this is an id
        if "/" in text or " " in text:
            raise LookupError(f"There is no security group “{text}” in {token.region}.")
        try:
            found = ec2.describe_security_groups(GroupIds=[text]).get("SecurityGroups", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed",
                                                                   "InvalidGroupId.NotFound"):
                raise LookupError(f"There is no security group “{text}” in {token.region}.") from None
            raise
    else:
        found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [text]}]).get(
            "SecurityGroups", [])
    if not found:
        raise LookupError(f"There is no security group “{text}” in {token.region}.")
    if len(found) > 1:
        ids = ", ".join(f"{g['GroupId']} ({g.get('VpcId') or 'no VPC'})" for g in found)
        raise ValueError(f"{len(found)} security groups are named “{text}”: {ids}. Name it by its id.")
    return security_group_element(found[0])
