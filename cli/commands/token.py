"""``sunshine token create | list | revoke``: API tokens for the finance bureau, the commission and admins."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse


@click.group("token", help=h("help.token"))
def command() -> None:
    """Manage API tokens (stored only as SHA-256 hashes)."""


def _engine(ctx):
    from ledger.store.db import make_engine

    return make_engine(database_url(ctx))


@command.command("create", help=h("help.token.create"))
@database_option
@click.option("--role", required=True, type=click.Choice(["finance", "discipline", "admin"]), help=h("help.token.role"))
@click.option("--name", required=True, help=h("help.token.name"))
@json_option
@click.pass_context
def create(ctx, role: str, name: str, as_json: bool) -> None:
    """Create a token and print it once; it cannot be shown again."""
    from ledger.review import tokens
    from ledger.store.db import writing

    engine = _engine(ctx)
    try:
        with writing(engine) as conn:
            secret, info = tokens.create(conn, name=name, role=role, actor="cli")
    except ValueError as exc:
        refuse(str(exc), as_json)
    finally:
        engine.dispose()
    if as_json:
        print_json({"ok": True, "id": info.id, "name": info.name, "role": info.role, "token": secret})
    else:
        click.echo(secret)
        click.echo(f"token {info.id} for {info.name} ({info.role}); store it now, it will not be shown again", err=True)


@command.command("list", help=h("help.token.list"))
@database_option
@json_option
@click.pass_context
def list_(ctx, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from ledger.review import tokens
    from ledger.store.db import reading

    engine = _engine(ctx)
    with reading(engine) as conn:
        rows = tokens.list_tokens(conn)
    engine.dispose()
    if as_json:
        print_json({"ok": True, "tokens": [
            {"id": t.id, "name": t.name, "role": t.role, "created_at": t.created_at, "revoked_at": t.revoked_at}
            for t in rows
        ]})
        return
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        click.echo(f"{t.id}\t{t.role}\t{t.name}\t{state}")


@command.command("revoke", help=h("help.token.revoke"))
@database_option
@click.argument("token_id", type=int)
@json_option
@click.pass_context
def revoke(ctx, token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID; requests bearing it are refused from then on."""
    from ledger.review import tokens
    from ledger.store.db import writing

    engine = _engine(ctx)
    with writing(engine) as conn:
        done = tokens.revoke(conn, token_id, actor="cli")
    engine.dispose()
    if not done:
        refuse(f"no active token with id {token_id} (see sunshine token list)", as_json)
    if as_json:
        print_json({"ok": True, "id": token_id, "revoked": True})
    else:
        click.echo(f"token {token_id} revoked")
