"""Secondary indexes set aside while a load at least as big as its table goes in, and rebuilt after.

Adding rows one by one to eleven B-trees costs about twice what building them afresh costs once
the rows are in (SQLite sorts for ``CREATE INDEX``): at 1,000,000 rows into an empty
``expense_entry``, 19.8 CPU-s of index maintenance against 8.6 (docs/import-performance.md). So
when the load is at least as large as what the table already holds, the indexes are dropped and
recreated from their own ``CREATE INDEX`` text inside the import's transaction: a failed import
rolls the drop back with everything else, and WAL readers keep seeing the old table and its indexes
until the commit. A unique index that the load would violate fails on its rebuild, which refuses
the import as a per-row check would have.

SQLite only. On PostgreSQL ``DROP INDEX`` takes an exclusive lock on the table until the commit, so
readers would wait for the whole import; there the rows go into the live indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table

MIN_ROWS = 50_000  # below this, maintaining the indexes row by row is cheap enough


@contextmanager
def set_aside(conn: Connection, table: Table, adding: int) -> Iterator[bool]:
    """Drop ``table``'s secondary indexes for the block when worth it; yields whether it did."""
    if conn.dialect.name != "sqlite" or adding < MIN_ROWS:
        yield False
        return
    # ids are never reused nor deleted (append-only), so the largest is about the row count, read from the key
    have = conn.exec_driver_sql(f"SELECT coalesce(max(rowid), 0) FROM {table.name}").scalar_one()
    if have > adding:
        yield False
        return
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        (table.name,)).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield True
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
    # The load's own ANALYZE ran while the indexes were gone, so it left no statistics for them, and
    # without them SQLite takes every index for selective (`?group=` sorted 3M rows at 5M: 15.6 s).
    conn.exec_driver_sql(f"ANALYZE {table.name}")
