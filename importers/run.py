"""Import one tabular file (expenses, budgets, disclosure, procurement): read, place, normalise, load.

``import_file`` is what the CLI and the API call. It opens the file as sheets of strings
(``importers.sheets.sources``), places the columns (``importers.sheets.columns``), normalises chunk by chunk
(``importers.kinds`` / ``importers.disclosure``), checks stated totals, and hands the chunks to
``importers.pipeline.load_normalised``, which writes one batch or nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select

from importers import disclosure, kinds
from importers.consumption import import_consumption
from importers.pipeline import FileMeta, Options, Result, base_report, load_normalised
from importers.problems import Problems
from importers.reading import ReadOptions, fiscal_start, record_encoding, report_placement
from importers.sheets.columns import KINDS, Mapping, place
from importers.sheets.columns import header_matcher as matcher
from importers.sheets.safety import Refused
from importers.sheets.sources import ROW, open_file
from importers.units import import_units
from ledger.amount_units import NAMES_ZH, UnknownAmountUnit, amount_unit
from ledger.money import format_amount
from ledger.store.db import reading
from ledger.store.models import Category

TABULAR_KINDS = ("expenses", "budgets", "disclosure", "procurement", "units", "consumption")
CATEGORY_ALIASES = {
    "因公出国费": "overseas_travel", "因公出国(境)经费": "overseas_travel", "出国费": "overseas_travel",
    "公务接待费": "reception", "接待费": "reception", "公务用车购置费": "vehicle_purchase",
    "车辆购置费": "vehicle_purchase", "公务用车运行费": "vehicle_operation", "公务用车运行维护费": "vehicle_operation",
    "车辆运行维护费": "vehicle_operation", "考察费": "study_tour", "出省考察费": "study_tour",
}


def checked_unit(text: str) -> str:
    """The unit code for a clerk's spelling, or ``Refused('amount-unit-unknown')`` naming what is accepted."""
    try:
        return amount_unit(text)
    except UnknownAmountUnit:
        raise Refused("amount-unit-unknown", value=str(text)) from None


def categories(engine: Engine, mapping: Mapping | None) -> tuple[dict[str, str], str | None]:
    with reading(engine) as conn:
        rows = conn.execute(select(Category.code, Category.name_zh, Category.name_en)).all()
    table = dict(CATEGORY_ALIASES)
    for code, zh, en in rows:
        table |= {code: code, zh: code, en: code}
    default = None
    if mapping:
        known = {code for code, _, _ in rows}
        for label, code in mapping.categories.items():
            if code not in known:
                raise Refused("file-unreadable", f"mapping {mapping.source}: {code!r} is not a category code")
            if label == "*":
                default = code
            else:
                table[label] = code
    return table, default


class TotalsCheck:
    """Stated totals against the detail above them: 合计/总计 since the sheet's start, 小计 since the last one."""

    def __init__(self, ctx, problems: Problems):
        self.ctx, self.problems = ctx, problems
        self.base = dict.fromkeys(ctx.amount_fields, 0)
        self.anchor = dict.fromkeys(ctx.amount_fields, 0)

    def feed(self, frame: pl.DataFrame) -> None:
        for f in self.ctx.amount_fields:
            cs = frame.select(
                pl.when(pl.col("is_total")).then(0).otherwise(pl.col(f)).fill_null(0).cum_sum().alias("cs"),
                ROW, "is_total", "is_subtotal", f,
            )
            for cs_i, row, sub, stated in cs.filter(pl.col("is_total")).select("cs", ROW, "is_subtotal", f).iter_rows():
                cum = self.base[f] + cs_i
                expected = cum - self.anchor[f] if sub else cum
                self.anchor[f] = cum
                if stated is not None and stated != expected:
                    unit = self.ctx.units.get(f, "yuan")
                    self.problems.add(
                        "total-mismatch", sheet=self.ctx.sheet, row=row, column=self.ctx.placement.fields[f],
                        value=format_amount(stated, unit, 2 if unit == "yuan" else 6),
                        detail=f"{format_amount(stated - expected, unit, 2 if unit == 'yuan' else 6)} {NAMES_ZH[unit]}",
                    )
            if cs.height:
                self.base[f] += int(cs["cs"][-1])


