"""vo and project commands: secrets from standard input into the keyring only, JSON listings,
refusals and usage errors."""

from __future__ import annotations

from gridclient.secrets import SERVICE
from tests.cli.conftest import SECRET


def test_vo_add_with_secret_stdin_then_list_json(gc, aws_vo, moto, keyring_backend, app_paths):
    listed = gc("vo", "list", "--json")
    assert listed.code == 0, listed.err
    [vo] = listed.json()
    assert (vo["name"], vo["type"], vo["region"], vo["endpoint_url"]) == ("Lab", "aws", "us-east-1", moto)
    assert vo["secret_fields"] == ["secret_access_key"]
    assert vo["settings"]["access_key_id"] == "AKIDTEST" and "secret_access_key" not in vo["settings"]
    assert SECRET not in listed.out
    # the secret is in the keyring under the VO's id, and in no file of the workspace
    assert keyring_backend.get_password(SERVICE, f"{vo['id']}/secret_access_key") == SECRET
    files = [p for p in app_paths.config.parent.rglob("*") if p.is_file()]
    assert any(p.name == "workspace.json" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    # and the VO works: its connection test passes with the secret from the keyring
    tested = gc("vo", "test", "Lab")
    assert tested.code == 0 and "Connected" in tested.out, tested.err
    as_json = gc("vo", "test", "Lab", "--json").json()
    assert as_json["vo"] == "Lab" and as_json["ok"] is True and "Connected" in as_json["message"]
    typo = gc("vo", "add", "Lab2", "--type", "gcp", "--access-key-id", "A", "--secret-stdin", input="x\n")
    assert typo.code == 2 and "no VO type “gcp”" in typo.err and "one of aws" in typo.err


def test_a_secret_is_never_an_argument(gc, moto):
    base = ("vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id", "AKID")
    ran = gc(*base, "--secret-access-key", SECRET)
    assert ran.code == 2 and "No such option" in ran.err
    # without a terminal and without --secret-stdin nobody can type it: a usage error, nothing saved
    ran = gc(*base)
    assert ran.code == 2 and "--secret-stdin" in ran.err
    assert gc("vo", "list", "--json").json() == []


def test_vo_add_usage_errors(gc, aws_vo, moto):
    ran = gc("vo", "add", "Lab", "--type", "aws", "--access-key-id", "A", "--secret-stdin", input="x\n")
    assert ran.code == 2 and "already used" in ran.err
    ran = gc("vo", "add", "Other", "--type", "nope", "--secret-stdin", input="x\n")
    assert ran.code == 2 and "aws" in ran.err
    ran = gc("vo", "add", "Other", "--type", "aws", "--region", "mars-1", "--access-key-id", "A",
             "--secret-stdin", input="x\n")
    assert ran.code == 2 and "not an AWS region" in ran.err
    # a profile given: the profile credentials, so no secret is asked
    ran = gc("vo", "add", "Prof", "--type", "aws", "--profile", "dev", "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["settings"]["credential_mode"] == "profile" and ran.json()["secret_fields"] == []


def test_vo_edit_keeps_the_secret_and_remove_asks(gc, aws_vo, moto, keyring_backend):
    ran = gc("vo", "edit", "Lab", "--region", "eu-west-1", "--json")
    assert ran.code == 0, ran.err
    vo = ran.json()
    assert vo["region"] == "eu-west-1" and vo["secret_fields"] == ["secret_access_key"]
    assert keyring_backend.get_password(SERVICE, f"{vo['id']}/secret_access_key") == SECRET
    assert gc("project", "add", "P1", "--vo", "Lab").code == 0
    refused = gc("vo", "remove", "Lab")
    assert refused.code == 4 and "--yes" in refused.err and len(refused.err.strip().splitlines()) == 1
    assert [v["name"] for v in gc("vo", "list", "--json").json()] == ["Lab"]
    done = gc("vo", "remove", "Lab", "--yes")
    assert done.code == 0 and "P1" in done.out
    assert gc("vo", "list", "--json").json() == [] and gc("project", "list", "--json").json() == []
    assert keyring_backend.get_password(SERVICE, f"{vo['id']}/secret_access_key") is None


def test_projects(gc, aws_vo):
    assert gc("project", "add", "Analysis").code == 0  # the only VO
    [p] = gc("project", "list", "--json").json()
    assert (p["name"], p["vo"]) == ("Analysis", "Lab")
    assert gc("project", "add", "Analysis").code == 2
    assert gc("project", "add", "X", "--vo", "Nope").code == 3
    assert gc("project", "remove", "Nope").code == 3
    assert gc("project", "remove", "Analysis").code == 0
    assert gc("project", "list", "--json").json() == []
