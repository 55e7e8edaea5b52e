"""The extension-point registry.

Providers are found through the entry-point group ``gridclient.providers``. Each entry point
names a :class:`ProviderManifest`: plain data, with code referred to as ``"module:attr"`` and
imported on first use (napari/npe2's idea), so start-up imports neither boto3 nor paramiko.
A provider that fails to load is recorded with its error and start-up goes on.
Contributions are checked when they register, not when they are first called (pluggy's idea).

Over 500 lines for a reason: the vocabulary of contributions and the checks made when they
register are read together, one beside the other.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from gridclient.interaction import Field

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gridclient.providers"


def entry_points(group: str) -> list[tuple[str, str]]:
    """(name, value) of every entry point in ``group`` of the installed distributions.

    The common case is read straight from the ``entry_points.txt`` of the ``*.dist-info`` /
    ``*.egg-info`` folders on ``sys.path`` (the packaging spec's format; the first distribution of
    a name wins, as with importlib.metadata), skipping every file that does not name the group.
    importlib.metadata parses every group of every installed distribution into objects, and with
    its import that was 13 ms, the largest share of start-up that is ours. Where ``sys.path``
    holds something else (a zip file, an egg), importlib.metadata answers instead.
    """
    if any(entry and not os.path.isdir(entry) and os.path.exists(entry) for entry in sys.path):
        from importlib.metadata import entry_points as from_library

        return [(ep.name, ep.value) for ep in from_library(group=group)]
    header = f"[{group}]"
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as listing:
                folders = sorted(d.name for d in listing if d.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for folder in folders:
            project = re.sub(r"[-_.]+", "_", folder.rpartition(".")[0].partition("-")[0]).lower()
            if project in seen:
                continue
            seen.add(project)
            try:
                with open(os.path.join(entry or ".", folder, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if header in text:
                found += _section(text, header)
    return found


def _section(text: str, header: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of one ``[section]`` of an entry_points.txt."""
    out: list[tuple[str, str]] = []
    inside = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == header
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def resolve(ref: str | Callable) -> Any:
    """Import ``"package.module:attr.sub"`` and return the object; callables pass through."""
    if not isinstance(ref, str):
        return ref
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"not a 'module:attr' reference: {ref!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


# -- shared ids: names that several providers and every front end use alike --------------------
#: menu groups, in the order context menus show them (a group of no provider's own comes after)
GROUP_CONNECT = "connect"  # log in, open, browse
GROUP_LIFECYCLE = "lifecycle"  # start, stop, reboot, terminate
GROUP_CREATE = "create"  # make something from or under the element
GROUP_SEARCH = "search"
GROUP_EDIT = "edit"
GROUP_DELETE = "delete"  # last, apart: what cannot be undone is not between two copies
MENU_GROUPS = (GROUP_CONNECT, GROUP_LIFECYCLE, GROUP_CREATE, GROUP_SEARCH, GROUP_EDIT, GROUP_DELETE)

#: standard commands: a front end binds its key (Del in the tree) to the command, and runs the
#: action that carries it out for the selected elements (Terminate for instances)
COMMAND_DELETE = "edit.delete"
#: runs a shell command on the elements (hosts): the action takes it as its field ``command``; the
#: console's ``run_on(elements, "command")`` finds it this way
COMMAND_RUN = "host.run"
#: shows the elements' (hosts') files as a storage row under each (an instance's "Files"): a
#: terminal tab's "Show folder in tree" runs it when the host shows none yet
COMMAND_FILES = "host.files"
COMMANDS = {COMMAND_DELETE: "Del", COMMAND_RUN: "", COMMAND_FILES: ""}  # the key of each, if it has one

REFRESHES = ("parent", "self", "")


