"""Aggregates in the manner of OpenSpending's babbage, served from the ``rollup`` table.

Measures are the sum of amounts and the count of rows for actual spending and for each budget
stage, side by side in one answer. Drilldowns are any of the dimensions in ``DIMENSIONS``;
cuts filter on the same dimensions. The rollup is kept current at import, so an aggregate reads
a few thousand pre-summed rows and never runs a GROUP BY over millions of entries. Sums are
Python integers: exact to the fen on both databases.

Once a published 三公 table is live (or a row sits at a node of the category tree: 合计, the vehicles
subtotal), stored sums would count a 合计 with its parts and line items with the table: the answer then
comes from ``ledger.read.aggregate_figures``, over one resolved figure per unit, year and category.

Currency is a dimension that is never summed over: the summary's ``by_currency`` gives each
currency's measures, and where a cell or the summary holds more than one currency its ``*_fen`` and
``*_yuan`` are null (counts still add up) and its own ``by_currency`` says what each holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from ledger.read import aggregate_figures, totals
from ledger.read.published import pages as queries_pages
from ledger.read.queries import Filters, QueryError, yuan
from ledger.read.totals import live_ids, live_totals
from ledger.store import unit_events
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
    coverage: list[dict[str, Any]] = field(default_factory=list)  # per year: reported of expected units


def _codes_merged(conn: Connection) -> dict[str, str]:
    """``{merged unit code: the code it counts as}`` (``sunshine units merge``)."""
    reg = unit_events.read(conn)
    if not reg.successor:
        return {}
    code_of = dict(conn.execute(select(Unit.id, Unit.code).where(
        Unit.id.in_(list(reg.successor) + list(reg.successor.values())))).all())
    return {code_of[a]: code_of[b] for a, b in reg.successor.items()}


def _expand_unit_cut(cuts: Filters, merged: dict[str, str]) -> Filters:
    """A cut by unit takes the unit as counted after merges: its successor and every unit merged into it."""
    if not cuts.unit or not merged:
        return cuts
    finals = {merged.get(c, c) for c in cuts.unit}
    return replace(cuts, unit=sorted(finals | {old for old, new in merged.items() if new in finals}))


def _coverage(conn: Connection, cells: list[dict[str, Any]], cuts: Filters) -> list[dict[str, Any]]:
    """Coverage of actual spending for each year the answer is about (``ledger.read.totals.coverage``)."""
    years = set(cuts.year) or {c["year"] for c in cells if c.get("year") is not None}
    if not years:
        years = set(totals.coverage(conn, ("actual",)))
    years = {y for y in years if (cuts.year_from is None or y >= cuts.year_from)
             and (cuts.year_to is None or y <= cuts.year_to)}
    codes = None
    if cuts.unit or cuts.unit_level or cuts.region:
        q = select(Unit.code)
        if cuts.unit:
            q = q.where(Unit.code.in_(cuts.unit))
        if cuts.unit_level:
            q = q.where(Unit.level.in_(cuts.unit_level))
        if cuts.region:
            q = q.where(Unit.region.in_(cuts.region))
        codes = list(conn.execute(q).scalars())
    return list(totals.coverage(conn, ("actual",), years=sorted(years), unit_codes=codes).values())


def _measures(sums: dict[str, list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in MEASURES:
        amount, count = sums.get(m, (0, 0))
        out[f"{m}_fen"] = amount
        out[f"{m}_yuan"] = yuan(amount)
        out[f"{m}_count"] = count
    return out


def aggregate(conn: Connection, drilldown: list[str] | None = None, cuts: Filters | None = None) -> Aggregate:
    """Sums and counts of actual and budget per drilldown cell, the summary over all cells, and per year
    the coverage of actual spending (how many of the expected units reported: missing is not zero).

    A unit merged into another (``sunshine units merge``) counts as its successor: the ``unit`` cell
    and a cut by unit take the successor's code (a merged unit's level, region and parent stay its own).
    """
    merged = _codes_merged(conn)
    cuts = _expand_unit_cut(cuts or Filters(), merged)
    result = _apart(conn, drilldown, cuts, merged, aggregate_figures.needed(conn))
    return replace(result, coverage=_coverage(conn, result.cells, cuts))


def _apart(conn: Connection, drilldown: list[str] | None, cuts: Filters, merged: dict[str, str],
           resolved: bool) -> Aggregate:
    """Sums and counts of actual and budget per drilldown cell, plus the summary over all cells.

    Amounts in different currencies are never added: see the module docstring (``by_currency``).
    """
    drilldown = list(dict.fromkeys(drilldown or []))
    inner = drilldown if "currency" in drilldown else [*drilldown, "currency"]
    raw = _sums(conn, inner, cuts, merged, resolved)
    per_currency = raw if inner == ["currency"] else _sums(conn, ["currency"], cuts, merged, resolved)
    by_currency = {c["currency"]: _strip(c, ["currency"]) for c in per_currency.cells}
    cells: dict[tuple, list[dict]] = {}
    for cell in raw.cells:
        cells.setdefault(tuple(cell.get(d) for d in drilldown), []).append(cell)
    folded = [_fold(drilldown, key, parts) for key, parts in cells.items()]
    num = raw.summary["num_cells"] if "group" in drilldown else len(folded)
    summary = {"num_cells": num, **_sum_apart(by_currency), "by_currency": by_currency}
    return Aggregate(drilldown, folded, summary)


def _strip(cell: dict[str, Any], dims: list[str]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in dims}


def _sum_apart(by_currency: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One currency: its measures. Several: counts add up, amounts do not (null)."""
    if len(by_currency) <= 1:
        return next(iter(by_currency.values()), _measures({}))
    out: dict[str, Any] = {}
    for m in MEASURES:
        out |= {f"{m}_fen": None, f"{m}_yuan": None, f"{m}_count": sum(c[f"{m}_count"] for c in by_currency.values())}
    return out


def _fold(drilldown: list[str], key: tuple, parts: list[dict]) -> dict[str, Any]:
    head = dict(zip(drilldown, key, strict=True))
    if len(parts) == 1 and "currency" in drilldown:
        return parts[0]
    by_currency = {p["currency"]: _strip(p, [*drilldown, "currency"]) for p in parts}
    if len(parts) == 1:
        return {**head, **next(iter(by_currency.values()))}
    return {**head, **_sum_apart(by_currency), "by_currency": by_currency}


def _sums(conn: Connection, drilldown: list[str], cuts: Filters | None, merged: dict[str, str],
          resolved: bool) -> Aggregate:
    """The cells as stored sums give them (``drilldown`` includes ``currency``, so none mixes two).

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

    if resolved:  # ``aggregate_figures.needed``, asked once per answer
        # published tables (or rows at a node of the tree) are in: one figure per unit, year and category
        found, summary = aggregate_figures.cells(conn, drilldown, cuts)
        if len(found) > MAX_CELLS:
            raise QueryError("drilldown", f"more than {MAX_CELLS} cells; cut by year or unit first")
        num = (1 if summary else 0) if "group" in drilldown else len(found)
        return Aggregate(drilldown, _cells(drilldown, found), {"num_cells": num, **_measures(summary)})
    if merged and "unit" in drilldown:
        # merged units' rows land in their successor's cell: resolved figures do that (one read, summed after)
        found, summary = aggregate_figures.cells(conn, drilldown, cuts)
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
        return Aggregate(drilldown, _cells(drilldown, cells), _sums(conn, [], cuts, merged, resolved).summary)
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
