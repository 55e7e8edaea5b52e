"""The ``gridclient`` command line that does what an action does in the window — "Copy as command"
on its confirmation and on its form — so what was clicked once can be scripted (and the command
line learned). Made from the same declarations as the commands themselves (``Action.cli``, the
fields as options, ``action run`` for an action without a name); Qt-free and click-free.

    gridclient vm stop i-0123 i-4567 --vo Demo
    gridclient action run storage.new_folder s3://demo-datasets/ -f name=results --vo Demo
"""

from __future__ import annotations

import shlex
from typing import Any


def option_name(field_name: str) -> str:
    """A field's option, as the command line makes it (``no_reboot`` → ``--no-reboot``)."""
    return "--" + field_name.replace("_", "-")


def _containers(registry: Any, vo_type: str) -> set[str]:
    """Kinds the command line reaches by walking (categories, nodes on a listing's path): an
    action on one of them is given no id."""
    out = {c.kind for c in registry.categories(vo_type)}
    for (_, t), lc in getattr(registry, "listing_commands", {}).items():
        if t == vo_type:
            out |= set(lc.path)
    return out


def command_for(registry: Any, action: Any, elements: list, vo: Any, values: dict[str, Any] | None = None) -> str:
    """The command line for ``action`` on ``elements`` of ``vo``, with the field ``values`` known so
    far (secrets never: the command line asks for them). Without ``--yes``: run on a terminal, it
    asks the same confirmation."""
    named = bool(getattr(action, "cli", ""))
    parts = ["gridclient"] + (action.cli.split() if named else ["action", "run", action.id])
    if not all(e.kind in _containers(registry, vo.type) for e in elements):
        parts += [e.id for e in elements]
    for f in action.fields:
        value = (values or {}).get(f.name)
        if f.secret or value is None or value == "" or value == f.default or (
                f.when and values is not None and not f.applies(values)):
            continue
        if f.kind == "files" and isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        if f.kind == "lines":
            value = str(value).replace("\n", "\\n")  # the command line reads \n back as a new line
        if named and f.kind == "bool":
            parts.append(option_name(f.name) if value else option_name(f.name).replace("--", "--no-", 1))
        elif named:
            parts += [option_name(f.name), str(value)]
        else:
            parts += ["-f", f"{f.name}={value}"]
    return shlex.join(parts + ["--vo", vo.name])
