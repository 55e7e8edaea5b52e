"""Key pairs, security groups and their rules, tags, instance type, termination protection and
console output (providers/aws/manage_access.py), run through the core's ActionRunner on a real
Workbench with the real AWS provider against the shared moto server over HTTP.

The elements handed to the actions are the ones the tree shows (``wb.children``); what an action
did is checked with a separate boto3 client on moto. "Allow SSH from my address" asks a real HTTP
server on loopback standing in for checkip.amazonaws.com.
"""

from __future__ import annotations

import http.server
import logging
import os
import socket
import stat
import threading
from typing import Any, Callable

import pytest

from gridclient.elements import Element
from gridclient.interaction import Field, ScriptedInteraction
from gridclient.keys import key_path
from gridclient.registry import COMMAND_DELETE, ExtensionRegistry
from gridclient.workbench import Workbench
from providers.aws import access_checks as C
from providers.aws import kinds as K
from providers.aws import manage_access as MA

pytest.importorskip("moto.server")

AMAZON_IMAGE = "ami-760aaa0f"  # in moto's default catalog
COMPUTING = Element(K.COMPUTING, "p/aws.computing", "Computing", has_children=True)
SERVICES = Element(K.SERVICES, "p/aws.services", "Services", has_children=True)


# -- helpers ---------------------------------------------------------------------------------------
class Asked(ScriptedInteraction):
    """A ScriptedInteraction that also keeps the fields of every question, and may answer with a
    function of them (to pick one of the choices the handler offers)."""

    def __init__(self, *answers: dict | Callable[[list[Field], str], dict | None] | None,
                 confirm: bool = True):
        super().__init__(default_confirm=confirm)
        self.answers = list(answers)
        self.fields: list[list[Field]] = []
        self.texts: list[str] = []

    def ask(self, title: str, fields: list[Field], *, text: str = "") -> dict[str, Any] | None:
        self.log.append(("ask", title, text))
        self.fields.append(list(fields))
        self.texts.append(text)
        answer = self.answers.pop(0) if self.answers else None
        return answer(fields, text) if callable(answer) else answer


@pytest.fixture
def env(moto, app_paths, keyring_backend):
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    vo = wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
                                   "secret_access_key": "x", "endpoint_url": moto})
    yield wb, vo
    wb.close()


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def run(wb, action_id: str, elements, vo, interaction=None):
    outcome = wb.actions.run(action_id, list(elements), vo, interaction or Asked(), timeout=120)
    assert outcome is not None
    return outcome


def child(wb, vo, parent: Element, label: str) -> Element:
    rows = wb.children(vo, parent)
    found = [e for e in rows if e.label == label]
    assert found, f"{label!r} is not among {[e.label for e in rows]}"
    return found[0]


def service(wb, vo, label: str) -> Element:
    return child(wb, vo, SERVICES, label)


def launch(ec2, name: str, **kw) -> str:
    run_ = ec2.run_instances(ImageId=AMAZON_IMAGE, InstanceType=kw.pop("InstanceType", "t3.micro"), MinCount=1,
                             MaxCount=1, TagSpecifications=[{"ResourceType": "instance",
                                                             "Tags": [{"Key": "Name", "Value": name}]}], **kw)
    return run_["Instances"][0]["InstanceId"]


def instance(wb, vo, name: str) -> Element:
    return child(wb, vo, COMPUTING, name)


def state_of(ec2, iid: str) -> str:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]


def group_el(wb, vo, name: str) -> Element:
    return child(wb, vo, service(wb, vo, "Security groups"), name)


def ingress(ec2, gid: str, key: str = "IpPermissions") -> list[dict]:
    return ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0].get(key, [])


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- key pairs -------------------------------------------------------------------------------------
def test_create_key_pair_saves_it_0600_and_ssh_login_finds_it(env, ec2, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="gridclient")
    caplog.set_level(logging.DEBUG, logger="providers")
    wb, vo = env
    folder = tmp_path / "home" / ".ssh"  # not there yet: made 0700
    asked = Asked({"name": "lab-key", "type": "ed25519", "folder": str(folder)})
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo, asked)
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == "self"  # Key pairs is listed again, with the new one
    saved = folder / "lab-key.pem"
    assert mode(saved) == 0o600 and mode(folder) == 0o700
    pem = saved.read_text()
    assert pem.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    # the private key saved is the one EC2 holds the public half of
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_ssh_private_key(pem.encode(), None).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    held_by_ec2 = ec2.describe_key_pairs(KeyNames=["lab-key"], IncludePublicKey=True)["KeyPairs"][0]["PublicKey"]
    assert held_by_ec2.split()[:2] == public.split()[:2]
    # the app's key store holds the same key, 0600, for this VO
    stored = key_path(wb.paths, vo.id, "lab-key")
    assert stored is not None and mode(stored) == 0o600 and stored.read_text() == pem
    assert str(saved) in outcome.message and "SSH login" in outcome.message
    # the tree lists it, and SSH login on an instance launched with it uses the stored key
    assert "lab-key" in [e.label for e in wb.children(vo, service(wb, vo, "Key pairs"))]
    launch(ec2, "keyed", KeyName="lab-key")
    login = run(wb, "aws.ec2.ssh", [instance(wb, vo, "keyed")], vo, Asked({"user": "ec2-user"}))
    assert login.state == "done" and login.terminal.key_file == str(stored)
    assert login.terminal.console_fingerprints == ()  # the console was read: moto prints no host keys
    # the key material is in no log, message or question
    body = pem.splitlines()[1]
    assert all(body not in r.getMessage() for r in caplog.records)
    assert body not in outcome.message and body not in repr(asked.log)


