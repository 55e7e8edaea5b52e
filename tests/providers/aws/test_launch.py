"""Launch instance… (providers/aws/launch.py) through the core's ActionRunner on a real Workbench
against the shared moto server over HTTP: what is asked, what is made, and what is refused.

What the launch made is checked with a separate boto3 client on moto; "my address" comes from a
real HTTP server on loopback standing in for checkip.amazonaws.com.
"""

from __future__ import annotations

import http.server
import os
import stat
import threading
from typing import Any

import pytest

from gridclient.elements import Element
from gridclient.interaction import Field, ScriptedInteraction
from gridclient.keys import key_path
from gridclient.registry import ExtensionRegistry, resolve
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws import launch as L
from providers.aws.nodes import image_element

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog (x86_64)
COMPUTING = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)
CATALOG = Element(K.CATALOG, "us-east-1/catalog", "Image catalog", has_children=True)


class Asked(ScriptedInteraction):
    """Answers each question with a function of its fields (or None: cancelled), keeps what was
    asked and what the review said."""

    def __init__(self, *answers, confirm: bool = True):
        super().__init__(default_confirm=confirm)
        self.answers = list(answers)
        self.fields: list[list[Field]] = []
        self.reviews: list[str] = []
        self.commands: list[str] = []

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        self.log.append(("ask", title, text))
        self.fields.append(list(fields))
        answer = self.answers.pop(0) if self.answers else None
        return answer(fields) if callable(answer) else answer

    def confirm(self, title: str, text: str, *, default: bool = False, command: str = "") -> bool:
        self.reviews.append(text)
        self.commands.append(command)
        return super().confirm(title, text, default=default, command=command)


class _Address(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"203.0.113.9\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def address_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Address)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture
def env(moto, app_paths, keyring_backend, address_url):
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    vo = wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                   "secret_access_key": "x", "endpoint_url": moto,
                                   "public_address_url": address_url})
    yield wb, vo
    wb.close()


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def amazon_image(ec2) -> Element:
    return image_element(ec2.describe_images(ImageIds=[AMAZON_IMAGE])["Images"][0])


def answers(**chosen):
    """The launch form answered: defaults, then ``chosen`` (a callable value gets the field)."""
    def answer(fields: list[Field]) -> dict[str, Any]:
        out = {f.name: f.default for f in fields}
        by_name = {f.name: f for f in fields}
        for k, v in chosen.items():
            out[k] = v(by_name[k]) if callable(v) else v
        return out
    return answer


def run(wb, vo, action_id: str, element: Element, interaction: Asked):
    outcome = wb.actions.run(action_id, [element], vo, interaction, timeout=120)
    assert outcome is not None
    return outcome


def instances(ec2) -> list[dict]:
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"]


def test_launch_from_an_image_with_a_new_key_pair_and_ssh_from_my_address(env, ec2, tmp_path):
    wb, vo = env
    before = {i["InstanceId"] for i in instances(ec2)}
    keys_dir = tmp_path / "ssh"
    ask = Asked(answers(type=lambda f: next(c for c in f.choices if c.startswith("t3.small ")),
                        key_mode=L.KEY_NEW, new_key="lab-key", key_folder=str(keys_dir),
                        group_mode=L.GROUP_NEW, new_group="lab-ssh", root_size=20, protect=True, name="web"))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == f"kind:{K.COMPUTING}"  # the Computing node lists it at once
    assert [e.id for e in outcome.watched] and all(e.kind == K.INSTANCE for e in outcome.watched)
    # the form offered the address the address service sees, as a CIDR
    ssh_from = next(f for f in ask.fields[0] if f.name == "ssh_from")
    assert ssh_from.default == "203.0.113.9/32"
    # the review showed the command line before anything was made
    assert "aws ec2 run-instances --region us-east-1" in ask.reviews[0]
    assert f"--image-id {AMAZON_IMAGE} --instance-type t3.small" in ask.reviews[0]
    new = [i for i in instances(ec2) if i["InstanceId"] not in before]
    assert len(new) == 1
    inst = new[0]
    assert inst["InstanceType"] == "t3.small" and inst["KeyName"] == "lab-key"
    assert {t["Key"]: t["Value"] for t in inst["Tags"]}["Name"] == "web"
    assert inst["InstanceId"] in outcome.message
    protected = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="disableApiTermination")
    assert protected["DisableApiTermination"]["Value"] is True
    group = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in inst["SecurityGroups"]])["SecurityGroups"][0]
    assert group["GroupName"] == "lab-ssh"
    rule = group["IpPermissions"][0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 22, 22)
    assert rule["IpRanges"][0]["CidrIp"] == "203.0.113.9/32"
    # the private key: 0600 where the person chose, and held by the app for SSH login
    pem = keys_dir / "lab-key.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN")
    held = key_path(wb.paths, vo.id, "lab-key")
    assert held is not None and held.read_text().strip() == pem.read_text().strip()
    root = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [inst["InstanceId"]]}])
    assert [v["Size"] for v in root["Volumes"]] == [20]


