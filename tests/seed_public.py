"""A small region for the chart and page tests, written through the ledger's write path.

Read it like the policy: unit, year, category, budget and actual in 元.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from sqlalchemy import insert

from ledger.log import events
from ledger.store.batches import bulk_insert, create_batch, ensure_units
from ledger.store.db import writing
from ledger.store.models import (
    BudgetLine,
    CheckRun,
    ExpenseEntry,
    Flag,
    FlagReview,
    PolicyTarget,
    ProcurementRecord,
    TargetResult,
    utcnow,
)

ODD_NAME = "$\\foo{$ 测试单位"
UNITS = [("EDU", "教育局"), ("HLTH", "卫生健康局"), ("ODD", ODD_NAME)]

LEDGER = """
EDU   2022 reception          120000.00  100000.00
EDU   2022 overseas_travel     50000.00   40000.00
EDU   2022 vehicle_operation   80000.00   70000.00
EDU   2023 reception          100000.00   85000.55
EDU   2023 overseas_travel     50000.00   30000.00
EDU   2023 vehicle_operation   80000.00   75000.00
HLTH  2022 reception           60000.00   55000.00
HLTH  2022 vehicle_purchase   200000.00  200000.00
HLTH  2023 reception           60000.00   66000.00
ODD   2023 reception           10000.00   12345.67
"""

# project, unit, year, method, budget 元, contract 元, supplier
PROCUREMENT = """
P22-1 EDU  2022 open_tender    1000000.00  900000.00 甲公司
P22-2 HLTH 2022 single_source   200000.00  200000.00 乙公司
P23-1 EDU  2023 open_tender    2000000.00 1700000.00 甲公司
P23-2 HLTH 2023 rfq             300000.00  290000.00 丙公司
P23-3 ODD  2023 single_source   500000.00  500000.00 乙公司
"""

# target, unit, year, status, baseline 元, cap 元, value 元
RESULTS = """
reception-cut-20  EDU  2023 missed            100000.00  80000.00  85000.55
reception-cut-20  HLTH 2023 missed             55000.00  44000.00  66000.00
reception-cut-20  ODD  2023 insufficient_data  -          -         12345.67
three-public-zero EDU  2023 met               210000.00 210000.00 190000.55
three-public-zero HLTH 2023 met               255000.00 255000.00  66000.00
three-public-zero EDU  2022 insufficient_data  -          -        210000.00
"""

PUBLISHED_NOTE = "已责令整改，整改情况将公开"
RESTRICTED_NOTE = "RESTRICTED 内部备注：不得公开"


def fen(text: str) -> int | None:
    return None if text == "-" else round(float(text) * 100)


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def seed(engine) -> dict[str, int]:
    """Load the region; returns unit ids by code."""
    with writing(engine) as conn:
        batch = create_batch(conn, kind="expenses", file_name="seed.csv", sha256="0" * 64, submitted_by="test")
        ids = ensure_units(conn, UNITS, batch)
        rows = _rows(LEDGER)
        base = {"batch_id": [batch] * len(rows), "unit_id": [ids[r[0]] for r in rows],
                "fiscal_year": [int(r[1]) for r in rows], "category_code": [r[2] for r in rows]}
        bulk_insert(conn, BudgetLine.__table__, pl.DataFrame(
            {**base, "stage": ["original"] * len(rows), "amount_fen": [fen(r[3]) for r in rows],
             "currency": ["CNY"] * len(rows)}))
        bulk_insert(conn, ExpenseEntry.__table__, pl.DataFrame(
            {**base, "amount_fen": [fen(r[4]) for r in rows], "currency": ["CNY"] * len(rows)}))
        events.batch_published(conn, batch)

        pbatch = create_batch(conn, kind="procurement", file_name="proc.csv", sha256="1" * 64, submitted_by="test")
        prow = _rows(PROCUREMENT)
        bulk_insert(conn, ProcurementRecord.__table__, pl.DataFrame({
            "batch_id": [pbatch] * len(prow), "project_code": [r[0] for r in prow],
            "unit_id": [ids[r[1]] for r in prow], "fiscal_year": [int(r[2]) for r in prow],
            "title": [f"项目{r[0]}" for r in prow], "method": [r[3] for r in prow],
            "budget_fen": [fen(r[4]) for r in prow], "contract_fen": [fen(r[5]) for r in prow],
            "currency": ["CNY"] * len(prow), "supplier_name": [r[6] for r in prow],
        }))
        events.batch_published(conn, pbatch)

        for tid, title, cat, group, pct in [
            ("reception-cut-20", "公务接待经费实际支出压减20%以上", "reception", None, -20),
            ("three-public-zero", "三公经费零增长", None, "three_public", 0),
        ]:
            conn.execute(insert(PolicyTarget).values(
                id=tid, title=title, source_document="seed 000", scope_kind="all", scope_values="[]",
                measure="actual", category_code=cat, group_code=group, baseline="prior_year", change_pct=pct,
                definition_sha256="2" * 64, loaded_at=utcnow()))
        run = conn.execute(insert(CheckRun).values(started_at=utcnow(), fingerprint="3" * 64)
                           .returning(CheckRun.id)).scalar_one()
        for tid, unit, year, status, baseline, cap, value in _rows(RESULTS):
            b, c, v = fen(baseline), fen(cap), fen(value)
            conn.execute(insert(TargetResult).values(
                run_id=run, target_id=tid, unit_id=ids[unit], fiscal_year=int(year), status=status,
                baseline_fen=b, cap_fen=c, value_fen=v,
                excess_fen=None if c is None else max(v - c, 0)))

        now = utcnow()
        conn.execute(insert(Flag).values(
            id="f-overrun-hlth", rule_code="budget_overrun", rule_version=1, unit_id=ids["HLTH"],
            fiscal_year=2023, category_code="reception", state="rectification_ordered",
            figures_json=json.dumps({"budget_fen": 6000000, "actual_fen": 6600000}),
            message_zh="卫生健康局2023年公务接待费决算6.60万元，超出预算6.00万元",
            message_en="HLTH 2023 reception actual 66,000.00 above budget 60,000.00",
            evidence_json="[]", first_run_id=run, last_run_id=run, created_at=now))
        conn.execute(insert(FlagReview).values(
            flag_id="f-overrun-hlth", from_state="open", to_state="rectification_ordered", reviewer="纪委",
            note=PUBLISHED_NOTE, created_at=now, published_at=now))
        conn.execute(insert(FlagReview).values(
            flag_id="f-overrun-hlth", from_state="rectification_ordered", to_state="referred", reviewer="纪委",
            note=RESTRICTED_NOTE, created_at=now + dt.timedelta(seconds=1), published_at=None))
    return ids