@dataclass(frozen=True)
class VOType:
    """A kind of Virtual Organisation: its auth-token description and how to check it."""

    id: str
    label: str
    fields: tuple[Field, ...]
    # "module:attr" of (vo, secrets: dict) -> AuthToken-like session factory
    token_factory: str
    # "module:attr" of (token) -> str (a one-line "who am I"), raising on failure
    connection_test: str
    description: str = ""
    # what the connection test checks, in a sentence for the wizard's Test page
    test_description: str = ""
    # "module:attr" of (exception) -> str: a plain sentence of what went wrong and what to do
    explain_error: str | None = None
    # "module:attr" of (values: dict) -> list[str]: problems across fields (e.g. unknown region)
    validator: str | None = None
    # "module:attr" of (token, name, value) -> str: a launch default (``gridclient default image
    # ami-…``; names "image", "flavor", "key", "group"), or a region, as the cloud knows it, raising
    # LookupError with a sentence when the cloud does not offer it (``vm boot`` checks what it names)
    default_check: str | None = None


@dataclass(frozen=True)
class Category:
    """A top-level node under a project: Computing, Services, Storage, ..."""

    kind: str
    label: str
    icon: str = "folder"


@dataclass(frozen=True)
class NodeContributor:
    """Tree contributions for one VO type: categories and a child loader per element kind.

    A loader is ``(token, element) -> Iterable[list[Element]]``: it yields pages of children.
    Several contributors may serve one VO type (g-Eclipse's separate ec2 and s3 bundles under
    one VO): their categories are shown side by side and their loaders merged; two that claim
    the same kind are refused when the second registers.
    """

    vo_type: str
    categories: tuple[Category, ...]
    loaders: dict[str, str]


@dataclass(frozen=True)
class Action:
    """A context action: chosen by element kind, selection count and element state."""

    id: str
    label: str
    handler: str  # "module:attr" of (ctx: ActionContext) -> str | ActionResult
    kinds: frozenset[str]
    selection: str = "1"  # "1" or "+"
    icon: str = ""
    # element states the action is enabled for; empty means any state
    states: frozenset[str] = frozenset()
    confirm: str = ""  # confirmation text, "{count}" and "{labels}" are filled in
    fields: tuple[Field, ...] = ()
    # the standard command (COMMANDS) this action carries out for its kinds: Del → Terminate
    command: str = ""
    group: str = ""
    # once the action is done, reload the listing the selected elements are in ("parent"), their
    # own children ("self"), or nothing
    refreshes: str = "parent"
    # once the action is done, the core follows the elements' state until it is stable (Start: pending
    # → running) through the StateSource of their kind, and the rows showing them follow it
    follows_state: bool = False
    # its command on the command line, "group command" ("vm stop"); every action is also reached
    # without one, by id (``gridclient action run``)
    cli: str = ""

    def applies_to(self, elements: list[Any]) -> bool:
        if not elements:
            return False
        if self.selection == "1" and len(elements) != 1:
            return False
        return all(e.kind in self.kinds for e in elements)

    def enabled_for(self, elements: list[Any]) -> bool:
        if not self.applies_to(elements):
            return False
        return not self.states or all(e.state in self.states for e in elements)

    @property
    def title(self) -> str:
        """The label as a dialog's title: "SSH login" for "SSH login…"."""
        return self.label.rstrip("…").rstrip(".")


@dataclass(frozen=True)
class StorageScheme:
    """Files and folders reached by URIs of one scheme (``s3://bucket/key``).

    ``implementation`` names a factory ``(token_for: vo_id -> token) -> gridclient.storage.Scheme``.
    The element kinds say which tree rows are storage: a row of such a kind carries its URI in
    ``ref["uri"]``. The core gives every folder kind Upload, New folder and drops; every file and
    folder kind Download, Rename, Delete and Copy URI (roots — buckets — are not renamed or
    deleted by the core: a provider has its own action for that).
    """

    scheme: str
    implementation: str  # "module:attr"
    folder_kinds: frozenset[str] = frozenset()
    file_kinds: frozenset[str] = frozenset()
    root_kinds: frozenset[str] = frozenset()  # folder kinds that are roots (buckets)

    @property
    def kinds(self) -> frozenset[str]:
        return self.folder_kinds | self.file_kinds


