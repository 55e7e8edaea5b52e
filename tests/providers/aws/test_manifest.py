"""The AWS provider as the app sees it: registered through its entry point, its actions chosen by
kind, count and state, and one of them run through the core's ActionRunner with Qt blocked."""

from __future__ import annotations

import json
import urllib.request

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.registry import COMMAND_DELETE, ExtensionRegistry
from gridclient.secrets import MemoryKeyring, SecretStore
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from tests.qt_free import run_without_qt


def test_builtin_aws_provider_comes_through_the_entry_point():
    reg = ExtensionRegistry().discover()
    rec = next(r for r in reg.providers if r.ok and r.manifest.id == "aws")
    assert rec.entry_point.startswith("aws = providers.aws:manifest")
    assert "aws" in reg.vo_types and "aws.ec2.terminate" in reg.actions
    assert [c.kind for c in reg.categories("aws")][:3] == [K.COMPUTING, K.SERVICES, K.STORAGE]
    # the demo is its own provider, not part of what a real AWS user runs
    assert "aws-moto" in reg.sandboxes and reg.sandboxes["aws-moto"].factory.startswith("providers.sandbox.")


def test_instance_actions_by_state_and_count():
    reg = ExtensionRegistry().discover()
    running = Element(K.INSTANCE, "i-1", "a", state="running")
    stopped = Element(K.INSTANCE, "i-2", "b", state="stopped")
    bucket = Element(K.BUCKET, "b", "b")
    ids = [a.id for a in reg.actions_for([running])]
    assert ids[0] == "aws.ec2.ssh"  # connect first, then the life cycle
    assert {"aws.ec2.stop", "aws.ec2.start", "aws.ec2.reboot", "aws.ec2.terminate"} <= set(ids)
    assert reg.actions["aws.ec2.stop"].enabled_for([running])
    assert not reg.actions["aws.ec2.stop"].enabled_for([stopped])
    assert not reg.actions["aws.ec2.ssh"].applies_to([running, running])  # selection "1"
    assert reg.actions["aws.ec2.terminate"].enabled_for([running, stopped])  # selection "+"
    assert reg.action_for_command(COMMAND_DELETE, [running, stopped]).id == "aws.ec2.terminate"
    assert not reg.actions_for([bucket, running])


def test_stop_through_the_runner_with_qt_blocked(boto, moto, tmp_path):
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    done = run_without_qt(f"""
        import json
        from gridclient.elements import Element
        from gridclient.interaction import ScriptedInteraction
        from gridclient.paths import AppPaths
        from gridclient.secrets import MemoryKeyring, SecretStore
        from gridclient.workbench import Workbench
        wb = Workbench(AppPaths.under({str(tmp_path)!r}), secrets=SecretStore(MemoryKeyring()))
        vo = wb.save_vo('Lab', 'aws', {{'region': 'us-east-1', 'access_key_id': 'AKID', 'secret_access_key': 'x',
                                        'endpoint_url': {moto!r}}})
        asked = ScriptedInteraction(confirm_answers=[True])
        listed = [e for e in wb.children(vo, Element('aws.computing', 'c', 'Computing', has_children=True))
                  if e.id == {iid!r}]
        outcome = wb.actions.run('aws.ec2.stop', listed, vo, asked, timeout=30)
        idle = wb.watcher.wait_idle(30)  # the state followed to "stopped" by the watcher's thread
        wb.close()
        print(json.dumps({{'state': outcome.state, 'message': outcome.message, 'refresh': outcome.refresh,
                          'watched': [e.id for e in outcome.watched], 'idle': idle,
                          'asked': asked.log, 'qt': 'PySide6' in sys.modules}}))
        """)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # no listing to reload: the rows follow the state (live state) instead
    assert out["state"] == "done" and out["refresh"] == "" and not out["qt"]
    assert out["watched"] == [iid] and out["idle"]
    assert out["message"] == f"Stopping {iid}."
    assert out["asked"][0][0] == "confirm" and iid in out["asked"][0][2]
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("stopping", "stopped")


def test_an_instance_removed_out_of_band_is_told_gone(boto, moto, app_paths):
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}])
    wb = Workbench(app_paths, secrets=SecretStore(MemoryKeyring()))
    try:
        vo = wb.save_vo("Lab", "aws", {"region": "us-east-1", "access_key_id": "AKID", "secret_access_key": "x",
                                       "endpoint_url": moto})
        listed = [e for e in wb.children(vo, Element(K.COMPUTING, "c", "Computing", has_children=True))
                  if e.kind == K.INSTANCE]  # not "All regions"
        # removed outside the app (moto emptied: the id names nothing now)
        urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST")).read()
        outcome = wb.actions.run("aws.ec2.stop", listed, vo, ScriptedInteraction(default_confirm=True), timeout=30)
    finally:
        wb.close()
    assert outcome.state == "gone" and outcome.refresh == "parent"
    assert outcome.message == (f"“web-1” ({listed[0].id}) no longer exists: it was removed outside this app. "
                               "The list it was in is reloaded.")
