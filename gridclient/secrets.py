"""Secrets live in the OS keyring, through the `keyring` API, and nowhere else.

Workspace files hold a reference (service + user name), never the secret. Where the OS offers no
safe keyring backend (a bare server, a container) we say so and offer only choices that keep the
secret safe: credentials the app does not keep (a named profile, where the VO type offers one), or
keyrings.alt's encrypted file keyring behind a master password. keyrings.alt's PlaintextKeyring
is never used, even where it is the default backend.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# keyring itself is imported where it is first used: with its dependencies it costs ~35 ms,
# a sixth of start-up, and nothing at start-up needs a secret

log = logging.getLogger(__name__)

SERVICE = "gridclient"

# Backends that do not keep a secret safe: they fail, drop it, or write it in clear text.
_UNSAFE = {
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
    # keyrings.alt's own EncryptedKeyring asks for its password with getpass on a terminal;
    # we only use it through encrypted_file_keyring(), which unlocks it with a password we asked for
    "keyrings.alt.file.EncryptedKeyring",
}


class NoSafeKeyring(RuntimeError):
    """Raised when a secret would have to be stored but no safe keyring backend is set."""


class WrongMasterPassword(ValueError):
    pass


class SecretUnavailable(RuntimeError):
    """A VO's stored secret cannot be had: the encrypted keyring is locked, or the entry is gone.

    A token is then not made at all: boto3 would otherwise fall back to whatever credentials the
    environment holds, and act on another account than the VO's.
    """


def _qualname(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def backend_is_safe(backend: KeyringBackend) -> bool:
    if isinstance(backend, MemoryKeyring):
        return True
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        # the chainer writes to its highest-priority backend
        backends = list(backend.backends)
        return bool(backends) and backend_is_safe(backends[0])
    return _qualname(backend) not in _UNSAFE


def describe_backend(backend: KeyringBackend) -> str:
    name = getattr(backend, "name", _qualname(backend))
    return str(name)


def _pycryptodome_over_ctypes() -> None:
    """Have pycryptodomex load its C code through ctypes rather than cffi.

    Where cffi is installed, pycryptodomex's first import parses the C declarations of every
    native module it loads with cffi's pure-Python C parser (pycparser): ~35-45 ms of a command's
    start, on the way to the first secret. ctypes — pycryptodome's other, equally supported
    backend — loads the same libraries without parsing anything. The backend is chosen once, when
    ``Cryptodome.Util._raw_api`` is first imported; if cffi or that module is imported already (a
    window whose terminal uses cffi), nothing changes.
    """
    if "Cryptodome.Util._raw_api" in sys.modules or "cffi" in sys.modules:
        return
    sys.modules["cffi"] = None  # type: ignore[assignment] - `import cffi` raises ImportError meanwhile
    try:
        import Cryptodome.Util._raw_api  # noqa: F401
    except ImportError:
        pass  # no pycryptodomex: keyrings.alt says so when it is used
    finally:
        if "cffi" in sys.modules and sys.modules["cffi"] is None:
            del sys.modules["cffi"]


#: the master password of the encrypted keyring, for the command line and the window alike (a
#: script, a CI job, a session started from a password manager)
MASTER_PASSWORD_ENV = "GRIDCLIENT_MASTER_PASSWORD"

PBKDF2_ROUNDS = 1000  # pycryptodome's PBKDF2 default, which keyrings.alt's EncryptedKeyring relies on


def encrypted_file_keyring(path: str | Path, master_password: str) -> KeyringBackend:
    """keyrings.alt's EncryptedKeyring at ``path``, unlocked (or created) with ``master_password``.

    Raises WrongMasterPassword when the file exists and the password does not open it.
    """
    _pycryptodome_over_ctypes()
    from keyrings.alt.file import EncryptedKeyring

    class UnlockedEncryptedKeyring(EncryptedKeyring):
        @staticmethod
        def _get_crypto_impl():
            # keyrings.alt's, less the Protocol.KDF module: the key is derived by hashlib below
            try:
                import Cryptodome.Random as Random
                from Cryptodome.Cipher import AES
            except ImportError:
                import Crypto.Random as Random  # type: ignore[no-redef]
                from Crypto.Cipher import AES  # type: ignore[no-redef]

            return {"Random": Random, "AES": AES}

        def _create_cipher(self, password, salt, IV):
            # keyrings.alt's: PBKDF2(password, salt, dkLen=32) of pycryptodome — HMAC-SHA1, 1000
            # rounds, a str password as latin-1 bytes — then AES-256 in CFB mode (8-bit segments,
            # pycryptodome's default); the same key from hashlib's C implementation
            secret = password.encode("latin-1") if isinstance(password, str) else bytes(password)
            key = hashlib.pbkdf2_hmac("sha1", secret, bytes(salt), PBKDF2_ROUNDS, self.block_size)
            return self.AES.new(key, self.AES.MODE_CFB, IV)

        def _get_new_password(self) -> str:  # called when the file is new
            return master_password

        def _unlock(self) -> None:  # called when the file exists
            self.keyring_key = master_password
            try:
                ok = self.get_password("keyring-setting", "password reference") == "password reference value"
            except Exception:  # wrong key gives garbage that fails to decode
                ok = False
            if not ok:
                self._lock()
                raise WrongMasterPassword("The master password does not open the encrypted keyring.")

    if not master_password:
        raise WrongMasterPassword("A master password is needed for the encrypted keyring.")
    kr = UnlockedEncryptedKeyring()
    kr.file_path = str(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kr.keyring_key  # noqa: B018  unlock now, so a wrong password is told at once
    return kr


class SecretStore:
    """Stores a VO's secrets under ``(SERVICE, "<vo id>/<field>")`` in a keyring backend."""

    def __init__(self, backend: KeyringBackend | None = None):
        self._backend = backend

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def use(self, backend: KeyringBackend) -> None:
        self._backend = backend

    @property
    def safe(self) -> bool:
        return backend_is_safe(self.backend)

    def describe(self) -> str:
        return describe_backend(self.backend)

    def place(self) -> str:
        """Where a secret saved now goes, in words for the person."""
        backend = self.backend
        if isinstance(backend, MemoryKeyring):
            return "this process's memory only (nothing is stored)"
        from keyrings.alt.file import EncryptedKeyring

        if isinstance(backend, EncryptedKeyring):
            return "the encrypted file keyring (unlocked with your master password)"
        return "the system keyring"

    @staticmethod
    def user(vo_id: str, name: str) -> str:
        return f"{vo_id}/{name}"

    def set(self, vo_id: str, name: str, value: str) -> None:
        if not self.safe:
            raise NoSafeKeyring(
                f"No safe keyring is available ({self.describe()}). Set the VO up with credentials "
                "the app does not keep (a named profile, where its type offers one), or unlock the "
                "encrypted file keyring with a master password."
            )
        self.backend.set_password(SERVICE, self.user(vo_id, name), value)

    def get(self, vo_id: str, name: str) -> str | None:
        if not self.safe:
            return None
        return self.backend.get_password(SERVICE, self.user(vo_id, name))

    def delete(self, vo_id: str, name: str) -> None:
        if not self.safe:
            return
        from keyring.errors import PasswordDeleteError

        try:
            self.backend.delete_password(SERVICE, self.user(vo_id, name))
        except PasswordDeleteError:
            pass


class MemoryKeyring:
    """Holds secrets in this process's memory only, for throwaway workspaces (the demo).

    Nothing is written anywhere, so it is safe; everything is gone when the app stops. It has
    the backend methods SecretStore uses, without being a registered keyring backend (so
    keyring never picks it, and making one does not import keyring).
    """

    name = "in-memory keyring (nothing is stored)"

    def __init__(self) -> None:
        self._store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._store.pop((service, username), None) is None:
            from keyring.errors import PasswordDeleteError

            raise PasswordDeleteError("not set")
