"""S3's own actions (providers/aws/s3_actions.py) and the core's storage actions on the ``s3`` scheme
(gridclient/storage/actions.py), run through the core's ActionRunner on a real Workbench with the
real AWS provider against the shared moto server over HTTP.

The elements handed to the actions are the ones the tree shows: listed with ``wb.children`` from
the Storage category. What an action did is checked with a separate boto3 client on moto (or with
plain HTTP for presigned URLs), never with the code under test.

Open bucket… uses moto's IAM authorisation on the shared server (``POST /moto-api/reset-auth``
with "0" turns it on, with "inf" off again); the fixture that turns it on always turns it off.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from gridclient.elements import Element
from gridclient.interaction import ScriptedInteraction
from gridclient.listing import ListingFailed
from gridclient.registry import ExtensionRegistry
from gridclient.workbench import Workbench
from providers.aws import kinds as K
from providers.aws.s3_actions import bucket_name_problem, open_problem

pytest.importorskip("moto.server")

BUCKET = "lab-data"
STORAGE = Element(K.STORAGE, "p1/aws.storage", "Storage", has_children=True, icon="storage")


# -- helpers ---------------------------------------------------------------------------------------
def make_workbench(app_paths) -> Workbench:
    return Workbench(app_paths, registry=ExtensionRegistry().discover())


def save_aws_vo(wb: Workbench, moto: str, key_id: str = "AKIDTEST", secret: str = "x"):
    return wb.save_vo("Lab", "aws", {"region": "us-east-1", "credential_mode": "keys",
                                     "access_key_id": key_id, "secret_access_key": secret,
                                     "endpoint_url": moto})


def child(wb, vo, parent: Element, label: str) -> Element:
    found = [e for e in wb.children(vo, parent) if e.label == label]
    assert found, f"{label!r} is not among {[e.label for e in wb.children(vo, parent)]}"
    return found[0]


def bucket_el(wb, vo, name: str = BUCKET) -> Element:
    el = child(wb, vo, STORAGE, name)
    assert el.kind == K.BUCKET and el.ref["uri"] == f"s3://{name}/"
    return el


def keys(s3, bucket: str = BUCKET, prefix: str = "") -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", ()):
            out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def bucket_names(s3) -> set[str]:
    return {b["Name"] for b in s3.list_buckets().get("Buckets", [])}


def run(wb, action_id: str, elements, vo, interaction=None):
    outcome = wb.actions.run(action_id, list(elements), vo, interaction or ScriptedInteraction(), timeout=60)
    assert outcome is not None
    return outcome


def last_job(wb, jobs_before: int):
    """The transfer job the action submitted, waited for."""
    assert len(wb.transfers.jobs) == jobs_before + 1, "the action submitted no transfer job"
    job = wb.transfers.jobs[-1]
    assert wb.transfers.wait(job, timeout=60), f"the job did not end: {job.state} {job.message}"
    return job


def set_auth(moto: str, count: str) -> None:
    # text/plain: a form content type would have the server take the body as form fields
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset-auth", data=count.encode(),
                                                  headers={"Content-Type": "text/plain"}, method="POST")).read()


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def s3(boto):
    return boto("s3")


@pytest.fixture
def env(moto, s3, app_paths, keyring_backend):
    """A Workbench on the discovered providers, a VO on moto, and the bucket ``lab-data`` with
    ``top.txt`` and ``docs/`` (a.txt, b.txt, sub/c.txt)."""
    s3.create_bucket(Bucket=BUCKET)
    for key, body in {"top.txt": b"top", "docs/a.txt": b"alpha", "docs/b.txt": b"bravo bravo",
                      "docs/sub/c.txt": b"charlie"}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    wb = make_workbench(app_paths)
    vo = save_aws_vo(wb, moto)
    yield wb, vo
    wb.close()


# -- bucket names ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["my-data-2026", "a.b.c", "abc", "x" * 63, "0-9"])
def test_good_bucket_names_have_no_problem(name):
    assert bucket_name_problem(name) == ""


@pytest.mark.parametrize("name", ["ab", "UPPER", "-lead", "trail-", "a..b", "a.-b", "a-.b", "192.168.1.1",
                                  "xn--x", "sthree-data", "data-s3alias", "a_b", "x" * 64, ""])
def test_bad_bucket_names_are_told_in_a_sentence(name):
    problem = bucket_name_problem(name)
    assert problem and problem.endswith(".") and len(problem.split()) >= 2


def test_open_problem_reads_a_uri_or_a_name():
    assert open_problem("s3://my-data-2026/some/prefix") == ""
    assert open_problem("my-data-2026") == ""
    assert open_problem("s3://UPPER/x") == bucket_name_problem("UPPER")
    assert open_problem("") == "a bucket name is needed."


# -- New bucket… -----------------------------------------------------------------------------------
def test_new_bucket_in_the_vo_region_and_in_another(env, s3):
    wb, vo = env
    asked = ScriptedInteraction(ask_answers=[{"name": "my-data-2026", "region": ""}])
    outcome = run(wb, "aws.s3.new_bucket", [STORAGE], vo, asked)
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == "self"
    assert "my-data-2026" in bucket_names(s3)
    assert asked.log[0][0] == "ask" and asked.log[0][1].startswith("New bucket")

    outcome = run(wb, "aws.s3.new_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"name": "eu-data-2026", "region": "eu-west-1"}]))
    assert outcome.state == "done", outcome.message
    assert "eu-west-1" in outcome.message
    assert s3.get_bucket_location(Bucket="eu-data-2026")["LocationConstraint"] == "eu-west-1"
    # the tree shows both
    labels = {e.label for e in wb.children(vo, STORAGE) if e.kind == K.BUCKET}
    assert {"my-data-2026", "eu-data-2026", BUCKET} <= labels
    # a name of one's own that exists is told, not "made" (us-east-1 answers 200 to it)
    outcome = run(wb, "aws.s3.new_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"name": "my-data-2026", "region": ""}]))
    assert outcome.state == "failed" and "exists already" in outcome.message


@pytest.mark.parametrize("name", ["UPPER", "a..b", "ab"])
def test_new_bucket_with_a_bad_name_fails_and_makes_nothing(env, s3, name):
    wb, vo = env
    before = bucket_names(s3)
    outcome = run(wb, "aws.s3.new_bucket", [STORAGE], vo, ScriptedInteraction(ask_answers=[{"name": name}]))
    assert outcome.state == "failed"
    assert bucket_name_problem(name) in outcome.message and name in outcome.message
    assert bucket_names(s3) == before


def test_new_bucket_declined_at_the_form_makes_nothing(env, s3):
    wb, vo = env
    before = bucket_names(s3)
    outcome = run(wb, "aws.s3.new_bucket", [STORAGE], vo, ScriptedInteraction(ask_answers=[None]))
    assert outcome.state == "declined"
    assert bucket_names(s3) == before


# -- Open bucket… on an account that may not list its buckets ------------------------------------
SHARED = "shared-data"


@pytest.fixture
def restricted(moto, boto, app_paths, keyring_backend):
    """An IAM user allowed s3:* on ``shared-data`` only and denied ListAllMyBuckets, moto's IAM
    authorisation switched on (always off again after), and a Workbench whose VO uses its keys."""
    s3, iam = boto("s3"), boto("iam")
    s3.create_bucket(Bucket=SHARED)
    s3.put_object(Bucket=SHARED, Key="some/prefix/report.txt", Body=b"quarterly")
    s3.create_bucket(Bucket="someone-elses")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="one-bucket", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{SHARED}", f"arn:aws:s3:::{SHARED}/*"]},
            {"Effect": "Deny", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        ]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    wb = make_workbench(app_paths)
    vo = save_aws_vo(wb, moto, key["AccessKeyId"], key["SecretAccessKey"])
    set_auth(moto, "0")
    try:
        yield wb, vo
    finally:
        set_auth(moto, "inf")
        wb.close()


def test_auth_is_really_on_for_the_restricted_user(restricted, moto):
    import boto3
    from botocore.exceptions import ClientError

    wb, vo = restricted
    secret = wb.secrets.get(vo.id, "secret_access_key")
    own = boto3.client("s3", endpoint_url=moto, region_name="us-east-1",
                       aws_access_key_id=vo.settings["access_key_id"], aws_secret_access_key=secret)
    assert own.list_objects_v2(Bucket=SHARED)["KeyCount"] == 1
    with pytest.raises(ClientError) as denied:
        own.list_buckets()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        own.list_objects_v2(Bucket="someone-elses")


def test_open_bucket_is_remembered_and_shown_after_a_reload(restricted, app_paths):
    wb, vo = restricted
    with pytest.raises(ListingFailed) as failed:
        wb.children(vo, STORAGE)
    assert "Access denied" in str(failed.value) and "ListBuckets" in str(failed.value)

    outcome = run(wb, "aws.s3.open_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"uri": f"s3://{SHARED}/some/prefix"}]))
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == "self"
    assert vo.settings["open_buckets"] == [f"s3://{SHARED}/some/prefix/"]
    # opening it again keeps one entry
    outcome = run(wb, "aws.s3.open_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"uri": f"{SHARED}/some/prefix/"}]))
    assert outcome.state == "done", outcome.message
    assert vo.settings["open_buckets"] == [f"s3://{SHARED}/some/prefix/"]
    wb.close()

    again = make_workbench(app_paths)
    try:
        vo2 = again.workspace.vos[vo.id]
        assert vo2.settings["open_buckets"] == [f"s3://{SHARED}/some/prefix/"]
        shown = again.children(vo2, STORAGE)
        opened = [e for e in shown if e.kind == K.BUCKET]
        assert [e.ref["uri"] for e in opened] == [f"s3://{SHARED}/some/prefix/"]
        assert opened[0].ref["bucket"] == SHARED and opened[0].ref["prefix"] == "some/prefix/"
        info = [e for e in shown if e.kind == "info"]
        assert len(info) == 1 and "may not list" in info[0].label
        assert not any(e.label == "someone-elses" for e in shown)
        # and what is under it lists with the same restricted keys
        inside = again.children(vo2, opened[0])
        assert [(e.kind, e.ref["uri"]) for e in inside] == [(K.OBJECT, f"s3://{SHARED}/some/prefix/report.txt")]
    finally:
        again.close()


def test_open_bucket_is_shown_at_once_in_the_same_workbench(restricted):
    """What the window does: Open bucket… refreshes Storage ("self") on the same Workbench."""
    wb, vo = restricted
    outcome = run(wb, "aws.s3.open_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"uri": f"s3://{SHARED}"}]))
    assert outcome.state == "done", outcome.message
    assert vo.settings["open_buckets"] == [f"s3://{SHARED}/"]
    shown = wb.children(vo, STORAGE)  # the refresh the outcome asks for
    assert [e.ref["uri"] for e in shown if e.kind == K.BUCKET] == [f"s3://{SHARED}/"]
    assert any(e.kind == "info" and "may not list" in e.label for e in shown)


def test_open_bucket_the_account_may_not_read_fails_and_is_not_remembered(restricted):
    wb, vo = restricted
    outcome = run(wb, "aws.s3.open_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"uri": "s3://someone-elses"}]))
    assert outcome.state == "failed"
    assert "Access denied" in outcome.message
    assert "open_buckets" not in vo.settings


def test_open_bucket_with_a_bad_name_fails(env):
    wb, vo = env
    outcome = run(wb, "aws.s3.open_bucket", [STORAGE], vo,
                  ScriptedInteraction(ask_answers=[{"uri": "s3://Bad_Name/x"}]))
    assert outcome.state == "failed" and bucket_name_problem("Bad_Name") in outcome.message
    assert "open_buckets" not in vo.settings


# -- Delete bucket… --------------------------------------------------------------------------------
@pytest.fixture
def three(env, s3):
    s3.create_bucket(Bucket="three-objects")
    for i in range(3):
        s3.put_object(Bucket="three-objects", Key=f"f{i}/obj{i}.txt", Body=b"x" * (i + 1))
    return env


def test_delete_bucket_confirmed_empties_and_deletes_it(three, s3):
    wb, vo = three
    el = bucket_el(wb, vo, "three-objects")
    asked = ScriptedInteraction(confirm_answers=[True])
    outcome = run(wb, "aws.s3.delete_bucket", [el], vo, asked)
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == "parent"
    assert "three-objects" not in bucket_names(s3)
    assert BUCKET in bucket_names(s3)  # the other bucket is untouched
    confirms = [entry for entry in asked.log if entry[0] == "confirm"]
    assert len(confirms) == 1 and "3 objects" in confirms[0][2]


def test_delete_a_versioned_bucket_removes_its_older_versions_too(env, s3):
    """Deleting the objects of a versioned bucket leaves older versions and delete markers, and
    DeleteBucket refuses a bucket that holds them (BucketNotEmpty)."""
    wb, vo = env
    s3.create_bucket(Bucket="versioned-one")
    s3.put_bucket_versioning(Bucket="versioned-one", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket="versioned-one", Key="notes.txt", Body=body)
    s3.put_object(Bucket="versioned-one", Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket="versioned-one", Key="gone.txt")  # a delete marker over one version
    asked = ScriptedInteraction(confirm_answers=[True])
    outcome = run(wb, "aws.s3.delete_bucket", [bucket_el(wb, vo, "versioned-one")], vo, asked)
    assert outcome.state == "done", outcome.message
    assert "versioned-one" not in bucket_names(s3)
    assert "5 older versions or delete markers" in asked.log[0][2]


def test_delete_bucket_declined_keeps_it_and_its_objects(three, s3):
    wb, vo = three
    el = bucket_el(wb, vo, "three-objects")
    outcome = run(wb, "aws.s3.delete_bucket", [el], vo, ScriptedInteraction(confirm_answers=[False]))
    assert outcome.state in ("declined", "cancelled")
    assert "three-objects" in bucket_names(s3)
    assert sorted(keys(s3, "three-objects")) == ["f0/obj0.txt", "f1/obj1.txt", "f2/obj2.txt"]


def test_delete_an_empty_bucket_asks_and_deletes_it(env, s3):
    wb, vo = env
    s3.create_bucket(Bucket="empty-one")
    asked = ScriptedInteraction(confirm_answers=[True])
    outcome = run(wb, "aws.s3.delete_bucket", [bucket_el(wb, vo, "empty-one")], vo, asked)
    assert outcome.state == "done", outcome.message
    assert "empty-one" not in bucket_names(s3)
    assert asked.log[0][0] == "confirm" and "empty" in asked.log[0][2]


# -- Copy presigned URL… ---------------------------------------------------------------------------
def test_presigned_get_downloads_the_object(env):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    obj = child(wb, vo, docs, "b.txt")
    assert obj.kind == K.OBJECT and obj.ref["uri"] == f"s3://{BUCKET}/docs/b.txt"
    outcome = run(wb, "aws.s3.presign", [obj], vo,
                  ScriptedInteraction(ask_answers=[{"method": "download (GET)", "name": "", "expiry": "1 hour"}]))
    assert outcome.state == "done", outcome.message
    assert outcome.copy.startswith(("http://", "https://"))
    assert urllib.request.urlopen(outcome.copy).read() == b"bravo bravo"


def test_presigned_put_into_a_folder_stores_the_bytes(env, s3):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    outcome = run(wb, "aws.s3.presign", [docs], vo, ScriptedInteraction(
        ask_answers=[{"method": "upload (PUT)", "name": "new.txt", "expiry": "15 minutes"}]))
    assert outcome.state == "done", outcome.message
    assert f"s3://{BUCKET}/docs/new.txt" in outcome.message
    body = b"put through a presigned URL\n" * 10
    # a binary content type, as curl -T or a browser's file upload sends: urllib's default
    # (a form) would have moto's server read the body as form fields
    put = urllib.request.Request(outcome.copy, data=body, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(put) as resp:
        assert resp.status == 200
    assert s3.get_object(Bucket=BUCKET, Key="docs/new.txt")["Body"].read() == body


@pytest.mark.parametrize("expiry, seconds", [("7 days", 604800), ("1 hour", 3600)])
def test_presigned_url_is_sigv4_with_the_chosen_expiry(env, expiry, seconds):
    """The manifest offers up to 7 days, SigV4's limit: the URL is SigV4 (X-Amz-Expires)."""
    wb, vo = env
    obj = child(wb, vo, bucket_el(wb, vo), "top.txt")
    outcome = run(wb, "aws.s3.presign", [obj], vo,
                  ScriptedInteraction(ask_answers=[{"method": "download (GET)", "expiry": expiry}]))
    assert outcome.state == "done", outcome.message
    assert expiry in outcome.message
    assert f"X-Amz-Expires={seconds}" in outcome.copy, outcome.copy
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in outcome.copy
    assert urllib.request.urlopen(outcome.copy).read() == b"top"