def amount_columns(kind: str, fields: dict[str, str]) -> dict[str, str]:
    """The file's amount header per table (``table``), or per table and category (``expense:category``,
    ``budget:category:stage``) for the disclosure table."""
    if kind == "disclosure":  # budget lines by category and stage, expense entries by category
        out = {}
        for item, cat in disclosure.NODES.items():
            for m, stage in disclosure.STAGE_OF.items():
                if fields.get(f"{m}_{item}"):
                    out[f"budget:{cat}:{stage}"] = fields[f"{m}_{item}"]
            if fields.get(f"actual_{item}"):
                out[f"expense:{cat}"] = fields[f"actual_{item}"]
        return out
    field_of = {"expenses": ("expense", "amount"), "budgets": ("budget", "amount"),
                "procurement": ("procurement", "contract_amount")}
    table, f = field_of.get(kind, (None, None))
    return {table: fields[f]} if table and fields.get(f) else {}


def import_file(engine: Engine, kind: str, path: Path, options: Options, read: ReadOptions | None = None) -> Result:
    """Import ``path`` as ``kind``; returns the result with its report (nothing written unless loaded)."""
    if kind == "units":  # reference data, not rows of a batch: see importers.units
        return import_units(engine, path, options, read)
    if kind == "consumption":  # quantities (kWh, L, m³), not money: see importers.consumption
        return import_consumption(engine, path, options, read)
    read = read or ReadOptions()
    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, kind, "")
    try:
        meta = FileMeta.of(path, kind)
        if read.amount_unit is not None:
            read = replace(read, amount_unit=checked_unit(read.amount_unit))
        meta.unit_stated = read.amount_unit is not None
        meta.fiscal_start = fiscal_start(read)
        mapping = Mapping.load(read.mapping, kind) if read.mapping else None
        table, default_category = categories(engine, mapping)
        with tempfile.TemporaryDirectory(prefix="sunshine-read-") as workdir:
            opened = open_file(path, matcher(kind, mapping), encoding=read.encoding, sheet=read.sheet,
                               limits=read.limits, workdir=Path(workdir))
            record_encoding(meta, opened, problems)
            meta.sheets = [s.name for s in opened.sheets if s.name]
            for name, why in opened.skipped:
                problems.add("sheet-skipped", sheet=name, severity="warning", detail=why)
            stats = {"read": 0, "detail": 0, "blank": 0, "total_rows": 0}
            contexts = []
            for sheet in opened.sheets:
                placement = place(sheet.headers, kind, mapping)
                if not report_placement(problems, sheet, placement, kind):
                    continue
                amount_fields = [f for f, (t, _) in KINDS[kind].items() if t == "amount" and f in placement.fields]
                fallback = read.amount_unit or sheet.unit_hint or (mapping.amount_unit if mapping else None) or "yuan"
                units = {f: placement.units.get(f) or fallback for f in amount_fields}
                ctx = kinds.Context(kind, path.name, sheet.name, placement, units, mapping, table, default_category,
                                    (mapping.currency or "CNY").upper() if mapping else "CNY", amount_fields,
                                    meta.fiscal_start)
                contexts.append((sheet, ctx))
                if meta.amount_unit is None and amount_fields:
                    meta.amount_unit = units[amount_fields[0]]
                meta.columns = amount_columns(kind, placement.fields) | meta.columns
            if not opened.sheets:
                problems.add("header-not-found", detail="in-any-sheet")

            def chunks():
                for sheet, ctx in contexts:
                    check = TotalsCheck(ctx, problems) if kind != "disclosure" else None
                    for raw in sheet.chunks():
                        stats["read"] += raw.height
                        if stats["read"] > read.limits.max_rows:
                            raise Refused("too-many-rows", f"more than {read.limits.max_rows:,}")
                        chunk = (disclosure.normalise if kind == "disclosure" else kinds.normalise)(raw, ctx)
                        stats["blank"] += chunk.blank
                        stats["total_rows"] += chunk.totals.filter(pl.col("is_total")).height
                        stats["detail"] += chunk.rows - chunk.blank - chunk.totals.filter(pl.col("is_total")).height
                        problems.add_frame(chunk.problems)
                        if check is not None:
                            check.feed(chunk.totals)
                        yield chunk.tables

            return load_normalised(engine, chunks(), problems, meta, options, stats)
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, {}, problems) | {"status": "refused"})
