"""Magnitude plausibility: a figure 1,000× or more off the same unit's previous year is held.

The 元/万元 and 万元/亿元 slips (a 万元 file without a unit marker loads 10.5 as 10.50 元 against
last year's 9.57 万) change every figure by 10⁴ or 10⁸, so each unit, year, category and measure
(actual; budget per stage) of the file is compared with the same unit's previous year:

    value = ledger (live, the superseded batch left out) + the file's new rows, for the year
    prior = the same, for the year before

A figure ``value ≥ 1000 × prior`` is too large; ``1000 × value ≤ prior`` is too small, checked only
for annual figures (budgets, disclosure tables, expense rows without a date), since a month of line
items is rightly small beside a whole year. Zero on either side says nothing (no ratio). Each
implausible figure is an ``error`` naming the row, the amount column, both figures and the unit
that would bring the figure nearest to last year's; the clerk who has checked the file states the
unit with ``--amount-unit`` (which is the confirmation: the check is then skipped).
"""

from __future__ import annotations

import math

import polars as pl
from sqlalchemy import Connection, func, select

from importers.checks.compact import compact
from ledger.money import format_yuan
from ledger.store.batches import live
from ledger.store.models import Rollup, Unit

FACTOR = 1000
PASS_FIGURES = 100_000  # the file's figures compared with the ledger in one pass (more: by groups of units)
EXPONENT = {"yuan": 0, "wan": 4, "yi": 8}
UNIT_ZH = {"yuan": "元", "wan": "万元", "yi": "亿元"}
KEY = ["unit_code", "fiscal_year", "category_code", "measure", "currency"]
TEXTS = ["unit_code", "category_code", "measure", "currency", "sheet", "column"]  # held as integer codes


def schema(text: pl.DataType) -> dict[str, pl.DataType]:
    """The sums' columns, each text column of dtype ``text`` (a ``Categorical``: 4 bytes a cell, not a string)."""
    return {"unit_code": text, "fiscal_year": pl.Int32, "category_code": text, "measure": text, "currency": text,
            "amount": pl.Int64, "dated": pl.Boolean, "sheet": text, "row": pl.Int64, "column": text}


