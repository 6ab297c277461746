"""Which published files a chart or figure rests on: the live import batches behind it.

Charts name their source in the caption: who published the figures (the unit, or the region's units) and
the batches they came in, so a reader can fetch the very file (``/api/v1/import-batches/{id}``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ledger.store.batches import live
from ledger.store.models import ImportBatch, ProcurementRecord, Rollup


@dataclass(frozen=True)
class Sources:
    """The first few batches (id, file name) behind a figure, how many there are in all, and the newest date."""

    batches: list[tuple[int, str]]
    count: int
    as_of: dt.date | None


def _date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without type detection
        value = dt.datetime.fromisoformat(value)
    return value.date()


def chart_sources(conn: Connection, unit_id: int | None = None, categories: list[str] | None = None, *,
                  procurement: bool = False, limit: int = 2) -> Sources:
    """Live batches holding the rows a chart draws: spending and budget rollups (optionally for ``categories``),
    or procurement records; for one unit or the whole region. The newest batches are listed first."""
    table = ProcurementRecord.__table__ if procurement else Rollup.__table__
    ids = select(table.c.batch_id).where(live(table.c.batch_id))
    if unit_id is not None:
        ids = ids.where(table.c.unit_id == unit_id)
    if categories and not procurement:
        ids = ids.where(table.c.category_code.in_(categories))
    ids = ids.distinct().subquery()
    b = ImportBatch.__table__
    count, newest = conn.execute(select(func.count(), func.max(b.c.created_at)).where(b.c.id.in_(select(ids)))).one()
    rows = conn.execute(select(b.c.id, b.c.file_name).where(b.c.id.in_(select(ids)))
                        .order_by(b.c.id.desc()).limit(limit)).all()
    return Sources([(int(i), str(name)) for i, name in rows], int(count or 0), _date(newest))
