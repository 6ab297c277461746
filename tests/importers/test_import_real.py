"""The Leeds council spending CSV: refused as published (we cannot place its columns), loaded with the
mapping written for it, totals exact in GBP pence and never mixed with CNY."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.store.db import reading
from ledger.store.models import ExpenseEntry, ImportBatch, Rollup

LEEDS = Path(__file__).parent.parent / "fixtures" / "real" / "council_spend" / "leeds_2010-12.csv"
MAPPING = LEEDS.with_suffix(".toml")
HEADERS = ["Body name", "Body", "Service label", "Service division label", "Expenditure category",
           "Detailed expenditure type", "Detailed expenditure code", "Transaction number", "Net amount",
           "Capital or revenue", "Supplier name"]
BY_CATEGORY = {  # pence, rows; summed independently from the CSV with Decimal
    "meeting": (1379351, 12), "other": (7607816668, 9977), "overseas_travel": (61560, 1), "reception": (67578, 1),
    "training": (19429777, 117), "transport": (47013135, 114), "vehicle_operation": (42132855, 81),
}


def test_refused_as_published_naming_unplaced_columns(engine):
    result = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"))
    assert result.status == "refused"
    listed = result.report["problems"]["listed"]
    assert [p["column"] for p in listed if p["code"] == "column-unplaced"] == HEADERS
    assert sorted(p["column"] for p in listed if p["code"] == "column-missing") == ["amount", "category", "unit_code"]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0


def test_loaded_with_mapping_totals_exact(engine):
    result = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"), ReadOptions(mapping=MAPPING))
    assert result.status == "loaded", result.report["problems"]
    assert result.report["rows"] == {"read": 10306, "detail": 10303, "blank": 3, "total_rows": 0, "loaded": 10303,
                                     "held": 0, "skipped_existing": 0}
    assert result.report["totals"] == {"expense": {"GBP": 7717900924}}
    assert result.report["problems"]["listed"] == []  # every column placed or deliberately ignored
    with reading(engine) as conn:
        got = conn.execute(
            select(ExpenseEntry.category_code, func.sum(ExpenseEntry.amount_fen), func.count())
            .group_by(ExpenseEntry.category_code)
        ).all()
        assert {c: (int(s), n) for c, s, n in got} == BY_CATEGORY
        assert conn.execute(select(ExpenseEntry.currency).distinct()).scalars().all() == ["GBP"]
        assert conn.execute(select(func.sum(Rollup.amount_fen)).where(Rollup.currency == "CNY")).scalar() is None
        b = ImportBatch
        batch = conn.execute(select(b.rows_read, b.rows_loaded, b.rows_skipped, b.control_total_fen, b.encoding)).one()
        assert tuple(batch) == (10306, 10303, 3, 7717900924, "utf-8")
        e = ExpenseEntry
        first = conn.execute(select(e.entry_date, e.amount_fen, e.payee, e.voucher_no, e.source_category)
                             .where(e.source_row == 2)).one()
        assert (str(first[0]), *first[1:]) == (
            "2010-12-24", 161623, "A & A ELECTRICAL DISTRIBUTORS LTD", "1012-00001", "Operational Materials")
    again = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"), ReadOptions(mapping=MAPPING))
    assert (again.status, again.batch_id) == ("unchanged", result.batch_id)
