"""``gridclient s3 cp | mv | rm``: files between ``s3://`` URIs (any storage scheme's URI) and
local paths, through the window's own transfer queue (:class:`~gridclient.storage.transfers.TransferQueue`):
the same routes, checks, resume, safe local names (every name changed is printed) and conflict
question.

``cp SRC DST`` and ``-r/--recursive`` as ``aws s3 cp`` takes them: a file to a folder (a "/" at
the end, an existing local folder) keeps its name, to anything else takes that name; with ``-r``
what is *in* SRC goes into DST. A target that exists is asked about on a terminal (Overwrite,
Skip, Rename, Only if newer — for one or all), decided by ``--overwrite`` / ``--skip-existing``
/ ``--newer`` (``--yes``: overwrite), else refused (exit 4). ``mv`` deletes each source only
once its copy is checked. ``rm`` asks first, with the count; a prefix needs ``-r``.

Progress: one line on standard error that updates itself, when it is a terminal; nothing otherwise.
The jobs are kept in the workspace's ``transfers.json`` (the window's Transfers tab lists them),
unless a window has the workspace open: then that file is the window's, and the job is not kept.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from typing import Any

import click

from gridclient.cli import output
from gridclient.cli.app import common, session
from gridclient.cli.session import Failed, Interrupted, NotFound, Refused, Session
from gridclient.cli.terminal import TerminalInteraction
from gridclient.interaction import Field
from gridclient.storage.jobs import NEWER, OVERWRITE, RENAME, SKIP, human_bytes

CONFLICT_KEYS = {"o": OVERWRITE, "s": SKIP, "r": RENAME, "n": NEWER}


def add_commands(root: click.Group, registry: Any) -> None:
    """``cp``, ``mv``, ``rm`` under ``s3`` when a provider contributes the s3 scheme."""
    if "s3" not in registry.storage_schemes:
        return
    group = root.commands.get("s3")
    if not isinstance(group, click.Group):
        group = root.group("s3", help="S3 buckets and objects.")(lambda: None)
    for cmd in (cp, mv, rm):
        group.add_command(cmd)


# -- where things are ---------------------------------------------------------------------------
def location(s: Session, text: str):
    """A ``scheme://…`` URI (reached through the command's VO) or a local path."""
    from gridclient.storage.base import Location

    if "://" in text and not text.startswith("file://"):
        scheme = text.split("://", 1)[0]
        if scheme not in s.wb.registry.storage_schemes and scheme != "file":
            raise click.UsageError(f"No loaded provider reaches {scheme}:// storage.")
        vo_id = "" if scheme == "sftp" else s.vo().id
        loc = Location.parse(text, vo_id)
        if not loc.root:
            raise click.UsageError(f"“{text}” names no bucket: write {scheme}://bucket/key.")
        return loc
    return Location.parse(text)


def as_folder(loc):
    return loc if loc.is_folder else dataclasses.replace(loc, path=loc.path + "/")


def stat(s: Session, loc):
    """The scheme's Entry for ``loc`` (None: nothing there); a bucket that does not exist: NotFound."""
    try:
        return s.wb.storage.of(loc).stat(loc)
    except Exception as exc:  # noqa: BLE001 - told in words below
        code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
        if code in ("NoSuchBucket", "404", "NotFound"):
            raise NotFound(f"There is no bucket “{loc.root}”.") from None
        raise


def source(s: Session, loc, recursive: bool):
    """The source as the queue takes it: a folder (with ``-r``) or a file that exists."""
    if recursive:
        folder = as_folder(loc)
        if loc.scheme == "file" and not os.path.isdir(folder.path):
            raise NotFound(f"There is no folder {loc.display}.")
        if folder.path and stat(s, folder) is None:
            raise NotFound(f"Nothing is stored under {folder.display}.")
        return folder
    entry = None if loc.is_folder else stat(s, loc)
    if entry is None or entry.is_folder:
        if loc.is_folder or entry is not None or stat(s, as_folder(loc)) is not None:
            raise click.UsageError(f"{loc.display} is a folder: add --recursive (-r).")
        raise NotFound(f"{loc.display} does not exist.")
    return entry.location