def test_presigned_get_on_a_folder_is_refused_in_words(env):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    outcome = run(wb, "aws.s3.presign", [docs], vo,
                  ScriptedInteraction(ask_answers=[{"method": "download (GET)", "expiry": "1 hour"}]))
    assert outcome.state == "failed" and "for an object" in outcome.message
    assert outcome.copy == ""


# -- the core's storage actions on S3 --------------------------------------------------------------
def test_storage_actions_are_offered_on_the_s3_kinds(env):
    wb, vo = env
    bucket = bucket_el(wb, vo)
    docs = child(wb, vo, bucket, "docs/")
    obj = child(wb, vo, docs, "a.txt")
    reg = wb.registry
    assert {"storage.upload_files", "storage.upload_folder", "storage.new_folder", "storage.download",
            "storage.copy_uri"} <= {a.id for a in reg.actions_for([bucket])}
    assert "storage.delete" not in {a.id for a in reg.actions_for([bucket])}  # Delete bucket… is S3's own
    assert "storage.rename" not in {a.id for a in reg.actions_for([bucket])}
    assert {"storage.rename", "storage.delete", "storage.upload_files"} <= {a.id for a in reg.actions_for([docs])}
    on_obj = {a.id for a in reg.actions_for([obj])}
    assert {"storage.download", "storage.rename", "storage.delete", "storage.copy_uri", "aws.s3.presign"} <= on_obj
    assert "storage.upload_files" not in on_obj and "storage.new_folder" not in on_obj


