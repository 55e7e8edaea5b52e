"""Shell completion of names the workspace knows: VO names from the workspace file, and the ids of
elements from the info cache (what the last listing — in the window or here — found). Nothing
here reaches the network or the keyring: completion must answer at once.

click does the rest (``_GRIDCLIENT_COMPLETE=bash_source gridclient``, or ``zsh_source``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    import click

    from gridclient.workspace import VirtualOrganization, Workspace


def _session(ctx: "click.Context"):
    return ctx.find_root().obj


def _workspace(ctx: "click.Context") -> "Workspace | None":
    from gridclient.workspace import Workspace

    try:
        return Workspace(_session(ctx).paths)
    except OSError:
        return None


def complete_vo(ctx: "click.Context", _param: Any, incomplete: str) -> list[CompletionItem]:
    ws = _workspace(ctx)
    if ws is None:
        return []
    return [CompletionItem(vo.name, help=f"{vo.type} · {vo.region}")
            for vo in sorted(ws.vos.values(), key=lambda v: v.name) if vo.name.startswith(incomplete)]


def _chosen_vo(ctx: "click.Context", ws: "Workspace") -> "VirtualOrganization | None":
    name = _session(ctx).vo_name or os.environ.get("GRIDCLIENT_VO") or ws.preferences.get("default_vo")
    if name:
        return ws.vo_by_name(name)
    vos = list(ws.vos.values())
    return vos[0] if len(vos) == 1 else None


def cached_elements(ctx: "click.Context", kinds: frozenset[str]) -> list:
    """The elements of ``kinds`` the info cache holds for the chosen VO, under the listings the
    command line declares for those kinds (each project's node, and the command line's own)."""
    from gridclient.cache import InfoCache

    s = _session(ctx)
    ws = _workspace(ctx)
    vo = ws and _chosen_vo(ctx, ws)
    if vo is None or s.registry is None:
        return []
    region = s.region or vo.region
    cache = InfoCache(s.paths.cache / "listings.sqlite3")
    out: dict[str, Any] = {}
    try:
        for (_words, vo_type), lc in s.registry.listing_commands.items():
            if vo_type != vo.type or not (lc.kinds & kinds):
                continue
            roots = [f"{lc.path[0]}:{p.id}/{lc.path[0]}" for p in ws.projects.values() if p.vo == vo.id]
            roots.append(f"{lc.path[0]}:{vo.id}@{region}/{lc.path[0]}")
            for key in roots:
                rows = _follow(cache, vo.id, key, lc.path[1:])
                out.update((e.id, e) for e in rows if e.kind in kinds)
    finally:
        cache.close()
    return list(out.values())


def _follow(cache: Any, scope: str, key: str, path: tuple[str, ...]) -> list:
    for kind in path:
        hit = cache.get(scope, key)
        node = next((e for e in (hit[0] if hit else ()) if e.kind == kind), None)
        if node is None:
            return []
        key = node.key
    hit = cache.get(scope, key)
    return hit[0] if hit else []


def complete_ids(kinds: frozenset[str]) -> Callable[..., list[CompletionItem]]:
    def complete(ctx: "click.Context", _param: Any, incomplete: str) -> list[CompletionItem]:
        try:
            found = cached_elements(ctx, kinds)
        except Exception:  # noqa: BLE001 - a completion that fails offers nothing, quietly
            return []
        return [CompletionItem(e.id, help=" · ".join(x for x in (e.label if e.label != e.id else "", e.state) if x))
                for e in sorted(found, key=lambda e: e.id) if e.id.startswith(incomplete)]
    return complete
