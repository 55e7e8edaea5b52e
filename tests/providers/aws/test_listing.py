"""The AWS provider end to end on moto over HTTP: VO with secrets in the keyring, listings, cache."""

from __future__ import annotations

from gridclient.elements import Element
from gridclient.listing import Cached, Page, Replace
from gridclient.workbench import Workbench
from gridclient.workspace import GridProject


def make_vo(wb: Workbench, moto: str, name: str = "Sandbox", **extra):
    values = {"region": "us-east-1", "credential_mode": "keys", "access_key_id": "AKIDTEST",
              "secret_access_key": "s3cr3t-never-in-a-file", "endpoint_url": moto, **extra}
    return wb.save_vo(name, "aws", values)


def test_vo_secret_only_in_keyring(app_paths, keyring_backend, moto):
    wb = Workbench(app_paths)
    vo = make_vo(wb, moto, proxy_password="pr0xy-pw-never-in-a-file", proxy_user="u")
    wb.workspace.add_project(GridProject("P", vo.id))
    assert "secret_access_key" not in vo.settings
    assert sorted(vo.secret_fields) == ["proxy_password", "secret_access_key"]
    assert wb.secrets.get(vo.id, "secret_access_key") == "s3cr3t-never-in-a-file"
    # list a node so the cache is written too
    cat = Element("aws.computing", "x", "Computing", has_children=True)
    wb.children(vo, cat)
    wb.close()
    for path in app_paths.config.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"s3cr3t-never-in-a-file" not in data, path
            assert b"pr0xy-pw-never-in-a-file" not in data, path
    # and a fresh workbench reads the VO back with its secret from the keyring
    wb2 = Workbench(app_paths)
    vo2 = wb2.workspace.vos[vo.id]
    assert wb2.tokens.secrets_of(vo2)["secret_access_key"] == "s3cr3t-never-in-a-file"
    wb2.close()


def test_listing_pages_then_cache_then_revalidate(app_paths, keyring_backend, boto, moto):
    s3 = boto("s3")
    s3.create_bucket(Bucket="bucket-one")
    for i in range(5):
        s3.put_object(Bucket="bucket-one", Key=f"dir/f{i}.txt", Body=b"x" * i)
    s3.put_object(Bucket="bucket-one", Key="top.txt", Body=b"hello")
    wb = Workbench(app_paths)
    vo = make_vo(wb, moto)
    bucket = Element("aws.s3.bucket", "bucket-one", "bucket-one", has_children=True, ref={"bucket": "bucket-one", "prefix": ""})
    events = list(wb.listing(vo, bucket))
    assert [type(e) for e in events] == [Page]
    labels = [c.label for c in events[0].children]
    assert labels == ["dir/", "top.txt"]
    folder = events[0].children[0]
    assert [c.label for c in wb.children(vo, folder)] == [f"f{i}.txt" for i in range(5)]
    # second time: the cached listing first, then the live one as a replacement
    s3.put_object(Bucket="bucket-one", Key="new.txt", Body=b"n")
    events = list(wb.listing(vo, bucket))
    assert [type(e) for e in events] == [Cached, Replace]
    assert [c.label for c in events[0].children] == ["dir/", "top.txt"]
    assert [c.label for c in events[1].children] == ["dir/", "new.txt", "top.txt"]
    # refresh off: only the cache answers, no network
    wb.workspace.preferences["live_refresh"] = False
    events = list(wb.listing(vo, bucket))
    assert [type(e) for e in events] == [Cached]
    wb.close()


def test_connection_test_and_wrong_credentials(app_paths, keyring_backend, moto):
    import urllib.request

    wb = Workbench(app_paths)
    vo = make_vo(wb, moto)
    assert "Connected" in wb.tokens.test(vo)
    # moto's IAM auth on: an unknown key is refused like AWS would
    def set_auth(count: str) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{moto}/moto-api/reset-auth", data=count.encode(), method="POST",
            headers={"Content-Type": "text/plain"})).read()

    set_auth("0")
    try:
        try:
            wb.tokens.test(vo)
        except Exception as exc:  # noqa: BLE001
            msg = wb.tokens.explain(vo, exc)
        else:
            raise AssertionError("a wrong key was accepted")
        assert "access key id or secret access key was not accepted" in msg
    finally:
        set_auth("inf")
    # unreachable endpoint
    bad = make_vo(wb, "http://127.0.0.1:9", name="Nowhere")
    try:
        wb.tokens.test(bad)
    except Exception as exc:  # noqa: BLE001
        assert "Could not reach the endpoint http://127.0.0.1:9" in wb.tokens.explain(bad, exc)
    else:
        raise AssertionError("an unreachable endpoint answered")
    wb.close()
