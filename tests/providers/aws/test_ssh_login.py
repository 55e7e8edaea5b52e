"""providers.aws.ssh_login: user, address and key of an instance (plus one round through moto)."""

from __future__ import annotations

import stat

import paramiko
import pytest

from gridclient.keys import store_key
from providers.aws.ssh_login import build_target, guess_user, instance_address
from tests.core.test_keys import PEM


@pytest.mark.parametrize("name,description,platform,user", [
    ("amzn2-ami-hvm-2.0.20260427.1-x86_64-gp2", "", "", "ec2-user"),
    ("al2023-ami-2023.11.20260427.1-kernel-6.1-x86_64", "", "", "ec2-user"),
    ("amazon-eks-node-linux", "EKS Kubernetes Worker AMI with AmazonLinux2 image", "", "ec2-user"),
    ("my-golden-image", "Built on Amazon Linux 2023", "", "ec2-user"),
    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240101", "", "", "ubuntu"),
    ("Deep Learning AMI Ubuntu Linux - 2.4_Oct2017", "", "", "ubuntu"),
    ("custom", "", "Ubuntu Pro", "ubuntu"),
    ("debian-12-amd64-20240102-1614", "", "", "admin"),
    ("CentOS-7-2111-20220825_1.x86_64", "", "", "centos"),
    ("RHEL-9.2.0_HVM-20230503-x86_64-41-Hourly2-GP2", "", "", "ec2-user"),
    ("my-app", "", "Red Hat Enterprise Linux", "ec2-user"),
    ("Fedora-Cloud-Base-39-1.5.x86_64-hvm", "", "", "ec2-user"),
    ("suse-sles-15-sp5-v20231101-hvm-ssd-x86_64", "", "", "ec2-user"),
    ("Windows_Server-2022-English-Full-Base", "Microsoft Windows Server 2022", "Windows", None),
    ("my-app-image", "our build", "Linux/UNIX", None),
    ("", "", "", None),
])
def test_guess_user_per_image_family(name, description, platform, user):
    assert guess_user(name, description, platform) == user


def test_image_name_wins_over_description():
    assert guess_user("ubuntu-22.04-base", "rebuilt from a Debian recipe") == "ubuntu"


# -- addresses ---------------------------------------------------------------------------

def test_public_ip_preferred_then_private():
    both = {"InstanceId": "i-1", "PublicIpAddress": "203.0.113.7", "PrivateIpAddress": "10.0.0.7"}
    assert instance_address(both) == ("203.0.113.7", 22)
    assert instance_address({"PrivateIpAddress": "10.0.0.7"}) == ("10.0.0.7", 22)


@pytest.mark.parametrize("override,expected", [
    ("bastion.example.org", ("bastion.example.org", 22)),
    ("bastion.example.org:2222", ("bastion.example.org", 2222)),
    (" 127.0.0.1:40022 ", ("127.0.0.1", 40022)),
    ("[2001:db8::1]:2200", ("2001:db8::1", 2200)),
    ("2001:db8::1", ("2001:db8::1", 22)),
])
def test_override_wins(override, expected):
    inst = {"PublicIpAddress": "203.0.113.7", "PrivateIpAddress": "10.0.0.7"}
    assert instance_address(inst, override) == expected


@pytest.mark.parametrize("override", ["host:abc", "host:0", "host:70000", "user@host", "[::1", "a b"])
def test_bad_override_is_a_clear_error(override):
    with pytest.raises(ValueError) as exc:
        instance_address({"PublicIpAddress": "203.0.113.7"}, override)
    assert "port" in str(exc.value) or "host" in str(exc.value)


def test_no_address_is_a_clear_error():
    with pytest.raises(ValueError) as exc:
        instance_address({"InstanceId": "i-9", "State": {"Name": "pending"}})
    assert "i-9" in str(exc.value) and "pending" in str(exc.value)


# -- build_target -------------------------------------------------------------------------

