"""``gridclient s3 cp`` between an S3 bucket (moto over HTTP) and a real OpenSSH sshd named by an
``sftp://user@host:port/path`` URI: the bytes arrive intact both ways, through the transfer queue.
The host key is never accepted by ``--yes``: the copy is refused until the workspace's known_hosts
trusts the server, as a person would make it by logging in once on a terminal."""

from __future__ import annotations

import os
import shutil

import pytest

from gridclient.ssh import KnownHosts


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home of the test's own: its ~/.ssh holds the sshd's client key (the default key an address
    nobody added is dialled with), and no known_hosts, config or agent of the developer's is used."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return folder


def test_s3_cp_to_and_from_an_sftp_uri(gc, boto, aws_vo, sshd, home, app_paths, tmp_path):
    shutil.copyfile(sshd.key_file, home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    s3 = boto("s3")
    s3.create_bucket(Bucket="data")
    blob = os.urandom(3 * 1024 * 1024 + 17)  # not a whole number of any block or chunk
    s3.put_object(Bucket="data", Key="in/blob.bin", Body=blob)
    remote = tmp_path / "remote"
    remote.mkdir()
    base = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}{remote}"

    # the host key is unknown here: refused, --yes or not, and nothing is written there
    refused = gc("s3", "cp", "s3://data/in/blob.bin", f"{base}/got.bin", "--yes")
    assert refused.code == 1, refused.err  # as `vm run` fails on it: the job failed, not declined
    assert "was not accepted" in refused.err and sshd.host_fingerprint() in refused.err
    assert not (remote / "got.bin").exists()
    assert not app_paths.known_hosts.exists() or str(sshd.port) not in app_paths.known_hosts.read_text()

    KnownHosts(app_paths.known_hosts, user_file=None).add(sshd.host, sshd.port, sshd.host_pkey())
    down = gc("s3", "cp", "s3://data/in/blob.bin", f"{base}/got.bin")
    assert down.code == 0, down.err
    assert (remote / "got.bin").read_bytes() == blob
    assert not [p.name for p in remote.iterdir() if p.name != "got.bin"]  # no part file left behind

    # and back: sftp:// → s3://, into a "folder" keeping the name
    (remote / "local.bin").write_bytes(blob[::-1])
    up = gc("s3", "cp", f"{base}/local.bin", "s3://data/back/", "--json")
    assert up.code == 0, up.err
    assert up.json()["state"] == "done" and up.json()["done"] == 1
    assert s3.get_object(Bucket="data", Key="back/local.bin")["Body"].read() == blob[::-1]

    # a folder with -r, and a name that exists: refused without a terminal unless an option decides
    (remote / "tree" / "sub").mkdir(parents=True)
    (remote / "tree" / "sub" / "a.txt").write_bytes(b"a" * 1000)
    assert gc("s3", "cp", "-r", f"{base}/tree/", "s3://data/tree/").code == 0
    assert s3.get_object(Bucket="data", Key="tree/sub/a.txt")["Body"].read() == b"a" * 1000
    again = gc("s3", "cp", "s3://data/in/blob.bin", f"{base}/got.bin")
    assert again.code == 4 and "--overwrite" in again.err
    assert gc("s3", "cp", "s3://data/back/local.bin", f"{base}/got.bin", "--overwrite").code == 0
    assert (remote / "got.bin").read_bytes() == blob[::-1]
    assert gc("s3", "cp", f"{base}/no-such-file", "s3://data/x").code == 3
