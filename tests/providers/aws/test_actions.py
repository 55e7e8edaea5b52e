"""providers.aws.actions: the instance lifecycle handlers against a real moto server over HTTP.

Each handler is handed an ``ActionContext`` as the app builds it; the test then asks moto
(DescribeInstances, through its own client) what became of the instances, and reads the message
the handler returns for the status bar. No Qt.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.workspace import VirtualOrganization
from providers.aws.actions import reboot_instances, start_instances, stop_instances, terminate_instances
from providers.aws.token import AwsToken

try:
    from gridclient.actions import ActionContext
except ImportError:
    from gridclient.session import ActionContext
try:  # an id the cloud no longer knows is told as "gone" where the core has the notion
    from gridclient.actions import ElementGone
except ImportError:
    ElementGone = None

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog


@pytest.fixture
def vo(moto):
    return VirtualOrganization(name="T", type="aws", settings={
        "region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": moto})


@pytest.fixture
def token(vo):
    return AwsToken(vo, {"secret_access_key": "x"})


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def launch(ec2, *names: str) -> list[str]:
    """One running instance per name, each with its Name tag; returns their ids in order."""
    ids = []
    for name in names:
        run = ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": name}]}])
        ids.append(run["Instances"][0]["InstanceId"])
    return ids


def states(ec2, ids: list[str]) -> dict[str, str]:
    out = {}
    for res in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for inst in res["Instances"]:
            out[inst["InstanceId"]] = inst["State"]["Name"]
    return out


def context(vo, token, app_paths, ids: list[str], labels: list[str], state: str) -> ActionContext:
    elements = [Element("aws.ec2.instance", iid, label, state=state) for iid, label in zip(ids, labels)]
    return ActionContext(elements=elements, vo=vo, token=token, interaction=ScriptedInteraction(),
                         paths=app_paths)


def test_start_a_stopped_instance(ec2, vo, token, app_paths):
    ids = launch(ec2, "web-1")
    other = launch(ec2, "bystander")
    ec2.stop_instances(InstanceIds=ids + other)
    assert states(ec2, ids) == {ids[0]: "stopped"}

    ctx = context(vo, token, app_paths, ids, ["web-1"], "stopped")
    message = start_instances(ctx)

    assert states(ec2, ids) == {ids[0]: "running"}
    assert states(ec2, other) == {other[0]: "stopped"}  # only the selected instance
    assert message == "Starting web-1."
    assert ctx.interaction.log == []  # nothing asked or told: the app confirms before, if at all


def test_stop_a_running_instance(ec2, vo, token, app_paths):
    ids = launch(ec2, "web-1")
    other = launch(ec2, "bystander")

    message = stop_instances(context(vo, token, app_paths, ids, ["web-1"], "running"))

    assert states(ec2, ids) == {ids[0]: "stopped"}  # moto stops at once
    assert states(ec2, other) == {other[0]: "running"}
    assert message == "Stopping web-1."


def test_reboot_a_running_instance(ec2, vo, token, app_paths):
    ids = launch(ec2, "web-1")

    message = reboot_instances(context(vo, token, app_paths, ids, ["web-1"], "running"))

    assert states(ec2, ids) == {ids[0]: "running"}  # a reboot comes back running
    assert message == "Rebooting web-1."


def test_an_instance_removed_outside_the_app_is_told_not_hidden(ec2, vo, token, app_paths):
    """The handler sends the call for real: an id the cloud does not know is an error naming the
    instance, never a cheerful "Rebooting …" message."""
    ghost = "i-0123456789abcdef0"
    ctx = context(vo, token, app_paths, [ghost], ["ghost"], "running")
    if ElementGone is None:
        with pytest.raises(ClientError) as err:
            reboot_instances(ctx)
        assert err.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
        assert ghost in str(err.value)
        return
    with pytest.raises(ElementGone) as err:
        reboot_instances(ctx)
    assert "“ghost”" in str(err.value) and ghost in str(err.value)
    assert "no longer exists" in str(err.value)
    assert isinstance(err.value.__cause__, ClientError)


def test_one_missing_instance_among_several_is_told(ec2, vo, token, app_paths):
    ids = launch(ec2, "real-1")
    ghost = "i-0123456789abcdef0"
    ctx = context(vo, token, app_paths, [ids[0], ghost], ["real-1", "ghost"], "running")
    with pytest.raises(ElementGone or ClientError) as err:
        stop_instances(ctx)
    if ElementGone is not None:
        assert "real-1, ghost" in str(err.value) and "no longer exist" in str(err.value)
    assert "InvalidInstanceID.NotFound" in str(err.value)


def test_terminate_an_instance(ec2, vo, token, app_paths):
    ids = launch(ec2, "old-worker")
    stopped = launch(ec2, "kept")
    ec2.stop_instances(InstanceIds=stopped)

    message = terminate_instances(context(vo, token, app_paths, ids, ["old-worker"], "running"))

    assert states(ec2, ids) == {ids[0]: "terminated"}
    assert states(ec2, stopped) == {stopped[0]: "stopped"}
    assert message == "Terminating old-worker."


def test_terminate_a_stopped_instance(ec2, vo, token, app_paths):
    ids = launch(ec2, "parked")
    ec2.stop_instances(InstanceIds=ids)

    message = terminate_instances(context(vo, token, app_paths, ids, ["parked"], "stopped"))

    assert states(ec2, ids) == {ids[0]: "terminated"}
    assert message == "Terminating parked."


def test_several_instances_in_one_call(ec2, vo, token, app_paths):
    """Selection "+": one handler call acts on every selected instance and names them all."""
    ids = launch(ec2, "a-1", "b-2", "c-3")
    outside = launch(ec2, "d-4")
    labels = ["a-1", "b-2", "c-3"]

    assert stop_instances(context(vo, token, app_paths, ids, labels, "running")) == "Stopping a-1, b-2, c-3."
    assert states(ec2, ids) == {i: "stopped" for i in ids}
    assert states(ec2, outside) == {outside[0]: "running"}

    assert start_instances(context(vo, token, app_paths, ids, labels, "stopped")) == "Starting a-1, b-2, c-3."
    assert states(ec2, ids) == {i: "running" for i in ids}

    assert reboot_instances(context(vo, token, app_paths, ids, labels, "running")) == "Rebooting a-1, b-2, c-3."
    assert states(ec2, ids) == {i: "running" for i in ids}

    two = ids[:2]
    assert terminate_instances(context(vo, token, app_paths, two, labels[:2], "running")) == \
        "Terminating a-1, b-2."
    assert states(ec2, ids) == {ids[0]: "terminated", ids[1]: "terminated", ids[2]: "running"}
    assert states(ec2, outside) == {outside[0]: "running"}


def test_label_without_name_tag_is_the_id(ec2, vo, token, app_paths):
    """The message names what the tree shows: for an instance without a Name tag, its id."""
    run = ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    iid = run["Instances"][0]["InstanceId"]

    message = stop_instances(context(vo, token, app_paths, [iid], [iid], "running"))

    assert message == f"Stopping {iid}."
    assert states(ec2, [iid]) == {iid: "stopped"}


def test_handlers_use_the_tokens_region(moto, boto, app_paths):
    """An instance in eu-west-1 is acted on through a VO set to eu-west-1, not us-east-1."""
    vo = VirtualOrganization(name="EU", type="aws", settings={
        "region": "eu-west-1", "credential_mode": "keys", "access_key_id": "AKIDTEST", "endpoint_url": moto})
    token = AwsToken(vo, {"secret_access_key": "x"})
    ec2_eu = boto("ec2", region="eu-west-1")
    run = ec2_eu.run_instances(ImageId=ec2_eu.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
                               InstanceType="t3.micro", MinCount=1, MaxCount=1)
    iid = run["Instances"][0]["InstanceId"]

    message = stop_instances(context(vo, token, app_paths, [iid], ["eu-box"], "running"))

    assert message == "Stopping eu-box."
    assert states(ec2_eu, [iid]) == {iid: "stopped"}