def test_upload_files_into_a_folder(env, s3, tmp_path):
    wb, vo = env
    one, two = tmp_path / "one.bin", tmp_path / "two.txt"
    one.write_bytes(bytes(range(256)) * 40)
    two.write_text("two\n")
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.upload_files", [docs], vo,
                  ScriptedInteraction(ask_answers=[{"files": [str(one), str(two)]}]))
    assert outcome.state == "done", outcome.message
    job = last_job(wb, before)
    assert job.state == "done", job.message
    stored = keys(s3, prefix="docs/")
    assert stored["docs/one.bin"] == one.read_bytes()
    assert stored["docs/two.txt"] == b"two\n"


def test_upload_files_that_are_not_there_fails_before_a_job(env, tmp_path):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.upload_files", [docs], vo,
                  ScriptedInteraction(ask_answers=[{"files": [str(tmp_path / "absent.txt")]}]))
    assert outcome.state == "failed" and "absent.txt" in outcome.message
    assert len(wb.transfers.jobs) == before


def test_upload_folder_keeps_relative_paths(env, s3, tmp_path):
    wb, vo = env
    src = tmp_path / "results"
    (src / "run1" / "deep").mkdir(parents=True)
    (src / "summary.csv").write_bytes(b"a,b\n1,2\n")
    (src / "run1" / "log.txt").write_bytes(b"log one")
    (src / "run1" / "deep" / "x.dat").write_bytes(b"\x00\x01\x02")
    bucket = bucket_el(wb, vo)
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.upload_folder", [bucket], vo, ScriptedInteraction(ask_answers=[{"folder": str(src)}]))
    assert outcome.state == "done", outcome.message
    job = last_job(wb, before)
    assert job.state == "done", job.message
    assert keys(s3, prefix="results/") == {"results/summary.csv": b"a,b\n1,2\n",
                                            "results/run1/log.txt": b"log one",
                                            "results/run1/deep/x.dat": b"\x00\x01\x02"}


