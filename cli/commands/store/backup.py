"""``sunshine backup FILE``: a consistent copy of the database, taken while it keeps serving."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.store.upkeep.backup import BackupError, backup


@click.command("backup", help=h("help.backup"))
@click.argument("file", type=click.Path(dir_okay=False))
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, file: str, as_json: bool) -> None:
    """Back up the database to FILE (SQLite online backup, or pg_dump's custom format)."""
    try:
        info = backup(file, database_url(ctx))
    except BackupError as exc:
        refuse(str(exc), as_json)
    if as_json:
        print_json({"ok": True, **info})
    else:
        click.echo(f"{info['backend']} backup written to {info['file']} ({info['bytes']} bytes)")
