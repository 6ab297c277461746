"""The canonical rows the database builds are byte for byte the reference ``row_line``, on awkward values."""

import datetime as dt
import hashlib
import json

import polars as pl

from ledger.log.canonical import ROW_COLUMNS, _reference_chunks, canonical_chunks, row_line, summarise_rows
from ledger.store import batches
from ledger.store.db import reading, writing
from ledger.store.models import ExpenseEntry, ProcurementRecord

AWKWARD = ['=HYPERLINK("x")', "back\\slash", "tab\there", "new\nline", "bell\x07\x1f\x7f", "阳光账本 “全角”", "é\u2028", "", "null"]


def test_database_built_lines_match_the_reference_definition(engine):
    n = len(AWKWARD)
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="expenses", file_name="odd.csv", sha256="1" * 64, submitted_by="t")
        units = batches.ensure_units(conn, [("U1", "市财政局")], bid)
        batches.bulk_insert(conn, ExpenseEntry.__table__, pl.DataFrame({
            "batch_id": [bid] * n, "source_row": list(range(n)), "unit_id": [units["U1"]] * n, "fiscal_year": [2023] * n,
            "entry_date": [dt.date(2023, 1, 2), None] * (n // 2) + [dt.date(1999, 12, 31)],
            "category_code": ["reception"] * n, "amount_fen": [-5, 0, 2**62, *range(n - 3)], "currency": ["CNY"] * n,
            "payee": AWKWARD, "description": list(reversed(AWKWARD)), "persons": [None, 3] * (n // 2) + [1],
            "payee_type": [*AWKWARD[1:], None],
            "created_at": [dt.datetime(2024, 1, 1)] * n,
        }, schema_overrides={"persons": pl.Int64}))
        batches.bulk_insert(conn, ProcurementRecord.__table__, pl.DataFrame({
            "batch_id": [bid] * 3, "unit_id": [units["U1"]] * 3, "fiscal_year": [2023] * 3, "title": AWKWARD[:3], "method": ["rfq"] * 3,
            "release_date": [dt.datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC), None, dt.datetime(2023, 1, 1, tzinfo=dt.UTC)],
            "contract_date": [dt.date(2023, 6, 1), None, None], "currency": ["CNY"] * 3,
            "supplier_type": ["个人", None, AWKWARD[4]],
            "created_at": [dt.datetime(2024, 1, 1)] * 3,
        }))
    with reading(engine) as conn:
        fast = [(t, i, line) for t, ids, lines in canonical_chunks(conn, bid) for i, line in zip(ids, lines, strict=True)]
        ref = [(t, i, line) for t, (model, cols) in ROW_COLUMNS.items()
               for ids, lines in _reference_chunks(conn, t, model, cols, bid) for i, line in zip(ids, lines, strict=True)]
        summary = summarise_rows(conn, bid)
    assert fast == ref
    assert len(fast) == n + 3
    first = json.loads(fast[0][2])
    assert first[:10] == ["expense_entry", str(fast[0][1]), str(bid), "0", str(units["U1"]), "2023", "2023-01-02",
                          "reception", "-5", "CNY"]
    assert first[10] == '=HYPERLINK("x")' and first[14] is None
    assert json.loads(fast[-3][2])[7] == "2023-05-06T07:08:09.123456"
    assert fast[-3][2].decode() == row_line("procurement_record", json.loads(fast[-3][2])[1:])
    whole = b"".join(line + b"\n" for _t, _i, line in fast)
    assert summary.rows_sha256 == hashlib.sha256(whole).hexdigest() and summary.count == n + 3


def test_a_sqlite_timestamp_in_another_form_takes_the_reference_path(engine):
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="procurement", file_name="p.csv", sha256="2" * 64, submitted_by="t")
        units = batches.ensure_units(conn, [("U1", "市财政局")], bid)
        # On SQLite, another writer's form with an offset: 15:08 at +08:00 is 07:08 UTC.
        stamp = "2023-05-06T15:08:09+08:00" if conn.dialect.name == "sqlite" else dt.datetime(2023, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
        batches.bulk_insert(conn, ProcurementRecord.__table__, pl.DataFrame({
            "batch_id": [bid], "unit_id": [units["U1"]], "fiscal_year": [2023], "title": ["x"], "method": ["rfq"],
            "currency": ["CNY"], "release_date": [stamp], "created_at": [dt.datetime(2024, 1, 1)],
        }))
    with reading(engine) as conn:
        lines = [line for _t, _ids, ls in canonical_chunks(conn, bid) for line in ls]
    assert json.loads(lines[0])[7] == "2023-05-06T07:08:09.000000"