def test_download_a_folder_into_a_local_folder(env, tmp_path):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    into = tmp_path / "downloads"
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.download", [docs], vo, ScriptedInteraction(ask_answers=[{"folder": str(into)}]))
    assert outcome.state == "done", outcome.message
    job = last_job(wb, before)
    assert job.state == "done", job.message
    got = {str(p.relative_to(into)): p.read_bytes() for p in into.rglob("*") if p.is_file()}
    assert got == {"docs/a.txt": b"alpha", "docs/b.txt": b"bravo bravo", "docs/sub/c.txt": b"charlie"}


def test_new_folder_makes_a_marker_and_refuses_a_slash(env, s3):
    wb, vo = env
    bucket = bucket_el(wb, vo)
    outcome = run(wb, "storage.new_folder", [bucket], vo, ScriptedInteraction(ask_answers=[{"name": "fresh"}]))
    assert outcome.state == "done", outcome.message
    assert outcome.refresh == "self"
    assert s3.head_object(Bucket=BUCKET, Key="fresh/")["ContentLength"] == 0
    fresh = child(wb, vo, bucket, "fresh/")
    assert fresh.kind == K.FOLDER and wb.children(vo, fresh) == []

    before = set(keys(s3))
    outcome = run(wb, "storage.new_folder", [fresh], vo, ScriptedInteraction(ask_answers=[{"name": "a/b"}]))
    assert outcome.state == "failed"
    assert "“a/b”" in outcome.message and "/" in outcome.message
    assert set(keys(s3)) == before
    # a folder (or an object) of that name is there already: told, nothing made
    for name in ("docs", "top.txt"):
        outcome = run(wb, "storage.new_folder", [bucket], vo, ScriptedInteraction(ask_answers=[{"name": name}]))
        assert outcome.state == "failed" and "there already" in outcome.message, outcome.message
    assert set(keys(s3)) == before


