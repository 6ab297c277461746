"""``sunshine units list | merge OLD NEW | retire CODE --year Y``: corrections to the unit register.

A merge or a retirement is a new ``unit_event`` row with who and why (``ledger.store.unit_events``);
nothing already published is rewritten. A merged unit counts as its successor in coverage and in
aggregate totals; row lists and downloads keep the code each row was published with.
"""

from __future__ import annotations

import getpass

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse


@click.group("units", help=h("help.units"))
def command() -> None:
    """The unit register: list units with their state, merge a mistaken unit into the right one, retire a unit."""


def _write(ctx, as_json: bool, action):
    from ledger.log import events
    from ledger.store.db import make_engine, writing
    from ledger.store.unit_events import UnitEventError

    engine = make_engine(database_url(ctx))
    try:
        with writing(engine) as conn:
            event = action(conn)
            events.unit_event_recorded(conn, event["id"])  # a leaf of the log, in the same transaction
            return event
    except UnitEventError as exc:
        refuse(str(exc), as_json, code=exc.code)
    finally:
        engine.dispose()


def _done(event: dict, as_json: bool) -> None:
    if as_json:
        print_json({"ok": True, "event": event})
    elif event["kind"] == "merge":
        click.echo(f"unit {event['unit_code']} now counts as {event['successor_code']} (event {event['id']})")
    else:
        click.echo(f"unit {event['unit_code']} retired from {event['fiscal_year']} (event {event['id']})")


@command.command("merge", help=h("help.units.merge"))
@click.argument("old")
@click.argument("new")
@click.option("--by", "actor", metavar="NAME", default=None, help=h("help.units.by"))
@click.option("--note", default=None, help=h("help.units.note"))
@database_option
@json_option
@click.pass_context
def merge(ctx, old: str, new: str, actor: str | None, note: str | None, as_json: bool) -> None:
    """Count unit OLD as unit NEW from now on (a mistyped code, or a unit absorbed by another)."""
    from ledger.store import unit_events

    event = _write(ctx, as_json, lambda conn: unit_events.merge(conn, old, new, actor=actor or getpass.getuser(),
                                                                 note=note))
    _done(event, as_json)


@command.command("retire", help=h("help.units.retire"))
@click.argument("code")
@click.option("--year", type=int, required=True, help=h("help.units.year"))
@click.option("--by", "actor", metavar="NAME", default=None, help=h("help.units.by"))
@click.option("--note", default=None, help=h("help.units.note"))
@database_option
@json_option
@click.pass_context
def retire(ctx, code: str, year: int, actor: str | None, note: str | None, as_json: bool) -> None:
    """Stop expecting unit CODE to report from fiscal year --year on."""
    from ledger.store import unit_events

    event = _write(ctx, as_json, lambda conn: unit_events.retire(conn, code, year, actor=actor or getpass.getuser(),
                                                                  note=note))
    _done(event, as_json)


@command.command("list", help=h("help.units.list"))
@database_option
@json_option
@click.pass_context
def list_(ctx, as_json: bool) -> None:
    """Every unit with its state (active, merged → successor, retired from a year), and the events."""
    from ledger.i18n import language
    from ledger.store import unit_events
    from ledger.store.db import make_engine, reading
    from ledger.store.unit_terms import group_name

    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            units, events = unit_events.units(conn), unit_events.events(conn)
    finally:
        engine.dispose()
    if as_json:
        print_json({"units": units, "events": events})
        return
    for u in units:
        state = {"merged": f"merged → {u['successor_code']}", "retired": f"retired from {u['retired_from']}"}.get(
            u["state"], "active")
        click.echo(f"{u['code']}\t{u['name']}\t{group_name(u['level'], u['kind'], language())}\t{state}")
