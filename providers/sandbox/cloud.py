"""The demo sandbox behind ``gridclient --demo``: moto's server on 127.0.0.1, seeded with data.

``DemoSandbox().start()`` starts moto's ``ThreadedMotoServer`` in this process at a free port,
seeds it over HTTP with boto3 (two regions, instances running and stopped, two owned AMIs, a
key pair, security groups, two EBS volumes and a snapshot, an Elastic IP, three buckets with
nested folders and a few hundred objects) and
starts a loopback-only SSH endpoint (:mod:`providers.sandbox.ssh_server`) that accepts only the
demo key pair, so "SSH login…" on a demo instance opens a real shell, and serves over SFTP a
throwaway folder per login user (removed when it stops) as the instance's files. It never contacts AWS:
every client is built with fixed fake keys, no profile, no config file, no proxy and the
sandbox's endpoint URL. ``prepare(workbench)`` puts a "Demo" VO (of the AWS provider's type) and
project into the app's (throwaway) workspace, with the demo key held and the endpoint's host key
trusted. ``stop()`` (or leaving the ``with`` block) stops both servers.

moto keeps its state in module globals, so every moto server in one process shares one set of
data: ``start()`` empties it before seeding (``/moto-api/reset``), and a later reset by someone
else empties the sandbox too (``reseed()`` puts the data back).

moto is an optional extra: ``pip install 'gridclient[demo]'``.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import io
import logging
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

REGIONS = ("us-east-1", "eu-west-1")
KEY_NAME = "demo-key"
ACCESS_KEY_ID = "demo"
SECRET_ACCESS_KEY = "demo"
BUCKETS = ("demo-logs", "demo-website", "demo-datasets")

_FALLBACK_IMAGES = {"ubuntu": "ami-1e749f67", "amazon": "ami-760aaa0f"}  # in moto's default catalog


class DemoSandbox:
    """A seeded moto server plus a demo SSH endpoint, both on 127.0.0.1 only."""

    regions = REGIONS
    key_name = KEY_NAME

    def __init__(self) -> None:
        self.endpoint_url: str | None = None
        self.ssh_host = "127.0.0.1"
        self.ssh_port: int | None = None
        self.private_key_pem: str | None = None
        self.ssh_user = getpass.getuser()
        self.seconds_to_start: float | None = None
        self._server = None
        self._ssh = None
        self._key = None
        self._session = None

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> "DemoSandbox":
        if self._server is not None:
            return self
        t0 = time.perf_counter()
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise RuntimeError(
                "The demo sandbox needs moto, an optional extra: pip install 'gridclient[demo]'"
            ) from exc
        import paramiko

        from providers.sandbox.ssh_server import LoopbackSSHServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        try:
            host, port = server.get_host_and_port()
            self.endpoint_url = f"http://{host}:{port}"
            self._key = paramiko.RSAKey.generate(2048)
            buf = io.StringIO()
            self._key.write_private_key(buf)
            self.private_key_pem = buf.getvalue()
            self._ssh = LoopbackSSHServer(self._key, host=self.ssh_host,
                                          also_authorized=self.has_key_pair).start()
            self.ssh_port = self._ssh.port
            with _without_missing_profile():
                self.reseed()
                self.client("sts").get_caller_identity()  # moto loads STS now, not in the app's first test
        except BaseException:
            self.stop()
            raise
        self.seconds_to_start = time.perf_counter() - t0
        log.info("demo sandbox: moto at %s, ssh at %s:%s, ready in %.2f s",
                 self.endpoint_url, self.ssh_host, self.ssh_port, self.seconds_to_start)
        return self

    def has_key_pair(self, key) -> bool:
        """Whether ``key`` (a paramiko public key) is that of a key pair in the sandbox, in any of
        its regions: the demo's SSH endpoint lets such keys in, so an instance launched there with
        a new key pair can be logged into, as on a real cloud."""
        line = f"{key.get_name()} {key.get_base64()}"
        for region in REGIONS:
            pairs = self.client("ec2", region).describe_key_pairs(IncludePublicKey=True).get("KeyPairs", [])
            if any(" ".join((p.get("PublicKey") or "").split()[:2]) == line for p in pairs):
                return True
        return False

    def stop(self) -> None:
        ssh, self._ssh = self._ssh, None
        server, self._server = self._server, None
        if ssh is not None:
            ssh.stop()
        if server is not None:
            server.stop()
        self._session = None

    def __enter__(self) -> "DemoSandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- what the demo workspace needs -------------------------------------------------------
    def prepare(self, wb) -> None:
        """The Demo VO and project (made once, updated after), the demo key pair's private key
        held for it, and the SSH endpoint's host key trusted (a new one at every start)."""
        from gridclient.keys import store_key
        from gridclient.ssh import KnownHosts
        from gridclient.workspace import GridProject

        self._require()
        vo = wb.workspace.vo_by_name("Demo")
        vo = wb.save_vo("Demo", "aws", {**self.vo_settings(), **self.vo_secrets()}, vo=vo)
        if not any(p.vo == vo.id for p in wb.workspace.projects.values()):
            wb.workspace.add_project(GridProject("Demo", vo.id))
        store_key(wb.paths, vo.id, self.key_name, self.private_key_pem)
        known = KnownHosts(wb.paths.known_hosts, user_file=None)
        known.forget(self.ssh_host, self.ssh_port)  # an earlier start's key, if this workspace is kept
        known.add(self.ssh_host, self.ssh_port, self._ssh.host_key)
        files = sample_files(wb.paths.data / "demo-files")
        if wb.workspace.preferences.get("local_roots") != [str(files)]:
            wb.workspace.preferences["local_roots"] = [str(files)]  # "Local files": these, not $HOME
            wb.workspace.save()

    def vo_settings(self) -> dict:
        self._require()
        return {
            "region": REGIONS[0],
            "endpoint_url": self.endpoint_url,
            "credential_mode": "keys",
            "ssh_host_override": f"{self.ssh_host}:{self.ssh_port}",
            "ssh_user": self.ssh_user,
            # "Allow SSH from my address": the demo's instances are reached on loopback, and the demo
            # never asks checkip.amazonaws.com; a data: URL answers like it, without a network
            "public_address_url": f"data:text/plain,{self.ssh_host}",
        }

    def vo_secrets(self) -> dict:
        return {"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY}

    def known_hosts_line(self) -> str:
        """The OpenSSH known_hosts line of the demo SSH endpoint's host key (for an ``ssh`` client)."""
        self._require()
        key = self._ssh.host_key
        host = self.ssh_host if self.ssh_port == 22 else f"[{self.ssh_host}]:{self.ssh_port}"
        return f"{host} {key.get_name()} {key.get_base64()}"

    def public_key_line(self) -> str:
        """The demo key pair's public key in OpenSSH format (what EC2 holds for "demo-key")."""
        self._require()
        return f"{self._key.get_name()} {self._key.get_base64()} {KEY_NAME}"

    def client(self, service: str, region: str = REGIONS[0]):
        """A boto3 client on the sandbox, with the demo's fake keys and nothing from the environment."""
        self._require()
        from botocore.config import Config

        config = Config(proxies={}, retries={"max_attempts": 2, "mode": "standard"},
                        max_pool_connections=16, s3={"addressing_style": "path"})
        return self._boto_session().client(service, region_name=region, endpoint_url=self.endpoint_url,
                                           config=config)

    def reseed(self) -> None:
        """Empty moto's state and seed the demo data again."""
        self._require()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        opener.open(urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"), timeout=30).read()
        for region in REGIONS:
            self._seed_ec2(region)
        self._seed_s3()

    # -- internals ---------------------------------------------------------------------------
    def _require(self) -> None:
        if self._server is None:
            raise RuntimeError("the demo sandbox is not running: call start() first")

    def _boto_session(self):
        if self._session is None:
            import boto3
            import botocore.session

            # whatever the shell or ~/.aws hold, this session reads no profile, no file and no env
            # variable for them: (config name, env vars, default, conversion)
            core = botocore.session.Session(session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            })
            self._session = boto3.session.Session(
                aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                region_name=REGIONS[0], botocore_session=core)
        return self._session

    # EC2 -----------------------------------------------------------------------------------
    def _base_image(self, ec2, kind: str) -> str:
        pattern = {"ubuntu": "ubuntu/images/hvm-ssd/ubuntu-*", "amazon": "amzn2-ami-hvm-*"}[kind]
        try:
            images = ec2.describe_images(Filters=[{"Name": "name", "Values": [pattern]}])["Images"]
        except Exception:  # noqa: BLE001 - a catalog we cannot read only costs realism
            images = []
        if images:
            return sorted(images, key=lambda i: i.get("Name", ""))[-1]["ImageId"]
        return _FALLBACK_IMAGES[kind]

    def _run(self, ec2, image: str, itype: str, groups: list[str], name: str | None, role: str,
             zone: str) -> str:
        tags = [{"Key": "Project", "Value": "demo"}, {"Key": "Role", "Value": role}]
        if name:
            tags.insert(0, {"Key": "Name", "Value": name})
        out = ec2.run_instances(
            ImageId=image, InstanceType=itype, MinCount=1, MaxCount=1, KeyName=KEY_NAME,
            SecurityGroupIds=groups, Placement={"AvailabilityZone": zone},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        return out["Instances"][0]["InstanceId"]

    def _seed_ec2(self, region: str) -> None:
        ec2 = self.client("ec2", region)
        ec2.import_key_pair(KeyName=KEY_NAME, PublicKeyMaterial=self.public_key_line().encode())
        web = ec2.create_security_group(GroupName="demo-web",
                                        Description="Demo web servers: SSH, HTTP, HTTPS")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": d}]}
            for p, d in ((22, "SSH"), (80, "HTTP"), (443, "HTTPS"))])
        batch = ec2.create_security_group(GroupName="demo-batch",
                                          Description="Demo batch workers: SSH from the VPC")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=batch, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "172.31.0.0/16", "Description": "SSH from the VPC"}]}])
        ubuntu = self._base_image(ec2, "ubuntu")
        amazon = self._base_image(ec2, "amazon")
        a, b = f"{region}a", f"{region}b"
        if region == REGIONS[0]:
            web1 = self._run(ec2, ubuntu, "t3.micro", [web], "web-1", "web", a)
            batch1 = self._run(ec2, amazon, "c5.large", [batch], "batch-worker", "batch", b)
            webapp = ec2.create_image(InstanceId=web1, Name="ubuntu-22.04-webapp", NoReboot=True,
                                      Description="Ubuntu 22.04 LTS with nginx and the demo web app")["ImageId"]
            batchami = ec2.create_image(InstanceId=batch1, Name="amazon-linux-2023-batch", NoReboot=True,
                                        Description="Amazon Linux 2023 with Python 3.11 and the batch tools")["ImageId"]
            ec2.create_tags(Resources=[webapp, batchami], Tags=[{"Key": "Project", "Value": "demo"}])
            self._run(ec2, webapp, "t3.micro", [web], "web-2", "web", b)
            db = self._run(ec2, ubuntu, "m5.large", [batch], "staging-db", "database", a)
            self._run(ec2, amazon, "t3.nano", [batch], None, "scratch", a)  # no Name tag: shown by its id
            ec2.stop_instances(InstanceIds=[batch1, db])
            self._seed_storage(ec2, web1, a, b)
        else:
            self._run(ec2, ubuntu, "t3.small", [web], "eu-web-1", "web", a)
            archive = self._run(ec2, amazon, "t3.medium", [batch], "eu-archive", "archive", b)
            ec2.stop_instances(InstanceIds=[archive])

    @staticmethod
    def _seed_storage(ec2, web1: str, a: str, b: str) -> None:
        """A data volume on web-1 with a nightly snapshot, a spare volume to attach, and an
        Elastic IP on web-1: what Storage → Volumes/Snapshots and Services → Elastic IPs show."""
        def named(kind: str, name: str) -> list[dict]:
            return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}, {"Key": "Project", "Value": "demo"}]}]

        data = ec2.create_volume(Size=20, AvailabilityZone=a, VolumeType="gp3",
                                 TagSpecifications=named("volume", "web-data"))["VolumeId"]
        ec2.attach_volume(VolumeId=data, InstanceId=web1, Device="/dev/sdf")
        ec2.create_snapshot(VolumeId=data, Description="web-data, nightly",
                            TagSpecifications=named("snapshot", "web-data nightly"))
        ec2.create_volume(Size=50, AvailabilityZone=b, VolumeType="gp3", TagSpecifications=named("volume", "scratch"))
        address = ec2.allocate_address(Domain="vpc", TagSpecifications=named("elastic-ip", "web-1 address"))
        ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=web1)

    # S3 ------------------------------------------------------------------------------------
    def _seed_s3(self) -> None:
        s3 = self.client("s3", REGIONS[0])
        for bucket in BUCKETS:
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket="demo-website", Tagging={"TagSet": [{"Key": "Project", "Value": "demo"}]})
        objects = list(_demo_objects())
        if self._put_in_process(objects):
            return
        # The few hundred objects go as plain S3 REST PUTs on the same endpoint: boto3's own work
        # per call (~4 ms of Python) would double the start time. moto does not check signatures;
        # the Credential names the demo key so moto files them under the same account.
        workers = 3
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-put") as pool:
            for f in [pool.submit(self._put_raw, objects[i::workers]) for i in range(workers)]:
                f.result()

    @staticmethod
    def _put_in_process(objects: list[tuple[str, str, bytes, str]]) -> bool:
        """Store the objects straight into this process's moto S3 backend, the one serving the
        buckets just made over HTTP: ~50x faster than one HTTP request per object.

        Uses moto internals (``s3_backends.bucket_accounts``, ``put_object``); if they are not
        what this code expects, nothing is stored and the caller falls back to HTTP PUTs.
        """
        try:
            from moto.s3.models import s3_backends

            backends = {}
            for bucket in {o[0] for o in objects}:
                partition, account = s3_backends.bucket_accounts[bucket]
                backends[bucket] = s3_backends[account][partition]
                backends[bucket].get_bucket(bucket)
        except Exception as exc:  # noqa: BLE001
            log.debug("demo sandbox: storing objects over HTTP (%s)", exc)
            return False
        done = 0
        try:
            for bucket, key, body, ctype in objects:
                obj = backends[bucket].put_object(bucket, key, body)
                obj.set_metadata({"Content-Type": ctype})
                done += 1
        except Exception as exc:  # noqa: BLE001
            if done:  # half-stored would be a muddle: the HTTP path overwrites the same keys
                log.debug("demo sandbox: storing objects over HTTP after %d (%s)", done, exc)
            return False
        return True

    def _put_raw(self, objects: list[tuple[str, str, bytes, str]]) -> None:
        import http.client
        from urllib.parse import quote, urlsplit

        url = urlsplit(self.endpoint_url)
        auth = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{REGIONS[0]}/s3/aws4_request, "
                f"SignedHeaders=host, Signature={'0' * 64}")
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            for bucket, key, body, ctype in objects:
                conn.request("PUT", f"/{bucket}/{quote(key, safe='/')}", body=body,
                             headers={"Content-Type": ctype, "Authorization": auth})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"the demo sandbox could not store s3://{bucket}/{key}: "
                                       f"HTTP {resp.status} {resp.reason}")
        finally:
            conn.close()


