"""Secrets go only to a safe keyring backend, through the real keyring API."""

from __future__ import annotations

import pytest
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from gridclient.secrets import (MemoryKeyring, NoSafeKeyring, SecretStore, WrongMasterPassword, backend_is_safe,
                                encrypted_file_keyring)


def test_no_silent_plaintext_fallback(tmp_path):
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "plain.cfg")
    for backend in (plain, fail.Keyring()):
        store = SecretStore(backend)
        assert not store.safe
        with pytest.raises(NoSafeKeyring, match="named profile"):
            store.set("vo1", "secret_access_key", "abc")
    assert not (tmp_path / "plain.cfg").exists()


def test_encrypted_file_keyring_round_trip_and_wrong_password(tmp_path):
    path = tmp_path / "secrets.cfg"
    store = SecretStore(encrypted_file_keyring(path, "correct horse"))
    assert store.safe
    store.set("vo1", "secret_access_key", "wJalrXUtnFEMI-secret")
    assert b"wJalrXUtnFEMI-secret" not in path.read_bytes()
    assert SecretStore(encrypted_file_keyring(path, "correct horse")).get("vo1", "secret_access_key") == \
        "wJalrXUtnFEMI-secret"
    with pytest.raises(WrongMasterPassword):
        encrypted_file_keyring(path, "battery staple")


def test_default_keyring_is_used_through_the_keyring_api(keyring_backend):
    import keyring

    store = SecretStore()
    store.set("vo2", "proxy_password", "pw")
    assert keyring.get_password("gridclient", "vo2/proxy_password") == "pw"
    store.delete("vo2", "proxy_password")
    assert keyring.get_password("gridclient", "vo2/proxy_password") is None


def test_memory_keyring_is_safe_and_forgets():
    assert backend_is_safe(MemoryKeyring())
    s = SecretStore(MemoryKeyring())
    s.set("v", "k", "x")
    assert s.get("v", "k") == "x"
