"""The wide 部门决算"三公"经费表: one row per unit and year becomes published figures at every node.

Every published cell is stored as published, at its node of the category tree (``ledger.store.published``):
合计 → ``three_public``, 因公出国(境)费 → ``overseas_travel``, 公务用车购置及运行维护费 → ``vehicles``,
购置费 → ``vehicle_purchase``, 运行维护费 → ``vehicle_operation``, 公务接待费 → ``reception``.
预算数 / 调整预算数 / 执行数 become budget lines (stage ``original`` / ``adjusted`` / ``execution``),
决算数 becomes expense entries, with the counts on them (团组数/接待批次 → batches, 人次 → persons,
购置数 → vehicles on vehicle_purchase, 保有量 → vehicles on vehicle_operation; with no purchase /
operation split published, 保有量 goes on the ``vehicles`` entry).

A node is checked against its children only when the node and ALL its children have a figure in the
row (a child counts when published, or when it is ``vehicles`` and both its parts are published): then
a difference is a ``disclosure-sum`` finding naming both figures, and the table is loaded as published.
A subtotal published without its split, or a 合计 with a part left blank, is not a finding.
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
from importers.sheets.columns import DISCLOSURE_STAGES
from importers.sheets.sources import ROW
from ledger.money import format_amount

UNIT_ZH = {"yuan": "元", "wan": "万元", "yi": "亿元"}

NODES = {  # field suffix -> category code (the tree is seeded by migration 0003)
    "total": "three_public", "overseas_travel": "overseas_travel", "vehicles": "vehicles",
    "vehicle_purchase": "vehicle_purchase", "vehicle_operation": "vehicle_operation", "reception": "reception",
}
COUNTS = {  # category -> (batches, persons, vehicles)
    "overseas_travel": ("overseas_groups", "overseas_persons", None),
    "vehicle_purchase": (None, None, "vehicles_purchased"),
    "vehicle_operation": (None, None, "vehicles_held"),
    "reception": ("reception_batches", "reception_persons", None),
}
CHECKS = [  # (中文 name, the node, its children)
    ("合计", "total", ["overseas_travel", "vehicles", "reception"]),
    ("公务用车购置及运行维护费", "vehicles", ["vehicle_purchase", "vehicle_operation"]),
]
NAME_ZH = {"total": "合计", "overseas_travel": "因公出国(境)费", "vehicles": "公务用车购置及运行维护费",
           "vehicle_purchase": "公务用车购置费", "vehicle_operation": "公务用车运行维护费", "reception": "公务接待费"}
STAGE_OF = {"budget": "original", "adjusted": "adjusted", "execution": "execution"}
MEASURE_ZH = dict(DISCLOSURE_STAGES)


def _c(parsed: pl.DataFrame, name: str, dtype=pl.Int64) -> pl.Expr:
    return pl.col(name) if name in parsed.columns else pl.lit(None, dtype)


def _child(parsed: pl.DataFrame, measure: str, item: str) -> pl.Expr:
    """A child's figure in the row: published, or (vehicles only) the sum of both published parts."""
    own = _c(parsed, f"{measure}_{item}")
    if item == "vehicles":
        p, o = _c(parsed, f"{measure}_vehicle_purchase"), _c(parsed, f"{measure}_vehicle_operation")
        return pl.coalesce(own, p + o)  # null unless both parts are published
    return own


