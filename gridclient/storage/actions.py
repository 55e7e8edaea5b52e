"""The core's storage actions: Upload, Download, New folder, Rename, Delete, Copy URI — written once
over :class:`~gridclient.storage.base.Scheme`, offered on the element kinds every storage scheme
declares (S3 buckets, folders and objects; local folders and files; SFTP next).

:func:`storage_actions` is called by the registry when a scheme registers, so this module stays
light (no boto3, no Qt); the handlers run on the action runner's pool and hand bytes to the
transfer queue, whose job the Operations dock shows.
"""

from __future__ import annotations

import os
from typing import Any

from gridclient.interaction import Field
from gridclient.registry import COMMAND_DELETE, GROUP_CREATE, GROUP_DELETE, GROUP_EDIT, Action

M = "gridclient.storage.actions"
DOWNLOADS = os.path.join("~", "Downloads")


def storage_actions(folders: frozenset[str], files: frozenset[str], roots: frozenset[str]) -> list[Action]:
    items = folders | files
    movable = (folders - roots) | files
    return [
        Action("storage.upload_files", "Upload files…", f"{M}:upload_files", folders, icon="upload",
               fields=(Field("files", "Files", kind="files", required=True),), group=GROUP_CREATE,
               refreshes=""),
        Action("storage.upload_folder", "Upload folder…", f"{M}:upload_folder", folders, icon="upload",
               fields=(Field("folder", "Folder", kind="folder", required=True),), group=GROUP_CREATE,
               refreshes=""),
        Action("storage.download", "Download to…", f"{M}:download", items, selection="+", icon="download",
               fields=(Field("folder", "Into the folder", kind="folder", required=True, default=DOWNLOADS),),
               group=GROUP_CREATE, refreshes=""),
        Action("storage.new_folder", "New folder…", f"{M}:new_folder", folders, icon="folder",
               fields=(Field("name", "Name", required=True, check=f"{M}:name_problem"),),
               group=GROUP_CREATE, refreshes="self"),
        Action("storage.rename", "Rename…", f"{M}:rename", movable, icon="edit", group=GROUP_EDIT,
               refreshes=""),
        Action("storage.copy_uri", "Copy URI", f"{M}:copy_uri", items, selection="+", icon="copy",
               group=GROUP_EDIT, refreshes=""),
        Action("storage.delete", "Delete", f"{M}:delete", movable, selection="+", icon="delete",
               command=COMMAND_DELETE, group=GROUP_DELETE, refreshes=""),
    ]


def name_problem(name: Any) -> str:
    name = str(name)
    if "/" in name or "\\" in name:
        return "a name holds no “/” or “\\”."
    if name.strip() in (".", ".."):
        return "“.” and “..” are not names."
    if any(ord(c) < 32 for c in name):
        return "a name holds no control characters."
    return ""


# -- handlers (on the action runner's pool) ------------------------------------------------------
def _locations(ctx):
    from gridclient.storage import location_of_element

    return [location_of_element(e, ctx.vo.id) for e in ctx.elements]


def _submitted(job) -> Any:
    from gridclient.actions import ActionResult

    return ActionResult(message=f"{job.title}: under way, see Operations.", refresh="")


def upload_files(ctx) -> Any:
    from gridclient.storage import Location

    paths = ctx.values.get("files") or []
    if isinstance(paths, str):
        paths = [paths]
    missing = [p for p in paths if not os.path.exists(os.path.expanduser(p))]
    if missing:
        raise FileNotFoundError(2, "No such file", missing[0])
    folder = _locations(ctx)[0]
    job = ctx.transfers.submit("upload", [Location.parse(p) for p in paths], folder, ctx.interaction)
    return _submitted(job)


def upload_folder(ctx) -> Any:
    from gridclient.storage.local import location_of

    path = os.path.expanduser(str(ctx.values.get("folder") or ""))
    if not os.path.isdir(path):
        raise NotADirectoryError(20, "Not a folder", path)
    job = ctx.transfers.submit("upload", [location_of(path, folder=True)], _locations(ctx)[0], ctx.interaction)
    return _submitted(job)


def download(ctx) -> Any:
    from gridclient.storage.local import location_of

    path = os.path.expanduser(str(ctx.values.get("folder") or DOWNLOADS))
    os.makedirs(path, exist_ok=True)
    job = ctx.transfers.submit("download", _locations(ctx), location_of(path, folder=True), ctx.interaction)
    return _submitted(job)


