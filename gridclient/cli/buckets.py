"""``gridclient s3 mb | rb | presign``, as ``aws s3`` spells them (``s3://bucket`` arguments), running
the window's own actions — New bucket…, Delete bucket…, Copy presigned URL… — through the action
runner: the same naming rules, the same offer to empty a bucket, the same URL. The actions are
found by their ``cli`` names ("s3 mb", "s3 rb", "s3 presign"), so these commands exist when a
provider declares them; the options of the made-from-the-registry command (``--name``, ``--expiry``,
``--method``, ``-f``) still work, so "Copy as command" lines run here too.
"""

from __future__ import annotations

from typing import Any

import click

from gridclient.cli import generated
from gridclient.cli.app import common, session
from gridclient.cli.session import NotFound, Session
from gridclient.registry import Action

MAX_EXPIRES = 7 * 86400
GET, PUT = "download (GET)", "upload (PUT)"


def add_commands(root: click.Group, registry: Any) -> None:
    by_cli = {a.cli: a for a in registry.actions.values() if a.cli}
    group = root.commands.get("s3")
    if not isinstance(group, click.Group):
        return
    for words, cmd in (("s3 mb", mb), ("s3 rb", rb), ("s3 presign", presign)):
        if words in by_cli:
            group.add_command(cmd)


def action_named(s: Session, words: str) -> Action:
    action = next((a for a in s.registry.actions.values() if a.cli == words), None)
    if action is None:
        raise NotFound(f"No loaded provider offers `{words}`.")
    return action


def bucket_of(text: str) -> str:
    """``s3://name``, ``s3://name/`` or ``name`` → name (no key)."""
    name = text[5:] if text.startswith("s3://") else text
    if "/" in name.rstrip("/"):
        raise click.UsageError(f"“{text}” names a key in a bucket: give only the bucket, s3://bucket.")
    return name.rstrip("/")


def element_at(s: Session, vo: Any, uri: str, put: bool) -> tuple[Any, str]:
    """The row the window would act on for ``uri`` (through the ``s3 ls`` listing's own node
    lookup): the object; for an upload link to a key not there yet, its folder and the name."""
    if not uri.startswith("s3://") or "/" not in uri[5:].strip("/"):
        raise click.UsageError(f"“{uri}” is not an object's URI: write s3://bucket/key.")
    lc = s.listing_for("s3 ls", vo)
    parent_uri, _, name = uri.rpartition("/")
    if not name:
        raise click.UsageError(f"“{uri}” ends with “/”: a link is for an object, s3://bucket/key.")
    folder = s.target_node(lc, vo, parent_uri)
    found = next((e for e in s.children(vo, folder) if e.id == uri), None)
    if found is not None:
        return found, ""
    if put:
        return folder, name
    raise NotFound(f"There is no object {uri}.")


@click.command("mb", help="Make a bucket (S3's naming rules checked first): s3://NAME.")
@click.argument("bucket", required=False, metavar="s3://NAME")
@click.option("--name", "name", metavar="NAME", help="The bucket's name (instead of s3://NAME).")
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE", help="A value the action asks for.")
@common()
def mb(bucket: str | None, name: str | None, field: tuple[str, ...]) -> None:
    s = session()
    given = generated.pairs(field)
    chosen = name or (bucket_of(bucket) if bucket else None) or given.get("name")
    if not chosen:
        raise click.UsageError("Name the bucket: gridclient s3 mb s3://NAME.")
    given["name"] = chosen
    if s.region:
        given.setdefault("region", s.region)
    generated.run_action(s, action_named(s, "s3 mb"), [], given, False,
                         options={"name": "s3://NAME", "region": "--region"})


@click.command("rb", help="Delete a bucket: s3://NAME. Asked first on a terminal (with the count of "
                          "what it holds, which is deleted too if you say so); --yes answers yes. "
                          "--force, as aws s3 rb --force: empty it and delete it without asking.")
@click.argument("bucket", metavar="s3://NAME")
@click.option("--force", is_flag=True, help="Delete every object (and older version), then the bucket, "
                                            "without asking.")
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE", help="A value the action asks for.")
@common()
def rb(bucket: str, force: bool, field: tuple[str, ...]) -> None:
    s = session()
    s.yes = s.yes or force
    generated.run_action(s, action_named(s, "s3 rb"), [bucket_of(bucket)], generated.pairs(field), False)


def show_url(s: Session, outcome: Any, interaction: Any, wait: bool) -> None:
    """The URL alone on standard output (``url=$(gridclient s3 presign …)``); what it is on stderr."""
    if outcome.state != "done" or s.json or not outcome.copy:
        generated.report(s, outcome, interaction, wait)
        return
    click.echo(outcome.message, err=True)
    click.echo(outcome.copy)


@click.command("presign", help="A presigned URL for s3://BUCKET/KEY: a download link, or with --put an "
                               "upload link (the key may not exist yet). Valid for --expires seconds "
                               "(default 3600, at most 7 days).")
@click.argument("uri", metavar="s3://BUCKET/KEY")
@click.option("--expires", "--expires-in", "expires", type=click.IntRange(1, MAX_EXPIRES), default=None,
              metavar="SECONDS", help="How long the link works: 1 to 604800 seconds (7 days).")
@click.option("--put", is_flag=True, help="An upload link (HTTP PUT) instead of a download link.")
@click.option("--expiry", default=None, hidden=True)
@click.option("--method", type=click.Choice([GET, PUT]), default=None, hidden=True)
@click.option("--name", default=None, hidden=True)
@click.option("--field", "-f", "field", multiple=True, metavar="NAME=VALUE", help="A value the action asks for.")
@common()
def presign(uri: str, expires: int | None, put: bool, expiry: str | None, method: str | None, name: str | None,
            field: tuple[str, ...]) -> None:
    s = session()
    given = generated.pairs(field)
    put = put or method == PUT or given.get("method") == PUT
    vo = s.vo()
    uri = uri if uri.startswith("s3://") else "s3://" + uri  # a row's id, as "Copy as command" gives it
    if name and (uri.endswith("/") or "/" not in uri[5:]):  # an upload link into a folder, by name
        uri = uri.rstrip("/") + "/" + name.strip("/")
    element, new_name = element_at(s, vo, uri, put)
    given.update(method=PUT if put else GET)
    if new_name:
        given["name"] = new_name
    given["expiry"] = str(expires) if expires is not None else (expiry or given.get("expiry") or "3600")
    generated.run_action(s, action_named(s, "s3 presign"), [], given, False, elements=[element],
                         options={"expiry": "--expires"}, show=show_url)
