"""``gridclient sg rule-remove GROUP RULE…``: the window's Remove rule on rules named under their
group, as ``gridclient sg rules GROUP`` lists them — the same confirmation (``--yes``, asked on a
terminal, else refused), the same handler and errors, through the action runner.

A rule has no id a person would type, and is found only under its group: GROUP is what the
``sg rules`` listing's argument takes (an id, or a name one group has), and each RULE is one of
that group's rows, named

- as the row says it, ``"tcp 22 from 0.0.0.0/0"``, ``"all traffic to 0.0.0.0/0"``, ``"tcp 5432 from
  sg-0abc (web)"`` (a name in brackets may be left out: ``"tcp 5432 from sg-0abc"``);
- or with its direction first, as ``sg rule-add`` says what it added: ``"inbound tcp 22 from
  0.0.0.0/0"``;
- or by its id (``sg rules GROUP --json``). Ids are what "Copy as command" gives; an id begins with
  its group's id and a "/", so GROUP may then be left out.

Case and repeated spaces do not matter, nor "-" for the "–" of a port range. The commands exist
when a provider declares both: the action with the ``cli`` name "sg rule-remove", the listing
"sg rules".
"""

from __future__ import annotations

import re
from typing import Any

import click

from gridclient.cli import generated
from gridclient.cli.app import common, session
from gridclient.cli.buckets import action_named
from gridclient.cli.complete import complete_ids
from gridclient.cli.session import NotFound, Session
from gridclient.elements import Element

REMOVE, RULES = "sg rule-remove", "sg rules"
_BRACKETS = re.compile(r"\s*\([^()]*\)\s*$")


def add_commands(root: click.Group, registry: Any) -> None:
    group = root.commands.get("sg")
    declared = {a.cli for a in registry.actions.values() if a.cli}
    listed = {words for words, _vo_type in registry.listing_commands}
    if isinstance(group, click.Group) and REMOVE in declared and RULES in listed:
        group.add_command(rule_remove)  # in place of the one made from the action (ids only)


def _plain(text: str) -> str:
    return " ".join(text.replace("–", "-").replace("—", "-").lower().split())


def names(row: Element) -> set[str]:
    """What a person may call a row: its label (without a trailing name in brackets, too), the same
    after its state ("inbound tcp 22 from …"); compared plain (case, spaces, dashes)."""
    labels = {row.label, _BRACKETS.sub("", row.label)}
    said = labels | ({f"{row.state} {label}" for label in labels} if row.state else set())
    return {_plain(n) for n in said}


def pick(rows: list[Element], wanted: str, group: Element) -> Element:
    """The row ``wanted`` names: by id, else by name; NotFound, or a usage error when it names several."""
    hit = next((r for r in rows if r.id == wanted), None)
    if hit is not None:
        return hit
    hits = [r for r in rows if _plain(wanted) in names(r)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise click.UsageError(f"“{wanted}” names {len(hits)} rules of {group.label}: give its id "
                               f"({', '.join(r.id for r in hits)}).")
    has = "; ".join(f"{r.state} {r.label}".strip() for r in rows) or "none"
    raise NotFound(f"{group.label} ({group.id}) has no rule “{wanted}”. Its rules: {has}.")


def rules_of(s: Session, vo: Any, group_text: str) -> tuple[Element, list[Element]]:
    """The group GROUP names and its rule rows (the ``sg rules`` listing's own lookup and loader)."""
    lc = s.listing_for(RULES, vo)
    group = s.target_node(lc, vo, group_text)
    rows = [r for r in s.children(vo, group) if r.kind in lc.kinds and r.kind != group.kind]
    return group, rows


def complete_group(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """GROUP: the cached ids of the rows ``sg rules`` lists without one (the groups)."""
    registry = ctx.find_root().obj.registry
    remove = next((a for a in registry.actions.values() if a.cli == REMOVE), None)
    kinds = frozenset(k for (words, _t), lc in registry.listing_commands.items() if words == RULES for k in lc.kinds)
    return complete_ids(kinds - (remove.kinds if remove else frozenset()))(ctx, param, incomplete)


@click.command("rule-remove", help="Remove rules of a security group: GROUP (its id or name), then each RULE "
                                    "as `sg rules GROUP` shows it (\"tcp 22 from 0.0.0.0/0\"), or as `sg rule-add` "
                                    "said it (\"inbound tcp 22 from 0.0.0.0/0\"), or its id; each in quotes. Asks first "
                                    "(--yes to confirm). (action aws.ec2.sg.remove_rule)")
@click.argument("group", metavar="GROUP", shell_complete=complete_group)
@click.argument("rules", nargs=-1, metavar="RULE…")
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE", help="A value the action asks for.")
@common()
def rule_remove(group: str, rules: tuple[str, ...], field: tuple[str, ...]) -> None:
    s = session()
    vo = s.vo()
    action = action_named(s, REMOVE)
    try:
        named, rows = rules_of(s, vo, group)
    except NotFound as missing:
        if "/" not in group:
            raise
        head = group.split("/", 1)[0]
        try:  # ids only, as "Copy as command" gives them?
            known = {head: rules_of(s, vo, head)}
        except NotFound:
            raise missing from None
        chosen = by_ids(s, vo, [group, *rules], known)
    else:
        if not rules:
            raise click.UsageError(f"Name the rules of {named.label} to remove: gridclient sg rule-remove {group} "
                                   "\"tcp 22 from 0.0.0.0/0\" (its rules: gridclient sg rules GROUP).")
        chosen = [pick(rows, r, named) for r in rules]
    unique = list({r.key: r for r in chosen}.values())
    generated.run_action(s, action, [], generated.pairs(field), False, elements=unique)


def by_ids(s: Session, vo: Any, ids: list[str],
           groups: dict[str, tuple[Element, list[Element]]]) -> list[Element]:
    """Rules named by id alone: each id begins with its group's id and a "/" (``groups``: the
    groups and rules found so far, by id)."""
    out = []
    for rid in ids:
        head = rid.split("/", 1)[0]
        if head not in groups:
            groups[head] = rules_of(s, vo, head)
        named, rows = groups[head]
        hit = next((r for r in rows if r.id == rid), None)
        if hit is None:
            raise NotFound(f"{named.label} ({named.id}) has no rule {rid}: see gridclient sg rules {named.id}.")
        out.append(hit)
    return out
