"""``sunshine import KIND FILE [FILE...]``: load files as batches, or say exactly why not.

Each file is one batch, all or nothing. Exit 0 when every file loaded (or was already loaded),
1 when any file was refused, 2 on usage errors.
"""

from __future__ import annotations

import getpass
import importlib
import sys
from pathlib import Path

import click

from cli.common import EXIT_REFUSED, database_option, database_url, h, json_option, print_json, refuse
from importers.sheets.encoding import say_reason


class AmountUnit(click.ParamType):
    """元 / 万元 / 亿元 in any spelling a clerk types; a usage error (exit 2) names the accepted ones."""

    name = "amount unit"

    def convert(self, value, param, ctx):
        from ledger.amount_units import UnknownAmountUnit, amount_unit

        try:
            return amount_unit(value)
        except UnknownAmountUnit as e:
            self.fail(str(e), param, ctx)


KINDS = ["units", "expenses", "budgets", "disclosure", "procurement", "ocds", "consumption", "procurement-summary"]


class _Progress:
    """A tqdm bar on a terminal; nothing with --json or without a TTY."""

    def __init__(self, enabled: bool, name: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(desc=f"{name}: validate", unit=" rows", unit_scale=True, file=sys.stderr)
        self.phase = "validate"

    def __call__(self, phase: str, rows: int) -> None:
        if self.bar is None:
            return
        if phase != self.phase:
            self.phase = phase
            self.bar.set_description_str(self.bar.desc.rsplit(":", 1)[0] + f": {phase}")
            self.bar.reset()
        self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _import_ocds(engine, path, options, read):
    try:
        module = importlib.import_module("importers.procurement.ocds")
    except ImportError:
        raise click.UsageError("the ocds importer is not installed in this build") from None
    return module.import_file(engine, path, options, read)


def _print_text(result, kind: str) -> None:
    from importers.problems import describe
    from ledger.i18n import t
    from ledger.money import format_yuan

    r = result.report
    rows = r.get("rows", {})
    same = (t("import.unchanged-batch", batch=result.batch_id) if result.batch_id else t("import.unchanged-rows"))
    head = {"loaded": t("import.loaded", batch=result.batch_id), "unchanged": same,
            "dry-run": t("import.dry-run"), "refused": t("import.refused")}[result.status]
    click.echo(f"{r.get('file')}: {head}")
    if result.status != "unchanged" or result.batch_id is None:
        why = (r.get("encoding_evidence") or {}).get("reason")
        why = say_reason(why) if why else why
        source = (t("import.source-encoding-why", encoding=r["encoding"], why=why) if r.get("encoding") and why
                  else t("import.source-encoding", encoding=r["encoding"]) if r.get("encoding")
                  else t("import.source-workbook"))
        click.echo("  " + t("import.rows", source=source, read=rows.get("read", 0), loaded=rows.get("loaded", 0),
                             blank=rows.get("blank", 0), total_rows=rows.get("total_rows", 0),
                             held=rows.get("held", 0), existing=rows.get("skipped_existing", 0)))
        if r.get("units"):
            click.echo("  " + t("import.units", **{k: r["units"][k] for k in ("created", "updated", "held", "unchanged")}))
        if r.get("quantities"):
            click.echo("  " + t("import.quantities", quantities=", ".join(r["quantities"].values())))
        for cur, tot in (r.get("summary_by_currency") or {}).items():  # procurement-summary: both rates, named
            click.echo("  " + t("import.summary-totals", currency=cur, projects=tot["projects"],
                                 budget=format_yuan(tot["budget_fen"]), contract=format_yuan(tot["contract_fen"]),
                                 savings=format_yuan(tot["savings_fen"]),
                                 of_budget=tot["savings_rate_of_budget_pct"] or "—",
                                 of_contract=tot["savings_rate_of_contract_pct"] or "—"))
        for table, by_currency in (r.get("totals") or {}).items():
            sums = ", ".join(f"{format_yuan(v)} {c}" for c, v in by_currency.items())
            click.echo("  " + t("import.total", table=t(f"table.{table}"), sums=sums))
    problems = r.get("problems", {})
    for p in problems.get("listed", [])[:200]:
        click.echo(f"  {t('severity.' + p['severity'])}: {describe(p)}", err=result.status == "refused")
    shown = min(200, len(problems.get("listed", [])))
    total = problems.get("errors", 0) + problems.get("warnings", 0) + problems.get("findings", 0)
    if total > shown:
        click.echo("  " + t("import.more", n=total - shown, by_code=problems.get("by_code")))
    if result.status == "refused":
        click.echo("  " + t("import.hint-refused", kind=kind), err=True)
    elif rows.get("held"):
        click.echo("  " + t("import.hint-held", held=rows["held"]))
    elif result.status == "loaded":
        click.echo("  " + t("import.hint-loaded"))


@click.command(name="import", help=h("help.import"))
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help=h("help.import.dry-run"))
@click.option("--by", "submitted_by", metavar="NAME", default=None, help=h("help.import.by"))
@click.option("--amount-unit", type=AmountUnit(), default=None, metavar="元|万元|亿元",
              help=h("help.import.amount-unit"))
@click.option("--encoding", default=None, help=h("help.import.encoding"))
@click.option("--sheet", default=None, help=h("help.import.sheet"))
@click.option("--supersedes", type=int, default=None, metavar="BATCH",
              help=h("help.import.supersedes"))
@click.option("--columns", "mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="MAPPING.toml", help=h("help.import.columns"))
@click.option("--allow-duplicates", is_flag=True, help=h("help.import.allow-duplicates"))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help=h("help.import.config"))
@click.option("--update-units", is_flag=True,
              help=h("help.import.update-units"))
@click.option("--new-units", is_flag=True, help=h("help.import.new-units"))
@database_option
@json_option
@click.pass_context
def command(ctx, kind, files, dry_run, submitted_by, amount_unit, encoding, sheet, supersedes, mapping,
            allow_duplicates, config_path, update_units, new_units, as_json):
    """Import FILE(s) of KIND (units, expenses, budgets, disclosure, procurement, ocds, consumption, procurement-summary); one batch per file."""
    from importers.pipeline import Options
    from importers.run import ReadOptions, import_file
    from ledger.rules.fiscal import start_month
    from ledger.rules.thresholds import ConfigError
    from ledger.store.db import make_engine

    if supersedes is not None and len(files) > 1:
        raise click.UsageError("--supersedes takes exactly one FILE")
    try:
        fiscal_start = start_month(config_path)
    except ConfigError as exc:
        refuse(str(exc), as_json)
    engine = make_engine(database_url(ctx))
    results = []
    try:
        for path in files:
            progress = _Progress(not as_json and sys.stderr.isatty(), path.name)
            options = Options(submitted_by=submitted_by or getpass.getuser(), dry_run=dry_run, supersedes=supersedes,
                              allow_duplicates=allow_duplicates, update_units=update_units, new_units=new_units,
                              progress=progress)
            read = ReadOptions(encoding=encoding, sheet=sheet, amount_unit=amount_unit, mapping=mapping,
                               fiscal_start_month=fiscal_start)
            try:
                if kind == "ocds":
                    result = _import_ocds(engine, path, options, read)
                else:
                    result = import_file(engine, kind, path, options, read)
            finally:
                progress.close()
            results.append(result)
            if not as_json:
                _print_text(result, kind)
    finally:
        engine.dispose()
    ok = all(r.ok for r in results)
    if as_json:
        print_json({"ok": ok, "files": [r.report | {"status": r.status, "batch_id": r.batch_id} for r in results]})
    if not ok:
        sys.exit(EXIT_REFUSED)
