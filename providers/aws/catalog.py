"""The image catalog: a region's public images fetched once into the core's catalog store
(gridclient.catalog, SQLite), then searched as the person types — in Services → Image catalog,
and in the launch wizard's first step beside the account's own images.

A region has 25,000 and more public images on AWS (Amazon's alone are over 20,000 in us-east-1);
asking EC2 to filter them by name at each search took seconds and knew no "newest first". So the
catalog is fetched on demand (Fetch image catalog…, about a minute on AWS), kept per endpoint,
region and owner, and every search after that is local.
"""

from __future__ import annotations

from typing import Any, Iterator

from gridclient.actions import ActionContext, ActionResult, Cancelled
from gridclient.catalog import Catalog, catalog_path
from gridclient.elements import Element
from gridclient.interaction import Field

COLUMNS = ("Image", "Name", "Owner", "Architecture", "Root device", "Created")
OWNERS = {"amazon": "Amazon's images", "aws-marketplace": "AWS Marketplace images",
          "any": "every public image"}
#: what the catalog node shows at most; the rest is found by typing more
SHOWN = 200


def db_path(paths: Any) -> str:
    """The catalog file in the app's cache dir (``AppPaths``: a handler's ``ctx.paths``, a
    loader's ``token.app_paths``)."""
    return str(catalog_path(paths))


def scope(token: Any, owner: str) -> str:
    return f"aws-images|{token.endpoint_url or 'aws'}|{token.region}|{owner}"


def row_of(img: dict, owner_alias: str = "") -> tuple[str, str, tuple[str, ...], dict]:
    """An image as a catalog row: (id, sort key, shown columns, data). The date is the last column
    (the catalog merges scopes by it)."""
    created = str(img.get("CreationDate", ""))
    owner = owner_alias or img.get("ImageOwnerAlias") or img.get("OwnerId", "")
    cols = (img["ImageId"], img.get("Name") or "(no name)", owner, img.get("Architecture", ""),
            img.get("RootDeviceType", ""), created[:10])
    return img["ImageId"], created, cols, img


def fetch(token: Any, paths: Any, owner: str = "amazon", report=None, check=None) -> Any:
    """Every available image of ``owner`` ("any": every public one) in the token's region into the
    catalog, a page of 1,000 at a time; the previous catalog stays until this one is complete."""
    ec2 = token.client("ec2")
    kwargs: dict[str, Any] = {"Filters": [{"Name": "state", "Values": ["available"]}],
                              "PaginationConfig": {"PageSize": 1000}}
    if owner == "any":
        kwargs["ExecutableUsers"] = ["all"]
    else:
        kwargs["Owners"] = [owner]
    writer = Catalog.at(db_path(paths)).writer(scope(token, owner), COLUMNS, OWNERS.get(owner, owner))
    try:
        for page in ec2.get_paginator("describe_images").paginate(**kwargs):
            if check:
                check()
            writer.add(row_of(i) for i in page.get("Images", []))
            if report:
                report(None, f"{writer.count:,} images")
        return writer.commit()
    finally:
        writer.abort()  # nothing when committed: a stopped or failed fetch leaves the old catalog


def fetched_owner(token: Any) -> str | None:
    """The owner ("amazon", "aws-marketplace", "any") of the biggest catalog fetched for the
    token's region — the broadest search: every public image holds Amazon's — the newest of equals;
    None before any fetch."""
    paths = getattr(token, "app_paths", None)
    if paths is None:
        return None
    cat = Catalog.at(db_path(paths))
    fetched = [(about.total, about.fetched, owner) for owner in OWNERS
               if (about := cat.about(scope(token, owner))) is not None]
    return max(fetched)[2] if fetched else None


def put_own(token: Any, paths: Any, images: list[dict]) -> str:
    """The account's own images as a scope of their own (written anew each time: few, and they
    change), so they are searched beside the public ones. Returns the scope."""
    s = scope(token, "self")
    w = Catalog.at(db_path(paths)).writer(s, COLUMNS, "your images")
    w.add(row_of(i, "yours") for i in images)
    w.commit()
    return s


# -- the catalog node --------------------------------------------------------------------------------
def _info(parent: Element, text: str, n: int = 0) -> Element:
    return Element(kind="info", id=f"{parent.id}#info{n}", label=text, icon="info")


