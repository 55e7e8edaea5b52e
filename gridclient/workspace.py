"""Virtual Organisations, Grid Projects and preferences, persisted atomically as JSON.

A workspace file that cannot be read is moved aside (``name.corrupt-<time>``), the reason is kept
in :attr:`Workspace.problems` for the UI to tell the person, and the app goes on with what it
could read. No file written here ever contains a secret: secret fields go to the SecretStore.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gridclient.paths import AppPaths

SCHEMA = 1


def _new_id() -> str:
    import uuid  # here: nothing at start-up makes an id

    return uuid.uuid4().hex[:12]


@dataclass
class VirtualOrganization:
    """An account on a cloud: type, region, endpoint, proxy and non-secret settings.

    ``settings`` holds the values of the VO type's non-secret fields; secret fields are in the
    SecretStore under ``id``; ``secret_fields`` lists which are set there (the reference).
    """

    name: str
    type: str
    id: str = field(default_factory=lambda: _new_id())
    settings: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return str(self.settings.get("region") or "")

    @property
    def endpoint_url(self) -> str:
        return str(self.settings.get("endpoint_url") or "")


@dataclass
class GridProject:
    name: str
    vo: str  # the VO's id
    id: str = field(default_factory=lambda: _new_id())


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` (UTF-8) to a temp file beside ``path``, fsync, then rename over it."""
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a temp file beside ``path`` (same file system), fsync, rename over it, and
    make the rename durable: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # not every platform lets a folder be fsynced
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _entries(data: dict, key: str, problems: list[str], what: str) -> list:
    value = data.get(key, [])
    if isinstance(value, list):
        return value
    problems.append(f"The {what} in the file are not a list; none could be read.")
    return []


def _text(raw: dict, key: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"its “{key}” is missing or not text")
    return value


def _read_vo(raw: Any) -> VirtualOrganization:
    """A VO from its JSON entry, or ValueError saying in words what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError("it is not an object")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict) or not all(isinstance(k, str) for k in settings):
        raise ValueError("its settings are not a set of named values")
    secret_fields = raw.get("secret_fields", [])
    if not isinstance(secret_fields, list) or not all(isinstance(f, str) for f in secret_fields):
        raise ValueError("its list of secret fields is not a list of names")
    vo = VirtualOrganization(name=_text(raw, "name"), type=_text(raw, "type"), settings=dict(settings),
                             secret_fields=list(secret_fields))
    if raw.get("id") is not None:
        vo.id = _text(raw, "id")
    return vo


def _read_project(raw: Any, vos: dict[str, VirtualOrganization]) -> GridProject:
    if not isinstance(raw, dict):
        raise ValueError("it is not an object")
    project = GridProject(name=_text(raw, "name"), vo=_text(raw, "vo"))
    if raw.get("id") is not None:
        project.id = _text(raw, "id")
    if project.vo not in vos:
        raise ValueError(f"“{project.name}” is bound to a Virtual Organisation that is not in the workspace")
    return project


NAME_RE = re.compile(r"^[\w][\w .@+-]{0,63}$")


class Workspace:
    FILE = "workspace.json"

    def __init__(self, paths: AppPaths):
        self.paths = paths.ensure()
        self.vos: dict[str, VirtualOrganization] = {}
        self.projects: dict[str, GridProject] = {}
        self.preferences: dict[str, Any] = {"live_refresh": True}
        self.problems: list[str] = []
        # an action's handler may have a setting remembered from a worker thread
        self._lock = threading.RLock()
        self.load()

    @property
    def file(self) -> Path:
        return self.paths.config / self.FILE

    # -- persistence -----------------------------------------------------------------------
    def load(self) -> None:
        if not self.file.exists():
            return
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level is not an object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self._move_aside(f"could not be read ({exc})")
            return
        for n, raw in enumerate(_entries(data, "vos", self.problems, "Virtual Organisations"), 1):
            try:
                vo = _read_vo(raw)
                self.vos[vo.id] = vo
            except ValueError as exc:
                self.problems.append(f"Virtual Organisation entry {n} was skipped: {exc}.")
        for n, raw in enumerate(_entries(data, "projects", self.problems, "Grid Projects"), 1):
            try:
                p = _read_project(raw, self.vos)
                self.projects[p.id] = p
            except ValueError as exc:
                self.problems.append(f"Grid Project entry {n} was skipped: {exc}.")
        if isinstance(data.get("preferences"), dict):
            self.preferences.update(data["preferences"])
        if self.problems:
            self._move_aside("had entries that could not be read", keep_original=True)
            # written back with what could be read: else the same warning, and another copy of the
            # same damaged file, would come back at every start
            try:
                self.save()
            except OSError as exc:
                self.problems.append(f"The workspace file could not be written back ({exc.strerror or exc}).")

    def _move_aside(self, why: str, keep_original: bool = False) -> None:
        aside = self.file.with_name(f"{self.file.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        if keep_original:
            aside.write_bytes(self.file.read_bytes())
        else:
            os.replace(self.file, aside)
        self.problems.insert(
            0,
            f"The workspace file {self.file} {why}. It was kept as {aside.name}; "
            "the app started with what it could read. Recreate what is missing with File → New.",
        )

    def save(self) -> None:
        with self._lock:
            data = {
                "schema": SCHEMA,
                "vos": [asdict(v) for v in self.vos.values()],
                "projects": [asdict(p) for p in self.projects.values()],
                "preferences": self.preferences,
            }
            atomic_write_text(self.file, json.dumps(data, indent=2, sort_keys=True))

    def update_vo_settings(self, vo: VirtualOrganization, values: dict[str, Any]) -> None:
        """Keep settings a handler learnt (the login user of an image), from any thread."""
        with self._lock:
            vo.settings.update(values)
            self.save()

    # -- VOs and projects ------------------------------------------------------------------
    def vo_by_name(self, name: str) -> VirtualOrganization | None:
        return next((v for v in self.vos.values() if v.name == name), None)

    def check_name(self, name: str, existing: dict, ignore_id: str | None = None) -> str:
        """'' when ``name`` is usable, else why not."""
        name = name.strip()
        if not name:
            return "A name is needed."
        if not NAME_RE.match(name):
            return "Use letters, digits, spaces and . @ + - _ (at most 64)."
        if any(x.name == name and x.id != ignore_id for x in existing.values()):
            return f"“{name}” is already used."
        return ""

    def add_vo(self, vo: VirtualOrganization) -> VirtualOrganization:
        self.vos[vo.id] = vo
        self.save()
        return vo

    def remove_vo(self, vo_id: str) -> list[GridProject]:
        """Remove a VO and the projects bound to it; returns the removed projects."""
        self.vos.pop(vo_id, None)
        gone = [p for p in self.projects.values() if p.vo == vo_id]
        for p in gone:
            self.projects.pop(p.id)
        self.save()
        return gone

    def add_project(self, project: GridProject) -> GridProject:
        if project.vo not in self.vos:
            raise KeyError(f"no Virtual Organisation with id {project.vo}")
        self.projects[project.id] = project
        self.save()
        return project

    def remove_project(self, project_id: str) -> None:
        self.projects.pop(project_id, None)
        self.save()
