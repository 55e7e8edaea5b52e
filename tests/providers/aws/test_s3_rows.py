"""An S3 object's row kept packed (providers/aws/s3_rows.py): the same fields as a plain Element,
equal to one, kept in the info cache as its few values and made into the same class again."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from gridclient.cache import InfoCache
from gridclient.elements import Element
from providers.aws import kinds as K
from providers.aws.s3_rows import ObjectElement, object_element

LISTED = {"Key": "photos/2024/a.jpg", "Size": 3 * 1024 ** 2, "ETag": '"0123abcd"', "StorageClass": "STANDARD",
          "LastModified": datetime(2026, 11, 30, 9, 15, 2, 250000, tzinfo=timezone.utc)}


def as_plain() -> Element:
    """The row as load_bucket made it before rows were packed."""
    return Element(K.OBJECT, "s3://bkt/photos/2024/a.jpg", "a.jpg", icon="file",
                   properties={"Key": "photos/2024/a.jpg", "Size": 3 * 1024 ** 2,
                               "LastModified": "2026-11-30T09:15:02.250000+00:00", "ETag": '"0123abcd"',
                               "StorageClass": "STANDARD"},
                   detail="3.1 MB · 2026-11-30 09:15:02",
                   ref={"bucket": "bkt", "key": "photos/2024/a.jpg", "uri": "s3://bkt/photos/2024/a.jpg"})


def test_a_packed_row_has_every_field_of_the_plain_one_and_equals_it():
    row = object_element("bkt", "photos/2024/", LISTED)
    assert isinstance(row, ObjectElement)
    plain = as_plain()
    assert row.to_dict() == plain.to_dict()
    assert row == plain and plain == row and not row != plain
    assert row.key == plain.key == "aws.s3.object:s3://bkt/photos/2024/a.jpg"
    assert list(row.properties) == ["Key", "Size", "LastModified", "ETag", "StorageClass"]  # Properties' order
    assert row != object_element("bkt", "photos/2024/", {**LISTED, "ETag": '"ffff"'})
    assert row != object_element("bkt", "photos/", LISTED)  # another label
    assert object_element("bkt", "", {"Key": "top.txt"}).to_dict() == Element(
        K.OBJECT, "s3://bkt/top.txt", "top.txt", icon="file",
        properties={"Key": "top.txt", "Size": 0, "LastModified": "", "ETag": "", "StorageClass": ""},
        detail="0 B · ", ref={"bucket": "bkt", "key": "top.txt", "uri": "s3://bkt/top.txt"}).to_dict()


def test_what_is_assigned_is_kept_and_stored_whole():
    row = object_element("bkt", "photos/2024/", LISTED)
    # Details merges what it fetched into the row's properties (ui/main_window.py)
    row.properties = {**row.properties, "ContentType": "image/jpeg"}
    assert row.properties["ContentType"] == "image/jpeg" and row.properties["Key"] == "photos/2024/a.jpg"
    assert row != as_plain() and row != object_element("bkt", "photos/2024/", LISTED)
    back = Element.restore(json.loads(json.dumps(row.stored())))
    assert type(back) is Element and back == row
    row.ref = {**row.ref, "extra": 1}
    assert row.ref["extra"] == 1 and row.ref["uri"] == "s3://bkt/photos/2024/a.jpg"


def test_the_info_cache_keeps_a_few_values_and_gives_the_same_class_back(tmp_path):
    rows = [object_element("bkt", "photos/2024/", {**LISTED, "Key": f"photos/2024/{i}.jpg"}) for i in range(3)]
    rows.append(Element(K.FOLDER, "bkt/photos/2024/jan/", "jan/", has_children=True, icon="folder",
                        ref={"bucket": "bkt", "prefix": "photos/2024/jan/", "uri": "s3://bkt/photos/2024/jan/"}))
    text = InfoCache.encode(rows[:1])
    assert len(text) < 150 and '"packed"' in text  # no dicts, no label or detail: they are made again
    cache = InfoCache(tmp_path / "listings.sqlite3")
    cache.put("vo", "node", rows)
    got, _ = cache.get("vo", "node")
    assert got == rows
    assert [type(e) for e in got] == [ObjectElement] * 3 + [Element]
    assert got[0].storage_class is rows[0].storage_class  # one of a few words: kept once
    cache.close()


def test_a_damaged_packed_row_is_a_cache_miss(tmp_path):
    cache = InfoCache(tmp_path / "listings.sqlite3")
    for packed in (["s3://bkt/a", "x", 1, "", "", ""], ["/not/a/uri", 0, 1, "", "", ""], ["s3://bkt/a"], 5):
        w = cache.writer("vo", "node")
        with cache._lock:
            cache._db.execute("INSERT INTO listing_page (scope, node, gen, seq, children) VALUES (?,?,?,?,?)",
                              ("vo", "node", w.gen, 0, json.dumps({"kind": K.OBJECT, "packed": packed})))
        w.seq = 1
        w.commit()
        assert cache.get("vo", "node") is None, packed
    cache.close()
