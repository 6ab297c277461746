"""Magnitude plausibility: a figure 1,000× or more off the unit's previous year is held, naming the likely unit."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.store.batches import live
from ledger.store.db import reading
from ledger.store.models import BudgetLine, ExpenseEntry, ImportBatch
from tests.import_support import sunshine

DISCLOSURE = "单位编码,单位名称,年度,决算数_公务接待费\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def load(engine, path, kind="disclosure", amount_unit=None, supersedes=None):
    return import_file(engine, kind, path, Options(submitted_by="clerk", supersedes=supersedes),
                       ReadOptions(amount_unit=amount_unit))


def live_sum(engine, model, year) -> int | None:
    with reading(engine) as conn:
        return conn.execute(select(func.sum(model.amount_fen)).where(
            live(model.batch_id), model.fiscal_year == year)).scalar()


def test_a_wan_file_without_unit_marker_is_held_naming_wan(db_url, engine, tmp_path):
    last = write(tmp_path, "2023.csv", "单位：万元\n" + DISCLOSURE + "U01,市财政局,2023,9.57\n")
    assert load(engine, last).status == "loaded"
    assert live_sum(engine, ExpenseEntry, 2023) == 9_570_000  # 9.57 万 = 95,700.00 元
    slip = write(tmp_path, "2024.csv", DISCLOSURE + "U01,市财政局,2024,10.5\n")  # 万元, but no marker: read as 元
    run = sunshine(db_url, "import", "disclosure", slip, "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(run.stdout)["files"][0]
    assert report["status"] == "refused"
    assert report["implausible"] == [{
        "sheet": None, "row": 2, "column": "决算数_公务接待费", "unit_code": "U01", "fiscal_year": 2024,
        "category_code": "reception", "measure": "actual", "value_fen": 1050, "prior_fen": 9_570_000,
        "read_as": "yuan", "likely_unit": "wan",
    }]
    [p] = report["problems"]["listed"]
    assert (p["row"], p["column"], p["value"], p["code"]) == (2, "决算数_公务接待费", "10.50", "magnitude-implausible")
    assert p["message_en"] == (
        "the amount is 1,000× or more off the unit's previous year (U01 2024 reception actual 10.50 元 ↔ 2023 "
        "95,700.00 元, ×1/9,114; likely 万元: --amount-unit wan): probably the wrong amount unit (元/万元/亿元); "
        "state the unit with --amount-unit and import again")
    assert p["message_zh"].startswith("金额与本单位上年相差千倍以上（U01 2024 reception actual 10.50 元")
    assert live_sum(engine, ExpenseEntry, 2024) is None  # nothing written
    text = sunshine(db_url, "import", "disclosure", slip)
    assert "2024.csv, row 2, column 决算数_公务接待费: the amount is 1,000× or more off" in text.stderr

    confirmed = sunshine(db_url, "import", "disclosure", slip, "--amount-unit", "wan")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert live_sum(engine, ExpenseEntry, 2024) == 10_500_000  # 10.5 万 = 105,000.00 元


def test_wan_read_as_yi_is_held_and_a_stated_unit_confirms(engine, tmp_path):
    head = "单位编码,单位名称,年度,类别,金额(万元)\n"
    assert load(engine, write(tmp_path, "b2023.csv", head + "U01,市财政局,2023,reception,9.57\n"), "budgets").ok
    slip = write(tmp_path, "b2024.csv", "单位编码,单位名称,年度,类别,金额(亿元)\nU01,市财政局,2024,reception,9.80\n")
    r = load(engine, slip, "budgets")
    assert r.status == "refused"
    [held] = r.report["implausible"]
    assert (held["value_fen"], held["prior_fen"], held["read_as"], held["likely_unit"], held["measure"]) == (
        98_000_000_000, 9_570_000, "yi", "wan", "budget_original")
    assert "×10,240; likely 万元: --amount-unit wan" in r.report["problems"]["listed"][0]["message_en"]
    # a real 1,000-fold figure is confirmed by stating the unit
    assert load(engine, slip, "budgets", amount_unit="yi").status == "loaded"
    assert live_sum(engine, BudgetLine, 2024) == 98_000_000_000


def test_line_items_small_beside_last_year_load_but_huge_ones_are_held(engine, tmp_path):
    head = "单位编码,单位名称,年度,日期,类别,金额,收款方\n"
    assert load(engine, write(tmp_path, "2023.csv", head + "U01,x,2023,2023-06-01,reception,957000.00,宾馆\n"),
                "expenses").ok
    january = write(tmp_path, "2024-01.csv", head + "U01,x,2024,2024-01-05,reception,500.00,饭店\n")
    assert load(engine, january, "expenses").status == "loaded"  # a month of lunches is rightly small
    huge = write(tmp_path, "2024-02.csv", "单位编码,单位名称,年度,日期,类别,金额(万元)\n"
                                          "U01,x,2024,2024-02-05,reception,95700.00\n")
    r = load(engine, huge, "expenses")
    assert r.status == "refused"
    assert [(h["value_fen"], h["prior_fen"], h["likely_unit"]) for h in r.report["implausible"]] == [
        (95_700_000_000 + 50_000, 95_700_000, "yuan")]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 2


def test_no_previous_year_or_a_zero_says_nothing(engine, tmp_path):
    assert load(engine, write(tmp_path, "a.csv", DISCLOSURE + "U01,x,2023,0\nU02,y,2023,5.00\n")).ok
    # a zero last year, ×999.8, no previous year: all load
    r = load(engine, write(tmp_path, "b.csv", DISCLOSURE + "U01,x,2024,10.5\nU02,y,2024,4999.00\nU03,z,2024,1\n"))
    assert r.status == "loaded" and "implausible" not in r.report
    # exactly ×1,000 is held
    r = load(engine, write(tmp_path, "c.csv", DISCLOSURE + "U02,y,2025,4999000.00\n"))
    assert r.status == "refused" and r.report["implausible"][0]["value_fen"] == 499_900_000