def _demo_objects():
    """(bucket, key, body, content type) for every demo object: small, real text."""
    txt, csv, html = "text/plain; charset=utf-8", "text/csv; charset=utf-8", "text/html; charset=utf-8"
    # demo-logs: logs/2026/11/day-NN/{access,error,app}.log
    paths = ["/", "/index.html", "/css/site.css", "/img/logo.svg", "/api/items", "/about.html"]
    for day in range(1, 21):
        access = "\n".join(
            f"10.0.{day}.{i} - - [{day:02d}/Nov/2026:{i % 24:02d}:{(i * 7) % 60:02d}:00 +0000] "
            f"\"GET {paths[i % len(paths)]} HTTP/1.1\" {404 if i % 17 == 0 else 200} {512 + 37 * i}"
            for i in range(1, 41)) + "\n"
        error = "".join(f"2026-11-{day:02d}T{h:02d}:15:00Z ERROR upstream timed out (110) while reading "
                        f"response header from upstream\n" for h in range(day % 3)) or "no errors\n"
        app = "".join(f"2026-11-{day:02d}T{h:02d}:00:00Z INFO processed {100 + day * h} requests\n"
                      for h in range(0, 24, 4))
        base = f"logs/2026/11/day-{day:02d}"
        yield "demo-logs", f"{base}/access.log", access.encode(), txt
        yield "demo-logs", f"{base}/error.log", error.encode(), txt
        yield "demo-logs", f"{base}/app.log", app.encode(), txt
    yield "demo-logs", "logs/README.txt", b"Web server logs of the demo site, one folder per day.\n", txt
    yield "demo-logs", "logs/2026/10/summary.txt", b"October 2026: 1,204,332 requests, 0.02% errors.\n", txt

    # demo-website
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>"
            "<link rel=\"stylesheet\" href=\"/css/site.css\"></head>\n<body><h1>{t}</h1><p>{p}</p></body></html>\n")
    site = {
        "index.html": page.format(t="Demo site", p="Served from the demo-website bucket."),
        "about.html": page.format(t="About", p="A static site, to show folders and objects in the tree."),
        "404.html": page.format(t="Not found", p="Nothing here."),
        "robots.txt": "User-agent: *\nAllow: /\n",
        "css/site.css": "body { font-family: sans-serif; margin: 2em; }\nh1 { color: #235; }\n",
        "css/print.css": "@media print { nav { display: none; } }\n",
        "js/app.js": "document.addEventListener('DOMContentLoaded', () => console.log('demo'));\n",
        "img/logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\">"
                        "<circle cx=\"32\" cy=\"32\" r=\"28\" fill=\"#2a6\"/></svg>\n",
        "img/icons/cloud.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"16\">"
                               "<rect width=\"16\" height=\"10\" y=\"3\" rx=\"5\" fill=\"#59c\"/></svg>\n",
        "img/icons/disk.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"16\">"
                              "<rect width=\"14\" height=\"14\" x=\"1\" y=\"1\" fill=\"#888\"/></svg>\n",
    }
    types = {"html": html, "txt": txt, "css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
    for key, body in site.items():
        yield "demo-website", key, body.encode(), types[key.rsplit(".", 1)[1]]

    # demo-datasets: raw/, processed/, big/ (200 small parts)
    yield "demo-datasets", "README.md", (b"# Demo datasets\n\n- raw/: sensor readings per day\n"
                                         b"- processed/: daily means\n- big/: many small parts\n"), "text/markdown"
    for day in range(1, 11):
        rows = "\n".join(f"2026-11-{day:02d}T{h:02d}:00:00Z,sensor-{h % 4},{20 + (day * h) % 9}.{h % 10}"
                         for h in range(24))
        yield "demo-datasets", f"raw/2026-11-{day:02d}/readings.csv", f"time,sensor,celsius\n{rows}\n".encode(), csv
    for day in range(1, 11):
        yield ("demo-datasets", f"processed/daily/2026-11-{day:02d}.csv",
               ("sensor,mean_celsius\n" + "".join(f"sensor-{s},{21 + (day + s) % 5}.{s}\n"
                                                   for s in range(4))).encode(),
               csv)
    yield "demo-datasets", "processed/summary.txt", b"10 days, 4 sensors, mean 22.6 C\n", txt
    for part in range(200):
        body = base64.b64encode(bytes((part * 31 + i) % 256 for i in range(96))).decode()
        yield "demo-datasets", f"big/part-{part:05d}.txt", f"part {part}\n{body}\n".encode(), txt


@contextlib.contextmanager
def _without_missing_profile():
    """Hide an AWS_PROFILE naming no profile while moto loads its services.

    moto builds plain ``boto3.Session()`` objects when a service is first used
    (getmoto/moto#5469); a profile that does not exist makes that fail inside the server.
    A profile that exists is left alone.
    """
    names = [v for v in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(v)]
    hidden: dict[str, str] = {}
    if names:
        import botocore.session

        try:
            known = set(botocore.session.Session(profile=None).available_profiles)
        except Exception:  # noqa: BLE001 - an unreadable config: hide the variables as well
            known = set()
        for var in names:
            if os.environ[var] not in known:
                hidden[var] = os.environ.pop(var)
    try:
        yield
    finally:
        os.environ.update(hidden)


def sample_files(folder):
    """A throwaway folder of a few files to drag onto the demo's buckets ("Local files")."""
    from pathlib import Path

    folder = Path(folder)
    if folder.is_dir():
        return folder
    (folder / "results" / "run-1").mkdir(parents=True)
    (folder / "notes.txt").write_text("Drag me onto a bucket in the tree.\n", "utf-8")
    (folder / "results" / "summary.csv").write_text("run,score\n1,0.91\n2,0.94\n", "utf-8")
    (folder / "results" / "run-1" / "output.log").write_text("".join(f"step {i}: ok\n" for i in range(500)),
                                                              "utf-8")
    (folder / "dataset.bin").write_bytes(bytes(range(256)) * 4096 * 12)  # 12 MiB: a multipart upload
    return folder
