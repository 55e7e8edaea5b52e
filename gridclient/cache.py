"""The info cache: last-known children of each node, in SQLite in the user cache dir.

The tree shows these at once and revalidates in the background (cloudmesh's "refresh on/off",
done so the person never waits twice for the same list). Only listings are kept — never secrets.
The database is opened on first use (the first listing), not at start-up.
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
        db.execute(
            "CREATE TABLE IF NOT EXISTS listing ("
            " scope TEXT NOT NULL, node TEXT NOT NULL, stored REAL NOT NULL, children TEXT NOT NULL,"
            " PRIMARY KEY (scope, node))"
        )

    def get(self, scope: str, node: str) -> tuple[list[Element], float] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT children, stored FROM listing WHERE scope=? AND node=?", (scope, node)
            ).fetchone()
        if row is None:
            return None
        text, stored = row
        try:
            if text.startswith("["):  # written by 0.1's single-document format
                return [Element.from_dict(d) for d in json.loads(text)], stored
            # one short json.loads per line: the GIL changes hands between them, whereas one call
            # over 10,000 rows holds it for ~50 ms and stalls the GUI thread
            return [Element.from_dict(json.loads(line)) for line in text.splitlines() if line], stored
        except (ValueError, TypeError):
            return None

    @staticmethod
    def encode(children: list[Element]) -> str:
        """Children as stored: JSON lines, one element each (json.dumps escapes newlines in strings).

        One short json.dumps per element, as in get(): the GIL changes hands between them.
        """
        return "\n".join(json.dumps(c.to_dict(), default=str) for c in children)

    def put_encoded(self, scope: str, node: str, parts: list[str]) -> None:
        """Store children encoded page by page with :meth:`encode` (a listing does it as pages come)."""
        text = "\n".join(p for p in parts if p)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO listing (scope, node, stored, children) VALUES (?,?,?,?)",
                (scope, node, time.time(), text),
            )

    def forget(self, scope: str, node: str | None = None) -> None:
        with self._lock:
            if node is None:
                self._db.execute("DELETE FROM listing WHERE scope=?", (scope,))
            else:
                self._db.execute("DELETE FROM listing WHERE scope=? AND node=?", (scope, node))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
