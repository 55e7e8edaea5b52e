"""A small third-party provider, registered by the tests exactly as an installed one would be."""

from __future__ import annotations

from gridclient.elements import Element
from gridclient.interaction import Field
from gridclient.registry import Action, Category, NodeContributor, ProviderManifest, VOType

CALLS: list[str] = []


class SampleToken:
    def __init__(self, vo, secrets):
        self.vo, self.secrets = vo, secrets


def token(vo, secrets):
    return SampleToken(vo, secrets)


def test_connection(tok):
    return f"sample ok for {tok.vo.name}"


def load_things(tok, parent):
    yield [Element("sample.thing", f"t{i}", f"Thing {i}", state="on" if i % 2 else "off") for i in range(3)]


def poke(ctx):
    CALLS.extend(e.id for e in ctx.elements)
    return f"poked {len(ctx.elements)}"


manifest = ProviderManifest(
    id="sample",
    name="Sample provider (tests)",
    vo_types=(VOType("sample", "Sample cloud", fields=(Field("region", "Zone", required=True, default="zone-1"),
                                                       Field("password", "Password", kind="secret")),
                     token_factory="tests.sample_provider:token",
                     connection_test="tests.sample_provider:test_connection",
                     description="A provider from tests/ with no network."),),
    node_contributors=(NodeContributor("sample", (Category("sample.things", "Things", "computing"),),
                                       {"sample.things": "tests.sample_provider:load_things"}),),
    actions=(Action("sample.poke", "Poke", "tests.sample_provider:poke", frozenset({"sample.thing"}),
                    selection="+", states=frozenset({"on"})),),
)

broken_manifest_value = "tests.no_such_module:manifest"
