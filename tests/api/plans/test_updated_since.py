"""``updated_since``: exactly the rows created since, through each batch's ``(batch_id, created_at)`` range.

Moved out of ``tests/api/test_read_plans.py`` (a module holds at most 400 lines).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bench.cold_reads import explain
from ledger.read.types import Filters
from ledger.store.db import reading


def test_updated_since_keeps_exactly_the_rows_created_since(engine):
    """``updated_since`` bounds the id walk per batch (SQLite): the rows are those a plain ``created_at``
    filter keeps, for a time before every batch, inside one (rows of one batch written at two times),
    between two and after all, in both sort directions, page after page. The fourth batch's later rows
    carry the earlier time: the bound must not assume times grow with ids."""
    from sqlalchemy import text, update

    from ledger.read import queries
    from ledger.store.models import ExpenseEntry
    from tests.tlog_support import publish_expenses, unguard_entries

    ids = [publish_expenses(engine, [100 * b + i for i in range(1, 6)], name=f"{b}.csv") for b in range(1, 5)]
    at = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4)]
    with engine.begin() as conn:  # drop the append-only guard for the test's own times
        unguard_entries(conn)
        e = ExpenseEntry.__table__
        for batch, (first, second) in zip(ids, [(at[0], at[0]), (at[1], at[2]), (at[3], at[3]), (at[2], at[1])],
                                          strict=True):
            rows = conn.execute(text("SELECT id FROM expense_entry WHERE batch_id = :b ORDER BY id"), {"b": batch}).scalars().all()
            conn.execute(update(e).where(e.c.id.in_(rows[:3])).values(created_at=first))
            conn.execute(update(e).where(e.c.id.in_(rows[3:])).values(created_at=second))
    with reading(engine) as conn:
        every = conn.execute(text("SELECT id, created_at FROM expense_entry")).all()
    for since in [dt.datetime(2023, 1, 1, tzinfo=dt.UTC), *at, at[1] + dt.timedelta(hours=1), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)]:
        want = sorted(i for i, created in every if _utc(created) >= since)
        for sort in ("id", "-id"):
            got, cursor = [], None
            while True:
                with reading(engine) as conn:
                    page = queries.list_rows(conn, "expenses", Filters(updated_since=since), sort=sort, limit=2, cursor=cursor)
                got += [r["id"] for r in page.rows]
                if not page.next_cursor:
                    break
                cursor = page.next_cursor
            assert got == (want if sort == "id" else want[::-1]), (since, sort)
            assert page.total == len(want)


def _utc(value):
    value = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def test_updated_since_on_the_very_second_keeps_the_rows_of_that_second(engine):
    """SQLite keeps ``CURRENT_TIMESTAMP`` (the bulk path's created_at) to the second, ``2024-01-02 03:04:05``,
    which sorted before the bound ``2024-01-02 03:04:05.000000``: ``updated_since`` on that second left
    its rows out. Rows written with a fraction and rows of the seconds around it are kept as before."""
    from sqlalchemy import text

    from ledger.read import counts, queries
    from tests.tlog_support import publish_expenses, unguard_entries

    publish_expenses(engine, [1, 2, 3, 4])
    sqlite = engine.dialect.name == "sqlite"
    stored = ["2024-01-02 03:04:04", "2024-01-02 03:04:05", "2024-01-02 03:04:05.250000", "2024-01-02 03:04:06"]
    with engine.begin() as conn:  # drop the append-only guard for the test's own times
        unguard_entries(conn)
        ids = conn.execute(text("SELECT id FROM expense_entry ORDER BY id")).scalars().all()
        for i, at in zip(ids, stored, strict=True):  # written as SQLite's CURRENT_TIMESTAMP writes them
            conn.execute(text("UPDATE expense_entry SET created_at = " + (":at" if sqlite else "CAST(:at AS timestamptz)")
                              + " WHERE id = :i"), {"at": at + ("" if sqlite else "+00"), "i": i})
    second = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for since, kept in [(second, [2, 3, 4]), (second.replace(microsecond=250_000), [3, 4]),
                        (second.replace(microsecond=1), [3, 4]), (second + dt.timedelta(seconds=1), [4])]:
        with reading(engine) as conn:
            page = queries.list_rows(conn, "expenses", Filters(updated_since=since), limit=10)
            exact = counts.total_count(conn, "expenses", Filters(updated_since=since))
        assert [r["amount_fen"] for r in page.rows] == kept, since
        assert (page.total, exact) == (len(kept), len(kept)), since


def test_updated_since_finds_each_batchs_newest_row_through_the_batch_index_on_postgresql(engine, backend):
    """PostgreSQL took "the newest row of batch B" from a plain ``created_at`` index walked backwards and
    filtered on ``batch_id``: for a batch with no row in the table that read the whole index (budgets 593 ms,
    procurement 224 ms at 1M). Migration 0015 dropped those indexes: each batch is one range of
    ``(batch_id, created_at)``. The rows kept are those created since, as before."""
    if backend != "postgres":
        pytest.skip("SQLite bounds the id walk per batch (test_updated_since_keeps_exactly_the_rows_created_since)")
    from sqlalchemy import insert

    from ledger.read import queries
    from ledger.store import batches
    from ledger.store.db import writing
    from ledger.store.models import ProcurementRecord
    from tests.tlog_support import publish_expenses

    bid = publish_expenses(engine, [1, 2])  # one budget line, created 2024-01-01
    with writing(engine) as conn:
        for fen in (100, 150):  # created now
            conn.execute(insert(ProcurementRecord).values(batch_id=bid, unit_id=1, fiscal_year=2023, ocid=f"ocds-{fen}",
                                                          method="single_source", contract_fen=fen, currency="CNY"))
        batches.create_batch(conn, kind="units", file_name="units.csv", sha256="0" * 64, submitted_by="clerk",
                             rows_read=0, rows_loaded=0, control_total_fen=0)  # a batch with no row in either table
    for name, since, want in [("budgets", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), [3]),
                              ("budgets", dt.datetime(2024, 1, 2, tzinfo=dt.UTC), []),
                              ("procurement", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), [100, 150])]:
        filters = Filters(updated_since=since)
        with reading(engine) as conn:
            page = queries.list_rows(conn, name, filters, limit=10)
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a handful of rows: the plan it takes at scale
            plan = "\n".join(explain(conn, name, filters, "id"))
        assert [r["amount_fen" if name == "budgets" else "contract_fen"] for r in page.rows] == want, name
        assert page.total == len(want), name
        used = re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)", plan)
        assert not [i for i in used if "created_at" in i and "batch_id" not in i], plan
        assert any("batch_id_created_at" in i for i in used), plan

