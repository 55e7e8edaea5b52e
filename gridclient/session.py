"""From a VO to live clients: auth tokens, and what an action handler is handed.

``AuthTokens`` gathers a VO's secrets from the SecretStore and asks the VO type's token factory
for a token (for AWS: a boto3 Session with retries, proxy and endpoint). Tokens are made on first
use, on a worker thread, and kept until the VO changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from gridclient.elements import Element
from gridclient.interaction import Interaction
from gridclient.operations import Operation
from gridclient.paths import AppPaths
from gridclient.registry import ExtensionRegistry, VOType, resolve
from gridclient.secrets import SecretStore, SecretUnavailable
from gridclient.workspace import VirtualOrganization


class UnknownVOType(LookupError):
    pass


class AuthTokens:
    def __init__(self, registry: ExtensionRegistry, secrets: SecretStore, paths: AppPaths):
        self.registry = registry
        self.secrets = secrets
        self.paths = paths
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
                "Unlock it with File → Unlock secrets…, or use a named AWS profile for this VO.")
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
        return factory(vo, self.stored_secrets(vo) if secrets is None else secrets)

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

    def explain(self, vo: VirtualOrganization | None, exc: BaseException) -> str:
        if isinstance(exc, (SecretUnavailable, UnknownVOType)):
            return str(exc)  # ours, already in words
        if vo is not None:
            vt = self.registry.vo_types.get(vo.type)
            if vt is not None and vt.explain_error:
                try:
                    return resolve(vt.explain_error)(exc)
                except Exception:  # explaining must never fail louder than the error
                    pass
        return str(exc) or type(exc).__name__


@dataclass
class ActionContext:
    """What an action handler is handed."""

    elements: list[Element]
    vo: VirtualOrganization
    token: Any
    interaction: Interaction
    paths: AppPaths
    operation: Operation | None = None
    values: dict[str, Any] = field(default_factory=dict)  # the action's parameter fields
    remember: dict[str, Any] = field(default_factory=dict)  # VO settings the handler wants kept

    @property
    def element(self) -> Element:
        return self.elements[0]