def _instance(**kw):
    base = {"InstanceId": "i-0abc", "ImageId": "ami-1", "KeyName": "deploy",
            "PublicIpAddress": "203.0.113.7", "PrivateIpAddress": "10.0.0.7",
            "Tags": [{"Key": "Name", "Value": "web-1"}]}
    base.update(kw)
    return base


def test_build_target_with_guessed_user_and_stored_key(app_paths):
    stored = store_key(app_paths, "vo-1", "deploy", PEM)
    target, ask = build_target(_instance(), {"Name": "ubuntu/images/jammy"}, "vo-1", {}, app_paths, None)
    assert ask is False
    assert (target.host, target.port, target.user) == ("203.0.113.7", 22, "ubuntu")
    assert target.key_file == str(stored)
    assert target.title() == "web-1"


def test_build_target_remembered_user_wins_and_override_applies(app_paths):
    target, ask = build_target(_instance(), {"Name": "ubuntu/images/jammy"}, "vo-1",
                               {"ssh_host_override": "127.0.0.1:40022"}, app_paths, "deployer")
    assert (target.host, target.port, target.user, ask) == ("127.0.0.1", 40022, "deployer", False)
    assert target.key_file is None  # the app holds no key for "deploy" in this VO


def test_build_target_unknown_image_needs_the_user(app_paths):
    target, ask = build_target(_instance(Tags=[]), None, "vo-1", {}, app_paths, None)
    assert ask is True and target.user is None
    assert target.title() == "i-0abc"


def test_build_target_odd_key_name_falls_back_without_crash(app_paths):
    target, _ = build_target(_instance(KeyName="team/dev"), None, "vo-1", {}, app_paths, "u")
    assert target.key_file is None


def test_round_trip_through_moto(boto, app_paths):
    ec2 = boto("ec2")
    material = ec2.create_key_pair(KeyName="gc-demo")["KeyMaterial"]
    stored = store_key(app_paths, "vo-m", "gc-demo", material)
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"]
                 if i.get("Name", "").startswith("amzn2-ami-hvm"))
    run = ec2.run_instances(ImageId=image["ImageId"], MinCount=1, MaxCount=1, KeyName="gc-demo",
                            InstanceType="t3.micro")
    iid = run["Instances"][0]["InstanceId"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    target, ask = build_target(inst, image, "vo-m", {}, app_paths, None)
    assert ask is False and target.user == "ec2-user"
    assert target.host == (inst.get("PublicIpAddress") or inst["PrivateIpAddress"])
    assert target.key_file == str(stored)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    key = paramiko.PKey.from_path(stored)  # the stored key is a usable private key
    assert key.get_name() in ("ssh-rsa", "ssh-ed25519")


CLOUD_INIT = """[   12.3] cloud-init[812]: Generating public/private ed25519 key pair.
\x1b[0m-----BEGIN SSH HOST KEY FINGERPRINTS-----
ec2: 256 SHA256:1111111111111111111111111111111111111111111 root@ip-10-0-0-5 (ECDSA)
ec2: 256 SHA256:2222222222222222222222222222222222222222222 root@ip-10-0-0-5 (ED25519)
-----END SSH HOST KEY FINGERPRINTS-----
reboot…
-----BEGIN SSH HOST KEY FINGERPRINTS-----
ec2: 256 SHA256:3333333333333333333333333333333333333333333 root@ip-10-0-0-5 (ECDSA)
ec2: 256 SHA256:4444444444444444444444444444444444444444444 root@ip-10-0-0-5 (ED25519)
ec2: 3072 SHA256:4444444444444444444444444444444444444444444 root@ip-10-0-0-5 (ED25519)
-----END SSH HOST KEY FINGERPRINTS-----
SHA256:9999999999999999999999999999999999999999999 printed by something else
"""


def test_the_fingerprints_cloud_init_printed_last_are_read():
    from providers.aws.ssh_login import printed_fingerprints

    assert printed_fingerprints(CLOUD_INIT) == ("SHA256:" + "3" * 43, "SHA256:" + "4" * 43)
    assert printed_fingerprints("no fingerprints here") == ()
