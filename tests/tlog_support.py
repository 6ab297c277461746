"""Publishing small batches the way every importer does, for the transparency-log tests.

The import pipeline has its own tests; these go straight through ``ledger.store.batches`` and
``ledger.log.events`` so the log can be tested on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

from ledger.log import events
from ledger.store import audit, batches
from ledger.store.db import writing
from ledger.store.models import BudgetLine, ExpenseEntry


def publish_expenses(engine, amounts_fen, *, unit="U1", year=2023, category="reception", supersedes=None,
                     name="expenses.csv", role="finance") -> int:
    """Publish one expense batch with one row per amount; returns the batch id."""
    sha = hashlib.sha256(f"{name}:{amounts_fen}:{supersedes}".encode()).hexdigest()
    with writing(engine) as conn:
        bid = batches.create_batch(
            conn, kind="expenses", file_name=name, sha256=sha, submitted_by="clerk", rows_read=len(amounts_fen),
            rows_loaded=len(amounts_fen), control_total_fen=sum(amounts_fen), supersedes_id=supersedes,
        )
        units = batches.ensure_units(conn, [(unit, "市财政局")], bid)
        n = len(amounts_fen)
        frame = pl.DataFrame({
            "batch_id": [bid] * n,
            "source_row": list(range(2, n + 2)),
            "unit_id": [units[unit]] * n,
            "fiscal_year": [year] * n,
            "entry_date": [dt.date(year, 3, 1)] * n,
            "category_code": [category] * n,
            "amount_fen": list(amounts_fen),
            "currency": ["CNY"] * n,
            "payee": ["某酒店"] * n,
            "created_at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n,
        })
        batches.bulk_insert(conn, ExpenseEntry.__table__, frame)
        budget = pl.DataFrame({
            "batch_id": [bid], "source_row": [None], "unit_id": [units[unit]], "fiscal_year": [year],
            "category_code": [category], "stage": ["original"], "amount_fen": [sum(amounts_fen)], "currency": ["CNY"],
            "created_at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)],
        }, schema_overrides={"source_row": pl.Int64})
        batches.bulk_insert(conn, BudgetLine.__table__, budget)
        audit.record(conn, actor="clerk", role=role, action="import", object_type="import_batch", object_id=bid)
        events.batch_published(conn, bid)
    return bid


def unguard_entries(conn) -> None:
    """Drop ``expense_entry``'s append-only guard inside a test's own transaction, to backdate its rows."""
    from sqlalchemy import text

    for t in ("update", "delete") if conn.dialect.name == "sqlite" else ():
        conn.execute(text(f"DROP TRIGGER IF EXISTS append_only_expense_entry_{t}"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE expense_entry DISABLE TRIGGER USER"))
