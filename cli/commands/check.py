"""``sunshine check [--year Y] [--json]``: evaluate every target and raise the red flags."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json_stream, refuse
from ledger.i18n import t
from ledger.money import format_wan
from ledger.rules.bulk.result_lines import result_lines
from ledger.rules.checks import run_checks, target_results
from ledger.rules.no_data import no_data_targets
from ledger.rules.thresholds import ConfigError, load_flag_config
from ledger.store.db import make_engine, reading, writing

MAX_LISTED = 50


@click.command("check", help=h("help.check"))
@click.option("--year", type=int, default=None, help=h("help.check.year"))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help=h("help.check.config"))
@click.option("--by", "actor", default="cli", show_default=True, help=h("help.check.by"))
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
    if as_json:  # every result, streamed: a national run holds millions
        with reading(engine) as conn:
            print_json_stream({"ok": True, "run_id": summary.run_id, "reused": summary.reused,
                               "fingerprint": summary.fingerprint, "fiscal_year": year, "results": summary.results,
                               "flags": summary.flags}, "targets", result_lines(conn, summary.run_id, year=year),
                              encoded=True)
        return
    r = summary.results
    click.echo(t("check.run", run=summary.run_id, reused=t("check.reused") if summary.reused else "",
                 met=r.get("met", 0), missed=r.get("missed", 0), insufficient=r.get("insufficient_data", 0),
                 no_data=r.get("no_data", 0)))
    f = summary.flags
    if summary.reused:  # the stored summary's "new" counts belong to the run that made it, not to this one
        click.echo(t("check.flags-reused", raised=f.get("raised", 0), run=summary.run_id))
    else:
        click.echo(t("check.flags", raised=f.get("raised", 0), new=f.get("new", 0), resolved=f.get("resolved", 0)))
    for x in f.get("skipped", []):  # a rule that could not judge some records says so, with how many
        click.echo(t("check.skipped", rule=x["rule"], currency=x["currency"], records=x["records"]))
    # Text lists the misses only, a screenful at most: at national scale a run holds millions of results.
    with reading(engine) as conn:
        missed = target_results(conn, summary.run_id, year=year, status="missed", limit=MAX_LISTED)
    for x in missed[:MAX_LISTED]:
        fmt = (lambda v: f"{format_wan(v)}万元") if x["measure_unit"] == "fen" else (
            lambda v, u=x["measure_unit"]: f"{v / 1000:g} {u}")
        click.echo(t("check.missed", target=x["target_id"], unit=x["unit_code"], year=x["fiscal_year"],
                     measure=t(f"measure.{x.get('measure', 'actual')}"), value=fmt(x["value"]), cap=fmt(x["cap"]),
                     excess=fmt(x["excess"]), pct=x["excess_pct"] if x["excess_pct"] is not None else "n/a"))
    if r.get("missed", 0) > MAX_LISTED:
        click.echo(t("check.more", n=r["missed"] - MAX_LISTED))
    # a target that could not be evaluated at all is said, never left silent
    with reading(engine) as conn:
        empty = no_data_targets(conn, summary.run_id, year)
    for x in empty:
        years = ", ".join(map(str, x["years"]))
        if x["measure"] == "consumption":
            click.echo(t("check.no-data-consumption", target=x["target_id"], years=years, units=x["units"],
                         resource=x["resource"]))
        else:
            click.echo(t("check.no-data", target=x["target_id"], years=years, units=x["units"],
                         measure=t(f"measure.{x['measure']}")))
    if f.get("raised", 0):
        click.echo(t("check.hint"))