def test_rename_an_object(env, s3):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    obj = child(wb, vo, docs, "a.txt")
    asked = ScriptedInteraction(ask_answers=[{"name": "alpha.txt"}])
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.rename", [obj], vo, asked)
    assert outcome.state == "done", outcome.message
    assert asked.log[0][:2] == ("ask", "Rename") and f"s3://{BUCKET}/docs/a.txt" in asked.log[0][2]
    job = last_job(wb, before)
    assert job.state == "done", job.message
    stored = keys(s3, prefix="docs/")
    assert "docs/a.txt" not in stored
    assert stored["docs/alpha.txt"] == b"alpha"
    assert stored["docs/b.txt"] == b"bravo bravo"  # its neighbours stay


def test_rename_a_folder_moves_every_key_under_it(env, s3):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.rename", [docs], vo, ScriptedInteraction(ask_answers=[{"name": "papers"}]))
    assert outcome.state == "done", outcome.message
    job = last_job(wb, before)
    assert job.state == "done", job.message
    assert keys(s3) == {"top.txt": b"top", "papers/a.txt": b"alpha", "papers/b.txt": b"bravo bravo",
                        "papers/sub/c.txt": b"charlie"}


def test_rename_declined_or_to_a_bad_name_changes_nothing(env, s3):
    wb, vo = env
    obj = child(wb, vo, bucket_el(wb, vo), "top.txt")
    before = keys(s3)
    outcome = run(wb, "storage.rename", [obj], vo, ScriptedInteraction(ask_answers=[None]))
    assert outcome.state == "cancelled"
    outcome = run(wb, "storage.rename", [obj], vo, ScriptedInteraction(ask_answers=[{"name": "x/y"}]))
    assert outcome.state == "failed" and "“x/y”" in outcome.message
    assert keys(s3) == before


