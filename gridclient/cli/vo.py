"""The core's own commands: ``vo list | add | edit | remove | test`` and ``project list | add |
remove``. A VO's options are its type's declared fields (every VO type's, from the registry);
a secret field never is an option: it is asked on the terminal without echo, or read from
standard input with ``--secret-stdin`` (one line per secret), and goes to the keyring only.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gridclient.cli import output
from gridclient.cli.app import common, session
from gridclient.cli.complete import complete_vo
from gridclient.cli.session import Failed, NotFound, Refused, Session
from gridclient.cli.terminal import TerminalInteraction, convert, option_name
from gridclient.registry import VOType
from gridclient.storage.manifest import LOCAL


def add_commands(root: Any) -> None:
    vo = root.group("vo", help="Virtual Organisations: an account on a cloud, its region and endpoint.")(lambda: None)
    fields = vo_field_options(root.registry)
    vo.add_command(vo_list)
    vo.add_command(with_options(vo_add, fields))
    vo.add_command(with_options(vo_edit, fields))
    vo.add_command(vo_remove)
    vo.add_command(vo_test)
    project = root.group("project", help="Grid Projects: what the window shows under a VO.")(lambda: None)
    for cmd in (project_list, project_add, project_remove):
        project.add_command(cmd)


def vo_field_options(registry: Any) -> list[click.Option]:
    """An option for every non-secret field of every VO type (first declaration of a name wins)."""
    seen: dict[str, click.Option] = {}
    for vt in registry.vo_types.values():
        for f in vt.fields:
            if f.secret or f.name in seen or f.name in ("type", "name"):
                continue
            kind: Any = click.Choice(f.choices) if f.kind == "choice" and f.choices and not f.editable else None
            seen[f.name] = click.Option([option_name(f.name), f.name], type=kind, default=None,
                                        metavar=f.name.upper(), help=f.label + (f" — {f.help}" if f.help else ""))
    return list(seen.values())


def with_options(cmd: click.Command, options: list[click.Option]) -> click.Command:
    """A copy of ``cmd`` with ``options`` after its NAME (each build of the command line has its own)."""
    import copy

    made = copy.copy(cmd)
    made.params = cmd.params[:1] + options + cmd.params[1:]
    return made


def vo_types(s: Session) -> dict[str, VOType]:
    return {t: vt for t, vt in s.wb.registry.vo_types.items() if t != LOCAL}


def settings_given(vt: VOType, values: dict[str, Any]) -> dict[str, Any]:
    """The options given, checked against the VO type; a field given whose ``when`` names one value
    of another field not given sets that one too (``--profile P``: the profile credentials)."""
    names = {f.name: f for f in vt.fields}
    given = {k: v for k, v in values.items() if v is not None}
    for key in given:
        if key not in names:
            raise click.UsageError(f"{option_name(key)} is not a setting of {vt.label} VOs.")
    for f in vt.fields:
        if f.name in given and f.when and f.when[0] not in given and len(f.when[1]) == 1:
            given[f.when[0]] = f.when[1][0]
    return {k: convert(names[k], v) for k, v in given.items()}


def fill(vt: VOType, values: dict[str, Any], secret_stdin: bool, stored: list[str] = ()) -> dict[str, Any]:
    """Every field that applies: required ones missing asked on a terminal (secrets without echo) or
    a usage error; secrets from standard input with ``--secret-stdin``; a stored secret kept."""
    tty = sys.stdin.isatty()
    lines = iter(sys.stdin.read().splitlines()) if secret_stdin else iter(())
    for f in vt.fields:
        if not f.applies(values):
            continue
        if f.secret:
            if not f.required or (f.name in stored and not secret_stdin):
                continue
            if secret_stdin:
                value = next(lines, "")
                if not value:
                    raise click.UsageError(f"--secret-stdin: standard input held no line for {f.label}.")
            elif tty:
                value = click.prompt(f.label, hide_input=True, err=True)
            else:
                raise click.UsageError(f"{f.label} is needed: pipe it with --secret-stdin, or run on a terminal "
                                       "to type it (it is never taken as an argument).")
            values[f.name] = value
            continue
        if values.get(f.name) in (None, "") and f.required:
            if not tty:
                raise click.UsageError(f"{f.label} is needed: give it with {option_name(f.name)}.")
            values[f.name] = convert(f, click.prompt(f.label, default=f.default, err=True))
        problem = f.problem(values.get(f.name))
        if problem:
            raise click.UsageError(problem)
    return values


def check_across(s: Session, vt: VOType, values: dict[str, Any]) -> None:
    if vt.validator:
        from gridclient.registry import resolve

        problems = resolve(vt.validator)(values)
        if problems:
            raise click.UsageError(" ".join(problems))


def vo_record(s: Session, vo: Any) -> dict[str, Any]:
    return {"id": vo.id, "name": vo.name, "type": vo.type, "region": vo.region, "endpoint_url": vo.endpoint_url,
            "settings": dict(vo.settings), "secret_fields": list(vo.secret_fields),
            "projects": [p.name for p in s.wb.workspace.projects.values() if p.vo == vo.id]}


def said_saved(s: Session, vo: Any, verb: str) -> None:
    if s.json:
        output.print_json(vo_record(s, vo))
        return
    kept = f" Its secrets are kept in {s.wb.secrets.place()}." if vo.secret_fields else ""
    click.echo(f"{verb} “{vo.name}” ({vo.type}, {vo.region or 'no region'}).{kept} "
               f"Check it with: gridclient vo test \"{vo.name}\"")


# -- vo ----------------------------------------------------------------------------------------------
@click.command("list", help="The Virtual Organisations of the workspace (never their secrets).")
@common("json", "workspace", "log_level")
def vo_list() -> None:
    s = session()
    rows = [vo_record(s, vo) for vo in sorted(s.wb.workspace.vos.values(), key=lambda v: v.name)]
    if s.json:
        output.print_json(rows)
    elif rows:
        output.table(rows, (("name", "NAME"), ("type", "TYPE"), ("region", "REGION"),
                            ("endpoint_url", "ENDPOINT"), ("projects", "PROJECTS")))
    else:
        click.echo("No Virtual Organisation yet: add one with gridclient vo add NAME.", err=True)


@click.command("add", help="Add a Virtual Organisation. Its secret (an AWS secret access key) is asked "
                           "without echo, or read from standard input with --secret-stdin.")
@click.argument("name")
@click.option("--type", "vo_type", metavar="TYPE", help="The VO type (default: the only one there is).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from standard input (one line per secret).")
@common("json", "workspace", "log_level")
def vo_add(name: str, vo_type: str | None, secret_stdin: bool, **values: Any) -> None:
    s = session()
    types = vo_types(s)
    if vo_type is None and len(types) == 1:
        vo_type = next(iter(types))
    if vo_type not in types:
        unknown = f"There is no VO type “{vo_type}”; choose" if vo_type else "Choose the VO type with --type:"
        raise click.UsageError(f"{unknown} one of {', '.join(sorted(types))}.")
    vt = types[vo_type]
    problem = s.wb.workspace.check_name(name, s.wb.workspace.vos)
    if problem:
        raise click.UsageError(f"The name “{name}”: {problem}")
    defaults = {f.name: f.default for f in vt.fields if f.default is not None and not f.secret}
    values = fill(vt, {**defaults, **settings_given(vt, values)}, secret_stdin)
    check_across(s, vt, values)
    lock = s.workspace_lock()
    try:
        if any(f.secret and values.get(f.name) for f in vt.fields):
            s.unlock_secrets()
        vo = s.wb.save_vo(name.strip(), vo_type, values)
    finally:
        lock.release()
    said_saved(s, vo, "Added")


@click.command("edit", help="Change a Virtual Organisation's settings: only those given change. "
                            "A stored secret is kept unless --secret-stdin gives a new one.")
@click.argument("name", shell_complete=complete_vo)
@click.option("--rename", metavar="NEW", help="A new name.")
@click.option("--secret-stdin", is_flag=True, help="Read new secrets from standard input (one line per secret).")
@common("json", "workspace", "log_level")
def vo_edit(name: str, rename: str | None, secret_stdin: bool, **values: Any) -> None:
    s = session()
    vo = s.vo_named(name)
    vt = vo_types(s).get(vo.type)
    if vt is None:
        raise Failed(f"No loaded provider offers the VO type {vo.type!r} of “{vo.name}”.")
    if rename:
        problem = s.wb.workspace.check_name(rename, s.wb.workspace.vos, ignore_id=vo.id)
        if problem:
            raise click.UsageError(f"The name “{rename}”: {problem}")
    values = fill(vt, {**vo.settings, **settings_given(vt, values)}, secret_stdin, stored=vo.secret_fields)
    check_across(s, vt, values)
    lock = s.workspace_lock()
    try:
        if vo.secret_fields or any(f.secret and values.get(f.name) for f in vt.fields):
            s.unlock_secrets()
        vo = s.wb.save_vo((rename or vo.name).strip(), vo.type, values, vo=vo)
    finally:
        lock.release()
    said_saved(s, vo, "Changed")


@click.command("remove", help="Remove a Virtual Organisation, its projects and its secrets (nothing in the "
                              "cloud changes). Asks first.")
@click.argument("name", shell_complete=complete_vo)
@common("yes", "workspace", "log_level")
def vo_remove(name: str) -> None:
    s = session()
    vo = s.vo_named(name)
    projects = [p.name for p in s.wb.workspace.projects.values() if p.vo == vo.id]
    what = f" and its projects ({', '.join(projects)})" if projects else ""
    asker = TerminalInteraction(yes=s.yes)
    if not asker.confirm("Remove", f"Remove the Virtual Organisation “{vo.name}”{what}? Its secrets are "
                                   "deleted from the keyring; nothing in the cloud changes."):
        raise Refused(asker.refusal or "Not removed.")
    lock = s.workspace_lock()
    try:
        if vo.secret_fields:
            s.unlock_secrets()
        s.wb.delete_vo(vo.id)
    finally:
        lock.release()
    click.echo(f"Removed “{vo.name}”{what}.")


@click.command("test", help="Check a Virtual Organisation's credentials and endpoint (its type's connection test).")
@click.argument("name", required=False, shell_complete=complete_vo)
@common("vo", "region", "json", "workspace", "log_level")
def vo_test(name: str | None) -> None:
    s = session()
    if name:
        s.vo_name = name
    vo = s.vo()
    try:
        said = s.wb.tokens.test(vo)
    except Exception as exc:  # noqa: BLE001 - told in words
        raise Failed(s.explain(exc, vo)) from exc
    if s.json:  # (a failed test is exit 1 and its sentence, as without --json)
        output.print_json({"vo": vo.name, "region": vo.region, "ok": True, "message": said})
    else:
        click.echo(said)


# -- project -----------------------------------------------------------------------------------------
@click.command("list", help="The Grid Projects of the workspace and their VOs.")
@common("json", "workspace", "log_level")
def project_list() -> None:
    s = session()
    vos = s.wb.workspace.vos
    rows = [{"id": p.id, "name": p.name, "vo": vos[p.vo].name if p.vo in vos else "", "vo_id": p.vo}
            for p in sorted(s.wb.workspace.projects.values(), key=lambda p: p.name)]
    if s.json:
        output.print_json(rows)
    elif rows:
        output.table(rows, (("name", "NAME"), ("vo", "VO"), ("id", "ID")))
    else:
        click.echo("No Grid Project yet: add one with gridclient project add NAME --vo VO.", err=True)


@click.command("add", help="Add a Grid Project on a VO (shown in the window's tree).")
@click.argument("name")
@common("vo", "json", "workspace", "log_level")
def project_add(name: str) -> None:
    from gridclient.workspace import GridProject

    s = session()
    vo = s.vo(secrets=False)
    problem = s.wb.workspace.check_name(name, s.wb.workspace.projects)
    if problem:
        raise click.UsageError(f"The name “{name}”: {problem}")
    lock = s.workspace_lock()
    try:
        project = s.wb.workspace.add_project(GridProject(name.strip(), vo.id))
    finally:
        lock.release()
    if s.json:
        output.print_json({"id": project.id, "name": project.name, "vo": vo.name, "vo_id": vo.id})
    else:
        click.echo(f"Added the project “{project.name}” on “{vo.name}”.")


@click.command("remove", help="Remove a Grid Project (its VO stays; nothing in the cloud changes).")
@click.argument("name")
@common("workspace", "log_level")
def project_remove(name: str) -> None:
    s = session()
    ws = s.wb.workspace
    project = next((p for p in ws.projects.values() if p.name == name), None) or ws.projects.get(name)
    if project is None:
        raise NotFound(f"There is no Grid Project “{name}”.")
    lock = s.workspace_lock()
    try:
        ws.remove_project(project.id)
    finally:
        lock.release()
    click.echo(f"Removed the project “{project.name}”.")
