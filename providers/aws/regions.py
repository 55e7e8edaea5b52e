"""Computing → All regions: the instances of every region enabled for the account, asked in parallel.

The regions come from EC2 DescribeRegions in the VO's region (without ``AllRegions``: only those
enabled for the account — opted in, or needing no opt-in). DescribeInstances then goes to each of
them on a bounded pool (:data:`WORKERS` threads), and each region is yielded as a page the moment
its answer is in, so the first region's rows show without waiting for the slowest. A page is one
region: a heading row ("eu-west-1 — 3 instances", kind ``REGION_ROW``) followed by its instances,
sorted by name — flat rows rather than a node per region, so every instance is seen at once,
without a second DescribeInstances per region on expand. Regions with
no instance are not shown one by one: a last row names them. A region that fails (access denied,
not enabled, not reachable) is a heading that says why, and only that region is missing.

Closing the loader early (the tree stopped the listing) returns at once: the regions not yet asked
are never asked, and a call in flight ends on its own thread, a daemon that nothing waits for.

The instance rows of other regions than the VO's carry ``ref["region"]`` (none is the VO's own, as
on Computing's rows, the launch's and the state watcher's), so their actions (:func:`ec2_for`),
their children and the state watcher (one poller per VO and region) act in that region. An instance
of the VO's region is then one Element under Computing and under All regions alike.
``AwsToken.client`` makes each region's client once, under its lock (making botocore clients from
one Session on several threads at once is not safe; using them is), so the pool's threads share
the token safely.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterable, Iterator, TypeVar

from gridclient.elements import Element
from providers.aws import kinds as K
from providers.aws.nodes import Pages, instance_element

#: regions asked at once: enough that ~30 regions take ~4 round trips, few enough for a laptop
WORKERS = 8
ALL_REGIONS_ID = "all-regions"

T = TypeVar("T")
R = TypeVar("R")


# -- which region an element is in, for the actions -------------------------------------------
def region_of(element: Element) -> str | None:
    """The region an element was listed in (``ref["region"]``), or None: the VO's own."""
    return (element.ref or {}).get("region") or None


def ec2_for(ctx: Any, element: Element | None = None) -> Any:
    """The EC2 client for an action: in the region ``element`` (else the first of the action's
    elements that says one) was listed in, or the VO's region."""
    elements = [element] if element is not None else list(ctx.elements or ())
    region = next((r for r in map(region_of, elements) if r), None)
    return ctx.token.client("ec2", region=region)


def by_region(elements: Iterable[Element]) -> dict[str | None, list[Element]]:
    """The elements grouped by the region they were listed in (None: the VO's), in their order."""
    out: dict[str | None, list[Element]] = {}
    for e in elements:
        out.setdefault(region_of(e), []).append(e)
    return out


# -- the fan-out ------------------------------------------------------------------------------
def fan_out(fn: Callable[[T], R], items: Iterable[T], workers: int = WORKERS,
            prepare: Callable[[T], Any] | None = None) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """``(item, fn(item), None)`` or ``(item, None, error)`` for each item, as each finishes, on at
    most ``workers`` threads. ``prepare(item)`` runs first for each item, one item at a time and in
    the items' order (making a client: CPU work that cannot run two at once anyway, so the first
    items get theirs first rather than all of them in any order).

    Closing the iterator early returns at once: no item not yet started is started, and the calls
    under way end on their own. The threads are daemons, never waited for — not by the listing, nor
    when the app quits (a ThreadPoolExecutor's threads are joined at exit: a region that does not
    answer would have kept the process alive for minutes after its window closed)."""
    items = list(items)
    if not items:
        return
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for pair in enumerate(items):
        todo.put(pair)
    results: queue.SimpleQueue = queue.SimpleQueue()
    stopped = threading.Event()
    turn = threading.Condition()
    prepared = [0]  # items are taken in order, so none waits on one that no thread has taken

    def work() -> None:
        while not stopped.is_set():
            try:
                i, item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if prepare is not None:
                    with turn:
                        turn.wait_for(lambda: prepared[0] == i)
                    try:
                        prepare(item)
                    finally:
                        with turn:
                            prepared[0] += 1
                            turn.notify_all()
                results.put((item, fn(item), None))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer: that item failed
                results.put((item, None, exc))

    for n in range(max(1, min(workers, len(items)))):
        threading.Thread(target=work, daemon=True, name=f"gridclient-regions-{n}").start()
    try:
        for _ in items:
            yield results.get()
    finally:
        stopped.set()


