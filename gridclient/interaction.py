"""How handlers talk to the person, without knowing whether that is Qt, a terminal or a test.

ui implements :class:`Interaction` with dialogs, the CLI with prompts, tests with a scripted fake.
Every method may be called from a worker thread; implementations marshal to their own thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Field:
    """One input a contribution asks for: a VO type's auth-token field or an action parameter."""

    name: str
    label: str
    # text | lines (several lines of text) | secret | choice | url | bool | int | path | folder |
    # files (a list) | search (one row of a big list, searched as typed: ``search_from``)
    kind: str = "text"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    # "module:attr" of a callable () -> list[str], resolved when the form is shown
    choices_from: str | None = None
    editable: bool = True  # for choice: may the person type a value not in the list
    help: str = ""
    placeholder: str = ""
    # Only shown/used when another field has one of these values: ("credential_mode", ("keys",))
    when: tuple[str, tuple[str, ...]] | None = None
    page: str = "General"
    # "module:attr" of (value) -> a sentence of what is wrong with it, or "" (checked as typed)
    check: str | None = None
    # for kind "search": "module:attr" of (text, *search_args) -> Matches, called at each
    # keystroke (so it answers from memory: gridclient.catalog); the value is the chosen row's
    # first column, or the text typed when the field is ``editable`` and no row is chosen
    search_from: str | None = None
    search_args: tuple[str, ...] = ()

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    def problem(self, value: Any) -> str:
        """What is wrong with ``value`` for this field, as a sentence ("" when nothing): missing,
        not one of a fixed choice, or what its ``check`` says. Forms show it as typed; a handler
        given values from elsewhere (a script, the console) refuses them with the same words."""
        if self.required and value in (None, "", []):
            return f"{self.label} is needed."
        if self.kind == "choice" and not self.editable and self.choices and value not in self.choices:
            return f"{self.label}: choose one of the list (“{value}” is not one of its entries)."
        if self.check and value not in (None, ""):
            from gridclient.registry import resolve

            try:
                said = resolve(self.check)(value)
            except Exception as exc:  # noqa: BLE001 - a broken check is shown, not raised
                said = f"cannot be checked ({exc})"
            if said:
                return f"{self.label}: {said}"
        return ""

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether this field is in use for these values: a field ``when`` another field has one
        of some values (keys only in the "keys" credential mode) is not in use otherwise."""
        return self.when is None or str(values.get(self.when[0], "")) in self.when[1]


@dataclass(frozen=True)
class Matches:
    """What a search field shows for the text typed: the columns' titles, the rows (each row's
    first column is its value), how many match in all (more than the rows given, when the search
    keeps only the first), and a line to show under them ("fetched 2 days ago")."""

    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    total: int
    note: str = ""


@runtime_checkable
class Interaction(Protocol):
    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        """Yes/no question. Returns False when the person declines or closes the question.
        ``command``: the same done from a shell, offered to copy ("Copy as command")."""

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        """Ask for several values; None when cancelled."""

    def notify(self, level: str, title: str, text: str) -> None:
        """level is one of "info", "warning", "error"."""


@dataclass
class ScriptedInteraction:
    """An Interaction that answers from a script and records what it was told (tests, ``--yes``)."""

    confirm_answers: list[bool] = field(default_factory=list)
    ask_answers: list[dict[str, Any] | None] = field(default_factory=list)
    default_confirm: bool = False
    log: list[tuple[str, ...]] = field(default_factory=list)

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        self.log.append(("confirm", title, text) + ((command,) if command else ()))
        return self.confirm_answers.pop(0) if self.confirm_answers else self.default_confirm

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        self.log.append(("ask", title, text))
        return self.ask_answers.pop(0) if self.ask_answers else None

    def notify(self, level: str, title: str, text: str) -> None:
        self.log.append(("notify", level, title, text))
