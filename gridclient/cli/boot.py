"""``gridclient vm boot`` with cloudmesh's names, the defaults it falls back to, and ``refresh on|off``.

``vm boot`` runs the action whose command is "vm boot" (the AWS provider's Launch instance…) through
the action runner: its handler asks what the launch wizard asks, and these options answer it —
``--image``, ``--flavor`` (the instance type), ``--key``, ``--group``, ``--name``, ``--count``,
``--user-data FILE`` — each falling back to the VO's default (``gridclient default image …``).
Anything else the handler asks is ``-f NAME=VALUE`` (``-f root_size=20``), or asked on a terminal.
Its review is a confirmation: ``--yes`` without a terminal.

``gridclient default [vo | region | image | flavor | key | group] [VALUE]``: ``vo`` is a workspace
preference (the VO commands use without ``--vo``); ``region`` is the VO's own region (the window
browses it too); the others are kept in the VO's settings (``default_image`` …). Without a value
it says the one; alone, all of them.

``gridclient refresh on | off``: the workspace preference ``live_refresh`` (Edit → Preferences):
whether the window asks the cloud again for what it shows from its cache.
"""

from __future__ import annotations

from typing import Any

import click

from gridclient.cli import generated, output
from gridclient.cli.app import common, session
from gridclient.cli.complete import complete_vo
from gridclient.cli.session import DEFAULT_VO, Failed, NotFound, Session

#: ``vm boot``'s options: cloudmesh's name → the launch's field, and the VO default it falls back to
BOOT = {"image": "image", "flavor": "type", "key": "key", "group": "group", "name": "name", "count": "count",
        "user_data": "user_data"}
DEFAULTS = ("vo", "region", "image", "flavor", "key", "group")
SETTING = {"image": "default_image", "flavor": "default_flavor", "key": "default_key", "group": "default_group"}


def add_commands(root: click.Group, registry: Any) -> None:
    root.add_command(default)
    root.add_command(refresh)
    if any(a.cli == "vm boot" for a in registry.actions.values()):
        group = root.commands.get("vm")
        if isinstance(group, click.Group):
            group.add_command(boot)


# -- vm boot ------------------------------------------------------------------------------------------
@click.command("boot", help="Launch instances as the window's launch does: --image, --flavor, --key, --group, "
                            "--name, --count, --user-data FILE, each falling back to the VO's default "
                            "(gridclient default …). Other answers with -f NAME=VALUE. Asks to confirm the "
                            "review (its aws ec2 run-instances line) unless --yes.")
@click.option("--image", metavar="IMAGE_ID", help="The image (default: gridclient default image).")
@click.option("--flavor", metavar="TYPE", help="The instance type, e.g. t3.micro (default: gridclient default flavor).")
@click.option("--key", metavar="KEY_PAIR", help="An existing key pair to log in with (default: gridclient default key).")
@click.option("--group", metavar="GROUP", help="An existing security group, by id or name (default: gridclient "
                                               "default group).")
@click.option("--name", metavar="NAME", help="The Name tag (with --count, -1, -2 … added).")
@click.option("--count", type=click.IntRange(1, 20), default=None, help="How many (1 to 20).")
@click.option("--user-data", "user_data", type=click.Path(exists=True, dir_okay=False), default=None,
              metavar="FILE", help="A script cloud-init runs at first boot (at most 16 KB).")
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE", help="Any other answer, by field name.")
@click.option("--wait", is_flag=True, help="Wait until the new instances run, and print their state.")
@common()
def boot(field: tuple[str, ...], wait: bool, **values: Any) -> None:
    s = session()
    vo = s.vo()
    saved = s.wb.workspace.vos.get(vo.id, vo)
    given: dict[str, Any] = {}
    for option, field_name in BOOT.items():
        value = values.get(option)
        if value is None and option in SETTING:
            value = saved.settings.get(SETTING[option]) or None
        if value is not None:
            given[field_name] = value
    given.update(generated.pairs(field))
    check_named(s, vo, {o: given[f] for o, f in BOOT.items() if o in SETTING and given.get(f)})
    action = next(a for a in s.registry.actions.values() if a.cli == "vm boot")
    options = {f: f"--{o.replace('_', '-')}" for o, f in BOOT.items()}
    generated.run_action(s, action, [], given, wait, options=options)


def check_named(s: Session, vo, named: dict[str, str]) -> None:
    """The image, flavor, key and group a launch names, as ``default`` checks them: one the region
    does not offer is NotFound with the same sentence, before the launch asks anything."""
    try:
        for key, value in named.items():
            _check(s, vo, key, str(value))
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - unreachable, refused: one sentence
        raise Failed(s.explain(exc, vo)) from exc


def _check(s: Session, vo, key: str, value: str) -> str:
    """The VO type's ``default_check`` of one value (the value where it has none); NotFound where
    the cloud does not offer it. Other errors (unreachable, refused) go to the caller."""
    from gridclient.registry import resolve

    check = getattr(s.wb.registry.vo_types.get(vo.type), "default_check", None)
    if not check:
        return value
    try:
        return resolve(check)(s.wb.tokens.token(vo), key, value)
    except LookupError as exc:
        raise NotFound(str(exc)) from None


