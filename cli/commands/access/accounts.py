"""``sunshine accounts create | list | disable``: named accounts for the web workspaces."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.i18n import t


@click.group("accounts", help=h("help.accounts"))
def command() -> None:
    """Manage workspace accounts (argon2id password hashes; disabled, never deleted)."""


def _engine(ctx):
    from ledger.store.db import make_engine

    return make_engine(database_url(ctx))


@command.command("create", help=h("help.accounts.create"))
@database_option
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["finance", "discipline", "admin"]),
              help=h("help.accounts.role"))
@click.option("--name", "display_name", default=None, help=h("help.accounts.name"))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="SUNSHINE_ACCOUNT_PASSWORD", help=h("help.accounts.password"))
@json_option
@click.pass_context
def create(ctx, username: str, role: str, display_name: str | None, password: str, as_json: bool) -> None:
    """Create account USERNAME."""
    from ledger.review import accounts
    from ledger.store.db import writing

    engine = _engine(ctx)
    try:
        with writing(engine) as conn:
            info = accounts.create(conn, username=username, password=password, role=role,
                                   display_name=display_name, actor="cli")
    except accounts.AccountRefused as exc:
        refuse(str(exc), as_json)
    finally:
        engine.dispose()
    if as_json:
        print_json({"ok": True, "id": info.id, "username": info.username, "role": info.role})
    else:
        click.echo(t("account.created", username=info.username, role=info.role))


@command.command("list", help=h("help.accounts.list"))
@database_option
@json_option
@click.pass_context
def list_(ctx, as_json: bool) -> None:
    """List accounts (never their password hashes)."""
    from ledger.review import accounts
    from ledger.store.db import reading

    engine = _engine(ctx)
    with reading(engine) as conn:
        rows = accounts.list_accounts(conn)
    engine.dispose()
    if as_json:
        print_json({"ok": True, "accounts": [
            {"id": a.id, "username": a.username, "display_name": a.display_name, "role": a.role,
             "created_at": a.created_at, "disabled_at": a.disabled_at} for a in rows]})
        return
    for a in rows:
        state = f"disabled {a.disabled_at:%Y-%m-%d %H:%M}" if a.disabled_at else "active"
        click.echo(f"{a.id}\t{a.role}\t{a.username}\t{a.display_name}\t{state}")


@command.command("disable", help=h("help.accounts.disable"))
@database_option
@click.argument("username")
@json_option
@click.pass_context
def disable(ctx, username: str, as_json: bool) -> None:
    """Disable account USERNAME and end its sessions."""
    from ledger.review import accounts
    from ledger.store.db import writing

    engine = _engine(ctx)
    with writing(engine) as conn:
        done = accounts.disable(conn, username, actor="cli")
    engine.dispose()
    if not done:
        refuse(t("account.refused.unknown", username=username) + " (sunshine accounts list)", as_json)
    if as_json:
        print_json({"ok": True, "username": username, "disabled": True})
    else:
        click.echo(t("account.disabled", username=username))
