"""The bulk write path, on both databases: rows land whole, rollups agree with the rows to the fen."""

import datetime as dt

import polars as pl
from sqlalchemy import func, select

from ledger.store import batches
from ledger.store.db import writing
from ledger.store.models import ExpenseEntry, ImportBatch, Rollup


def test_bulk_insert_and_rollups_are_exact(engine):
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="expenses", file_name="a.csv", sha256="0" * 64, submitted_by="clerk")
        units = batches.ensure_units(conn, [("U1", "市财政局"), ("U2", "市教育局")], bid)
        frame = pl.DataFrame(
            {
                "batch_id": [bid] * 3,
                "source_row": [2, 3, 4],
                "unit_id": [units["U1"], units["U1"], units["U2"]],
                "fiscal_year": [2023, 2023, 2023],
                "entry_date": [dt.date(2023, 3, 1), None, dt.date(2023, 5, 2)],
                "category_code": ["reception", "reception", "meeting"],
                "amount_fen": [123_456, 1, -500],
                "currency": ["CNY"] * 3,
                "payee": ['=HYPERLINK("x")', None, "某酒店"],
                "created_at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3,
            }
        )
        assert batches.bulk_insert(conn, ExpenseEntry.__table__, frame) == 3
        batches.refresh_rollups(conn, bid)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Rollup.unit_id, Rollup.category_code, Rollup.amount_fen, Rollup.row_count).order_by(Rollup.amount_fen)
        ).all()
        assert [(r[1], r[2], r[3]) for r in rows] == [("meeting", -500, 1), ("reception", 123_457, 2)]
        got = conn.execute(select(ExpenseEntry.entry_date, ExpenseEntry.payee).order_by(ExpenseEntry.source_row)).all()
        assert got[0] == (dt.date(2023, 3, 1), '=HYPERLINK("x")')
        assert got[1] == (None, None)


def test_a_failed_write_leaves_nothing_behind(engine):
    try:
        with writing(engine) as conn:
            batches.create_batch(conn, kind="expenses", file_name="b.csv", sha256="1" * 64, submitted_by="clerk")
            raise RuntimeError("disk on fire")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0


def test_superseded_batches_drop_out_of_the_live_view(engine):
    with writing(engine) as conn:
        old = batches.create_batch(conn, kind="expenses", file_name="c.csv", sha256="2" * 64, submitted_by="clerk")
        new = batches.create_batch(
            conn, kind="expenses", file_name="c2.csv", sha256="3" * 64, submitted_by="clerk", supersedes_id=old
        )
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.id).where(batches.live(ImportBatch.id))).scalars().all() == [new]
        assert batches.find_published(conn, "expenses", "2" * 64) is None
        assert batches.find_published(conn, "expenses", "3" * 64) == new
