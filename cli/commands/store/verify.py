"""``sunshine verify [--checkpoint FILE] [--json]``: recompute the log from the stored rows."""

from __future__ import annotations

import json

import click

from cli.common import database_option, database_url, h, json_option, print_json, refuse
from ledger.i18n import t
from ledger.log.verify import verify
from ledger.rules.recheck import recheck
from ledger.rules.thresholds import ConfigError, load_flag_config
from ledger.store.db import make_engine, reading


@click.command("verify", help=h("help.verify"))
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
              help=h("help.verify.checkpoint"))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help=h("help.check.config"))
@database_option
@json_option
@click.pass_context
def command(ctx: click.Context, checkpoint_file: str | None, config_path: str | None, as_json: bool) -> None:
    """Recompute every leaf, checkpoint and published row; exit 1 naming the first that no longer matches."""
    exported = None
    if checkpoint_file:
        try:
            with open(checkpoint_file, encoding="utf-8") as f:
                exported = json.load(f)
        except (OSError, ValueError) as exc:
            refuse(f"cannot read checkpoint {checkpoint_file}: {exc}", as_json)
    try:  # the thresholds ``sunshine check`` ran with: part of the run's fingerprint
        config = load_flag_config(config_path)
    except ConfigError as exc:
        refuse(str(exc), as_json)
    engine = make_engine(database_url(ctx))
    try:
        with reading(engine) as conn:
            report = verify(conn, exported)
            results = recheck(conn, config)
    finally:
        engine.dispose()
    for p in results.problems:  # after the log's own problems: those come first
        report.add(p["code"], p["message"], table="target_result", row_id=p["row_id"])
    data = report.as_dict()
    data["target_results"] = {"run_id": results.run_id, "state": results.state, "checked": results.checked}
    if as_json:
        print_json(data)
    else:
        click.echo(t("verify.log", leaves=report.tree_size, root=report.root_hash))
        click.echo(t("verify.checked", checkpoints=report.checkpoints_checked, batches=report.batches_checked,
                     rows=report.rows_checked, reviews=report.reviews_checked))
        if results.state == "stale":
            click.echo(t("verify.results-stale", run=results.run_id))
        elif results.run_id is not None:
            click.echo(t("verify.results-checked", checked=results.checked, run=results.run_id))
        if exported is not None and report.ok:
            click.echo(t("verify.consistent", size=exported["size"]))
        for p in report.problems:
            click.echo(t("verify.mismatch", code=p.code, message=p.message), err=True)
        if report.ok:
            click.echo(t("verify.ok"))
    if not report.ok:
        raise SystemExit(1)