def test_an_rsa_key_pair_is_saved_as_pem_0600(env, ec2, tmp_path):
    wb, vo = env
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": "old-cloud", "type": "rsa", "folder": str(tmp_path)}))
    assert outcome.state == "done", outcome.message
    assert (tmp_path / "old-cloud.pem").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert mode(tmp_path / "old-cloud.pem") == 0o600
    assert ec2.describe_key_pairs(KeyNames=["old-cloud"])["KeyPairs"][0].get("KeyType", "rsa") == "rsa"


def test_create_key_pair_never_writes_over_a_file_and_makes_nothing_then(env, ec2, tmp_path):
    wb, vo = env
    (tmp_path / "mine.pem").write_text("precious")
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": "mine", "type": "ed25519", "folder": str(tmp_path)}))
    assert outcome.state == "failed"
    assert "exists already" in outcome.message and "never written over" in outcome.message
    assert (tmp_path / "mine.pem").read_text() == "precious"
    assert ec2.describe_key_pairs()["KeyPairs"] == []  # no key pair whose private key nobody has


def test_a_key_pair_whose_private_key_cannot_be_kept_is_deleted_again(env, ec2, tmp_path):
    wb, vo = env
    from pathlib import Path

    blocker = Path(wb.paths.keys) / vo.id  # a file where the VO's folder of the key store goes
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": "doomed", "type": "ed25519", "folder": str(tmp_path / "keys")}))
    assert outcome.state == "failed"
    assert outcome.message.startswith("The private key of “doomed” could not be kept")
    assert "deleted again" in outcome.message
    assert ec2.describe_key_pairs()["KeyPairs"] == []  # no key pair whose private key nobody has
    assert not (tmp_path / "keys" / "doomed.pem").exists()


def test_a_duplicate_key_pair_name_is_told(env, ec2, tmp_path):
    wb, vo = env
    ec2.create_key_pair(KeyName="taken")
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": "taken", "type": "ed25519", "folder": str(tmp_path)}))
    assert outcome.state == "failed"
    assert outcome.message == "A key pair named “taken” exists already in us-east-1: choose another name."
    assert not (tmp_path / "taken.pem").exists()


@pytest.mark.parametrize("name, says", [
    ("", "a name is needed"), ("../escape", "letters, digits"), ("a/b", "letters, digits"),
    (" padded", "no spaces at the beginning"), ("x" * 256, "at most 255"), ("ends.", "not ending"),
])
def test_bad_key_pair_names_are_refused_inline_and_by_the_handler(env, ec2, tmp_path, name, says):
    assert says in C.key_name_problem(name)  # what the form shows as it is typed
    wb, vo = env
    folder = tmp_path / "keys"
    outcome = run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": name, "type": "ed25519", "folder": str(folder)}))
    assert outcome.state == "failed" and says in outcome.message
    assert ec2.describe_key_pairs()["KeyPairs"] == [] and not folder.exists()


def test_good_key_pair_names_pass():
    for name in ("lab-key", "ana@laptop", "Key 2026", "a.b_c+d=e"):
        assert C.key_name_problem(name) == ""


def _ed25519_pair(folder, name="work"):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = folder / name
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    (folder / f"{name}.pub").write_text(line + " ana@laptop\n")
    return private, line


def test_import_a_public_key_file_and_ssh_login_uses_the_private_key_beside_it(env, ec2, tmp_path):
    wb, vo = env
    private, line = _ed25519_pair(tmp_path)
    outcome = run(wb, "aws.ec2.keypair.import", [service(wb, vo, "Key pairs")], vo,
                  Asked({"name": "work", "source": "a file", "file": str(tmp_path / "work.pub")}))
    assert outcome.state == "done", outcome.message
    held = ec2.describe_key_pairs(KeyNames=["work"], IncludePublicKey=True)["KeyPairs"][0]
    assert held["PublicKey"].split()[:2] == line.split()[:2]
    assert wb.workspace.vos[vo.id].settings["key_files"] == {"work": str(private)}
    assert str(private) in outcome.message
    launch(ec2, "mine", KeyName="work")
    login = run(wb, "aws.ec2.ssh", [instance(wb, vo, "mine")], wb.workspace.vos[vo.id], Asked({"user": "ec2-user"}))
    assert login.state == "done" and login.terminal.key_file == str(private)


def test_import_pasted_text_rfc4716_too(env, ec2, tmp_path):
    wb, vo = env
    _, line = _ed25519_pair(tmp_path)
    b64 = line.split()[1]
    block = "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"ana\"\n" + "\n".join(
        b64[i:i + 70] for i in range(0, len(b64), 70)) + "\n---- END SSH2 PUBLIC KEY ----\n"
    for name, text in (("pasted", line), ("rfc", block)):
        outcome = run(wb, "aws.ec2.keypair.import", [service(wb, vo, "Key pairs")], vo,
                      Asked({"name": name, "source": "pasted text", "text": text}))
        assert outcome.state == "done", outcome.message
        held = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
        assert held["PublicKey"].split()[1] == b64
    assert "key_files" not in wb.workspace.vos[vo.id].settings  # no private key known for pasted text


