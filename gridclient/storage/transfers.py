"""The transfer queue: upload, download, copy, move and delete jobs of many files. Qt-free.

A :class:`Job` is what the person asked for (these files, to there); its :class:`FileTask` s are
the files it found. Jobs run on the queue's threads: a few files at once, each through the best
route the two schemes have (a server-side copy where both ends are in one account; else the bytes
through here, streamed, never a whole file in memory).

Promises, each with a test:

- every finished file is checked — its size always, its content where the scheme can
  (:meth:`Scheme.verify`); a mismatch is a failed file;
- a download is written under a hidden temporary name in the target folder and renamed only when
  checked, so no partial file sits under a final name; a cancelled upload leaves no multipart
  parts (the scheme aborts them);
- a job survives a failed file, says which and why, and retries just the failed ones;
- an interrupted download goes on from its temporary file; an upload the app was stopped in the
  middle of goes on from its finished parts: the queue is kept in the workspace
  (``transfers.json``) and reloaded as "interrupted";
- a remote name never lands outside the chosen local folder (:mod:`gridclient.storage.names`);
  the job lists every name it changed;
- when a target exists the person is asked (Overwrite, Skip, Rename, Resume, only if newer or
  different), once for all if they say so.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from gridclient.interaction import Field, Interaction
from gridclient.operations import Cancelled
from gridclient.storage import Storage
from gridclient.storage.base import CopyRefused, Entry, Integrity, Location, Stop, StorageError
from gridclient.storage.jobs import (ENDED, KEEP_ENDED, KINDS, NEWER, OVERWRITE, RENAME, SKIP, FileTask, InOrder, Job,
                                     human_bytes, part_path)
from gridclient.storage.local import local_path
from gridclient.storage.names import LocalNames

__all__ = ["ENDED", "NEWER", "OVERWRITE", "RENAME", "SKIP", "FileTask", "Job", "TransferQueue", "human_bytes",
           "part_path"]

log = logging.getLogger(__name__)


class TransferQueue:
    """Runs jobs; tells listeners of every change (from its own threads, at most ~10 times a second
    per job for progress); keeps the jobs in ``state_file``."""

    def __init__(self, storage: Storage, state_file: Path | None = None, files_at_once: int = 10):
        self.storage = storage
        self.state_file = state_file
        self.jobs: list[Job] = []
        self._listeners: list[Callable[[Job], None]] = []
        self._pool = None
        self._files_at_once = files_at_once
        self._lock = threading.RLock()
        self._told: dict[str, float] = {}
        self._saved = 0.0
        self._saved_states: dict[str, str] = {}
        #: (job, error) -> a sentence; the workbench explains by the VO type of the job's storage
        self.explain_vo: Callable[[Job, BaseException], str] | None = None
        self.load()

    # -- listening --------------------------------------------------------------------------------
    def on_change(self, fn: Callable[[Job], None]) -> None:
        self._listeners.append(fn)

    def _changed(self, job: Job, force: bool = True) -> None:
        """Tell the listeners (progress: at most ~10 times a second a job); keep the queue file —
        at once when a job's own state changed, else at most every 2 s (a save writes every job:
        one per file made a 2,000-file copy take minutes). A job that starts running is kept by the
        next of those 2-s saves, not at once: its file list is ~25 ms of JSON per 1,000 files, paid
        before its first file moved; a job killed before is kept as scanning, and scans again."""
        now = time.monotonic()
        if not force and now - self._told.get(job.id, 0.0) < 0.1:
            return
        self._told[job.id] = now
        job._sample()
        for fn in list(self._listeners):
            try:
                fn(job)
            except Exception:  # noqa: BLE001 - a listener must not break a transfer
                log.exception("transfer listener failed")
        if now - self._saved > 2.0 or self._saved_states.get(job.id) != job.state != "running":
            self._saved_states[job.id] = job.state
            self.save()

    # -- keeping the queue -------------------------------------------------------------------------
    def load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            data = json.loads(self.state_file.read_text("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a transfer queue")
            self.jobs = [Job.from_dict(d) for d in data.get("jobs", ())]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # a damaged queue file loses the list of past transfers, never a file
            log.warning("transfer queue %s unreadable (%s); starting empty", self.state_file, exc)
            self.jobs = []

    def save(self) -> None:
        if self.state_file is None:
            return
        from gridclient.workspace import atomic_write_text

        with self._lock:
            self._saved = time.monotonic()
            ended = [j for j in self.jobs if j.state in ENDED and j.state != "interrupted"]
            drop = {j.id for j in ended[:-KEEP_ENDED]} if len(ended) > KEEP_ENDED else set()
            data = {"version": 1, "jobs": [j.to_dict() for j in self.jobs if j.id not in drop]}
            try:
                # compact: json's C encoder (an indented file is written by its Python one, 4× slower,
                # holding the GIL ~40 ms for a job of 1,000 files, which the transfers wait for)
                atomic_write_text(self.state_file, json.dumps(data, separators=(",", ":")))
            except OSError as exc:
                log.warning("could not keep the transfer queue: %s", exc)

    # -- asking ------------------------------------------------------------------------------------
    def submit(self, kind: str, sources: list[Location], target: Location | None,
               interaction: Interaction | None = None, conflict: str = "", title: str = "",
               rename: str = "") -> Job:
        """Start a job: find its files, ask about conflicts, move the bytes. Returns at once.

        ``rename`` gives the one source a new name in the target (Rename… is a move to the same
        folder under another name)."""
        if kind not in KINDS:
            raise ValueError(f"unknown transfer kind {kind!r}")
        if kind != "delete" and (target is None or not target.is_folder):
            raise StorageError("Transfers go into a folder or a bucket.")
        for src in sources:
            if target is not None and kind != "delete" and src.contains(target):
                raise StorageError(f"{src.display} cannot be {'moved' if kind == 'move' else 'copied'} "
                                   "into itself.")
        if rename and len(sources) != 1:
            raise ValueError("rename is for one source")
        job = Job(kind, list(sources), target, title or self._title(kind, sources, target), conflict=conflict)
        job.rename = rename
        with self._lock:
            self.jobs.append(job)
        self._changed(job)
        self._start(job, interaction, scan=True)
        return job

    def retry(self, job: Job, interaction: Interaction | None = None) -> None:
        """Run the failed, cancelled and unfinished files of an ended job again (resuming them)."""
        if job.state not in ENDED:
            return
        job.stop = Stop()
        for t in job.files:
            if t.state in ("failed", "cancelled", "queued", "running"):
                t.state, t.error, t.done, t.stop = "queued", "", 0, Stop()
        job.state, job.message = "queued", ""
        self._changed(job)
        self._start(job, interaction, scan=not job.files)

    resume = retry

    def remove(self, *jobs: Job) -> None:
        """Forget ended jobs, and the temporary files of their unfinished downloads."""
        gone = {id(j) for j in jobs if j.state in ENDED}
        for job in jobs:
            if id(job) not in gone:
                continue
            for t in job.files:
                if t.state != "done" and t.target is not None and t.target.scheme == "file" and t.source:
                    try:
                        os.unlink(part_path(local_path(t.target)))
                    except OSError:
                        pass
        if not gone:
            return
        with self._lock:
            self.jobs = [j for j in self.jobs if id(j) not in gone]
        self.save()

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while job.state not in ENDED or getattr(job, "_thread", None) and job._thread.is_alive():
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    def shutdown(self) -> None:
        """The app is quitting: unfinished jobs are kept as "interrupted" (Resume goes on with
        them next time: a download from its temporary file, an upload from its finished parts),
        not cancelled — a cancel would abort the uploads' parts."""
        for job in self.jobs:
            if job.state not in ENDED:
                job.state = "interrupted"
                job.message = "gridclient was closed during this transfer. Resume goes on where it stopped."
        self.save()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def busy(self) -> bool:
        return any(j.state not in ENDED for j in self.jobs)

    # -- running -----------------------------------------------------------------------------------
    def _title(self, kind: str, sources: list[Location], target: Location | None) -> str:
        what = sources[0].name or sources[0].root if len(sources) == 1 else f"{len(sources)} items"
        verb = {"upload": "Upload", "download": "Download", "copy": "Copy", "move": "Move",
                "delete": "Delete"}[kind]
        if target is None:
            return f"{verb} {what}"
        return f"{verb} {what} → {target.display}"

    def _start(self, job: Job, interaction: Interaction | None, scan: bool) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._files_at_once, thread_name_prefix="gridclient-transfer")
        thread = threading.Thread(target=self._run, args=(job, interaction, scan), daemon=True,
                                  name=f"gridclient-job-{job.id}")
        job._thread = thread  # type: ignore[attr-defined]
        thread.start()

    def _run(self, job: Job, interaction: Interaction | None, scan: bool) -> None:
        aheads: list = []
        try:
            if scan:
                job.state = "scanning"
                self._changed(job)
                job.files = self._scan(job)
            self._settle_conflicts(job, interaction)
            job.state, job.started_run = "running", time.time()
            self._changed(job)
            if job.kind == "delete":
                self._delete(job)
            else:
                queued = [t for t in job.files if t.state == "queued"]
                aheads = self._ahead(job, queued)
                futures = [self._pool.submit(self._file, job, t) for t in queued]
                for f in futures:
                    f.result()
                if job.kind == "move" and not job.stop.is_set():
                    self._remove_moved_folders(job)
                if job.folder_times:
                    self._date_folders(job)
            self._end(job)
        except Cancelled:
            job.state, job.message = "cancelled", "Cancelled."
        except Exception as exc:  # noqa: BLE001 - told on the job
            log.info("transfer %s failed: %s", job.title, exc, exc_info=not isinstance(exc, StorageError))
            job.state, job.message = "failed", self._explain(job, exc)
        finally:
            if job.stop.is_set() and job.state not in ("done", "failed") and job.count("queued", "running"):
                job.state, job.message = "cancelled", job.message or "Cancelled."
                for t in job.files:
                    if t.state in ("queued", "running"):
                        t.state = "cancelled"
            for ahead in aheads:
                try:
                    ahead.close()
                except Exception:  # noqa: BLE001 - a hint's leftovers
                    log.exception("closing a read-ahead failed")
            job.finished = time.time()
            self._changed(job)

    def _ahead(self, job: Job, tasks: list[FileTask]) -> list:
        """Tell each scheme the files about to be moved, in the order the workers take them (SFTP
        fetches or writes the small ones ahead, many at once); what they started, to close."""
        reads: dict[str, list[Entry]] = {}
        writes: dict[str, list[tuple[str, int, Location]]] = {}
        for t in tasks:
            if t.source is None or t.source.is_folder or t.target is None:
                continue
            if t.target.scheme == "file":
                reads.setdefault(t.source.location.scheme, []).append(t.source)
            elif t.source.location.scheme == "file" and not t.started:
                writes.setdefault(t.target.scheme, []).append(
                    (local_path(t.source.location), t.source.size, t.target))
        started: list = []
        for hint, by_scheme in (("read_ahead", reads), ("write_ahead", writes)):
            for name, files in by_scheme.items():
                try:
                    started += getattr(self.storage.scheme(name), hint)(files, job.stop)
                except Exception as exc:  # noqa: BLE001 - a hint: the files go one by one then
                    log.info("no %s on %s: %s", hint, name, exc)
        return started

    def _date_folders(self, job: Job) -> None:
        """A downloaded folder takes its source folder's modification time, as ``scp -rp`` and
        ``rsync -t`` give it: set once every file in it is written (a write in a folder changes
        its time). A folder maps to the folder its files went to; the job's target itself is left
        as it is."""
        top = os.path.normpath(local_path(job.target))
        dated: dict[str, float] = {}
        for t in job.files:
            if t.target is None or t.source is None or t.state not in ("done", "skipped"):
                continue
            there = t.source.location if t.source.is_folder else t.source.location.parent
            here = os.path.normpath(local_path(t.target) if t.source.is_folder else os.path.dirname(local_path(t.target)))
            while there.path in job.folder_times and here != top and here not in dated:
                dated[here] = job.folder_times[there.path]
                there, here = there.parent, os.path.dirname(here)
        for path, when in dated.items():
            try:
                os.utime(path, (when, when))
            except OSError as exc:  # the files are there: a folder's time is not worth failing for
                log.info("could not set the time of %s: %s", path, exc)

    def _end(self, job: Job) -> None:
        failed, done = job.count("failed"), job.count("done")
        skipped, cancelled = job.count("skipped"), job.count("cancelled")
        took = max(0.001, time.time() - job.started_run)
        if cancelled or (job.stop.is_set() and job.count("queued", "running")):
            job.state = "cancelled"
        else:  # a cancel that came after the last file ended changed nothing
            job.state = "failed" if failed else "done"
        parts = []
        if job.kind == "delete":
            # as the question counted them: files, and the folders asked for (not S3's markers inside)
            files = sum(1 for t in job.files if t.state == "done" and not t.source.is_folder)
            asked = set(job.sources)
            folders = sum(1 for t in job.files if t.state == "done" and t.source.is_folder
                          and t.source.location in asked)
            said = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((folders, "folder"), (files, "file")) if n]
            parts.append(" and ".join(said or ["nothing"]) + " deleted")
        else:
            # the files that arrived: a cancelled upload's parts in flight are taken back by
            # s3transfer's progress after this (the row then says 0 B), so they are not counted here
            moved = sum(t.size for t in job.files if t.state == "done")
            parts.append(f"{done} of {len(job.files)} files, {human_bytes(moved)} in {took:.1f} s")
        if skipped:
            parts.append(f"{skipped} skipped")
        if failed:
            first = next(t for t in job.files if t.state == "failed")
            parts.append(f"{failed} failed (first: {first.label}: {first.error})")
        if cancelled:
            parts.append(f"{cancelled} cancelled")
        if job.renamed:
            parts.append(f"{len(job.renamed)} names changed to be safe here")
        job.message = "; ".join(parts) + "."

    def _explain(self, job: Job, exc: BaseException) -> str:
        if isinstance(exc, (StorageError, OSError)) and not isinstance(exc, Integrity):
            if isinstance(exc, OSError) and exc.strerror:
                return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "") + "."
            return str(exc)
        if self.explain_vo is not None:
            return self.explain_vo(job, exc)
        return str(exc) or type(exc).__name__

    # -- finding the files -------------------------------------------------------------------------
    def _scan(self, job: Job) -> list[FileTask]:
        tasks: list[FileTask] = []
        names = LocalNames(Path(local_path(job.target))) if job.target is not None and \
            job.target.scheme == "file" and job.kind != "delete" else None
        for src in job.sources:
            if job.stop.is_set():
                raise Cancelled()
            scheme = self.storage.of(src)
            if job.kind == "move":
                moved = self._rename_in_place(job, src, scheme)
                if moved is not None:
                    tasks.append(moved)
                    continue
            if src.is_folder:
                if job.kind == "delete" and src.scheme == "file":
                    tasks.append(FileTask(Entry(src), None))
                    continue
                base = src.parent
                times = job.folder_times if names is not None else None
                entries = list(scheme.walk(src, times))
                if times is not None and src.path:
                    top = scheme.stat(src)
                    if top is not None and top.modified:
                        times[src.path] = top.modified
                if (job.kind == "delete" or not entries) and src.path:
                    entries.append(Entry(src))  # the folder itself: its marker, or an empty folder
            else:
                entry = scheme.stat(src)
                if entry is None:
                    raise StorageError(f"{src.display} does not exist any more.")
                base, entries = src.parent, [entry]
            for entry in entries:
                if entry.is_link:
                    continue  # links are not followed out of a dropped folder
                if job.kind == "delete":
                    tasks.append(FileTask(entry, None, 0))
                    continue
                rel = entry.location.relative_to(base)
                if job.rename:
                    rel = job.rename + ("/" if src.is_folder else "") + rel[len(src.name) + (1 if src.is_folder else 0):]
                why = ""
                if names is not None:
                    changed = len(names.renamed)
                    local = names.local_path(rel)
                    target = Location("file", path=str(local).replace(os.sep, "/") + ("/" if entry.is_folder else ""))
                    if len(names.renamed) > changed:  # this name had to change: say why
                        why = names.renamed[-1].reason
                else:
                    target = job.target.child(rel, folder=entry.is_folder)
                tasks.append(FileTask(entry if not entry.is_folder else Entry(entry.location), target,
                                      0 if entry.is_folder else entry.size, renamed=why))
        return tasks

    def _rename_in_place(self, job: Job, src: Location, scheme) -> FileTask | None:
        """A move within one server (or one local file system) to a name that is free: the server
        renames it — a folder of any size in one request, no byte read or written. None when it
        cannot (another server or bucket, a scheme without ``rename`` — S3 —, the target exists:
        then the usual copy, check and delete, with its conflict question)."""
        rename = getattr(scheme, "rename", None)
        target = job.target
        if rename is None or target is None or not src.same_root(target) or src.parent == target and not job.rename:
            return None
        dst = target.child(job.rename or src.name, folder=src.is_folder)
        try:
            if scheme.stat(dst) is not None or (not src.is_folder and scheme.stat(dst.parent.child(dst.name, folder=True))):
                return None
            entry = rename(src, dst)
        except (StorageError, OSError) as exc:  # across file systems, or refused: moved the usual way
            log.info("renaming %s in place failed (%s): copied and deleted instead", src.display, exc)
            return None
        size = 0 if src.is_folder else entry.size
        return FileTask(Entry(src, size=size), dst, size, done=size, state="done", note={"in_place": True})

    # -- conflicts ---------------------------------------------------------------------------------
    def _settle_conflicts(self, job: Job, interaction: Interaction | None) -> None:
        if job.kind == "delete" or job.target is None:
            return
        target_scheme = self.storage.of(job.target)
        todo = [t for t in job.files if t.state == "queued" and t.target is not None and not t.target.is_folder]
        existing: dict[str, Entry] = {}
        if len(todo) > 50:  # one listing, not a lookup per file
            try:
                existing = {e.location.path: e for e in target_scheme.walk(job.target)}
            except StorageError:
                existing = {}
        else:
            for t in todo:
                found = target_scheme.stat(t.target)
                if found is not None:
                    existing[t.target.path] = found
        for t in todo:
            there = existing.get(t.target.path)
            if there is None:
                continue
            choice = job.conflict or t.choice or self._ask(job, t, there, interaction)
            t.choice = choice  # a retry does not ask again
            self._apply(job, t, there, choice, target_scheme)

    def _ask(self, job: Job, task: FileTask, there: Entry, interaction: Interaction | None) -> str:
        if interaction is None:
            return SKIP
        # no Resume here: a partial file never sits under a final name, so an existing target is
        # whole; an unfinished transfer goes on with the job's own Resume (its files keep how far
        # they got)
        choices = [OVERWRITE, SKIP, RENAME, NEWER]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(there.modified)) if there.modified else "?"
        src = task.source
        text = (f"{task.target.display} already exists ({human_bytes(there.size)}, {when}).\n"
                f"The new one: {src.location.display if src else ''} ({human_bytes(task.size)}).")
        job.message = f"Asking what to do: {task.target.display} exists."
        self._changed(job)
        answer = interaction.ask("The target exists", [
            Field("choice", "What to do", kind="choice", choices=tuple(choices), default=SKIP, editable=False),
            Field("all", "Do the same for the other files of this transfer", kind="bool", default=False),
        ], text=text)
        if answer is None:
            job.cancel()
            raise Cancelled()
        job.message = ""
        choice = str(answer.get("choice") or SKIP)
        if answer.get("all"):
            job.conflict = choice
        return choice

    def _apply(self, job: Job, task: FileTask, there: Entry, choice: str, scheme) -> None:
        src = task.source
        if choice == SKIP:
            task.state = "skipped"
        elif choice == NEWER:
            same = (src is not None and there.size == src.size and (
                (src.etag and there.etag == src.etag) or
                (src.modified is not None and there.modified is not None and there.modified >= src.modified)))
            if same:
                task.state = "skipped"
        elif choice == RENAME:
            stem, dot, ext = task.target.name.partition(".") if not task.target.name.startswith(".") \
                else (task.target.name, "", "")
            for n in range(2, 10_000):
                candidate = task.target.parent.child(f"{stem} ({n}){dot}{ext}")
                if scheme.stat(candidate) is None:
                    task.target = candidate
                    break
        # OVERWRITE: the transfer replaces it

    # -- one file ----------------------------------------------------------------------------------
    def _file(self, job: Job, task: FileTask) -> None:
        if job.stop.is_set() or task.stop.is_set():
            task.state = "cancelled"
            return
        task.state, task.done = "running", 0
        self._changed(job)

        def progress(n: int) -> None:
            task.done += n
            self._changed(job, force=False)

        stop = _Either(job.stop, task.stop)
        try:
            src, dst = task.source, task.target
            if src is not None and src.is_folder:
                self.storage.of(dst).make_folder(dst)
            elif dst.scheme == "file":
                self._download(task, src, dst, progress, stop)
            elif src.location.scheme == "file":
                self._upload(task, src, dst, progress, stop)
            else:
                self._between(task, src, dst, progress, stop)
            if job.kind == "move" and src is not None and not src.is_folder:
                failed = self.storage.of(src.location).delete([src.location])
                if failed:
                    raise StorageError(f"Copied, but the original could not be removed: {failed[0][1]}")
            task.state, task.done = "done", task.size
        except Cancelled:
            task.state = "cancelled"
        except Exception as exc:  # noqa: BLE001 - the file fails, the job goes on
            task.state, task.done = "failed", 0
            task.error = self._explain(job, exc).rstrip(".")
            log.info("transfer of %s failed: %s", task.label, task.error)
        self._changed(job)

    def _download(self, task: FileTask, src: Entry, dst: Location, progress, stop) -> None:
        final = local_path(dst)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        part = part_path(final)
        offset = 0
        if task.started and task.kept and os.path.exists(part):  # resume, if the object is the one begun
            now = self.storage.of(src.location).stat(src.location)
            if now is not None and now.etag == src.etag and now.size == src.size:
                offset, src = min(task.kept, os.path.getsize(part), src.size), now
        task.started = task.started or time.time()
        scheme = self.storage.of(src.location)
        check = scheme.checker(src)
        follower = _Follower(part, task, check, src.size) if check is not None else None
        try:
            # unbuffered: what the scheme writes is in the file at once, for the checker to read
            with open(part, "r+b" if offset else "wb", buffering=0) as f:
                f.truncate(offset)  # past the contiguous bytes a parallel download may have holes
                if offset:
                    progress(offset)
                task.kept = offset
                if follower is not None:
                    follower.start()
                if offset < src.size:
                    scheme.download(src, InOrder(f, task), progress, stop, offset)
                os.fsync(f.fileno())
            got = os.path.getsize(part)
            if got != src.size:
                raise Integrity(f"{src.location.display}: received {got} bytes of {src.size}.")
            if follower is not None:
                follower.finish()  # what it has not read yet, then the checksum
            else:
                scheme.verify(src, part)
        except Integrity:
            task.kept = 0
            os.unlink(part)  # a bad copy is not kept, not even to resume
            raise
        finally:
            if follower is not None:
                follower.stop()
        os.replace(part, final)
        task.kept = 0
        if src.modified:
            os.utime(final, (src.modified, src.modified))

    def _upload(self, task: FileTask, src: Entry, dst: Location, progress, stop) -> None:
        scheme = self.storage.of(dst)
        path = local_path(src.location)
        size = os.path.getsize(path)
        task.size = size
        resume = scheme.resumable(dst, task.started, task.note) if task.started > 1.0 else None
        if not resume:
            task.started, task.note = time.time(), {}  # these find the parts if the app stops
        stored = scheme.upload(path, size, dst, progress, stop, resume=resume, note=task.note)
        task.note = {}
        self._keep_if_whole(scheme, stored, size, lambda: scheme.verify(stored, path))

    @staticmethod
    def _keep_if_whole(scheme, stored: Entry, size: int, same_content: Callable[[], None]) -> None:
        """What was stored has ``size`` bytes and ``same_content()`` raises no Integrity; else it is
        deleted (not left under its final name) and the Integrity raised."""
        try:
            if stored.size != size:
                raise Integrity(f"{stored.location.display} holds {stored.size} bytes; the original {size}.")
            same_content()
        except Integrity:
            scheme.delete([stored.location])
            raise

    def _between(self, task: FileTask, src: Entry, dst: Location, progress, stop) -> None:
        source_scheme, target_scheme = self.storage.of(src.location), self.storage.of(dst)
        if source_scheme is target_scheme and target_scheme.can_copy(src.location, dst):
            try:
                target_scheme.copy(src, dst, progress, stop)
                return
            except CopyRefused as exc:  # another account's keys: the bytes come through here
                log.info("server-side copy refused, streaming: %s", exc)
                task.done = 0
        stream = source_scheme.open_read(src)
        try:
            stored = target_scheme.upload(stream, src.size, dst, progress, stop)
        finally:
            stream.close()

        def same_etag() -> None:  # two single-part ETags are the MD5s of the bytes
            if src.etag and stored.etag and "-" not in src.etag + stored.etag and src.etag != stored.etag:
                raise Integrity(f"{dst.display} differs from the original (checksum).")

        self._keep_if_whole(target_scheme, stored, src.size, same_etag)

    # -- deleting ----------------------------------------------------------------------------------
    def _delete(self, job: Job) -> None:
        by_scheme: dict[str, list[FileTask]] = {}
        # files first, then folders deepest first, so a folder is empty when its turn comes
        order = sorted((t for t in job.files if t.state == "queued"),
                       key=lambda t: (t.source.is_folder, -t.source.location.path.count("/")))
        for t in order:
            by_scheme.setdefault(t.source.location.scheme, []).append(t)
        for name, tasks in by_scheme.items():
            scheme = self.storage.scheme(name)
            for i in range(0, len(tasks), 1000):
                if job.stop.is_set():
                    raise Cancelled()
                batch = tasks[i:i + 1000]
                failed = dict((loc.path, why) for loc, why in scheme.delete([t.source.location for t in batch]))
                for t in batch:
                    why = failed.get(t.source.location.path)
                    t.state, t.error = ("failed", why) if why else ("done", "")
                self._changed(job)

    def _remove_moved_folders(self, job: Job) -> None:
        """After a move, the source folders (S3: their marker objects) go too, if all moved."""
        if job.count("failed", "cancelled", "skipped"):
            return
        in_place = {t.source.location for t in job.files if t.note.get("in_place") and t.source is not None}
        for src in job.sources:
            if src.is_folder and src not in in_place:  # a folder renamed in place is gone already
                self.storage.of(src).delete([src])


