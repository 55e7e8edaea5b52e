"""The ``file`` scheme: this computer's file system, as a storage like any other.

The transfer queue writes downloads itself (a temporary name in the target folder, renamed when
verified); this scheme lists, reads, deletes and makes folders. A folder walk never follows a
symbolic link: a dropped folder's links are not uploaded as what they point at, and a link to a
folder is not entered (so nothing outside the dropped folder is read).
"""

from __future__ import annotations

import os
import shutil
from typing import BinaryIO, Iterator

from gridclient.storage.base import Entry, Location, NotFound, Scheme, StorageError

PAGE = 1000
CHUNK = 1024 * 1024


def local_path(location: Location) -> str:
    return location.path.rstrip("/") or "/"


def location_of(path: str, folder: bool | None = None) -> Location:
    path = os.path.abspath(path)
    if folder is None:
        folder = os.path.isdir(path) and not os.path.islink(path)
    posix = path.replace(os.sep, "/")
    return Location("file", path=posix.rstrip("/") + "/" if folder else posix)


def entry_of(path: str, st: os.stat_result | None = None, folder: bool | None = None) -> Entry:
    import stat as stat_mod

    st = st or os.lstat(path)
    link = stat_mod.S_ISLNK(st.st_mode)
    if folder is None:
        folder = stat_mod.S_ISDIR(st.st_mode)
    return Entry(location_of(path, folder), size=0 if folder else st.st_size, modified=st.st_mtime,
                 is_link=link)


class FileScheme(Scheme):
    name = "file"

    def __init__(self, tokens=None):
        super().__init__(tokens or (lambda vo_id: None))

    def list(self, folder: Location) -> Iterator[list[Entry]]:
        path = local_path(folder)
        try:
            with os.scandir(path) as it:
                items = sorted(it, key=lambda d: (not d.is_dir(follow_symlinks=False), d.name.lower()))
        except FileNotFoundError:
            raise NotFound(f"{path} does not exist any more.") from None
        except PermissionError:
            raise StorageError(f"You may not read the folder {path}.") from None
        page: list[Entry] = []
        for d in items:
            try:
                page.append(entry_of(d.path, d.stat(follow_symlinks=False),
                                     folder=d.is_dir(follow_symlinks=False)))
            except OSError:
                continue  # vanished while listed
            if len(page) >= PAGE:
                yield page
                page = []
        yield page

    def stat(self, location: Location) -> Entry | None:
        path = local_path(location)
        try:
            return entry_of(path)
        except (FileNotFoundError, NotADirectoryError):  # a file where a folder of the path should be
            return None

    def open_read(self, entry: Entry, offset: int = 0) -> BinaryIO:
        f = open(local_path(entry.location), "rb")
        if offset:
            f.seek(offset)
        return f

    def download(self, entry: Entry, target: BinaryIO, progress, stop, offset: int = 0) -> None:
        """Copy the file's bytes into ``target`` (a local-to-local transfer), a chunk at a time."""
        from gridclient.operations import Cancelled

        with self.open_read(entry, offset) as f:
            target.seek(offset)
            while chunk := f.read(CHUNK):
                if stop.is_set():
                    raise Cancelled()
                target.write(chunk)
                progress(len(chunk))

    def delete(self, locations: list[Location]) -> list[tuple[Location, str]]:
        failed = []
        for loc in locations:
            path = local_path(loc)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed.append((loc, exc.strerror or str(exc)))
        return failed

    def rename(self, location: Location, new: Location) -> Entry:
        """Move within this computer's file systems in one step (a move's files are not copied);
        an existing target is not replaced. OSError (EXDEV across file systems) when it cannot."""
        src, dst = local_path(location), local_path(new)
        if os.path.lexists(dst):
            raise FileExistsError(17, "Something of that name is there already", dst)
        os.rename(src, dst)
        return entry_of(dst)

    def make_folder(self, location: Location) -> None:
        try:
            os.makedirs(local_path(location), exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Could not make the folder {local_path(location)}: "
                               f"{exc.strerror or exc}.") from exc


# -- "Local files" in the tree: the core's own provider (gridclient/storage/manifest.py) ---------
ROOTS, ROOT, FOLDER, FILE = "file.roots", "file.root", "file.folder", "file.file"


class LocalToken:
    """The "token" of this computer: the folders shown under Local files."""

    def __init__(self, vo, secrets=None):
        roots = [r for r in vo.settings.get("roots", []) if isinstance(r, str)]
        self.roots = roots or [os.path.expanduser("~")]
        self.vo_id = vo.id  # the SSH connections' rows are reached for it (as the tree names them)
        self.region = ""
        self.endpoint_url = None
        self.settings = dict(vo.settings)


def who(token: LocalToken) -> str:
    return f"This computer: {', '.join(token.roots)}."


def _element(entry: Entry, label: str | None = None, kind: str | None = None):
    from gridclient.elements import Element
    from gridclient.storage.transfers import human_bytes

    loc = entry.location
    path = local_path(loc)
    folder = entry.is_folder
    when = ""
    if entry.modified:
        import time

        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.modified))
    return Element(kind or (FOLDER if folder else FILE), path, label or loc.name or path,
                   has_children=folder, icon="folder" if folder else "file",
                   detail=path if kind == ROOT else
                   ("link · " if entry.is_link else "") + ("" if folder else f"{human_bytes(entry.size)} · ") + when,
                   properties={"Path": path, "Size": entry.size, "Modified": when,
                               "Symbolic link": "yes" if entry.is_link else "no"},
                   ref={"uri": loc.uri})


def load_roots(token: LocalToken, parent) -> Iterator[list]:
    out = []
    for root in token.roots:
        path = os.path.abspath(os.path.expanduser(root))
        home = os.path.expanduser("~")
        label = "Home" if path == home else (os.path.basename(path.rstrip(os.sep)) or path)
        try:
            out.append(_element(entry_of(path, folder=True), label=label, kind=ROOT))
        except OSError:
            continue
    yield out


def load_folder(token: LocalToken, parent) -> Iterator[list]:
    from gridclient.storage.base import Location

    folder = Location.parse(parent.ref["uri"])
    for page in FileScheme().list(folder):
        yield [_element(e) for e in page if not e.location.name.endswith(".gridclient-part")]
