"""The wide 部门决算"三公"经费表: one row per unit and year becomes budget lines and actual entries.

预算数 columns become budget lines (stage ``original``), 决算数 columns become expense entries for
overseas_travel, vehicle_purchase, vehicle_operation and reception, with the counts on them
(团组数/接待批次 → batches, 人次 → persons, 购置数 → vehicles on vehicle_purchase, 保有量 → vehicles on
vehicle_operation). 合计 and the vehicles subtotal are checked, not stored: a published table that
does not add up is loaded as published and the difference recorded as a ``finding``.
An empty cell is not published (no row); ``0`` is a published zero.
"""

from __future__ import annotations

import polars as pl

from importers.kinds import (
    BUDGET_COLUMNS,
    EXPENSE_COLUMNS,
    Chunk,
    Context,
    parse_fields,
    problem_rows,
    split_rows,
)
from importers.sources import ROW
from ledger.money import format_amount

CATEGORIES = ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"]
COUNTS = {  # category -> (batches, persons, vehicles)
    "overseas_travel": ("overseas_groups", "overseas_persons", None),
    "vehicle_purchase": (None, None, "vehicles_purchased"),
    "vehicle_operation": (None, None, "vehicles_held"),
    "reception": ("reception_batches", "reception_persons", None),
}
CHECKS = [  # (name, the stated column, the columns it should equal the sum of)
    ("合计", "total", ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"]),
    ("公务用车购置及运行维护费", "vehicles", ["vehicle_purchase", "vehicle_operation"]),
]
MEASURE_ZH = {"budget": "预算数", "actual": "决算数"}


def _c(parsed: pl.DataFrame, name: str, dtype=pl.Int64) -> pl.Expr:
    return pl.col(name) if name in parsed.columns else pl.lit(None, dtype)


def _findings(parsed: pl.DataFrame, ctx: Context) -> list[pl.DataFrame]:
    out = []
    for measure in ("budget", "actual"):
        for label, stated, parts in CHECKS:
            col = f"{measure}_{stated}"
            if col not in parsed.columns:
                continue
            total = pl.sum_horizontal([_c(parsed, f"{measure}_{p}").fill_null(0) for p in parts])
            diff = pl.col(col) - total
            unit = ctx.units.get(col, "yuan")
            bad = parsed.with_columns(total.alias("__sum"), diff.alias("__diff")).filter(
                pl.col(col).is_not_null() & (pl.col("__diff") != 0))
            if not bad.height:
                continue
            msg = [f"{MEASURE_ZH[measure]} {label} {format_amount(s, unit, 2)} ≠ {format_amount(t, unit, 2)} "
                   f"(difference {format_amount(d, unit, 2)} {unit}; the table is loaded as published)"
                   for s, t, d in bad.select(col, "__sum", "__diff").iter_rows()]
            out.append(bad.select(
                pl.col(ROW).alias("row"), pl.lit(ctx.placement.fields[col]).alias("column"),
                pl.col("__diff").cast(pl.String).alias("value"), pl.lit("disclosure-sum").alias("code"),
                pl.lit("finding").alias("severity"), pl.Series("detail", msg, dtype=pl.String),
                pl.lit(ctx.sheet, pl.String).alias("sheet"),
            ))
    return out


def normalise(raw: pl.DataFrame, ctx: Context) -> Chunk:
    detail, total_rows, blank = split_rows(raw, ctx)
    parsed, placed = parse_fields(detail, ctx)
    problems = [problem_rows(parsed, placed, ctx, ["unit_code", "fiscal_year"]), *_findings(parsed, ctx)]
    common = [pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("source_row"),
              pl.col("unit_code"), _c(parsed, "unit_name", pl.String).alias("unit_name"),
              pl.col("fiscal_year").cast(pl.Int32), pl.lit("CNY").alias("currency")]
    budgets, actuals = [], []
    for cat in CATEGORIES:
        b = f"budget_{cat}"
        if b in parsed.columns:
            budgets.append(parsed.filter(pl.col(b).is_not_null()).select(
                *common, pl.lit(cat).alias("category_code"), pl.lit("original").alias("stage"),
                pl.col(b).alias("amount_fen")))
        a = f"actual_{cat}"
        if a in parsed.columns:
            batches, persons, vehicles = COUNTS[cat]
            actuals.append(parsed.filter(pl.col(a).is_not_null()).select(
                *common, pl.lit(None, pl.Date).alias("entry_date"), pl.lit(cat).alias("category_code"),
                pl.col(a).alias("amount_fen"), pl.lit(None, pl.String).alias("payee"),
                pl.lit(None, pl.String).alias("description"), pl.lit(None, pl.String).alias("voucher_no"),
                pl.lit(ctx.placement.fields[a]).alias("source_category"),
                _c(parsed, persons or "-").alias("persons"), _c(parsed, batches or "-").alias("batches"),
                _c(parsed, vehicles or "-").alias("vehicles")))
    tables = {}
    if budgets:
        tables["budget"] = pl.concat(budgets).select(BUDGET_COLUMNS)
    if actuals:
        tables["expense"] = pl.concat(actuals).select(EXPENSE_COLUMNS)
    totals = pl.DataFrame({ROW: total_rows[ROW], "is_total": [True] * total_rows.height,
                           "is_subtotal": [False] * total_rows.height}, schema={ROW: pl.Int64, "is_total": pl.Boolean,
                                                                                 "is_subtotal": pl.Boolean})
    return Chunk(tables, pl.concat(problems, how="diagonal_relaxed"), raw.height, blank, totals)
