"""The cheaper bulk paths of issue 15 part 3 store exactly what the plain paths store, on both databases.

SQLite: columns holding one value are written into the statement once (``ledger.store.bulk.statements``).
PostgreSQL: a large load's foreign keys are checked once per key (``ledger.store.bulk.keys``); a missing
parent still fails the load with PostgreSQL's own error, and the session's role is back afterwards.
"""

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import text

from ledger.store import batches
from ledger.store.bulk import keys, statements
from ledger.store.db import writing
from ledger.store.models import ExpenseEntry

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