def test_copy_uri_of_an_object_and_of_several(env):
    wb, vo = env
    bucket = bucket_el(wb, vo)
    docs = child(wb, vo, bucket, "docs/")
    obj = child(wb, vo, docs, "a.txt")
    outcome = run(wb, "storage.copy_uri", [obj], vo)
    assert outcome.state == "done" and outcome.copy == f"s3://{BUCKET}/docs/a.txt"
    outcome = run(wb, "storage.copy_uri", [obj, docs], vo)
    assert outcome.copy == f"s3://{BUCKET}/docs/a.txt\ns3://{BUCKET}/docs/"


def test_delete_a_folder_confirmed_removes_everything_under_it(env, s3):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    asked = ScriptedInteraction(confirm_answers=[True])
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.delete", [docs], vo, asked)
    assert outcome.state == "done", outcome.message
    confirms = [entry for entry in asked.log if entry[0] == "confirm"]
    assert len(confirms) == 1
    assert f"s3://{BUCKET}/docs/" in confirms[0][2] and "3 files" in confirms[0][2]
    job = last_job(wb, before)
    assert job.state == "done", job.message
    assert keys(s3) == {"top.txt": b"top"}


def test_delete_a_folder_declined_deletes_nothing(env, s3):
    wb, vo = env
    docs = child(wb, vo, bucket_el(wb, vo), "docs/")
    before_keys = keys(s3)
    before = len(wb.transfers.jobs)
    asked = ScriptedInteraction(confirm_answers=[False])
    outcome = run(wb, "storage.delete", [docs], vo, asked)
    assert outcome.state in ("declined", "cancelled")
    assert "3 files" in asked.log[0][2]
    assert len(wb.transfers.jobs) == before
    assert keys(s3) == before_keys