# -- defaults -----------------------------------------------------------------------------------------
def current_defaults(s: Session) -> list[dict[str, str]]:
    ws = s.wb.workspace
    rows = [{"name": "vo", "value": str(ws.preferences.get(DEFAULT_VO) or ""), "where": "workspace"}]
    vo = chosen_vo(s, required=False)
    if vo is not None:
        rows.append({"name": "region", "value": vo.region or "", "where": f"VO {vo.name}"})
        rows += [{"name": k, "value": str(vo.settings.get(SETTING[k]) or ""), "where": f"VO {vo.name}"}
                 for k in SETTING]
    return rows


def chosen_vo(s: Session, required: bool = True):
    """The saved VO the defaults are for (``--vo``, else as commands choose it)."""
    try:
        vo = s.vo(secrets=False)
    except click.ClickException:
        if required:
            raise
        return None
    return s.wb.workspace.vos.get(vo.id, vo)


@click.command("default", help="Defaults, cloudmesh's way: `gridclient default` lists them; `gridclient default "
                               "KEY VALUE` sets one (vo: the VO used without --vo; region: the VO's region; "
                               "image, flavor, key, group: what vm boot uses when not given). --unset clears one.")
@click.argument("key", required=False, type=click.Choice(DEFAULTS))
@click.argument("value", required=False, shell_complete=lambda ctx, p, inc: complete_vo(ctx, p, inc)
                if ctx.params.get("key") == "vo" else [])
@click.option("--unset", is_flag=True, help="Clear the default KEY.")
@common("vo", "json", "workspace", "log_level")
def default(key: str | None, value: str | None, unset: bool) -> None:
    s = session()
    if key is None or (value is None and not unset):
        rows = [r for r in current_defaults(s) if key is None or r["name"] == key]
        if s.json:
            output.print_json({r["name"]: r["value"] for r in rows})
        else:
            output.table(rows, (("name", "DEFAULT"), ("value", "VALUE"), ("where", "KEPT IN")))
        return
    if unset and value is not None:
        raise click.UsageError("Give a value, or --unset, not both.")
    if unset and key == "region":
        raise click.UsageError("A VO always has a region: set another one instead.")
    ws = s.wb.workspace
    unchecked = ""
    if value and key == "region":  # as the VO's own form checks it, then as the cloud has it
        from gridclient.cli.vo import check_across

        vo = chosen_vo(s)
        check_across(s, s.wb.registry.vo_types[vo.type], {**vo.settings, "region": value})
    if value and (key in SETTING or key == "region"):  # asked of the cloud before the workspace is locked
        value, unchecked = checked_default(s, key, value)
    lock = s.workspace_lock()
    try:
        if key == "vo":
            if value is not None:
                value = s.vo_named(value).name
            ws.preferences[DEFAULT_VO] = value or ""
            ws.save()
            said = f"Commands without --vo now use {value}." if value else "No default VO: commands use --vo, " \
                                                                            "$GRIDCLIENT_VO or the only VO."
        else:
            vo = chosen_vo(s)
            setting = "region" if key == "region" else SETTING[key]
            ws.update_vo_settings(vo, {setting: value or ""})
            said = (f"{vo.name}: region {value} (the VO's own: the window browses it too)." if key == "region"
                    else f"{vo.name}: vm boot uses {key} {value} when none is given." if value
                    else f"{vo.name}: no default {key}.")
    finally:
        lock.release()
    if unchecked:
        click.echo(f"gridclient: kept without a check, as the cloud could not be asked: {unchecked}", err=True)
    click.echo(said)


def checked_default(s: Session, key: str, value: str) -> tuple[str, str]:
    """The value as the VO's cloud knows it (NotFound where it is not offered there), and why it
    could not be checked ("" when it was): a default set while offline is kept, with the reason."""
    vo = s.vo()  # in --region's region, with its secrets (a region is checked from the VO's own)
    try:
        return _check(s, vo, key, value), ""
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - unreachable, refused: said, and the value is kept
        return value, s.explain(exc, vo)


# -- refresh on | off ---------------------------------------------------------------------------------
@click.command("refresh", help="Whether the window asks the cloud again for what it shows from its cache "
                               "(the preference “live refresh”): on or off; alone, says which.")
@click.argument("state", required=False, type=click.Choice(["on", "off"]))
@common("json", "workspace", "log_level")
def refresh(state: str | None) -> None:
    s = session()
    ws = s.wb.workspace
    if state is not None:
        lock = s.workspace_lock()
        try:
            ws.preferences["live_refresh"] = state == "on"
            ws.save()
        finally:
            lock.release()
    on = bool(ws.preferences.get("live_refresh", True))
    if s.json:
        output.print_json({"live_refresh": on})
    else:
        click.echo(f"refresh {'on' if on else 'off'}: the window "
                   + ("asks the cloud again for what it shows from its cache." if on
                      else "shows what its cache holds, without asking the cloud again."))