def test_bad_public_keys_are_refused_with_the_reason(env, ec2, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private, line = _ed25519_pair(tmp_path)
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    cases = {
        private.read_text(): "PRIVATE key",
        ecdsa: "RSA and ED25519 keys only",
        line[:-8] + "!!!!" + line[-4:]: "damaged",
        "ssh-rsa " + line.split()[1]: "the line says ssh-rsa, but the key is ssh-ed25519",
        line + "\n" + line: "one key only",
        "hello": "write it as OpenSSH does",
        "": "a public key is needed",
    }
    wb, vo = env
    for text, says in cases.items():
        assert says in C.public_key_problem(text), text[:30]
        outcome = run(wb, "aws.ec2.keypair.import", [service(wb, vo, "Key pairs")], vo,
                      Asked({"name": "bad", "source": "pasted text", "text": text}))
        assert outcome.state == "failed" and says in outcome.message
    assert "there is no file" in C.public_key_file_problem(str(tmp_path / "nope.pub"))
    assert "PRIVATE key" in C.public_key_file_problem(str(private))  # the wrong file of the two
    assert C.public_key_file_problem(str(tmp_path / "work.pub")) == ""
    assert ec2.describe_key_pairs()["KeyPairs"] == []


def test_delete_key_pairs_with_del_asks_first_and_keeps_the_held_key(env, ec2, tmp_path):
    wb, vo = env
    run(wb, "aws.ec2.keypair.create", [service(wb, vo, "Key pairs")], vo,
        Asked({"name": "held", "type": "ed25519", "folder": str(tmp_path)}))
    ec2.create_key_pair(KeyName="other")
    rows = [child(wb, vo, service(wb, vo, "Key pairs"), n) for n in ("held", "other")]
    action = wb.registry.action_for_command(COMMAND_DELETE, rows)
    assert action.id == "aws.ec2.keypair.delete"
    said_no = run(wb, action, rows, vo, Asked(confirm=False))
    assert said_no.state == "declined" and len(ec2.describe_key_pairs()["KeyPairs"]) == 2
    asked = Asked()
    outcome = run(wb, action, rows, vo, asked)
    assert outcome.state == "done" and ec2.describe_key_pairs()["KeyPairs"] == []
    assert asked.log[0][0] == "confirm" and "held, other" in asked.log[0][2]
    assert "keeps the private key of held" in outcome.message
    assert key_path(wb.paths, vo.id, "held") is not None


# -- security groups -------------------------------------------------------------------------------
def test_create_a_security_group_in_the_only_vpc(env, ec2):
    wb, vo = env
    groups = service(wb, vo, "Security groups")
    asked = Asked({"name": "analysis", "description": "Analysis boxes", "ssh": False})
    outcome = run(wb, "aws.ec2.sg.create", [groups], vo, asked)
    assert outcome.state == "done" and outcome.refresh == "self", outcome.message
    made = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["analysis"]}])["SecurityGroups"]
    assert len(made) == 1 and made[0]["Description"] == "Analysis boxes"
    assert made[0]["VpcId"] == ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    assert len(asked.log) == 1  # one VPC: nothing more asked
    # listed with its rules as children: none inbound, said so
    rules = wb.children(vo, group_el(wb, vo, "analysis"))
    assert [e.label for e in rules] == [
        "No inbound rules: nothing may connect in — right-click the group → Add rule…",
        "all traffic to 0.0.0.0/0"]


def test_create_a_security_group_asks_which_vpc_when_there_are_several(env, ec2):
    wb, vo = env
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "science"}])

    def pick(fields, text):
        assert "2 VPCs" in text
        choices = fields[0].choices
        assert any("default" in c for c in choices) and fields[0].default.endswith("default")
        return {"vpc": next(c for c in choices if "science" in c)}

    asked = Asked({"name": "sci", "description": "Science", "ssh": False}, pick)
    outcome = run(wb, "aws.ec2.sg.create", [service(wb, vo, "Security groups")], vo, asked)
    assert outcome.state == "done", outcome.message
    made = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sci"]}])["SecurityGroups"]
    assert [g["VpcId"] for g in made] == [vpc]
    # a VPC typed that the account does not have is refused, nothing made
    typo = run(wb, "aws.ec2.sg.create", [service(wb, vo, "Security groups")], vo,
               Asked({"name": "sci2", "description": "x"}, {"vpc": "vpc-nope"}))
    assert typo.state == "failed" and "“vpc-nope” is none of this account's VPCs" in typo.message
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sci2"]}])["SecurityGroups"]


@pytest.mark.parametrize("name, description, says", [
    ("sg-web", "x", "“sg-” begins group ids"), ("", "x", "a name is needed"),
    ("web", "naïve ü", "letters, digits, spaces"), ("w" * 256, "x", "at most 255"),
])
def test_bad_group_names_and_descriptions_are_refused(env, ec2, name, description, says):
    assert says in (C.group_name_problem(name) or C.description_problem(description))
    wb, vo = env
    before = len(ec2.describe_security_groups()["SecurityGroups"])
    outcome = run(wb, "aws.ec2.sg.create", [service(wb, vo, "Security groups")], vo,
                  Asked({"name": name, "description": description}))
    assert outcome.state == "failed" and says in outcome.message
    assert len(ec2.describe_security_groups()["SecurityGroups"]) == before


