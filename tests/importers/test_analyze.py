"""A large load on PostgreSQL arrives with planner statistics: the planner must not believe the table
is empty until autovacuum comes by (issue 15)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import text

from ledger.store import batches
from ledger.store.batches import ANALYZE_MIN_ROWS, bulk_insert
from ledger.store.db import writing
from ledger.store.models import ExpenseEntry, Unit


def _rows(n: int, batch: int, unit: int) -> pl.DataFrame:
    return pl.DataFrame({
        "batch_id": [batch] * n, "source_row": list(range(2, n + 2)), "unit_id": [unit] * n,
        "fiscal_year": [2023] * n, "category_code": ["reception"] * n, "amount_fen": list(range(n)),
        "currency": ["CNY"] * n, "created_at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n,
    })


def _reltuples(conn) -> float:
    return conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'expense_entry'::regclass")).scalar_one()


def test_a_large_load_is_analyzed_and_a_small_one_is_not(databases):
    from ledger.store.db import make_engine
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("PostgreSQL only: SUNSHINE_TEST_POSTGRES_URL is not set")
    url = databases.fresh("postgres")
    engine = make_engine(url)
    try:
        with writing(engine) as conn:
            batch = batches.create_batch(conn, kind="expenses", file_name="big.csv", sha256="0" * 64,
                                         submitted_by="test")
            unit = conn.execute(Unit.__table__.insert().values(code="U1", name="U1").returning(Unit.id)).scalar_one()
            bulk_insert(conn, ExpenseEntry.__table__, _rows(ANALYZE_MIN_ROWS - 1, batch, unit))
            assert _reltuples(conn) <= 0  # never analyzed: the planner thinks it empty
            bulk_insert(conn, ExpenseEntry.__table__, _rows(ANALYZE_MIN_ROWS, batch, unit))
            assert _reltuples(conn) == 2 * ANALYZE_MIN_ROWS - 1  # analyzed with the rows, in the same transaction
    finally:
        engine.dispose()
        databases.drop(url)


def test_indexes_set_aside_for_a_large_sqlite_load_come_back_with_statistics(engine, monkeypatch):
    """The load's ANALYZE runs while its indexes are set aside; they must still have statistics after."""
    from ledger.store.bulk import indexes

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps its indexes through a load")
    monkeypatch.setattr(indexes, "MIN_ROWS", 1)
    with writing(engine) as conn:
        batch = batches.create_batch(conn, kind="expenses", file_name="big.csv", sha256="0" * 64, submitted_by="test")
        unit = conn.execute(Unit.__table__.insert().values(code="U1", name="U1").returning(Unit.id)).scalar_one()
        with indexes.set_aside(conn, ExpenseEntry.__table__, ANALYZE_MIN_ROWS) as dropped:
            bulk_insert(conn, ExpenseEntry.__table__, _rows(ANALYZE_MIN_ROWS, batch, unit))
        assert dropped
        stats = dict(conn.execute(text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'expense_entry'")).all())
        wanted = {name for (name,) in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'expense_entry' AND sql IS NOT NULL"))}
    assert wanted and wanted <= set(stats)
    assert stats["ix_expense_entry_category_code"].split()[:2] == [str(ANALYZE_MIN_ROWS), str(ANALYZE_MIN_ROWS)]