def enabled_regions(token) -> list[str]:
    """The names of the regions enabled for the account, sorted (DescribeRegions, asked in the VO's
    region; without ``AllRegions`` EC2 leaves out those not opted in)."""
    regions = token.client("ec2").describe_regions().get("Regions", [])
    return sorted(r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in")


def region_instances(token, region: str) -> list[Element]:
    """Every instance of one region, by name, made as Computing and the state source make them:
    ``ref["region"]`` where it is not the VO's own region."""
    ec2 = token.client("ec2", region=region)
    said = None if region == token.region else region
    out = []
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 500}):
        for res in page.get("Reservations", []):
            out.extend(instance_element(inst, said) for inst in res.get("Instances", []))
    out.sort(key=lambda e: (e.label.lower(), e.id))
    return out


# -- rows -------------------------------------------------------------------------------------
def all_regions_element() -> Element:
    """The first row of Computing."""
    return Element(K.ALL_REGIONS, ALL_REGIONS_ID, "All regions", icon="regions", has_children=True,
                   detail="the instances of every enabled region")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def region_row(region: str, instances: list[Element], own: bool = False) -> Element:
    """A region's heading: how many instances, and how many in each state."""
    states: dict[str, int] = {}
    for e in instances:
        states[e.state or "unknown"] = states.get(e.state or "unknown", 0) + 1
    counts = " · ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return Element(K.REGION_ROW, f"{ALL_REGIONS_ID}/{region}", f"{region} — {_plural(len(instances), 'instance')}",
                   icon="region", detail=" · ".join(x for x in ("the VO's region" if own else "", counts) if x),
                   properties={"Region": region, "Instances": len(instances),
                               **{f"State:{s}": n for s, n in sorted(states.items())}},
                   ref={"region": region})


def _short_reason(exc: BaseException) -> str:
    from botocore import exceptions as bx

    from providers.aws.errors import DENIED

    code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
    if code == "OptInRequired":
        return "not enabled for this account"
    if code in DENIED:
        return "access denied"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
                        bx.ReadTimeoutError, bx.ProxyConnectionError)):
        return "not reachable"
    return "could not be listed"


def failed_row(region: str, exc: BaseException) -> Element:
    """A region that could not be listed: why, in words; the other regions are not affected."""
    from providers.aws.errors import explain

    reason = _short_reason(exc)
    if reason == "not enabled for this account":
        said = (f"{region} is not enabled for this account (opt-in required): enable it under Account → "
                "AWS Regions in the AWS console to use it.")
    else:
        said = str(explain(exc))
    return Element(K.REGION_ROW, f"{ALL_REGIONS_ID}/{region}", f"{region} — {reason}", state="failed",
                   icon="error", detail=said, properties={"Region": region, "Error": said},
                   ref={"region": region})


def _empty_row(parent: Element, empty: list[str], total: int) -> Element:
    if len(empty) == total:
        text = f"No instance in any of the {_plural(total, 'enabled region')}"
    else:
        text = f"No instance in {_plural(len(empty), 'other region')}"
    return Element("info", f"{parent.id}#empty", text, icon="info", detail=", ".join(sorted(empty)),
                   properties={"Regions": ", ".join(sorted(empty))})


# -- the loader -------------------------------------------------------------------------------
def load_all_regions(token, parent: Element, workers: int = WORKERS) -> Pages:
    """All regions' instances: a page per region as each answers (see the module's text)."""
    regions = enabled_regions(token)
    # the VO's own region first: its client is made already, so its answer is the first to come
    regions.sort(key=lambda r: r != token.region)
    empty: list[str] = []
    for region, instances, error in fan_out(lambda r: region_instances(token, r), regions, workers,
                                            prepare=lambda r: token.client("ec2", region=r)):
        if error is not None:
            yield [failed_row(region, error)]
        elif instances:
            yield [region_row(region, instances, own=region == token.region), *instances]
        else:
            empty.append(region)
    if empty:
        yield [_empty_row(parent, empty, len(regions))]
