"""All-regions benchmark (a script, not a test): Computing → All regions against the same calls made
one region after another, on moto's EC2.

    python bench/bench_regions.py [--repeat R] [--latency-ms 0,100] [--workers W]

moto's ``ThreadedMotoServer`` runs in its own process (its own GIL) on 127.0.0.1 and is always
stopped at the end. Two instances are launched in each of a few regions (``--seed-regions``), and
every region moto knows is asked once before timing, so moto has set each region up (its first
call in a region is slow, for either side).

Ours: ``providers.aws.regions.load_all_regions`` — DescribeRegions, then DescribeInstances in every
enabled region on a pool of ``--workers`` threads, a page per region as it answers. Baseline: the
same calls one region after another — ``enabled_regions`` then ``region_instances`` for each region
in name order (the same functions, so both sides make the same requests and the same rows). Both
use an ``AwsToken`` as the app makes it. Per latency, two settings:

- warm: one token per side whose clients are made (a run of each, not counted, first) — every
  listing after the first, and every F5;
- cold: a new token for every run, so every region's client is made during the run — the first
  expand after start-up. botocore makes an EC2 client in ~60–120 ms of CPU (its ~800 methods), one
  at a time under the token's lock (a Session may not make clients on two threads at once), and
  under the GIL no faster in parallel; both sides pay it.

Figures: time to the first region's rows (the first page holding an instance; for the baseline,
the first region with instances in name order) and the total; medians of ``--repeat`` runs, ours
and baseline interleaved run by run; the ratio is baseline / ours. Target: total ≥ 4× faster.

``--latency-ms``: moto on loopback answers in a few ms, far from a real region's 50–300 ms round
trip, so the listing is also timed behind a small HTTP proxy in its own process (set as the VO's
"HTTP(S) proxy", the app's own path) that holds each request that many ms before passing it on:
one round trip per call, as over a kept-alive connection to AWS. 0 is moto directly. Exits 0
whatever the figures (a report, not a gate).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_transfers import MotoProcess, Table  # noqa: E402 - the bench folder, then the project
from common import isolate  # noqa: E402

isolate()  # never reach a real account, whatever the shell holds

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOME = "us-east-1"  # the VO's region
TARGET = 4.0
IMAGE = "ami-760aaa0f"  # in moto's default catalog, in every region

# -- a delaying HTTP proxy, in its own process --------------------------------------------------
PROXY_CHILD = r"""
import http.client, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

delay, upstream = float(sys.argv[1]) / 1000, urlsplit(sys.argv[2])
SKIP = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept alive towards the client, as a connection to AWS is

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(delay)  # the round trip
        url = urlsplit(self.path)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            conn.request(self.command, (url.path or "/") + (f"?{url.query}" if url.query else ""), body,
                         {k: v for k, v in self.headers.items() if k.lower() not in SKIP})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
