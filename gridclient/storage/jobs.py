"""What the transfer queue keeps: a :class:`Job` (what the person asked: these files, to there) and
its :class:`FileTask` s (the files it found), as they are shown, saved in ``transfers.json`` and
read back after a restart; and :class:`InOrder`, which tells how much of a download may be kept.
Qt-free, no I/O but the file a download writes.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from gridclient.storage.base import Entry, Location, Stop

KINDS = ("upload", "download", "copy", "move", "delete")
ENDED = ("done", "failed", "cancelled", "interrupted")
OVERWRITE, SKIP, RENAME, NEWER = "Overwrite", "Skip", "Rename", "Only if newer or different"
KEEP_ENDED = 50  # finished jobs kept in transfers.json


@dataclass
class FileTask:
    source: Entry | None  # None for a folder to make
    target: Location | None  # None for a deletion
    size: int = 0
    done: int = 0
    state: str = "queued"  # queued | running | done | failed | skipped | cancelled
    error: str = ""
    renamed: str = ""  # why the local name differs from the remote one
    started: float = 0.0  # when its upload first began (finds the parts of an interrupted one)
    kept: int = 0  # bytes of its download written from the start without a gap (resume from here)
    choice: str = ""  # what the person chose when its target existed (a retry does not ask again)
    note: dict[str, Any] = field(default_factory=dict)  # the scheme's record of its upload (S3's upload id)
    stop: Stop = field(default_factory=Stop, repr=False)

    @property
    def label(self) -> str:
        loc = self.source.location if self.source is not None else self.target
        return loc.display if loc is not None else ""

    def cancel(self) -> None:
        self.stop.set()

    def to_dict(self) -> dict[str, Any]:
        src = self.source
        return {"source": None if src is None else {**src.location.to_dict(), "size": src.size,
                                                    "etag": src.etag, "modified": src.modified,
                                                    "extra": src.extra},
                "target": None if self.target is None else self.target.to_dict(),
                "size": self.size, "done": self.done if self.state == "done" else 0,
                "state": self.state, "error": self.error, "renamed": self.renamed, "started": self.started,
                "kept": self.kept, "choice": self.choice, "note": dict(self.note)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FileTask":
        s = d.get("source")
        source = None if s is None else Entry(Location.from_dict(s), int(s.get("size", 0)),
                                              s.get("modified"), str(s.get("etag", "")),
                                              extra=dict(s.get("extra") or {}))
        target = None if d.get("target") is None else Location.from_dict(d["target"])
        return cls(source, target, int(d.get("size", 0)), int(d.get("done", 0)), str(d.get("state", "queued")),
                   str(d.get("error", "")), str(d.get("renamed", "")), float(d.get("started", 0.0)),
                   int(d.get("kept", 0)), str(d.get("choice", "")), dict(d.get("note") or {}))


@dataclass
class Job:
    kind: str
    sources: list[Location]
    target: Location | None
    title: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = "scanning"  # scanning | queued | running | done | failed | cancelled | interrupted
    files: list[FileTask] = field(default_factory=list)
    conflict: str = ""  # a choice that applies to every conflict; "" asks
    created: float = field(default_factory=time.time)
    finished: float = 0.0
    message: str = ""
    rename: str = ""  # the one source's new name in the target
    started_run: float = 0.0
    stop: Stop = field(default_factory=Stop, repr=False)
    # a download's source folders' modification times, by path (not kept in transfers.json: a job
    # resumed after a restart leaves its folders' times as they are)
    folder_times: dict[str, float] = field(default_factory=dict, repr=False)
    _samples: list[tuple[float, int]] = field(default_factory=list, repr=False)

    # -- what the Operations dock shows --------------------------------------------------------
    @property
    def bytes_total(self) -> int:
        return sum(t.size for t in self.files if t.state != "skipped")

    @property
    def bytes_done(self) -> int:
        return sum(t.done for t in self.files if t.state != "skipped")

    def count(self, *states: str) -> int:
        return sum(1 for t in self.files if t.state in states)

    @property
    def renamed(self) -> list[FileTask]:
        return [t for t in self.files if t.renamed]

    @property
    def speed(self) -> float:
        """Bytes a second over the last few seconds."""
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    @property
    def eta(self) -> float | None:
        speed = self.speed
        if self.state != "running" or speed <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / speed)

    @property
    def progress(self) -> float | None:
        total = self.bytes_total
        if self.kind == "delete" or not total:
            n = len(self.files)
            return self.count("done", "skipped", "failed") / n if n else None
        return self.bytes_done / total

    def _sample(self) -> None:
        """Note the bytes done now, for :attr:`speed` — at most ten times a second: summing a job
        of 8,000 files at each file's start and end made the copy take three times as long."""
        now = time.monotonic()
        if self._samples and now - self._samples[-1][0] < 0.1:
            return
        self._samples.append((now, self.bytes_done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 3.0:
            self._samples.pop(0)

    def cancel(self) -> None:
        self.stop.set()
        for t in self.files:
            t.cancel()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "state": self.state,
                "sources": [s.to_dict() for s in self.sources],
                "target": None if self.target is None else self.target.to_dict(),
                "conflict": self.conflict, "rename": self.rename, "created": self.created, "finished": self.finished,
                "message": self.message, "files": [t.to_dict() for t in self.files]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Job":
        job = cls(str(d["kind"]), [Location.from_dict(s) for s in d.get("sources", ())],
                  None if d.get("target") is None else Location.from_dict(d["target"]),
                  str(d.get("title", "")), str(d["id"]), str(d.get("state", "interrupted")),
                  [FileTask.from_dict(t) for t in d.get("files", ())], str(d.get("conflict", "")),
                  float(d.get("created", 0.0)), float(d.get("finished", 0.0)), str(d.get("message", "")),
                  str(d.get("rename", "")))
        if job.state not in ENDED:
            job.state = "interrupted"
            job.message = "The app was closed during this transfer. Resume goes on where it stopped."
        for t in job.files:
            if t.state == "running":
                t.state = "queued"
        return job


def part_path(final: str) -> str:
    """The hidden temporary name a download is written under, beside its final name."""
    head, tail = os.path.split(final)
    return os.path.join(head, f".{hashlib.sha1(tail.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
                              ".gridclient-part")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


class InOrder:
    """The download's file, as the scheme writes it: a parallel download writes its ranges as they
    come, so bytes past a gap may be there before the gap is filled. This keeps ``task.kept``: how
    many bytes from the start are written without a gap — what a resume may keep (the queue file
    holds it, also when the app is killed)."""

    def __init__(self, f, task: FileTask):
        self.f, self.task = f, task
        self._at = 0
        self._ahead: dict[int, int] = {}  # start → end of runs written past the gap

    def seek(self, offset: int, whence: int = 0) -> int:
        self._at = self.f.seek(offset, whence)
        return self._at

    def tell(self) -> int:
        return self._at

    def write(self, data) -> int:
        n = self.f.write(data)
        start, end = self._at, self._at + n
        self._at = end
        kept = self.task.kept
        if start <= kept:
            kept = max(kept, end)
            while True:  # runs written earlier that now join
                joined = [s for s in self._ahead if s <= kept]
                if not joined:
                    break
                for s in joined:
                    kept = max(kept, self._ahead.pop(s))
            self.task.kept = kept
        else:
            self._ahead[start] = max(self._ahead.get(start, 0), end)
        return n

    def flush(self) -> None:
        self.f.flush()

    def fileno(self) -> int:
        return self.f.fileno()

    def __getattr__(self, name):
        return getattr(self.f, name)