def test_a_duplicate_group_name_is_told(env, ec2):
    wb, vo = env
    ec2.create_security_group(GroupName="web", Description="w")
    outcome = run(wb, "aws.ec2.sg.create", [service(wb, vo, "Security groups")], vo,
                  Asked({"name": "web", "description": "again"}))
    assert outcome.state == "failed" and "named “web” exists already" in outcome.message


def test_rules_are_the_groups_children_in_words(env, ec2):
    wb, vo = env
    other = ec2.create_security_group(GroupName="web", Description="w")["GroupId"]
    gid = ec2.create_security_group(GroupName="db", Description="d")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": other}],
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"}]},
        {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/64"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": gid}]},
    ])
    rules = wb.children(vo, group_el(wb, vo, "db"))
    assert sorted(e.label for e in rules) == sorted([
        "tcp 22 from 203.0.113.7/32", f"tcp 5432 from {other} (web)", "tcp 5432 from 10.0.0.0/8",
        "udp all ports from 2001:db8::/64", "icmp from 0.0.0.0/0", "tcp 8000–8080 from this group",
        "all traffic to 0.0.0.0/0"])
    assert all(e.kind == K.SG_RULE for e in rules)
    by = {e.label: e for e in rules}
    assert by["tcp 22 from 203.0.113.7/32"].detail == "inbound · SSH"  # a well-known port named
    assert by["tcp 5432 from 10.0.0.0/8"].detail == "inbound · office"  # its description before that
    assert by["all traffic to 0.0.0.0/0"].state == "outbound"
    assert by["tcp 22 from 203.0.113.7/32"].properties["Source"] == "203.0.113.7/32"


def test_add_rules_of_every_shape(env, ec2):
    wb, vo = env
    gid = ec2.create_security_group(GroupName="app", Description="a")["GroupId"]
    other = ec2.create_security_group(GroupName="lb", Description="l")["GroupId"]
    group = group_el(wb, vo, "app")
    cases = [
        ({"direction": "inbound", "protocol": "tcp", "ports": "8000-8080", "source": "2001:db8::/64",
          "description": "api"}, "Added inbound tcp 8000–8080 from 2001:db8::/64 to app."),
        ({"direction": "inbound", "protocol": "tcp", "ports": "443", "source": other},
         f"Added inbound tcp 443 from {other} to app."),
        ({"direction": "inbound", "protocol": "icmp", "source": "2001:db8::/64"},
         "Added inbound icmpv6 from 2001:db8::/64 to app."),
        ({"direction": "inbound", "protocol": "udp", "ports": "all", "source": "198.51.100.9"},
         "Added inbound udp all ports from 198.51.100.9/32 to app."),
        ({"direction": "outbound", "protocol": "udp", "ports": "53", "source": "10.0.0.2/32"},
         "Added outbound udp 53 to 10.0.0.2/32 to app."),
    ]
    for values, message in cases:
        outcome = run(wb, "aws.ec2.sg.add_rule", [group], vo, Asked(values))
        assert outcome.state == "done" and outcome.refresh == "self", outcome.message
        assert outcome.message == message
    perms = ingress(ec2, gid)
    api = next(p for p in perms if p.get("FromPort") == 8000)
    assert api["IpProtocol"] == "tcp" and api["ToPort"] == 8080
    assert api["Ipv6Ranges"] == [{"CidrIpv6": "2001:db8::/64", "Description": "api"}]
    assert any(p.get("FromPort") == 443 and p["UserIdGroupPairs"][0]["GroupId"] == other for p in perms)
    assert any(p["IpProtocol"] in ("icmpv6", "58") for p in perms)
    assert any(p["IpProtocol"] == "udp" and p.get("FromPort") == 0 and p.get("ToPort") == 65535
               and p["IpRanges"][0]["CidrIp"] == "198.51.100.9/32" for p in perms)
    assert any(p.get("FromPort") == 53 and p["IpRanges"][0]["CidrIp"] == "10.0.0.2/32"
               for p in ingress(ec2, gid, "IpPermissionsEgress"))
    # the same rule again changes nothing, and says so
    again = run(wb, "aws.ec2.sg.add_rule", [group], vo, Asked(cases[1][0]))
    assert again.state == "done" and "already: nothing changed" in again.message
    # and the group's children now show them
    labels = [e.label for e in wb.children(vo, group)]
    assert "tcp 8000–8080 from 2001:db8::/64" in labels and "udp 53 to 10.0.0.2/32" in labels


