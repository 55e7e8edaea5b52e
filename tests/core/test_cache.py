"""The info cache: opened on first use, a damaged file replaced, listings round-trip."""

from __future__ import annotations

import json

from gridclient.cache import InfoCache
from gridclient.elements import Element, PackedElement


def test_opened_on_first_use_and_round_trips(tmp_path):
    path = tmp_path / "cache" / "listings.sqlite3"
    cache = InfoCache(path)
    assert not path.exists()  # start-up makes no database
    rows = [Element("k", "a", "A", detail="line\nbreak"), Element("k", "b", "B", properties={"n": 1})]
    w = cache.writer("vo", "node")
    w.add(rows[:1])
    w.add(rows[1:])
    assert cache.get("vo", "node") is None  # not until the listing is complete
    w.commit()
    assert path.exists()
    got, stored = cache.get("vo", "node")
    assert got == rows and stored > 0
    cache.forget("vo", "node")
    assert cache.get("vo", "node") is None
    cache.close()
    cache.close()  # twice is fine


def test_a_damaged_file_is_moved_aside_and_a_new_one_made(tmp_path):
    path = tmp_path / "listings.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    cache = InfoCache(path)
    assert cache.get("vo", "node") is None
    assert path.with_suffix(".corrupt").read_bytes().startswith(b"this is not a database")
    cache.put("vo", "node", [Element("k", "a", "A")])
    assert cache.get("vo", "node")[0][0].label == "A"
    cache.close()


def test_a_listing_that_does_not_complete_leaves_the_previous_one(tmp_path):
    cache = InfoCache(tmp_path / "listings.sqlite3")
    cache.put("vo", "node", [Element("k", "old", "Old")])
    w = cache.writer("vo", "node")
    w.add([Element("k", "new", "New")])
    w.abort()
    assert [e.id for e in cache.get("vo", "node")[0]] == ["old"]
    pages = cache._db.execute("SELECT COUNT(*) FROM listing_page").fetchone()[0]
    assert pages == 1  # the aborted listing's page is gone
    cache.close()


def test_overlapping_listings_of_one_node_keep_the_newest_whole(tmp_path):
    cache = InfoCache(tmp_path / "listings.sqlite3")
    older, newer = cache.writer("vo", "node"), cache.writer("vo", "node")
    older.add([Element("k", "a", "A")])
    newer.add([Element("k", "b", "B")])
    newer.add([Element("k", "c", "C")])
    newer.commit()
    older.commit()  # finished last, but started first: the newer listing stands
    assert [e.id for e in cache.get("vo", "node")[0]] == ["b", "c"]
    assert cache._db.execute("SELECT COUNT(*) FROM listing_page").fetchone()[0] == 2
    cache.close()


def test_a_cache_of_the_earlier_single_text_format_is_replaced(tmp_path):
    import sqlite3

    path = tmp_path / "listings.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE listing (scope TEXT, node TEXT, stored REAL, children TEXT)")
    db.execute("INSERT INTO listing VALUES ('vo', 'node', 1.0, '{}')")
    db.commit()
    db.close()
    cache = InfoCache(path)
    assert cache.get("vo", "node") is None
    cache.put("vo", "node", [Element("k", "a", "A")])
    assert cache.get("vo", "node")[0][0].id == "a"
    cache.close()


class Note(PackedElement):
    """A provider's row kept packed: its label, properties and ref made from two values."""

    __slots__ = ("text",)
    KIND = "sample.note"
    ICON = "note"

    def __init__(self, id: str, text: str):
        self._init_base(id)
        self.text = text

    def packed(self) -> list:
        return [self.id, self.text]

    @classmethod
    def unpack(cls, values: list) -> "Note":
        return cls(*values)

    def make_label(self) -> str:
        return self.text.upper()

    def make_properties(self) -> dict:
        return {"Text": self.text}

    def make_ref(self) -> dict:
        return {"note": self.id}


def test_packed_elements_round_trip_and_equal_plain_ones(tmp_path):
    note = Note("n1", "hello")
    plain = Element("sample.note", "n1", "HELLO", properties={"Text": "hello"}, icon="note", ref={"note": "n1"})
    assert note == plain and plain == note and note.to_dict() == plain.to_dict()
    assert note != Note("n1", "other") and note.detail == ""
    assert note.stored() == {"kind": "sample.note", "packed": ["n1", "hello"]}
    cache = InfoCache(tmp_path / "listings.sqlite3")
    changed = Note("n2", "bye")
    changed.state = "archived"  # no longer what its values say: kept whole
    cache.put("vo", "node", [note, plain, changed])
    got, _ = cache.get("vo", "node")
    assert [type(e) for e in got] == [Note, Element, Element] and got == [note, plain, changed]
    assert got[2].state == "archived" and got[2].label == "BYE"
    # a packed row whose class is not loaded: not understood, so not cached
    with cache._lock:
        cache._db.execute("UPDATE listing_page SET children = ?",
                          (json.dumps({"kind": "sample.unknown", "packed": ["x"]}),))
    assert cache.get("vo", "node") is None
    cache.close()
