"""The bare handler our API is measured against: Litestar, one SQL string, the standard driver.

It reads the same page the API's first ``/api/v1/expenses`` page shows (expenses joined to their
units, in id order, 100 rows; ``?unit=CODE`` for one unit's first page) with the standard ``sqlite3`` module, or psycopg 3 when
``BARE_DATABASE_URL`` is a PostgreSQL URL, and returns it as JSON. No validation, no cursor, no
count, no ETag: what is left is the floor of serving that page from Python.

    BARE_DATABASE_URL=sqlite:///var/bench/small/ledger.sqlite3 \\
        .venv/bin/uvicorn bench.bare_app:app --port 8001 --workers 1
"""

from __future__ import annotations

import os
import sqlite3
import threading

from litestar import Litestar, get

URL = os.environ.get("BARE_DATABASE_URL", "sqlite:///var/sunshine.sqlite3")
PAGE_SQL = """
SELECT e.id, e.batch_id, e.source_row, u.code AS unit_code, u.name AS unit_name, u.level AS unit_level,
       e.fiscal_year, e.entry_date, e.category_code, e.amount_fen, e.currency, e.payee, e.description,
       e.voucher_no, e.persons, e.batches, e.vehicles, e.created_at
FROM expense_entry e JOIN unit u ON u.id = e.unit_id
{where}ORDER BY e.id LIMIT 100
"""
_local = threading.local()


def _connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        if URL.startswith("sqlite"):
            conn = sqlite3.connect(URL.split("///", 1)[1], check_same_thread=False)
        else:
            import psycopg

            conn = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        _local.conn = conn
    return conn


@get("/page", sync_to_thread=False)
def page(unit: str | None = None) -> list[dict]:
    """The first 100 expenses, or the first 100 of one unit (by code) when ``unit`` is given."""
    cur = _connection().cursor()
    if unit is None:
        cur.execute(PAGE_SQL.format(where=""))
    else:
        mark = "?" if URL.startswith("sqlite") else "%s"
        cur.execute(PAGE_SQL.format(where=f"WHERE u.code = {mark} "), (unit,))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


app = Litestar([page])