@pytest.mark.parametrize("values, says", [
    ({"protocol": "tcp", "ports": "22", "source": "203.0.113.7/24"}, "bits set after the /24: the network is 203.0.113.0/24"),
    ({"protocol": "tcp", "ports": "70000", "source": "0.0.0.0/0"}, "ports are 0 to 65535"),
    ({"protocol": "tcp", "ports": "90-80", "source": "0.0.0.0/0"}, "runs backwards"),
    ({"protocol": "tcp", "ports": "ssh", "source": "0.0.0.0/0"}, "no port or range"),
    ({"protocol": "udp", "ports": "53", "source": "office"}, "no IPv4 or IPv6 address"),
    ({"protocol": "udp", "ports": "53", "source": "sg-xyz"}, "no group id"),
    ({"protocol": "gre", "ports": "", "source": "0.0.0.0/0"}, "no protocol here"),
    ({"protocol": "tcp", "ports": "22", "source": "0.0.0.0/0", "description": "ça"}, "letters, digits"),
])
def test_bad_rules_are_refused_with_the_reason(env, ec2, values, says):
    wb, vo = env
    gid = ec2.create_security_group(GroupName="app", Description="a")["GroupId"]
    outcome = run(wb, "aws.ec2.sg.add_rule", [group_el(wb, vo, "app")], vo,
                  Asked({"direction": "inbound", **values}))
    assert outcome.state == "failed" and says in outcome.message
    assert ingress(ec2, gid) == []


def test_field_checks_say_what_is_wrong_as_typed():
    assert C.cidr_problem("203.0.113.7/32") == "" and C.cidr_problem("2001:db8::/64") == ""
    assert C.cidr_problem("203.0.113.7") == ""  # one address
    assert "one address is 203.0.113.7/32" in C.cidr_problem("203.0.113.7/24")
    assert "2001:db8::/32" in C.cidr_problem("2001:db8::1/32")
    assert "no IPv4 or IPv6" in C.cidr_problem("300.1.1.1/32")
    assert C.source_problem("sg-0123abcd") == "" and C.source_problem("sg-0123456789abcdef0") == ""
    assert C.ports_problem("8000–8080") == "" and C.ports_problem("all") == ""
    assert C.parse_ports("8000 - 8080") == (8000, 8080)
    assert "at most 50 tags" in C.ec2_tags_problem("; ".join(f"k{i}=v" for i in range(51)))


