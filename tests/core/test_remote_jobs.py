"""Jobs over SSH (gridclient/remote_jobs.py, remote_run.py) against a real OpenSSH sshd on loopback:
the terminal's SSH code, output streamed per host, the remote process really signalled on cancel,
the host-key policy, and the history in the workspace folder."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.remote_jobs import RemoteJobs
from gridclient.ssh import KnownHosts

GUARD = 30  # upper bound on waiting for the server; never a speed assertion


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No ssh-agent and an empty ~/.ssh: only the keys a test names are offered."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture
def jobs(tmp_path, sshd_known_hosts):
    q = RemoteJobs(tmp_path / "jobs.json", sshd_known_hosts)
    yield q
    q.shutdown()


def pgrep(pattern: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return out.split()


def wait_until(cond, timeout: float = GUARD) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_job_on_two_hosts_where_one_fails_keeps_their_states_statuses_and_streams_apart(jobs, sshd):
    job = jobs.submit([("web-1", sshd.target()), ("web-2", sshd.target())],
                      'cat; echo "out on $(hostname)"; echo "err line" >&2')  # cat: stdin is at its end
    bad = jobs.submit([("web-1", sshd.target()), ("web-2", sshd.target())],
                      "echo before; echo oops >&2; exit 3")
    assert job.wait(GUARD) and bad.wait(GUARD)
    host = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    for h in job.hosts:
        assert (h.state, h.exit_status, h.error) == ("done", 0, "")
        assert h.stdout.text() == f"out on {host}\n"  # the pid line was taken out
        assert h.stderr.text() == "err line\n"
        assert h.pid and h.pid > 1
    assert job.state == "done"
    assert [(h.state, h.exit_status) for h in bad.hosts] == [("failed", 3), ("failed", 3)]
    assert bad.hosts[0].error == "Exited with status 3."
    assert bad.hosts[0].stdout.text() == "before\n" and bad.hosts[0].stderr.text() == "oops\n"
    assert bad.state == "failed"


def test_exit_3_on_one_host_and_done_on_the_other(jobs, sshd, tmp_path):
    flag = tmp_path / f"fail-{uuid.uuid4().hex}"
    flag.write_text("")
    # the first host to take the flag fails with 3; the other finds it gone and succeeds
    job = jobs.submit([("a", sshd.target()), ("b", sshd.target())],
                      f'if rm "{flag}" 2>/dev/null; then echo failing >&2; exit 3; fi; echo "fine"')
    assert job.wait(GUARD)
    states = sorted((h.state, h.exit_status, h.stdout.text(), h.stderr.text()) for h in job.hosts)
    assert states == [("done", 0, "fine\n", ""), ("failed", 3, "", "failing\n")]
    assert job.state == "failed" and job.count("done") == 1


def test_output_is_streamed_to_listeners_before_the_command_ends(jobs, sshd, tmp_path):
    go = tmp_path / "go"
    seen: list[tuple[str, str, str]] = []
    jobs.on_change(lambda job: [seen.append((h.state, h.stdout.text(), h.stderr.text())) for h in job.hosts])
    job = jobs.submit([sshd.target()], f'echo first; echo warn >&2; while [ ! -e "{go}" ]; do sleep 0.1; done; '
                                       'echo second')
    wait_until(lambda: any(s == "running" and "first" in o and "warn" in e for s, o, e in seen))
    assert not job.ended and job.hosts[0].stdout.text() == "first\n"
    go.write_text("")
    assert job.wait(GUARD)
    assert job.hosts[0].stdout.text() == "first\nsecond\n" and job.hosts[0].stderr.text() == "warn\n"
    wait_until(lambda: seen and seen[-1][0] == "done")


def test_a_local_script_with_a_shebang_runs_and_leaves_no_file(jobs, sshd, tmp_path):
    script = tmp_path / "job.py"
    script.write_bytes(b"#!/usr/bin/env python3\nimport os, sys\nprint('python says', 6 * 7)\n"
                       b"print(sys.argv[0], file=sys.stderr)\nprint(oct(os.stat(sys.argv[0]).st_mode & 0o777))\n"
                       b"sys.exit(5)\n")
    job = jobs.submit([sshd.target()], script=script.read_bytes(), script_name=script.name)
    assert job.wait(GUARD)
    host = job.hosts[0]
    assert host.stdout.text().splitlines() == ["python says 42", "0o700"]
    assert (host.state, host.exit_status) == ("failed", 5)
    remote_file = host.stderr.text().strip()
    assert remote_file.startswith("/") and "tmp" in remote_file
    from pathlib import Path

    assert not Path(remote_file).exists()  # the sshd runs here: its /tmp is ours
    assert job.title == "Script job.py"


def test_cancel_signals_the_remote_process_group(jobs, sshd):
    marker = f"sleep {3000 + uuid.uuid4().int % 5000}"
    job = jobs.submit([sshd.target(), sshd.target()], f"{marker}; echo never")
    wait_until(lambda: all(h.state == "running" and h.pid for h in job.hosts))
    wait_until(lambda: len(pgrep(marker)) >= 2)
    job.hosts[0].cancel()
    wait_until(lambda: job.hosts[0].ended)
    assert job.hosts[0].state == "cancelled" and "SIGTERM" in job.hosts[0].error
    assert job.hosts[1].state == "running"
    job.cancel()
    assert job.wait(GUARD)
    wait_until(lambda: pgrep(marker) == [], timeout=10)  # gone from the server, not just hung up on
    assert job.state == "cancelled" and "never" not in job.hosts[1].stdout.text()


def test_cancel_of_a_script_removes_its_file(jobs, sshd, tmp_path):
    marker = f"sleep {3000 + uuid.uuid4().int % 5000}"
    job = jobs.submit([sshd.target()], script=f'#!/bin/sh\necho "$0"\n{marker}\n'.encode(), script_name="s.sh")
    wait_until(lambda: job.hosts[0].stdout.text().strip() and pgrep(marker))
    remote_file = job.hosts[0].stdout.text().strip()
    from pathlib import Path

    assert Path(remote_file).exists()
    job.cancel()
    assert job.wait(GUARD)
    wait_until(lambda: not pgrep(marker) and not Path(remote_file).exists(), timeout=10)


def test_an_unknown_host_key_is_asked_once_and_a_changed_one_refused(tmp_path, sshd_factory):
    server = sshd_factory()
    known = KnownHosts(tmp_path / "kh", user_file=None)
    q = RemoteJobs(tmp_path / "jobs.json", known)
    try:
        said = ScriptedInteraction(confirm_answers=[False])
        job = q.submit([server.target(), server.target()], "echo hi", interaction=said)
        assert job.wait(GUARD)
        assert [h.state for h in job.hosts] == ["failed", "failed"]
        assert "was not accepted" in job.hosts[0].error
        asked = [e for e in said.log if e[0] == "confirm"]
        assert len(asked) == 1 and server.host_fingerprint() in asked[0][2]  # one question for both

        said = ScriptedInteraction(confirm_answers=[True])
        job = q.submit([server.target(), server.target()], "echo hi", interaction=said)
        assert job.wait(GUARD) and job.state == "done"
        assert [h.stdout.text() for h in job.hosts] == ["hi\n", "hi\n"]
        assert known.check(server.host, server.port, server.host_pkey()) == "known"

        server.restart(new_host_key=True)
        said = ScriptedInteraction(default_confirm=True)
        job = q.submit([server.target()], "echo hi", interaction=said)
        assert job.wait(GUARD)
        assert job.hosts[0].state == "failed" and "has changed" in job.hosts[0].error
        assert not [e for e in said.log if e[0] == "confirm"]  # refused, not asked
        assert job.hosts[0].stdout.text() == ""
    finally:
        q.shutdown()


def test_hosts_run_in_parallel_but_bounded(tmp_path, sshd, sshd_known_hosts):
    q = RemoteJobs(tmp_path / "jobs.json", sshd_known_hosts, parallel=2)
    running: list[int] = []
    lock = threading.Lock()

    def count(job):
        with lock:
            running.append(job.count("connecting", "running"))

    q.on_change(count)
    try:
        job = q.submit([sshd.target() for _ in range(5)], "sleep 0.5; echo x")
        assert job.wait(GUARD) and job.state == "done"
        assert max(running) == 2
    finally:
        q.shutdown()


def test_a_host_without_a_target_is_failed_with_its_reason(jobs, sshd):
    job = jobs.submit([("web-1", sshd.target()), ("db", "db has no IP address (state: stopped).")], "echo ok")
    assert job.wait(GUARD)
    assert [(h.label, h.state) for h in job.hosts] == [("web-1", "done"), ("db", "failed")]
    assert job.hosts[1].error.startswith("db has no IP address")


def test_history_survives_a_restart_and_a_damaged_file_is_set_aside(tmp_path, sshd, sshd_known_hosts):
    file = tmp_path / "ws" / "jobs.json"
    q = RemoteJobs(file, sshd_known_hosts)
    job = q.submit([("web-1", sshd.target())], "echo kept; echo said >&2; exit 2")
    marker = f"sleep {3000 + uuid.uuid4().int % 5000}"
    long = q.submit([("web-2", sshd.target())], marker)
    assert job.wait(GUARD)
    wait_until(lambda: long.hosts[0].pid)
    q.shutdown()  # the app quits while one runs
    assert long.wait(GUARD)
    wait_until(lambda: not pgrep(marker), timeout=10)
    assert oct(file.stat().st_mode & 0o777) == "0o600"

    again = RemoteJobs(file, sshd_known_hosts)
    assert again.problems == []
    back = {j.id: j for j in again.jobs}
    h = back[job.id].hosts[0]
    assert (back[job.id].title, h.label, h.state, h.exit_status, h.error) == (
        "echo kept; echo said >&2; exit 2", "web-1", "failed", 2, "Exited with status 2.")
    assert h.stdout.text() == "kept\n" and h.stderr.text() == "said\n"
    assert back[long.id].hosts[0].state == "cancelled"
    assert again.remove(back[job.id])
    assert [j.id for j in RemoteJobs(file, sshd_known_hosts).jobs] == [long.id]

    file.write_text('{"jobs": [{"title": "no id"}')  # cut short
    damaged = RemoteJobs(file, sshd_known_hosts)
    assert damaged.jobs == [] and "could not be read" in damaged.problems[0]
    aside = list(file.parent.glob("jobs.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"jobs": [{"title": "no id"}'
    assert not file.exists()
    fresh = damaged.submit([sshd.target()], "echo again")
    assert fresh.wait(GUARD)
    damaged.shutdown()
    assert [j["title"] for j in json.loads(file.read_text())["jobs"]] == ["echo again"]


def test_outputs_are_kept_bounded(tmp_path, sshd, sshd_known_hosts, monkeypatch):
    import gridclient.remote_jobs as rj

    monkeypatch.setattr(rj, "SAVED_BYTES", 1000)
    q = RemoteJobs(tmp_path / "jobs.json", sshd_known_hosts)
    job = q.submit([sshd.target()], "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo end")
    assert job.wait(GUARD)
    out = job.hosts[0].stdout
    assert out.total == 3_000_005 and len(out.data()) == rj.KEEP_BYTES and out.text().endswith("a\nend\n")
    q.shutdown()
    saved = json.loads((tmp_path / "jobs.json").read_text())["jobs"][0]["hosts"][0]
    assert len(saved["stdout"]) == 1000 and saved["stdout_total"] == 3_000_005
