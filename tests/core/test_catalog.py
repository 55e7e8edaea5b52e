"""gridclient.catalog: a catalog kept in SQLite and searched in memory, word by word."""

from __future__ import annotations

import threading

import pytest

from gridclient.catalog import SEP, Catalog, field_search

COLUMNS = ("Id", "Name", "Created")


def rows(n: int, name=lambda i: f"image-{i}", date=lambda i: f"2026-01-{i % 28 + 1:02d}"):
    return [(f"id-{i}", date(i), (f"id-{i}", name(i), date(i)), {"n": i}) for i in range(n)]


def put(cat: Catalog, scope: str, items, label="images") -> None:
    w = cat.writer(scope, COLUMNS, label)
    w.add(items)
    w.commit()


@pytest.fixture
def cat(tmp_path):
    c = Catalog(tmp_path / "catalog.sqlite3")
    yield c
    c.close()


def test_search_keeps_rows_with_every_word_in_any_case_newest_first(cat):
    put(cat, "s", [("a", "2024-01-01", ("a", "Ubuntu Noble arm64", "2024-01-01"), {}),
                   ("b", "2025-06-01", ("b", "ubuntu noble x86_64", "2025-06-01"), {}),
                   ("c", "2023-01-01", ("c", "Debian arm64", "2023-01-01"), {}),
                   ("d", "2026-02-01", ("d", "ubuntu jammy arm64", "2026-02-01"), {})])
    found, total = cat.search(["s"], "UBUNTU")
    assert [r[0] for r in found] == ["d", "b", "a"] and total == 3
    found, total = cat.search(["s"], "  arm64   noble ")  # order and blanks of words do not matter
    assert [r[0] for r in found] == ["a"] and total == 1
    assert found[0] == ("a", "Ubuntu Noble arm64", "2024-01-01")  # the columns as given
    assert cat.search(["s"], "2025")[0][0][0] == "b"  # any column is searched
    assert cat.search(["s"], "zzz") == ([], 0)
    assert [r[0] for r in cat.search(["s"], "")[0]] == ["d", "b", "a", "c"]


def test_only_the_first_rows_are_given_with_the_count_of_all(cat):
    put(cat, "s", rows(1000, name=lambda i: f"img-{'even' if i % 2 == 0 else 'odd'}-{i}"))
    found, total = cat.search(["s"], "even", limit=50)
    assert len(found) == 50 and total == 500
    assert all("even" in r[1] for r in found)


def test_a_new_fetch_replaces_the_old_only_when_committed(cat):
    put(cat, "s", rows(10))
    w = cat.writer("s", COLUMNS, "images")
    w.add(rows(3, name=lambda i: f"fresh-{i}"))
    assert cat.search(["s"], "fresh") == ([], 0)  # still being fetched: the old one is searched
    assert cat.about("s").total == 10
    w.abort()
    assert cat.about("s").total == 10 and cat.search(["s"], "fresh") == ([], 0)
    w = cat.writer("s", COLUMNS, "images")
    w.add(rows(3, name=lambda i: f"fresh-{i}"))
    about = w.commit()
    assert about.total == 3 and cat.search(["s"], "fresh")[1] == 3 and cat.search(["s"], "image")[1] == 0
    assert cat._db.execute("SELECT count(*) FROM catalog_row").fetchone()[0] == 3  # the old rows are gone


def test_of_two_overlapping_fetches_the_newer_stands(cat):
    older = cat.writer("s", COLUMNS, "images")
    newer = cat.writer("s", COLUMNS, "images")
    newer.add(rows(2, name=lambda i: f"newer-{i}"))
    older.add(rows(5, name=lambda i: f"older-{i}"))
    newer.commit()
    older.commit()  # finished last, but began first
    assert cat.search(["s"], "newer")[1] == 2 and cat.search(["s"], "older")[1] == 0
    assert cat._db.execute("SELECT count(*) FROM catalog_row").fetchone()[0] == 2


def test_several_scopes_are_merged_newest_first(cat):
    put(cat, "public", rows(3, name=lambda i: f"pub-{i}", date=lambda i: f"2020-0{i + 1}-01"))
    put(cat, "own", [("mine", "2020-02-15", ("mine", "my image", "2020-02-15"), {})])
    found, total = cat.search(["public", "own", "never-fetched"], "")
    assert [r[0] for r in found] == ["id-2", "mine", "id-1", "id-0"] and total == 4


def test_data_gives_what_was_stored_for_each_id(cat):
    put(cat, "s", rows(600))
    data = cat.data("s", [f"id-{i}" for i in range(0, 600, 2)] + ["nope"])  # more ids than one query takes
    assert len(data) == 300 and data["id-598"] == {"n": 598} and "nope" not in data


def test_a_separator_in_a_column_does_not_split_it(cat):
    put(cat, "s", [("x", "2026", ("x", f"bad{SEP}name", "2026"), {})])
    assert cat.search(["s"], "bad")[0] == [("x", "bad name", "2026")]


def test_the_file_is_kept_across_instances_and_a_damaged_one_is_replaced(tmp_path):
    path = tmp_path / "c.sqlite3"
    first = Catalog(path)
    put(first, "s", rows(5))
    first.close()
    again = Catalog(path)
    assert again.about("s").total == 5 and again.search(["s"], "image-3")[1] == 1
    again.close()
    path.write_bytes(b"this is not a database" * 100)
    for extra in ("-wal", "-shm"):
        (tmp_path / f"c.sqlite3{extra}").unlink(missing_ok=True)
    damaged = Catalog(path)
    assert damaged.about("s") is None  # started anew, the damaged file kept aside
    assert (tmp_path / "c.corrupt").exists()
    damaged.close()


def test_field_search_is_what_a_search_field_calls(tmp_path):
    path = tmp_path / "shared.sqlite3"
    writer = Catalog.at(path)
    assert Catalog.at(str(path)) is writer  # one per file: a worker warms what the GUI thread searches
    put(writer, "s", rows(30))
    m = field_search("image-1", str(path), "s")
    assert m.columns == COLUMNS and m.total == 11  # image-1, image-10 … image-19
    assert {r[0] for r in m.rows} == {"id-1", *(f"id-{i}" for i in range(10, 20))}


def test_searches_while_a_fetch_commits_see_one_catalog_or_the_other(cat):
    put(cat, "s", rows(2000, name=lambda i: "old"))
    seen, stop = set(), threading.Event()

    def search():
        while not stop.is_set():
            found, total = cat.search(["s"], "")
            seen.add((total, {r[1] for r in found} and next(iter({r[1] for r in found}))))

    t = threading.Thread(target=search)
    t.start()
    for _ in range(5):
        put(cat, "s", rows(2000, name=lambda i: "new"))
        put(cat, "s", rows(2000, name=lambda i: "old"))
    stop.set()
    t.join()
    assert seen <= {(2000, "old"), (2000, "new")}