class _Done:
    """An event that is always set (a small file's follower reads once, when the bytes are in)."""

    def set(self) -> None:
        pass

    def is_set(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return True


_DONE = _Done()


class _Follower:
    """Feeds a download's checker from the file while the bytes arrive: it reads what ``task.kept``
    says is written without a gap, so the checksum is ready when the last byte is (the check no
    longer adds a second read of the whole file after the download)."""

    CHUNK = 256 * 1024
    ALONGSIDE = 4 * 1024 * 1024  # smaller files are read once they are in: a thread costs more

    def __init__(self, path: str, task: FileTask, check, size: int):
        self.path, self.task, self.check = path, task, check
        self._alongside = size >= self.ALONGSIDE
        self._done = threading.Event() if self._alongside else _DONE
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="gridclient-check") \
            if self._alongside else None
        self._pos = 0
        self._size = size

    def start(self) -> None:
        if self._thread is not None:
            self._thread.start()

    def _run(self) -> None:
        buf = bytearray(max(1, min(self.CHUNK, self._size)))  # not 256 KiB zeroed for each small file
        view = memoryview(buf)
        try:
            with open(self.path, "rb", buffering=0) as f:
                while True:
                    ended = self._done.is_set()
                    limit = self.task.kept
                    while self._pos < limit:
                        n = f.readinto(view[:min(self.CHUNK, limit - self._pos)])
                        if not n:
                            break
                        self.check.update(view[:n])
                        self._pos += n
                    if ended:
                        return
                    self._done.wait(0.02)
        except BaseException as exc:  # noqa: BLE001 - raised again by finish()
            self._error = exc

    def finish(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        else:
            self._run()
        if self._error is not None:
            raise self._error
        if self._pos != self.task.kept:
            raise Integrity(f"{self.path}: {self.task.kept - self._pos} bytes were not checked.")
        self.check.finish()

    def stop(self) -> None:
        self._done.set()


class _Either:
    """Stops when either the job or the file is told to."""

    def __init__(self, a: Stop, b: Stop):
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            if self.is_set():
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.a.wait(min(left, 0.02))
