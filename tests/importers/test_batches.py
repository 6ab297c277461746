"""The bulk write path, on both databases: rows land whole, rollups agree with the rows to the fen.

The cheaper bulk paths of issue 15 part 3 store exactly what the plain paths store. SQLite: columns holding one
value are written into the statement once (``ledger.store.bulk.statements``). PostgreSQL: a large load's foreign
keys are checked once per key (``ledger.store.bulk.keys``); a missing parent still fails the load with
PostgreSQL's own error, another insert trigger still fires, and the session's role is back afterwards.
"""

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import func, select, text

from ledger.store import batches
from ledger.store.bulk import keys, statements
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


ROWS = keys.MIN_ROWS + 7


def _batch(conn):
    bid = batches.create_batch(conn, kind="expenses", file_name="a.csv", sha256="0" * 64, submitted_by="clerk")
    units = batches.ensure_units(conn, [("U1", "市财政局"), ("U2", "市教育局")], bid)
    return bid, units


def _frame(bid: int, units: dict, n: int, *, unit_ids=None) -> pl.DataFrame:
    return pl.DataFrame({
        "batch_id": [bid] * n,
        "source_row": list(range(2, n + 2)),
        "unit_id": unit_ids or [units["U1"] if i % 3 else units["U2"] for i in range(n)],
        "fiscal_year": [2023] * n,
        "entry_date": [dt.date(2023, 3, 1)] * n,
        "category_code": ["reception"] * n,
        "amount_fen": [i * 7 - 3 for i in range(n)],
        "currency": ["CNY"] * n,
        "payee": ["O'Brien 某酒店"] * n,
        "description": [None] * n,
        "created_at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n,
    }, schema_overrides={"description": pl.String})


def _stored(conn):
    return conn.execute(text(
        "SELECT source_row, unit_id, fiscal_year, entry_date, category_code, amount_fen, currency, payee, description "
        "FROM expense_entry ORDER BY source_row")).all()


def test_sqlite_statement_writes_constant_columns_once():
    frame = pl.DataFrame({"source_row": [1, 2], "fiscal_year": [5, 5], "payee": ["x'y", "x'y"],
                          "description": [None, None], "voucher_no": ["\x00", "\x00"], "other": [None, None]},
                         schema_overrides={"description": pl.String, "other": pl.Int64})
    table = ExpenseEntry.__table__
    bound, sql = statements.sqlite_insert(table, frame)
    # description is NULL everywhere and has no default (left out); a NUL and a column unknown to the model stay bound
    assert bound == ["source_row", "voucher_no", "other"]
    assert sql == ("INSERT INTO expense_entry (source_row, voucher_no, other, fiscal_year, payee) "
                   "VALUES (?, ?, ?, 5, 'x''y')")
    one = pl.DataFrame({"fiscal_year": [5]})
    assert statements.sqlite_insert(table, one) == ([], "INSERT INTO expense_entry (fiscal_year) VALUES (5)")
    assert list(statements.rows(one, [])) == [()]


def test_large_load_stores_the_same_rows(engine):
    with writing(engine) as conn:
        bid, units = _batch(conn)
        assert batches.bulk_insert(conn, ExpenseEntry.__table__, _frame(bid, units, ROWS)) == ROWS
        if conn.dialect.name == "postgresql":
            assert conn.execute(text("SELECT current_setting('session_replication_role')")).scalar() == "origin"
        got = _stored(conn)
    assert len(got) == ROWS
    assert got[0][1:] == (units["U2"], 2023, "2023-03-01" if isinstance(got[0][3], str) else dt.date(2023, 3, 1),
                          "reception", -3, "CNY", "O'Brien 某酒店", None)
    assert got[-1][5] == (ROWS - 1) * 7 - 3
    assert sum(r[5] for r in got) == sum(i * 7 - 3 for i in range(ROWS))
    assert sum(1 for r in got if r[1] == units["U2"]) == (ROWS + 2) // 3
    with engine.connect() as conn:
        assert _stored(conn) == got


def test_a_single_row_is_stored_whole(engine):
    with writing(engine) as conn:
        bid, units = _batch(conn)
        batches.bulk_insert(conn, ExpenseEntry.__table__, _frame(bid, units, 1))
        got = _stored(conn)
        assert [(r[0], r[1], r[5], r[7]) for r in got] == [(2, units["U2"], -3, "O'Brien 某酒店")]
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("SELECT typeof(batch_id), typeof(payee), typeof(description) "
                                     "FROM expense_entry")).one() == ("integer", "text", "null")


def test_a_missing_parent_still_fails_the_load(engine, backend):
    with pytest.raises(Exception) as failed, writing(engine) as conn:
        bid, units = _batch(conn)
        batches.bulk_insert(conn, ExpenseEntry.__table__, _frame(bid, units, ROWS, unit_ids=[units["U1"]] * (ROWS - 1) + [999_999]))
    assert "FOREIGN KEY" in str(failed.value).upper()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM expense_entry")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar() == 0


def test_an_insert_trigger_of_someone_else_still_fires(engine, backend):
    if backend != "postgres":
        pytest.skip("session_replication_role is PostgreSQL's")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE FUNCTION test_no_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                             "RAISE EXCEPTION 'no rows today'; END $$")
        conn.exec_driver_sql("CREATE TRIGGER test_no_rows BEFORE INSERT ON expense_entry "
                             "FOR EACH STATEMENT EXECUTE FUNCTION test_no_rows()")
    with pytest.raises(Exception, match="no rows today"), writing(engine) as conn:
        bid, units = _batch(conn)
        batches.bulk_insert(conn, ExpenseEntry.__table__, _frame(bid, units, ROWS))
