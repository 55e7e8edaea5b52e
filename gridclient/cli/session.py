"""One run of the command line: its common options, the Workbench (made when first needed), the
VO a command is about, and the tree's nodes and elements it reaches — by the registry's loaders,
state sources and declared listings, the same way the window reaches them.

Errors leave as :class:`Problem`\\s, each with its exit code (see the README's "Command line").
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any

import click

from gridclient.elements import Element
from gridclient.registry import Action, ListingCommand, resolve

if TYPE_CHECKING:
    from gridclient.registry import ExtensionRegistry
    from gridclient.workbench import Workbench
    from gridclient.workspace import VirtualOrganization

log = logging.getLogger(__name__)

#: where the command line says a VO's settings are changed, after an error whose remedy is there
SETTINGS_PLACE = "Change them with: gridclient vo edit \"{vo}\" (see gridclient vo edit --help)."
VO_ENV = "GRIDCLIENT_VO"
DEFAULT_VO = "default_vo"  # the workspace preference `gridclient default vo NAME` sets


class Problem(click.ClickException):
    """A command that could not do what was asked: one sentence on standard error, and its code."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"gridclient: {self.format_message()}", err=True)


class Failed(Problem):
    exit_code = 1


class NotFound(Problem):
    exit_code = 3


class Refused(Problem):
    exit_code = 4


class Interrupted(Problem):
    """Ctrl+C: what was under way is stopped (130, as a shell reports an interrupted command)."""

    exit_code = 130


def shown_rows(children: list[Element], kinds: frozenset[str], notes: list[str] | None = None) -> list[Element]:
    """The children of these kinds (all, when none is named); the labels of the info rows among the
    rest go into ``notes``."""
    if not kinds:
        return list(children)
    if notes is not None:
        notes.extend(c.label for c in children if c.kind == "info")
    return [c for c in children if c.kind in kinds]


