"""The :class:`~gridclient.interaction.Interaction` of the command line: the same questions the
window asks with dialogs, answered from the command line or on the terminal.

- ``confirm``: yes with ``--yes``; else asked on the terminal when standard input is one; else
  refused (no one is there to answer), and the refusal is kept as a sentence for the exit.
- ``ask``: the values given on the command line (by field name) first; a missing required one is
  prompted for on a terminal (a secret without echo); else the question cannot be answered — a
  usage problem, kept as a sentence for the exit.
- ``notify``: a line on standard error (standard output stays the command's result).

Handlers may call it from their operation's thread; the caller's thread only waits meanwhile, so
the terminal is never read by two threads at once.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import click

from gridclient.interaction import Field


def option_name(field_name: str) -> str:
    """The command-line option of a field: ``no_reboot`` → ``--no-reboot``."""
    return "--" + field_name.replace("_", "-")


def convert(field: Field, value: Any) -> Any:
    """A value typed on the command line as the field's kind takes it; ValueError saying why not."""
    if not isinstance(value, str):
        return value
    if field.kind == "bool":
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "y", "on"):
            return True
        if lowered in ("0", "false", "no", "n", "off", ""):
            return False
        raise ValueError(f"{field.label}: answer yes or no (“{value}” is neither).")
    if field.kind == "int":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{field.label}: a whole number is needed (“{value}” is not one).") from None
    if field.kind == "files":
        return [v for v in value.split(",") if v]
    if field.kind == "lines":
        return value.replace("\\n", "\n")
    return value


def implied(fields: list[Field], given: dict[str, Any]) -> dict[str, Any]:
    """``given``, with the choice a given field depends on when it has one value only: ``--key K``
    answers "Log in with: Use an existing key pair" too, ``--user-data FILE`` "from a file"."""
    out = dict(given)
    names = {f.name for f in fields}
    for f in fields:
        if f.name in out and f.when and f.when[0] in names and f.when[0] not in out and len(f.when[1]) == 1:
            out[f.when[0]] = f.when[1][0]
    return out


def choice_named(field: Field, value: Any) -> Any:
    """A fixed choice given by what names it: "t3.micro" for "t3.micro — 2 vCPU, 1 GiB", "default"
    or "sg-0abc" for "sg-0abc — default" (one choice only; else the value as given)."""
    if field.kind != "choice" or not field.choices or not isinstance(value, str) or value in field.choices:
        return value
    want = value.strip()
    hits = [c for c in field.choices if c.split(" ", 1)[0] == want
            or any(part.strip() == want for part in str(c).split(" — "))]
    return hits[0] if len(hits) == 1 else value


#: the SSH session's question about a host key it does not know (gridclient/ssh/session.py)
HOST_KEY_QUESTION = "Unknown host key"


class TerminalInteraction:
    def __init__(self, *, yes: bool = False, given: dict[str, Any] | None = None,
                 tty: bool | None = None, hint: Callable[[Field], str] = lambda f: option_name(f.name)):
        self.yes = yes
        self.given = dict(given or {})
        self.tty = sys.stdin.isatty() if tty is None else tty
        self.hint = hint  # how a field is given on this command's line ("--name", "-f name=…")
        #: why a question went unanswered: a confirmation nobody could give (exit 4), or a value
        #: the command line lacks where nobody can type it (exit 2)
        self.refusal = ""
        self.usage = ""
        self._lock = threading.Lock()  # one question on the terminal at a time

    # -- Interaction ---------------------------------------------------------------------------
    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        if title == HOST_KEY_QUESTION:  # trusting a new host is the person's call, never a flag's
            return self._host_key(title, text)
        if self.yes:
            return True
        if not self.tty:
            question = text.split("\n\n", 1)[0].strip()  # not what follows it ("The same from a shell: …")
            self.refusal = (f"{question} Not done: standard input is not a terminal, so nobody "
                            "could confirm; add --yes to confirm.")
            return False
        with self._lock:
            return click.confirm(f"{title}: {text}", default=default, err=True)

    def _host_key(self, title: str, text: str) -> bool:
        if not self.tty:
            facts = " ".join(part.strip() for part in text.split("\n\n")[:2])
            self.refusal = (f"{facts} Not connected: standard input is not a terminal to ask on (--yes does not "
                            "accept host keys). Log in once on a terminal, or add the key to known_hosts.")
            return False
        with self._lock:
            return click.confirm(f"{title}: {text}", default=False, err=True)

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        given = implied(fields, self.given)
        by = {f.when[0]: f for f in fields if f.name in self.given and f.when and f.when[0] not in self.given}
        for f in fields:
            if not f.applies(values):
                continue
            if f.name in given and given[f.name] is not None:
                try:
                    value = choice_named(f, convert(f, given[f.name]))
                except ValueError as exc:
                    self.usage = str(exc)
                    return None
                if f.name in by and f.choices and value not in f.choices:  # implied by another option
                    source = by[f.name]
                    self.usage = (f"{self.hint(source)} needs “{f.label.rstrip('.…')}: {value}”, which is not "
                                  f"offered here (offered: {', '.join(map(str, f.choices))}).")
                    return None
            elif f.default is not None and not (f.required and f.default in ("", [])):
                value = f.default
            elif not f.required:
                continue
            elif self.tty:
                value = self._prompt(title, f, text)
            else:
                self.usage = (f"{title} needs {f.label.rstrip('.')}: give it with {self.hint(f)} "
                              "(standard input is not a terminal to ask on).")
                return None
            problem = f.problem(value)
            while problem and self.tty and f.name not in given:
                click.echo(problem, err=True)
                value = self._prompt(title, f, text)
                problem = f.problem(value)
            if problem:
                self.usage = problem
                return None
            values[f.name] = value
        return values

    def notify(self, level: str, title: str, text: str) -> None:
        prefix = "" if level == "info" else f"{level}: "
        click.echo(f"{prefix}{title}: {text}", err=True)

    # -- the terminal ----------------------------------------------------------------------------
    def _prompt(self, title: str, f: Field, text: str) -> Any:
        with self._lock:
            if text:
                click.echo(f"{title}: {text}", err=True)
            label = f.label.rstrip(".…")
            if f.kind == "choice" and f.choices:
                return self._menu(label, f)
            if f.choices:
                label += f" ({' / '.join(f.choices)})"
            if f.kind == "bool":
                return click.confirm(label, default=bool(f.default), err=True)
            answer = click.prompt(label, hide_input=f.secret, default=f.default, err=True,
                                  show_default=not f.secret)
            try:
                return convert(f, answer)
            except ValueError as exc:
                click.echo(str(exc), err=True)
                return self._prompt(title, f, "")

    def _menu(self, label: str, f: Field) -> Any:
        """A fixed choice as a numbered list: answered by its number, or by what names it
        (:func:`choice_named`); an editable one takes any other text as typed."""
        click.echo(f"{label}:", err=True)
        for n, choice in enumerate(f.choices, 1):
            click.echo(f"  {n:>{len(str(len(f.choices)))}}) {choice}", err=True)
        default = str(f.choices.index(f.default) + 1) if f.default in f.choices else None
        answer = click.prompt(f"Number{' or text' if f.editable else ''}", default=default, err=True).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(f.choices):
            return f.choices[int(answer) - 1]
        return choice_named(f, answer)

