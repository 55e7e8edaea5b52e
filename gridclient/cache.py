"""The info cache: last-known children of each node, in SQLite in the user cache dir.

The tree shows these at once and revalidates in the background (cloudmesh's "refresh on/off",
done so the person never waits twice for the same list). Only listings are kept — never secrets.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from gridclient.elements import Element


class InfoCache:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            self._init()
        except sqlite3.DatabaseError:
            # a damaged cache is only a cache: start a new one
            self._db.close()
            path.replace(path.with_suffix(".corrupt"))
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._init()

    def _init(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
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
        try:
            return [Element.from_dict(d) for d in json.loads(row[0])], row[1]
        except (ValueError, TypeError):
            return None

    def put(self, scope: str, node: str, children: list[Element]) -> None:
        text = json.dumps([c.to_dict() for c in children], default=str)
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
            self._db.close()
