"""Small reads behind the portal pages: which years a unit (or the region) has figures for, and coverage."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ledger.read.reports import three_public
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

    ``row`` is the unit's row of ``ledger.read.reports.three_public`` (for the region: its total across
    units, or the only unit's row), None without data; ``report`` holds just that row, so
    ``ledger.read.report_text.report_text(report)`` writes exactly its 说明. ``units_reporting`` counts
    the units whose figures make up the row.
    """
    report = three_public(conn, year, unit_code)
    rows = report["rows"]
    row = report.get("total") or (rows[0] if rows else None)
    only = {**report, "rows": [] if report.get("total") else rows}
    return {"row": row, "report": only, "units_reporting": len(rows)}
