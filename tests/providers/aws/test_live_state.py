"""Live state on the AWS provider, against the shared moto server over HTTP: after Stop, Start or
Terminate run through the core's ActionRunner, the workbench's StateWatcher reports each state the
instance goes through — with no listing reloaded.

moto moves an instance at once (StopInstances leaves it "stopped", never "stopping"). To follow a
state that lasts, as AWS's do, a test makes moto's Stop leave the instance "stopping" and moves it
on to "stopped" itself, in moto's own backend (the server runs in this process).
"""

from __future__ import annotations

import threading
import time

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.registry import ExtensionRegistry
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws import nodes

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog
COMPUTING = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)


class Heard:
    """Every StateChange the watcher tells, with a wait for one that fits."""

    def __init__(self):
        self.changes = []
        self._cond = threading.Condition()

    def __call__(self, change) -> None:
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    def states(self, iid: str) -> list[str]:
        return [e.state for c in self.changes for e in c.elements if e.id == iid]

    def wait_for(self, test, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        with self._cond:
            while not test():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not heard within {timeout} s: {self.changes}")
                self._cond.wait(left)


@pytest.fixture
def env(moto, app_paths, keyring_backend, monkeypatch):
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    vo = wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                   "secret_access_key": "x", "endpoint_url": moto})
    heard = Heard()
    wb.on_state_change(heard)
    wb.watcher.initial, wb.watcher.settle = 0.2, 1.0
    yield wb, vo, heard
    wb.close()


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def launch(ec2, name: str) -> str:
    return ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
                             )["Instances"][0]["InstanceId"]


def shown(wb, vo, iid: str) -> Element:
    """The instance as the tree shows it (Computing's listing)."""
    return next(e for e in wb.children(vo, COMPUTING) if e.id == iid)


def moto_instance(iid: str):
    from moto.ec2.models import ec2_backends

    for account in ec2_backends.values():
        for region, backend in account.items():
            if region == "us-east-1":
                try:
                    return backend.get_instance(iid)
                except Exception:  # noqa: BLE001 - another account's backend
                    continue
    raise LookupError(iid)


@pytest.fixture
def no_listing(monkeypatch):
    """Counts Computing's listings from here on: live state must need none."""
    calls = []
    real = nodes.load_computing

    def counted(token, parent):
        calls.append(parent.id)
        return real(token, parent)

    monkeypatch.setattr(nodes, "load_computing", counted)
    return calls


def test_the_state_source_makes_the_elements_computing_lists(env, ec2):
    wb, vo, _ = env
    a, b = launch(ec2, "a"), launch(ec2, "b")
    ec2.stop_instances(InstanceIds=[b])
    listed = {e.id: e for e in wb.children(vo, COMPUTING)}
    token = wb.tokens.token(vo)
    polled = {e.id: e for e in nodes.instance_states(token, [listed[a], listed[b]])}
    assert polled == {a: listed[a], b: listed[b]}  # equal, properties and all: no change is seen
    assert polled[b].state == "stopped" and polled[b].icon == "instance-stopped"
    # an id that no longer exists is left out, and does not fail the others
    ghost = Element(K.INSTANCE, "i-0123456789abcdef0", "ghost", state="running")
    assert [e.id for e in nodes.instance_states(token, [ghost, listed[a]])] == [a]


def test_stop_is_followed_running_stopping_stopped_without_a_refresh(env, ec2, monkeypatch, no_listing):
    from moto.ec2.models.instances import Instance

    wb, vo, heard = env
    iid = launch(ec2, "web-1")
    row = shown(wb, vo, iid)
    assert row.state == "running"
    no_listing.clear()
    real_stop = Instance.stop

    def stop_slowly(self):  # as AWS: "stopping" for a while
        previous = real_stop(self)
        self._state.name, self._state.code = "stopping", 64
        return previous

    monkeypatch.setattr(Instance, "stop", stop_slowly)
    outcome = wb.actions.run("aws.ec2.stop", [row], vo, ScriptedInteraction(default_confirm=True), timeout=60)
    assert outcome.state == "done" and outcome.refresh == "", outcome.message
    assert [e.id for e in outcome.watched] == [iid]
    heard.wait_for(lambda: heard.states(iid) == ["stopping"])
    stopping = next(e for c in heard.changes for e in c.elements if e.id == iid)
    assert stopping.icon == "instance-stopping" and "stopping" in stopping.detail
    assert stopping.properties["State.Name"] == "stopping"
    assert wb.watcher.following(vo.id) == {row.key}  # not stable: still followed
    polls = wb.watcher._pollers[(vo.id, "")].polls
    time.sleep(0.5)
    assert wb.watcher._pollers[(vo.id, "")].polls > polls  # and polled again
    inst = moto_instance(iid)
    inst._state.name, inst._state.code = "stopped", 80  # the instance gets there
    heard.wait_for(lambda: heard.states(iid) == ["stopping", "stopped"])
    assert wb.watcher.wait_idle(10) and wb.watcher.pollers() == []
    assert no_listing == []  # nothing was listed again: the watcher alone followed it
    assert not any(c.problem for c in heard.changes)


def test_start_and_terminate_of_several_follow_each_in_one_poller(env, ec2, no_listing):
    wb, vo, heard = env
    ids = [launch(ec2, f"n-{i}") for i in range(3)]
    ec2.stop_instances(InstanceIds=ids)
    rows = [shown(wb, vo, i) for i in ids]
    no_listing.clear()
    started = wb.actions.run("aws.ec2.start", rows, vo, ScriptedInteraction(), timeout=60)
    assert started.state == "done" and len(started.watched) == 3
    assert wb.watcher.pollers() in ([(vo.id, "")], [])  # one for the three (or done already)
    heard.wait_for(lambda: all(heard.states(i) == ["running"] for i in ids))
    assert wb.watcher.wait_idle(10)
    running = [next(e for c in heard.changes for e in c.elements if e.id == i) for i in ids]
    gone = wb.actions.run("aws.ec2.terminate", running, vo, ScriptedInteraction(default_confirm=True), timeout=60)
    assert gone.state == "done" and gone.refresh == "", gone.message
    heard.wait_for(lambda: all(heard.states(i)[-1:] == ["terminated"] for i in ids))
    assert wb.watcher.wait_idle(10)
    assert not any(c.gone for c in heard.changes)  # terminated instances are still listed, as such
    assert no_listing == []


def test_a_poll_that_fails_is_told_in_words_once_and_tried_again(env, ec2, monkeypatch):
    wb, vo, heard = env
    iid = launch(ec2, "flaky")
    row = shown(wb, vo, iid)
    ec2.stop_instances(InstanceIds=[iid])
    failures = [2]
    real = nodes.instance_states

    def flaky(token, elements):
        if failures[0]:
            failures[0] -= 1
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
        return real(token, elements)

    monkeypatch.setattr(nodes, "instance_states", flaky)
    wb.watcher.watch(vo, [row])
    heard.wait_for(lambda: heard.states(iid) == ["stopped"])
    problems = [c.problem for c in heard.changes if c.problem]
    # once, in the AWS provider's words (not botocore's "Could not connect to the endpoint URL")
    assert problems == ["Could not reach the endpoint http://127.0.0.1:9. Check the endpoint URL and your "
                        "network; if you are behind a proxy, set it in the VO. Change them in Edit → "
                        "Preferences → Edit."], problems
    assert failures == [0] and wb.watcher.wait_idle(10)
