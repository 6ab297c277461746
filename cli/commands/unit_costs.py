"""``sunshine unit-costs [--year Y] [--unit CODE] [--metric M] [--config FILE] [--json]``: each unit's cost
per delegation, traveller, vehicle held, reception batch, guest and meeting day beside its peers' median and fence."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.i18n import language, t
from ledger.money import format_yuan
from ledger.rules.flag_rules_costs import METRICS, unit_cost_table
from ledger.rules.thresholds import ConfigError, load_flag_config
from ledger.store.db import make_engine, reading


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else format_yuan(fen)


@click.command("unit-costs", help=h("help.unit-costs"))
@click.option("--year", type=int, default=None, help=h("help.unit-costs.year"))
@click.option("--unit", "unit_code", default=None, help=h("help.unit-costs.unit"))
@click.option("--metric", type=click.Choice(list(METRICS)), default=None, help=h("help.unit-costs.metric"))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help=h("help.check.config"))
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, year: int | None, unit_code: str | None, metric: str | None, config_path: str | None,
            as_json: bool) -> None:
    try:
        config = load_flag_config(config_path)
    except ConfigError as exc:
        refuse(str(exc), as_json)
    with reading(make_engine(database_url(ctx))) as conn:
        try:
            rows = unit_cost_table(conn, config, year=year, unit_code=unit_code, metric=metric)
        except ConfigError as exc:
            refuse(str(exc), as_json)
    if as_json:
        print_json({"thresholds": config["unit_cost_outlier"], "data": rows})
        return
    en = language() == "en"
    for r in rows:
        what = r["metric_en"] if en else r["metric_zh"]
        unit = r["count_unit_en"] if en else r["count_unit_zh"]
        head = dict(unit=r["unit_code"], year=r["fiscal_year"], metric=what, cost=_yuan(r["unit_cost_fen"]),
                    amount=_yuan(r["amount_fen"]), count=r["count"], count_unit=unit,
                    flagged=t("unit-costs.flagged") if r["flagged"] else "",
                    group=r["peer_group_en" if en else "peer_group_zh"])
        if r["basis"] == "peers":
            click.echo(t("unit-costs.peers", **head, n=r["peer_group_size"], median=_yuan(r["peer_median_fen"]),
                         fence=_yuan(r["fence_fen"])))
        elif r["basis"] == "history":
            click.echo(t("unit-costs.history", **head, n=r["peer_group_size"], years=r["history_years"],
                         median=_yuan(r["history_median_fen"]), fence=_yuan(r["fence_fen"])))
        else:
            click.echo(t("unit-costs.none", **head, n=r["peer_group_size"], years=r["history_years"]))
    if not rows:
        click.echo(t("unit-costs.empty"))
