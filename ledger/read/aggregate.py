"""Aggregates in the manner of OpenSpending's babbage, served from the ``rollup`` table.

Measures are the sum of amounts and the count of rows for actual spending and for each budget
stage, side by side in one answer. Drilldowns are any of the dimensions in ``DIMENSIONS``;
cuts filter on the same dimensions. The rollup is kept current at import, so an aggregate reads
a few thousand pre-summed rows and never runs a GROUP BY over millions of entries. Sums are
Python integers: exact to the fen on both databases.

Once a published 三公 table is live (or a row sits at a node of the category tree: 合计, the vehicles
subtotal), stored sums would count a 合计 with its parts and line items with the table: the answer then
comes from ``ledger.read.aggregate_figures``, over one resolved figure per unit, year and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from ledger.read import aggregate_figures
from ledger.read.published import pages as queries_pages
from ledger.read.queries import Filters, QueryError, yuan
from ledger.read.totals import live_ids, live_totals
from ledger.store.models import CategoryGroupMember, Rollup, Unit

MEASURES = ("actual", "budget_original", "budget_adjusted")
MAX_CELLS = 10_000

_r = Rollup.__table__
_u = Unit.__table__.alias("au")
_g = CategoryGroupMember.__table__.alias("ag")
_p = Unit.__table__.alias("ap")  # the unit's parent in the unit tree

# name → (expression, needs unit join, needs group join)
DIMENSIONS: dict[str, tuple[Any, bool, bool]] = {
    "unit": (_u.c.code, True, False),
    "unit_level": (_u.c.level, True, False),
    "level": (_u.c.level, True, False),  # the same as unit_level: a level of the unit tree
    "region": (_u.c.region, True, False),
    "parent": (_p.c.code, True, False),  # the parent unit's code (null for a top unit)
    "year": (_r.c.fiscal_year, False, False),
    "category": (_r.c.category_code, False, False),
    "group": (_g.c.group_code, False, True),
    "currency": (_r.c.currency, False, False),
}


@dataclass(frozen=True)
class Aggregate:
    drilldown: list[str]
    cells: list[dict[str, Any]]
    summary: dict[str, Any]


def _measures(sums: dict[str, list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in MEASURES:
        amount, count = sums.get(m, (0, 0))
        out[f"{m}_fen"] = amount
        out[f"{m}_yuan"] = yuan(amount)
        out[f"{m}_count"] = count
    return out


def aggregate(conn: Connection, drilldown: list[str] | None = None, cuts: Filters | None = None) -> Aggregate:
    """Sums and counts of actual and budget per drilldown cell, plus the summary over all cells.

    ``cuts`` accepts the rollup's dimensions: unit, unit_level, region, year, year_from, year_to,
    category and group. ``region``, ``level`` and ``parent`` roll units up the unit tree: a region's or a
    parent's cell is exactly the sum of the units in it (a unit without a region falls in the null cell). Drilling down by group counts a category once in each group it belongs to.
    """
    drilldown = list(dict.fromkeys(drilldown or []))
    for d in drilldown:
        if d not in DIMENSIONS:
            raise QueryError("drilldown", f"unknown dimension {d!r}; use {', '.join(DIMENSIONS)}")
    cuts = cuts or Filters()
    unsupported = cuts.given() - {"unit", "unit_level", "region", "year", "year_from", "year_to", "category", "group"}
    if unsupported:
        name = sorted(unsupported)[0]
        raise QueryError(name, "aggregates can be cut by unit, unit_level, region, year, year_from, year_to, "
                               "category and group")

    if aggregate_figures.needed(conn):
        # published tables (or rows at a node of the tree) are in: one figure per unit, year and category
        found, summary = aggregate_figures.cells(conn, drilldown, cuts)
        if len(found) > MAX_CELLS:
            raise QueryError("drilldown", f"more than {MAX_CELLS} cells; cut by year or unit first")
        num = (1 if summary else 0) if "group" in drilldown else len(found)
        return Aggregate(drilldown, _cells(drilldown, found), {"num_cells": num, **_measures(summary)})
    need_unit = any(DIMENSIONS[d][1] for d in drilldown) or bool(cuts.unit or cuts.unit_level or cuts.region)
    if not need_unit:
        return _from_totals(conn, drilldown, cuts)
    need_group = "group" in drilldown
    # Built once per shape with bind parameters and run on the driver's cursor (ledger.read.published.pages).
    values: dict[str, Any] = {"ids": live_ids(conn) or [-1], "measures": list(MEASURES)}
    values.update({f"f_{n}": getattr(cuts, n) for n in cuts.given()})
    ident = ("aggregate", tuple(drilldown), queries_pages.shape(cuts), len(values["ids"]))
    plan = queries_pages.cached(conn, ident, lambda: _unit_statement(drilldown, cuts, values))
    cells: dict[tuple, dict[str, list[int]]] = {}
    totals: dict[str, list[int]] = {}
    n = len(drilldown)
    for row in plan.run(conn, values):
        key, measure = tuple(row[:n]), row[n]
        amount, count = int(row[n + 1]), int(row[n + 2])
        cells.setdefault(key, {})[measure] = [amount, count]
        if not need_group:
            t = totals.setdefault(measure, [0, 0])
            t[0] += amount
            t[1] += count
        if len(cells) > MAX_CELLS:
            raise QueryError("drilldown", f"more than {MAX_CELLS} cells; cut by year or unit first")
    if need_group:
        # A category sits in several groups, so the summary is taken without the group join.
        return Aggregate(drilldown, _cells(drilldown, cells), aggregate(conn, [], cuts).summary)
    summary = {"num_cells": len(cells), **_measures(totals)}
    return Aggregate(drilldown, _cells(drilldown, cells), summary)


def _cells(drilldown: list[str], cells: dict[tuple, dict[str, list[int]]]) -> list[dict[str, Any]]:
    def order(key: tuple):
        return tuple((v is None, v if v is not None else "") for v in key)

    return [
        {**dict(zip(drilldown, key, strict=True)), **_measures(sums)}
        for key, sums in sorted(cells.items(), key=lambda kv: order(kv[0]))
    ]


def _unit_statement(drilldown: list[str], cuts: Filters, values: dict[str, Any]):
    def p(name: str):
        value = values[name]
        return bindparam(name, value=value, expanding=isinstance(value, list))

    dims = [DIMENSIONS[d][0].label(d) for d in drilldown]
    source = _r.join(_u, _u.c.id == _r.c.unit_id)
    if "parent" in drilldown:
        source = source.outerjoin(_p, _p.c.id == _u.c.parent_id)
    if "group" in drilldown:
        source = source.join(_g, _g.c.category_code == _r.c.category_code)
    # Live batches by id and every measure named, so a unit cut seeks rollup's (batch, measure, unit) index.
    conds = [_r.c.batch_id.in_(p("ids")), _r.c.measure.in_(p("measures"))]
    if cuts.unit:
        conds.append(_u.c.code.in_(p("f_unit")))
    if cuts.unit_level:
        conds.append(_u.c.level.in_(p("f_unit_level")))
    if cuts.region:
        conds.append(_u.c.region.in_(p("f_region")))
    if cuts.year:
        conds.append(_r.c.fiscal_year.in_(p("f_year")))
    if cuts.year_from is not None:
        conds.append(_r.c.fiscal_year >= p("f_year_from"))
    if cuts.year_to is not None:
        conds.append(_r.c.fiscal_year <= p("f_year_to"))
    if cuts.category:
        conds.append(_r.c.category_code.in_(p("f_category")))
    if cuts.group:
        members = select(CategoryGroupMember.category_code).where(CategoryGroupMember.group_code.in_(p("f_group")))
        conds.append(_r.c.category_code.in_(members))
    stmt = (
        select(*dims, _r.c.measure, func.sum(_r.c.amount_fen), func.sum(_r.c.row_count))
        .select_from(source)
        .where(*conds)
        .group_by(*dims, _r.c.measure)
        .order_by(*dims)
    )
    expanding = {k: len(v) for k, v in values.items() if isinstance(v, list)}
    return stmt, set(values), expanding


def _from_totals(conn: Connection, drilldown: list[str], cuts: Filters) -> Aggregate:
    """The same answer as the SQL path when no unit is involved, from the per-batch totals kept in process."""
    groups_of: dict[str, list[str]] = {}
    if "group" in drilldown or cuts.group:
        for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
            groups_of.setdefault(c, []).append(g)
    allowed = {c for c, gs in groups_of.items() if set(gs) & set(cuts.group)} if cuts.group else None
    by_group = "group" in drilldown
    cells: dict[tuple, dict[str, list[int]]] = {}
    totals: dict[str, list[int]] = {}
    for measure, year, category, currency, amount, count in live_totals(conn):
        if (cuts.year and year not in cuts.year) or (cuts.year_from is not None and year < cuts.year_from) or (
            cuts.year_to is not None and year > cuts.year_to) or (cuts.category and category not in cuts.category) or (
                allowed is not None and category not in allowed):
            continue
        t = totals.setdefault(measure, [0, 0])
        t[0] += amount
        t[1] += count
        values = {"year": year, "category": category, "currency": currency}
        for group in groups_of.get(category, []) if by_group else [None]:
            key = tuple(group if d == "group" else values[d] for d in drilldown)
            sums = cells.setdefault(key, {}).setdefault(measure, [0, 0])
            sums[0] += amount
            sums[1] += count
        if len(cells) > MAX_CELLS:
            raise QueryError("drilldown", f"more than {MAX_CELLS} cells; cut by year or unit first")
    # With a group drilldown a category counts once per group, so the summary is the ungrouped one.
    num_cells = (1 if totals else 0) if by_group else len(cells)
    return Aggregate(drilldown, _cells(drilldown, cells), {"num_cells": num_cells, **_measures(totals)})
