"""Reconcile a file against the other source for the same unit, year, category and stage, at import.

A 三公 disclosure table and expense line items of the same unit, year and category are never added
together (``ledger.store.published``): the table's figure is the published one and the line items are
detail. When they differ, the import that brings the second of them records a ``source-mismatch``
finding naming both figures, on the batch, with the difference (line items − published) in fen. The
file is loaded either way.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from importers.problems import Problems
from ledger.money import format_wan
from ledger.store import published
from ledger.store.models import Category, Unit

KEY = ["unit_code", "fiscal_year", "category_code", "measure"]
CHUNK = 1000  # unit codes per IN list


def partial(table: str, frame: pl.DataFrame, text: pl.DataType = pl.String) -> pl.DataFrame | None:
    """This chunk's CNY sums per unit, year, category (of the 三公 tree) and measure; None when nothing to check.

    ``text``: the dtype of the key's texts (a ``Categorical`` keeps the partials at 4 bytes a key cell;
    they are folded with ``reduce`` as they come, ``importers.checks.compact``)."""
    if table not in ("expense", "budget") or not frame.height:
        return None
    f = frame.filter((pl.col("currency") == "CNY") & pl.col("category_code").is_in(list(published.SEED_TREE)))
    if not f.height:
        return None
    measure = pl.lit("actual") if table == "expense" else pl.lit("budget_") + pl.col("stage")
    return f.select(pl.col("unit_code").cast(text), pl.col("fiscal_year").cast(pl.Int64),
                    pl.col("category_code").cast(text), measure.cast(text).alias("measure"),
                    pl.col("amount_fen").alias("amount")).group_by(KEY).agg(pl.col("amount").sum())


def reduce(partials: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per key from partial sums (associative)."""
    return pl.concat(partials).group_by(KEY).agg(pl.col("amount").sum())


def check(conn: Connection, kind: str, partials: list[pl.DataFrame], problems: Problems,
          exclude_batch: int | None = None) -> None:
    """Add a ``source-mismatch`` finding for each key where this file and the ledger's other source differ."""
    if kind not in ("disclosure", "expenses") or not partials:
        return
    mine = reduce(partials).with_columns(pl.col("unit_code", "category_code", "measure").cast(pl.String))
    codes = mine["unit_code"].unique().to_list()
    ids: dict[str, int] = {}
    for start in range(0, len(codes), CHUNK):
        ids |= dict(conn.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes[start:start + CHUNK]))).all())
    if not ids:
        return
    names = dict(conn.execute(select(Category.code, Category.name_zh)).all())
    years = mine["fiscal_year"].unique().to_list()
    unit_ids = list(ids.values())
    rows = pl.concat([published.rollup_rows(conn, years, unit_ids[start:start + CHUNK])
                      for start in range(0, len(unit_ids), CHUNK)])
    rows = rows.filter(pl.col("category_code").is_in(list(published.SEED_TREE)))
    if exclude_batch is not None:
        rows = rows.filter(pl.col("batch_id") != exclude_batch)
    codes_of = pl.DataFrame({"unit_id": list(ids.values()), "unit_code": list(ids)},
                            schema={"unit_id": pl.Int64, "unit_code": pl.String})
    rows = rows.join(codes_of, on="unit_id")
    if kind == "disclosure":  # this table against the line items already in the ledger
        other = rows.filter(~pl.col("kind").is_in(["disclosure", "budgets"]))
        table, items = mine, other.group_by(KEY).agg(pl.col("amount").sum())
    else:  # these line items (plus those already in) against a published table already in the ledger
        tables = rows.filter(pl.col("kind") == "disclosure")
        table = (tables.filter(pl.col("batch_id") == pl.col("batch_id").max().over(KEY))
                 .group_by(KEY).agg(pl.col("amount").sum()))
        before = rows.filter(~pl.col("kind").is_in(["disclosure", "budgets"])).select(*KEY, "amount")
        items = pl.concat([before, mine.select(*KEY, "amount")]).group_by(KEY).agg(pl.col("amount").sum())
        items = items.join(mine.select(KEY), on=KEY, how="semi")
    both = table.rename({"amount": "published"}).join(items.rename({"amount": "items"}), on=KEY)
    for unit, year, cat, measure, pub, its in both.filter(pl.col("published") != pl.col("items")).sort(KEY).iter_rows():
        stage = published.STAGE_ZH.get(published.MEASURE_STAGE.get(measure, ""), measure)
        problems.add("source-mismatch", column=cat, value=str(its - pub), severity="finding", detail=(
            f"{unit} {year} {names.get(cat, cat)} {stage}: {format_wan(its)} 万元 ≠ {format_wan(pub)} 万元 "
            f"(Δ {format_wan(its - pub)} 万元)"))  # the words (明细 / 公开表) are in the catalogue
