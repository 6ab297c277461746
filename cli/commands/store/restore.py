"""``sunshine restore FILE``: replace the database with a backup, then check it with ``sunshine verify``."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.store.upkeep.backup import BackupError, restore


@click.command("restore", help=h("help.restore"))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help=h("help.restore.yes"))
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, file: str, yes: bool, as_json: bool) -> None:
    """Replace the database's contents with the backup in FILE."""
    if not yes and not click.confirm("Replace everything in the database with this backup?", err=True):
        refuse("not restored", as_json)
    try:
        info = restore(file, database_url(ctx))
    except BackupError as exc:
        refuse(str(exc), as_json)
    if as_json:
        print_json({"ok": True, **info})
    else:
        click.echo(f"restored {info['backend']} database from {info['file']}; run `sunshine verify --checkpoint FILE` next")
