"""Run command… through the core's action runner on the demo sandbox (moto over HTTP, its loopback
SSH endpoint): each instance's login target made as SSH login makes it, the job submitted to
``Workbench.jobs``; a local script copied over and run; what is asked checked before anything runs."""

from __future__ import annotations

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.paths import AppPaths
from gridclient.secrets import MemoryKeyring, SecretStore
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws.run_command import script_problem, what_to_run

pytest.importorskip("moto.server")


@pytest.fixture
def demo(demo_sandbox, tmp_path):
    demo_sandbox.reseed()
    wb = Workbench(AppPaths.under(tmp_path / "ws"), secrets=SecretStore(MemoryKeyring()))
    demo_sandbox.prepare(wb)
    vo = wb.workspace.vo_by_name("Demo")
    computing = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)
    instances = {e.label: e for e in wb.children(vo, computing) if e.kind == K.INSTANCE}
    yield wb, vo, instances
    wb.close()


def test_a_command_on_two_running_instances_is_a_job_with_a_host_each(demo):
    wb, vo, instances = demo
    said = ScriptedInteraction(ask_answers=[{"source": "a command", "command": "echo $USER-ok; exit 4"}])
    outcome = wb.actions.run("aws.ec2.run", [instances["web-1"], instances["web-2"]], vo, said, timeout=60)
    assert outcome.state == "done", outcome.message
    assert outcome.message == "Running “echo $USER-ok; exit 4” on web-1, web-2: see Operations → Jobs."
    job = wb.jobs.jobs[-1]
    assert job.wait(30)
    assert [(h.label, h.state, h.exit_status, h.error) for h in job.hosts] == [
        ("web-1", "failed", 4, "Exited with status 4."), ("web-2", "failed", 4, "Exited with status 4.")]
    assert all(h.stdout.text().endswith("-ok\n") and h.where.startswith("ubuntu@127.0.0.1:") for h in job.hosts)


def test_a_local_script_is_sent_run_by_its_shebang_and_removed(demo, tmp_path):
    wb, vo, instances = demo
    script = tmp_path / "report.py"
    script.write_text("#!/usr/bin/env python3\nimport sys\nprint('from python', sys.argv[0])\n")
    said = ScriptedInteraction(ask_answers=[{"source": "a local script", "command": "", "script": str(script)}])
    outcome = wb.actions.run("aws.ec2.run", [instances["web-1"]], vo, said, timeout=60)
    assert outcome.state == "done" and "the script report.py" in outcome.message
    job = wb.jobs.jobs[-1]
    assert job.wait(30) and job.state == "done", job.hosts[0].error
    words = job.hosts[0].stdout.text().split()
    assert words[:2] == ["from", "python"]
    from pathlib import Path

    assert not Path(words[2]).exists()


def test_a_stopped_instance_is_refused_and_what_to_run_is_checked(demo, tmp_path):
    wb, vo, instances = demo
    outcome = wb.actions.run("aws.ec2.run", [instances["batch-worker"]], vo, ScriptedInteraction(), timeout=60)
    assert outcome.state == "refused" and "running" in outcome.message
    said = ScriptedInteraction(ask_answers=[{"source": "a local script", "script": str(tmp_path / "nope.sh")}])
    outcome = wb.actions.run("aws.ec2.run", [instances["web-1"]], vo, said, timeout=60)
    assert outcome.state == "failed" and outcome.message.endswith("nope.sh: no such file.")
    assert wb._jobs is None or wb.jobs.jobs == []  # nothing ran
    with pytest.raises(ValueError, match="not both"):
        what_to_run({"command": "ls", "script": str(tmp_path)})  # from the console: neither chosen
    with pytest.raises(ValueError, match="Give a command"):
        what_to_run({"source": "a command", "command": "  "})
    assert script_problem(str(tmp_path)) == "not a file."
