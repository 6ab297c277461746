"""``sunshine check [--year Y] [--json]``: evaluate every target and raise the red flags."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, json_option, print_json, refuse
from ledger.money import format_wan
from ledger.rules.checks import run_checks, target_results
from ledger.rules.no_data import no_data_targets
from ledger.rules.thresholds import ConfigError, load_flag_config
from ledger.store.db import make_engine, reading, writing

MAX_LISTED = 50


@click.command("check")
@click.option("--year", type=int, default=None, help="Only this fiscal year (default: every year in scope).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Thresholds file (default: $SUNSHINE_CONFIG, else sunshine.toml).")
@click.option("--by", "actor", default="cli", show_default=True, help="Who runs the check (for the audit log).")
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, year: int | None, config_path: str | None, actor: str, as_json: bool) -> None:
    """Evaluate every target for every unit and year in scope, store the results and flags.

    Running again on unchanged data (same live batches, targets and thresholds) reuses the last run.
    """
    try:
        config = load_flag_config(config_path)
    except ConfigError as exc:
        refuse(str(exc), as_json)
    engine = make_engine(database_url(ctx))
    try:
        with writing(engine) as conn:
            summary = run_checks(conn, year=year, config=config, actor=actor)
    except ConfigError as exc:
        refuse(str(exc), as_json)
    if as_json:
        with reading(engine) as conn:
            results = target_results(conn, summary.run_id, year=year)
        print_json({"ok": True, "run_id": summary.run_id, "reused": summary.reused, "fingerprint": summary.fingerprint,
                    "fiscal_year": year, "results": summary.results, "flags": summary.flags, "targets": results})
        return
    r = summary.results
    click.echo(f"run {summary.run_id}{' (unchanged data: reused)' if summary.reused else ''}: "
               f"{r.get('met', 0)} met, {r.get('missed', 0)} missed, {r.get('insufficient_data', 0)} insufficient_data, "
               f"{r.get('no_data', 0)} no data (无数据)")
    f = summary.flags
    if summary.reused:  # the stored summary's "new" counts belong to the run that made it, not to this one
        click.echo(f"flags: {f.get('raised', 0)} raised, unchanged since run {summary.run_id}")
    else:
        click.echo(f"flags: {f.get('raised', 0)} raised ({f.get('new', 0)} new), {f.get('resolved', 0)} resolved by data")
    # Text lists the misses only, a screenful at most: at national scale a run holds millions of results.
    with reading(engine) as conn:
        missed = target_results(conn, summary.run_id, year=year, status="missed", limit=MAX_LISTED)
    for x in missed[:MAX_LISTED]:
        fmt = (lambda v: f"{format_wan(v)}万元") if x["measure_unit"] == "fen" else (
            lambda v, u=x["measure_unit"]: f"{v / 1000:g} {u}")
        click.echo(f"  missed  {x['target_id']}  {x['unit_code']} {x['fiscal_year']}: {fmt(x['value'])} > cap "
                   f"{fmt(x['cap'])} (+{fmt(x['excess'])}, {x['excess_pct'] if x['excess_pct'] is not None else 'n/a'}%)")
    if r.get("missed", 0) > MAX_LISTED:
        click.echo(f"  … and {r['missed'] - MAX_LISTED} more missed: `sunshine check --json` or /api/v1/target-results")
    # a target that could not be evaluated at all is said, never left silent
    with reading(engine) as conn:
        empty = no_data_targets(conn, summary.run_id, year)
    for x in empty:
        what = (f"{x['resource']} consumption: sunshine import consumption FILE" if x["measure"] == "consumption"
                else f"{x['measure']} figures")
        years = ", ".join(map(str, x["years"]))
        click.echo(f"  no data (无数据)  {x['target_id']}  {years}: none of its {x['units']} units in scope has "
                   f"{what} / 无数据：范围内单位均无数据")
