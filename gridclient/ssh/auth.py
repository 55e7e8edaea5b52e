"""Logging into an SSH server once its host key has been accepted.

OpenSSH's order is followed: the private keys the target or ~/.ssh/config names, then the
keys ssh-agent holds (unless IdentitiesOnly), then the default keys in ~/.ssh, and last a
password (or keyboard-interactive) if the server allows one. Passphrases and passwords are
asked through the :class:`~gridclient.interaction.Interaction`, kept only as long as the
attempt needs them, and never logged. Each refusal is noted in a ``tried`` list, so a failed
login can tell the person what was offered and why it did not work.

These are plain functions over a connected transport: the session calls them, they never
call back into it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import paramiko

from gridclient.interaction import Field, Interaction
from gridclient.ssh.config import Resolved
from gridclient.ssh.known_hosts import fingerprint, key_type_label
from gridclient.ssh.target import AuthenticationFailed, ConnectionFailed

log = logging.getLogger(__name__)

DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
_MAX_SECRET_TRIES = 3


def authenticate(transport: paramiko.Transport, r: Resolved, interaction: Interaction,
                 where: str) -> None:
    """Log ``r.user`` in on ``transport``; raise AuthenticationFailed saying what was tried.

    ``where`` names the server in messages (host, or host:port) as the session shows it.
    """
    user = r.user
    tried: list[str] = []
    try:
        allowed = transport.auth_none(user)
        if transport.is_authenticated():
            return
    except paramiko.BadAuthenticationType as e:
        allowed = list(e.allowed_types)
    except paramiko.SSHException as e:
        raise ConnectionFailed(f"{where} closed the connection before login: {e}.") from e

    def alive() -> bool:
        return transport.is_active()

    if "publickey" in allowed:
        seen: set[str] = set()
        for path in r.identity_files:
            if not alive() or transport.is_authenticated():
                break
            key = load_key(path, tried, interaction)
            if key is None:
                continue
            seen.add(key.get_base64())
            allowed = _try_key(transport, user, key, path, tried, allowed)
        if not r.identities_only and alive() and not transport.is_authenticated():
            agent = None
            try:
                if os.environ.get("SSH_AUTH_SOCK"):
                    agent = paramiko.Agent()
                    for key in agent.get_keys():
                        if not alive() or transport.is_authenticated():
                            break
                        if key.get_base64() in seen:
                            continue
                        seen.add(key.get_base64())
                        desc = f"ssh-agent key {key_type_label(key)} {fingerprint(key)}"
                        allowed = _try_key(transport, user, key, desc, tried, allowed)
            except paramiko.SSHException as e:
                log.debug("ssh-agent not usable: %s", e)
            finally:
                if agent is not None:
                    agent.close()
            for name in DEFAULT_KEYS:
                if not alive() or transport.is_authenticated():
                    break
                path = str(Path.home() / ".ssh" / name)
                if path in r.identity_files or not Path(path).exists():
                    continue
                key = load_key(path, tried, interaction)
                if key is None or key.get_base64() in seen:
                    continue
                seen.add(key.get_base64())
                allowed = _try_key(transport, user, key, path, tried, allowed)

    if alive() and not transport.is_authenticated() and (
            "keyboard-interactive" in allowed or "password" in allowed):
        _password_auth(transport, user, allowed, tried, interaction, where)

    if transport.is_authenticated():
        return
    if not tried:
        detail = ("No key was found to offer: give a private key file, load one into "
                  "ssh-agent, or put one in ~/.ssh.")
    else:
        detail = "Tried: " + "; ".join(tried) + "."
    lost = "" if alive() else " The server closed the connection after too many attempts."
    raise AuthenticationFailed(
        f"{where} did not accept the login of user “{user}”. {detail}{lost} "
        f"Check the user name and that the matching public key is installed on the server.")


def load_key(path: str, tried: list[str], interaction: Interaction) -> paramiko.PKey | None:
    """The private key in ``path``, asking for its passphrase if it has one; None (and a note
    in ``tried``) when it is missing, unreadable or stays locked."""
    p = Path(path)
    if not p.exists():
        tried.append(f"{path} (file not found)")
        return None
    try:
        return paramiko.PKey.from_path(p)
    except TypeError:
        pass  # encrypted: ask below
    except (ValueError, paramiko.SSHException, OSError) as e:
        tried.append(f"{path} (not a private key this app can read: {e.__class__.__name__})")
        return None
    text = f"The private key {path} is protected by a passphrase."
    for attempt in range(_MAX_SECRET_TRIES):
        answer = interaction.ask(
            "Key passphrase", [Field("passphrase", "Passphrase", kind="secret", required=True)],
            text=text)
        secret = _secret_of(answer, "passphrase")
        if secret is None:
            tried.append(f"{path} (passphrase not given)")
            return None
        try:
            return paramiko.PKey.from_path(p, secret.encode("utf-8"))
        except (TypeError, ValueError, paramiko.SSHException):
            text = f"That passphrase does not unlock {path}. Try again."
        finally:
            secret = None  # noqa: F841 - drop the reference early
    tried.append(f"{path} (wrong passphrase)")
    return None


def _try_key(transport, user, key, desc, tried, allowed):
    """Offer one key; return the login methods the server still allows afterwards."""
    label = desc if desc.startswith("ssh-agent") else f"{desc} ({key_type_label(key)})"
    try:
        remaining = transport.auth_publickey(user, key)
    except paramiko.BadAuthenticationType as e:
        tried.append(f"{label} (key login not allowed)")
        return list(e.allowed_types)
    except paramiko.AuthenticationException:
        tried.append(f"{label} (refused)")
        return allowed
    except (paramiko.SSHException, EOFError, OSError) as e:
        tried.append(f"{label} (connection lost: {e})")
        return allowed
    if transport.is_authenticated():
        return []
    tried.append(f"{label} (accepted, but the server wants more)")
    return list(remaining or allowed)


def _password_auth(transport, user, allowed, tried, interaction: Interaction, where: str) -> None:
    text = f"Password for {user} on {where}:"
    for _ in range(_MAX_SECRET_TRIES):
        if not transport.is_active():
            return
        answer = interaction.ask(
            "SSH password", [Field("password", "Password", kind="secret", required=True)], text=text)
        password = _secret_of(answer, "password")
        if password is None:
            tried.append("password (not given)")
            return
        try:
            if "keyboard-interactive" in allowed:
                def handler(title, instructions, prompts, _pw=password):
                    return [_pw if not echo else "" for _prompt, echo in prompts]
                transport.auth_interactive(user, handler)
            else:
                transport.auth_password(user, password, fallback=False)
        except paramiko.BadAuthenticationType as e:
            allowed = list(e.allowed_types)
            if "password" in allowed and "keyboard-interactive" not in allowed:
                continue
            tried.append("password (not allowed)")
            return
        except paramiko.AuthenticationException:
            text = f"The password for {user} on {where} was not accepted. Try again."
        except (paramiko.SSHException, EOFError, OSError):
            tried.append("password (connection lost)")
            return
        finally:
            password = None  # noqa: F841
        if transport.is_authenticated():
            return
    tried.append("password (refused)")


def _secret_of(answer: dict[str, Any] | None, name: str) -> str | None:
    """The secret from an ask() answer; None when cancelled or empty."""
    if not answer:
        return None
    value = answer.get(name)
    if value is None:  # tolerate a form that named the field differently
        value = next((v for v in answer.values() if isinstance(v, str) and v), None)
    if value is None or value == "":
        return None
    return str(value)
