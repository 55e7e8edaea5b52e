"""From a VO to live clients: auth tokens.

``AuthTokens`` gathers a VO's secrets from the SecretStore and asks the VO type's token factory
for a token (for AWS: a boto3 Session with retries, proxy and endpoint). Tokens are made on first
use, on a worker thread, and kept until the VO changes.
"""

from __future__ import annotations

import threading
from typing import Any

from gridclient.paths import AppPaths
from gridclient.registry import ExtensionRegistry, VOType, resolve
from gridclient.secrets import SecretStore, SecretUnavailable
from gridclient.workspace import VirtualOrganization


class UnknownVOType(LookupError):
    pass


class SettingsFix(str):
    """An explained error whose remedy is in the VO's own settings (a key, the endpoint, the proxy).

    A VO type's ``explain_error`` returns one instead of a plain ``str`` to say so; the front end
    then adds where those settings are changed from where the person stands (Edit → Preferences
    in the window, Back in the wizard that is making the VO)."""


#: where a VO's settings are changed, said after a :class:`SettingsFix` when the caller names no other place
SETTINGS_PLACE = "Change them in Edit → Preferences → Edit."


class AuthTokens:
    def __init__(self, registry: ExtensionRegistry, secrets: SecretStore, paths: AppPaths):
        self.registry = registry
        self.secrets = secrets
        self.paths = paths
        self.storage_for: Any = None  # () -> the workbench's Storage, set by the Workbench
        #: where the front end changes a VO's settings, said after a SettingsFix ("{vo}": its name);
        #: the window's menus by default, a command for the command line
        self.settings_place = SETTINGS_PLACE
        self._tokens: dict[str, Any] = {}
        self._lock = threading.Lock()

    def vo_type(self, vo: VirtualOrganization) -> VOType:
        try:
            return self.registry.vo_types[vo.type]
        except KeyError:
            raise UnknownVOType(
                f"The Virtual Organisation “{vo.name}” is of type {vo.type!r}, which no loaded "
                "provider offers. See Help → Providers."
            ) from None

    def secrets_of(self, vo: VirtualOrganization) -> dict[str, str]:
        out = {}
        for name in vo.secret_fields:
            value = self.secrets.get(vo.id, name)
            if value is not None:
                out[name] = value
        return out

    def stored_secrets(self, vo: VirtualOrganization) -> dict[str, str]:
        """Every secret the VO keeps, or SecretUnavailable saying which and what to do."""
        if vo.secret_fields and not self.secrets.safe:
            raise SecretUnavailable(
                f"The secrets of “{vo.name}” are locked: they are kept in the encrypted file keyring. "
                "Unlock it with File → Unlock secrets…, or set the VO up with credentials the app "
                "does not keep (a named profile, where its type offers one).")
        out = self.secrets_of(vo)
        missing = [name for name in vo.secret_fields if name not in out]
        if missing:
            fields = {f.name: f.label for f in self.vo_type(vo).fields}
            names = ", ".join(fields.get(m, m) for m in missing)
            raise SecretUnavailable(
                f"The keyring no longer holds {names} of “{vo.name}”. "
                "Enter it again in Edit → Preferences → Edit.")
        return out

    def make(self, vo: VirtualOrganization, secrets: dict[str, str] | None = None) -> Any:
        """A fresh token from the VO's settings and the given (or stored) secrets."""
        vt = self.vo_type(vo)
        factory = resolve(vt.token_factory)
        tok = factory(vo, self.stored_secrets(vo) if secrets is None else secrets)
        try:  # for loaders, which only get the token: where the app keeps things (the image
            # catalog), and the workbench's storage (an instance's files over SFTP)
            tok.app_paths = self.paths
            tok.app_storage = self.storage_for
        except AttributeError:  # a token with fixed attributes does without
            pass
        return tok

    def token(self, vo: VirtualOrganization) -> Any:
        with self._lock:
            tok = self._tokens.get(vo.id)
        if tok is None:
            tok = self.make(vo)
            with self._lock:
                self._tokens[vo.id] = tok
        return tok

    def forget(self, vo_id: str) -> None:
        with self._lock:
            self._tokens.pop(vo_id, None)

    def test(self, vo: VirtualOrganization, secrets: dict[str, str] | None = None) -> str:
        """Run the VO type's connection test; returns a one-line 'who am I', raises on failure."""
        vt = self.vo_type(vo)
        return resolve(vt.connection_test)(self.make(vo, secrets))

    def explain(self, vo: VirtualOrganization | None, exc: BaseException,
                settings_place: str | None = None) -> str:
        """``exc`` as a sentence for the person, by the VO type's ``explain_error``; where the
        remedy is in the VO's settings, ``settings_place`` (else :attr:`settings_place`) says where
        to change them."""
        if settings_place is None:
            settings_place = self.settings_place.replace("{vo}", vo.name if vo is not None else "NAME")
        if isinstance(exc, (SecretUnavailable, UnknownVOType)):
            return str(exc)  # ours, already in words
        if vo is not None:
            vt = self.registry.vo_types.get(vo.type)
            if vt is not None and vt.explain_error:
                try:
                    text = resolve(vt.explain_error)(exc)
                except Exception:  # explaining must never fail louder than the error
                    text = None
                if isinstance(text, SettingsFix):
                    return f"{text} {settings_place}".strip()
                if text:
                    return str(text)
        return str(exc) or type(exc).__name__
