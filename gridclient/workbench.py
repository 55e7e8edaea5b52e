"""The core's composition: workspace, registry, secrets, auth tokens, cache and operations.

One Workbench is made by each front end (ui/app.py, the CLI, tests); there is no global one.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator

from gridclient.actions import ActionRunner
from gridclient.cache import InfoCache
from gridclient.elements import Element
from gridclient.listing import Cached, Failed, ListingEvent, ListingFailed, NoLoader, Page, Replace, read_ahead
from gridclient.operations import OperationRunner
from gridclient.paths import AppPaths
from gridclient.registry import ExtensionRegistry
from gridclient.secrets import SecretStore
from gridclient.storage.manifest import LOCAL
from gridclient.tokens import AuthTokens
from gridclient.workspace import VirtualOrganization, Workspace

if TYPE_CHECKING:
    from gridclient.remote_jobs import Job, RemoteJobs
    from gridclient.storage import Storage
    from gridclient.storage.transfers import TransferQueue
    from gridclient.watch import StateChange, StateWatcher

log = logging.getLogger(__name__)


class Workbench:
    def __init__(self, paths: AppPaths, registry: ExtensionRegistry | None = None,
                 secrets: SecretStore | None = None):
        self.paths = paths.ensure()
        self.registry = registry if registry is not None else ExtensionRegistry().discover()
        self.secrets = secrets if secrets is not None else SecretStore()
        self.workspace = Workspace(self.paths)
        self.tokens = AuthTokens(self.registry, self.secrets, self.paths)
        self.tokens.storage_for = lambda: self.storage  # loaders of storage rows reach it (token.app_storage())
        #: bumped whenever a VO is saved or deleted: views showing it rebuild what depends on it
        self.vo_revisions: dict[str, int] = {}
        self.cache = InfoCache(self.paths.cache / "listings.sqlite3")
        self.operations = OperationRunner(explain=lambda e: self.tokens.explain(None, e))
        self.actions = ActionRunner(self)
        self._local_sig: tuple | None = None
        self._storage: "Storage | None" = None
        # who answers the core's questions outside an action (the window's Interaction): an
        # unknown host key met when a listing of an instance's files connects
        self.interaction: Any = None
        self._transfers: "TransferQueue | None" = None
        self._watcher: "StateWatcher | None" = None
        self._watcher_lock = threading.Lock()
        self._state_listeners: list[Callable[["StateChange"], None]] = []
        self._jobs: "RemoteJobs | None" = None
        self._jobs_lock = threading.Lock()
        self._job_listeners: list[Callable[["Job"], None]] = []

    # -- the encrypted keyring ---------------------------------------------------------------------
    @property
    def secrets_file(self):
        """Where the OS has no safe keyring: the encrypted file keyring behind a master password."""
        return self.paths.data / "secrets.cfg"

    def use_master_password(self, password: str) -> None:
        """Secrets from (and to) the encrypted file keyring, unlocked with ``password`` (made with
        it where there is none yet); tokens made before, without their secrets, are made again.
        Raises WrongMasterPassword."""
        from gridclient.secrets import encrypted_file_keyring

        self.secrets.use(encrypted_file_keyring(self.secrets_file, password))
        for vo_id in list(self.workspace.vos):
            self.tokens.forget(vo_id)

    @property
    def storage(self) -> "Storage":
        """Files and folders in every scheme (made on first use: start-up needs none)."""
        if self._storage is None:
            from gridclient.storage import Storage

            self._storage = Storage(self.registry, lambda vo_id: self.tokens.token(self.vo(vo_id)),
                                    on_made=self._scheme_made)
        return self._storage

    def _scheme_made(self, name: str, scheme: Any) -> None:
        """A scheme that connects to hosts (sftp) learns where host keys are kept and who answers
        its questions (an unknown host key) when a listing, not an action, connects."""
        if hasattr(scheme, "use"):
            from gridclient.ssh.known_hosts import KnownHosts

            scheme.use(KnownHosts(self.paths.known_hosts), _Asker(self))

    @property
    def transfers(self) -> "TransferQueue":
        """The transfer queue, kept in the workspace's transfers.json (made on first use)."""
        if self._transfers is None:
            from gridclient.storage.transfers import TransferQueue

            self._transfers = TransferQueue(self.storage, self.paths.config / "transfers.json")
            self._transfers.explain_vo = self._explain_transfer
        return self._transfers

    @property
    def watcher(self) -> "StateWatcher":
        """Follows the state of elements actions changed until it is stable (made on first use:
        the action runner starts it for actions that follow state; see :mod:`gridclient.watch`)."""
        with self._watcher_lock:
            if self._watcher is None:
                from gridclient.watch import StateWatcher

                self._watcher = StateWatcher(
                    self.registry, token_for=lambda vo_id: self.tokens.token(self.workspace.vos[vo_id]),
                    explain=lambda vo_id, exc: self.tokens.explain(self.workspace.vos.get(vo_id), exc),
                    listeners=self._state_listeners)
            return self._watcher

    @property
    def jobs(self) -> "RemoteJobs":
        """Commands and scripts run on hosts over SSH (Run command…), kept in the workspace's
        jobs.json (made on first use; see :mod:`gridclient.remote_jobs`)."""
        with self._jobs_lock:
            if self._jobs is None:
                from gridclient.remote_jobs import RemoteJobs
                from gridclient.ssh.known_hosts import KnownHosts

                self._jobs = RemoteJobs(self.paths.config / "jobs.json", KnownHosts(self.paths.known_hosts))
                for fn in self._job_listeners:
                    self._jobs.on_change(fn)
            return self._jobs

    def on_job_change(self, fn: Callable[["Job"], None]) -> None:
        """``fn(job)`` when a job starts or changes (on the jobs' teller thread); the job queue
        itself is still made only when something asks for it."""
        with self._jobs_lock:
            self._job_listeners.append(fn)
            if self._jobs is not None:
                self._jobs.on_change(fn)

    def on_state_change(self, fn: Callable[["StateChange"], None]) -> None:
        """``fn(StateChange)`` whenever followed elements change (on the watcher's thread); the
        watcher itself is still made only when something is to be followed."""
        self._state_listeners.append(fn)

    def _explain_transfer(self, job, exc: BaseException) -> str:
        vo_id = next((loc.vo_id for loc in [*job.sources, job.target] if loc is not None and loc.vo_id), "")
        vo = self.local_vo if vo_id == LOCAL else self.workspace.vos.get(vo_id)
        return self.tokens.explain(vo, exc)

    @property
    def live_refresh(self) -> bool:
        return bool(self.workspace.preferences.get("live_refresh", True))

    def vo(self, vo_id: str) -> VirtualOrganization:
        if vo_id == LOCAL:
            return self.local_vo
        return self.workspace.vos[vo_id]

    @property
    def local_vo(self) -> VirtualOrganization:
        """This computer, as the VO of "Local files" and "SSH connections": its folders are the
        preference ``local_roots`` (the home folder when empty), its hosts ``ssh_connections``.
        Never saved among the VOs."""
        from gridclient.storage.sftp_tree import saved_connections

        roots = [r for r in self.workspace.preferences.get("local_roots", []) if isinstance(r, str)]
        hosts = saved_connections(self.workspace.preferences)
        vo = VirtualOrganization(name="This computer", type=LOCAL, id=LOCAL,
                                 settings={"roots": roots, "ssh_connections": hosts})
        if self._local_sig != (roots, hosts):  # other folders or hosts: the token is made anew
            self._local_sig = (roots, hosts)
            self.tokens.forget(LOCAL)
        return vo

    # -- VOs -------------------------------------------------------------------------------
    def split_values(self, type_id: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(settings, secrets) from form values: secret fields never reach the settings."""
        vt = self.registry.vo_types[type_id]
        declared = {f.name for f in vt.fields}
        values = {**{f.name: f.default for f in vt.fields if f.default is not None}, **values}
        settings: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        for f in vt.fields:
            if f.name not in values or not f.applies(values):  # absent, or for another mode
                continue
            value = values[f.name]
            if f.secret:
                if value:
                    secrets[f.name] = str(value)
            elif value not in (None, ""):
                settings[f.name] = value
        # values of no declared field are settings too (what a handler remembered, a sandbox's own)
        settings.update({k: v for k, v in values.items() if k not in declared})
        return settings, secrets

    def save_vo(self, name: str, type_id: str, values: dict[str, Any],
                vo: VirtualOrganization | None = None) -> VirtualOrganization:
        """Create or update a VO: settings to the workspace file, secrets to the keyring only.

        A secret field left empty on edit keeps the stored secret; settings of no declared field
        (remembered by actions, e.g. login users) survive an edit.
        """
        settings, secrets = self.split_values(type_id, values)
        fields = {f.name: f for f in self.registry.vo_types[type_id].fields}
        if vo is None:
            vo = VirtualOrganization(name=name, type=type_id)
        vo.name = name
        vo.type = type_id
        remembered = {k: v for k, v in vo.settings.items() if k not in fields}
        vo.settings = {**remembered, **settings}
        for key, value in secrets.items():
            self.secrets.set(vo.id, key, value)
        still = []
        for key in set(vo.secret_fields) | set(secrets):
            f = fields.get(key)
            if f is not None and f.applies(vo.settings):
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
                merge: bool = False, stop: threading.Event | None = None) -> Iterator[ListingEvent]:
        """Events for one node's children (see :mod:`gridclient.listing`), run on a worker thread.

        ``Cached`` first when the cache knows the node (and ``show_cached``); then, unless live
        refresh is off and the cache answered, the live listing: as ``Page`` events when nothing
        is shown yet, or one ``Replace`` when it revalidates what is shown (cached rows, or a
        refresh with ``merge``). An error ends the events with ``Failed``, already explained.
        """
        try:
            yield from self._listing(vo, element, show_cached, merge, stop)
        except Exception as exc:  # noqa: BLE001 - told to the person on the node
            message = self.tokens.explain(vo, exc)
            # the explained message only: str(exc) of a proxy error may hold its password
            log.info("listing %s failed: %s: %s", element.key, type(exc).__name__, message)
            yield Failed(message, exc)

    def _listing(self, vo: VirtualOrganization, element: Element, show_cached: bool, merge: bool,
                 stop: threading.Event | None) -> Iterator[ListingEvent]:
        loader = self.registry.loader_for(vo.type, element.kind)
        if loader is None:
            raise NoLoader(f"No provider loads children of {element.kind!r}.")
        shown = merge
        if show_cached:
            hit = self.cache.get(vo.id, element.key)
            if hit is not None:
                yield Cached(*hit)
                shown = True
                if not self.live_refresh:
                    return
        token = self.tokens.token(vo)
        children: list[Element] = []  # kept only to replace rows shown
        stored = self.cache.writer(vo.id, element.key)
        try:
            for page in read_ahead(loader(token, element), stop):
                if stop is not None and stop.is_set():
                    return
                # stored page by page before the page is handed on: the consumer (the GUI
                # thread) is idle now, and one encode of 10,000 rows at the end competed with it
                # for the GIL for ~100 ms (and of 100,000 rows held 40 MB of text beside them)
                stored.add(page)
                if shown:
                    children.extend(page)
                else:
                    yield Page(page)
            if shown:
                yield Replace(children)
            stored.commit()
        finally:
            stored.abort()  # stopped or failed: the previous listing stays

    def children(self, vo: VirtualOrganization, element: Element) -> list[Element]:
        """Every child, live (the command line, tests); ListingFailed says what went wrong."""
        out: list[Element] = []
        for event in self.listing(vo, element, show_cached=False):
            if isinstance(event, Failed):
                raise ListingFailed(event.message) from event.error
            out.extend(event.children)
        return out

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        if self._transfers is not None:
            self._transfers.shutdown()
        if self._jobs is not None:
            self._jobs.shutdown()
        self.operations.shutdown()
        if self._storage is not None:
            self._storage.close()
        self.cache.close()
        from gridclient.catalog import Catalog, catalog_path

        Catalog.drop(catalog_path(self.paths))


class _Asker:
    """The Interaction of whoever shows the workbench (``Workbench.interaction``: the window's),
    looked up at each question; with nobody there, nothing is accepted (an unknown host key is
    refused, a question cancelled)."""

    def __init__(self, wb: Workbench):
        self.wb = wb

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        who = self.wb.interaction
        return bool(who.confirm(title, text, default=default)) if who is not None else False

    def ask(self, title: str, fields: list, *, text: str = "") -> dict | None:
        who = self.wb.interaction
        return who.ask(title, fields, text=text) if who is not None else None

    def notify(self, level: str, title: str, text: str) -> None:
        who = self.wb.interaction
        if who is not None:
            who.notify(level, title, text)
