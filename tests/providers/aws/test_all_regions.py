"""Computing → All regions (providers/aws/regions.py) against the shared moto server over HTTP.

Instances are launched in several of moto's regions with plain boto3 clients; the loader, the
actions and the state watcher run as the app runs them (an ``AwsToken``, a Workbench, its
ActionRunner). What a region does differently — answers slowly, refuses, cannot be reached — is
done by a real HTTP proxy between the token and moto (the VO's own "HTTP(S) proxy" setting),
which reads the region each request is signed for. Nothing of ours is replaced.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.registry import ExtensionRegistry
from gridclient.workbench import Workbench
from gridclient.workspace import VirtualOrganization
from providers.aws import kinds as K
from providers.aws import nodes
from providers.aws.regions import all_regions_element, enabled_regions, load_all_regions
from providers.aws.token import AwsToken

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog, in every region
ALL = all_regions_element()
COMPUTING = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)
HOME = "us-east-1"  # the VO's region


# -- a real proxy that treats some regions differently ---------------------------------------------
_SIGNED_FOR = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
_EC2_ERROR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
              '<Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>')


class RegionProxy:
    """An HTTP proxy in front of moto. A request signed for a region in ``refuse`` gets EC2's error
    answer with that code (as where a policy denies the region: 403 UnauthorizedOperation; or
    OptInRequired); one in ``drop`` has its connection closed unanswered (an endpoint that cannot
    be reached); one in ``slow`` is held that many seconds first. The rest pass unchanged."""

    def __init__(self, upstream: str, refuse: dict[str, str] | None = None, drop: set[str] | None = None,
                 slow: dict[str, float] | None = None):
        target = urlsplit(upstream)
        proxy = self
        self.refuse, self.drop, self.slow = refuse or {}, drop or set(), slow or {}
        self.regions_seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = _SIGNED_FOR.search(self.headers.get("Authorization", ""))
                region = found.group(1) if found else ""
                proxy.regions_seen.append(region)
                if region in proxy.drop:
                    self.close_connection = True
                    return
                if region in proxy.refuse:
                    code = proxy.refuse[region]
                    self._answer(403 if code != "OptInRequired" else 401, _EC2_ERROR.format(
                        code=code, message=f"{code} in {region} (said by the test's proxy)").encode())
                    return
                time.sleep(proxy.slow.get(region, 0.0))
                url = urlsplit(self.path)
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-connection", "proxy-authorization", "connection", "keep-alive")}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    conn.request(self.command, path, body, headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self._answer(resp.status, data, [(k, v) for k, v in resp.getheaders()
                                                 if k.lower() not in ("content-length", "connection",
                                                                      "transfer-encoding", "server", "date")])

            do_GET = do_POST

            def _answer(self, status: int, data: bytes, headers=()) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                if not any(k.lower() == "content-type" for k, _ in headers):
                    self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="test-region-proxy").start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(moto):
    made: list[RegionProxy] = []

    def make(**kw) -> RegionProxy:
        made.append(RegionProxy(moto, **kw))
        return made[-1]

    yield make
    for p in made:
        p.close()


def make_token(endpoint: str, proxy_url: str = "") -> AwsToken:
    vo = VirtualOrganization(name="T", type="aws", settings={
        "region": HOME, "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": endpoint,
        "proxy_url": proxy_url})
    return AwsToken(vo, {"secret_access_key": "x"})


def launch(ec2, name: str, count: int = 1) -> list[str]:
    return [i["InstanceId"] for i in ec2.run_instances(
        ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=count, MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])["Instances"]]


def state(ec2, iid: str) -> str:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]


def regions_in(rows: list[Element]) -> list[tuple[str, list[str]]]:
    """(the heading's region, the ids under it) per heading, in the order shown."""
    out: list[tuple[str, list[str]]] = []
    for e in rows:
        if e.kind == K.REGION_ROW:
            out.append((e.ref["region"], []))
        elif e.kind == K.INSTANCE:
            out[-1][1].append(e.id)
    return out


@pytest.fixture
def env(moto, app_paths, keyring_backend):
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    vo = wb.save_vo("Lab", "aws", {"region": HOME, "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                   "secret_access_key": "x", "endpoint_url": moto})
    heard: list = []
    cond = threading.Condition()

    def listen(change) -> None:
        with cond:
            heard.append(change)
            cond.notify_all()

    def wait_for(test, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        with cond:
            while not test():
                assert cond.wait(max(0.0, end - time.monotonic())) or test(), f"not heard: {heard}"

    wb.on_state_change(listen)
    wb.watcher.initial, wb.watcher.settle = 0.2, 1.0
    yield wb, vo, heard, wait_for
    wb.close()


# -- the listing ----------------------------------------------------------------------------------
def test_all_regions_is_computings_first_row_and_lists_each_regions_instances_under_its_heading(env, boto):
    wb, vo, _, _ = env
    home = launch(boto("ec2"), "home-1")
    eu = launch(boto("ec2", "eu-west-1"), "eu-web", count=2)
    ap = launch(boto("ec2", "ap-southeast-2"), "ap-db")
    boto("ec2", "ap-southeast-2").stop_instances(InstanceIds=ap)

    computing = wb.children(vo, COMPUTING)
    assert computing[0].kind == K.ALL_REGIONS and computing[0].label == "All regions" and computing[0].has_children
    assert [e.id for e in computing[1:]] == home  # Computing itself: the VO's region only
    assert "region" not in computing[1].ref  # none: the VO's own

    rows = wb.children(vo, ALL)
    grouped = dict(regions_in(rows))
    assert grouped == {HOME: home, "eu-west-1": sorted(eu), "ap-southeast-2": ap}  # no other region has one
    by_id = {e.id: e for e in rows if e.kind == K.INSTANCE}
    assert {by_id[i].ref["region"] for i in eu} == {"eu-west-1"} and by_id[ap[0]].ref["region"] == "ap-southeast-2"
    assert by_id[ap[0]].state == "stopped" and by_id[eu[0]].label == "eu-web"
    assert by_id[home[0]] == computing[1]  # the VO region's instance: one Element, under Computing or here
    headings = {e.ref["region"]: e for e in rows if e.kind == K.REGION_ROW}
    assert headings["eu-west-1"].label == "eu-west-1 — 2 instances" and headings["eu-west-1"].detail == "2 running"
    assert headings["ap-southeast-2"].label == "ap-southeast-2 — 1 instance"
    assert headings[HOME].detail == "the VO's region · 1 running"
    assert not any(e.has_children for e in headings.values())
    # the regions with none: one last row that names them
    token = wb.tokens.token(vo)
    every = enabled_regions(token)
    assert rows[-1].kind == "info" and rows[-1].label == f"No instance in {len(every) - 3} other regions"
    assert rows[-1].detail == ", ".join(r for r in every if r not in grouped)
    # a row made by the state source equals the one shown: the watcher sees no change where there is none
    polled = {e.id: e for e in nodes.instance_states(token, [by_id[i] for i in eu])}
    assert polled == {i: by_id[i] for i in eu}
    # an instance of another region expands into its own volumes, asked in its region
    volumes = wb.children(vo, by_id[eu[0]])
    assert all(v.kind in (K.VOLUME, "info") for v in volumes)
    attached = boto("ec2", "eu-west-1").describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [eu[0]]}])["Volumes"]
    assert {v.id for v in volumes if v.kind == K.VOLUME} == {v["VolumeId"] for v in attached}


def test_an_account_with_no_instance_anywhere_says_so_in_one_row(moto):
    token = make_token(moto)
    rows = [e for page in load_all_regions(token, ALL) for e in page]
    assert [e.label for e in rows] == [f"No instance in any of the {len(enabled_regions(token))} enabled regions"]


def test_each_region_is_a_page_as_it_answers_and_the_slowest_comes_last(moto, boto, proxy):
    launch(boto("ec2"), "home-1")
    launch(boto("ec2", "eu-west-1"), "eu-web")
    launch(boto("ec2", "sa-east-1"), "sa-web")
    slow = proxy()
    token = make_token(moto, slow.url)
    list(load_all_regions(token, ALL))  # the token's clients made, moto's regions set up: a listing as the next ones
    slow.slow["sa-east-1"] = 2.0  # from now on sa-east-1 answers two seconds late
    started = time.monotonic()
    pages = []
    for page in load_all_regions(token, ALL):
        pages.append((time.monotonic() - started, page))
    region_pages = [(t, p) for t, p in pages if p[0].kind == K.REGION_ROW]
    # one page per region with instances, each its heading then its rows
    assert [p[0].ref["region"] for _, p in region_pages][-1] == "sa-east-1"
    assert sorted(p[0].ref["region"] for _, p in region_pages) == ["eu-west-1", "sa-east-1", HOME]
    assert all(len(p) == 2 and p[1].ref.get("region", HOME) == p[0].ref["region"] for _, p in region_pages)
    first, slowest = region_pages[0][0], region_pages[-1][0]
    assert first < 1.0 and slowest >= 2.0  # the first region's rows did not wait for the slowest
    assert "sa-east-1" in slow.regions_seen


def test_closing_the_listing_early_does_not_wait_for_the_regions_still_asked(moto, boto, proxy):
    launch(boto("ec2"), "home-1")
    slow = proxy(slow={region: 3.0 for region in ("eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1")})
    token = make_token(moto, slow.url)
    listing = load_all_regions(token, ALL)
    first = next(listing)
    assert first[0].ref["region"] == HOME  # asked first: its client was made already
    started = time.monotonic()
    listing.close()  # as the tree does when it stops a listing
    assert time.monotonic() - started < 1.0
    # the calls still under way are on daemon threads: nothing waits for them, not even the app's exit
    asking = [t for t in threading.enumerate() if t.name.startswith("gridclient-regions")]
    assert asking and all(t.daemon for t in asking)


def test_a_region_that_fails_is_an_error_row_for_that_region_only(moto, boto, proxy):
    home = launch(boto("ec2"), "home-1")
    for region in ("eu-west-1", "eu-west-2", "eu-west-3"):
        launch(boto("ec2", region), "lost")
    ap = launch(boto("ec2", "ap-southeast-2"), "ap-web")
    # three regions fail, each its own way: a policy denies it, it is not enabled, it cannot be reached
    failing = proxy(refuse={"eu-west-1": "UnauthorizedOperation", "eu-west-2": "OptInRequired"}, drop={"eu-west-3"})
    token = make_token(moto, failing.url)
    rows = [e for page in load_all_regions(token, ALL) for e in page]
    failed = {e.ref["region"]: e for e in rows if e.state == "failed"}
    assert {r: (e.kind, e.label, e.icon) for r, e in failed.items()} == {
        "eu-west-1": (K.REGION_ROW, "eu-west-1 — access denied", "error"),
        "eu-west-2": (K.REGION_ROW, "eu-west-2 — not enabled for this account", "error"),
        "eu-west-3": (K.REGION_ROW, "eu-west-3 — not reachable", "error")}
    assert failed["eu-west-1"].detail.startswith("Access denied: this account may not call DescribeInstances")
    assert failed["eu-west-2"].detail.startswith("eu-west-2 is not enabled for this account (opt-in required)")
    assert "proxy" in failed["eu-west-3"].detail  # reached through the VO's proxy, which said nothing
    assert all(e.properties["Error"] == e.detail for e in failed.values())
    grouped = dict(regions_in([e for e in rows if e.state != "failed"]))
    assert grouped == {HOME: home, "ap-southeast-2": ap}  # every other region still came
    assert not {"eu-west-1", "eu-west-2", "eu-west-3"} & set(rows[-1].detail.split(", "))  # nor counted as empty


def test_when_the_regions_cannot_be_listed_the_whole_listing_fails(moto, proxy):
    token = make_token(moto, proxy(refuse={HOME: "UnauthorizedOperation"}).url)
    with pytest.raises(Exception) as caught:
        list(load_all_regions(token, ALL))
    assert "DescribeRegions" in str(caught.value) or "UnauthorizedOperation" in str(caught.value)


# -- actions and live state in the instance's region ----------------------------------------------
def test_stop_acts_in_each_instances_region_and_the_watcher_follows_it_there(env, boto):
    wb, vo, heard, wait_for = env
    eu_ec2, ap_ec2 = boto("ec2", "eu-west-1"), boto("ec2", "ap-southeast-2")
    (eu,), (ap,), (home,) = launch(eu_ec2, "eu-web"), launch(ap_ec2, "ap-web"), launch(boto("ec2"), "home-1")
    rows = {e.id: e for e in wb.children(vo, ALL) if e.kind == K.INSTANCE}

    outcome = wb.actions.run("aws.ec2.stop", [rows[eu], rows[ap]], vo, ScriptedInteraction(default_confirm=True),
                             timeout=60)
    assert outcome.state == "done", outcome.message
    assert {e.id for e in outcome.watched} == {eu, ap}
    # stopped where they are (seen by plain clients of those regions); the home one untouched
    assert state(eu_ec2, eu) == "stopped" and state(ap_ec2, ap) == "stopped" and state(boto("ec2"), home) == "running"
    # each followed by a poller of its own region: "stopped" heard, never "gone"
    changed = lambda iid: [e for c in heard for e in c.elements if e.id == iid]  # noqa: E731
    wait_for(lambda: changed(eu) and changed(eu)[-1].state == "stopped"
             and changed(ap) and changed(ap)[-1].state == "stopped")
    assert changed(eu)[-1].ref["region"] == "eu-west-1" and changed(ap)[-1].ref["region"] == "ap-southeast-2"
    assert not any(c.gone or c.problem for c in heard)
    assert wb.watcher.wait_idle(20)


def test_protection_and_terminate_act_in_the_instances_region(env, boto):
    wb, vo, _, _ = env
    eu_ec2 = boto("ec2", "eu-west-1")
    (eu,) = launch(eu_ec2, "eu-web")
    row = next(e for e in wb.children(vo, ALL) if e.id == eu)

    outcome = wb.actions.run("aws.ec2.protection", [row], vo, ScriptedInteraction(ask_answers=[{"protect": True}]),
                             timeout=30)
    assert outcome.state == "done", outcome.message
    assert eu_ec2.describe_instance_attribute(InstanceId=eu, Attribute="disableApiTermination"
                                              )["DisableApiTermination"]["Value"] is True
    refused = wb.actions.run("aws.ec2.terminate", [row], vo, ScriptedInteraction(default_confirm=True), timeout=30)
    assert refused.state == "failed" and "protected from termination" in refused.message
    assert state(eu_ec2, eu) == "running"
    console = wb.actions.run("aws.ec2.console", [row], vo, ScriptedInteraction(), timeout=30)
    assert console.state == "done", console.message  # found in eu-west-1 (not "no longer exists")
