"""Each batch's rollup summed over units (``batch_total``), written when the batch is published.

``rollup`` holds one row per batch, measure, unit, year, category and currency: millions at national
scale. The aggregate totals (``ledger.read.totals.live_totals``) need them without the unit, which is
a few hundred rows per batch. Reading those sums from ``rollup`` cost a new process 23.7 s (SQLite) and
1.5 s (PostgreSQL) at 5M entries the first time it saw the ledger; this table holds them, filled in the
publishing transaction next to the rollups (``ledger.store.batches.refresh_rollups``), so a new process
reads a few hundred rows. Migration 0013_batch_totals fills it for ledgers published before.

Derived and append-only like ``rollup`` (same triggers); ``sunshine verify`` sums the rollup (itself
recomputed from the published rows) over units and names a batch whose kept totals differ
(``ledger.log.register.check_rollups``).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import (
    BigInteger,
    Connection,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId

KEY = ["measure", "fiscal_year", "category_code", "currency"]
COLUMNS = ["batch_id", *KEY, "amount_fen", "row_count"]


class BatchTotal(Base):
    """One batch's rollup summed over units: its amount and rows per measure, year, category and currency."""

    __tablename__ = "batch_total"
    __table_args__ = (UniqueConstraint("batch_id", "measure", "fiscal_year", "category_code", "currency"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    measure: Mapped[str] = mapped_column(String(20))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)


def from_rollup(batch_id: int | None = None):
    """The GROUP BY over ``rollup`` that gives ``batch_total`` (of one batch, or of every batch)."""
    r = Base.metadata.tables["rollup"]
    q = select(r.c.batch_id, r.c.measure, r.c.fiscal_year, r.c.category_code, r.c.currency,
               func.sum(r.c.amount_fen), func.sum(r.c.row_count)).group_by(
        r.c.batch_id, r.c.measure, r.c.fiscal_year, r.c.category_code, r.c.currency)
    return q if batch_id is None else q.where(r.c.batch_id == batch_id)


def write(conn: Connection, batch_id: int, rollups: pl.DataFrame | None = None) -> None:
    """Write ``batch_id``'s totals (call once, after its rollups): from ``rollups`` (the rows the importer
    summed, ``ledger.log.batch_frames``) when given, else from the batch's stored ``rollup`` rows."""
    t = BatchTotal.__table__
    if rollups is None:
        conn.execute(insert(t).from_select(COLUMNS, from_rollup(batch_id)))
        return
    if rollups.height == 0:
        return
    sums = (rollups.group_by(KEY).agg(pl.col("amount_fen").cast(pl.Int64).sum(), pl.col("row_count").cast(pl.Int64).sum())
            .sort(KEY))
    conn.execute(insert(t), [{"batch_id": batch_id, **row} for row in sums.iter_rows(named=True)])


def expected(rollups: dict[tuple, tuple[int, int]]) -> dict[tuple, tuple[int, int]]:
    """``batch_total`` as it should be, from rollup rows keyed ``(batch, measure, unit, year, category, currency)``."""
    out: dict[tuple, list[int]] = {}
    for (batch, measure, _unit, year, category, currency), (amount, rows) in rollups.items():
        sums = out.setdefault((batch, measure, year, category, currency), [0, 0])
        sums[0] += amount
        sums[1] += rows
    return {k: (a, n) for k, (a, n) in out.items()}


def stored(conn: Connection) -> dict[tuple, tuple[int, int]]:
    t = BatchTotal.__table__
    return {tuple(row[:5]): (int(row[5]), int(row[6])) for row in conn.execute(select(*(t.c[c] for c in COLUMNS)))}
