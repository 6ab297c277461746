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

from sqlalchemy import Connection, func, select

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