class Session:
    """The command line's state for one invocation (click's ``ctx.obj`` of the root command)."""

    def __init__(self, registry: "ExtensionRegistry | None" = None):
        self.registry = registry
        self.vo_name: str | None = None
        self.region: str | None = None
        self.json = False
        self.yes = False
        self.workspace: str | None = None
        self.log_level = "WARNING"
        self._wb: "Workbench | None" = None
        self._vos: dict[str, "VirtualOrganization"] = {}  # id → the VO as a command uses it

    # -- the workbench ---------------------------------------------------------------------------
    @property
    def paths(self):
        from gridclient.paths import AppPaths

        return AppPaths.under(self.workspace) if self.workspace else AppPaths.default()

    @property
    def wb(self) -> "Workbench":
        if self._wb is None:
            from gridclient.workbench import Workbench

            self._wb = Workbench(self.paths, registry=self.registry)
            self.registry = self._wb.registry
            self._wb.tokens.settings_place = SETTINGS_PLACE
        return self._wb

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None

    def explain(self, exc: BaseException, vo: "VirtualOrganization | None" = None) -> str:
        if self._wb is None:
            return str(exc) or type(exc).__name__
        return self._wb.tokens.explain(vo, exc)

    def workspace_lock(self):
        """The workspace's lock, for commands that change VOs or projects: the window, if one is
        open on it, would write its own copy over theirs."""
        from gridclient.paths import AlreadyRunning, WorkspaceLock

        try:
            return WorkspaceLock(self.paths).acquire()
        except AlreadyRunning as exc:
            raise Failed(f"{exc} Change Virtual Organisations and projects there, or close it first.") from None

    # -- secrets ---------------------------------------------------------------------------------
    def unlock_secrets(self) -> None:
        """Where the OS has no safe keyring, the encrypted file keyring the window uses
        (``secrets.cfg`` in the workspace's data folder), unlocked with the master password: from
        the environment (GRIDCLIENT_MASTER_PASSWORD), else asked on the terminal without echo."""
        from gridclient.secrets import MASTER_PASSWORD_ENV, WrongMasterPassword

        wb = self.wb
        if wb.secrets.safe:
            return
        path = wb.secrets_file
        password = os.environ.get(MASTER_PASSWORD_ENV, "")
        if not password:
            if not click.get_text_stream("stdin").isatty():
                raise Failed(f"This system has no keyring service, and the secrets are kept in an encrypted file "
                             f"({path}): set {MASTER_PASSWORD_ENV}, or run on a terminal to type its master password.")
            password = click.prompt("Master password of the encrypted keyring", hide_input=True, err=True,
                                    confirmation_prompt=not path.exists())
        try:
            wb.use_master_password(password)
        except WrongMasterPassword as exc:
            raise Refused(str(exc)) from None

    # -- VOs ---------------------------------------------------------------------------------------
    def vo_named(self, name: str) -> "VirtualOrganization":
        ws = self.wb.workspace
        vo = ws.vo_by_name(name) or ws.vos.get(name)
        if vo is None:
            known = ", ".join(sorted(v.name for v in ws.vos.values())) or "none yet (gridclient vo add)"
            raise NotFound(f"There is no Virtual Organisation “{name}”. Known: {known}.")
        return vo

    def vo(self, secrets: bool = True) -> "VirtualOrganization":
        """The VO of ``--vo`` (or GRIDCLIENT_VO, or ``gridclient default vo``, or the only one), as
        this command uses it: with ``--region``, in that region; its secrets unlocked (unless
        ``secrets`` is false)."""
        ws = self.wb.workspace
        name = self.vo_name or os.environ.get(VO_ENV)
        if not name and ws.vo_by_name(str(ws.preferences.get(DEFAULT_VO) or "")) is not None:
            name = ws.preferences[DEFAULT_VO]
        vos = list(ws.vos.values())
        if name:
            vo = self.vo_named(name)
        elif len(vos) == 1:
            vo = vos[0]
        elif not vos:
            raise NotFound("There is no Virtual Organisation yet: add one with gridclient vo add.")
        else:
            raise click.UsageError("Name the Virtual Organisation with --vo (one of: "
                                   f"{', '.join(sorted(v.name for v in vos))}).")
        if vo.secret_fields and secrets:
            self.unlock_secrets()
        if self.region and self.region != vo.region:
            vo = dataclasses.replace(vo, settings={**vo.settings, "region": self.region})
        self._vos[vo.id] = vo
        return vo

    def keep_remembered(self, vo: "VirtualOrganization") -> None:
        """What an action remembered (a login user) on a VO used in another region: kept on the
        saved VO, without the region."""
        saved = self.wb.workspace.vos.get(vo.id)
        if saved is None or saved is vo:
            return
        learnt = {k: v for k, v in vo.settings.items() if k != "region" and saved.settings.get(k) != v}
        if learnt:
            self.wb.workspace.update_vo_settings(saved, learnt)

    # -- nodes -------------------------------------------------------------------------------------
    def category(self, vo: "VirtualOrganization", kind: str) -> Element:
        """A category node as the tree makes it under the VO's first project (so a listing here
        refreshes what the window shows); with no project, or in another region, one of its own."""
        cat = next((c for c in self.wb.registry.categories(vo.type) if c.kind == kind), None)
        if cat is None:
            raise Failed(f"No loaded provider shows {kind!r} under a {vo.type} Virtual Organisation.")
        saved = self.wb.workspace.vos.get(vo.id)
        project = next((p for p in self.wb.workspace.projects.values() if p.vo == vo.id), None)
        if project is not None and saved is not None and saved.region == vo.region:
            node_id = f"{project.id}/{cat.kind}"
        else:
            node_id = f"{vo.id}@{vo.region}/{cat.kind}"
        return Element(cat.kind, node_id, cat.label, has_children=True, icon=cat.icon)

    def children(self, vo: "VirtualOrganization", element: Element) -> list[Element]:
        from gridclient.listing import ListingFailed

        try:
            return self.wb.children(vo, element)
        except ListingFailed as exc:
            cause = exc.__cause__
            message = self.explain(cause, vo) if cause is not None else str(exc)
            raise Failed(message) from exc

    def walk(self, vo: "VirtualOrganization", path: tuple[str, ...]) -> Element:
        """The node at the end of ``path``: its category, then a child of each next kind."""
        node = self.category(vo, path[0])
        for kind in path[1:]:
            found = next((c for c in self.children(vo, node) if c.kind == kind), None)
            if found is None:
                raise Failed(f"{node.label} of “{vo.name}” shows no {kind!r} node.")
            node = found
        return node

    def listing_for(self, words: str, vo: "VirtualOrganization") -> ListingCommand:
        lc = self.wb.registry.listing_commands.get((words, vo.type))
        if lc is None:
            raise click.UsageError(f"“{vo.name}” is a {vo.type} Virtual Organisation, and no loaded provider "
                                   f"offers `{words}` for that type.")
        return lc

    def target_node(self, lc: ListingCommand, vo: "VirtualOrganization", argument: str) -> Element:
        """The node a listing's argument names (``s3://bucket/prefix``), through its ``target``:
        a usage error when the argument is malformed, NotFound when nothing is there."""
        if lc.target is None:
            raise click.UsageError(f"`{lc.words}` takes no argument for a {vo.type} Virtual Organisation.")
        try:
            return resolve(lc.target)(self.wb.tokens.token(vo), argument)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        except LookupError as exc:
            raise NotFound(str(exc)) from None

    def list_rows(self, lc: ListingCommand, vo: "VirtualOrganization", argument: str | None = None,
                  notes: list[str] | None = None) -> list[Element]:
        """The rows of the listing's kinds; ``notes`` gets the text of the info rows left out (a
        catalog's "“ubuntu”: 12 of 20,345 …, fetched 2 days ago", "188 more — narrow the search")."""
        node = self.target_node(lc, vo, argument) if argument else self.walk(vo, lc.path)
        return shown_rows(self.children(vo, node), lc.kinds, notes)

    # -- elements named on the command line ---------------------------------------------------------
    def container_kinds(self, vo_type: str | None = None) -> set[str]:
        """Kinds of the nodes the command line reaches by walking (categories, and the nodes on
        every declared listing's path): an action on one of them needs no id."""
        reg = self.registry if self._wb is None else self.wb.registry
        types = [vo_type] if vo_type else list(reg.vo_types)
        out = {c.kind for t in types for c in reg.categories(t)}
        out |= {k for (_, t), lc in reg.listing_commands.items() if t in types for k in lc.path}
        return out

    def node_of_kind(self, vo: "VirtualOrganization", kind: str) -> Element:
        if any(c.kind == kind for c in self.wb.registry.categories(vo.type)):
            return self.category(vo, kind)
        for (_, t), lc in self.wb.registry.listing_commands.items():
            if t == vo.type and kind in lc.path:
                return self.walk(vo, lc.path[:lc.path.index(kind) + 1])
        raise NotFound(f"No node of kind {kind!r} is reached under “{vo.name}”.")

    def find(self, vo: "VirtualOrganization", action: Action, ids: list[str]) -> list[Element]:
        """The current Elements the action is for: a node it acts on when no id is given (Storage
        for New bucket); else each id (or, where unique, label) found by its kind's state source, or
        in a declared listing of that kind. NotFound names what is missing."""
        reg = self.wb.registry
        if not ids:
            kinds = sorted(action.kinds & self.container_kinds(vo.type))
            if not kinds:
                raise click.UsageError(f"{action.title} acts on elements: name them by id.")
            return [self.node_of_kind(vo, kinds[0])]
        found: dict[str, Element] = {}
        token = None
        for kind in sorted(action.kinds):
            missing = [i for i in ids if i not in found]
            source = reg.state_source_for(vo.type, kind)
            if not missing or source is None:
                continue
            token = token or self.wb.tokens.token(vo)
            for e in resolve(source.loader)(token, [Element(kind, i, i) for i in missing]):
                if e.id in missing:
                    found[e.id] = e
        for (_, t), lc in reg.listing_commands.items():
            missing = [i for i in ids if i not in found]
            if not missing or t != vo.type or not (lc.kinds & action.kinds):
                continue
            rows = [r for r in self.list_rows(lc, vo) if r.kind in action.kinds]
            for i in missing:
                by_label = [r for r in rows if r.label == i]
                hit = next((r for r in rows if r.id == i), by_label[0] if len(by_label) == 1 else None)
                if hit is not None:
                    found[i] = hit
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"{', '.join(missing)}: not found in “{vo.name}” ({vo.region or 'no region'}) "
                           f"among what {action.title} acts on.")
        return [found[i] for i in ids]