@dataclass(frozen=True)
class StateSource:
    """Where the core's :class:`~gridclient.watch.StateWatcher` reads the present state of elements
    an action changed (an instance stopping), for one VO type.

    ``loader`` names ``(token, elements) -> list[Element]``: the current Element of each one given,
    made exactly as the tree's loader makes it (so an unchanged one compares equal); one that no
    longer exists is left out. The elements handed over in one call are of this source's kinds and
    of one region (``ref["region"]``, or none: the VO's own). Polling ends for an element once its
    state is one of ``stable``.
    """

    vo_type: str
    kinds: frozenset[str]
    loader: str  # "module:attr"
    stable: frozenset[str]


@dataclass(frozen=True)
class ListingCommand:
    """A listing on the command line, "group command" (``vm list``), for one VO type: the children
    of the node reached from the category ``path[0]`` through a child of each next kind of ``path``
    (``("aws.services", "aws.keypairs")``: Services, then its Key pairs), listed by the tree's own
    loaders (so the info cache the tree shows is refreshed too). ``kinds``: the kinds of rows shown
    (others — headings, info rows — are left out); empty: every row. Elements of these kinds named
    by id on the command line are looked for here when their kind has no state source.

    ``target`` names ``(token, text) -> Element``: the node to list instead, named by the command's
    optional argument (``s3 ls s3://bucket/prefix``); ``argument`` is its name in the help.

    ``flags``: ``(name, path, help)`` each: with ``--name``, the node at that other path is listed
    instead (``vm list --all-regions``: Computing, then All regions)."""

    words: str
    vo_type: str
    path: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    help: str = ""
    target: str | None = None
    argument: str = ""
    flags: tuple[tuple[str, tuple[str, ...], str], ...] = ()


#: the command line's own first words: no provider's command begins with one of them
CLI_CORE_WORDS = frozenset({"vo", "project", "action", "help"})
_CLI_WORDS = re.compile(r"[a-z][a-z0-9-]* [a-z][a-z0-9-]*")


@dataclass(frozen=True)
class Sandbox:
    """A local stand-in cloud that ``gridclient --demo`` starts: never an account of the person's.

    ``factory`` names a callable () -> an object with ``start()`` (returns itself, ready),
    ``prepare(workbench)`` (puts its VOs and projects into a throwaway workspace) and ``stop()``.
    """

    id: str
    label: str
    factory: str
    description: str = ""


@dataclass(frozen=True)
class ProviderManifest:
    id: str
    name: str
    version: str = "0"
    vo_types: tuple[VOType, ...] = ()
    node_contributors: tuple[NodeContributor, ...] = ()
    actions: tuple[Action, ...] = ()
    storage_schemes: tuple[StorageScheme, ...] = ()
    sandboxes: tuple[Sandbox, ...] = ()
    state_sources: tuple[StateSource, ...] = ()
    listing_commands: tuple[ListingCommand, ...] = ()


@dataclass
class ProviderRecord:
    """What Help → Providers shows: a loaded manifest, or the error that kept it out."""

    entry_point: str
    manifest: ProviderManifest | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.manifest is not None


class ContributionError(ValueError):
    pass


