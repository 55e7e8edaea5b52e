"""``gridclient vm run`` as a real process (PySide6 blocked) against moto and a real OpenSSH sshd:
a command on two instances in parallel, each host's output prefixed, the exit status from the
hosts, a local script, and an unknown host key refused without a terminal even with --yes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gridclient.paths import AppPaths
from gridclient.ssh import KnownHosts
from tests.cli.test_subprocess import gridclient, interrupted
from tests.cli.test_vm_ssh import env, prepare


def second_instance(boto, iid: str) -> str:
    ec2 = boto("ec2")
    image = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName="sshd-key")["Instances"][0]["InstanceId"]


def test_vm_run_on_two_instances_and_a_script(tmp_path, moto, boto, sshd_factory):
    server = sshd_factory()
    ws, first = prepare(tmp_path, moto, boto, server)
    second = second_instance(boto, first)

    # a host not known yet: refused without a terminal, --yes or not; nothing ran
    marker = Path.home() / f".gridclient-test-ran-{tmp_path.name}"
    refused = gridclient(ws, "vm", "run", first, "-c", f"touch '{marker}'", "--yes")
    assert refused.returncode == 1, refused.stderr
    assert "was not accepted" in refused.stderr and server.host_fingerprint() in refused.stderr
    assert not marker.exists()

    KnownHosts(AppPaths.under(ws).known_hosts, user_file=None).add(server.host, server.port, server.host_pkey())
    ran = gridclient(ws, "vm", "run", first, second, "-c", "echo out-$((6*7)); echo err >&2; exit 0")
    assert ran.returncode == 0, ran.stderr
    out = sorted(ran.stdout.splitlines())
    assert len(out) == 2 and all(line.endswith("] out-42") for line in out)
    assert ran.stderr.count("] err") == 2 and ran.stderr.count("] done, exit 0") == 2

    # one host: its output bare, its exit status passed through
    failed = gridclient(ws, "vm", "run", first, "-c", "echo nope; exit 7")
    assert failed.returncode == 7 and failed.stdout == "nope\n"

    script = tmp_path / "probe.py"
    script.write_text("#!/usr/bin/env python3\nimport sys\nprint('python', sys.version_info[0])\n")
    as_json = gridclient(ws, "vm", "run", first, "--script", str(script), "--json")
    assert as_json.returncode == 0, as_json.stderr
    [host] = json.loads(as_json.stdout)
    assert host["state"] == "done" and host["exit_status"] == 0 and host["stdout"] == "python 3\n"

    # the jobs are the window's: kept in the workspace's history
    history = json.loads((AppPaths.under(ws).config / "jobs.json").read_text())
    assert len(history["jobs"] if isinstance(history, dict) else history) >= 3
    assert gridclient(ws, "vm", "run", first).returncode == 2  # neither a command nor a script


def spans(ran) -> list[tuple[int, int]]:
    """Each host's (start, end) in ns, as its command printed them, earliest first."""
    assert ran.returncode == 0, ran.stderr
    return sorted(tuple(int(t) for t in h["stdout"].split()) for h in json.loads(ran.stdout))


def test_vm_run_runs_hosts_at_once_and_parallel_bounds_them(tmp_path, moto, boto, sshd_factory):
    server = sshd_factory()
    ws, first = prepare(tmp_path, moto, boto, server)
    second = second_instance(boto, first)
    KnownHosts(AppPaths.under(ws).known_hosts, user_file=None).add(server.host, server.port, server.host_pkey())

    at_once = spans(gridclient(ws, "vm", "run", first, second, "-c", "date +%s%N; sleep 3; date +%s%N", "--json"))
    assert at_once[1][0] < at_once[0][1]  # the second began before the first ended

    one_by_one = spans(gridclient(ws, "vm", "run", first, second, "-c", "date +%s%N; sleep 0.2; date +%s%N",
                                  "--parallel", "1", "--json"))
    assert one_by_one[1][0] >= one_by_one[0][1]
    assert gridclient(ws, "vm", "run", first, "-c", "true", "--parallel", "0").returncode == 2


def test_vm_run_takes_the_command_after_dashes_and_ctrl_c_cancels_it_with_130(tmp_path, moto, boto, sshd_factory):
    server = sshd_factory()
    ws, first = prepare(tmp_path, moto, boto, server)
    KnownHosts(AppPaths.under(ws).known_hosts, user_file=None).add(server.host, server.port, server.host_pkey())
    words = gridclient(ws, "vm", "run", first, "--", "echo", "one", "two")
    assert words.returncode == 0 and words.stdout == "one two\n", words.stderr
    assert gridclient(ws, "vm", "run", first, "-c", "true", "--", "echo").returncode == 2  # not both

    marker = Path.home() / f".gridclient-test-ended-{tmp_path.name}"

    def started(proc) -> None:
        assert proc.stdout.readline() == "started\n"

    code, _out, err = interrupted(ws, ("vm", "run", first, "-c", f"echo started; sleep 3; touch '{marker}'"),
                                  started, env())
    assert code == 130, err
    assert "Cancelling" in err and "Traceback" not in err
    time.sleep(4)
    assert not marker.exists()  # the remote command was stopped, not left to finish