def test_several_instances_are_named_one_by_one(env, ec2):
    wb, vo = env
    ec2.create_key_pair(KeyName="existing")
    sg = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ask = Asked(answers(key_mode=L.KEY_EXISTING, key="existing", group_mode=L.GROUP_EXISTING,
                        group=lambda f: next(c for c in f.choices if c.startswith(sg)), count=2, name="node",
                        tags="project=atlas"))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "done", outcome.message
    made = [i for i in instances(ec2) if i.get("KeyName") == "existing"]
    names = sorted({t["Key"]: t["Value"] for t in i["Tags"]}["Name"] for i in made)
    assert names == ["node-1", "node-2"]
    assert all({t["Key"]: t["Value"] for t in i["Tags"]}["project"] == "atlas" for i in made)
    assert all(g["GroupId"] == sg for i in made for g in i["SecurityGroups"])


@pytest.mark.parametrize("bad, said", [
    ({"group_mode": L.GROUP_NEW, "ssh_from": "203.0.113.300/32"}, "Allow SSH (TCP 22) from"),
    ({"count": 0}, "How many: between 1 and"),
    ({"root_size": 1}, "at least that much"),
    ({"type": "z9.huge — 999 vCPU"}, "“z9.huge — 999 vCPU” is not one of its entries"),
    ({"key_mode": L.KEY_NEW, "new_key": "bad/name"}, "New key pair's name"),
])
def test_bad_answers_are_refused_with_the_reason_and_nothing_is_made(env, ec2, tmp_path, bad, said):
    wb, vo = env
    before = {i["InstanceId"] for i in instances(ec2)}
    keys_before = {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    ask = Asked(answers(key_folder=str(tmp_path), **bad))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "failed" and said in outcome.message
    assert {i["InstanceId"] for i in instances(ec2)} == before
    assert {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]} == keys_before
    assert ask.reviews == []  # refused before the review


def test_user_data_over_16_kb_is_refused_and_a_small_file_is_sent(env, ec2, tmp_path):
    wb, vo = env
    big = tmp_path / "big.sh"
    big.write_text("#!/bin/sh\n" + "x" * (16 * 1024))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2),
                  Asked(answers(key_mode=L.KEY_NONE, user_data_from=L.USER_DATA_FILE, user_data=str(big))))
    assert outcome.state == "failed" and "EC2 takes at most 16,384" in outcome.message
    small = tmp_path / "boot.sh"
    small.write_text("#!/bin/sh\necho hello-from-user-data\n")
    before = {i["InstanceId"] for i in instances(ec2)}
    ask = Asked(answers(key_mode=L.KEY_NONE, user_data_from=L.USER_DATA_FILE, user_data=str(small)))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "done", outcome.message
    assert f"--user-data file://{small}" in ask.reviews[0]
    new = [i for i in instances(ec2) if i["InstanceId"] not in before][0]
    got = ec2.describe_instance_attribute(InstanceId=new["InstanceId"], Attribute="userData")
    import base64

    assert base64.b64decode(got["UserData"]["Value"]).decode() == small.read_text()


def test_user_data_typed_in_the_form_is_sent_and_shown_in_the_command(env, ec2):
    wb, vo = env
    script = "#!/bin/bash\necho 'typed user data' > /tmp/marker\n"
    too_big = Asked(answers(key_mode=L.KEY_NONE, user_data_from=L.USER_DATA_TYPED, user_data_text="é" * 8193))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), too_big)
    assert outcome.state == "failed" and "16,386 bytes; EC2 takes at most 16,384" in outcome.message  # bytes, not characters
    before = {i["InstanceId"] for i in instances(ec2)}
    ask = Asked(answers(key_mode=L.KEY_NONE, user_data_from=L.USER_DATA_TYPED, user_data_text=script))
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "done", outcome.message
    text_field = next(f for f in ask.fields[0] if f.name == "user_data_text")
    assert text_field.kind == "lines" and text_field.when == ("user_data_from", (L.USER_DATA_TYPED,))
    # the command line carries the script itself, quoted for a shell, and Copy as command gets the same
    import shlex

    assert ask.commands[0] in ask.reviews[0]
    argv = shlex.split(ask.commands[0])
    assert argv[argv.index("--user-data") + 1] == script
    new = [i for i in instances(ec2) if i["InstanceId"] not in before][0]
    got = ec2.describe_instance_attribute(InstanceId=new["InstanceId"], Attribute="userData")
    import base64

    assert base64.b64decode(got["UserData"]["Value"]).decode() == script


