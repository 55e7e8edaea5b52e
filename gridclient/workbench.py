"""The core's composition: workspace, registry, secrets, auth tokens, cache and operations.

One Workbench is made by each front end (ui/app.py, the CLI, tests); there is no global one.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Iterable, Iterator

from gridclient.cache import InfoCache
from gridclient.elements import Element
from gridclient.operations import OperationRunner
from gridclient.paths import AppPaths
from gridclient.registry import ExtensionRegistry
from gridclient.secrets import SecretStore
from gridclient.session import AuthTokens
from gridclient.workspace import VirtualOrganization, Workspace

log = logging.getLogger(__name__)


class NoLoader(LookupError):
    pass


def read_ahead(pages: Iterable[Any], stop: threading.Event | None = None) -> Iterator[Any]:
    """``pages``, fetched one page ahead on a helper thread.

    A loader asks for the next page only when its consumer wants it, so every page's network
    round trip used to wait for the consumer's work on the page before (turning it into rows,
    encoding it for the cache): ~10% of a 10,000-object listing. The helper stops after the page
    in flight once ``stop`` is set or the consumer goes away; an error reaches the consumer in
    order, after the pages before it.
    """
    q: queue.Queue = queue.Queue(maxsize=1)
    gone = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not gone.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put(("page", page)):
                    return  # the consumer has gone
                if stop is not None and stop.is_set():
                    break
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(("error", exc))

    threading.Thread(target=fetch, name="gridclient-read-ahead", daemon=True).start()
    try:
        while True:
            kind, value = q.get()
            if kind == "page":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        gone.set()
        try:  # unblock a helper waiting to put
            q.get_nowait()
        except queue.Empty:
            pass


class Workbench:
    def __init__(self, paths: AppPaths, registry: ExtensionRegistry | None = None,
                 secrets: SecretStore | None = None):
        self.paths = paths.ensure()
        self.registry = registry if registry is not None else ExtensionRegistry().discover()
        self.secrets = secrets if secrets is not None else SecretStore()
        self.workspace = Workspace(self.paths)
        self.tokens = AuthTokens(self.registry, self.secrets, self.paths)
        #: bumped whenever a VO is saved or deleted: views showing it rebuild what depends on it
        self.vo_revisions: dict[str, int] = {}
        self.cache = InfoCache(self.paths.cache / "listings.sqlite3")
        self.operations = OperationRunner(explain=lambda e: self.tokens.explain(None, e))

    @property
    def live_refresh(self) -> bool:
        return bool(self.workspace.preferences.get("live_refresh", True))

    def vo(self, vo_id: str) -> VirtualOrganization:
        return self.workspace.vos[vo_id]

    # -- VOs -------------------------------------------------------------------------------
    def split_values(self, type_id: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(settings, secrets) from form values: secret fields never reach the settings."""
        vt = self.registry.vo_types[type_id]
        settings: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        defaults = {f.name: f.default for f in vt.fields}
        values = {**{k: v for k, v in defaults.items() if v is not None}, **values}
        for f in vt.fields:
            if f.name not in values:
                continue
            value = values[f.name]
            if f.when is not None and values.get(f.when[0]) not in f.when[1]:
                continue  # a field for another credential mode
            if f.secret:
                if value:
                    secrets[f.name] = str(value)
            elif value not in (None, ""):
                settings[f.name] = value
        for k, v in values.items():  # values of no declared field (ssh_users, …) stay settings
            if k not in {f.name for f in vt.fields}:
                settings[k] = v
        return settings, secrets

    def save_vo(self, name: str, type_id: str, values: dict[str, Any],
                vo: VirtualOrganization | None = None) -> VirtualOrganization:
        """Create or update a VO: settings to the workspace file, secrets to the keyring only.

        A secret field left empty on edit keeps the stored secret.
        """
        settings, secrets = self.split_values(type_id, values)
        if vo is None:
            vo = VirtualOrganization(name=name, type=type_id)
        vo.name = name
        vo.type = type_id
        keep = {k: v for k, v in vo.settings.items() if k in ("ssh_users",)}
        vo.settings = {**keep, **settings}
        for key, value in secrets.items():
            self.secrets.set(vo.id, key, value)
        declared = {f.name: f for f in self.registry.vo_types[type_id].fields}
        still = []
        for key in set(vo.secret_fields) | set(secrets):
            f = declared.get(key)
            if f is not None and (f.when is None or settings.get(f.when[0], f.when[1][0]) in f.when[1]):
                still.append(key)
            else:
                self.secrets.delete(vo.id, key)
        vo.secret_fields = sorted(still)
        self.workspace.add_vo(vo)
        self.vo_revisions[vo.id] = self.vo_revisions.get(vo.id, 0) + 1
        self.tokens.forget(vo.id)
        self.cache.forget(vo.id)
        return vo

    def delete_vo(self, vo_id: str) -> None:
        self.vo_revisions[vo_id] = self.vo_revisions.get(vo_id, 0) + 1
        vo = self.workspace.vos.get(vo_id)
        if vo is not None:
            for key in vo.secret_fields:
                self.secrets.delete(vo_id, key)
            self.cache.forget(vo_id)
            self.tokens.forget(vo_id)
        self.workspace.remove_vo(vo_id)

    # -- listings --------------------------------------------------------------------------
    def listing(self, vo: VirtualOrganization, element: Element, *, show_cached: bool = True,
                merge: bool = False, stop: threading.Event | None = None) -> Iterator[tuple[str, Any]]:
        """Events for one node's children, run on a worker thread.

        ``("cached", children)`` first when the cache knows the node (and ``show_cached``);
        then, unless live refresh is off and the cache answered, the live listing: as
        ``("page", children)`` pages when nothing is shown yet, or one ``("replace", children)``
        when it revalidates what is shown (cached rows, or a refresh with ``merge``).
        """
        loader = self.registry.loader_for(vo.type, element.kind)
        if loader is None:
            raise NoLoader(f"No provider loads children of {element.kind!r}.")
        shown = merge
        if show_cached:
            hit = self.cache.get(vo.id, element.key)
            if hit is not None:
                yield "cached", hit[0]
                shown = True
                if not self.live_refresh:
                    return
        token = self.tokens.token(vo)
        children: list[Element] = []
        encoded: list[str] = []
        for page in read_ahead(loader(token, element), stop):
            if stop is not None and stop.is_set():
                return
            children.extend(page)
            # encoded for the cache page by page, before the page is handed on: the consumer (the
            # GUI thread) is idle now, and one encode of 10,000 rows at the end competed with it
            # for the GIL for ~100 ms
            encoded.append(self.cache.encode(page))
            if not shown:
                yield "page", page
        if shown:
            yield "replace", children
        self.cache.put_encoded(vo.id, element.key, encoded)

    def children(self, vo: VirtualOrganization, element: Element) -> list[Element]:
        """Every child, live (for the CLI and tests)."""
        out: list[Element] = []
        for _event, page in self.listing(vo, element, show_cached=False):
            out.extend(page)
        return out

    def close(self) -> None:
        self.operations.shutdown()
        self.cache.close()
