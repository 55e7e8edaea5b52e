"""The info cache: opened on first use, a damaged file replaced, listings round-trip."""

from __future__ import annotations

from gridclient.cache import InfoCache
from gridclient.elements import Element


def test_opened_on_first_use_and_round_trips(tmp_path):
    path = tmp_path / "cache" / "listings.sqlite3"
    cache = InfoCache(path)
    assert not path.exists()  # start-up makes no database
    rows = [Element("k", "a", "A", detail="line\nbreak"), Element("k", "b", "B", properties={"n": 1})]
    cache.put_encoded("vo", "node", [cache.encode(rows[:1]), cache.encode(rows[1:])])
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
    cache.put_encoded("vo", "node", [cache.encode([Element("k", "a", "A")])])
    assert cache.get("vo", "node")[0][0].label == "A"
    cache.close()