def plan(s: Session, src, dst, recursive: bool, kind: str) -> tuple[list, Any, str]:
    """(sources, target folder, new name) for the queue, as ``aws s3 cp`` reads SRC and DST."""
    local_folder = dst.scheme == "file" and os.path.isdir(dst.path)
    if not recursive:
        if dst.is_folder or local_folder:
            return [src], as_folder(dst), ""
        return [src], dst.parent, dst.name
    folder = as_folder(dst)
    if not src.path and kind != "move":  # a bucket's root: what is in it lands in the folder
        return [src], folder, ""
    if folder.path in ("", "/"):  # into a root: what is in the source, one by one
        children = [e.location for page in s.wb.storage.of(src).list(src) for e in page]
        return children, folder, ""
    return [src], folder.parent, folder.name


def transfer_queue(s: Session):
    """The workspace's queue (kept in transfers.json, listed by the window next time), or — while a
    window holds the workspace — a queue of this command's own, so the window's file stays its own."""
    from gridclient.paths import AlreadyRunning, WorkspaceLock

    try:
        WorkspaceLock(s.paths).acquire().release()
    except AlreadyRunning:
        from gridclient.storage.transfers import TransferQueue

        queue = TransferQueue(s.wb.storage, None)
        queue.explain_vo = s.wb._explain_transfer
        return queue
    return s.wb.transfers


# -- asking and showing --------------------------------------------------------------------------
class TransferInteraction(TerminalInteraction):
    """The queue's "the target exists" question: ``--yes`` overwrites; asked on a terminal; else
    refused with a sentence naming the options that decide it."""

    def __init__(self, progress: "ProgressLine", **kw: Any):
        super().__init__(**kw)
        self.progress = progress

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        if [f.name for f in fields] != ["choice", "all"]:
            return super().ask(title, fields, text=text)
        if self.yes:
            return {"choice": OVERWRITE, "all": True}
        first = text.splitlines()[0] if text else title
        if not self.tty:
            self.refusal = (f"{first} Not done: standard input is not a terminal to ask on; add --overwrite, "
                            "--skip-existing or --newer (or --yes to overwrite).")
            return None
        with self._lock:
            self.progress.clear()
            click.echo(text, err=True)
            keys = [k for k in CONFLICT_KEYS] + [k.upper() for k in CONFLICT_KEYS]
            answer = click.prompt("[o]verwrite, [s]kip, [r]ename, only if [n]ewer or different "
                                  "(a capital letter: the same for the other files too)",
                                  type=click.Choice(keys, case_sensitive=True), default="s", err=True)
        return {"choice": CONFLICT_KEYS[answer.lower()], "all": answer.isupper()}


