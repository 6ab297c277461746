"""``sunshine db upgrade | downgrade REV | current | check``."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.config import database_url as resolve_url
from ledger.store import migrate


@click.group("db", help=h("help.db"))
def command() -> None:
    """Create and migrate the database schema."""


@command.command("upgrade", help=h("help.db.upgrade"))
@click.argument("revision", default="head")
@database_option
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    migrate.upgrade(database_url(ctx), revision)
    click.echo(f"database at {migrate.current_revision(database_url(ctx))}", err=True)


@command.command("downgrade", help=h("help.db.downgrade"))
@click.argument("revision")
@database_option
@click.pass_context
def downgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to REVISION (``base`` removes every table)."""
    migrate.downgrade(database_url(ctx), revision)
    click.echo(f"database at {migrate.current_revision(database_url(ctx)) or 'base'}", err=True)


@command.command("current", help=h("help.db.current"))
@database_option
@json_option
@click.pass_context
def current(ctx: click.Context, as_json: bool) -> None:
    """Show the database's revision and the code's head revision."""
    rev = migrate.current_revision(database_url(ctx))
    head = migrate.head_revision()
    data = {"revision": rev, "head": head, "up_to_date": rev == head, "database": _safe(resolve_url(database_url(ctx)))}
    if as_json:
        print_json(data)
    else:
        click.echo(f"{rev or 'base (empty)'}{' (head)' if rev == head else f' (head is {head})'}")


@command.command("check", help=h("help.db.check"))
@database_option
@json_option
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Compare the models with the migrated database; exit 1 when they differ."""
    diffs = [str(d) for d in migrate.check_drift(database_url(ctx))]
    if diffs:
        refuse("models and database differ: " + "; ".join(diffs), as_json, differences=diffs)
    if as_json:
        print_json({"ok": True, "differences": []})
    else:
        click.echo("models and database agree")


@command.command("partitions", help=h("help.db.partitions"))
@click.option("--year", "years", type=int, multiple=True, help=h("help.db.partitions.year"))
@click.option("--exact", is_flag=True, help=h("help.db.partitions.exact"))
@database_option
@json_option
@click.pass_context
def partitions_command(ctx: click.Context, years: tuple[int, ...], exact: bool, as_json: bool) -> None:
    """List the year partitions of the entry tables (PostgreSQL); ``--year`` creates a year's ahead of its import."""
    from ledger.i18n import t
    from ledger.store.db import make_engine, reading, writing
    from ledger.store.upkeep import partitions

    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            partitioned = [tb for tb in partitions.PARTITIONED if partitions.is_partitioned(conn, tb)]
        created = {}
        for table in partitioned if years else []:
            with writing(engine) as conn:  # one short transaction per table
                created[table] = partitions.ensure_years(conn, table, years)
        with reading(engine) as conn:
            listed = [p for tb in partitioned for p in partitions.partitions(conn, tb, exact=exact)]
    finally:
        engine.dispose()
    if as_json:
        print_json({"partitioned": partitioned, "created": created, "partitions": listed})
        return
    if not partitioned:
        click.echo(t("db.partitions.none"))
        return
    for table, made in created.items():
        if made:
            click.echo(t("db.partitions.created", table=table, years=", ".join(map(str, made))))
    for p in listed:
        year = p["fiscal_year"] if p["fiscal_year"] is not None else t("db.partitions.other_years")
        click.echo(f"{p['partition']}\t{year}\t{p['rows']:,}")


def _safe(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