def _findings(parsed: pl.DataFrame, ctx: Context) -> list[pl.DataFrame]:
    out = []
    for measure, zh in DISCLOSURE_STAGES:
        for label, node, children in CHECKS:
            col = f"{measure}_{node}"
            if col not in parsed.columns:
                continue
            parts = [_child(parsed, measure, c) for c in children]
            total = pl.sum_horizontal(parts)
            complete = pl.all_horizontal([p.is_not_null() for p in parts])
            bad = parsed.with_columns(total.alias("__sum"), (pl.col(col) - total).alias("__diff")).filter(
                pl.col(col).is_not_null() & complete & (pl.col("__diff") != 0))
            if not bad.height:
                continue
            unit = ctx.units.get(col, "yuan")
            names = " + ".join(NAME_ZH[c] for c in children)
            # figures and Chinese item names only: the words around them are in the catalogue, in both languages
            msg = [f"{zh} {label} {format_amount(s, unit, 2)} ≠ {names} {format_amount(t, unit, 2)} "
                   f"(Δ {format_amount(d, unit, 2)} {UNIT_ZH.get(unit, unit)})"
                   for s, t, d in bad.select(col, "__sum", "__diff").iter_rows()]
            out.append(bad.select(
                pl.col(ROW).alias("row"), pl.lit(ctx.placement.fields[col]).alias("column"),
                pl.col("__diff").cast(pl.String).alias("value"), pl.lit("disclosure-sum").alias("code"),
                pl.lit("finding").alias("severity"), pl.Series("detail", msg, dtype=pl.String),
                pl.lit(ctx.sheet, pl.String).alias("sheet"),
            ))
    return out


def _counts(parsed: pl.DataFrame, item: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    if item == "vehicles":
        # with no split published, 保有量 stays with the subtotal (购置数 needs the purchase row)
        split = _c(parsed, "actual_vehicle_purchase").is_not_null() | _c(parsed, "actual_vehicle_operation").is_not_null()
        held = pl.when(split).then(None).otherwise(_c(parsed, "vehicles_held"))
        return pl.lit(None, pl.Int64), pl.lit(None, pl.Int64), held
    batches, persons, vehicles = COUNTS.get(NODES[item], (None, None, None))
    return _c(parsed, batches or "-"), _c(parsed, persons or "-"), _c(parsed, vehicles or "-")


def normalise(raw: pl.DataFrame, ctx: Context) -> Chunk:
    detail, total_rows, blank = split_rows(raw, ctx)
    parsed, placed = parse_fields(detail, ctx)
    problems = [problem_rows(parsed, placed, ctx, ["unit_code", "fiscal_year"]), *_findings(parsed, ctx)]
    common = [pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("source_row"),
              pl.col("unit_code"), _c(parsed, "unit_name", pl.String).alias("unit_name"),
              pl.col("fiscal_year").cast(pl.Int32), pl.lit("CNY").alias("currency")]
    budgets, actuals = [], []
    for item, cat in NODES.items():
        for measure, stage in STAGE_OF.items():
            b = f"{measure}_{item}"
            if b in parsed.columns:
                budgets.append(parsed.filter(pl.col(b).is_not_null()).select(
                    *common, pl.lit(cat).alias("category_code"), pl.lit(stage).alias("stage"),
                    pl.col(b).alias("amount_fen")))
        a = f"actual_{item}"
        if a in parsed.columns:
            batches, persons, vehicles = _counts(parsed, item)
            actuals.append(parsed.filter(pl.col(a).is_not_null()).select(
                *common, pl.lit(None, pl.Date).alias("entry_date"), pl.lit(cat).alias("category_code"),
                pl.col(a).alias("amount_fen"), pl.lit(None, pl.String).alias("payee"),
                pl.lit(None, pl.String).alias("description"), pl.lit(None, pl.String).alias("voucher_no"),
                pl.lit(ctx.placement.fields[a]).alias("source_category"),
                persons.alias("persons"), batches.alias("batches"), vehicles.alias("vehicles"),
                pl.lit(None, pl.String).alias("payee_type"), pl.lit(None, pl.Int64).alias("days")))
    tables = {}
    if budgets:
        tables["budget"] = pl.concat(budgets).select(BUDGET_COLUMNS)
    if actuals:
        tables["expense"] = pl.concat(actuals).select(EXPENSE_COLUMNS)
    totals = pl.DataFrame({ROW: total_rows[ROW], "is_total": [True] * total_rows.height,
                           "is_subtotal": [False] * total_rows.height}, schema={ROW: pl.Int64, "is_total": pl.Boolean,
                                                                                 "is_subtotal": pl.Boolean})
    return Chunk(tables, pl.concat(problems, how="diagonal_relaxed"), raw.height, blank, totals)