def test_remove_rules_with_del(env, ec2):
    wb, vo = env
    gid = ec2.create_security_group(GroupName="app", Description="a")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "203.0.113.7/32", "Description": "me"}, {"CidrIp": "198.51.100.0/24"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    group = group_el(wb, vo, "app")
    rows = [child(wb, vo, group, "tcp 22 from 203.0.113.7/32"), child(wb, vo, group, "all traffic to 0.0.0.0/0")]
    action = wb.registry.action_for_command(COMMAND_DELETE, rows)
    assert action.id == "aws.ec2.sg.remove_rule"
    asked = Asked()
    outcome = run(wb, action, rows, vo, asked)
    assert outcome.state == "done" and outcome.refresh == "parent", outcome.message
    assert "tcp 22 from 203.0.113.7/32" in asked.log[0][2]
    assert sorted(e.label for e in wb.children(vo, group)) == ["tcp 22 from 198.51.100.0/24", "tcp 80 from 0.0.0.0/0"]
    assert ingress(ec2, gid, "IpPermissionsEgress") == []
    # a rule removed meanwhile is told as gone, and its list reloaded
    stale = child(wb, vo, group, "tcp 80 from 0.0.0.0/0")
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[stale.ref["permission"]])
    gone = run(wb, action, [stale], vo)
    assert gone.state == "gone" and gone.refresh == "parent" and "no longer exists" in gone.message


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b"198.51.100.23\n"
    delay = 0.0

    def do_GET(self):  # noqa: N802
        if self.delay:
            threading.Event().wait(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def checkip():
    """A stand-in for checkip.amazonaws.com on loopback: (url, handler class to tune)."""
    handler = type("Answer", (_Answer,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def _with_lookup(wb, vo, url):
    return wb.save_vo(vo.name, "aws", {**vo.settings, "public_address_url": url}, vo=vo)


def test_allow_ssh_from_my_address_found_over_http(env, ec2, checkip):
    wb, vo = env
    url, _ = checkip
    vo = _with_lookup(wb, vo, url)
    gid = ec2.create_security_group(GroupName="app", Description="a")["GroupId"]

    def confirm_found(fields, text):
        assert fields[0].default == "198.51.100.23/32"  # shown, editable, as a CIDR
        assert "127.0.0.1:" in text and "sees this computer as 198.51.100.23" in text
        return {"cidr": fields[0].default}

    outcome = run(wb, "aws.ec2.sg.allow_ssh", [group_el(wb, vo, "app")], vo, Asked(confirm_found))
    assert outcome.state == "done" and outcome.refresh == "self", outcome.message
    assert outcome.message == "SSH is allowed into app from 198.51.100.23/32."
    perms = ingress(ec2, gid)
    assert perms == [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [],
                      "IpRanges": [{"CidrIp": "198.51.100.23/32", "Description": "SSH from my address"}],
                      "Ipv6Ranges": [], "PrefixListIds": []}]
    again = run(wb, "aws.ec2.sg.allow_ssh", [group_el(wb, vo, "app")], vo, Asked(confirm_found))
    assert again.state == "done" and "allowed into app already" in again.message


def test_allow_ssh_when_the_address_cannot_be_found_the_person_types_it(env, ec2, checkip, monkeypatch):
    wb, vo = env
    gid = ec2.create_security_group(GroupName="app", Description="a")["GroupId"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    url, handler = checkip
    handler.delay = 3.0
    monkeypatch.setattr(C, "CHECKIP_TIMEOUT", 0.5)
    for where, why in ((closed, "connection refused"), (url, "no answer within")):
        vo = _with_lookup(wb, vo, where)

        def typed(fields, text, why=why):
            assert fields[0].default == "" and why in text and "could not be found" in text
            assert fields[0].check and C.cidr_problem("not an address")
            return {"cidr": "192.0.2.0/24"}

        outcome = run(wb, "aws.ec2.sg.allow_ssh", [group_el(wb, vo, "app")], vo, Asked(typed))
        assert outcome.state == "done", outcome.message
    assert ingress(ec2, gid)[0]["IpRanges"][0]["CidrIp"] == "192.0.2.0/24"
    # a bad typed address is refused, never sent
    bad = run(wb, "aws.ec2.sg.allow_ssh", [group_el(wb, vo, "app")], vo, Asked({"cidr": "192.0.2.1/24"}))
    assert bad.state == "failed" and "the network is 192.0.2.0/24" in bad.message


def test_create_a_group_with_ssh_from_my_address(env, ec2, checkip):
    wb, vo = env
    vo = _with_lookup(wb, vo, checkip[0])
    outcome = run(wb, "aws.ec2.sg.create", [service(wb, vo, "Security groups")], vo,
                  Asked({"name": "ssh-me", "description": "SSH from me", "ssh": True},
                        lambda fields, text: {"cidr": fields[0].default}))
    assert outcome.state == "done", outcome.message
    gid = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["ssh-me"]}])["SecurityGroups"][0]
    assert gid["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == "198.51.100.23/32"
    assert "SSH is allowed into ssh-me from 198.51.100.23/32" in outcome.message


def test_delete_security_groups_says_what_uses_them(env, ec2):
    wb, vo = env
    used = ec2.create_security_group(GroupName="used", Description="u")["GroupId"]
    named = ec2.create_security_group(GroupName="named", Description="n")["GroupId"]
    free = ec2.create_security_group(GroupName="free", Description="f")["GroupId"]
    referrer = ec2.create_security_group(GroupName="referrer", Description="r")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=referrer, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": named}]}])
    launch(ec2, "web-1", SecurityGroupIds=[used])

    asked = Asked()
    one = run(wb, "aws.ec2.sg.delete", [group_el(wb, vo, "used")], vo, asked)
    assert one.state == "failed" and asked.log == []  # looked up first: nothing to confirm
    assert one.message == "“used” is in use by the instance web-1 (terminate it or give it another group first)."
    default = run(wb, "aws.ec2.sg.delete", [group_el(wb, vo, "default")], vo)
    assert default.state == "failed" and "default group, which cannot be deleted" in default.message
    both = run(wb, "aws.ec2.sg.delete", [group_el(wb, vo, "used"), group_el(wb, vo, "default")], vo)
    assert both.state == "failed" and both.message.startswith("Nothing was deleted. “used” is in use by")

    rows = [group_el(wb, vo, n) for n in ("named", "free")]
    action = wb.registry.action_for_command(COMMAND_DELETE, rows)
    assert action.id == "aws.ec2.sg.delete"
    kept = "Kept: “named” is named in rules of the group referrer (remove those rules first)."
    said_no = Asked(confirm=False)
    assert run(wb, action, rows, vo, said_no).state == "cancelled"
    assert said_no.log == [("confirm", "Delete security group", f"Delete the security group free? {kept}")]
    assert free in {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    mixed = run(wb, action, rows, vo, Asked())
    assert mixed.state == "done" and mixed.message == f"Deleted the security group free. {kept}"
    left = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert free not in left and {used, named, referrer} <= left


# -- tags ------------------------------------------------------------------------------------------
def tags_of(ec2, rid: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [rid]}])["Tags"]}


def test_edit_an_instances_tags_renames_its_row(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "Env", "Value": "prod"}])

    def edit(fields, text):
        assert fields[0].default == "Name=web-1; Env=prod" and iid in text
        return {"tags": "Name=web-9; Owner=ana"}

    outcome = run(wb, "aws.ec2.tags", [instance(wb, vo, "web-1")], vo, Asked(edit))
    assert outcome.state == "done" and outcome.refresh == "parent", outcome.message
    assert tags_of(ec2, iid) == {"Name": "web-9", "Owner": "ana"}
    assert outcome.message == "Tags of web-1 saved (2 set, 1 removed). It is shown as web-9 now."
    assert [e.id for e in wb.children(vo, COMPUTING) if e.label == "web-9"] == [iid]


@pytest.mark.parametrize("kind", ["image", "volume", "snapshot", "securitygroup", "keypair"])
def test_tags_on_every_taggable_element(env, ec2, kind):
    wb, vo = env
    iid = launch(ec2, "src")
    if kind == "image":
        rid = ec2.create_image(InstanceId=iid, Name="golden")["ImageId"]
        el = Element(K.IMAGE, rid, "golden")
    elif kind == "volume":
        rid = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
        el = Element(K.VOLUME, rid, rid)
    elif kind == "snapshot":
        vol = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
        rid = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
        el = Element(K.SNAPSHOT, rid, rid)
    elif kind == "securitygroup":
        rid = ec2.create_security_group(GroupName="tagged", Description="t")["GroupId"]
        el = group_el(wb, vo, "tagged")
    else:
        rid = ec2.create_key_pair(KeyName="tagged")["KeyPairId"]
        el = child(wb, vo, service(wb, vo, "Key pairs"), "tagged")
    assert wb.registry.actions["aws.ec2.tags"].applies_to([el])
    outcome = run(wb, "aws.ec2.tags", [el], vo, Asked({"tags": "project=atlas; cost=42"}))
    assert outcome.state == "done", outcome.message
    assert tags_of(ec2, rid) == {"project": "atlas", "cost": "42"}


