"""Small reads behind the portal pages: which years a unit (or the region) has figures for, and coverage."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ledger.read.published.reports import three_public
from ledger.store.batches import live
from ledger.store.models import Rollup, Unit


def years_with_data(conn: Connection, unit_id: int | None = None) -> list[int]:
    """Fiscal years with live budget or actual figures (of ``unit_id``, else of any unit), newest first."""
    r = Rollup.__table__
    q = select(r.c.fiscal_year).distinct().where(live(r.c.batch_id))
    if unit_id is not None:
        q = q.where(r.c.unit_id == unit_id)
    return sorted(conn.execute(q).scalars().all(), reverse=True)


def unit_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(Unit)).scalar_one()


def disclosure(conn: Connection, year: int, unit_code: str | None = None) -> dict:
    """The 部门决算“三公”经费表 of one unit, or of the whole region, for ``year``.

    ``row`` is the unit's row of ``ledger.read.published.reports.three_public`` (for the region: its total across
    units, or the only unit's row), None without data; ``report`` holds just that row, so
    ``ledger.read.published.report_text.report_text(report)`` writes exactly its 说明. ``units_reporting`` counts
    the units whose figures make up the row.
    """
    report = three_public(conn, year, unit_code)
    rows = report["rows"]
    row = report.get("total") or (rows[0] if rows else None)
    only = {**report, "rows": [] if report.get("total") else rows}
    return {"row": row, "report": only, "units_reporting": len(rows)}


def unit_tree(conn: Connection, region: str | None = None) -> list[dict]:
    """Units with their level, region and parent code (of ``region`` when given), ordered by code."""
    u, parent = Unit.__table__, Unit.__table__.alias("parent")
    q = (select(u.c.id, u.c.code, u.c.name, u.c.level, u.c.region, parent.c.code.label("parent_code"))
         .select_from(u.outerjoin(parent, parent.c.id == u.c.parent_id)).order_by(u.c.code))
    if region is not None:
        q = q.where(u.c.region == region)
    return [dict(r._mapping) for r in conn.execute(q)]


def unit_detail(conn: Connection, code: str) -> dict | None:
    """One unit with level, region and its chain of parents (top first), or None."""
    units = {r["code"]: r for r in unit_tree(conn)}
    unit = units.get(code)
    if unit is None:
        return None
    chain, seen, up = [], {code}, unit["parent_code"]
    while up is not None and up in units and up not in seen:  # a cycle in bad data stops here
        chain.insert(0, units[up])
        seen.add(up)
        up = units[up]["parent_code"]
    return {**unit, "parents": chain}


def category_amounts(conn: Connection, unit_id: int, year: int) -> list[dict]:
    """Per category of one unit and year: actual, original and adjusted budget in fen (None when absent)."""
    r = Rollup.__table__
    q = (select(r.c.category_code, r.c.measure, func.sum(r.c.amount_fen), func.sum(r.c.row_count))
         .where(live(r.c.batch_id), r.c.currency == "CNY", r.c.unit_id == unit_id, r.c.fiscal_year == year)
         .group_by(r.c.category_code, r.c.measure))
    out: dict[str, dict] = {}
    for cat, measure, amount, rows in conn.execute(q):
        row = out.setdefault(cat, {"category_code": cat, "actual_fen": None, "budget_original_fen": None,
                                   "budget_adjusted_fen": None, "actual_rows": 0})
        row[f"{measure}_fen"] = int(amount)
        if measure == "actual":
            row["actual_rows"] = int(rows)
    return list(out.values())
