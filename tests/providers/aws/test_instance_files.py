"""Browse files… on an instance: its home folder over SFTP as "Files" under it, through the core's
action runner, on the demo sandbox (moto over HTTP and its loopback SSH endpoint, which serves
SFTP confined to a throwaway folder). Files go from the instance to a bucket and back through the
transfer queue; after a restart the Files row lists again without asking anything."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gridclient.interaction import ScriptedInteraction
from gridclient.paths import AppPaths
from gridclient.secrets import MemoryKeyring, SecretStore
from gridclient.storage import location_of_element
from gridclient.storage.base import Location
from gridclient.workbench import Workbench
from providers.aws import kinds as K

pytest.importorskip("moto.server")


def _children(wb, vo, element):
    return wb.children(vo, element)


def _demo(tmp_path, sandbox):
    wb = Workbench(AppPaths.under(tmp_path / "ws"), secrets=SecretStore(MemoryKeyring()))
    sandbox.prepare(wb)
    vo = wb.workspace.vo_by_name("Demo")
    return wb, vo


def _running_instance(wb, vo):
    from gridclient.elements import Element

    computing = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)
    return next(e for e in _children(wb, vo, computing) if e.kind == K.INSTANCE and e.state == "running")


def test_browse_files_shows_the_home_folder_and_files_go_to_a_bucket_and_back(demo_sandbox, tmp_path):
    demo_sandbox.reseed()
    wb, vo = _demo(tmp_path, demo_sandbox)
    try:
        inst = _running_instance(wb, vo)
        asked = ScriptedInteraction(default_confirm=True)
        outcome = wb.actions.run("aws.ec2.files", [inst], vo, asked, timeout=60)
        assert outcome.state == "done", outcome.message
        assert "sftp://ubuntu@127.0.0.1:" in outcome.message and outcome.message.endswith("(expand “Files” under it).")
        assert wb.vo(vo.id).settings["instance_files"][inst.id]["ssh"]["user"] == "ubuntu"

        files = next(e for e in _children(wb, vo, inst) if e.kind == "sftp.root")
        assert files.label == "Files" and files.ref["uri"].endswith("/home/ubuntu/")
        home = {e.label: e for e in _children(wb, vo, files)}
        assert {"README.txt", "config.ini", "data"} <= set(home)
        assert home["data"].kind == "sftp.folder" and home["README.txt"].kind == "sftp.file"
        assert "-rw-" in home["README.txt"].detail
        assert [e.label for e in _children(wb, vo, home["data"])] == ["readings.csv"]

        # instance → bucket, through the transfer queue (what a drop of the row does)
        readme = location_of_element(home["README.txt"], vo.id)
        bucket = Location("s3", vo.id, "demo-datasets", "from-instance/")
        job = wb.transfers.submit("copy", [readme], bucket)
        assert wb.transfers.wait(job, 60) and job.state == "done", job.message
        s3 = demo_sandbox.client("s3")
        body = s3.get_object(Bucket="demo-datasets", Key="from-instance/README.txt")["Body"].read()
        on_disk = Path(demo_sandbox._ssh.files("ubuntu").real) / "home" / "ubuntu" / "README.txt"
        assert body == on_disk.read_bytes()

        # bucket → instance: into data/, byte for byte, no part file left
        s3.put_object(Bucket="demo-datasets", Key="results/run-7.csv", Body=b"t,value\n1,42\n" * 1000)
        target = location_of_element(home["data"], vo.id)
        job = wb.transfers.submit("copy", [Location("s3", vo.id, "demo-datasets", "results/run-7.csv")], target)
        assert wb.transfers.wait(job, 60) and job.state == "done", job.message
        landed = Path(demo_sandbox._ssh.files("ubuntu").real) / "home" / "ubuntu" / "data" / "run-7.csv"
        assert hashlib.sha256(landed.read_bytes()).hexdigest() == hashlib.sha256(b"t,value\n1,42\n" * 1000).hexdigest()
        assert sorted(e.label for e in _children(wb, vo, home["data"])) == ["readings.csv", "run-7.csv"]
    finally:
        wb.close()

    # a restart: the row is there, and lists again with what it keeps (no action, no question)
    again, vo = _demo(tmp_path, demo_sandbox)
    try:
        inst = _running_instance(again, vo)
        files = next(e for e in _children(again, vo, inst) if e.kind == "sftp.root")
        again.interaction = ScriptedInteraction()  # would refuse anything asked
        assert "README.txt" in {e.label for e in _children(again, vo, files)}
        assert again.interaction.log == []
    finally:
        again.close()


def test_an_unknown_host_key_refused_leaves_no_files_row(demo_sandbox, tmp_path):
    demo_sandbox.reseed()
    wb, vo = _demo(tmp_path, demo_sandbox)
    try:
        from gridclient.ssh import KnownHosts

        KnownHosts(wb.paths.known_hosts, user_file=None).forget(demo_sandbox.ssh_host, demo_sandbox.ssh_port)
        inst = _running_instance(wb, vo)
        asked = ScriptedInteraction(default_confirm=False)  # the person says no to the unknown key
        outcome = wb.actions.run("aws.ec2.files", [inst], vo, asked, timeout=60)
        assert outcome.state in ("failed", "cancelled"), outcome.message
        questions = [entry for entry in asked.log if entry[0] == "confirm"]
        assert questions and "SHA256:" in questions[0][2]  # asked with the fingerprint
        assert "instance_files" not in wb.vo(vo.id).settings
        assert not any(e.kind == "sftp.root" for e in _children(wb, vo, inst))
    finally:
        wb.close()
