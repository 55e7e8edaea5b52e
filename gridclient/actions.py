"""Running a contributed action, the same way for every front end: the window, the command line,
the Python console and the tests.

:class:`ActionRunner` takes an action, the selected elements, their VO and an
:class:`~gridclient.interaction.Interaction`, and does the whole path:

1. the action must apply to the elements and be enabled for their state (else ``refused``);
2. its confirmation and its parameter fields are asked on the caller's thread (a "no" or a closed
   dialog is ``declined``: nothing runs);
3. the handler runs as an Operation on the core's pool, with the VO's auth token; it may ask more
   through the interaction (which is safe to call from a worker) and raise :class:`Cancelled`;
4. an error becomes a sentence by the VO type's ``explain_error``; :class:`ElementGone` (what the
   action was for no longer exists) is told as such;
5. what the handler asked to keep (``ctx.remember``: a login user) goes into the VO's settings and
   the workspace is saved;
6. the caller gets an :class:`ActionOutcome`: the state, a message, which listing to reload, a
   terminal to open, a new ``ref`` for the elements, read-only text to show (``text``, ``title``).
   The window turns it into view changes, the
   command line into output and an exit code;
7. when the action changed a state that takes a while to settle (``Action.follows_state``: Stop;
   or the handler's ``ActionResult.watch``: a launch's new instances), the workbench's
   :class:`~gridclient.watch.StateWatcher` follows those elements until they are stable and tells
   its listeners (the window's rows) each change; the outcome lists them in ``watched``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from gridclient.elements import Element
from gridclient.interaction import Interaction
from gridclient.operations import Cancelled, Operation
from gridclient.registry import Action, resolve

if TYPE_CHECKING:
    from gridclient.paths import AppPaths
    from gridclient.workbench import Workbench
    from gridclient.workspace import VirtualOrganization

log = logging.getLogger(__name__)

__all__ = ["ActionContext", "ActionOutcome", "ActionResult", "ActionRun", "ActionRunner", "Cancelled",
           "ElementGone"]


class ElementGone(Exception):
    """What the action was for no longer exists (removed outside the app); ``str(e)`` says so.

    The runner reports it as ``gone`` and has the listing the elements were in reloaded."""


@dataclass
class ActionContext:
    """What an action handler is handed."""

    elements: list[Element]
    vo: "VirtualOrganization"
    token: Any
    interaction: Interaction
    paths: "AppPaths"
    operation: Operation | None = None
    values: dict[str, Any] = field(default_factory=dict)  # the action's parameter fields
    remember: dict[str, Any] = field(default_factory=dict)  # VO settings the handler wants kept
    workbench: "Workbench | None" = None

    @property
    def storage(self):
        """Files and folders of every scheme (:class:`gridclient.storage.Storage`)."""
        return self.workbench.storage

    @property
    def transfers(self):
        """The transfer queue the Operations dock shows."""
        return self.workbench.transfers

    @property
    def element(self) -> Element:
        return self.elements[0]


@dataclass(frozen=True)
class ActionResult:
    """What a handler may return instead of a plain message: every part is optional."""

    message: str = ""
    terminal: Any = None  # a gridclient.ssh.SSHTarget to open an interactive session to
    ref: dict[str, Any] | None = None  # merged into the elements' ref (a catalog's new query)
    refresh: str | None = None  # overrides the action's ``refreshes``
    copy: str = ""  # text for the clipboard (a URI, a presigned URL)
    properties: dict[str, Any] | None = None  # merged into the element's properties (details fetched)
    text: str = ""  # read-only text for a tab of its own (an instance's console output)
    title: str = ""  # that tab's title
    # elements whose state to follow until stable (a launch's new instances); None: the action's
    # own elements if it ``follows_state``, else none
    watch: tuple[Element, ...] | None = None


@dataclass(frozen=True)
class ActionOutcome:
    """How an action ended, for the front end to show."""

    action: Action
    elements: tuple[Element, ...]
    # done | failed | gone | cancelled | declined (the person said no first) | refused (does not apply)
    state: str
    message: str = ""
    # "parent": reload the listing the elements are in; "self": their children; "kind:K": the shown
    # nodes of kind K in their project (a launch from an image reloads Computing)
    refresh: str = ""
    terminal: Any = None
    ref: dict[str, Any] | None = None
    copy: str = ""
    properties: dict[str, Any] | None = None
    text: str = ""
    title: str = ""
    watched: tuple[Element, ...] = ()  # the elements whose state the workbench's watcher follows now

    @property
    def ok(self) -> bool:
        return self.state == "done"


class ActionRun:
    """One action under way: its Operation (None when it never started) and, once over, its outcome."""

    def __init__(self, action: Action, elements: list[Element], vo: "VirtualOrganization"):
        self.action, self.elements, self.vo = action, elements, vo
        self.operation: Operation | None = None
        self.outcome: ActionOutcome | None = None
        self._done = threading.Event()
        self._listeners: list[Callable[[ActionOutcome], None]] = []
        self._lock = threading.Lock()
        self.gone = False

    def on_done(self, fn: Callable[[ActionOutcome], None]) -> None:
        """Call ``fn(outcome)`` once the run is over (at once if it is); from the thread that ended it."""
        with self._lock:
            if self.outcome is None:
                self._listeners.append(fn)
                return
        fn(self.outcome)

    def wait(self, timeout: float | None = None) -> ActionOutcome | None:
        self._done.wait(timeout)
        return self.outcome

    def _finish(self, outcome: ActionOutcome) -> None:
        with self._lock:
            if self.outcome is not None:
                return
            self.outcome = outcome
            listeners, self._listeners = self._listeners, []
        self._done.set()
        for fn in listeners:
            fn(outcome)


class _Explained(Exception):
    """An error already turned into a sentence (the Operation shows ``str(e)``)."""


def either(words: list[str]) -> str:
    """"a", "a or b", "a, b or c"."""
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def labels_of(elements: list[Element], limit: int = 5) -> str:
    return ", ".join(e.label for e in elements[:limit]) + (" …" if len(elements) > limit else "")


class ActionRunner:
    def __init__(self, workbench: "Workbench"):
        self.wb = workbench

    def action(self, action_id: str) -> Action:
        try:
            return self.wb.registry.actions[action_id]
        except KeyError:
            raise LookupError(f"No loaded provider offers the action {action_id!r}. "
                              "See Help → Providers.") from None

    def start(self, action: Action | str, elements: list[Element], vo: "VirtualOrganization",
              interaction: Interaction) -> ActionRun:
        """Ask what is to be asked here, then run the handler in the background; see the module's text."""
        if isinstance(action, str):
            action = self.action(action)
        run = ActionRun(action, list(elements), vo)
        if not action.applies_to(run.elements):
            run._finish(self._outcome(run, "refused", f"{action.title} is not for this selection."))
            return run
        if not action.enabled_for(run.elements):
            states = ", ".join(sorted({e.state or "in no known state" for e in run.elements}))
            run._finish(self._outcome(run, "refused", (
                f"{action.title} is for elements that are {either(sorted(action.states))}; "
                f"{labels_of(run.elements)}: {states}.")))
            return run
        labels = labels_of(run.elements)

        def command(values: dict[str, Any] | None = None) -> str:
            """The same on the command line ("Copy as command"); "" if it cannot be said."""
            try:
                from gridclient.cli.equivalent import command_for

                return command_for(self.wb.registry, action, run.elements, vo, values)
            except Exception:  # noqa: BLE001 - an extra: never what stops an action
                log.debug("no command line for %s", action.id, exc_info=True)
                return ""

        if action.confirm:
            text = action.confirm.format(count=len(run.elements), labels=labels)
            if not interaction.confirm(action.title, text, command=command()):
                run._finish(self._outcome(run, "declined"))
                return run
        values: dict[str, Any] = {}
        if action.fields:
            offer = getattr(interaction, "offer_command", None)
            if offer is not None:  # a front end that can show it beside the fields (the window's form)
                offer(command)
            answer = interaction.ask(action.title, list(action.fields), text=f"For {labels}")
            if answer is None:
                run._finish(self._outcome(run, "declined"))
                return run
            values = dict(answer)
        ctx = ActionContext(run.elements, vo, None, interaction, self.wb.paths, values=values, workbench=self.wb)

        def work(op: Operation) -> ActionResult:
            ctx.operation = op
            try:
                ctx.token = self.wb.tokens.token(vo)
                handler = resolve(action.handler)  # imported on first use
                result = handler(ctx)
            except Cancelled:
                raise
            except ElementGone as exc:
                run.gone = True
                raise _Explained(str(exc)) from exc
            except Exception as exc:
                log.debug("%s failed", action.id, exc_info=exc)  # the sentence is said; its traceback at DEBUG
                raise _Explained(self.wb.tokens.explain(vo, exc)) from exc
            finally:
                if ctx.remember:
                    self.wb.workspace.update_vo_settings(vo, ctx.remember)
                    self.wb.tokens.forget(vo.id)  # a token holds the settings it was made from
            if isinstance(result, ActionResult):
                return result
            return ActionResult(message="" if result is None else str(result))

        def observe(op: Operation) -> None:
            if op.state in ("done", "failed", "cancelled"):
                run._finish(self._ended(run, op))

        run.operation, _future = self.wb.operations.submit(f"{action.title} — {labels}", work,
                                                           observer=observe)
        return run

    def run(self, action: Action | str, elements: list[Element], vo: "VirtualOrganization",
            interaction: Interaction, timeout: float | None = None) -> ActionOutcome:
        """:meth:`start`, then wait for the outcome (the command line, the console, tests)."""
        run = self.start(action, elements, vo, interaction)
        outcome = run.wait(timeout)
        if outcome is None:
            raise TimeoutError(f"{run.action.title} did not finish within {timeout:g} seconds.")
        return outcome

    # -- outcomes ----------------------------------------------------------------------------
    def _outcome(self, run: ActionRun, state: str, message: str = "", **parts: Any) -> ActionOutcome:
        return ActionOutcome(run.action, tuple(run.elements), state, message, **parts)

    def _ended(self, run: ActionRun, op: Operation) -> ActionOutcome:
        if op.state == "cancelled":
            return self._outcome(run, "cancelled", "Cancelled.")
        if op.state == "failed":
            if run.gone:
                return self._outcome(run, "gone", op.error, refresh="parent")
            return self._outcome(run, "failed", op.error)
        result: ActionResult = op.result
        refresh = run.action.refreshes if result.refresh is None else result.refresh
        return self._outcome(run, "done", result.message, refresh=refresh, terminal=result.terminal,
                             ref=result.ref, copy=result.copy,
                             properties=result.properties, text=result.text, title=result.title,
                             watched=self._follow(run, result))

    def _follow(self, run: ActionRun, result: ActionResult) -> tuple[Element, ...]:
        """Have the workbench's watcher follow what the action changed: the handler's ``watch``,
        or the action's elements when it ``follows_state``. Never fails the action."""
        wanted = result.watch if result.watch is not None else (
            tuple(run.elements) if run.action.follows_state else ())
        if not wanted:
            return ()
        try:
            return tuple(self.wb.watcher.watch(run.vo, wanted))
        except Exception:  # noqa: BLE001 - the action is done; only its rows will not follow
            log.exception("cannot follow the state after %s", run.action.id)
            return ()
