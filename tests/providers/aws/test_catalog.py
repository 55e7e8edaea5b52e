"""providers.aws.catalog: the image catalog fetched from a real moto server over HTTP into the
core's catalog store, then searched; the catalog node's rows; Search… and Fetch… through the
core's ActionRunner. No Qt."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from gridclient.catalog import Catalog
from gridclient.elements import Element
from gridclient.interaction import Field, ScriptedInteraction
from gridclient.operations import Cancelled
from gridclient.registry import ExtensionRegistry, resolve
from gridclient.workbench import Workbench
from providers.aws import catalog as C
from providers.aws.catalog import SHOWN, fetch, load
from tests.providers.aws.test_nodes import make_token, rows_of, run_instance

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog


@pytest.fixture
def token(moto, app_paths):
    tok = make_token(moto)
    tok.app_paths = app_paths  # as AuthTokens gives it
    return tok


def _catalog(query: str | None = None, owner: str | None = None) -> Element:
    ref = {}
    if query is not None:
        ref["query"] = query
    if owner is not None:
        ref["owner"] = owner
    return Element("aws.catalog", "us-east-1/catalog", "Image catalog", has_children=True, ref=ref)


def _seed_catalog_images(token, images: list[dict]) -> None:
    """Amazon-owned public images with chosen dates and states, straight into the moto backend
    serving this process's server (moto loads its default catalog all with today's date, and
    CreateImage makes only the caller's own, available images)."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.amis import Ami

    account = token.client("sts").get_caller_identity()["Account"]
    backend = ec2_backends[account][token.region]
    for spec in images:
        backend.amis[spec["id"]] = Ami(
            backend, spec["id"], name=spec["name"], owner_id="137112412989", owner_alias="amazon",
            public=True, architecture=spec.get("arch", "x86_64"), state=spec.get("state", "available"),
            creation_date=spec["date"], region_name=f"{token.region}a")


GC_IMAGES = [
    {"id": "ami-0000000000000a021", "name": "gc-catalog-2021", "date": datetime(2031, 5, 1, tzinfo=timezone.utc)},
    {"id": "ami-0000000000000a023", "name": "gc-catalog-2023", "date": datetime(2033, 5, 1, tzinfo=timezone.utc),
     "arch": "arm64"},
    {"id": "ami-0000000000000a022", "name": "gc-catalog-2022", "date": datetime(2032, 5, 1, tzinfo=timezone.utc)},
    {"id": "ami-0000000000000a024", "name": "gc-catalog-2024-pending", "state": "pending",
     "date": datetime(2034, 5, 1, tzinfo=timezone.utc)},
]


def amazon_available(ec2) -> list[dict]:
    return ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "state", "Values": ["available"]}])["Images"]


# -- before any fetch: EC2's own name filter, and a line saying how to search as you type ------------
@pytest.mark.parametrize("ref_query", [None, "", "   "])
def test_not_fetched_and_no_query_says_how_to_fetch(token, ref_query):
    rows = rows_of(load, token, _catalog(ref_query))
    assert len(rows) == 1
    row = rows[0]
    assert row.kind == "info" and row.icon == "info" and not row.has_children
    assert "Not fetched yet" in row.label and "Fetch image catalog" in row.label and "us-east-1" in row.label


def test_not_fetched_a_query_asks_ec2_by_name_newest_first(token, boto):
    ec2 = boto("ec2")
    _seed_catalog_images(token, GC_IMAGES)
    iid = run_instance(ec2)["Instances"][0]["InstanceId"]
    own = ec2.create_image(InstanceId=iid, Name="gc-catalog-mine")["ImageId"]

    head, *rows = rows_of(load, token, _catalog("  gc-catalog "))  # surrounding blanks ignored
    assert head.kind == "info" and "Not fetched yet" in head.label
    assert [e.label for e in rows] == ["gc-catalog-2023", "gc-catalog-2022", "gc-catalog-2021"]
    assert own not in {e.id for e in rows}
    for e in rows:
        assert e.kind == "aws.ec2.image" and e.icon == "image" and e.state == "available"
        assert e.properties["ImageOwnerAlias"] == "amazon"
    assert rows[0].detail == "arm64 · 2033-05-01"
    mine = rows_of(load, token, _catalog("gc-catalog", owner="self"))[1:]
    assert [e.id for e in mine] == [own]
    nothing = rows_of(load, token, _catalog("no-such-image-xyzzy"))
    assert nothing[-1].label == "No public image matches “no-such-image-xyzzy”"


# -- fetched: searched locally --------------------------------------------------------------------------
def test_fetch_keeps_every_available_image_and_the_node_shows_the_newest(token, boto, app_paths):
    ec2 = boto("ec2")
    _seed_catalog_images(token, GC_IMAGES)
    about = fetch(token, app_paths, "amazon")
    expected = amazon_available(ec2)
    assert about.total == len(expected) > SHOWN  # moto's default catalog has hundreds
    assert about.label == "Amazon's images" and about.columns[0] == "Image" and about.columns[-1] == "Created"

    head, *rows = rows_of(load, token, _catalog())
    assert head.kind == "info"
    assert f"{len(expected):,} Amazon's images, fetched just now" in head.label
    images, more = rows[:-1], rows[-1]
    assert len(images) == SHOWN and all(e.kind == "aws.ec2.image" for e in images)
    dates = [e.properties["CreationDate"] for e in images]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert [e.id for e in images[:3]] == ["ami-0000000000000a023", "ami-0000000000000a022",
                                          "ami-0000000000000a021"]
    assert "ami-0000000000000a024" not in {e.id for e in images}  # pending: not offered
    assert more.label == f"{len(expected) - SHOWN:,} more — narrow the search"
    # the elements are made from what was fetched: the same as EC2 lists them
    by_id = {i["ImageId"]: i for i in expected}
    from providers.aws.nodes import image_element

    assert images[0] == image_element(by_id[images[0].id])


