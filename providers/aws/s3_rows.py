"""An S3 object's row in the tree, kept small: a folder of 100,000 objects is 100,000 of them.

:class:`ObjectElement` keeps the object's URI (its id), where the label starts in it, and the
size, time, ETag and storage class of the listing; its ``properties``, ``ref``, ``label`` and
``detail`` are made when read (:class:`gridclient.elements.PackedElement`). A row went from ~960
bytes as a plain Element (two dicts, seven strings, most of them parts of one another) to ~400.
The info cache keeps the same values and makes the same class again on a warm start.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from gridclient.elements import PackedElement
from gridclient.storage.jobs import human_bytes
from providers.aws import kinds as K

_SCHEME = len("s3://")


class ObjectElement(PackedElement):
    """An object in a bucket: ``s3://bucket/prefix/name``, labelled ``name``."""

    __slots__ = ("start", "size", "modified", "etag", "storage_class")
    KIND = K.OBJECT
    ICON = "file"

    def __init__(self, uri: str, start: int, size: int, modified: str, etag: str, storage_class: str):
        self._init_base(uri)
        self.start = start  # where the label begins in the URI (after the folder's prefix)
        self.size = size
        self.modified = modified
        self.etag = etag
        # one of a few words: kept once, also when read back from the cache
        self.storage_class = sys.intern(storage_class)

    def packed(self) -> list:
        return [self.id, self.start, self.size, self.modified, self.etag, self.storage_class]

    @classmethod
    def unpack(cls, values: list) -> "ObjectElement":
        uri, start, size, modified, etag, storage_class = values
        if not (isinstance(uri, str) and uri.startswith("s3://") and isinstance(start, int) and 0 <= start <= len(uri)
                and isinstance(size, int) and isinstance(modified, str) and isinstance(etag, str)
                and isinstance(storage_class, str)):
            raise ValueError("not an S3 object row")
        return cls(uri, start, size, modified, etag, storage_class)

    def bucket(self) -> str:
        return self.id[_SCHEME:self.id.index("/", _SCHEME)]

    def object_key(self) -> str:
        return self.id[self.id.index("/", _SCHEME) + 1:]

    def make_label(self) -> str:
        return self.id[self.start:]

    def make_properties(self) -> dict[str, Any]:
        return {"Key": self.object_key(), "Size": self.size, "LastModified": self.modified, "ETag": self.etag,
                "StorageClass": self.storage_class}

    def make_ref(self) -> dict[str, Any]:
        uri = self.id
        slash = uri.index("/", _SCHEME)
        return {"bucket": uri[_SCHEME:slash], "key": uri[slash + 1:], "uri": uri}

    def make_detail(self) -> str:
        return f"{human_bytes(self.size)} · {self.modified[:19].replace('T', ' ')}"


def object_element(bucket: str, prefix: str, obj: dict) -> ObjectElement:
    """The row of one object of a ``list_objects_v2`` page, listed under ``prefix``."""
    modified = obj.get("LastModified")
    modified = modified.isoformat() if isinstance(modified, datetime) else str(modified or "")
    uri = f"s3://{bucket}/{obj['Key']}"  # the row's id, and all of its names
    return ObjectElement(uri, _SCHEME + len(bucket) + 1 + len(prefix), obj.get("Size", 0), modified,
                         obj.get("ETag", ""), obj.get("StorageClass", ""))