def test_declining_the_review_makes_nothing(env, ec2, tmp_path):
    wb, vo = env
    before = {i["InstanceId"] for i in instances(ec2)}
    groups_before = {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    ask = Asked(answers(key_mode=L.KEY_NEW, new_key="never", key_folder=str(tmp_path), group_mode=L.GROUP_NEW),
                confirm=False)
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "cancelled" and len(ask.reviews) == 1
    assert {i["InstanceId"] for i in instances(ec2)} == before
    assert "never" not in {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    assert {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]} == groups_before
    assert not (tmp_path / "never.pem").exists()


def test_from_computing_the_image_is_asked_first_among_the_accounts_own(env, ec2):
    wb, vo = env
    # nothing to search in yet: the image's id is asked for, saying why (cancelled here)
    first = Asked()
    outcome = run(wb, vo, "aws.ec2.launch", COMPUTING, first)
    assert outcome.state == "cancelled"
    [[field]] = first.fields
    assert field.name == "image" and field.kind != "search"
    assert "no image of its own" in first.log[-1][2]  # said on the form, not only in a tooltip
    inst = ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    mine = ec2.create_image(InstanceId=inst["Instances"][0]["InstanceId"], Name="golden-2026")["ImageId"]
    before = {i["InstanceId"] for i in instances(ec2)}
    found = []

    def pick(fields):  # what the search field shows as "golden" is typed, then its first row
        f = fields[0]
        found.append(resolve(f.search_from)("golden", *f.search_args))
        return {"image": found[0].rows[0][0]}

    ask = Asked(pick, answers(key_mode=L.KEY_NONE))
    outcome = run(wb, vo, "aws.ec2.launch", COMPUTING, ask)
    assert outcome.state == "done", outcome.message
    assert ask.fields[0][0].kind == "search" and not ask.fields[0][0].editable
    assert [r[0] for r in found[0].rows] == [mine] and found[0].rows[0][2] == "yours"
    new = [i for i in instances(ec2) if i["InstanceId"] not in before]
    assert [i["ImageId"] for i in new] == [mine]


def test_from_computing_a_public_image_of_the_fetched_catalog_is_found_as_typed(env, ec2):
    wb, vo = env
    fetched = run(wb, vo, "aws.catalog.fetch", CATALOG, Asked(answers()))  # Amazon's images of the region
    assert fetched.state == "done", fetched.message
    public = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "state", "Values": ["available"]}])["Images"]
    assert f"holds Amazon's images, {len(public):,} of them" in fetched.message
    wanted = ec2.describe_images(ImageIds=[AMAZON_IMAGE])["Images"][0]
    seen = []

    def pick(fields):
        f = fields[0]
        seen.append(resolve(f.search_from)(wanted["Name"].upper(), *f.search_args))  # any case
        return {"image": AMAZON_IMAGE}

    before = {i["InstanceId"] for i in instances(ec2)}
    outcome = run(wb, vo, "aws.ec2.launch", COMPUTING, Asked(pick, answers(key_mode=L.KEY_NONE)))
    assert outcome.state == "done", outcome.message
    assert AMAZON_IMAGE in [r[0] for r in seen[0].rows]
    assert seen[0].columns == ("Image", "Name", "Owner", "Architecture", "Root device", "Created")
    new = [i for i in instances(ec2) if i["InstanceId"] not in before]
    assert [i["ImageId"] for i in new] == [AMAZON_IMAGE]


def test_instance_types_offered_fit_the_images_architecture():
    types = [{"name": "t3.micro", "vcpus": 2, "memory": 1024, "archs": ["x86_64"]},
             {"name": "t4g.micro", "vcpus": 2, "memory": 1024, "archs": ["arm64"]},
             {"name": "m5.large", "vcpus": 2, "memory": 8192, "archs": ["x86_64"]}]
    assert [L.first_word(c) for c in L.type_choices(types, "arm64")] == ["t4g.micro"]
    assert [L.first_word(c) for c in L.type_choices(types, "x86_64")] == ["t3.micro", "m5.large"]


def test_the_launch_form_has_pages_and_a_wizard_in_the_window_asks_them_in_turn(env, ec2):
    wb, vo = env
    ask = Asked(None)
    outcome = run(wb, vo, "aws.ec2.launch_image", amazon_image(ec2), ask)
    assert outcome.state == "cancelled"
    pages = []
    for f in ask.fields[0]:
        if f.page not in pages:
            pages.append(f.page)
    assert pages == ["Instance type", "Key pair", "Firewall", "Placement and storage", "Details"]
    root = next(f for f in ask.fields[0] if f.name == "root_size")
    from gridclient.registry import resolve

    assert resolve(root.check)(root.default) == "" and resolve(root.check)(root.default - 1) != ""
    assert os.path.basename(next(f for f in ask.fields[0] if f.name == "key_folder").default) == ".ssh"
