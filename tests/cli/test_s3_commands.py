"""``s3 cp | mv | rm | mb | rb | presign`` on moto over HTTP: through the transfer queue (checked
files, safe local names reported, conflicts asked or refused), the window's own bucket actions,
and presigned URLs that work when fetched."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest


@pytest.fixture
def s3(boto, aws_vo):
    client = boto("s3")
    client.create_bucket(Bucket="data")
    return client


def keys(s3, bucket: str = "data") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def body(s3, key: str, bucket: str = "data") -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_cp_up_and_down_recursive_and_a_hostile_key_lands_inside(gc, s3, tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"A" * 10)
    blob = os.urandom(300_000)
    (folder / "sub" / "b.bin").write_bytes(blob)
    up = gc("s3", "cp", "-r", str(folder), "s3://data/x/")
    assert up.code == 0, up.err
    assert keys(s3) == ["x/a.txt", "x/sub/b.bin"] and body(s3, "x/sub/b.bin") == blob
    assert "2 of 2 files" in up.out
    # one file: to a key of its own name, and into a "folder"
    assert gc("s3", "cp", str(folder / "a.txt"), "s3://data/single.txt").code == 0
    assert gc("s3", "cp", str(folder / "a.txt"), "s3://data/into/").code == 0
    assert {"single.txt", "into/a.txt"} <= set(keys(s3))
    # a key that climbs out of its prefix: mapped to a name inside the target folder, and said
    s3.put_object(Bucket="data", Key="x/../escape.txt", Body=b"evil")
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    out = work / "out"
    down = gc("s3", "cp", "-r", "s3://data/x/", str(out))
    assert down.code == 0, down.err
    assert (out / "a.txt").read_bytes() == b"A" * 10 and (out / "sub" / "b.bin").read_bytes() == blob
    landed = [p for p in out.rglob("*") if p.is_file() and p.read_bytes() == b"evil"]
    assert len(landed) == 1 and out in landed[0].parents
    assert not (work / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()
    line = next(x for x in down.out.splitlines() if x.startswith("renamed:"))
    assert "s3://data/x/../escape.txt" in line and str(landed[0]) in line
    assert not list(out.rglob("*.gridclient-part"))
    # one object down, to a new name in a folder made on the way
    got = tmp_path / "dl" / "got.txt"
    assert gc("s3", "cp", "s3://data/single.txt", str(got)).code == 0 and got.read_bytes() == b"A" * 10
    # JSON: the record of the job
    again = gc("s3", "cp", "-r", "s3://data/x/", str(tmp_path / "out2"), "--json").json()
    assert again["state"] == "done" and again["done"] == 3 and len(again["renamed"]) == 1


def test_cp_conflicts_refused_without_a_terminal_and_decided_by_options(gc, s3, tmp_path):
    src = tmp_path / "f.txt"
    src.write_bytes(b"new")
    s3.put_object(Bucket="data", Key="f.txt", Body=b"old")
    refused = gc("s3", "cp", str(src), "s3://data/")
    assert refused.code == 4 and "--overwrite" in refused.err and "s3://data/f.txt" in refused.err
    assert body(s3, "f.txt") == b"old"
    skipped = gc("s3", "cp", str(src), "s3://data/", "--skip-existing")
    assert skipped.code == 0 and "1 skipped" in skipped.out and body(s3, "f.txt") == b"old"
    assert gc("s3", "cp", str(src), "s3://data/", "--overwrite").code == 0 and body(s3, "f.txt") == b"new"
    src.write_bytes(b"newer")
    assert gc("s3", "cp", str(src), "s3://data/", "--yes").code == 0 and body(s3, "f.txt") == b"newer"
    assert gc("s3", "cp", str(tmp_path / "missing.txt"), "s3://data/").code == 3
    assert gc("s3", "cp", "s3://data/nothing.txt", str(tmp_path)).code == 3
    assert gc("s3", "cp", "s3://no-such-bucket/k", str(tmp_path)).code == 3
    assert gc("s3", "cp", str(src), "s3://no-such-bucket/").code == 3
    assert gc("s3", "cp", str(tmp_path), "s3://data/").code == 2  # a folder needs -r


def test_mv_deletes_the_source_only_after_a_checked_copy(gc, s3, tmp_path):
    s3.put_object(Bucket="data", Key="m/one.txt", Body=b"1" * 1000)
    s3.put_object(Bucket="data", Key="m/two.txt", Body=b"2" * 1000)
    # the copy cannot be made (a folder stands where the file is to go): the source stays
    (tmp_path / "blocked" / "one.txt").mkdir(parents=True)
    failed = gc("s3", "mv", "s3://data/m/one.txt", f"{tmp_path / 'blocked'}/", "--overwrite")
    assert failed.code == 1 and "m/one.txt" in keys(s3) and "failed" in failed.err
    assert gc("s3", "mv", "s3://data/m/one.txt", "s3://no-such-bucket-here/one.txt").code == 3
    assert "m/one.txt" in keys(s3)
    moved = gc("s3", "mv", "s3://data/m/one.txt", str(tmp_path / "one.txt"))
    assert moved.code == 0, moved.err
    assert (tmp_path / "one.txt").read_bytes() == b"1" * 1000 and "m/one.txt" not in keys(s3)
    # a local folder up: the files go, the copies are there
    local = tmp_path / "up"
    local.mkdir()
    (local / "c.txt").write_bytes(b"c")
    assert gc("s3", "mv", "-r", str(local), "s3://data/up/").code == 0
    assert "up/c.txt" in keys(s3) and not (local / "c.txt").exists()
    # within the bucket (S3 has no rename: copy, check, delete)
    assert gc("s3", "mv", "-r", "s3://data/m/", "s3://data/n/").code == 0
    assert "n/two.txt" in keys(s3) and not any(k.startswith("m/") for k in keys(s3))


def test_rm_of_a_prefix_needs_r_and_confirms_with_the_count(gc, s3):
    for i in range(3):
        s3.put_object(Bucket="data", Key=f"p/{i}.txt", Body=b"x" * 100)
    s3.put_object(Bucket="data", Key="keep.txt", Body=b"k")
    assert gc("s3", "rm", "s3://data/p").code == 2
    assert gc("s3", "rm", "s3://data/p/").code == 2
    refused = gc("s3", "rm", "-r", "s3://data/p/")
    assert refused.code == 4 and "3 objects" in refused.err and len(keys(s3)) == 4
    done = gc("s3", "rm", "-r", "s3://data/p", "--yes")
    assert done.code == 0, done.err
    assert keys(s3) == ["keep.txt"] and "3 files deleted" in done.out
    assert gc("s3", "rm", "s3://data/keep.txt").code == 4
    assert gc("s3", "rm", "s3://data/keep.txt", "--yes").code == 0 and keys(s3) == []
    assert gc("s3", "rm", "s3://data/gone.txt", "--yes").code == 3


def test_mb_checks_the_name_and_rb_offers_to_empty(gc, s3):
    bad = gc("s3", "mb", "s3://Bad_Name")
    assert bad.code == 2 and "lower-case" in bad.err
    assert gc("s3", "mb", "s3://made-here").code == 0
    assert "made-here" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert gc("s3", "mb", "--name", "made-too").code == 0  # as "Copy as command" gives it
    s3.put_object(Bucket="made-here", Key="a", Body=b"a")
    s3.put_object(Bucket="made-here", Key="b/c", Body=b"c")
    refused = gc("s3", "rb", "s3://made-here")
    assert refused.code == 4 and "2 objects" in refused.err
    assert "made-here" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert gc("s3", "rb", "s3://made-here", "--force").code == 0
    assert gc("s3", "rb", "s3://made-too", "--yes").code == 0
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"data"}
    assert gc("s3", "rb", "s3://never-made", "--yes").code == 3


def test_presign_get_and_put_urls_work(gc, s3):
    s3.put_object(Bucket="data", Key="dir/hello.txt", Body=b"hello over a link")
    ran = gc("s3", "presign", "s3://data/dir/hello.txt", "--expires", "600")
    assert ran.code == 0, ran.err
    url = ran.out.strip()
    assert "X-Amz-Expires=600" in url and "600 seconds" in ran.err
    assert urllib.request.urlopen(url, timeout=10).read() == b"hello over a link"
    put = gc("s3", "presign", "s3://data/dir/new.txt", "--put", "--json")
    assert put.code == 0, put.err
    link = put.json()["copy"]
    req = urllib.request.Request(link, data=b"sent with PUT", method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req, timeout=10).read()
    assert body(s3, "dir/new.txt") == b"sent with PUT"
    assert gc("s3", "presign", "s3://data/dir/hello.txt", "--expires", str(8 * 86400)).code == 2
    assert gc("s3", "presign", "s3://data/dir/absent.txt").code == 3
    assert gc("s3", "presign", "s3://data/dir/hello.txt", "--expiry", "7 days").code == 0


def test_cli_jobs_are_kept_for_the_window(gc, s3, tmp_path):
    src = tmp_path / "k.txt"
    src.write_bytes(b"k")
    assert gc("s3", "cp", str(src), "s3://data/k.txt").code == 0
    kept = json.loads((tmp_path / "ws" / "config" / "transfers.json").read_text())
    assert [j["state"] for j in kept["jobs"]] == ["done"]
