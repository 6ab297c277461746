"""Changed files are never "unchanged": a re-import whose keys match but whose amounts differ is refused."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ledger.store.batches import live
from ledger.store.db import reading
from ledger.store.models import BudgetLine, ImportBatch
from tests.import_support import sunshine

HEADER = "单位编码,单位名称,年度,类别,阶段,金额\n"


def budgets(tmp_path, name, *rows):
    p = tmp_path / name
    p.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return p


def live_budget(engine) -> list[tuple]:
    with reading(engine) as conn:
        return conn.execute(
            select(BudgetLine.category_code, func.sum(BudgetLine.amount_fen))
            .where(live(BudgetLine.batch_id)).group_by(BudgetLine.category_code).order_by(BudgetLine.category_code)
        ).all()


def test_changed_amounts_are_refused_with_each_difference(db_url, engine, tmp_path):
    first = budgets(tmp_path, "2024预算.csv", "U01,市财政局,2024,reception,original,95700.00",
                    "U01,市财政局,2024,meeting,original,20000.00")
    assert sunshine(db_url, "import", "budgets", first, "--by", "clerk").returncode == 0
    changed = budgets(tmp_path, "2024预算-修订.csv", "U01,市财政局,2024,reception,original,105000.00",
                      "U01,市财政局,2024,meeting,original,20000.00")
    run = sunshine(db_url, "import", "budgets", changed, "--by", "clerk", "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(run.stdout)["files"][0]
    assert report["status"] == "refused"
    assert report["changed_rows"] == [{
        "sheet": None, "row": 2, "column": "金额", "batch": 1,
        "key": {"unit_code": "U01", "fiscal_year": "2024", "category_code": "reception", "stage": "original"},
        "old_fen": 9570000, "new_fen": 10500000, "old": "95,700.00", "new": "105,000.00",
    }]
    assert report["problems"]["by_code"] == {"error:amount-changed": 1, "warning:probable-duplicate": 1}
    [p] = [p for p in report["problems"]["listed"] if p["severity"] == "error"]
    assert (p["row"], p["column"], p["code"], p["severity"]) == (2, "金额", "amount-changed", "error")
    assert "95,700.00 元 (batch 1) → 105,000.00 元; --supersedes 1" in p["message_en"]
    assert p["message_zh"].startswith("账本中同一项目金额不同：unit_code U01, fiscal_year 2024, category_code reception")
    assert live_budget(engine) == [("meeting", 2000000), ("reception", 9570000)]

    text = sunshine(db_url, "import", "budgets", changed, "--by", "clerk")
    assert text.returncode == 1
    assert "REFUSED: nothing written" in text.stdout
    assert ("2024预算-修订.csv, row 2, column 金额: the ledger holds this item with another amount: unit_code U01, "
            "fiscal_year 2024, category_code reception, stage original: 95,700.00 元 (batch 1) → 105,000.00 元; "
            "--supersedes 1") in text.stderr

    fixed = sunshine(db_url, "import", "budgets", changed, "--by", "clerk", "--supersedes", "1")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "loaded as batch 2" in fixed.stdout
    assert live_budget(engine) == [("meeting", 2000000), ("reception", 10500000)]


def test_a_truly_identical_rerun_changes_nothing_and_exits_0(db_url, engine, tmp_path):
    first = budgets(tmp_path, "a.csv", "U01,市财政局,2024,reception,original,95700.00",
                    "U01,市财政局,2024,meeting,original,20000.00")
    assert sunshine(db_url, "import", "budgets", first).returncode == 0
    same_file = sunshine(db_url, "import", "budgets", first)
    assert same_file.returncode == 0 and "already loaded as batch 1; nothing to do" in same_file.stdout
    # the same figures in other bytes (rows swapped, 万元 header): every row held, nothing new, exit 0
    other = tmp_path / "b.csv"
    other.write_text("单位编码,单位名称,年度,类别,阶段,金额(万元)\nU01,市财政局,2024,meeting,original,2.00\n"
                     "U01,市财政局,2024,reception,original,9.57\n", encoding="utf-8")
    same_figures = sunshine(db_url, "import", "budgets", other)
    assert same_figures.returncode == 0, same_figures.stdout + same_figures.stderr
    assert "nothing new" in same_figures.stdout
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 1
    assert live_budget(engine) == [("meeting", 2000000), ("reception", 9570000)]


def test_a_changed_disclosure_figure_is_refused_not_added(db_url, engine, tmp_path):
    head = "单位编码,单位名称,年度,预算数_公务接待费,决算数_公务接待费\n"
    a, b = tmp_path / "t1.csv", tmp_path / "t2.csv"
    a.write_text(head + "U01,市财政局,2023,10.00,9.57\n", encoding="utf-8")
    b.write_text(head + "U01,市财政局,2023,10.00,9.75\n", encoding="utf-8")
    assert sunshine(db_url, "import", "disclosure", a, "--amount-unit", "wan").returncode == 0
    run = sunshine(db_url, "import", "disclosure", b, "--amount-unit", "wan", "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)["files"][0]
    assert [(c["row"], c["column"], c["old_fen"], c["new_fen"]) for c in report["changed_rows"]] == [
        (2, "决算数_公务接待费", 9570000, 9750000)]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 1


def test_a_figure_changed_by_a_file_of_another_kind_names_both_ways_out(engine, tmp_path):
    from importers.pipeline import Options
    from importers.run import ReadOptions, import_file

    b = budgets(tmp_path, "b.csv", "U01,市财政局,2023,reception,original,100000.00")
    assert import_file(engine, "budgets", b, Options(), ReadOptions()).status == "loaded"
    t = tmp_path / "t.csv"
    t.write_text("单位编码,单位名称,年度,预算数_公务接待费\nU01,市财政局,2023,10.50\n", encoding="utf-8")
    r = import_file(engine, "disclosure", t, Options(), ReadOptions(amount_unit="wan"))
    assert r.status == "refused"
    [p] = r.report["problems"]["listed"]
    assert (p["row"], p["column"], p["code"]) == (2, "预算数_公务接待费", "amount-changed")
    assert ("100,000.00 元 (batch 1) → 105,000.00 元; batch 1 is a budgets file: correct it with a budgets file "
            "and --supersedes 1, or load this one beside it with --allow-duplicates") in p["message_en"]