def test_delete_an_object_says_its_name(env, s3):
    wb, vo = env
    obj = child(wb, vo, bucket_el(wb, vo), "top.txt")
    asked = ScriptedInteraction(confirm_answers=[True])
    before = len(wb.transfers.jobs)
    outcome = run(wb, "storage.delete", [obj], vo, asked)
    assert outcome.state == "done", outcome.message
    assert asked.log[0][2].startswith(f"Delete s3://{BUCKET}/top.txt?")
    job = last_job(wb, before)
    assert job.state == "done", job.message
    assert "top.txt" not in keys(s3)


# -- filter, details, tags, versions ---------------------------------------------------------------
def test_filter_asks_the_server_for_names_beginning_with_the_text(env, s3):
    wb, vo = env
    for i in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"2024-06-{i}.csv", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="2023-01-01.csv", Body=b"x")
    bucket = bucket_el(wb, vo)
    outcome = run(wb, "aws.s3.filter", [bucket], vo, ScriptedInteraction(ask_answers=[{"filter": "2024-06"}]))
    assert outcome.ok and outcome.ref == {"filter": "2024-06"} and outcome.refresh == "self"
    bucket.ref.update(outcome.ref)  # as the window merges it into the row
    shown = [e.label for e in wb.children(vo, bucket) if e.kind == K.OBJECT]
    assert shown == ["2024-06-0.csv", "2024-06-1.csv", "2024-06-2.csv"]
    assert any("beginning with" in e.label for e in wb.children(vo, bucket) if e.kind == "info")
    outcome = run(wb, "aws.s3.filter", [bucket], vo, ScriptedInteraction(ask_answers=[{"filter": ""}]))
    bucket.ref.update(outcome.ref)
    assert "2023-01-01.csv" in [e.label for e in wb.children(vo, bucket)]


