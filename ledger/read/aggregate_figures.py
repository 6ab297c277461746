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

import threading

import polars as pl
from sqlalchemy import Connection, func, select

from ledger.read import totals
from ledger.read.types import Filters
from ledger.store import published, unit_events
from ledger.store.batches import current_pin, live
from ledger.store.models import CategoryGroupMember, ImportBatch, Rollup, Unit

MEASURES = ("actual", "budget_original", "budget_adjusted")
KEYS = ["measure", "unit_id", "fiscal_year", "category_code", "currency"]
KEEP = 2  # resolved ledgers kept per process: the current one and one read as of a checkpoint
_lock = threading.Lock()
_resolving = threading.Lock()  # one resolution of the whole ledger at a time per process
_kept: dict[tuple, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = {}
UNIT_DIMENSIONS = {"unit", "unit_level", "level", "region", "parent"}


def needed(conn: Connection) -> bool:
    """Whether a live disclosure batch or a live row at a node of the tree exists (else stored sums are the figures).

    The rows at a node are looked up in the per-batch totals kept in process (``ledger.read.totals``):
    ``rollup`` has no index on the category, and scanning it on every aggregate cost seconds at 1M rows."""
    b = ImportBatch.__table__
    if conn.execute(select(b.c.id).where(b.c.kind == "disclosure", live(b.c.id)).limit(1)).first() is not None:
        return True
    nodes = {p for p in published.parents(conn).values() if p is not None}
    return any(category in nodes for _, _, category, *_ in totals.live_totals(conn))


def _rows(conn: Connection, unit_ids: list[int] | None = None) -> pl.DataFrame:
    """Every live rollup row of ``MEASURES`` (of these units) with its batch's kind.

    The kind is looked up per batch rather than joined per row, and the rows are taken from the driver's
    cursor as tuples: at 1M entries (625,830 rows) 1.8 CPU-s with the frame instead of 2.9 (polars on one thread)."""
    r, b = Rollup.__table__, ImportBatch.__table__
    q = (select(r.c.batch_id, r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, r.c.currency,
                r.c.amount_fen, r.c.row_count).where(live(r.c.batch_id), r.c.measure.in_(MEASURES)))
    if unit_ids is not None:
        q = q.where(r.c.unit_id.in_(unit_ids))
    kinds = dict(conn.execute(select(b.c.id, b.c.kind)).all())
    schema = {"batch_id": pl.Int64, "measure": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64,
              "category_code": pl.String, "currency": pl.String, "amount": pl.Int64, "row_count": pl.Int64}
    result = conn.execute(q)
    try:
        frame = pl.DataFrame(result.cursor.fetchall(), schema=schema, orient="row")  # ints and strings: nothing to convert
    finally:
        result.close()
    kind = pl.col("batch_id").replace_strict(kinds, default=None, return_dtype=pl.String).alias("kind")
    return frame.select("batch_id", kind, *list(schema)[1:])


def _units(conn: Connection, codes: list[str] | None = None) -> pl.DataFrame:
    """Every unit's (or these units') code, level, region and parent's code (the unit dimensions)."""
    u, up = Unit.__table__, Unit.__table__.alias("up")
    q = select(u.c.id, u.c.code, u.c.level, u.c.region, up.c.code).outerjoin(up, up.c.id == u.c.parent_id)
    if codes:
        q = q.where(u.c.code.in_(codes))
    units = pl.DataFrame(conn.execute(q).all(), schema={"unit_id": pl.Int64, "unit": pl.String, "unit_level": pl.String,
                                                         "region": pl.String, "parent": pl.String}, orient="row")
    return units.with_columns(pl.col("unit_level").alias("level"))


def _ancestors(tree: dict[str, str | None], code: str) -> list[str]:
    out = [code]
    while (p := tree.get(out[-1])) is not None and p not in out:
        out.append(p)
    return out


def _resolved(conn: Connection, tree: dict[str, str | None], unit_ids: list[int] | None = None) -> pl.DataFrame:
    """One figure per (measure, unit, year, category, currency) over every live row, with the rows under it.

    Only the groups (currency, measure, unit, year) where resolving can differ from adding up go through
    ``published.resolve``: a disclosure row, a row stored at a node of the tree, or a category with both a
    budgets file's line and another row. Elsewhere every row is a leaf's only kind of figure, so a leaf's
    figure is the sum of its rows and a node's the sum of the leaves under it, which is what the row counts
    already add up (at 1M entries nearly every group, and most of the resolving time)."""
    rows = _rows(conn, unit_ids)
    group = ["currency", "measure", "unit_id", "fiscal_year"]
    nodes = sorted({p for p in tree.values() if p is not None})
    hard = (rows.group_by(*group, "category_code")
            .agg(((pl.col("kind") == "disclosure").any() | pl.col("category_code").first().is_in(nodes)
                  | ((pl.col("kind") == "budgets").any() & (pl.col("kind") != "budgets").any())).alias("hard"))
            .group_by(group).agg(pl.col("hard").any()).filter(pl.col("hard")).drop("hard"))
    rows = rows.join(hard.with_columns(pl.lit(True).alias("hard")), on=group, how="left").with_columns(
        pl.col("hard").fill_null(False))
    resolved = []
    for (currency,), part in rows.filter(pl.col("hard")).group_by("currency"):
        f = published.resolve(part.select(list(published.ROWS_SCHEMA)), tree, amounts_only=True)
        resolved.append(f.filter(pl.col("amount").is_not_null()).with_columns(pl.lit(currency).alias("currency")))
    # rows stored under each node: every row counts for its category and each ancestor
    anc = pl.DataFrame([(c, a) for c in tree for a in _ancestors(tree, c)], schema=["category_code", "node"],
                       orient="row")
    under = (rows.join(anc, on="category_code").group_by("measure", "unit_id", "fiscal_year", "node", "currency", "hard")
             .agg(pl.col("amount").sum(), pl.col("row_count").sum().alias("rows")).rename({"node": "category_code"}))
    easy = under.filter(~pl.col("hard")).select(*KEYS, "amount", "rows")
    fig = (pl.concat(resolved) if resolved else pl.DataFrame(schema={**published.RESOLVED_SCHEMA,
                                                                   "currency": pl.String}))
    hard_fig = fig.select(*KEYS, "amount").join(under.filter(pl.col("hard")).select(*KEYS, "rows"), on=KEYS,
                                                how="left").with_columns(pl.col("rows").fill_null(0))
    return pl.concat([easy, hard_fig.cast(easy.schema)])


def _kept_figures(conn: Connection, tree: dict[str, str | None], units: pl.DataFrame | None = None,
                  ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """``(resolved figures, the same summed over units, units)``, resolved once per data version (and
    checkpoint, under ``pinned``). Most answers name no unit: they read the few rows summed over units.

    Resolving every live row takes seconds at 1M entries; the answer depends only on the batches (each
    one's id, status, sha256, time and what it supersedes: a restored backup reusing an id differs), the
    units (changed only by imports, which are batches; their count and newest id are in the key too), the
    checkpoint pinned and the category tree, all in the key. The first answer after a change pays for
    the whole ledger (tens of seconds at 1M entries on a busy machine), once per process: other requests
    wait for it rather than resolve it too. Given ``units`` (a cut naming units) and nothing kept, only
    those units' rows are resolved, as before, and nothing is kept: a unit's page never waits for the ledger.
    """
    pin = current_pin()
    u = Unit.__table__
    key = (conn.engine.url.render_as_string(hide_password=True), totals.batch_identity(conn),
           tuple(conn.execute(select(func.count(), func.max(u.c.id))).one()),
           None if pin is None else (pin.size, pin.live), tuple(sorted(tree.items(), key=lambda kv: kv[0])))
    with _lock:
        got = _kept.get(key)
    if got is not None:
        return got
    if units is not None:
        return _resolved(conn, tree, units["unit_id"].to_list()), None, None
    with _resolving:
        with _lock:
            got = _kept.get(key)
        if got is None:
            fig = _resolved(conn, tree)
            over_units = fig.group_by("measure", "fiscal_year", "category_code", "currency").agg(
                pl.col("amount").sum(), pl.col("rows").sum())
            got = (fig, over_units, _units(conn))
            with _lock:
                while len(_kept) >= KEEP:
                    _kept.pop(next(iter(_kept)))
                _kept[key] = got
    return got


def cells(conn: Connection, drilldown: list[str], cuts: Filters) -> tuple[dict[tuple, dict[str, list[int]]],
                                                                           dict[str, list[int]]]:
    """``({drilldown key: {measure: [fen, rows]}}, {measure: [fen, rows]})`` over resolved figures.

    A cut by unit, level, region or year keeps whole (unit, year) groups, so it is applied to the figures
    resolved over every row, which are the same as the figures of the rows cut (by the unit's own code,
    level and region: a merged unit's row is cut as itself, then counts as its successor)."""
    tree = published.parents(conn)
    members: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        members.setdefault(g, []).append(c)
    chosen = None
    if cuts.unit or cuts.unit_level or cuts.region:
        chosen = _units(conn, cuts.unit)
        for name, column in (("unit", "unit"), ("unit_level", "unit_level"), ("region", "region")):
            if getattr(cuts, name):
                chosen = chosen.filter(pl.col(column).is_in(getattr(cuts, name)))
    fig, over_units, units = _kept_figures(conn, tree, chosen if cuts.unit else None)
    if over_units is not None and chosen is None and not UNIT_DIMENSIONS & set(drilldown):
        fig = over_units  # the sums below add figures up: summing over units first changes nothing
    if chosen is not None:
        fig = fig.filter(pl.col("unit_id").is_in(chosen["unit_id"].implode()))
    if cuts.year:
        fig = fig.filter(pl.col("fiscal_year").is_in(cuts.year))
    if cuts.year_from is not None:
        fig = fig.filter(pl.col("fiscal_year") >= cuts.year_from)
    if cuts.year_to is not None:
        fig = fig.filter(pl.col("fiscal_year") <= cuts.year_to)
    successor = unit_events.read(conn).successor  # a merged unit counts as its successor (resolved apart, summed)
    if successor and "unit_id" in fig.columns:
        fig = fig.with_columns(pl.col("unit_id").replace(successor))
    if UNIT_DIMENSIONS & set(drilldown):
        fig = fig.join(units if units is not None else _units(conn), on="unit_id", how="left")

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