def test_a_query_keeps_the_images_with_every_word_in_any_case(token, boto, app_paths):
    ec2 = boto("ec2")
    _seed_catalog_images(token, GC_IMAGES)
    fetch(token, app_paths, "amazon")
    head, *rows = rows_of(load, token, _catalog("GC-Catalog arm64"))  # a name word and an architecture
    assert [e.id for e in rows] == ["ami-0000000000000a023"]
    assert "“GC-Catalog arm64”: 1 of" in head.label
    head, *rows = rows_of(load, token, _catalog("gc-catalog"))
    assert [e.label for e in rows] == ["gc-catalog-2023", "gc-catalog-2022", "gc-catalog-2021"]
    ubuntu = [i for i in amazon_available(ec2) if "ubuntu" in i["Name"].lower()]
    rows = rows_of(load, token, _catalog("ubuntu"))[1:]
    assert {e.id for e in rows} == {i["ImageId"] for i in ubuntu}
    none = rows_of(load, token, _catalog("no-such-image-xyzzy"))
    assert none[-1].label == "No cached image matches “no-such-image-xyzzy”"


def test_the_catalog_is_a_cache_until_fetched_again(token, boto, app_paths):
    fetch(token, app_paths, "amazon")
    _seed_catalog_images(token, GC_IMAGES[:1])
    assert rows_of(load, token, _catalog("gc-catalog-2021"))[1:][0].kind == "info"  # not there yet
    fetch(token, app_paths, "amazon")
    assert [e.id for e in rows_of(load, token, _catalog("gc-catalog-2021"))[1:]] == ["ami-0000000000000a021"]


def test_a_stopped_fetch_leaves_the_previous_catalog(token, app_paths):
    before = fetch(token, app_paths, "amazon")
    _seed_catalog_images(token, GC_IMAGES)

    def stop():
        raise Cancelled()

    with pytest.raises(Cancelled):
        fetch(token, app_paths, "amazon", check=stop)
    cat = Catalog.at(C.db_path(app_paths))
    assert cat.about(C.scope(token, "amazon")) == before
    assert cat.search([C.scope(token, "amazon")], "gc-catalog")[1] == 0
    # and no row of the stopped fetch is left behind in the file
    rows = cat._db.execute("SELECT count(*) FROM catalog_row").fetchone()[0]
    assert rows == before.total


# -- the actions, through the core's runner --------------------------------------------------------------
@pytest.fixture
def env(moto, app_paths, keyring_backend):
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    vo = wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                   "secret_access_key": "x", "endpoint_url": moto})
    yield wb, vo
    wb.close()


class Asked(ScriptedInteraction):
    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.fields: list[list[Field]] = []

    def ask(self, title, fields, *, text=""):
        self.fields.append(list(fields))
        answer = self.answers.pop(0) if self.answers else None
        return answer(fields) if callable(answer) else answer


def test_search_before_a_fetch_asks_a_name_and_after_it_searches_as_typed(env, token):
    wb, vo = env
    _seed_catalog_images(token, GC_IMAGES)
    node = _catalog()
    ask = Asked({"query": "gc-catalog", "owner": "amazon"})
    outcome = wb.actions.run("aws.catalog.search", [node], vo, ask, timeout=60)
    assert outcome.state == "done", outcome.message
    assert ask.fields[0][0].kind == "text"  # nothing fetched: EC2 filters by name
    assert outcome.ref == {"query": "gc-catalog", "owner": "amazon"}

    fetched = wb.actions.run("aws.catalog.fetch", [node], vo, Asked({"owner": "Amazon's images"}), timeout=120)
    assert fetched.state == "done", fetched.message
    assert "holds Amazon's images" in fetched.message and "search them as you type" in fetched.message
    seen = []

    def type_and_take(fields):
        f = fields[0]
        for typed in ("g", "gc-c", "gc-catalog 2023"):  # each keystroke searches again
            seen.append(resolve(f.search_from)(typed, *f.search_args))
        return {"query": "gc-catalog 2023"}

    ask = Asked(type_and_take)
    outcome = wb.actions.run("aws.catalog.search", [dataclasses.replace(node, ref={"owner": "amazon"})],
                             vo, ask, timeout=60)
    assert outcome.state == "done", outcome.message
    f = ask.fields[0][0]
    assert f.kind == "search" and f.editable and "Amazon's images" in f.help
    assert seen[0].total >= seen[1].total >= seen[2].total == 1
    assert seen[2].rows[0][:3] == ("ami-0000000000000a023", "gc-catalog-2023", "amazon")
    assert outcome.ref["query"] == "gc-catalog 2023"


def test_a_declined_fetch_fetches_nothing(env):
    wb, vo = env
    cancelled = wb.actions.run("aws.catalog.fetch", [_catalog()], vo, Asked(None), timeout=60)
    assert cancelled.state == "cancelled"  # the question closed: nothing fetched
    assert Catalog.at(C.db_path(wb.paths)).about(f"aws-images|{vo.settings['endpoint_url']}|us-east-1|amazon") is None
