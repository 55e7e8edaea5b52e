"""An SSH server's files as rows of the project tree: the loader of ``sftp.root`` and ``sftp.folder``
rows, for any VO type whose provider shows them (the AWS provider: an instance's Files); and
"SSH connections" beside Local files — any host the person added (File → New → SSH connection, or
New SSH connection… on that row), kept in the workspace's preference ``ssh_connections`` as what
:func:`ssh_ref` keeps (never a secret), each shown as its login's home folder (``sftp.connection``).

A row carries ``ref["uri"]`` (``sftp://user@host:port/path``, so drag-and-drop and the storage
actions find it) and ``ref["ssh"]``: how to reach the server (host, port, user, key file — a path,
never a secret — and the host key fingerprints the instance printed), so that a listing after a
restart dials it as the action that first opened it did, with the scheme's host-key policy and the
window's questions (``Workbench.interaction``). Runs on worker threads; paramiko is imported only
when a folder is listed.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from gridclient.elements import Element

ROOT, FOLDER, FILE = "sftp.root", "sftp.folder", "sftp.file"
CONNECTIONS, CONNECTION = "sftp.connections", "sftp.connection"


def ssh_ref(target: Any) -> dict[str, Any]:
    """What a row keeps of an :class:`~gridclient.ssh.SSHTarget` to reach the server again."""
    out = {"host": target.host, "port": target.port, "user": target.user, "key_file": target.key_file}
    if target.console_fingerprints is not None:
        out["console_fingerprints"] = list(target.console_fingerprints)
    return {k: v for k, v in out.items() if v is not None}


def target_of(ssh: dict[str, Any]) -> Any:
    from gridclient.ssh import SSHTarget

    given = dict(ssh)
    if "console_fingerprints" in given:
        given["console_fingerprints"] = tuple(given["console_fingerprints"])
    return SSHTarget(**{k: v for k, v in given.items()
                        if k in ("host", "port", "user", "key_file", "console_fingerprints")})


def _detail(entry: Any) -> str:
    from gridclient.storage.jobs import human_bytes

    bits = []
    if entry.is_link:
        bits.append("link" + (f" → {entry.extra['target']}" if entry.extra.get("target") else ""))
    if not entry.is_folder:
        bits.append(human_bytes(entry.size))
    if entry.modified:
        bits.append(time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.modified)))
    if entry.extra.get("permissions"):
        bits.append(str(entry.extra["permissions"]))
    return " · ".join(bits)


def element_of(entry: Any, ssh: dict[str, Any] | None) -> Element:
    loc = entry.location
    folder = entry.is_folder
    props: dict[str, Any] = {"Path": "/" + loc.path, "Size": entry.size}
    if entry.modified:
        props["Modified"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.modified))
    for k, v in entry.extra.items():
        if isinstance(v, (str, int, float, bool)):
            props[k.capitalize()] = v
    ref: dict[str, Any] = {"uri": loc.uri}
    if ssh:
        ref["ssh"] = ssh
    return Element(FOLDER if folder else FILE, loc.uri, loc.name or "/", icon="folder" if folder else "file",
                   has_children=folder, properties=props, detail=_detail(entry), ref=ref)


def open_terminal(ctx: Any) -> Any:
    """Open terminal here: the host of an SSH folder row, its shell changed into that folder."""
    from gridclient.actions import ActionResult
    from gridclient.storage import location_of_element
    from gridclient.storage.sftp import split_root

    folder = location_of_element(ctx.element, ctx.vo.id if ctx.vo else "")
    ssh = ctx.element.ref.get("ssh")
    if ssh:
        target = target_of(ssh)
    else:  # a row that keeps no way in: as ``ssh user@host -p port`` would
        from gridclient.ssh import SSHTarget

        user, host, port = split_root(folder.root)
        target = SSHTarget(host=host, port=port, user=user)
    target.start_in = "/" + folder.path
    return ActionResult(message=f"Opening a terminal to {target.title()} in {target.start_in}.", terminal=target)


def load_folder(token: Any, parent: Element) -> Iterator[list[Element]]:
    """A folder's entries, a page at a time as the server sends them (hidden part files of uploads
    under way left out)."""
    from gridclient.storage import location_of_element

    storage = token.app_storage()
    scheme = storage.scheme("sftp")
    vo_id = getattr(token, "vo_id", "") or ""
    folder = location_of_element(parent, vo_id)
    if folder is None:
        return
    ssh = parent.ref.get("ssh")
    if ssh and (folder.vo_id, folder.root) not in scheme._targets:  # after a restart: as first opened
        scheme.add_target(target_of(ssh), vo_id=folder.vo_id)
    for page in scheme.list(folder):
        yield [element_of(e, ssh) for e in page if not e.location.name.endswith(".gridclient-part")]


# -- SSH connections: hosts of their own, beside Local files --------------------------------------
def saved_connections(preferences: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSH connections kept in the workspace: ``{"uri", "label", "ssh"}`` each, well-formed."""
    out = []
    for c in preferences.get("ssh_connections", []) or []:
        if (isinstance(c, dict) and isinstance(c.get("uri"), str) and c["uri"].startswith("sftp://")
                and isinstance(c.get("ssh"), dict) and isinstance(c["ssh"].get("host"), str)):
            out.append(c)
    return out


