"""What the AWS provider's command-line listings need beyond the tree's loaders: the node an
argument names (``gridclient s3 ls s3://bucket/prefix``)."""

from __future__ import annotations

from gridclient.elements import Element
from providers.aws import kinds as K


def s3_target(token, text: str) -> Element:
    """The bucket or folder ``s3://bucket[/prefix]`` names, as the tree shows it (so its listing
    refreshes the same cached node). ValueError for what is no s3:// URI; LookupError for a bucket
    that does not exist. A prefix is a folder: "s3://b/logs" lists what is under "logs/"."""
    from botocore.exceptions import ClientError

    from providers.aws.nodes import bucket_element

    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise ValueError(f"“{text}” is not an S3 URI: write s3://bucket or s3://bucket/prefix.")
    bucket, _, prefix = text[5:].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    try:
        token.client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        if status == 404 or code in ("404", "NoSuchBucket"):
            raise LookupError(f"There is no bucket “{bucket}”.") from None
        raise
    if not prefix:
        return bucket_element(bucket)
    return Element(K.FOLDER, f"{bucket}/{prefix}", prefix, has_children=True, icon="folder",
                   properties={"Bucket": bucket, "Prefix": prefix},
                   ref={"bucket": bucket, "prefix": prefix, "uri": f"s3://{bucket}/{prefix}"})
