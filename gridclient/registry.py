"""The extension-point registry.

Providers are found through the entry-point group ``gridclient.providers``. Each entry point
names a :class:`ProviderManifest`: plain data, with code referred to as ``"module:attr"`` and
imported on first use (napari/npe2's idea), so start-up imports neither boto3 nor paramiko.
A provider that fails to load is recorded with its error and start-up goes on.
Contributions are checked when they register, not when they are first called (pluggy's idea).
"""

from __future__ import annotations

import importlib
import logging
import traceback
from dataclasses import dataclass, field
try:
    # the backport imports in ~8 ms; the standard library's module (3.11, 3.12) imports the whole
    # email package first (~20 ms), a tenth of start-up
    from importlib_metadata import entry_points
except ImportError:  # pragma: no cover - the dependency is declared; kept for odd installs
    from importlib.metadata import entry_points
from typing import Any, Callable, Iterable

from gridclient.interaction import Field

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gridclient.providers"


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
    # "module:attr" of (exception) -> str: a plain sentence of what went wrong and what to do
    explain_error: str | None = None
    # "module:attr" of (values: dict) -> list[str]: problems across fields (e.g. unknown region)
    validator: str | None = None


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
    """

    vo_type: str
    categories: tuple[Category, ...]
    loaders: dict[str, str]
    # kinds whose elements may have children (answers hasChildren without fetching)
    container_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Action:
    """A context action: chosen by element kind, selection count and element state."""

    id: str
    label: str
    handler: str  # "module:attr" of (ctx: ActionContext) -> Any
    kinds: frozenset[str]
    selection: str = "1"  # "1" or "+"
    icon: str = ""
    # element states the action is enabled for; empty means any state
    states: frozenset[str] = frozenset()
    confirm: str = ""  # confirmation text, "{count}" and "{labels}" are filled in
    fields: tuple[Field, ...] = ()
    shortcut: str = ""
    group: str = ""
    # runs as a background Operation (True) or directly on the caller's thread (False: dialogs)
    background: bool = True
    # refresh the parent listing of the selected elements once the action is done
    refreshes: str = "parent"  # "parent" | "self" | ""

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


@dataclass(frozen=True)
class StorageScheme:
    scheme: str
    implementation: str  # "module:attr"


@dataclass(frozen=True)
class ProviderManifest:
    id: str
    name: str
    version: str = "0"
    vo_types: tuple[VOType, ...] = ()
    node_contributors: tuple[NodeContributor, ...] = ()
    actions: tuple[Action, ...] = ()
    storage_schemes: tuple[StorageScheme, ...] = ()


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
    node_contributors: dict[str, NodeContributor] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    storage_schemes: dict[str, StorageScheme] = field(default_factory=dict)

    # -- discovery -------------------------------------------------------------------------
    def discover(self, group: str = ENTRY_POINT_GROUP) -> "ExtensionRegistry":
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            self.load_entry_point(ep.name, ep.value, ep.load)
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
        if not isinstance(manifest, ProviderManifest):
            raise ContributionError(f"entry point gave {type(manifest).__name__}, not a ProviderManifest")
        if any(r.ok and r.manifest.id == manifest.id for r in self.providers):
            raise ContributionError(f"provider id {manifest.id!r} is registered twice")
        self._check(manifest)
        for vt in manifest.vo_types:
            self.vo_types[vt.id] = vt
        for nc in manifest.node_contributors:
            self.node_contributors[nc.vo_type] = nc
        for action in manifest.actions:
            self.actions[action.id] = action
        for scheme in manifest.storage_schemes:
            self.storage_schemes[scheme.scheme] = scheme
        self.providers.append(ProviderRecord(entry_point or manifest.id, manifest))

    def _check(self, m: ProviderManifest) -> None:
        def ref_ok(ref: str, what: str) -> None:
            module, sep, attr = ref.partition(":")
            if not sep or not module or not attr:
                raise ContributionError(f"{m.id}: {what} must be 'module:attr', got {ref!r}")

        for vt in m.vo_types:
            if vt.id in self.vo_types:
                raise ContributionError(f"{m.id}: VO type {vt.id!r} already registered")
            ref_ok(vt.token_factory, f"VO type {vt.id} token_factory")
            ref_ok(vt.connection_test, f"VO type {vt.id} connection_test")
            names = [f.name for f in vt.fields]
            if len(names) != len(set(names)):
                raise ContributionError(f"{m.id}: VO type {vt.id} has duplicate field names")
        for nc in m.node_contributors:
            for kind, ref in nc.loaders.items():
                ref_ok(ref, f"loader for {kind}")
        for a in m.actions:
            if a.id in self.actions:
                raise ContributionError(f"{m.id}: action {a.id!r} already registered")
            if a.selection not in ("1", "+"):
                raise ContributionError(f"{m.id}: action {a.id} selection must be '1' or '+'")
            if not a.kinds:
                raise ContributionError(f"{m.id}: action {a.id} names no element kinds")
            ref_ok(a.handler, f"action {a.id} handler")

    # -- queries ---------------------------------------------------------------------------
    def actions_for(self, elements: list[Any]) -> list[Action]:
        return [a for a in self.actions.values() if a.applies_to(elements)]

    def loader_for(self, vo_type: str, kind: str) -> Callable | None:
        nc = self.node_contributors.get(vo_type)
        if nc is None or kind not in nc.loaders:
            return None
        return resolve(nc.loaders[kind])

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
                for f in vt.fields:
                    if f.choices_from:
                        yield f.choices_from
            for nc in m.node_contributors:
                yield from nc.loaders.values()
            for a in m.actions:
                yield a.handler
            for s in m.storage_schemes:
                yield s.implementation
