"""``sunshine redactions [--names] [--json]``: what the privacy rules hide from the public, per rule and dataset."""

from __future__ import annotations

import click

from cli.common import database_option, database_url, h, json_option, print_json
from ledger.i18n import language, t
from ledger.money import format_yuan
from ledger.read.privacy.report import redactions
from ledger.store.db import make_engine, reading


@click.command("redactions", help=h("help.redactions"))
@click.option("--names", is_flag=True, help=h("help.redactions.names"))
@json_option
@database_option
@click.pass_context
def command(ctx: click.Context, names: bool, as_json: bool) -> None:
    with reading(make_engine(database_url(ctx))) as conn:
        data = redactions(conn, names=names)
    if as_json:
        print_json(data)
        return
    label = data["label_en"] if language() == "en" else data["label_zh"]
    click.echo(t("redactions.header", label=label, rules=data["rules"]))
    for dataset, d in data["datasets"].items():
        click.echo(t("redactions.dataset", dataset=dataset, rows=d["rows"], checked=d["rows_checked"],
                     names=d["names"], amount=format_yuan(d["amount_fen"])))
        for rule, b in d["by_rule"].items():
            if b["rows"]:
                click.echo(t("redactions.rule", rule=rule, rows=b["rows"], names=b["names"],
                             amount=format_yuan(b["amount_fen"])))
    for n in data.get("names", []):
        click.echo(f"{n['dataset']}\t{n['rule']}\t{n['name']}\t{n['rows']}\t{format_yuan(n['amount_fen'])}")