def test_details_put_metadata_and_tags_into_the_properties(env, s3):
    wb, vo = env
    s3.put_object(Bucket=BUCKET, Key="meta.txt", Body=b"m", ContentType="text/plain",
                  Metadata={"owner": "ana"}, Tagging="project=atlas")
    obj = child(wb, vo, bucket_el(wb, vo), "meta.txt")
    outcome = run(wb, "aws.s3.details", [obj], vo)
    assert outcome.ok, outcome.message
    props = outcome.properties
    assert props["ContentType"] == "text/plain" and props["Metadata.owner"] == "ana"
    assert props["Tag:project"] == "atlas"


def test_edit_tags_saves_them_and_a_bad_pair_is_refused(env, s3):
    wb, vo = env
    obj = child(wb, vo, bucket_el(wb, vo), "top.txt")
    outcome = run(wb, "aws.s3.tags", [obj], vo,
                  ScriptedInteraction(ask_answers=[{"tags": "project=atlas; owner = ana"}]))
    assert outcome.ok, outcome.message
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key="top.txt")["TagSet"]}
    assert tags == {"project": "atlas", "owner": "ana"}
    outcome = run(wb, "aws.s3.tags", [obj], vo, ScriptedInteraction(ask_answers=[{"tags": "no pair here"}]))
    assert outcome.state == "failed" and "key=value" in outcome.message
    assert len(s3.get_object_tagging(Bucket=BUCKET, Key="top.txt")["TagSet"]) == 2  # unchanged


def test_versions_download_an_old_one_and_make_it_current(env, s3, tmp_path):
    wb, vo = env
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="doc.txt", Body=b"first")
    s3.put_object(Bucket=BUCKET, Key="doc.txt", Body=b"second, longer")
    obj = child(wb, vo, bucket_el(wb, vo), "doc.txt")
    asked = ScriptedInteraction(ask_answers=[None])
    run(wb, "aws.s3.versions", [obj], vo, asked)
    choices = [line for line in asked.log if line[0] == "ask"]
    assert choices and "2 versions" in choices[0][2]

    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="doc.txt")["Versions"]
    vid = next(v["VersionId"] for v in versions if v["Size"] == len(b"first"))  # the first one put
    from providers.aws import s3_actions

    real_ask = ScriptedInteraction.ask

    def pick(self, title, fields, *, text=""):  # a person choosing that version in the list
        label = next(c for c in fields[0].choices if c.endswith(vid))
        self.ask_answers = [{"version": label, "do": self.do, "folder": str(tmp_path)}]
        return real_ask(self, title, fields, text=text)

    class Picker(ScriptedInteraction):
        do = "Download it to…"
        ask = pick

    outcome = run(wb, "aws.s3.versions", [obj], vo, Picker())
    assert outcome.ok, outcome.message
    saved = [p for p in tmp_path.iterdir() if p.name.startswith("doc.txt.")]
    assert len(saved) == 1 and saved[0].read_bytes() == b"first"
    Picker.do = "Make it the current version"
    outcome = run(wb, "aws.s3.versions", [obj], vo, Picker())
    assert outcome.ok and s3.get_object(Bucket=BUCKET, Key="doc.txt")["Body"].read() == b"first"
    assert s3_actions.parse_tags("a=1") == [{"Key": "a", "Value": "1"}]
