"""The rollup summed over units, per batch, kept in process and topped up as batches land.

``rollup`` holds one row per batch, measure, unit, year, category and currency: at national
scale that is millions of rows, too many to sum on every request. Without the unit the same sums
fit in a few hundred rows per batch. Published batches are append-only (a correction is a new
batch that supersedes the old one), so each batch's unit-less sums are read from ``rollup`` once,
by its index, the first time the batch is seen, and kept. Every call re-reads the short list of
batches, so a new import, a correction or a different database is noticed at once; a batch is
re-read if its status, sha256 or time changes (a restored backup reusing an id, for instance).
Sums are Python integers: exact to the fen.
"""

from __future__ import annotations

import threading

from sqlalchemy import BigInteger, Connection, cast, func, select

from ledger.store.batches import live
from ledger.store.models import ImportBatch, Rollup

_r = Rollup.__table__
_ib = ImportBatch.__table__
_lock = threading.Lock()
# engine URL → batch id → (identity of the batch, its rows)
_kept: dict[str, dict[int, tuple[tuple, list[tuple]]]] = {}
BATCHES_SQL = "SELECT id, status, sha256, created_at, supersedes_id FROM import_batch"
READ_CHUNK = 500  # batch ids per IN list when reading newly seen batches


def _batches(conn: Connection) -> list[tuple]:
    cursor = conn.connection.driver_connection.cursor()  # one fixed statement: no need for SQLAlchemy here
    try:
        cursor.execute(BATCHES_SQL)
        return cursor.fetchall()
    finally:
        cursor.close()


def live_ids(conn: Connection) -> list[int]:
    """Ids of the live (not superseded) batches, in order."""
    batches = _batches(conn)
    superseded = {b[4] for b in batches if b[4] is not None}
    return sorted(b[0] for b in batches if b[0] not in superseded)


def any_superseded(conn: Connection) -> bool:
    """Whether a correction has superseded any batch (if not, every published row is live)."""
    return any(b[4] is not None for b in _batches(conn))


def live_totals(conn: Connection) -> list[tuple[str, int, str, str, int, int]]:
    """``(measure, fiscal_year, category_code, currency, amount_fen, row_count)`` of every live batch.

    One tuple per batch and key: callers add them up. Reads the batch list every time and
    ``rollup`` only for batches this process has not seen yet.
    """
    batches = _batches(conn)
    superseded = {b[4] for b in batches if b[4] is not None}
    ident = {b[0]: (b[1], b[2], str(b[3])) for b in batches}
    key = conn.engine.url.render_as_string(hide_password=True)
    with _lock:
        kept = _kept.setdefault(key, {})
        for gone in kept.keys() - ident.keys():
            del kept[gone]
        stale = [i for i, who in ident.items() if i not in kept or kept[i][0] != who]
    fresh: dict[int, list[tuple]] = {i: [] for i in stale}
    for start in range(0, len(stale), READ_CHUNK):
        ids = stale[start : start + READ_CHUNK]
        stmt = (
            select(_r.c.batch_id, _r.c.measure, _r.c.fiscal_year, _r.c.category_code, _r.c.currency,
                   func.sum(_r.c.amount_fen), func.sum(_r.c.row_count))
            .where(_r.c.batch_id.in_(ids))
            .group_by(_r.c.batch_id, _r.c.measure, _r.c.fiscal_year, _r.c.category_code, _r.c.currency)
        )
        for b, m, y, c, cur, amount, count in conn.execute(stmt):
            fresh[b].append((m, y, c, cur, int(amount), int(count)))
    with _lock:
        for i, rows in fresh.items():
            kept[i] = (ident[i], rows)
        return [row for i, (_, rows) in kept.items() if i in ident and i not in superseded for row in rows]


def rollup_sums(conn: Connection, *, years: list[int] | None = None, unit_ids: list[int] | None = None,
                category_codes: list[str] | None = None, currency: str = "CNY") -> list[tuple[str, int, int, str, int]]:
    """``(measure, unit_id, fiscal_year, category_code, fen)`` of live rollups: the one read behind the
    disclosure reports, the charts and the pages, so they cannot disagree about a figure."""
    r = Rollup.__table__
    q = (
        select(r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, cast(func.sum(r.c.amount_fen), BigInteger))
        .where(live(r.c.batch_id), r.c.currency == currency)
        .group_by(r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code)
    )
    if years is not None:
        q = q.where(r.c.fiscal_year.in_(years))
    if unit_ids is not None:
        q = q.where(r.c.unit_id.in_(unit_ids))
    if category_codes is not None:
        q = q.where(r.c.category_code.in_(category_codes))
    return [tuple(row) for row in conn.execute(q)]
