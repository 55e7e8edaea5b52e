"""The info cache: last-known children of each node, in SQLite in the user cache dir.

The tree shows these at once and revalidates in the background (cloudmesh's "refresh on/off",
done so the person never waits twice for the same list). Only listings are kept — never secrets.
The database is opened on first use (the first listing), not at start-up.

A listing is written a page at a time as it arrives (:meth:`InfoCache.writer`), under a new
generation that replaces the node's previous one only when the listing completes: a folder of
100,000 objects was once kept as one 40 MB text, built at the end beside the rows (and copied
again by SQLite), which was most of the memory peak of showing it. A listing that fails or is
stopped leaves the previous one in place.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gridclient.elements import Element

if TYPE_CHECKING:
    import sqlite3


class InfoCache:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._conn: "sqlite3.Connection | None" = None

    @property
    def _db(self) -> "sqlite3.Connection":
        """The database, opened the first time it is needed; callers hold the lock."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> "sqlite3.Connection":
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            self._init(db)
        except sqlite3.DatabaseError:
            # a damaged cache is only a cache: start a new one
            db.close()
            self.path.replace(self.path.with_suffix(".corrupt"))
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._init(db)
        return db

    @staticmethod
    def _init(db: "sqlite3.Connection") -> None:
        db.execute("PRAGMA journal_mode=WAL")
        # the single-text table of earlier versions: only a cache, so dropped rather than read
        db.execute("DROP TABLE IF EXISTS listing")
        db.execute(
            "CREATE TABLE IF NOT EXISTS listing_head ("
            " scope TEXT NOT NULL, node TEXT NOT NULL, gen INTEGER NOT NULL, stored REAL NOT NULL,"
            " PRIMARY KEY (scope, node))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS listing_page ("
            " scope TEXT NOT NULL, node TEXT NOT NULL, gen INTEGER NOT NULL, seq INTEGER NOT NULL,"
            " children TEXT NOT NULL, PRIMARY KEY (scope, node, gen, seq))"
        )

    def get(self, scope: str, node: str) -> tuple[list[Element], float] | None:
        with self._lock:
            head = self._db.execute(
                "SELECT gen, stored FROM listing_head WHERE scope=? AND node=?", (scope, node)
            ).fetchone()
            if head is None:
                return None
            gen, stored = head
            pages = [text for (text,) in self._db.execute(
                "SELECT children FROM listing_page WHERE scope=? AND node=? AND gen=? ORDER BY seq",
                (scope, node, gen))]
        from gridclient.heap import rows_added

        out: list[Element] = []
        try:
            for text in pages:
                # one short json.loads per line: the GIL changes hands between them, whereas one
                # call over 10,000 rows holds it for ~50 ms and stalls the GUI thread
                page = [Element.restore(json.loads(line)) for line in text.splitlines() if line]
                out.extend(page)
                # they will be rows: frozen as they come, or a full collection walks 100,000 of
                # them while the GUI waits for the GIL (gridclient.heap)
                rows_added(len(page))
        except (ValueError, TypeError):
            return None
        return out, stored

    @staticmethod
    def encode(children: list[Element]) -> str:
        """Children as stored: JSON lines, one element each (json.dumps escapes newlines in strings),
        as :meth:`Element.stored` gives it — a packed row (an S3 object) as its few values, made
        into the same class again when read.

        One short json.dumps per element, as in get(): the GIL changes hands between them.
        """
        return "\n".join(json.dumps(c.stored(), default=str) for c in children)

    def writer(self, scope: str, node: str) -> "ListingWriter":
        """Store a listing page by page: ``add(page)`` as pages come, ``commit()`` when complete."""
        return ListingWriter(self, scope, node)

    def put(self, scope: str, node: str, children: list[Element]) -> None:
        """Store a whole listing at once."""
        w = self.writer(scope, node)
        w.add(children)
        w.commit()

    def forget(self, scope: str, node: str | None = None) -> None:
        with self._lock:
            where, args = ("scope=?", (scope,)) if node is None else ("scope=? AND node=?", (scope, node))
            self._db.execute(f"DELETE FROM listing_head WHERE {where}", args)
            self._db.execute(f"DELETE FROM listing_page WHERE {where}", args)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class ListingWriter:
    """One listing being stored: pages go in under a generation of their own as they come, and
    :meth:`commit` makes that generation the node's (dropping the one before); :meth:`abort`, or
    a writer dropped without commit, leaves the previous listing as it was."""

    _next_gen = 0
    _gen_lock = threading.Lock()

    def __init__(self, cache: InfoCache, scope: str, node: str):
        self.cache, self.scope, self.node = cache, scope, node
        with ListingWriter._gen_lock:  # unique within the process, increasing across runs
            ListingWriter._next_gen = max(ListingWriter._next_gen + 1, time.time_ns())
            self.gen = ListingWriter._next_gen
        self.seq = 0
        self.done = False

    def add(self, page: list[Element]) -> None:
        text = InfoCache.encode(page)  # outside the lock: other listings write meanwhile
        with self.cache._lock:
            self.cache._db.execute(
                "INSERT INTO listing_page (scope, node, gen, seq, children) VALUES (?,?,?,?,?)",
                (self.scope, self.node, self.gen, self.seq, text))
        self.seq += 1

    def commit(self) -> None:
        """This listing becomes the node's, unless a newer one was stored meanwhile (two loads of
        one node overlapping): then its own pages go. Older generations' pages go either way, and
        a newer one still being written keeps its pages."""
        c = self.cache
        key = (self.scope, self.node)
        with c._lock:
            db = c._db
            db.execute("BEGIN")
            try:
                head = db.execute("SELECT gen FROM listing_head WHERE scope=? AND node=?", key).fetchone()
                if head is not None and head[0] > self.gen:
                    db.execute("DELETE FROM listing_page WHERE scope=? AND node=? AND gen=?", (*key, self.gen))
                else:
                    db.execute("DELETE FROM listing_page WHERE scope=? AND node=? AND gen<?", (*key, self.gen))
                    db.execute("INSERT OR REPLACE INTO listing_head (scope, node, gen, stored) VALUES (?,?,?,?)",
                               (*key, self.gen, time.time()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.done = True

    def abort(self) -> None:
        """The listing did not complete: its pages go, the previous listing stays."""
        if self.done or self.seq == 0:
            return
        self.done = True
        with self.cache._lock:
            self.cache._db.execute("DELETE FROM listing_page WHERE scope=? AND node=? AND gen=?",
                                   (self.scope, self.node, self.gen))