def load(token, parent: Element) -> Iterator[list[Element]]:
    """The catalog node's rows: the cached images matching the query, newest first (no query: the
    newest of all); before any fetch, EC2's own name filter for a query, as before."""
    from providers.aws.nodes import image_element

    query = str((parent.ref or {}).get("query", "")).strip()
    owner = (parent.ref or {}).get("owner") or "amazon"
    paths = getattr(token, "app_paths", None)
    cat = Catalog.at(db_path(paths)) if paths is not None else None
    s = scope(token, owner)
    about = cat.about(s) if cat is not None else None
    if about is None:
        yield [_info(parent, f"Not fetched yet: Fetch image catalog… on “Image catalog” (gridclient image "
                             f"refresh) to search {OWNERS.get(owner, owner)} of {token.region} as you type")]
        if query:
            yield from _ask_ec2(token, parent, query, owner)
        return
    rows, total = cat.search([s], query, SHOWN)
    data = cat.data(s, [r[0] for r in rows])
    what = f"“{query}”: {total:,} of " if query else ""
    head = _info(parent, f"{what}{about.total:,} {about.label}, {about.age_text()}")
    shown = [image_element(data[r[0]]) for r in rows if r[0] in data]
    if not shown and query:
        shown = [_info(parent, f"No cached image matches “{query}”", 1)]
    elif total > len(shown):
        shown.append(_info(parent, f"{total - len(shown):,} more — narrow the search", 2))
    yield [head, *shown]


def _ask_ec2(token, parent: Element, query: str, owner: str) -> Iterator[list[Element]]:
    from providers.aws.nodes import image_element

    kwargs: dict[str, Any] = {"Filters": [{"Name": "name", "Values": [f"*{query}*"]},
                                          {"Name": "state", "Values": ["available"]}]}
    if owner != "any":
        kwargs["Owners"] = [owner]
    images = token.client("ec2").describe_images(**kwargs).get("Images", [])
    images.sort(key=lambda i: i.get("CreationDate", ""), reverse=True)
    shown = [image_element(i) for i in images[:SHOWN]]
    if not shown:
        shown = [_info(parent, f"No public image matches “{query}”", 1)]
    elif len(images) > SHOWN:
        shown.append(_info(parent, f"{len(images) - SHOWN} more — narrow the search", 2))
    yield shown


# -- actions -------------------------------------------------------------------------------------------
def fetch_catalog(ctx: ActionContext) -> ActionResult:
    """Fetch image catalog…: the region's images of one owner into the local catalog. Which owner
    is asked here (with the region in the question); a script gives ``owner`` beforehand."""
    owner = ctx.values.get("owner")
    if not owner:
        labels = {label[0].upper() + label[1:]: o for o, label in OWNERS.items()}
        answer = ctx.interaction.ask("Fetch image catalog", [Field(
            "owner", "Images of", kind="choice", choices=tuple(labels), default=next(iter(labels)),
            editable=False)], text=f"Which public images of {ctx.token.region} should be kept here to search "
                                   "as you type? Amazon's are over 20,000 on AWS (about a minute); every "
                                   "public image is several times more.")
        if answer is None:
            raise Cancelled()
        owner = labels.get(answer.get("owner"), answer.get("owner"))
    if owner not in OWNERS:
        raise ValueError(f"“{owner}” is not one of {', '.join(OWNERS)}.")
    op = ctx.operation
    about = fetch(ctx.token, ctx.paths, owner, report=op.report if op else None, check=op.check if op else None)
    return ActionResult(message=f"The image catalog of {ctx.token.region} holds {about.label}, {about.total:,} of "
                                "them: search them as you type in Search image catalog…, or with gridclient "
                                "image search TEXT.",
                        ref={"owner": owner})


def search_catalog(ctx: ActionContext) -> ActionResult:
    """Search image catalog…: where the catalog is fetched, the form searches it as typed and the
    node then shows the same rows; before a fetch, EC2 filters by name. Asked here rather than
    declared, as the form depends on the fetch; values given beforehand (a script) are used as is."""
    values = ctx.values
    if "query" not in values:
        values = ctx.interaction.ask("Search image catalog", search_fields(ctx),
                                     text=f"Images of {ctx.token.region}, newest first.")
        if values is None:
            raise Cancelled()
    return ActionResult(ref={"query": str(values.get("query", "")).strip(),
                             "owner": values.get("owner") or ctx.element.ref.get("owner") or "amazon"})


def search_fields(ctx: ActionContext) -> list[Field]:
    """The search form: the query searched at each keystroke over the cached catalog."""
    owner = ctx.element.ref.get("owner") or "amazon"
    s = scope(ctx.token, owner)
    cat = Catalog.at(db_path(ctx.paths))
    about = cat.about(s)
    if about is None:
        return [Field("query", "Image name contains", required=True, placeholder="ubuntu 24.04",
                      help="Not fetched yet: EC2 filters by name. Fetch the catalog to search as you type."),
                Field("owner", "Owner", kind="choice", default=owner, choices=("amazon", "aws-marketplace",
                                                                              "self", "any"))]
    cat.warm([s])  # on this worker, so the first keystroke finds the rows in memory
    return [Field("query", "Search", kind="search", editable=True, default=ctx.element.ref.get("query", ""),
                  search_from="gridclient.catalog:field_search", search_args=(db_path(ctx.paths), s),
                  placeholder="every word must appear: ubuntu noble arm64",
                  help=f"{about.total:,} {about.label}, {about.age_text()}.")]
