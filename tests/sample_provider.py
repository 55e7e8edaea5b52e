"""Small third-party providers, registered by the tests exactly as installed ones would be.

``manifest`` is a whole provider with no network: a VO type, a category of "things" whose states
live in :data:`WORLD` (so actions change what the next listing shows), and actions that cover
every path of the core's ActionRunner. ``notes_manifest`` is a second provider that only adds a
"Notes" category under VO types another provider owns (the sample's, and AWS's).
"""

from __future__ import annotations

import threading

from gridclient.actions import ActionResult, ElementGone
from gridclient.elements import Element
from gridclient.interaction import Field
from gridclient.registry import (COMMAND_DELETE, GROUP_EDIT, GROUP_LIFECYCLE, Action, Category, ListingCommand,
                                 NodeContributor, ProviderManifest, StateSource, VOType)

CALLS: list[str] = []
#: the sample cloud: thing id → state ("on" / "off"); reset by tests with :func:`reset`
WORLD: dict[str, str] = {}
#: set by the "wait" action once it runs, so a test can cancel it while it does
WAITING = threading.Event()
#: each call of the state source: the ids it was asked for (tests/core/test_watch.py)
STATE_CALLS: list[list[str]] = []
#: how many of the next state polls fail with SampleRefusal
STATE_FAILURES = [0]


def reset() -> None:
    CALLS.clear()
    STATE_CALLS.clear()
    STATE_FAILURES[0] = 0
    WORLD.clear()
    WORLD.update({f"t{i}": "on" if i % 2 else "off" for i in range(3)})
    WAITING.clear()


reset()


class SampleToken:
    def __init__(self, vo, secrets):
        self.vo, self.secrets = vo, secrets


class SampleRefusal(Exception):
    """What the sample cloud raises; :func:`explain` turns it into words."""


def token(vo, secrets):
    return SampleToken(vo, secrets)


def test_connection(tok):
    return f"sample ok for {tok.vo.name}"


def explain(exc: BaseException) -> str:
    if isinstance(exc, SampleRefusal):
        return f"The sample cloud refused: {exc}."
    return str(exc)


def validate(values: dict) -> list[str]:
    return ["Zone “nowhere” does not exist."] if values.get("region") == "nowhere" else []


def zones() -> list[str]:
    return ["zone-1", "zone-2"]


def load_things(tok, parent):
    yield [Element("sample.thing", tid, f"Thing {tid[1:]}", state=state) for tid, state in sorted(WORLD.items())]


def thing_states(tok, elements):
    """The state source: each thing as load_things makes it; a removed one is left out."""
    STATE_CALLS.append([e.id for e in elements])
    if STATE_FAILURES[0] > 0:
        STATE_FAILURES[0] -= 1
        raise SampleRefusal("the state service is down")
    return [Element("sample.thing", e.id, f"Thing {e.id[1:]}", state=WORLD[e.id]) for e in elements if e.id in WORLD]


def load_notes(tok, parent):
    yield [Element("notes.note", "n1", "A note", detail="from the notes provider")]


def _things(ctx) -> list[str]:
    gone = [e.id for e in ctx.elements if e.id not in WORLD]
    if gone:
        raise ElementGone(f"{', '.join(gone)} no longer exist.")
    return [e.id for e in ctx.elements]


def poke(ctx):
    CALLS.extend(e.id for e in ctx.elements)
    return f"poked {len(ctx.elements)}"


def switch_off(ctx):
    for tid in _things(ctx):
        WORLD[tid] = "off"
    return f"Switched off {', '.join(e.label for e in ctx.elements)}."


def cool_down(ctx):
    """Like Switch off, but the thing goes through "cooling" first (a test moves it on)."""
    for tid in _things(ctx):
        WORLD[tid] = "cooling"
    return f"Cooling down {', '.join(e.label for e in ctx.elements)}."


def remove(ctx):
    for tid in _things(ctx):
        del WORLD[tid]
    return ActionResult(message="Removed.")


def rename(ctx):
    CALLS.append(f"rename {ctx.element.id} to {ctx.values['name']}")
    ctx.remember["last_name"] = ctx.values["name"]
    return ActionResult(message=f"Renamed to {ctx.values['name']}.", refresh="")


def fail(ctx):
    raise SampleRefusal("the thing is busy")


def wait(ctx):
    WAITING.set()
    while True:
        ctx.operation.check()  # raises Cancelled once the person cancels
        threading.Event().wait(0.02)


def console(ctx):
    return ActionResult(message="Opening a console.", terminal=("console", ctx.element.id))


THING = frozenset({"sample.thing"})

manifest = ProviderManifest(
    id="sample",
    name="Sample provider (tests)",
    vo_types=(VOType("sample", "Sample cloud",
                     fields=(Field("region", "Zone", kind="choice", required=True, default="zone-1",
                                   choices_from="tests.sample_provider:zones"),
                             Field("password", "Password", kind="secret")),
                     token_factory="tests.sample_provider:token",
                     connection_test="tests.sample_provider:test_connection",
                     test_description="Asks the sample cloud who you are.",
                     explain_error="tests.sample_provider:explain",
                     validator="tests.sample_provider:validate",
                     description="A provider from tests/ with no network."),),
    node_contributors=(NodeContributor("sample", (Category("sample.things", "Things", "computing"),),
                                       {"sample.things": "tests.sample_provider:load_things"}),),
    # "on" and "off" last; "cooling" (Cool down) is followed until it is one of them
    state_sources=(StateSource("sample", THING, "tests.sample_provider:thing_states", frozenset({"on", "off"})),),
    # on the command line: `gridclient thing list`, beside its actions' `thing switch-off`, `thing rename`
    listing_commands=(ListingCommand("thing list", "sample", ("sample.things",), THING, "The sample's things."),),
    actions=(
        Action("sample.poke", "Poke", "tests.sample_provider:poke", THING, selection="+",
               states=frozenset({"on"}), refreshes=""),
        Action("sample.switch_off", "Switch off", "tests.sample_provider:switch_off", THING, selection="+",
               states=frozenset({"on"}), confirm="Switch off {labels}?", group=GROUP_LIFECYCLE,
               cli="thing switch-off"),
        Action("sample.cool_down", "Cool down", "tests.sample_provider:cool_down", THING, selection="+",
               states=frozenset({"on"}), group=GROUP_LIFECYCLE, refreshes="", follows_state=True),
        Action("sample.remove", "Remove", "tests.sample_provider:remove", THING, selection="+",
               confirm="Remove {count} things?", command=COMMAND_DELETE, group=GROUP_LIFECYCLE),
        Action("sample.rename", "Rename…", "tests.sample_provider:rename", THING, group=GROUP_EDIT,
               fields=(Field("name", "New name", required=True),), cli="thing rename"),
        Action("sample.fail", "Fail", "tests.sample_provider:fail", THING),
        Action("sample.wait", "Wait", "tests.sample_provider:wait", THING),
        Action("sample.console", "Console", "tests.sample_provider:console", THING, refreshes=""),
    ),
)

notes_manifest = ProviderManifest(
    id="sample-notes",
    name="Notes (tests): a category under other providers' VO types",
    node_contributors=(
        NodeContributor("sample", (Category("notes.all", "Notes", "info"),),
                        {"notes.all": "tests.sample_provider:load_notes"}),
        NodeContributor("aws", (Category("notes.aws", "Notes", "info"),),
                        {"notes.aws": "tests.sample_provider:load_notes"}),
    ),
)

broken_manifest_value = "tests.no_such_module:manifest"
