"""``sunshine report four-fees | three-public | procurement --year Y [--unit U] [--json | --csv | --text]``."""

from __future__ import annotations

import csv
import sys

import click

from api.formats import safe_text
from cli.common import database_option, database_url, h, print_json, refuse
from ledger.i18n import language, t
from ledger.money import format_wan
from ledger.read import asof
from ledger.read.published.report_text import coverage_line, report_table, report_text
from ledger.read.published.reports import report
from ledger.read.types import NotFound, QueryError
from ledger.store.batches import pinned
from ledger.store.db import make_engine, reading


@click.command("report", help=h("help.report"))
@click.argument("kind", type=click.Choice(["four-fees", "three-public", "procurement"]))
@click.option("--year", type=int, required=True, help=h("help.report.year"))
@click.option("--unit", default=None, help=h("help.report.unit"))
@click.option("--json", "fmt", flag_value="json", help=h("help.report.json"))
@click.option("--csv", "fmt", flag_value="csv", help=h("help.report.csv"))
@click.option("--text", "fmt", flag_value="text", help=h("help.report.text"))
@click.option("--as-of", "as_of", default=None, help=h("help.report.as-of"))
@database_option
@click.pass_context
def command(ctx: click.Context, kind: str, year: int, unit: str | None, fmt: str | None, as_of: str | None) -> None:
    """Disclosure reports: 四费公开, the 部门决算“三公”经费表, government procurement."""
    with reading(make_engine(database_url(ctx))) as conn:
        try:
            cp, pin = asof.resolve(conn, as_of)
        except (QueryError, NotFound) as exc:
            refuse(getattr(exc, "message", None) or str(exc), fmt == "json")
        with pinned(pin):
            data = report(conn, kind, year, unit)
    if cp is not None:  # the checkpoint the figures are cited from (docs/verify.md checks it)
        data = {**data, "checkpoint": cp}
        click.echo(t("asof.banner", size=cp["size"], root=cp["root_hash"][:16], time=cp["time"]),
                   err=fmt in ("json", "csv"))
    if fmt == "json":
        print_json(data)
    elif fmt == "text":
        click.echo(report_text(data, language()))
    else:
        header, rows = report_table(data)
        if fmt == "csv":
            w = csv.writer(sys.stdout, lineterminator="\n")
            w.writerow(header)
            # text cells a spreadsheet would run as a formula get a leading ' (as the API's CSV does)
            w.writerows([["" if v is None else safe_text(v) if isinstance(v, str) else v for v in r] for r in rows])
            return
        # a readable table: money in 万元, under the year's coverage (missing is not zero)
        if (cov := data.get("coverage")) is not None:
            click.echo(coverage_line(cov))
        money = {i for i, h in enumerate(header) if h.endswith("_fen")}
        click.echo("\t".join(h.removesuffix("_fen") + ("(万元)" if i in money else "") for i, h in enumerate(header)))
        for r in rows:
            click.echo("\t".join("" if v is None else format_wan(v) if i in money else str(v) for i, v in enumerate(r)))
