"""What the command line prints: elements as a table or as JSON with stable keys, and plain records.

JSON of elements is a list of objects with exactly the keys ``id``, ``kind``, ``label``, ``state``,
``detail`` and ``properties`` (the Properties view's values, flattened: "State.Name").
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import click

from gridclient.elements import Element

ELEMENT_KEYS = ("id", "kind", "label", "state", "detail", "properties")


def element_record(e: Element) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "label": e.label, "state": e.state, "detail": e.detail,
            "properties": dict(e.properties)}


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str, ensure_ascii=False))


def table(rows: list[dict[str, Any]], columns: Iterable[tuple[str, str]]) -> None:
    """``rows`` under the headings of ``columns`` ((key, heading)); a column empty in every row is
    left out; every column but the last is padded."""
    columns = [(k, h) for k, h in columns if any(str(r.get(k) or "") for r in rows)]
    if not columns:
        return
    cells = [[h for _, h in columns]] + [[_cell(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    # one write: a line at a time (click.echo flushes each) was 0.1 s of a 10,000-object listing
    click.echo("\n".join("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths)) + ("  " if len(line) > 1 else "")
                         + line[-1] for line in cells))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value).replace("\n", " ")


def notes(lines: list[str]) -> None:
    """What a listing says beside its rows (the tree's info rows): on standard error, so that
    standard output stays the rows (or the JSON)."""
    for line in lines:
        click.echo(line, err=True)


def elements(rows: list[Element], as_json: bool, region: str | None = None) -> None:
    """A table (ID, NAME, STATE, DETAIL; with ``region``, a REGION column: the row's own
    ``ref["region"]``, else ``region``), or JSON with the stable keys."""
    if as_json:
        print_json([element_record(e) for e in rows])
        return
    if not rows:
        click.echo("(none)", err=True)
        return
    records = [element_record(e) for e in rows]
    for r in records:  # the label is shown when it says more than the id
        r["shown"] = "" if r["label"] == r["id"] else r["label"]
    if region is not None:
        for r, e in zip(records, rows):
            r["region"] = (e.ref or {}).get("region") or region
    table(records, (("id", "ID"), ("shown", "NAME"), *((("region", "REGION"),) if region is not None else ()),
                    ("state", "STATE"), ("detail", "DETAIL")))
