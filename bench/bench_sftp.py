"""SFTP benchmark (a script, not a test): the ``sftp`` storage scheme against OpenSSH on one sshd.

    python bench/bench_sftp.py [--size-mb 200] [--small 1000] [--repeat 3] [--skip-s3]

Every figure is printed next to a baseline measured in the same run (these machines are noisy),
all against ONE OpenSSH ``sshd`` that this script starts on 127.0.0.1 at a free port
(tests/fixtures/sshd.py: its own host key and client key in a temp dir, ``internal-sftp``), and
always stops at the end. The server is this machine, so a remote path is a path under the temp dir.

Our side is the app's path: a Workbench on a fresh workspace, the core's ``sftp`` scheme
(``add_target`` with the server's SSHTarget, a KnownHosts that trusts its host key), and
``wb.transfers`` — the TransferQueue, keeping its ``transfers.json`` — every job a
``submit("copy", [source], folder, conflict="Overwrite")`` timed until ``queue.wait(job)`` returns,
WITH the queue's checks: the size always, and the SHA-256 computed on the server by the
connection's one long-lived checksum process (gridclient/storage/sftp_sums.py: ``sha256sum``, or
``openssl dgst -sha256`` for files of 4 MiB and more; a download's while it arrives, an upload's
from the moment its last byte is acknowledged, before the rename; over 32 MiB range by range as the
bytes are in), the download
fsynced and renamed from its part name. The connection is open and warm (one small job each way
first), as in the app; OpenSSH pays its connection and login in every command (printed as its
fixed cost, and taken out in the ratio's context figure).

1. a file of --size-mb MiB (random bytes) down and up: ours against ``sftp -b`` (a batch ``get`` /
   ``put``) and ``scp``, with ``-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i KEY
   -P PORT`` (and ``-F /dev/null -o IdentitiesOnly=yes -o BatchMode=yes``: nothing of ~/.ssh). Ratio
   = our MiB/s / theirs; target ≥ 0.8× the faster of the two (each printed too).
2. --small files of 1–8 KiB in one folder, down and up: ours (one job of the folder) against
   ``scp -r``. Target ≥ 0.8×. The exec channels our side opened and the files its checksum process
   checked are counted.
3. --size-mb MiB from the server into S3 (moto's ThreadedMotoServer in its own process, as
   bench_transfers.py starts it): ours, one copy job sftp → s3 (streamed through, never staged on
   disk) against the two steps "``sftp -b`` get to a local file, then boto3's managed upload"
   (``upload_file``, its default TransferConfig: the same 8 MiB parts and 10 at once as ours) and,
   where ``aws`` is installed, "… then ``aws s3 cp``". Target ≥ 1.0×. The sftp location is the VO's
   (``add_target(…, vo_id=vo.id)``), as an instance's files are.

Context rows (no target): the same transfers with the server checksum switched off on our
connection — what the checks cost. Runs alternate between the tools (the order rotating each
round); the single runs are printed above the table, the table has medians. Exits 0 whatever the
figures (a report, not a gate).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_workbench, isolate  # noqa: E402 - the bench folder, then the project

isolate()  # never reach a real account, whatever the shell holds
os.environ.pop("SSH_AUTH_SOCK", None)  # only the key we name, on both sides

from bench_transfers import AwsCli, MotoProcess, Table, find_aws, plain_s3, sha256_of, write_random  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
BUCKET = "bench-sftp"
TARGET_OPENSSH = 0.8
TARGET_S3 = 1.0


# -- the server ---------------------------------------------------------------------------------
def start_sshd(root: Path):
    """tests/fixtures/sshd.py's SSHDServer (importable outside pytest; its failures are pytest's
    Failed, a BaseException, turned into a RuntimeError here)."""
    from tests.fixtures.sshd import SSHDServer

    root.mkdir(parents=True)
    try:
        server = SSHDServer(root)
        return server.start()
    except BaseException as exc:  # noqa: BLE001 - pytest.fail's outcome, outside pytest
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise RuntimeError(f"sshd: {exc}") from None


class OpenSSH:
    """``sftp`` and ``scp`` on the same server with the same key, nothing of ~/.ssh."""

    def __init__(self, server, tmp: Path):
        self.server, self.tmp = server, tmp
        self.dest = f"{server.user}@{server.host}"
        self.opts = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                     "-i", str(server.key_file), "-P", str(server.port)]
        self.fixed = 0.0

    def _run(self, argv: list[str]) -> float:
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False,
                              stdin=subprocess.DEVNULL)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} … failed ({proc.returncode}): {proc.stderr[-1500:]}")
        return took

    def sftp(self, *commands: str) -> float:
        batch = self.tmp / "batch"
        batch.write_text("".join(c + "\n" for c in commands))
        return self._run(["sftp", "-q", "-b", str(batch), *self.opts, self.dest])

    def scp(self, *args: str) -> float:
        return self._run(["scp", "-q", *self.opts, *args])

    def remote(self, path: Path) -> str:
        return f"{self.dest}:{path}"

    def cipher(self) -> str:
        """The cipher and MAC OpenSSH negotiates with this server (from ``ssh -v``)."""
        proc = subprocess.run(["ssh", "-v", *[o if o != "-P" else "-p" for o in self.opts], self.dest, "true"],
                              capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
        for line in proc.stderr.splitlines():
            if "kex: server->client cipher:" in line:
                return line.split("cipher:", 1)[1].strip()
        return "?"


# -- our side -----------------------------------------------------------------------------------
class Ours:
    """A Workbench, the core's sftp scheme reaching the server (as "" and, for S3, as the VO)."""

    def __init__(self, server, root: Path, endpoint: str | None):
        from gridclient.interaction import ScriptedInteraction
        from gridclient.ssh import KnownHosts

        self.root_dir = root
        if endpoint is not None:
            self.wb, self.vo = bench_workbench(endpoint, root / "ws")
        else:
            from gridclient.paths import AppPaths
            from gridclient.secrets import MemoryKeyring, SecretStore
            from gridclient.workbench import Workbench

            self.wb, self.vo = Workbench(AppPaths.under(root / "ws"), secrets=SecretStore(MemoryKeyring())), None
        self.queue = self.wb.transfers
        self.scheme = self.wb.storage.scheme("sftp")
        known = KnownHosts(root / "known_hosts", user_file=None)
        known.add(server.host, server.port, server.host_pkey())
        self.root = self.scheme.add_target(server.target(), ScriptedInteraction(), known)
        self.vo_root = None
        if self.vo is not None:
            self.vo_root = self.scheme.add_target(server.target(), ScriptedInteraction(), known, vo_id=self.vo.id)

    def at(self, path: Path, folder: bool = False, vo: bool = False):
        from gridclient.storage import Location

        root = self.vo_root if vo else self.root
        return Location("sftp", root.vo_id, root.root, str(path).strip("/") + ("/" if folder else ""))

    @staticmethod
    def local(path: Path, folder: bool = False):
        from gridclient.storage import Location

        return Location.parse(str(path) + ("/" if folder else ""))

    def s3(self, path: str):
        from gridclient.storage import Location

        return Location("s3", self.vo.id, BUCKET, path)

    def copy(self, source, folder) -> float:
        """One copy job, submitted and waited for; its seconds. Raises unless every file is done."""
        t0 = time.perf_counter()
        job = self.queue.submit("copy", [source], folder, conflict="Overwrite")
        self.queue.wait(job)
        took = time.perf_counter() - t0
        if job.state != "done" or job.count("failed"):
            bad = [(t.label, t.error) for t in job.files if t.state != "done"][:3]
            raise RuntimeError(f"our copy ended {job.state}: {job.message} {bad}")
        self.queue.remove(job)  # "Clear finished"
        return took

    def connections(self):
        return list(getattr(self.scheme, "_connections", {}).values())

    def checksums(self, on: bool) -> None:
        """Context only: switch the server checksum of our connections off (as on a server without
        sha256sum) or back on."""
        for conn in self.connections():
            conn.probe()
            conn.sha256 = on

    def cipher(self) -> str:
        for conn in self.connections():
            t = conn.session().transport
            return f"{t.remote_cipher} / {t.remote_mac or 'implicit'}"
        return "?"

    def close(self) -> None:
        self.queue.shutdown()
        self.wb.close()