class Magnitude:
    """Collects the file's sums per unit, year, category and measure; ``check`` compares them."""

    def __init__(self, columns: dict[str, str] | None = None):
        self.columns = columns or {}
        self.parts: list[pl.DataFrame] = []
        # about 1.2M figures at 5M rows: texts as codes into categories of this check's own (freed with it)
        self.text = pl.Categorical(pl.Categories.random())
        self.schema = schema(self.text)

    def feed(self, table: str, frame: pl.DataFrame) -> None:
        """Add a marked chunk (``__dup`` null = a row that will load)."""
        if table not in ("expense", "budget") or not frame.height:
            return
        measure = pl.lit("actual") if table == "expense" else pl.lit("budget_") + pl.col("stage")
        dated = pl.col("entry_date").is_not_null() if "entry_date" in frame.columns else pl.lit(False)
        fallback = pl.lit(self.columns.get(table), pl.String)
        by_cat = {k.split(":", 1)[1]: v for k, v in self.columns.items() if k.startswith(f"{table}:")}
        name = pl.col("category_code") + (pl.lit(":") + pl.col("stage") if table == "budget" else pl.lit(""))
        column = (name.replace_strict(by_cat, default=fallback, return_dtype=pl.String) if by_cat else fallback)
        self.parts.append(
            frame.filter(pl.col("__dup").is_null() & pl.col("amount_fen").is_not_null())
            .with_columns(measure.alias("measure"), dated.alias("dated"), column.alias("column"),
                          pl.col("fiscal_year").cast(pl.Int32))
            .with_columns(pl.col(*TEXTS).cast(pl.String).cast(self.text))
            .sort("source_row")
            .group_by(KEY, maintain_order=True)
            .agg(pl.col("amount_fen").sum().alias("amount"), pl.col("dated").any(), pl.col("sheet").first(),
                 pl.col("source_row").min().alias("row"), pl.col("column").first())
            .select(list(self.schema)).cast(self.schema)
        )
        self.parts = compact(self.parts, _reduce)

    def check(self, conn: Connection, problems, unit: str, exclude_batch: int | None) -> list[dict]:
        """Add a ``magnitude-implausible`` error per implausible figure; returns them for the report."""
        if not self.parts:
            return []
        mine = _reduce(self.parts)
        self.parts = []
        if mine.height <= PASS_FIGURES:
            bad = _implausible(conn, mine, exclude_batch, self.text)
        else:  # a unit's figures are compared with its own only: a pass per group of units bounds the joins
            units = mine.get_column("unit_code").unique().sort(nulls_last=True)
            step = max(1, len(units) * PASS_FIGURES // mine.height)
            bad = pl.concat([_implausible(conn, mine.filter(pl.col("unit_code").is_in(units.slice(i, step).implode())),
                                          exclude_batch, self.text) for i in range(0, len(units), step)])
        bad = bad.with_columns(pl.col(*TEXTS).cast(pl.String))
        out = []
        for r in bad.sort("sheet", "row", nulls_last=False).head(1000).iter_rows(named=True):
            likely = likely_unit(r["v"], r["p"], unit)
            ratio = r["v"] / r["p"]
            shown = f"×{ratio:,.0f}" if ratio >= 1 else f"×1/{1 / ratio:,.0f}"
            hint = (f"likely {UNIT_ZH[likely]}: --amount-unit {likely}" if likely != unit
                    else f"check the figures; if they are right: --amount-unit {unit}")
            detail = (f"{r['unit_code']} {r['fiscal_year']} {r['category_code']} {r['measure']} "
                      f"{format_yuan(r['value'])} 元 ↔ {r['fiscal_year'] - 1} {format_yuan(r['prior'])} 元, "
                      f"{shown}; {hint}")
            problems.add("magnitude-implausible", sheet=r["sheet"], row=r["row"], column=r["column"],
                         value=format_yuan(r["amount"]), detail=detail)
            out.append({"sheet": r["sheet"], "row": r["row"], "column": r["column"], "unit_code": r["unit_code"],
                        "fiscal_year": r["fiscal_year"], "category_code": r["category_code"],
                        "measure": r["measure"], "value_fen": r["value"], "prior_fen": r["prior"],
                        "read_as": unit, "likely_unit": likely})
        return out


def _implausible(conn: Connection, mine: pl.DataFrame, exclude_batch: int | None, text: pl.DataType) -> pl.DataFrame:
    """The figures of ``mine`` (some units' whole sums) 1,000× off their previous year, ledger included."""
    given = [y for y in mine["fiscal_year"].unique().to_list() if y is not None]  # an unreadable year is its own error
    years = sorted(set(given) | {y - 1 for y in given})
    units = mine["unit_code"].unique().drop_nulls().cast(pl.String).to_list()
    ledger = _ledger_sums(conn, units, years, exclude_batch, text)
    both = pl.concat([ledger, mine.select(*KEY, "amount")]).group_by(KEY).agg(pl.col("amount").sum())
    prior = both.with_columns(pl.col("fiscal_year") + 1).rename({"amount": "prior"})
    now = both.rename({"amount": "value"})
    cmp = (mine.join(now, on=KEY).join(prior, on=KEY)
           .filter((pl.col("value") != 0) & (pl.col("prior") != 0))
           .with_columns(pl.col("value").abs().alias("v"), pl.col("prior").abs().alias("p")))
    return cmp.filter((pl.col("v") >= pl.col("p") * FACTOR) | ((pl.col("v") * FACTOR <= pl.col("p")) & ~pl.col("dated")))


def _reduce(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per figure from partial sums (associative: reducing reduced parts again gives the same)."""
    return (pl.concat(parts).sort("row").group_by(KEY, maintain_order=True)
            .agg(pl.col("amount").sum(), pl.col("dated").any(), pl.col("sheet").first(), pl.col("row").min(),
                 pl.col("column").first()))


def likely_unit(value: int, prior: int, unit: str) -> str:
    """The amount unit that brings ``value`` (read in ``unit``) nearest to ``prior`` (both fen, > 0)."""
    gap = math.log10(prior) - math.log10(value)
    return min(EXPONENT, key=lambda u: (abs(gap - (EXPONENT[u] - EXPONENT[unit])), u != unit))


def _ledger_sums(conn: Connection, units: list[str], years: list[int], exclude: int | None,
                 text: pl.DataType) -> pl.DataFrame:
    r = Rollup.__table__
    rows = []
    for i in range(0, len(units), 5000):
        q = (select(Unit.code, r.c.fiscal_year, r.c.category_code, r.c.measure, r.c.currency, func.sum(r.c.amount_fen))
             .join(Unit, Unit.id == r.c.unit_id)
             .where(Unit.code.in_(units[i:i + 5000]), r.c.fiscal_year.in_(years), live(r.c.batch_id))
             .group_by(Unit.code, r.c.fiscal_year, r.c.category_code, r.c.measure, r.c.currency))
        if exclude is not None:
            q = q.where(r.c.batch_id != exclude)
        rows += conn.execute(q).all()
    kinds = {k: pl.String if v == text else v for k, v in schema(text).items()}
    return pl.DataFrame(rows, schema={k: kinds[k] for k in KEY} | {"amount": pl.Int64}, orient="row").cast(
        {k: v for k, v in schema(text).items() if k in KEY})
