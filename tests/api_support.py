"""Shared by the API tests: a small seeded ledger and a real uvicorn server on a free port.

The seed goes through ``ledger.store.batches`` (the importers are built alongside). It reads like
the policy tables: units, then expense lines, budget lines and procurement records.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl
import uvicorn
from sqlalchemy import insert, update

from api.app import create_app
from api.settings import Settings
from ledger.store import batches
from ledger.store.db import make_engine, writing
from ledger.store.models import BudgetLine, CheckRun, ExpenseEntry, Flag, FlagReview, ProcurementRecord, Unit

T0 = dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.UTC)

UNITS = [("U1", "市财政局", "city"), ("U2", "市教育局", "city"), ("U3", "城东街道", "street")]

# unit, year, date, category, amount (fen), payee
EXPENSES = [
    ("U1", 2023, dt.date(2023, 3, 1), "reception", 123_456, '=HYPERLINK("x")'),
    ("U1", 2023, None, "reception", 1, None),
    ("U2", 2023, dt.date(2023, 5, 2), "meeting", -500, "某酒店"),
    ("U1", 2022, dt.date(2022, 6, 1), "reception", 200_000, "某酒店"),
    ("U3", 2023, dt.date(2023, 7, 9), "overseas_travel", 5_000_000, "-旅行社"),
    ("U2", 2022, dt.date(2022, 8, 8), "transport", 33, "+出租车"),
]
# unit, year, category, stage, amount (fen)
BUDGETS = [
    ("U1", 2023, "reception", "original", 100_000),
    ("U1", 2023, "reception", "adjusted", 130_000),
    ("U2", 2023, "meeting", "original", 0),
    ("U3", 2023, "overseas_travel", "original", 4_000_000),
]
# unit, year, method, budget, contract, supplier, contract date
PROCUREMENT = [
    ("U1", 2023, "open_tender", 1_000_000, 900_000, "甲公司", dt.date(2023, 4, 1)),
    ("U1", 2023, "single_source", 500_000, 500_000, "乙公司", dt.date(2023, 9, 1)),
    ("U2", 2022, "open_tender", 800_000, 600_000, "甲公司", dt.date(2022, 4, 1)),
    ("U2", 2023, "rfq", None, 70_000, "丙公司", None),
]
RESTRICTED_NOTE = "线索：接待对象疑似虚构 (restricted)"
PUBLISHED_NOTE = "单位已说明，接待经审批"


def seed(url: str) -> dict:
    """Load the tables above; a superseded batch sits beside them and must never show."""
    engine = make_engine(url)
    ids: dict = {}
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="expenses", file_name="支出.csv", sha256="a" * 64, submitted_by="clerk")
        units = batches.ensure_units(conn, [(c, n) for c, n, _ in UNITS], bid)
        for code, _, level in UNITS:
            conn.execute(update(Unit).where(Unit.code == code).values(level=level))
        ids["units"] = units
        old = batches.create_batch(conn, kind="expenses", file_name="旧.csv", sha256="b" * 64, submitted_by="clerk")
        batches.bulk_insert(conn, ExpenseEntry.__table__, _expenses(old, units, [("U1", 2023, None, "reception", 999_999, "旧")]))
        batches.refresh_rollups(conn, old)
        batches.bulk_insert(conn, ExpenseEntry.__table__, _expenses(bid, units, EXPENSES))
        batches.refresh_rollups(conn, bid)
        new = batches.create_batch(conn, kind="expenses", file_name="更正.csv", sha256="c" * 64, submitted_by="clerk",
                                   supersedes_id=old)
        bb = batches.create_batch(conn, kind="budgets", file_name="预算.csv", sha256="d" * 64, submitted_by="clerk")
        batches.bulk_insert(conn, BudgetLine.__table__, pl.DataFrame({
            "batch_id": [bb] * len(BUDGETS), "unit_id": [units[u] for u, *_ in BUDGETS],
            "fiscal_year": [y for _, y, *_ in BUDGETS], "category_code": [c for _, _, c, _, _ in BUDGETS],
            "stage": [s for *_, s, _ in BUDGETS], "amount_fen": [a for *_, a in BUDGETS], "currency": ["CNY"] * len(BUDGETS),
            "created_at": [T0] * len(BUDGETS),
        }))
        batches.refresh_rollups(conn, bb)
        pb = batches.create_batch(conn, kind="procurement", file_name="采购.csv", sha256="e" * 64, submitted_by="clerk")
        batches.bulk_insert(conn, ProcurementRecord.__table__, pl.DataFrame({
            "batch_id": [pb] * len(PROCUREMENT), "unit_id": [units[r[0]] for r in PROCUREMENT],
            "fiscal_year": [r[1] for r in PROCUREMENT], "method": [r[2] for r in PROCUREMENT],
            "budget_fen": [r[3] for r in PROCUREMENT], "contract_fen": [r[4] for r in PROCUREMENT],
            "supplier_name": [r[5] for r in PROCUREMENT], "contract_date": [r[6] for r in PROCUREMENT],
            "currency": ["CNY"] * len(PROCUREMENT), "created_at": [T0] * len(PROCUREMENT),
        }, schema_overrides={"budget_fen": pl.Int64, "contract_date": pl.Date}))
        batches.refresh_rollups(conn, pb)  # as a publish does: its suppliers kept in batch_name
        run = conn.execute(insert(CheckRun).values(fingerprint="f" * 64, started_at=T0).returning(CheckRun.id)).scalar_one()
        conn.execute(insert(Flag).values(
            id="flag1", rule_code="budget_overrun", rule_version=1, unit_id=units["U1"], fiscal_year=2023,
            category_code="reception", state="under_review", figures_json=json.dumps({"budget_fen": 130_000, "actual_fen": 123_457}),
            message_zh="超预算", message_en="Over budget", evidence_json=json.dumps({"batch_ids": [bid]}), first_run_id=run, last_run_id=run, created_at=T0,
        ))
        conn.execute(insert(FlagReview).values(flag_id="flag1", from_state="open", to_state="explained", reviewer="纪委甲",
                                               note=PUBLISHED_NOTE, created_at=T0, published_at=T0))
        conn.execute(insert(FlagReview).values(flag_id="flag1", from_state="explained", to_state="under_review",
                                               reviewer="纪委乙", note=RESTRICTED_NOTE, created_at=T0))
        ids.update(expenses_batch=bid, old_batch=old, new_batch=new, budgets_batch=bb, procurement_batch=pb)
    engine.dispose()
    return ids


def _expenses(bid: int, units: dict, rows: list) -> pl.DataFrame:
    return pl.DataFrame({
        "batch_id": [bid] * len(rows), "source_row": list(range(2, 2 + len(rows))),
        "unit_id": [units[r[0]] for r in rows], "fiscal_year": [r[1] for r in rows], "entry_date": [r[2] for r in rows],
        "category_code": [r[3] for r in rows], "amount_fen": [r[4] for r in rows], "currency": ["CNY"] * len(rows),
        "payee": [r[5] for r in rows], "created_at": [T0] * len(rows),
    }, schema_overrides={"entry_date": pl.Date, "payee": pl.Utf8})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(url: str, **env: str):
    """``sunshine``'s app under uvicorn in its own process (as the browser meets it); yields its base URL.

    ``env``: more environment variables for the server (rate limits are off).
    """
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "SUNSHINE_DATABASE_URL": url, "SUNSHINE_RATE_LIMIT": "0", **env},
        cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode())
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def running(url: str, **settings):
    """A real uvicorn server for ``url`` on a free loopback port; yields an httpx client bound to it."""
    settings.setdefault("rate_limit", 0)
    app = create_app(url, settings=Settings(database_url=url, **settings))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
