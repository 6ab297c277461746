"""What a bulk load tunes on its connection: SQLite's page cache, and statistics after a table grew.

Called by ``ledger.store.batches.bulk_insert`` inside the import's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

SQLITE_CACHE_KIB = 128 * 1024  # page cache for a bulk insert (a cap, allocated as used; counts in peak RSS)
SQLITE_APPEND_CACHE_KIB = 32 * 1024  # while a load's indexes are set aside (``appending``)
# publishing a large load (rollups, flag basis, search index): its pages live in the WAL until the commit,
# and each one evicted is read back by pread (1M rows: 4.2M reads, 17 GB, ≈ 20 CPU-s under 128 MB)
SQLITE_PUBLISH_CACHE_KIB = 512 * 1024
CAPPED = "sunshine_cache_capped"  # key in the connection's ``info`` while ``appending`` holds the cache down
ANALYZE_MIN_ROWS = 10_000


def analyze_if_grown(cur, table: str, added: int) -> None:
    """ANALYZE a PostgreSQL table this load grew by a tenth or more (at least ``ANALYZE_MIN_ROWS`` rows).

    Autovacuum would analyze it a minute after the commit; until then the planner believes the old
    row counts and picks plans for an empty table (a sort of millions of rows instead of an index walk).
    Run inside the import's transaction, so the statistics arrive with the rows.
    """
    if added < ANALYZE_MIN_ROWS:
        return
    known = cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()[0]
    if known < 0 or added >= 0.1 * known:
        cur.execute(f"ANALYZE {table}")


def analyze_sqlite_if_grown(raw, table: str, added: int) -> None:
    """SQLite's counterpart of ``analyze_if_grown``: ``ANALYZE`` a table this load grew by a tenth or more.

    Without ``sqlite_stat1`` rows (a database migrated empty, whose ANALYZE saw no rows, then loaded)
    SQLite takes every index for selective: ``?group=three_public`` read 600,000 entries through the
    category index and sorted them (3 s at 1M entries) instead of walking the table in id order and
    stopping at 101 rows (1 ms). A full ANALYZE of 1M entries took 0.7 CPU-s; ``analysis_limit``
    would bound it but sampled ``category_code`` as 1,000 rows a value (it is 125,000), which misled
    the planner the same way.
    """
    if added < ANALYZE_MIN_ROWS:
        return
    try:
        row = raw.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", (table,)).fetchone()
    except sqlite3.OperationalError:  # never analyzed: no sqlite_stat1 at all
        row = None
    known = int(row[0].split()[0]) if row else 0
    if added >= 0.1 * known:
        raw.execute(f"ANALYZE {table}")


@contextmanager
def appending(conn) -> Iterator[None]:
    """Hold a SQLite connection's page cache at ``SQLITE_APPEND_CACHE_KIB`` for the block, then restore it.

    For a load whose table has no secondary index (``ledger.store.bulk.indexes.set_aside``) and its
    rebuilds: rows go in by ascending id, so the table's B-tree is appended to and a big cache buys
    nothing, while it counts in peak RSS, and SQLite's sorter (the ``CREATE INDEX`` rebuilds) takes as
    much memory as the cache may before it spills sorted runs to temporary files. ``bulk_insert`` does
    not raise the cache meanwhile. The importer lets go before publishing: inserts into indexed tables
    under a small cache read evicted pages back from the WAL, one ``pread`` a page.
    """
    if conn.dialect.name != "sqlite" or CAPPED in conn.info:
        yield
        return
    raw = conn.connection.driver_connection
    with _restored(raw):
        raw.execute(f"PRAGMA cache_size=-{SQLITE_APPEND_CACHE_KIB}")
        conn.info[CAPPED] = True
        try:
            yield
        finally:
            conn.info.pop(CAPPED, None)


@contextmanager
def publishing(conn) -> Iterator[None]:
    """Hold a SQLite connection's page cache at ``SQLITE_PUBLISH_CACHE_KIB`` or more for the block (a cap:
    pages are allocated as used), then give back what it had, so a pooled connection does not keep it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    with _restored(raw):
        sqlite_cache(raw, SQLITE_PUBLISH_CACHE_KIB)
        yield


@contextmanager
def _restored(raw) -> Iterator[None]:
    """Give the connection back the page cache it had before the block, whatever the block set."""
    (before,) = raw.execute("PRAGMA cache_size").fetchone()
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA cache_size={before}")
        except sqlite3.Error:  # the connection is being thrown away after a failure
            pass


def sqlite_cache(raw, size: int | None = None) -> None:
    """Give this connection a page cache of ``size`` KiB, ``SQLITE_CACHE_KIB`` by default (never shrink a larger one).

    The default 2 MB cannot hold ``expense_entry``'s composite index, which rows in file order update
    at random places; a larger cache (with tuples built column-wise) took the insert of 1M rows from
    14.7 to 7.8 CPU-s (bench/profiles/import_profile.py). 128 MB, not more, because the cache counts in the
    import's peak RSS. It is only a cap (pages are allocated as they are read), it changes nothing
    about durability (WAL and ``synchronous=FULL`` stay), and it stays for the connection's life, so
    the publish hooks that read the batch back in the same transaction find its pages cached.
    """
    size = size or SQLITE_CACHE_KIB
    (current,) = raw.execute("PRAGMA cache_size").fetchone()
    size_kib = -current if current < 0 else current * raw.execute("PRAGMA page_size").fetchone()[0] // 1024
    if size_kib < size:
        raw.execute(f"PRAGMA cache_size=-{size}")
