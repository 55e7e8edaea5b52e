"""What the Python console holds to act with, Qt-free: ``actions`` — every contributed action by id,
called on elements through the same :class:`~gridclient.actions.ActionRunner` as the menus and the
command line (same checks, confirmations, errors, live state) — and the runs they return.

    actions["aws.ec2.stop"](selection)              # as the menu would: asks the same confirmation
    actions["aws.s3.new_folder"](selection, name="x")  # an action's fields given as keywords
    run = actions["aws.ec2.reboot"](selection); run.wait(); run.outcome.message

A call returns at once with an :class:`ConsoleRun` (the console runs on the window's thread, which
never waits on the network); its ``wait()`` blocks until the action is over. The window turns the
outcome into view changes as for a menu (``start`` is the window's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterator

from gridclient.interaction import Field


class Prefilled:
    """An Interaction whose field questions are answered by the keywords given, when they answer
    all the required ones; confirmations and every other question go to ``base`` (the window's
    dialogs: the same "Terminate 2 instances?" as from the menu)."""

    def __init__(self, base: Any, values: dict[str, Any]):
        self.base, self.values = base, dict(values)

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        return self.base.confirm(title, text, default=default, command=command)

    def offer_command(self, command: Any) -> None:
        offer = getattr(self.base, "offer_command", None)
        if offer is not None:
            offer(command)

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        names = {f.name for f in fields}
        given = {k: v for k, v in self.values.items() if k in names}
        filled = {f.name: f.default for f in fields if f.default is not None}
        filled.update(given)
        missing = [f for f in fields if f.required and f.applies(filled) and filled.get(f.name) in (None, "")]
        problems = [f"{f.label}: {p}" for f in fields if f.name in given for p in [f.problem(given[f.name])] if p]
        if given and not missing and not problems:
            return {k: v for k, v in filled.items() if next(f for f in fields if f.name == k).applies(filled)}
        return self.base.ask(title, fields, text=text)

    def notify(self, level: str, title: str, text: str) -> None:
        self.base.notify(level, title, text)


class ConsoleRun:
    """An action started from the console: ``wait()``, ``outcome``, ``state``; shown as a line."""

    def __init__(self, run: Any, jobs: Any = None, known: int = 0):
        self.run = run
        self._jobs, self._known = jobs, known  # run_on: the job queue, and its jobs before this one

    def job(self, timeout: float | None = 30):
        """run_on's job (gridclient.remote_jobs.Job: ``wait()``, ``hosts``, each host's ``stdout``),
        once the action has started it; None if it did not."""
        out = self.run.wait(timeout)
        if self._jobs is None or out is None or out.state != "done":
            return None
        jobs = self._jobs.jobs
        return jobs[-1] if len(jobs) > self._known else None

    @property
    def outcome(self):
        return self.run.outcome

    @property
    def state(self) -> str:
        return self.run.outcome.state if self.run.outcome is not None else "running"

    def wait(self, timeout: float | None = None):
        """Block until the action is over (this also holds up the window meanwhile); its outcome."""
        return self.run.wait(timeout)

    def __repr__(self) -> str:
        labels = ", ".join(e.label for e in self.run.elements[:3]) + (" …" if len(self.run.elements) > 3 else "")
        out = self.run.outcome
        said = f": {out.message}" if out is not None and out.message else ""
        return f"<{self.run.action.title} on {labels or 'nothing'} — {self.state}{said}>"


class ConsoleAction:
    """One action, callable on elements: ``action(elements, **field_values)``."""

    def __init__(self, action: Any, start: Callable[..., Any]):
        self.action, self._start = action, start
        self.__doc__ = f"{action.label} ({action.id}) — for {', '.join(sorted(action.kinds))}; " \
                       f"fields: {', '.join(f.name for f in action.fields) or 'none'}"

    def __call__(self, elements: Any, vo: Any = None, **values: Any) -> ConsoleRun:
        if hasattr(elements, "kind") and hasattr(elements, "id"):  # one element
            elements = [elements]
        run = self._start(self.action, elements, vo, values)
        if run is None:
            raise ValueError(f"{self.action.title}: select rows of its kinds first "
                             f"({', '.join(sorted(self.action.kinds))}).")
        return ConsoleRun(run)

    def __repr__(self) -> str:
        return f"<action {self.action.id}: {self.action.label}>"


class Actions(Mapping):
    """Every registered action by id (tab completion in the console's ``actions["…``)."""

    def __init__(self, registry: Any, start: Callable[..., Any]):
        self._registry, self._start = registry, start

    def __getitem__(self, action_id: str) -> ConsoleAction:
        action = self._registry.actions.get(action_id)
        if action is None:
            near = [a for a in self._registry.actions if action_id.lower() in a.lower()]
            raise KeyError(f"no action {action_id!r}" + (f"; did you mean {', '.join(near[:5])}?" if near else ""))
        return ConsoleAction(action, self._start)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._registry.actions))

    def __len__(self) -> int:
        return len(self._registry.actions)

    def for_(self, elements: Any) -> list[str]:
        """The ids of the actions that apply to these elements."""
        return [a.id for a in self._registry.actions_for(list(elements))]

    def _ipython_key_completions_(self) -> list[str]:
        return list(self)

    def __repr__(self) -> str:
        return f"<{len(self)} actions: actions['id'](elements, **fields); actions.for_(selection) lists the ones that apply>"


def run_on(workbench: Any, start: Callable[..., Any], hosts: Any, command: str, vo: Any = None) -> ConsoleRun:
    """``run_on(selection, "uptime")``: the action that runs a command on these elements (the one
    declaring ``COMMAND_RUN``: on AWS instances, Run command…), with the same host-key policy and
    key lookup as a terminal; the job shows in Operations → Jobs, and ``.job()`` gives it."""
    from gridclient.registry import COMMAND_RUN

    elements = list(hosts.elements() if hasattr(hosts, "elements") else
                    ([hosts] if hasattr(hosts, "kind") else hosts))
    action = workbench.registry.action_for_command(COMMAND_RUN, elements)
    if action is None:
        kinds = ", ".join(sorted({e.kind for e in elements})) or "nothing"
        raise ValueError(f"No action runs commands on {kinds}: select running instances.")
    known = len(workbench.jobs.jobs)
    run = start(action, hosts if hasattr(hosts, "indexes") else elements, vo,
                {"command": command})  # its other fields at their defaults
    if run is None:
        raise ValueError("Select the instances to run it on first.")
    return ConsoleRun(run, workbench.jobs, known)
