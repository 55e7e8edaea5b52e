"""Commands made from the registry, not written per provider:

- every :class:`~gridclient.registry.ListingCommand` (``vm list``): the node its path reaches,
  listed by the tree's loaders through ``Workbench.children``; the declaration of the chosen VO's
  type is used (two providers may each declare ``vm list`` for their own VO type);
- every :class:`~gridclient.registry.Action` with a ``cli`` name (``vm stop``): its elements
  named by id (found as real Elements: :meth:`Session.find`), its fields as options, run through
  the workbench's ActionRunner with a :class:`TerminalInteraction`;
- ``action list`` and ``action run ACTION_ID [ID…]``: every action, named or not.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from gridclient.actions import ActionOutcome
from gridclient.cli import output
from gridclient.cli.app import common, session
from gridclient.cli.complete import complete_ids
from gridclient.cli.session import Failed, NotFound, Refused, Session, shown_rows
from gridclient.cli.terminal import TerminalInteraction, option_name
from gridclient.interaction import Field
from gridclient.registry import Action

#: how long ``--wait`` follows the state of what an action changed
WAIT_SECONDS = 900


def add_commands(root: click.Group, registry: Any) -> None:
    groups: dict[str, click.Group] = {}

    def group(word: str) -> click.Group:
        if word not in groups:
            groups[word] = root.group(word, context_settings={"help_option_names": ["-h", "--help"]},
                                      help=f"{word} commands (from the providers).")(lambda: None)
        return groups[word]

    by_words: dict[str, list] = {}
    for (words, _vo_type), lc in registry.listing_commands.items():
        by_words.setdefault(words, []).append(lc)
    for words, variants in sorted(by_words.items()):
        first, name = words.split()
        group(first).add_command(listing_command(name, words, variants))
    containers = Session(registry).container_kinds()
    for action in registry.actions.values():
        if action.cli:
            first, name = action.cli.split()
            group(first).add_command(action_command(name, action, containers))
    action_group = root.group("action", help="Every action of every provider, by id.")(lambda: None)
    action_group.add_command(list_actions)
    action_group.add_command(run_by_id)


# -- listings ----------------------------------------------------------------------------------------
def listing_command(name: str, words: str, variants: list) -> click.Command:
    argument = next((lc.argument or "TARGET" for lc in variants if lc.target), "")
    helps = sorted({lc.help for lc in variants if lc.help})

    flags = {name: text for lc in variants for name, _path, text in lc.flags}

    @common()
    def run(target: str | None = None, **chosen: bool) -> None:
        s = session()
        vo = s.vo()
        lc = s.listing_for(words, vo)
        on = [name for name, _path, _text in lc.flags if chosen.get(name.replace("-", "_"))]
        if on:
            if target:
                raise click.UsageError(f"--{on[0]} lists a node of its own: it takes no {argument or 'argument'}.")
            path = next(p for name, p, _t in lc.flags if name == on[0])
            notes: list[str] = []
            rows = shown_rows(s.children(vo, s.walk(vo, path)), lc.kinds, notes)
            output.notes(notes)
            output.elements(rows, s.json, region=vo.region or "")
            return
        if any(chosen.values()):
            raise click.UsageError(f"“{vo.name}” is a {vo.type} Virtual Organisation: `{words}` has no such option there.")
        notes = []
        rows = s.list_rows(lc, vo, target, notes)
        output.notes(notes)  # what the tree says in a row of its own, said on standard error
        output.elements(rows, s.json)

    params: list[click.Parameter] = [click.Argument(["target"], required=False, metavar=f"[{argument}]")] \
        if argument else []
    params += [click.Option([f"--{name}"], is_flag=True, default=False, help=text) for name, text in sorted(flags.items())]
    cmd = click.command(name, help=" ".join(helps) or f"List ({words}).")(run)
    cmd.params[:0] = params
    return cmd


# -- actions -----------------------------------------------------------------------------------------
def field_option(f: Field) -> click.Option | None:
    """A field as a command-line option: never a secret (those are asked on the terminal)."""
    if f.secret:
        return None
    decl = option_name(f.name)
    help_text = " ".join(x for x in (f.label.rstrip("…"), f"— {f.help}" if f.help else "") if x)
    if f.kind == "bool":
        return click.Option([f"{decl}/{decl.replace('--', '--no-', 1)}", f.name], default=None, help=help_text)
    kind: Any = click.INT if f.kind == "int" else None
    if f.kind == "choice" and f.choices and not f.editable:
        kind = click.Choice(f.choices)
    return click.Option([decl, f.name], type=kind, default=None, help=help_text, metavar=f.name.upper())


def action_command(name: str, action: Action, containers: set[str]) -> click.Command:
    needs_ids = bool(action.kinds - containers)
    taken = {"vo", "region", "json", "yes", "workspace", "log_level", "field", "wait", "ids"}
    options = [o for o in (field_option(f) for f in action.fields if f.name not in taken) if o is not None]

    @common()
    def run(ids: tuple[str, ...] = (), field: tuple[str, ...] = (), wait: bool = False, **values: Any) -> None:
        s = session()
        ids = (ids,) if isinstance(ids, str) else ids
        given = {**pairs(field), **{k: v for k, v in values.items() if v is not None}}
        if s.region and any(f.name == "region" for f in action.fields):
            given.setdefault("region", s.region)
        run_action(s, action, list(ids), given, wait)

    doc = action.label.rstrip("…") + "."
    if action.confirm:
        doc += " Asks first: " + action.confirm.format(count="N", labels="…")
    doc += f" (action {action.id})"
    cmd = click.command(name, help=doc)(run)
    params: list[click.Parameter] = []
    if needs_ids:
        params.append(click.Argument(["ids"], nargs=-1 if action.selection == "+" else 1, required=True,
                                     metavar="ID…" if action.selection == "+" else "ID",
                                     shell_complete=complete_ids(action.kinds)))
    params += options
    params.append(FIELD_OPTION())
    if action.follows_state:
        params.append(click.Option(["--wait"], is_flag=True, help="Wait until the state settles, and print it."))
    cmd.params[:0] = params
    return cmd


def FIELD_OPTION() -> click.Option:  # noqa: N802 - made anew for each command
    return click.Option(["--field", "-f", "field"], multiple=True, metavar="NAME=VALUE",
                        help="A value the action (or its handler) asks for, by field name.")


def pairs(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--field takes NAME=VALUE, not “{item}”.")
        out[key.strip().replace("-", "_")] = value
    return out


def run_action(s: Session, action: Action, ids: list[str], given: dict[str, Any], wait: bool, *,
               elements: list | None = None, options: dict[str, str] | None = None,
               show: Callable[..., None] | None = None) -> ActionOutcome:
    """Find the elements (unless given), run the action through the workbench's ActionRunner, say
    how it ended (``show``: :func:`report`, or a command's own). ``options``: a value's option on
    this command's line, by field name, for what a handler asks beyond the declared fields."""
    if action.selection == "1" and len(ids) > 1:
        raise click.UsageError(f"{action.title} acts on one element at a time.")
    vo = s.vo()
    elements = s.find(vo, action, ids) if elements is None else elements
    declared = {f.name for f in action.fields}
    named = dict(options or {})

    def hint(f: Field) -> str:
        if f.name in named:
            return named[f.name]
        return option_name(f.name) if f.name in declared and not f.secret else f"--field {f.name}=…"

    interaction = TerminalInteraction(yes=s.yes, given=given, hint=hint)
    try:
        outcome = s.wb.actions.run(action, elements, vo, interaction)
    finally:
        s.keep_remembered(vo)
    (show or report)(s, outcome, interaction, wait)
    return outcome


def report(s: Session, outcome: ActionOutcome, interaction: TerminalInteraction, wait: bool) -> None:
    if outcome.state in ("declined", "cancelled"):
        if interaction.usage:
            raise click.UsageError(interaction.usage)
        raise Refused(interaction.refusal or f"{outcome.action.title}: not done ({outcome.message or 'declined'}).")
    if outcome.state == "refused":
        raise Refused(outcome.message)
    if outcome.state == "gone":
        raise NotFound(outcome.message)
    if outcome.state != "done":
        raise Failed(outcome.message or f"{outcome.action.title} failed.")
    # what the action made or changed and the watcher now follows (a launch's instances, not the
    # Computing node it ran on); else what it acted on
    elements = list(outcome.watched or outcome.elements)
    if wait and outcome.watched:
        s.wb.watcher.wait_idle(WAIT_SECONDS)
        elements = current(s, elements)
    elif s.json and outcome.watched:  # their state as the action left it ("stopping"), not as found before
        elements = current(s, elements)
    if s.json:
        output.print_json({"action": outcome.action.id, "state": outcome.state, "message": outcome.message,
                           "elements": [output.element_record(e) for e in elements],
                           **({"text": outcome.text} if outcome.text else {}),
                           **({"properties": dict(outcome.properties)} if outcome.properties else {}),
                           **({"copy": outcome.copy} if outcome.copy else {})})
        return
    if outcome.message:
        click.echo(outcome.message)
    if outcome.text:
        click.echo(outcome.text)
    if outcome.copy and outcome.copy not in outcome.message:
        click.echo(outcome.copy)
    if wait and outcome.watched:
        for e in elements:
            click.echo(f"{e.id}: {e.state}")


def current(s: Session, elements: list) -> list:
    """The elements as their state source tells them now (after ``--wait``)."""
    from gridclient.registry import resolve

    vo = next(iter(s._vos.values()))
    src = s.wb.registry.state_source_for(vo.type, elements[0].kind)
    if src is None:
        return list(elements)
    now = {e.id: e for e in resolve(src.loader)(s.wb.tokens.token(vo), list(elements))}
    return [now.get(e.id, e) for e in elements]


# -- action list / action run ------------------------------------------------------------------------
@click.command("list", help="Every action the loaded providers offer: its id, command, kinds and label.")
@common("json", "workspace", "log_level")
def list_actions() -> None:
    s = session()
    actions = sorted(s.registry.actions.values(), key=lambda a: a.id)
    rows = [{"id": a.id, "command": a.cli, "label": a.label, "kinds": sorted(a.kinds), "selection": a.selection,
             "states": sorted(a.states), "fields": [f.name for f in a.fields]} for a in actions]
    if s.json:
        output.print_json(rows)
    else:
        output.table(rows, (("id", "ACTION"), ("command", "COMMAND"), ("label", "LABEL"), ("selection", "SEL"),
                            ("kinds", "KINDS")))


@click.command("run", help="Run any action by id on elements named by id (none for an action on a node "
                           "such as Storage). Its values with --field NAME=VALUE.")
@click.argument("action_id", shell_complete=lambda ctx, p, inc: [
    a for a in sorted(session(ctx).registry.actions) if a.startswith(inc)])
@click.argument("ids", nargs=-1)
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE",
              help="A value the action asks for, by field name.")
@click.option("--wait", is_flag=True, help="For actions that follow state: wait until it settles.")
@common()
def run_by_id(action_id: str, ids: tuple[str, ...], field: tuple[str, ...], wait: bool) -> None:
    s = session()
    action = s.registry.actions.get(action_id)
    if action is None:
        raise NotFound(f"No loaded provider offers the action “{action_id}” (see gridclient action list).")
    given = pairs(field)
    run_action(s, action, list(ids), given, wait)
