"""The key store: private keys of key pairs, 0600 in 0700 folders, names kept inside the store."""

from __future__ import annotations

import stat

import pytest

from gridclient.keys import key_path, store_key

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"


def test_store_key_writes_0600_atomically_in_0700_dirs(app_paths):
    path = store_key(app_paths, "vo-1", "my key", PEM)
    assert path == app_paths.keys / "vo-1" / "my key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(app_paths.keys.stat().st_mode) == 0o700
    assert path.read_text() == PEM + "\n"
    assert key_path(app_paths, "vo-1", "my key") == path
    # rewriting replaces it, and leaves no temporary file behind
    store_key(app_paths, "vo-1", "my key", PEM.replace("AAAA", "BBBB"))
    assert "BBBB" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["my key.pem"]


def test_key_path_is_none_when_not_held(app_paths):
    assert key_path(app_paths, "vo-1", "never-stored") is None


@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", ".", "", "x\\y", "nul\0byte", " padded"])
def test_names_that_would_escape_the_key_dir_are_rejected(app_paths, bad):
    with pytest.raises(ValueError):
        store_key(app_paths, "vo-1", bad, PEM)
    with pytest.raises(ValueError):
        key_path(app_paths, "vo-1", bad)
    with pytest.raises(ValueError):
        store_key(app_paths, bad, "k", PEM)
    assert not any(p.suffix == ".pem" for p in app_paths.data.rglob("*"))


def test_store_key_refuses_what_is_not_a_private_key(app_paths):
    with pytest.raises(ValueError):
        store_key(app_paths, "vo-1", "k", "ssh-ed25519 AAAA… a public key")