def new_folder(ctx) -> str:
    name = str(ctx.values.get("name") or "").strip()
    problem = name_problem(name)
    if problem:
        raise ValueError(f"“{name}”: {problem}")
    folder = _locations(ctx)[0]
    made = folder.child(name, folder=True)
    scheme = ctx.storage.of(made)
    if scheme.stat(made) is not None or scheme.stat(folder.child(name)) is not None:
        raise FileExistsError(17, "Something of that name is there already", made.display)
    scheme.make_folder(made)
    return f"Made the folder {made.display}."


def rename(ctx) -> Any:
    from gridclient.operations import Cancelled

    loc = _locations(ctx)[0]
    answer = ctx.interaction.ask("Rename", [Field("name", "New name", required=True, default=loc.name,
                                                  check=f"{M}:name_problem")],
                                 text=f"Rename {loc.display} to:")
    if answer is None:
        raise Cancelled()
    name = str(answer.get("name") or "").strip()
    problem = name_problem(name)
    if problem:
        raise ValueError(f"“{name}”: {problem}")
    if name == loc.name:
        return "The name is unchanged."
    if loc.scheme == "file":
        from gridclient.storage.local import local_path

        new = os.path.join(os.path.dirname(local_path(loc)), name)
        if os.path.exists(new):
            raise FileExistsError(17, "Something of that name is there already", new)
        os.rename(local_path(loc), new)
        from gridclient.actions import ActionResult

        return ActionResult(message=f"Renamed to {name}.", refresh="parent")
    job = ctx.transfers.submit("move", [loc], loc.parent, ctx.interaction, rename=name)
    return _submitted(job)


def copy_uri(ctx) -> Any:
    from gridclient.actions import ActionResult

    uris = [loc.uri for loc in _locations(ctx)]
    return ActionResult(message=f"Copied {uris[0]}" + (f" and {len(uris) - 1} more." if len(uris) > 1 else "."),
                        copy="\n".join(uris), refresh="")


def delete(ctx) -> Any:
    from gridclient.operations import Cancelled
    from gridclient.storage.transfers import human_bytes

    locations = _locations(ctx)
    files, size = 0, 0
    for loc in locations:
        scheme = ctx.storage.of(loc)
        if loc.is_folder:
            for entry in scheme.walk(loc):
                files += not entry.is_folder
                size += entry.size
        else:
            files += 1
            entry = scheme.stat(loc)
            size += entry.size if entry else 0
    what = (locations[0].display if len(locations) == 1 else f"{len(locations)} items")
    inside = f" — {files:,} file{'s' if files != 1 else ''}, {human_bytes(size)} in all" if any(
        loc.is_folder for loc in locations) else ""
    if not ctx.interaction.confirm("Delete", f"Delete {what}{inside}? This cannot be undone."):
        raise Cancelled()
    job = ctx.transfers.submit("delete", locations, None, ctx.interaction)
    return _submitted(job)


# -- Local files: which folders it shows (the preference local_roots) ----------------------------
def _roots(ctx) -> list[str]:
    roots = [r for r in ctx.workbench.workspace.preferences.get("local_roots", []) if isinstance(r, str)]
    return roots or [os.path.expanduser("~")]  # an empty list shows the home folder: keep it shown


def _set_roots(ctx, roots: list[str]) -> None:
    ctx.workbench.workspace.preferences["local_roots"] = roots
    ctx.workbench.workspace.save()


def add_local_folder(ctx) -> str:
    path = os.path.abspath(os.path.expanduser(str(ctx.values.get("folder") or "")))
    if not os.path.isdir(path):
        raise NotADirectoryError(20, "Not a folder", path)
    roots = _roots(ctx)
    if path in roots:
        return f"{path} is under Local files already."
    _set_roots(ctx, roots + [path])
    return f"Added {path} to Local files."


def remove_local_folder(ctx) -> str:
    gone = {os.path.abspath(e.id) for e in ctx.elements}
    _set_roots(ctx, [r for r in _roots(ctx) if os.path.abspath(r) not in gone])
    from gridclient.actions import labels_of

    return f"Removed {labels_of(ctx.elements)} from Local files."