@dataclass
class ExtensionRegistry:
    providers: list[ProviderRecord] = field(default_factory=list)
    vo_types: dict[str, VOType] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    storage_schemes: dict[str, StorageScheme] = field(default_factory=dict)
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    # (VO type, element kind) → where the state of elements of that kind is polled
    state_sources: dict[tuple[str, str], StateSource] = field(default_factory=dict)
    # (words, VO type) → a listing the command line offers (``vm list`` for AWS VOs)
    listing_commands: dict[tuple[str, str], ListingCommand] = field(default_factory=dict)
    # merged tree contributions: categories per VO type in registration order; a loader per
    # (VO type, kind), with the provider that gave it (for the conflict message)
    _categories: dict[str, list[Category]] = field(default_factory=dict)
    _loaders: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    # -- discovery -------------------------------------------------------------------------
    def discover(self, group: str = ENTRY_POINT_GROUP) -> "ExtensionRegistry":
        from gridclient.storage.manifest import manifest as local_files

        self.register(local_files, entry_point="built in")
        for name, value in sorted(entry_points(group)):
            ref = value.partition("[")[0].replace(" ", "")  # "module:attr [extra]" → "module:attr"
            self.load_entry_point(name, value, lambda ref=ref: resolve(ref))
        return self

    def load_entry_point(self, name: str, value: str, load: Callable[[], Any]) -> ProviderRecord:
        label = f"{name} = {value}"
        try:
            manifest = load()
            if callable(manifest) and not isinstance(manifest, ProviderManifest):
                manifest = manifest()
            self.register(manifest, entry_point=label)
        except Exception as exc:  # a broken provider is reported, never fatal
            log.warning("provider %s failed to load: %s", label, exc)
            record = ProviderRecord(label, None, f"{type(exc).__name__}: {exc}")
            record.error += "\n" + "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.providers.append(record)
            return record
        return self.providers[-1]

    # -- registration, checked now rather than at call time ---------------------------------
    def register(self, manifest: ProviderManifest, *, entry_point: str = "") -> None:
        """Add a provider's contributions, all or none: a manifest that fails a check adds nothing."""
        if not isinstance(manifest, ProviderManifest):
            raise ContributionError(f"entry point gave {type(manifest).__name__}, not a ProviderManifest")
        if any(r.ok and r.manifest.id == manifest.id for r in self.providers):
            raise ContributionError(f"provider id {manifest.id!r} is registered twice")
        self._check(manifest)
        for vt in manifest.vo_types:
            self.vo_types[vt.id] = vt
        for nc in manifest.node_contributors:
            self._categories.setdefault(nc.vo_type, []).extend(nc.categories)
            for kind, ref in nc.loaders.items():
                self._loaders[(nc.vo_type, kind)] = (ref, manifest.id)
        for action in manifest.actions:
            self.actions[action.id] = action
        for scheme in manifest.storage_schemes:
            self.storage_schemes[scheme.scheme] = scheme
        if manifest.storage_schemes:
            self._storage_actions()
        for sandbox in manifest.sandboxes:
            self.sandboxes[sandbox.id] = sandbox
        for source in manifest.state_sources:
            for kind in source.kinds:
                self.state_sources[(source.vo_type, kind)] = source
        for lc in manifest.listing_commands:
            self.listing_commands[(lc.words, lc.vo_type)] = lc
        self.providers.append(ProviderRecord(entry_point or manifest.id, manifest))

    def _check(self, m: ProviderManifest) -> None:
        def fail(text: str) -> None:
            raise ContributionError(f"{m.id}: {text}")

        def ref_ok(ref: str | None, what: str) -> None:
            module, sep, attr = (ref or "").partition(":")
            if not sep or not module or not attr:
                fail(f"{what} must be 'module:attr', got {ref!r}")

        def unique(ids: list[str], what: str) -> None:
            seen = set()
            for i in ids:
                if i in seen:
                    fail(f"{what} {i!r} is declared twice")
                seen.add(i)

        def fields_ok(fields: tuple[Field, ...], owner: str) -> None:
            names = [f.name for f in fields]
            unique(names, f"{owner}: field")
            for f in fields:
                if f.choices_from is not None:
                    ref_ok(f.choices_from, f"{owner}: field {f.name} choices_from")
                if f.check is not None:
                    ref_ok(f.check, f"{owner}: field {f.name} check")
                if f.when is not None and f.when[0] not in names:
                    fail(f"{owner}: field {f.name} depends on {f.when[0]!r}, which is not one of its fields")

        unique([vt.id for vt in m.vo_types], "VO type")
        for vt in m.vo_types:
            if vt.id in self.vo_types:
                fail(f"VO type {vt.id!r} already registered")
            ref_ok(vt.token_factory, f"VO type {vt.id} token_factory")
            ref_ok(vt.connection_test, f"VO type {vt.id} connection_test")
            if vt.explain_error is not None:
                ref_ok(vt.explain_error, f"VO type {vt.id} explain_error")
            if vt.validator is not None:
                ref_ok(vt.validator, f"VO type {vt.id} validator")
            fields_ok(vt.fields, f"VO type {vt.id}")

        claimed: dict[tuple[str, str], str] = {}  # (VO type, kind) → what claims it, this manifest
        for nc in m.node_contributors:
            for cat in nc.categories:
                key = (nc.vo_type, cat.kind)
                if key in claimed or any(c.kind == cat.kind for c in self._categories.get(nc.vo_type, ())):
                    fail(f"category {cat.kind!r} of VO type {nc.vo_type!r} is contributed twice")
                claimed[key] = "category"
            for kind, ref in nc.loaders.items():
                ref_ok(ref, f"loader for {kind}")
                key = (nc.vo_type, kind)
                if key in self._loaders:
                    fail(f"a loader for {kind!r} under VO type {nc.vo_type!r} is already given by "
                         f"provider {self._loaders[key][1]!r}")
                if claimed.get(key) == "loader":
                    fail(f"two loaders for {kind!r} under VO type {nc.vo_type!r}")
                if key not in claimed:
                    claimed[key] = "loader"

        unique([a.id for a in m.actions], "action")
        for a in m.actions:
            if a.id in self.actions:
                fail(f"action {a.id!r} already registered")
            if a.selection not in ("1", "+"):
                fail(f"action {a.id} selection must be '1' or '+'")
            if not a.kinds:
                fail(f"action {a.id} names no element kinds")
            if a.command and a.command not in COMMANDS:
                fail(f"action {a.id} carries out {a.command!r}, which is not a standard command "
                     f"({', '.join(COMMANDS)})")
            if a.refreshes not in REFRESHES:
                fail(f"action {a.id} refreshes must be one of {REFRESHES}, got {a.refreshes!r}")
            ref_ok(a.handler, f"action {a.id} handler")
            fields_ok(a.fields, f"action {a.id}")

        self._check_cli(m, fail, ref_ok)

        unique([s.scheme for s in m.storage_schemes], "storage scheme")
        for s in m.storage_schemes:
            if s.scheme in self.storage_schemes:
                fail(f"storage scheme {s.scheme!r} already registered")
            ref_ok(s.implementation, f"storage scheme {s.scheme} implementation")

        polled: set[tuple[str, str]] = set()
        for src in m.state_sources:
            if not src.kinds:
                fail(f"a state source of VO type {src.vo_type!r} names no element kinds")
            if not src.stable:
                fail(f"the state source for {', '.join(sorted(src.kinds))} names no stable states")
            ref_ok(src.loader, f"state source for {', '.join(sorted(src.kinds))} loader")
            for kind in src.kinds:
                key = (src.vo_type, kind)
                if key in polled or key in self.state_sources:
                    fail(f"the state of {kind!r} under VO type {src.vo_type!r} has a source already")
                polled.add(key)

        unique([s.id for s in m.sandboxes], "sandbox")
        for s in m.sandboxes:
            if s.id in self.sandboxes:
                fail(f"sandbox {s.id!r} already registered")
            ref_ok(s.factory, f"sandbox {s.id} factory")

    def _check_cli(self, m: ProviderManifest, fail: Callable[[str], None],
                   ref_ok: Callable[[str | None, str], None]) -> None:
        """Command words: two lower-case words, not beginning with the core's own; an action's
        taken by no other action and no listing; a listing's once per VO type."""
        def words_ok(words: str, owner: str) -> None:
            if not _CLI_WORDS.fullmatch(words):
                fail(f"{owner}: command {words!r} is not two lower-case words (“vm stop”)")
            if words.split()[0] in CLI_CORE_WORDS:
                fail(f"{owner}: command {words!r} begins with a word of the core's own commands")

        listed = {w for w, _ in self.listing_commands} | {lc.words for lc in m.listing_commands}
        taken = {a.cli: a.id for a in self.actions.values() if a.cli}
        for a in m.actions:
            if not a.cli:
                continue
            words_ok(a.cli, f"action {a.id}")
            if a.cli in taken or a.cli in listed:
                fail(f"action {a.id}: command {a.cli!r} is taken by {taken.get(a.cli, 'a listing')}")
            taken[a.cli] = a.id
        seen: set[tuple[str, str]] = set()
        for lc in m.listing_commands:
            owner = f"listing {lc.words!r}"
            words_ok(lc.words, owner)
            key = (lc.words, lc.vo_type)
            if key in seen or key in self.listing_commands:
                fail(f"{owner} of VO type {lc.vo_type!r} is declared twice")
            seen.add(key)
            if not lc.path:
                fail(f"{owner} names no path from a category")
            if lc.target is not None:
                ref_ok(lc.target, f"{owner} target")
            for flag in lc.flags:
                if len(flag) != 3 or not re.fullmatch(r"[a-z][a-z0-9-]*", str(flag[0])) or not flag[1]:
                    fail(f"{owner}: a flag is (name, path, help), its name lower-case words joined by “-”")

    def _storage_actions(self) -> None:
        """The core's storage actions, for the kinds of every storage scheme registered so far."""
        from gridclient.storage.actions import storage_actions

        schemes = list(self.storage_schemes.values())
        for action in storage_actions(
                folders=frozenset().union(*(s.folder_kinds for s in schemes)),
                files=frozenset().union(*(s.file_kinds for s in schemes)),
                roots=frozenset().union(*(s.root_kinds for s in schemes))):
            self.actions[action.id] = action

    def storage_kind(self, kind: str) -> str:
        """"folder", "file" or "" for an element kind."""
        for s in self.storage_schemes.values():
            if kind in s.folder_kinds:
                return "folder"
            if kind in s.file_kinds:
                return "file"
        return ""

    # -- queries ---------------------------------------------------------------------------
    def categories(self, vo_type: str) -> list[Category]:
        """The top-level nodes of a project on this VO type, from every contributor."""
        return list(self._categories.get(vo_type, ()))

    def loader_for(self, vo_type: str, kind: str) -> Callable | None:
        found = self._loaders.get((vo_type, kind))
        return None if found is None else resolve(found[0])

    def actions_for(self, elements: list[Any]) -> list[Action]:
        """Actions that apply to the elements, in menu order (by group, then as registered)."""
        order = {g: i for i, g in enumerate(MENU_GROUPS)}
        found = [a for a in self.actions.values() if a.applies_to(elements)]
        return sorted(found, key=lambda a: (order.get(a.group, len(order)), a.group))

    def state_source_for(self, vo_type: str, kind: str) -> StateSource | None:
        """Where the state of elements of ``kind`` under a VO of ``vo_type`` is polled, if anywhere."""
        return self.state_sources.get((vo_type, kind))

    def action_for_command(self, command: str, elements: list[Any]) -> Action | None:
        """The action that carries out a standard command (COMMAND_DELETE) for the elements."""
        return next((a for a in self.actions_for(elements) if a.command == command), None)

    def all_references(self) -> Iterable[str]:
        """Every dotted name every manifest names (a test imports them all)."""
        for r in self.providers:
            if not r.ok:
                continue
            m = r.manifest
            for vt in m.vo_types:
                yield vt.token_factory
                yield vt.connection_test
                if vt.explain_error:
                    yield vt.explain_error
                if vt.validator:
                    yield vt.validator
                yield from (f.choices_from for f in vt.fields if f.choices_from)
                yield from (f.check for f in vt.fields if f.check)
            for nc in m.node_contributors:
                yield from nc.loaders.values()
            for a in m.actions:
                yield a.handler
                yield from (f.choices_from for f in a.fields if f.choices_from)
                yield from (f.check for f in a.fields if f.check)
            for s in m.storage_schemes:
                yield s.implementation
            for s in m.sandboxes:
                yield s.factory
            for src in m.state_sources:
                yield src.loader
            yield from (lc.target for lc in m.listing_commands if lc.target)
