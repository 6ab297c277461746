"""Ledger fixtures that read like the policy: short text tables loaded straight into the store.

    load_ledger(engine, '''
        unit  year  category   budget   actual
        U1    2008  reception  10000    10250
        U1    2009  reception  -        8000.50
    ''')

Columns are separated by runs of spaces; ``-`` is a missing cell; amounts are 元 (up to two
decimals). Ledger columns: unit, year, category, budget (年初预算), adjusted (调整预算), actual (决算),
and optional persons, batches, vehicles, payee, date, voucher. Procurement columns: unit, year, project,
method, budget, contract, supplier, date (and optional title). Consumption columns: unit, year,
resource, quantity, measure_unit. Each call is one import batch, written through ``ledger.store.batches`` and
published with ``ledger.log.events.batch_published`` — the importers are not involved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import polars as pl

from ledger.log import events
from ledger.money import parse_amount
from ledger.store import batches
from ledger.store.db import writing
from ledger.store.models import BudgetLine, ConsumptionLine, ExpenseEntry, ProcurementRecord

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def parse_table(text: str) -> list[dict[str, str | None]]:
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    header, rows = lines[0], lines[1:]
    out = []
    for row in rows:
        assert len(row) == len(header), f"row {row} does not match header {header}"
        out.append({h: (None if v == "-" else v) for h, v in zip(header, row, strict=True)})
    return out


def _batch(conn, kind: str, text: str, submitted_by: str, supersedes: int | None) -> int:
    sha = hashlib.sha256(f"{kind}\n{text}\n{supersedes}".encode()).hexdigest()
    return batches.create_batch(conn, kind=kind, file_name=f"{kind}.txt", sha256=sha, submitted_by=submitted_by,
                                supersedes_id=supersedes)


def _date(v: str | None) -> dt.date | None:
    return None if v is None else dt.date.fromisoformat(v)


def _int(v: str | None) -> int | None:
    return None if v is None else int(v)


def load_ledger(engine, text: str, *, submitted_by: str = "clerk", supersedes: int | None = None) -> int:
    """Load budget lines and expense entries from a text table; returns the batch id."""
    rows = parse_table(text)
    with writing(engine) as conn:
        bid = _batch(conn, "expenses", text, submitted_by, supersedes)
        units = batches.ensure_units(conn, [(r["unit"], None) for r in rows], bid)
        budget, actual = [], []
        for i, r in enumerate(rows, start=2):
            for col, stage in (("budget", "original"), ("adjusted", "adjusted")):
                if r.get(col) is not None:
                    budget.append((bid, i, units[r["unit"]], int(r["year"]), r["category"], stage,
                                   parse_amount(r[col]), "CNY", NOW))
            if r.get("actual") is not None:
                actual.append((bid, i, units[r["unit"]], int(r["year"]), _date(r.get("date")), r["category"],
                               parse_amount(r["actual"]), "CNY", r.get("payee"), r.get("voucher"),
                               _int(r.get("persons")), _int(r.get("batches")), _int(r.get("vehicles")), NOW))
        bcols = ["batch_id", "source_row", "unit_id", "fiscal_year", "category_code", "stage", "amount_fen",
                 "currency", "created_at"]
        ecols = ["batch_id", "source_row", "unit_id", "fiscal_year", "entry_date", "category_code", "amount_fen",
                 "currency", "payee", "voucher_no", "persons", "batches", "vehicles", "created_at"]
        bschema = dict(zip(bcols, [pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.String, pl.String, pl.Int64,
                                   pl.String, pl.Datetime("us", "UTC")], strict=True))
        eschema = dict(zip(ecols, [pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.Date, pl.String, pl.Int64, pl.String,
                                   pl.String, pl.String, pl.Int64, pl.Int64, pl.Int64, pl.Datetime("us", "UTC")],
                           strict=True))
        batches.bulk_insert(conn, BudgetLine.__table__, pl.DataFrame(budget, schema=bschema, orient="row"))
        batches.bulk_insert(conn, ExpenseEntry.__table__, pl.DataFrame(actual, schema=eschema, orient="row"))
        events.batch_published(conn, bid)
    return bid


def load_procurement(engine, text: str, *, submitted_by: str = "clerk", supersedes: int | None = None) -> int:
    """Load procurement records from a text table (amounts in 元, or with a 万/亿 suffix); returns the batch id."""
    rows = parse_table(text)
    with writing(engine) as conn:
        bid = _batch(conn, "procurement", text, submitted_by, supersedes)
        units = batches.ensure_units(conn, [(r["unit"], None) for r in rows], bid)
        recs = [
            (bid, i, r.get("project"), units[r["unit"]], int(r["year"]), r.get("title") or r.get("project"),
             r.get("method") or "open_tender", parse_amount(r.get("budget")), parse_amount(r.get("contract")),
             "CNY", r.get("supplier"), _date(r.get("date")), NOW)
            for i, r in enumerate(rows, start=2)
        ]
        cols = ["batch_id", "source_row", "project_code", "unit_id", "fiscal_year", "title", "method", "budget_fen",
                "contract_fen", "currency", "supplier_name", "contract_date", "created_at"]
        types = [pl.Int64, pl.Int64, pl.String, pl.Int64, pl.Int64, pl.String, pl.String, pl.Int64, pl.Int64,
                 pl.String, pl.String, pl.Date, pl.Datetime("us", "UTC")]
        frame = pl.DataFrame(recs, schema=dict(zip(cols, types, strict=True)), orient="row")
        batches.bulk_insert(conn, ProcurementRecord.__table__, frame)
        events.batch_published(conn, bid)
    return bid


def load_consumption(engine, text: str, *, submitted_by: str = "clerk", supersedes: int | None = None) -> int:
    """Load utility consumption (kWh, L, m3) from a text table; returns the batch id."""
    rows = parse_table(text)
    with writing(engine) as conn:
        bid = _batch(conn, "consumption", text, submitted_by, supersedes)
        units = batches.ensure_units(conn, [(r["unit"], None) for r in rows], bid)
        recs = [(bid, i, units[r["unit"]], int(r["year"]), r["resource"], str(Decimal(r["quantity"])),
                 r.get("measure_unit") or {"electricity": "kWh", "fuel": "L", "water": "m3"}[r["resource"]])
                for i, r in enumerate(rows, start=2)]
        cols = ["batch_id", "source_row", "unit_id", "fiscal_year", "resource", "quantity", "measure_unit"]
        types = [pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.String, pl.String, pl.String]
        batches.bulk_insert(conn, ConsumptionLine.__table__,
                            pl.DataFrame(recs, schema=dict(zip(cols, types, strict=True)), orient="row"))
        events.batch_published(conn, bid)
    return bid


# Thresholds the tests choose for themselves, so the repository's sunshine.toml can change freely.
CONFIG = {
    "budget_overrun": {"min_excess_pct": 0, "min_excess_yuan": 0},
    "target_missed": {},
    "procurement_over_budget": {"tolerance_pct": 0},
    "single_source": {"max_award_yuan": 1000000, "max_share_pct": 30, "min_unit_total_yuan": 1000000},
    "split_purchase": {"tender_threshold_yuan": 1000000, "window_days": 90, "min_records": 2},
    "supplier_concentration": {"max_share_pct": 50, "min_unit_total_yuan": 1000000, "min_suppliers": 2},
    "duplicate_payment": {"min_amount_yuan": 0.01},
    "per_capita_excess": {"reception_yuan_per_person": 150},
    "unit_cost_outlier": {"iqr_k": 1.5, "min_above_median_pct": 50, "min_peers": 5, "history_years": 3, "min_history_years": 2,
                          "history_max_pct": 150},
}


def load_policy(engine, tmp_path, toml_text: str, name: str = "policy.toml"):
    """Write a policy file and load it; returns the LoadResult."""
    from ledger.rules.targets import load_policy_file

    path = tmp_path / name
    path.write_text(toml_text, encoding="utf-8")
    with writing(engine) as conn:
        return load_policy_file(conn, path, actor="test")


def target_toml(tid: str, **fields) -> str:
    """One [[targets]] table; values given as Python literals."""
    lines = ["[[targets]]", f'id = "{tid}"', f'title = "{fields.pop("title", tid)}"',
             f'source_document = "{fields.pop("source_document", "test policy")}"']
    for k, v in fields.items():
        lines.append(f"{k} = " + (f'"{v}"' if isinstance(v, str) else repr(v).replace("'", '"')))
    return "\n".join(lines) + "\n"


def run(engine, year=None, config=None):
    """Run the checks in one write transaction; returns the RunSummary."""
    from ledger.rules.checks import run_checks

    with writing(engine) as conn:
        return run_checks(conn, year=year, config=CONFIG if config is None else config, actor="test")


def results(engine, **kw) -> list[tuple]:
    """Latest results as (target, unit, year, status, baseline, cap, value, excess, excess_pct) tuples."""
    from ledger.rules.checks import target_results

    with engine.connect() as conn:
        return [(r["target_id"], r["unit_code"], r["fiscal_year"], r["status"], r["baseline"], r["cap"], r["value"],
                 r["excess"], None if r["excess_pct"] is None else str(r["excess_pct"]))
                for r in target_results(conn, **kw)]