class ProgressLine:
    """One line on standard error, rewritten at most ~10 times a second (the queue's pace) while the
    job runs; only when standard error is a terminal."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.job: Any = None
        self.shown = False

    def __call__(self, job: Any) -> None:
        if not self.enabled or job is not self.job or job.state not in ("running", "scanning"):
            return
        if job.state == "scanning":
            line = f"{job.title}: finding the files…"
        else:
            n, done = len(job.files), job.count("done", "skipped", "failed")
            pct = job.progress
            line = f"{job.title}: {done:,}/{n:,} files"
            if job.kind != "delete":
                line += f", {human_bytes(job.bytes_done)} of {human_bytes(job.bytes_total)}"
                if job.speed:
                    line += f", {human_bytes(int(job.speed))}/s"
            if pct is not None:
                line += f" ({pct * 100:.0f}%)"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stderr.write("\r\x1b[K" + line[:width])
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


def run_job(s: Session, kind: str, sources: list, target: Any, rename: str = "", conflict: str = "") -> None:
    """Submit, follow, report; the exit says how it ended."""
    queue = transfer_queue(s)
    progress = ProgressLine()
    interaction = TransferInteraction(progress, yes=s.yes)
    queue.on_change(progress)
    job = None
    try:
        job = queue.submit(kind, sources, target, interaction, conflict=conflict, rename=rename)
        progress.job = job
        queue.wait(job)
    except KeyboardInterrupt:
        if job is not None:
            job.cancel()
            queue.wait(job, 10)
        progress.clear()
        done = f" after {job.count('done')} of {len(job.files)} files" if job is not None and job.files else ""
        again = " (Retry in the window's Transfers tab goes on from where it stopped)" \
            if getattr(target, "scheme", "") == "file" else ""
        raise Interrupted(f"Cancelled{done}; a file not finished is not left under its name{again}.") from None
    finally:
        progress.clear()
    report(s, job, interaction)


def report(s: Session, job: Any, interaction: TransferInteraction) -> None:
    renamed = [{"from": t.source.location.display if t.source else "", "to": t.target.display if t.target else "",
                "why": t.renamed} for t in job.renamed]
    failed = [{"file": t.label, "error": t.error} for t in job.files if t.state == "failed"]
    if s.json:
        output.print_json({"state": job.state, "message": job.message, "files": len(job.files),
                           "done": job.count("done"), "skipped": job.count("skipped"), "bytes": job.bytes_done,
                           "renamed": renamed, "failed": failed})
    else:
        for r in renamed:
            click.echo(f"renamed: {r['from']} → {r['to']} ({r['why']})")
        for f in failed:
            click.echo(f"failed: {f['file']}: {f['error']}", err=True)
        if job.state == "done":
            click.echo(job.message)
    if job.state == "done":
        return
    if job.state == "cancelled":
        raise Refused(interaction.refusal or f"{job.title}: {job.message or 'cancelled'}")
    raise Failed(job.message or f"{job.title} failed.")


# -- the commands ---------------------------------------------------------------------------------
def conflict_options(f):
    f = click.option("--newer", "conflict", flag_value=NEWER, help="Where the target exists: copy only if the "
                     "source is newer or different.")(f)
    f = click.option("--skip-existing", "conflict", flag_value=SKIP, help="Where the target exists: skip it.")(f)
    f = click.option("--overwrite", "conflict", flag_value=OVERWRITE, help="Where the target exists: replace it.")(f)
    return click.option("--recursive", "-r", is_flag=True, help="What is in SRC (a folder or prefix), all of it.")(f)


def copy_or_move(kind: str, src_text: str, dst_text: str, recursive: bool, conflict: str | None) -> None:
    s = session()
    src_loc, dst = location(s, src_text), location(s, dst_text)
    src = source(s, src_loc, recursive)
    if kind == "move" and src.scheme == "file" and not recursive and src == dst:
        raise click.UsageError("Source and target are the same.")
    if dst.scheme != "file":  # a bucket that does not exist: not found (3), before anything starts
        stat(s, dataclasses.replace(dst, path=""))
    else:
        os.makedirs(dst.path if (recursive or dst.is_folder) else os.path.dirname(dst.path) or ".", exist_ok=True)
    sources, target, rename = plan(s, src, dst, recursive, kind)
    if not sources:
        click.echo(f"Nothing is in {src.display}.", err=True)
        return
    if kind != "move":
        local_src, local_dst = src.scheme == "file", dst.scheme == "file"
        kind = "upload" if local_src and not local_dst else "download" if local_dst and not local_src else "copy"
    run_job(s, kind, sources, target, rename=rename, conflict=conflict or "")


@click.command("cp", help="Copy a file, or with -r what is in a folder or prefix: s3://bucket/key ↔ local path "
                          "(or s3:// to s3://), through the transfer queue, each file checked.")
@click.argument("src")
@click.argument("dst")
@conflict_options
@common()
def cp(src: str, dst: str, recursive: bool, conflict: str | None) -> None:
    copy_or_move("copy", src, dst, recursive, conflict)


@click.command("mv", help="Move: as cp, and each source is deleted once its copy is checked.")
@click.argument("src")
@click.argument("dst")
@conflict_options
@common()
def mv(src: str, dst: str, recursive: bool, conflict: str | None) -> None:
    copy_or_move("move", src, dst, recursive, conflict)


@click.command("rm", help="Delete an object, or with -r everything under a prefix (asks first, with the count).")
@click.argument("uri")
@click.option("--recursive", "-r", is_flag=True, help="Everything under the prefix.")
@common()
def rm(uri: str, recursive: bool) -> None:
    s = session()
    loc = location(s, uri)
    if recursive:
        folder = source(s, loc, True)
        entries = [e for e in s.wb.storage.of(folder).walk(folder) if not e.is_folder]
        count, size = len(entries), sum(e.size for e in entries)
        if not count and not folder.path:
            raise NotFound(f"{folder.display} is empty.")
        what = f"{count:,} object{'s' if count != 1 else ''} ({human_bytes(size)}) under {folder.display}"
        sources = [folder]
    else:
        entry = source(s, loc, False)
        sources, what = [entry], f"{entry.display} ({human_bytes(stat(s, entry).size)})"
    asker = TerminalInteraction(yes=s.yes)
    if not asker.confirm("Delete", f"Delete {what}? This cannot be undone."):
        raise Refused(asker.refusal or "Not deleted.")
    run_job(s, "delete", sources, None)