def test_bad_tags_are_refused_and_nothing_changes(env, ec2):
    wb, vo = env
    iid = launch(ec2, "web-1")
    for text, says in (("aws:owner=me", "AWS's own"), ("novalue", "is no tag"), ("a=1; a=2", "given twice")):
        assert says in C.ec2_tags_problem(text)
        outcome = run(wb, "aws.ec2.tags", [instance(wb, vo, "web-1")], vo, Asked({"tags": text}))
        assert outcome.state == "failed" and says in outcome.message
    assert tags_of(ec2, iid) == {"Name": "web-1"}
    cancelled = run(wb, "aws.ec2.tags", [instance(wb, vo, "web-1")], vo, Asked(None))
    assert cancelled.state == "cancelled" and tags_of(ec2, iid) == {"Name": "web-1"}


# -- instance type, termination protection ------------------------------------------------------
def test_change_instance_type_only_when_stopped_and_only_to_its_architecture(env, ec2):
    wb, vo = env
    iid = launch(ec2, "box")
    running = instance(wb, vo, "box")
    refused = run(wb, "aws.ec2.change_type", [running], vo)
    assert refused.state == "refused" and "stopped" in refused.message
    ec2.stop_instances(InstanceIds=[iid])
    offered: list[str] = []

    def pick(fields, text):
        f = fields[0]
        offered.extend(f.choices)
        assert f.default.startswith("t3.micro — 2 vCPU, 1 GiB") and "t3.micro (x86_64)" in text
        return {"type": next(c for c in f.choices if c.startswith("t3.small "))}

    outcome = run(wb, "aws.ec2.change_type", [instance(wb, vo, "box")], vo, Asked(pick))
    assert outcome.state == "done" and outcome.refresh == "parent", outcome.message
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["InstanceType"] == "t3.small"
    assert outcome.message == "box is a t3.small now (was t3.micro); it runs as one when started."
    names = [c.split(" —")[0] for c in offered]
    assert "m5.large" in names and not any(n.startswith(("a1.", "m6g.", "t4g.")) for n in names)  # no arm64
    # started meanwhile: the handler refuses, though the row still said stopped
    ec2.start_instances(InstanceIds=[iid])
    late = run(wb, "aws.ec2.change_type", [Element(K.INSTANCE, iid, "box", state="stopped")], vo)
    assert late.state == "failed" and late.message.startswith("box is running: its type can change only while")


def test_instance_types_are_asked_once_per_endpoint_and_region(env):
    class Token:  # the same endpoint and region as a token asked before, but any call fails
        endpoint_url, region = "http://cache.test:1", "xx-test-1"

        def client(self, *_a):
            raise AssertionError("asked again")

    MA._TYPES[(Token.endpoint_url, Token.region)] = (MA.time.monotonic(), [{"name": "z1.tiny", "archs": []}])
    try:
        assert [t["name"] for t in MA.instance_types(Token())] == ["z1.tiny"]
    finally:
        MA._TYPES.pop((Token.endpoint_url, Token.region))


def protected(ec2, iid: str) -> bool:
    return ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"]


def test_termination_protection_on_and_terminate_refuses_with_how_to(env, ec2):
    wb, vo = env
    iid = launch(ec2, "precious")
    other = launch(ec2, "scratch")

    def turn_on(fields, text):
        assert fields[0].kind == "bool" and fields[0].default is False and text == "Termination protection is off for precious."
        return {"protect": True}

    on = run(wb, "aws.ec2.protection", [instance(wb, vo, "precious")], vo, Asked(turn_on))
    assert on.state == "done" and on.properties == {"DisableApiTermination": True}, on.message
    assert protected(ec2, iid) and not protected(ec2, other)
    both = [instance(wb, vo, "precious"), instance(wb, vo, "scratch")]
    mixed = Asked(None)  # shown how each stands, then backed out of: nothing changes
    assert run(wb, "aws.ec2.protection", both, vo, mixed).state == "cancelled"
    assert mixed.texts == ["Termination protection now: precious on; scratch off."]
    assert protected(ec2, iid) and not protected(ec2, other)

    rows = [instance(wb, vo, "precious"), instance(wb, vo, "scratch")]
    refused = run(wb, "aws.ec2.terminate", rows, vo, Asked())
    assert refused.state == "failed"
    assert refused.message.startswith("precious is protected from termination: nothing was terminated.")
    assert "Termination protection…" in refused.message and "untick" in refused.message
    assert state_of(ec2, iid) == "running" and state_of(ec2, other) == "running"  # not even the other

    off = run(wb, "aws.ec2.protection", [instance(wb, vo, "precious")], vo, Asked({"protect": False}))
    assert off.state == "done" and not protected(ec2, iid)
    done = run(wb, "aws.ec2.terminate", [instance(wb, vo, "precious")], vo, Asked())
    assert done.state == "done" and state_of(ec2, iid) in ("shutting-down", "terminated")


