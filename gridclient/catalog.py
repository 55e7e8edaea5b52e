"""Catalogs: big lists a provider fetches once and the person then searches as they type (a
region's public images: 25,000 and more on AWS, cloudmesh's ``image refresh`` / ``image list``).

Kept in SQLite in the cache dir (``catalog.sqlite3``), a scope per list ("aws-images|aws|
us-east-1|amazon"): a row per entry, with the columns shown, its date (rows are always given
newest first) and the entry's data, so an element can be made from it without asking the cloud.
A fetch writes a new generation page by page and makes it the scope's only when it completes: a
fetch that fails or is stopped leaves the previous catalog as it was.

Searching happens in memory: the columns of a scope (a few MB for 25,000 rows) are read once per
generation, and a search then keeps the rows that contain every word typed, case-insensitively,
anywhere in their columns. That answers in a few milliseconds, so a form may search on the GUI
thread at every keystroke (a search in SQLite, whose count must read every row, took 25–60 ms).
A caller on a worker may :meth:`Catalog.warm` the scopes first, so that even the first keystroke
finds them in memory.

Qt-free; thread-safe.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from gridclient.interaction import Matches

if TYPE_CHECKING:
    import sqlite3

#: the file, in the app's cache dir
FILE = "catalog.sqlite3"
#: columns are kept as one string, separated by this (a character no column holds)
SEP = "\x1f"
#: rows a search gives at most; the count of all matches comes beside them
LIMIT = 200


@dataclass(frozen=True)
class About:
    """What a scope holds: how many rows, fetched when (epoch seconds), its columns' titles."""

    scope: str
    total: int
    fetched: float
    columns: tuple[str, ...]
    label: str

    def age_text(self, now: float | None = None) -> str:
        """"fetched 3 minutes ago", "fetched 2 days ago"."""
        secs = max(0.0, (time.time() if now is None else now) - self.fetched)
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if secs >= size:
                n = int(secs // size)
                return f"fetched {n} {unit}{'s' if n != 1 else ''} ago"
        return "fetched just now"


class _Index:
    """A scope's rows in memory, newest first: the shown columns, and the same lower-cased."""

    __slots__ = ("gen", "rows", "hay")

    def __init__(self, gen: int, rows: list[str]):
        self.gen = gen
        self.rows = rows
        self.hay = [r.lower() for r in rows]


class Catalog:
    """One SQLite file of catalogs; one instance per file in a process (:meth:`at`), so a worker
    that warms a scope and the GUI thread that searches it share the rows in memory."""

    _shared: dict[Path, "Catalog"] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def drop(cls, path: str | Path) -> None:
        """Close the shared instance of this file, if any (the workbench closing)."""
        with cls._shared_lock:
            found = cls._shared.pop(Path(path), None)
        if found is not None:
            found.close()

    @classmethod
    def at(cls, path: str | Path) -> "Catalog":
        path = Path(path)
        with cls._shared_lock:
            found = cls._shared.get(path)
            if found is None:
                found = cls._shared[path] = cls(path)
            return found

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: "sqlite3.Connection | None" = None
        self._index: dict[str, _Index] = {}

    # -- the database ---------------------------------------------------------------------------
    @property
    def _db(self) -> "sqlite3.Connection":
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> "sqlite3.Connection":
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            self._init(db)
        except sqlite3.DatabaseError:  # a damaged catalog is only a cache: start a new one
            db.close()
            self.path.replace(self.path.with_suffix(".corrupt"))
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._init(db)
        return db

    @staticmethod
    def _init(db: "sqlite3.Connection") -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS catalog_scope (scope TEXT PRIMARY KEY, gen INTEGER NOT NULL,"
                   " total INTEGER NOT NULL, fetched REAL NOT NULL, columns TEXT NOT NULL, label TEXT NOT NULL)")
        # cols: the shown columns joined by SEP, the first being the entry's id
        db.execute("CREATE TABLE IF NOT EXISTS catalog_row (scope TEXT NOT NULL, gen INTEGER NOT NULL,"
                   " id TEXT NOT NULL, sort TEXT NOT NULL, cols TEXT NOT NULL, data TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS catalog_row_order ON catalog_row (scope, gen, sort DESC)")
        db.execute("CREATE INDEX IF NOT EXISTS catalog_row_id ON catalog_row (scope, gen, id)")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._index.clear()

    # -- writing --------------------------------------------------------------------------------
    def writer(self, scope: str, columns: Iterable[str], label: str = "") -> "CatalogWriter":
        """Store a fetched catalog: ``add(rows)`` as pages come, then ``commit()``."""
        return CatalogWriter(self, scope, tuple(columns), label)

    def forget(self, scope: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM catalog_row WHERE scope=?", (scope,))
            self._db.execute("DELETE FROM catalog_scope WHERE scope=?", (scope,))
            self._index.pop(scope, None)

    # -- reading --------------------------------------------------------------------------------
    def about(self, scope: str) -> About | None:
        with self._lock:
            row = self._db.execute("SELECT total, fetched, columns, label FROM catalog_scope WHERE scope=?",
                                   (scope,)).fetchone()
        if row is None:
            return None
        return About(scope, row[0], row[1], tuple(json.loads(row[2])), row[3])

    def _gen(self, scope: str) -> int | None:
        row = self._db.execute("SELECT gen FROM catalog_scope WHERE scope=?", (scope,)).fetchone()
        return None if row is None else row[0]

    def _rows(self, scope: str) -> list[str]:
        """The scope's shown rows, newest first, from memory (read once per generation)."""
        with self._lock:
            gen = self._gen(scope)
            if gen is None:
                return []
            idx = self._index.get(scope)
            if idx is None or idx.gen != gen:
                rows = [c for (c,) in self._db.execute(
                    "SELECT cols FROM catalog_row WHERE scope=? AND gen=? ORDER BY sort DESC, id",
                    (scope, gen))]
                idx = self._index[scope] = _Index(gen, rows)
            return idx.rows

    def warm(self, scopes: Iterable[str]) -> None:
        """Read these scopes into memory now (on a worker), so a search on the GUI thread does not."""
        for s in scopes:
            self._rows(s)

    def search(self, scopes: Iterable[str], text: str, limit: int = LIMIT) -> tuple[list[tuple[str, ...]], int]:
        """Rows of these scopes containing every word of ``text`` (any case, anywhere in a column),
        newest first, at most ``limit`` of them; and how many match in all."""
        words = text.lower().split()
        total = 0
        found: list[list[str]] = []  # per scope, its first ``limit`` matches
        for s in scopes:
            self._rows(s)
            with self._lock:
                idx = self._index.get(s)
            if idx is None:
                continue
            keep: list[int] | range = range(len(idx.rows))
            hay = idx.hay
            for w in words:  # each word narrows the rows the one before kept
                keep = [i for i in keep if w in hay[i]]
            total += len(keep)
            found.append([idx.rows[i] for i in keep[:limit]])
        if len(found) == 1:
            rows = found[0]
        else:  # several scopes: merged newest first by the date column, which sorts as text
            rows = sorted((r for part in found for r in part), key=_date_of, reverse=True)[:limit]
        return [tuple(r.split(SEP)) for r in rows], total

    def data(self, scope: str, ids: Iterable[str]) -> dict[str, Any]:
        """The stored data of these entries (their id → what the provider kept)."""
        ids = list(ids)
        out: dict[str, Any] = {}
        with self._lock:
            gen = self._gen(scope)
            if gen is None:
                return out
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for i, d in self._db.execute(
                        f"SELECT id, data FROM catalog_row WHERE scope=? AND gen=? AND id IN ({marks})",
                        (scope, gen, *chunk)):
                    out[i] = json.loads(d)
        return out


def _date_of(row: str) -> str:
    """The last column of a row: its date, by convention of the providers that merge scopes."""
    return row.rsplit(SEP, 1)[-1]


class CatalogWriter:
    """A catalog being fetched: rows go in under a generation of their own as pages come;
    :meth:`commit` makes it the scope's, :meth:`abort` (or never committing) leaves the old one."""

    def __init__(self, catalog: Catalog, scope: str, columns: tuple[str, ...], label: str):
        self.catalog, self.scope, self.columns, self.label = catalog, scope, columns, label
        self.gen = time.time_ns()
        self.count = 0
        self.done = False

    def add(self, rows: Iterable[tuple[str, str, tuple[str, ...], Any]]) -> None:
        """Rows of (id, sort key, shown columns, data); newest sorts last as text (ISO dates)."""
        batch = [(self.scope, self.gen, rid, sort, SEP.join(str(c).replace(SEP, " ") for c in cols),
                  json.dumps(data, default=str, separators=(",", ":")))
                 for rid, sort, cols, data in rows]
        with self.catalog._lock:
            db = self.catalog._db
            db.execute("BEGIN")
            try:
                db.executemany("INSERT INTO catalog_row (scope, gen, id, sort, cols, data) VALUES (?,?,?,?,?,?)",
                               batch)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.count += len(batch)

    def commit(self) -> About:
        c = self.catalog
        with c._lock:
            db = c._db
            db.execute("BEGIN")
            try:
                head = db.execute("SELECT gen FROM catalog_scope WHERE scope=?", (self.scope,)).fetchone()
                if head is not None and head[0] > self.gen:  # a newer fetch finished first: it stands
                    db.execute("DELETE FROM catalog_row WHERE scope=? AND gen=?", (self.scope, self.gen))
                    db.execute("COMMIT")
                    self.done = True
                    about = c.about(self.scope)
                    assert about is not None
                    return about
                db.execute("DELETE FROM catalog_row WHERE scope=? AND gen<?", (self.scope, self.gen))
                db.execute("INSERT OR REPLACE INTO catalog_scope (scope, gen, total, fetched, columns, label)"
                           " VALUES (?,?,?,?,?,?)", (self.scope, self.gen, self.count, time.time(),
                                                     json.dumps(list(self.columns)), self.label))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.done = True
        about = c.about(self.scope)
        assert about is not None
        return about

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        with self.catalog._lock:
            self.catalog._db.execute("DELETE FROM catalog_row WHERE scope=? AND gen=?", (self.scope, self.gen))


def catalog_path(paths: Any) -> Path:
    """The catalog file of an ``AppPaths`` (a handler's ``ctx.paths``, a loader's ``token.app_paths``)."""
    return Path(paths.cache) / FILE


def field_search(text: str, db_path: str, *scopes: str) -> Matches:
    """What a ``Field(kind="search", search_from="gridclient.catalog:field_search",
    search_args=(db_path, scope, …))`` calls at each keystroke: the matching rows, newest first."""
    cat = Catalog.at(db_path)
    abouts = [a for a in (cat.about(s) for s in scopes) if a is not None]
    columns = abouts[0].columns if abouts else ()
    rows, total = cat.search(scopes, text)
    return Matches(columns, rows, total)