class ExecSpy:
    """Counts what our connections asked of the server besides SFTP: exec channels opened (the
    checksum process's, a command's) and files checked by the checksum process — from the
    connections' own counters (``Connection.execs``, ``sums.helper.answered``), nothing patched."""

    def __init__(self, ours: "Ours"):
        self.ours = ours
        self._seen = self._now()

    def _now(self) -> tuple[int, int, int]:
        execs = checks = started = 0
        for conn in self.ours.connections():
            execs += conn.execs
            started += conn.sums.started
            helper = conn.sums.helper
            checks += helper.answered if helper is not None else 0  # a restarted one counts from 0
        return execs, checks, started

    def take(self) -> tuple[int, int, int]:
        """(exec channels opened, files checked by the checksum process, its starts) since the last take."""
        now = self._now()
        out = tuple(max(0, a - b) for a, b in zip(now, self._seen))
        self._seen = now
        return out  # type: ignore[return-value]

    @staticmethod
    def said(counts: tuple[int, int, int]) -> str:
        execs, checks, started = counts
        return (f"{checks} files checked by the server's checksum process, {execs} exec channels opened"
                + (f", the process started {started}×" if started else ""))


# -- helpers ------------------------------------------------------------------------------------
def mibs(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / MiB


def med(values: list[float]) -> float:
    return statistics.median(values)


def runs(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "] s"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def clear(path: Path) -> None:
    """Empty a folder (made if missing), or remove a file."""
    if path.is_dir():
        shutil.rmtree(path)
        path.mkdir()
    elif path.exists():
        path.unlink()


def rounds(sides: dict[str, Callable[[], float]], reps: int, before: Callable[[str], None] | None = None,
           after: Callable[[str, int], None] | None = None) -> dict[str, list[float]]:
    """Each side ``reps`` times, alternating, the order rotated every round."""
    names = list(sides)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if before is not None:
                before(name)
            times[name].append(sides[name]())
            if after is not None:
                after(name, r)
    return times


def ratio_text(theirs: float, ours: float, fixed: float = 0.0) -> str:
    out = f"{theirs / ours:.2f}×"
    if fixed:
        out += f" ({max(0.0, theirs - fixed) / ours:.2f}× less connect)"
    return out


# -- 1. one big file ---------------------------------------------------------------------------
def big_file(ours: Ours, ossh: OpenSSH, tmp: Path, src: Path, remote_src: Path, size: int, reps: int,
             spy: ExecSpy, table: Table) -> None:
    want = sha256_of(src)
    label = f"{size // MiB} MiB"

    # down ----------------------------------------------------------------------------------
    dl = {n: tmp / f"dl-{n}" for n in ("ours", "sftp", "scp")}
    for d in dl.values():
        d.mkdir()
    checked: set[str] = set()

    def check_down(name: str, _r: int) -> None:
        got = dl[name] / src.name
        if got.stat().st_size != size:
            raise RuntimeError(f"{name}'s download has {got.stat().st_size} bytes")
        if name not in checked:
            checked.add(name)
            if sha256_of(got) != want:
                raise RuntimeError(f"{name}'s download differs from the source")
        got.unlink()

    down = rounds({
        "ours": lambda: ours.copy(ours.at(remote_src), ours.local(dl["ours"], folder=True)),
        "sftp": lambda: ossh.sftp(f'get "{remote_src}" "{dl["sftp"] / src.name}"'),
        "scp": lambda: ossh.scp(ossh.remote(remote_src), str(dl["scp"] / src.name)),
    }, reps, after=check_down)
    print(f"[big down] {label}: ours {runs(down['ours'])}, sftp -b {runs(down['sftp'])}, "
          f"scp {runs(down['scp'])}; ours in {reps} runs: {spy.said(spy.take())}; "
          f"downloads equal the source", flush=True)

    # up --------------------------------------------------------------------------------------
    up_dir = {n: tmp / "remote" / f"up-{n}" for n in ("ours", "sftp", "scp")}
    for d in up_dir.values():
        d.mkdir(parents=True)
    checked.clear()

    def check_up(name: str, _r: int) -> None:
        got = up_dir[name] / src.name
        if got.stat().st_size != size:
            raise RuntimeError(f"{name}'s upload has {got.stat().st_size} bytes")
        if name not in checked:
            checked.add(name)
            if sha256_of(got) != want:
                raise RuntimeError(f"{name}'s upload differs from the source")
        got.unlink()

    up = rounds({
        "ours": lambda: ours.copy(ours.local(src), ours.at(up_dir["ours"], folder=True)),
        "sftp": lambda: ossh.sftp(f'put "{src}" "{up_dir["sftp"] / src.name}"'),
        "scp": lambda: ossh.scp(str(src), ossh.remote(up_dir["scp"] / src.name)),
    }, reps, after=check_up)
    print(f"[big up] {label}: ours {runs(up['ours'])}, sftp -b {runs(up['sftp'])}, scp {runs(up['scp'])}; "
          f"ours in {reps} runs: {spy.said(spy.take())}; uploads equal the source", flush=True)

    # context: the same with the server checksum off -------------------------------------------
    ours.checksums(False)
    try:
        nock = rounds({
            "down": lambda: ours.copy(ours.at(remote_src), ours.local(dl["ours"], folder=True)),
            "up": lambda: ours.copy(ours.local(src), ours.at(up_dir["ours"], folder=True)),
        }, reps, after=lambda name, _r: clear((dl["ours"] if name == "down" else up_dir["ours"]) / src.name))
    finally:
        ours.checksums(True)
    spy.take()
    print(f"[big, checksum off] down {runs(nock['down'])}, up {runs(nock['up'])}", flush=True)

    for way, times in (("down", down), ("up", up)):
        o = med(times["ours"])
        best = min(("sftp", "scp"), key=lambda n: med(times[n]))
        b = med(times[best])
        ok = b / o >= TARGET_OPENSSH
        table.add(f"{label} {way}, vs the faster ({best})", f"{mibs(size, o):.0f} MiB/s ({o:.2f} s)",
                  f"{mibs(size, b):.0f} MiB/s ({b:.2f} s)", ratio_text(b, o, ossh.fixed),
                  f"≥ {TARGET_OPENSSH}×", ok)
        for name, shown in (("sftp", "sftp -b"), ("scp", "scp")):
            t = med(times[name])
            table.add(f"  vs {shown}", "", f"{mibs(size, t):.0f} MiB/s ({t:.2f} s)", ratio_text(t, o, ossh.fixed),
                      "", None)
        n = med(nock["down" if way == "down" else "up"])
        table.add("  ours, server checksum off (context)", f"{mibs(size, n):.0f} MiB/s ({n:.2f} s)",
                  f"{mibs(size, b):.0f} MiB/s ({best})", ratio_text(b, n), "—", None)


# -- 2. many small files -----------------------------------------------------------------------
def small_files(ours: Ours, ossh: OpenSSH, tmp: Path, folder: Path, remote_folder: Path, n: int, total: int,
                reps: int, spy: ExecSpy, table: Table) -> None:
    want = tree(folder)

    # down
    dl = {k: tmp / f"dl-small-{k}" for k in ("ours", "scp")}
    for d in dl.values():
        d.mkdir()

    def check(where: Path, name: str) -> None:
        got = tree(where / folder.name)
        if got != want:
            raise RuntimeError(f"{name}: {len(got)} files, {sum(a != want.get(k) for k, a in got.items())} "
                               f"differ from the {len(want)} sent")

    def check_down(name: str, _r: int) -> None:
        check(dl[name], name)
        clear(dl[name])

    down = rounds({
        "ours": lambda: ours.copy(ours.at(remote_folder, folder=True), ours.local(dl["ours"], folder=True)),
        "scp": lambda: ossh.scp("-r", ossh.remote(remote_folder), str(dl["scp"]) + "/"),
    }, reps, after=check_down)
    down_calls = spy.said(spy.take())

    # up
    up_dir = {k: tmp / "remote" / f"up-small-{k}" for k in ("ours", "scp")}
    for d in up_dir.values():
        d.mkdir(parents=True)

    def check_up(name: str, _r: int) -> None:
        check(up_dir[name], name)
        clear(up_dir[name])

    up = rounds({
        "ours": lambda: ours.copy(ours.local(folder, folder=True), ours.at(up_dir["ours"], folder=True)),
        "scp": lambda: ossh.scp("-r", str(folder), ossh.remote(up_dir["scp"]) + "/"),
    }, reps, after=check_up)
    up_calls = spy.said(spy.take())

    print(f"[small down] {n} files, {total / 1024:.0f} KiB: ours {runs(down['ours'])}, scp -r {runs(down['scp'])}; "
          f"ours {med(down['ours']) / n * 1000:.1f} ms/file; in {reps} runs: {down_calls}", flush=True)
    print(f"[small up] ours {runs(up['ours'])}, scp -r {runs(up['scp'])}; ours {med(up['ours']) / n * 1000:.1f} "
          f"ms/file; in {reps} runs: {up_calls}", flush=True)

    # context: checksum off
    ours.checksums(False)
    try:
        nock = rounds({
            "down": lambda: ours.copy(ours.at(remote_folder, folder=True), ours.local(dl["ours"], folder=True)),
            "up": lambda: ours.copy(ours.local(folder, folder=True), ours.at(up_dir["ours"], folder=True)),
        }, reps, after=lambda name, _r: (check_down if name == "down" else check_up)("ours", _r))
    finally:
        ours.checksums(True)
    spy.take()
    print(f"[small, checksum off] down {runs(nock['down'])}, up {runs(nock['up'])}", flush=True)

    for way, times in (("down", down), ("up", up)):
        o, b = med(times["ours"]), med(times["scp"])
        table.add(f"{n} small files {way}, vs scp -r", f"{o:.2f} s ({o / n * 1000:.1f} ms/file)", f"{b:.2f} s",
                  ratio_text(b, o, ossh.fixed), f"≥ {TARGET_OPENSSH}×", b / o >= TARGET_OPENSSH)
        c = med(nock[way])
        table.add("  ours, server checksum off (context)", f"{c:.2f} s ({c / n * 1000:.1f} ms/file)",
                  f"{b:.2f} s", ratio_text(b, c), "—", None)


# -- 3. server → S3 ----------------------------------------------------------------------------
def to_s3(ours: Ours, ossh: OpenSSH, plain, aws: AwsCli | None, tmp: Path, remote_src: Path, size: int,
          reps: int, table: Table) -> None:
    from boto3.s3.transfer import TransferConfig

    stage = tmp / "stage"
    stage.mkdir()
    staged = stage / remote_src.name
    config = TransferConfig()  # boto3's defaults: 8 MiB threshold and parts, 10 at once
    steps: dict[str, list[tuple[float, float]]] = {"boto3": [], "aws": []}

    def two_step(name: str) -> float:
        t0 = time.perf_counter()
        ossh.sftp(f'get "{remote_src}" "{staged}"')
        t1 = time.perf_counter()
        key = f"two-step-{name}/{remote_src.name}"
        if name == "boto3":
            plain.upload_file(str(staged), BUCKET, key, Config=config)
        else:
            aws("s3", "cp", str(staged), f"s3://{BUCKET}/{key}")
        t2 = time.perf_counter()
        steps[name].append((t1 - t0, t2 - t1))
        return t2 - t0

    etags: dict[str, str] = {}

    def after(name: str, _r: int) -> None:
        key = {"ours": "ours/"}.get(name, f"two-step-{name}/") + remote_src.name
        head = plain.head_object(Bucket=BUCKET, Key=key)
        if head["ContentLength"] != size:
            raise RuntimeError(f"{name}: the object has {head['ContentLength']} bytes")
        etags[name] = head["ETag"]
        plain.delete_object(Bucket=BUCKET, Key=key)  # moto keeps objects in memory
        clear(staged)

    sides = {"ours": lambda: ours.copy(ours.at(remote_src, vo=True), ours.s3("ours/")),
             "boto3": lambda: two_step("boto3")}
    if aws is not None:
        sides["aws"] = lambda: two_step("aws")
    times = rounds(sides, reps, after=after)
    same = len(set(etags.values())) == 1
    print(f"[s3] {size // MiB} MiB sftp → s3: ours {runs(times['ours'])}; sftp get + boto3 upload_file "
          f"{runs(times['boto3'])} (get / upload: "
          f"{', '.join(f'{a:.2f}/{b:.2f}' for a, b in steps['boto3'])})"
          + (f"; sftp get + aws s3 cp {runs(times['aws'])} (get / cp: "
             f"{', '.join(f'{a:.2f}/{b:.2f}' for a, b in steps['aws'])})" if aws is not None else "")
          + f"; ETags {'all equal' if same else 'DIFFER'}: {sorted(set(etags.values()))}", flush=True)

    o = med(times["ours"])
    for name, shown in (("boto3", "sftp get + boto3 upload_file"), ("aws", "sftp get + aws s3 cp")):
        if name not in times:
            continue
        b = med(times[name])
        table.add(f"{size // MiB} MiB server → S3, vs {shown}", f"{mibs(size, o):.0f} MiB/s ({o:.2f} s)",
                  f"{mibs(size, b):.0f} MiB/s ({b:.2f} s)", f"{b / o:.2f}×", f"≥ {TARGET_S3}×",
                  b / o >= TARGET_S3 and same)


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=200, help="MiB of the big file (default 200)")
    ap.add_argument("--small", type=int, default=1000, help="small files in the folder (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3; medians printed)")
    ap.add_argument("--skip-s3", action="store_true", help="leave out the server → S3 measurement (3)")
    args = ap.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.WARNING)
    size, n, reps = args.size_mb * MiB, args.small, args.repeat
    tmp = Path(tempfile.mkdtemp(prefix="bench-sftp-"))
    server = moto = ours = None
    table = Table()
    t_start = time.perf_counter()
    try:
        import paramiko

        server = start_sshd(tmp / "sshd")
        ossh = OpenSSH(server, tmp)
        version = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr.strip()
        print(f"bench_sftp: Python {sys.version.split()[0]}, paramiko {paramiko.__version__}, {version}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
        print(f"[setup] sshd (internal-sftp) on {server.host}:{server.port} as {server.user}, pid {server.proc.pid}",
              flush=True)

        aws = None
        plain = None
        if not args.skip_s3:
            import boto3
            import moto as moto_pkg

            moto = MotoProcess(tmp / "moto.log")
            plain = plain_s3(moto.url)
            plain.create_bucket(Bucket=BUCKET)
            exe = find_aws()
            aws = AwsCli(exe, moto.url, tmp) if exe else None
            print(f"[setup] moto {moto_pkg.__version__} ThreadedMotoServer in its own process (pid {moto.proc.pid}) "
                  f"at {moto.url}; boto3 {boto3.__version__}; "
                  f"{aws.version if aws else 'aws-cli not installed: its row left out'}", flush=True)

        # the files ------------------------------------------------------------------------------
        src = tmp / "src" / "big.bin"
        src.parent.mkdir()
        write_random(src, size)
        remote = tmp / "remote"
        remote.mkdir()
        remote_src = remote / "big.bin"
        shutil.copyfile(src, remote_src)
        small = tmp / "small" / "folder"
        small.mkdir(parents=True)
        rnd = random.Random(12)
        total = 0
        for i in range(n):
            k = rnd.randint(1024, 8 * 1024)
            total += k
            (small / f"file-{i:05d}.dat").write_bytes(os.urandom(k))
        remote_small = remote / "small" / "folder"
        shutil.copytree(small, remote_small)
        print(f"[setup] {size // MiB} MiB file, {n} files of 1–8 KiB ({total / 1024:.0f} KiB) in {tmp}", flush=True)

        # our side, warm ---------------------------------------------------------------------------
        ours = Ours(server, tmp / "ours", None if moto is None else moto.url)
        spy = ExecSpy(ours)
        warm = tmp / "warm"
        warm.mkdir()
        write_random(warm / "w.bin", MiB)
        (remote / "warm").mkdir()
        ours.copy(ours.local(warm / "w.bin"), ours.at(remote / "warm", folder=True))
        (tmp / "warm-back").mkdir()
        ours.copy(ours.at(remote / "warm" / "w.bin"), ours.local(tmp / "warm-back", folder=True))
        if ours.vo_root is not None:
            ours.scheme.stat(ours.at(remote, folder=True, vo=True))  # the VO's connection made too
        t0 = time.perf_counter()
        remote_sum = ours.scheme.remote_sha256(ours.at(remote_src), size)
        sum_s = time.perf_counter() - t0
        spy.take()
        has = remote_sum is not None
        print(f"[setup] the server has sha256sum: {'yes' if has else 'NO'}"
              + (f" (the scheme checks every file there: {size // MiB} MiB took {sum_s:.2f} s; "
                 f"checksum {'equals' if remote_sum == sha256_of(src) else 'DIFFERS from'} the local one)"
                 if has else " (the scheme checks sizes only)"), flush=True)
        if has:  # the floor of every per-file check: one command on an exec channel, nothing else running
            lat = []
            for _ in range(7):
                t0 = time.perf_counter()
                ours.connections()[0].exec("true", 30)
                lat.append(time.perf_counter() - t0)
            spy.take()
            print(f"[setup] one command on the server (`true` on an exec channel of our connection, one at a "
                  f"time): {med(lat) * 1000:.0f} ms median of 7 — the login shell's start-up included "
                  f"(sshd runs `$SHELL -c`; bash reads ~/.bashrc there)", flush=True)
            one = next(iter(remote_small.iterdir()))
            lat = []
            for _ in range(7):
                t0 = time.perf_counter()
                ours.scheme.remote_sha256(ours.at(one), one.stat().st_size)
                lat.append(time.perf_counter() - t0)
            sums = ours.connections()[0].sums
            print(f"[setup] one small file checked by the server's checksum process (one at a time): "
                  f"{med(lat) * 1000:.1f} ms median of 7 (mode {sums.mode}; its tools: sha256sum "
                  f"{sums.helper.sha256sum if sums.helper else '?'}, openssl "
                  f"{sums.helper.openssl if sums.helper else '?'})", flush=True)
            spy.take()
        ossh.fixed = min(ossh.sftp() for _ in range(3))
        print(f"[setup] ciphers: ours (paramiko) {ours.cipher()}; OpenSSH {ossh.cipher()}", flush=True)
        print(f"[setup] OpenSSH's fixed cost per command (connect, login, start sftp; an empty "
              f"sftp -b batch, best of 3): {ossh.fixed:.2f} s", flush=True)

        sections = [
            ("1. big file", lambda: big_file(ours, ossh, tmp, src, remote_src, size, reps, spy, table)),
            ("2. small files", lambda: small_files(ours, ossh, tmp, small, remote_small, n, total, reps, spy, table)),
        ]
        if moto is not None:
            sections.append(("3. server → S3", lambda: to_s3(ours, ossh, plain, aws, tmp, remote_src, size, reps,
                                                             table)))
        for name, fn in sections:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - a report: the other sections still run
                import traceback

                traceback.print_exc()
                table.error(name, exc)
        table.add("the server has sha256sum (checked per file)", "yes" if has else "no", "—", "—", "—", None)
    except Exception as exc:  # noqa: BLE001 - a report, not a gate: print what we have
        import traceback

        traceback.print_exc()
        print(f"\nbench_sftp: stopped early: {exc}", file=sys.stderr)
    finally:
        if ours is not None:
            ours.close()
        if moto is not None:
            moto.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n(whole run {time.perf_counter() - t_start:.0f} s; medians of {reps} runs)\n")
    if table.rows:
        table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