def connection_element(saved: dict[str, Any]) -> Element:
    ssh = saved["ssh"]
    where = f"{ssh.get('user') or ''}@{ssh['host']}" + (f":{ssh['port']}" if ssh.get("port") not in (None, 22) else "")
    home = "/" + saved["uri"].split("/", 3)[3] if saved["uri"].count("/") >= 3 else "/"
    return Element(CONNECTION, saved["uri"], saved.get("label") or where.lstrip("@"), has_children=True,
                   icon="terminal", detail=f"{where.lstrip('@')} · {home}",
                   properties={"Host": ssh["host"], "Port": ssh.get("port") or 22, "User": ssh.get("user") or "",
                               "Key file": ssh.get("key_file") or "ssh-agent and default keys", "Home": home},
                   ref={"uri": saved["uri"], "ssh": ssh})


def load_connections(token: Any, parent: Element) -> Iterator[list[Element]]:
    """The SSH connections row's children: one per saved host, its home folder (no network here)."""
    yield [connection_element(c) for c in token.settings.get("ssh_connections", [])]


def connect_and_save(workbench: Any, target: Any, interaction: Any, label: str = "",
                     session: Any = None) -> dict[str, Any]:
    """Reach ``target`` now (an unknown host key is asked through ``interaction``, a changed one
    refused; or over ``session``, a terminal tab's, while it lives), find the login's home folder,
    and keep the host under SSH connections (replacing one of the same address). Runs off the GUI
    thread; returns what was saved."""
    from gridclient.ssh.known_hosts import KnownHosts
    from gridclient.storage.manifest import LOCAL

    scheme = workbench.storage.scheme("sftp")
    root = scheme.add_target(target, interaction, KnownHosts(workbench.paths.known_hosts), vo_id=LOCAL,
                             session=session)
    home = scheme.home(root)
    saved = {"uri": home.uri, "label": label or "", "ssh": ssh_ref(target)}
    prefs = workbench.workspace.preferences
    kept = [c for c in saved_connections(prefs) if c["uri"].split("/", 3)[2] != home.root]
    prefs["ssh_connections"] = kept + [saved]
    workbench.workspace.save()
    return saved


def add_connection(ctx: Any) -> str:
    """New SSH connection…: the host's files under SSH connections."""
    from gridclient.ssh import SSHTarget

    v = ctx.values
    port = str(v.get("port") or "").strip()
    if port_problem(port):
        raise ValueError(port_problem(port))
    target = SSHTarget(host=str(v.get("host") or "").strip(), port=int(port) if port else None,
                       user=str(v.get("user") or "").strip() or None,
                       key_file=str(v.get("key_file") or "").strip() or None)
    saved = connect_and_save(ctx.workbench, target, ctx.interaction, str(v.get("label") or "").strip())
    return f"Added {saved['label'] or saved['uri']} to SSH connections: {saved['uri']}."


def remove_connection(ctx: Any) -> str:
    """Remove from SSH connections: the rows go; nothing on the servers changes."""
    from gridclient.actions import labels_of

    gone = {e.id for e in ctx.elements}
    prefs = ctx.workbench.workspace.preferences
    prefs["ssh_connections"] = [c for c in saved_connections(prefs) if c["uri"] not in gone]
    ctx.workbench.workspace.save()
    return f"Removed {labels_of(ctx.elements)} from SSH connections."


def port_problem(value: Any) -> str:
    """What is wrong with a typed port ("" for none: the default, 22)."""
    text = str(value or "").strip()
    if text and not (text.isdigit() and 0 < int(text) < 65536):
        return "A port is a number from 1 to 65535."
    return ""
