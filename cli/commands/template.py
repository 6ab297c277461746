"""``sunshine template KIND|all [--out DIR] [--format csv,xlsx]``: blank import templates to fill in."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import database_option, database_url, h, json_option, print_json


def _categories(ctx) -> list[str] | None:
    """The ledger's own category names when its database is reachable (a region may add categories)."""
    try:
        from sqlalchemy import select

        from ledger.store.db import make_engine, reading
        from ledger.store.models import Category

        engine = make_engine(database_url(ctx))
        try:
            with reading(engine) as conn:
                names = list(conn.execute(select(Category.name_zh).order_by(Category.sort_order)).scalars())
        finally:
            engine.dispose()
        return names or None
    except Exception:  # no database yet: the categories every ledger starts with
        return None


@click.command("template", help=h("help.template"))
@click.argument("kind", type=click.Choice(["units", "expenses", "budgets", "disclosure", "procurement", "consumption", "all"]))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help=h("help.template.out"))
@click.option("--format", "formats", default="csv,xlsx", show_default=True, help=h("help.template.format"))
@database_option
@json_option
@click.pass_context
def command(ctx, kind: str, out: Path, formats: str, as_json: bool) -> None:
    """Write the import template for KIND: CSV (UTF-8 with BOM, Chinese headers) and XLSX (drop-down lists,
    an example sheet and a notes sheet).

    写出导入模板：CSV（UTF-8 带 BOM，中文表头）和 XLSX（下拉列表、示例表、填写说明）。
    """
    from importers.templates import KINDS, write
    from ledger.i18n import t

    fmts = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not fmts or set(fmts) - {"csv", "xlsx"}:
        raise click.UsageError("--format takes csv and/or xlsx")
    categories = _categories(ctx)
    written = []
    for k in KINDS if kind == "all" else (kind,):
        written += write(k, out, fmts, categories)
    if as_json:
        print_json({"ok": True, "files": [str(p) for p in written]})
        return
    for p in written:
        click.echo(str(p))
    click.echo(t("template.hint", kind=kind if kind != "all" else "KIND"))
