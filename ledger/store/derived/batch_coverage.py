"""Which units each batch has rollup rows for, per measure and year (``batch_coverage``), written at publish.

Coverage (``ledger.read.totals.coverage``) needs the (unit, year) pairs with a live rollup row of a
measure. Reading them as ``SELECT DISTINCT unit_id, fiscal_year FROM rollup`` walks every rollup row
(0.2 CPU-s at 1M entries, five times that at 5M) the first time a process answers and after each import.
This table keeps them per batch, measure and year, the unit ids packed (sorted, 8 bytes each,
little-endian): a few rows per batch, filled in the publishing transaction next to the rollups
(``ledger.store.batches.refresh_rollups``). Migration 0014_batch_coverage fills it for ledgers
published before.

Derived and append-only like ``rollup`` (same triggers); ``sunshine verify`` works it out again from the
rollup (itself recomputed from the published rows) and names a batch whose kept units differ
(``ledger.log.register.check_rollups``, ``rollup-changed``).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable

import polars as pl
from sqlalchemy import (
    BigInteger,
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId

COLUMNS = ["batch_id", "measure", "fiscal_year", "unit_count", "unit_ids"]


class BatchCoverage(Base):
    """The units one batch has rollup rows for, in one measure and year (``unit_ids``: see ``pack``)."""

    __tablename__ = "batch_coverage"
    __table_args__ = (UniqueConstraint("batch_id", "measure", "fiscal_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    measure: Mapped[str] = mapped_column(String(20))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    unit_count: Mapped[int] = mapped_column(BigInteger)
    unit_ids: Mapped[bytes] = mapped_column(LargeBinary)


def pack(unit_ids: Iterable[int]) -> bytes:
    """Sorted distinct unit ids as 8-byte little-endian integers."""
    ids = array("q", sorted(set(unit_ids)))
    if sys.byteorder == "big":
        ids.byteswap()
    return ids.tobytes()


def unpack(blob: bytes) -> array:
    ids = array("q")
    ids.frombytes(bytes(blob))  # PostgreSQL gives a memoryview
    if sys.byteorder == "big":
        ids.byteswap()
    return ids


def _rows(units: dict[tuple, set[int]]) -> list[dict]:
    return [{"batch_id": b, "measure": m, "fiscal_year": y, "unit_count": len(us), "unit_ids": pack(us)}
            for (b, m, y), us in sorted(units.items())]


def from_rollup(conn: Connection, batch_id: int | None = None) -> list[dict]:
    """``batch_coverage`` rows worked out from the stored ``rollup`` (of one batch, or of every batch)."""
    r = Base.metadata.tables["rollup"]
    q = select(r.c.batch_id, r.c.measure, r.c.fiscal_year, r.c.unit_id).distinct()
    if batch_id is not None:
        q = q.where(r.c.batch_id == batch_id)
    units: dict[tuple, set[int]] = {}
    for b, m, y, u in conn.execute(q):
        units.setdefault((b, m, y), set()).add(u)
    return _rows(units)


def write(conn: Connection, batch_id: int, rollups: pl.DataFrame | None = None) -> None:
    """Write ``batch_id``'s units (call once, after its rollups): from ``rollups`` (the rows the importer
    summed, ``ledger.log.batch_frames``) when given, else from the batch's stored ``rollup`` rows."""
    if rollups is None:
        rows = from_rollup(conn, batch_id)
    elif rollups.height == 0:  # a batch without rollup rows (units, procurement): may have no columns either
        return
    else:
        units: dict[tuple, set[int]] = {}
        for m, y, us in rollups.group_by("measure", "fiscal_year").agg(pl.col("unit_id").unique()).iter_rows():
            units[(batch_id, m, y)] = set(us)
        rows = _rows(units)
    if rows:
        conn.execute(insert(BatchCoverage.__table__), rows)


def expected(rollups: Iterable[tuple]) -> dict[tuple, tuple[int, tuple[int, ...]]]:
    """``{(batch, measure, year): (unit count, unit ids)}`` as it should be, from rollup keys
    ``(batch, measure, unit, year, …)``."""
    out: dict[tuple, set[int]] = {}
    for batch, measure, unit, year, *_ in rollups:
        out.setdefault((batch, measure, year), set()).add(unit)
    return {k: (len(us), tuple(sorted(us))) for k, us in out.items()}


def stored(conn: Connection) -> dict[tuple, tuple[int, tuple[int, ...]]]:
    t = BatchCoverage.__table__
    return {(b, m, y): (int(n), tuple(unpack(blob))) for b, m, y, n, blob in conn.execute(
        select(t.c.batch_id, t.c.measure, t.c.fiscal_year, t.c.unit_count, t.c.unit_ids))}