import threading
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # until the parent closes our stdin
"""


class DelayProxy:
    """The delaying proxy in a child process (its own GIL): every request held ``ms`` first."""

    def __init__(self, ms: float, upstream: str):
        self.proc = subprocess.Popen([sys.executable, "-c", PROXY_CHILD, str(ms), upstream], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("the delaying proxy did not start")
        self.url = f"http://127.0.0.1:{line}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)


# -- the two sides ------------------------------------------------------------------------------
def make_token(endpoint: str, proxy_url: str = ""):
    from gridclient.workspace import VirtualOrganization
    from providers.aws.token import AwsToken

    vo = VirtualOrganization(name="Bench", type="aws", settings={
        "region": HOME, "credential_mode": "keys", "access_key_id": "testing", "endpoint_url": endpoint,
        "proxy_url": proxy_url})
    return AwsToken(vo, {"secret_access_key": "testing"})


def ours(token, workers: int) -> tuple[float, float, int]:
    """(seconds to the first page holding an instance, seconds in all, instances listed)."""
    from providers.aws import kinds as K
    from providers.aws.regions import all_regions_element, load_all_regions

    first = None
    count = 0
    started = time.perf_counter()
    for page in load_all_regions(token, all_regions_element(), workers=workers):
        found = sum(1 for e in page if e.kind == K.INSTANCE)
        if found and first is None:
            first = time.perf_counter() - started
        count += found
    return first or float("nan"), time.perf_counter() - started, count


def one_after_another(token) -> tuple[float, float, int]:
    """The same calls, one region after another in name order."""
    from providers.aws.regions import enabled_regions, region_instances

    first = None
    count = 0
    started = time.perf_counter()
    for region in enabled_regions(token):
        found = len(region_instances(token, region))
        if found and first is None:
            first = time.perf_counter() - started
        count += found
    return first or float("nan"), time.perf_counter() - started, count


def secs(values) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def measure(endpoint: str, proxy_url: str, label: str, repeat: int, workers: int, table: Table,
            expected: int) -> None:
    for setting in ("warm", "cold"):
        if setting == "warm":
            tokens = {"ours": make_token(endpoint, proxy_url), "base": make_token(endpoint, proxy_url)}
            ours(tokens["ours"], workers)  # every region's client made: not counted
            one_after_another(tokens["base"])
        runs: dict[str, list[tuple[float, float, int]]] = {"ours": [], "base": []}
        for _ in range(repeat):  # interleaved, so both see the same noise
            for side in ("base", "ours"):
                token = tokens[side] if setting == "warm" else make_token(endpoint, proxy_url)
                run = ours(token, workers) if side == "ours" else one_after_another(token)
                if run[2] != expected:
                    raise RuntimeError(f"{side} listed {run[2]} instances, not {expected}")
                runs[side].append(run)
        for side in ("ours", "base"):
            print(f"[{label}, {setting}] {'ours    ' if side == 'ours' else 'baseline'} first rows "
                  f"{secs(r[0] for r in runs[side])} s, total {secs(r[1] for r in runs[side])} s", flush=True)
        med = {side: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
               for side, rs in runs.items()}
        first_ratio, total_ratio = med["base"][0] / med["ours"][0], med["base"][1] / med["ours"][1]
        table.add(f"{label}, {setting}: time to the first region's rows", f"{med['ours'][0]:.3f} s",
                  f"{med['base'][0]:.3f} s", f"{first_ratio:.1f}×", "—", None)
        table.add(f"{label}, {setting}: all regions listed", f"{med['ours'][1]:.3f} s", f"{med['base'][1]:.3f} s",
                  f"{total_ratio:.1f}×", f"≥ {TARGET:g}×", total_ratio >= TARGET)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side per setting (medians printed)")
    parser.add_argument("--latency-ms", default="0,100",
                        help="comma-separated round trips to time with (0: moto directly), default 0,100")
    parser.add_argument("--workers", type=int, default=0, help="our pool's size (default: the app's)")
    parser.add_argument("--seed-regions", default="ap-southeast-2,eu-west-1,sa-east-1,us-west-2",
                        help="regions given two instances each")
    args = parser.parse_args()
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    seeds = [r.strip() for r in args.seed_regions.split(",") if r.strip()]

    import boto3
    import moto as moto_pkg

    from providers.aws.regions import WORKERS

    workers = args.workers or WORKERS
    tmp = Path(tempfile.mkdtemp(prefix="bench-regions-"))
    moto = None
    proxies: list[DelayProxy] = []
    table = Table()
    t_start = time.perf_counter()
    try:
        print(f"bench_regions: Python {sys.version.split()[0]}, boto3 {boto3.__version__}, moto "
              f"{moto_pkg.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"{workers} workers, {args.repeat} runs per side and setting", flush=True)
        moto = MotoProcess(tmp / "moto.log")
        print(f"[setup] moto ThreadedMotoServer in its own process (pid {moto.proc.pid}) at {moto.url}", flush=True)

        def plain(region: str):
            return boto3.client("ec2", endpoint_url=moto.url, region_name=region, aws_access_key_id="testing",
                                aws_secret_access_key="testing")

        known = plain(HOME).describe_regions()["Regions"]
        regions = sorted(r["RegionName"] for r in known)
        enabled = [r for r in known if r.get("OptInStatus") != "not-opted-in"]  # what both sides ask
        for region in seeds:
            plain(region).run_instances(ImageId=IMAGE, InstanceType="t3.micro", MinCount=2, MaxCount=2)
        started = time.perf_counter()
        for region in regions:  # moto sets a region up on its first call: not in anyone's figures
            plain(region).describe_instances()
        print(f"[setup] moto knows {len(regions)} regions, {len(enabled)} of them enabled (the rest "
              f"\"not-opted-in\": left out by both sides, as AWS leaves them out); 2 instances in each of {', '.join(seeds)}; every region "
              f"set up in moto in {time.perf_counter() - started:.1f} s", flush=True)
        expected = 2 * len(seeds)

        for ms in latencies:
            try:
                if ms > 0:
                    proxies.append(DelayProxy(ms, moto.url))
                    print(f"[setup] delaying proxy ({ms:g} ms a request) in its own process at {proxies[-1].url}",
                          flush=True)
                label = f"{len(enabled)} regions, " + ("moto direct" if ms <= 0 else f"+{ms:g} ms")
                measure(moto.url, proxies[-1].url if ms > 0 else "", label, args.repeat, workers, table, expected)
            except Exception as exc:  # noqa: BLE001 - a report: the other latencies still run
                import traceback

                traceback.print_exc()
                table.error(f"latency {ms:g} ms", exc)
    finally:
        for p in proxies:
            p.stop()
        if moto is not None:
            moto.stop()
    print()
    table.print()
    print(f"(in {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
