"""The aggregate over resolved figures, when published 三公 tables are in the ledger.

``ledger.read.aggregate`` sums stored rows per category, which is exact while every row is a leaf
line item. Once a disclosure table is live, a category's figure is its published one (合计, subtotal or
part), line items of the same unit, year and category are detail, and a node is the sum of its
children only where nothing was published (``ledger.store.published``). This module answers the same
question on those figures: per unit and year each category resolved, then

- drilling down by ``category``: each category's own figure (a published 合计 is its own cell);
- drilling down by ``group``: the group's categories collapsed to the nodes they make up (三公 → 合计);
- otherwise (and always for the summary): the categories cut, collapsed the same way, or every root of
  the tree, so each stored amount counts once.

``*_count`` is the number of stored rows under the cell's categories (the node and its descendants).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from ledger.read.types import Filters
from ledger.store import published, unit_events
from ledger.store.batches import live
from ledger.store.models import CategoryGroupMember, ImportBatch, Rollup, Unit

MEASURES = ("actual", "budget_original", "budget_adjusted")


def needed(conn: Connection) -> bool:
    """Whether a live disclosure batch or a live row at a node of the tree exists (else stored sums are the figures)."""
    b, r = ImportBatch.__table__, Rollup.__table__
    if conn.execute(select(b.c.id).where(b.c.kind == "disclosure", live(b.c.id)).limit(1)).first() is not None:
        return True
    nodes = sorted({p for p in published.parents(conn).values() if p is not None})
    return conn.execute(select(r.c.id).where(r.c.category_code.in_(nodes), live(r.c.batch_id)).limit(1)).first() \
        is not None


def _rows(conn: Connection, cuts: Filters) -> pl.DataFrame:
    r, b, u = Rollup.__table__, ImportBatch.__table__, Unit.__table__
    up = Unit.__table__.alias("up")  # the unit's parent, for the ``parent`` dimension
    q = (select(r.c.batch_id, b.c.kind, r.c.measure, r.c.unit_id, u.c.code, u.c.level, u.c.region, up.c.code,
                r.c.fiscal_year, r.c.category_code, r.c.currency, r.c.amount_fen, r.c.row_count)
         .join(b, b.c.id == r.c.batch_id).join(u, u.c.id == r.c.unit_id).outerjoin(up, up.c.id == u.c.parent_id)
         .where(live(r.c.batch_id), r.c.measure.in_(MEASURES)))
    if cuts.unit:
        q = q.where(u.c.code.in_(cuts.unit))
    if cuts.unit_level:
        q = q.where(u.c.level.in_(cuts.unit_level))
    if cuts.region:
        q = q.where(u.c.region.in_(cuts.region))
    if cuts.year:
        q = q.where(r.c.fiscal_year.in_(cuts.year))
    if cuts.year_from is not None:
        q = q.where(r.c.fiscal_year >= cuts.year_from)
    if cuts.year_to is not None:
        q = q.where(r.c.fiscal_year <= cuts.year_to)
    schema = {"batch_id": pl.Int64, "kind": pl.String, "measure": pl.String, "unit_id": pl.Int64, "unit": pl.String,
              "unit_level": pl.String, "region": pl.String, "parent": pl.String, "fiscal_year": pl.Int64, "category_code": pl.String, "currency": pl.String,
              "amount": pl.Int64, "row_count": pl.Int64}
    return pl.DataFrame(conn.execute(q).all(), schema=schema, orient="row")


def _unit_attributes(conn: Connection, ids: list[int], units: pl.DataFrame) -> pl.DataFrame:
    """``units`` plus the successors of merged units (which may have no rows of their own)."""
    u, up = Unit.__table__, Unit.__table__.alias("up")
    q = (select(u.c.id, u.c.code, u.c.level, u.c.region, up.c.code).outerjoin(up, up.c.id == u.c.parent_id)
         .where(u.c.id.in_(ids)))
    more = pl.DataFrame(conn.execute(q).all(), schema={"unit_id": pl.Int64, "unit": pl.String,
                                                        "unit_level": pl.String, "region": pl.String,
                                                        "parent": pl.String}, orient="row")
    more = more.with_columns(pl.col("unit_level").alias("level"))
    return pl.concat([units.filter(~pl.col("unit_id").is_in(ids)), more.select(units.columns)])


def _ancestors(tree: dict[str, str | None], code: str) -> list[str]:
    out = [code]
    while (p := tree.get(out[-1])) is not None and p not in out:
        out.append(p)
    return out


def cells(conn: Connection, drilldown: list[str], cuts: Filters) -> tuple[dict[tuple, dict[str, list[int]]],
                                                                           dict[str, list[int]]]:
    """``({drilldown key: {measure: [fen, rows]}}, {measure: [fen, rows]})`` over resolved figures."""
    tree = published.parents(conn)
    members: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        members.setdefault(g, []).append(c)
    rows = _rows(conn, cuts)
    keys = ["measure", "unit_id", "fiscal_year", "category_code", "currency"]
    resolved = []
    for (currency,), part in rows.group_by("currency"):
        f = published.resolve(part.select(list(published.ROWS_SCHEMA)), tree)
        resolved.append(f.filter(pl.col("amount").is_not_null()).with_columns(pl.lit(currency).alias("currency")))
    units = rows.select("unit_id", "unit", "unit_level", "region", "parent").unique("unit_id").with_columns(
        pl.col("unit_level").alias("level"))
    successor = unit_events.read(conn).successor  # a merged unit counts as its successor (resolved apart, summed)
    # rows stored under each node: every row counts for its category and each ancestor
    anc = pl.DataFrame([(c, a) for c in tree for a in _ancestors(tree, c)], schema=["category_code", "node"],
                       orient="row")
    counts = (rows.join(anc, on="category_code").group_by("measure", "unit_id", "fiscal_year", "node", "currency")
              .agg(pl.col("row_count").sum().alias("rows")).rename({"node": "category_code"}))
    fig = (pl.concat(resolved) if resolved else pl.DataFrame(schema={**published.RESOLVED_SCHEMA,
                                                                   "currency": pl.String}))
    fig = fig.select(*keys, "amount").join(counts, on=keys, how="left").with_columns(pl.col("rows").fill_null(0))
    if successor:
        fig = fig.with_columns(pl.col("unit_id").replace(successor))
        units = _unit_attributes(conn, sorted(set(successor.values())), units)
    fig = fig.join(units, on="unit_id", how="left")

    allowed = set(tree)
    if cuts.category:
        allowed &= set(cuts.category)
    if cuts.group:
        allowed &= {c for g in cuts.group for c in members.get(g, [])}

    def select_nodes(codes: set[str]) -> list[str]:
        if not cuts.category and not cuts.group:
            return [c for c, p in tree.items() if p is None]  # the roots: every stored amount once
        return published.collapse(sorted(codes), tree)

    def total(frame: pl.DataFrame, dims: list[str]) -> dict[tuple, dict[str, list[int]]]:
        out: dict[tuple, dict[str, list[int]]] = {}
        for row in frame.group_by(*dims, "measure").agg(pl.col("amount").sum(), pl.col("rows").sum()).iter_rows():
            key, measure, amount, count = tuple(row[:len(dims)]), row[len(dims)], int(row[-2]), int(row[-1])
            sums = out.setdefault(key, {}).setdefault(measure, [0, 0])
            sums[0] += amount
            sums[1] += count
        return out

    base = fig.filter(pl.col("category_code").is_in(select_nodes(allowed)))
    summary = total(base, []).get((), {})
    dims = [{"year": "fiscal_year"}.get(d, d) for d in drilldown]
    if "category" in drilldown:
        frame = fig.filter(pl.col("category_code").is_in(sorted(allowed))).rename({"category_code": "category"})
    elif "group" in drilldown:
        parts = [fig.filter(pl.col("category_code").is_in(published.collapse(
            sorted(set(cs) & allowed), tree))).with_columns(pl.lit(g).alias("group"))
            for g, cs in members.items() if set(cs) & allowed]
        frame = pl.concat(parts) if parts else base.with_columns(pl.lit(None, pl.String).alias("group")).clear()
    else:
        frame = base
    return total(frame, dims), summary