# -- console output --------------------------------------------------------------------------------
def test_console_output_comes_back_as_text_for_a_tab(env, ec2):
    wb, vo = env
    launch(ec2, "web-1")
    outcome = run(wb, "aws.ec2.console", [instance(wb, vo, "web-1")], vo)
    assert outcome.state == "done" and outcome.refresh == "", outcome.message
    assert outcome.text.startswith("Linux version")  # decoded from EC2's base64
    assert "Kernel command line: root=/dev/sda1" in outcome.text
    assert outcome.title == "Console: web-1" and outcome.message.startswith("Console output of web-1 as of ")


def test_console_text_is_made_readable():
    import base64

    raw = base64.b64encode(b"\x1b[0;32m[  OK  ]\x1b[0m Started ssh.\r\nSHA256:abc\x07 ok\r\n\x1b]0;title\x07done").decode()
    assert MA.readable_console(raw) == "[  OK  ] Started ssh.\nSHA256:abc ok\ndone"
    assert MA.readable_console("plain text, not base64!") == "plain text, not base64!"


def test_every_access_action_is_offered_where_a_person_looks(env):
    wb, vo = env
    reg = wb.registry
    offered = {kind: [a.id for a in reg.actions_for([Element(kind, "x", "x", state=state)])]
               for kind, state in ((K.KEYPAIRS, ""), (K.KEYPAIR, ""), (K.SECURITY_GROUPS, ""),
                                   (K.SECURITY_GROUP, ""), (K.SG_RULE, "inbound"), (K.INSTANCE, "stopped"))}
    assert {"aws.ec2.keypair.create", "aws.ec2.keypair.import"} <= set(offered[K.KEYPAIRS])
    assert {"aws.ec2.keypair.delete", "aws.ec2.tags"} <= set(offered[K.KEYPAIR])
    assert offered[K.SECURITY_GROUPS] == ["aws.ec2.sg.create"]
    assert {"aws.ec2.sg.add_rule", "aws.ec2.sg.allow_ssh", "aws.ec2.sg.delete", "aws.ec2.tags"} <= \
        set(offered[K.SECURITY_GROUP])
    assert offered[K.SG_RULE] == ["aws.ec2.sg.remove_rule"]
    assert {"aws.ec2.console", "aws.ec2.tags", "aws.ec2.change_type", "aws.ec2.protection"} <= \
        set(offered[K.INSTANCE])
    assert offered[K.INSTANCE].index("aws.ec2.console") < offered[K.INSTANCE].index("aws.ec2.start")


# -- the demo --------------------------------------------------------------------------------------
def test_the_demo_allows_ssh_from_its_loopback_address_without_the_network(demo_sandbox, app_paths, keyring_backend):
    """The demo never asks checkip.amazonaws.com: its VO's lookup answers from a data: URL."""
    demo_sandbox.reseed()  # another test's moto reset empties the demo too
    wb = Workbench(app_paths, registry=ExtensionRegistry().discover())
    try:
        demo_sandbox.prepare(wb)
        vo = wb.workspace.vo_by_name("Demo")
        assert vo.settings["public_address_url"].startswith("data:")
        web = child(wb, vo, child(wb, vo, SERVICES, "Security groups"), "demo-web")

        def shown(fields, text):
            assert fields[0].default == "127.0.0.1/32" and "This computer's address is 127.0.0.1" in text
            return {"cidr": fields[0].default}

        outcome = run(wb, "aws.ec2.sg.allow_ssh", [web], vo, Asked(shown))
        assert outcome.state == "done", outcome.message
        assert "tcp 22 from 127.0.0.1/32" in [e.label for e in wb.children(vo, web)]
    finally:
        wb.close()


def test_instance_types_are_kept_in_the_info_cache_for_the_next_run(env, tmp_path, moto):
    from gridclient.paths import AppPaths

    wb, vo = env
    token = wb.tokens.token(vo)
    token.app_paths = AppPaths.under(tmp_path / "ws")  # a workspace of this test's own
    asked = []
    ec2 = token.client("ec2")
    ec2.meta.events.register("before-call.ec2.DescribeInstanceTypes", lambda **kw: asked.append(1))
    key = (token.endpoint_url or "aws", token.region)
    MA._TYPES.pop(key, None)
    try:
        first = MA.instance_types(token)
        assert first and asked  # asked of the endpoint, then kept
        MA._TYPES.pop(key)  # a new process: nothing in memory
        asked.clear()
        assert MA.instance_types(token) == first and not asked  # read from the file
        [kept] = (tmp_path / "ws" / "cache" / "instance-types").iterdir()
        kept.write_text("{not json")  # damaged: asked again, and kept again
        MA._TYPES.pop(key)
        assert MA.instance_types(token) == first and asked
        old = MA.time.time() - MA.TYPES_FOR - 1  # a day old: asked again
        MA.os.utime(kept, (old, old))
        MA._TYPES.pop(key)
        asked.clear()
        assert MA.instance_types(token) == first and asked
    finally:
        MA._TYPES.pop(key, None)
