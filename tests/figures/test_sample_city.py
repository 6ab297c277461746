"""The sample city: same seed, same bytes; the planted cases are where sample/README.md says; it loads whole.

The last tests load every file through the real importers (SQLite and PostgreSQL) and run the
Changde 2009 checks, so a change in the generator, the importers or the rules that loses a planted
case fails here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import root
from importers.ocds import import_file as import_ocds
from importers.pipeline import Options
from importers.run import import_file
from ledger.store.db import reading, writing
from ledger.store.models import ProcurementRecord, Unit
from sample.city import OFFICIAL, PLANTED, SEED, make_city
from sample.procurement import PLANTED_PROCUREMENT, SEED_FIGURES
from sample.units import district_units
from sample.write import FILES, write_city

ROOT = Path(__file__).resolve().parent.parent.parent
YI = 10_000_000_000  # fen per 亿元


@pytest.fixture(scope="module")
def city():
    return make_city()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_city(tmp_path_factory.mktemp("sample"))


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in paths.items()}


def test_same_seed_same_bytes(tmp_path, files):
    again = CliRunner().invoke(root, ["sample", "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert sorted(files) == sorted(FILES)
    assert _digests(files) == _digests({n: tmp_path / "again" / n for n in FILES})
    other = write_city(tmp_path / "other", SEED + 1)
    assert _digests(other)["expenses.csv"] != _digests(files)["expenses.csv"]


def test_sizes_and_coverage(city):
    assert len(city.units) == 40
    assert {u.level for u in city.units} == {"市级", "区县级"}
    assert {e.year for e in city.expenses} == set(range(2005, 2010))
    assert {e.category for e in city.expenses} == set(OFFICIAL) | {"other"}
    assert len(city.procurement) + len(city.ocds) == 2000
    assert len(city.ocds) == 40
    assert {p.method for p in city.procurement} == {"公开招标", "邀请招标", "竞争性谈判", "竞争性磋商", "单一来源", "询价"}
    assert {b.stage for b in city.budgets} == {"original", "adjusted"}


def _actual(city, unit: str, year: int, cats) -> int:
    return sum(e.amount for e in city.expenses if e.unit.code == unit and e.year == year and e.category in cats)


def test_planted_targets(city):
    assert (_actual(city, "101002", 2008, ["reception"]), _actual(city, "101002", 2009, ["reception"])) == (8_000_000, 6_000_000)
    assert (_actual(city, "101005", 2008, ["reception"]), _actual(city, "101005", 2009, ["reception"])) == (10_000_000, 9_000_000)
    assert (_actual(city, "101006", 2008, ["meeting"]), _actual(city, "101006", 2009, ["meeting"])) == (5_000_000, 5_600_000)
    assert [_actual(city, "101007", y, ["overseas_travel"]) for y in (2006, 2007, 2008, 2009)] == [
        15_000_000, 18_000_000, 21_000_000, 16_000_000]  # mean 18万, cap 14.4万
    vp = {b.year: b.amount for b in city.budgets if b.unit.code == "101008" and b.category == "vehicle_purchase"}
    assert (vp[2008], vp[2009]) == (30_000_000, 27_000_000)  # cap 22.5万
    assert [_actual(city, "101009", y, ["study_tour", "training"]) for y in (2008, 2009)] == [10_000_000, 9_500_000]
    assert [_actual(city, "101010", y, OFFICIAL) for y in (2008, 2009)] == [122_419_160, 144_348_840]
    assert {e.year for e in city.expenses if e.unit.code == "101027"} == {2009}
    assert {e.year for e in city.expenses if e.unit.code == "101028"} == {2007, 2008, 2009}


def test_planted_flags(city):
    case = PLANTED["budget_overrun"]
    spent = _actual(city, "101011", 2008, ["meeting"])
    budget = [b.amount for b in city.budgets if (b.unit.code, b.year, b.category) == ("101011", 2008, "meeting")]
    assert (spent, budget) == (case["actual"], [case["budget"]]) == (6_200_000, [5_000_000])
    reception = [e for e in city.expenses if (e.unit.code, e.year, e.category) == ("101015", 2008, "reception")]
    assert (sum(e.amount for e in reception), sum(e.persons for e in reception)) == (6_791_760, 292)  # 232.6 元/人次
    dup = [e for e in city.expenses if (e.unit.code, e.payee, e.amount, e.date) == ("101017", "阳光宾馆", 386_000,
                                                                                      PLANTED["duplicate_payment"]["date"])]
    assert [e.voucher for e in dup] == ["2008-017-D01", "2008-017-D02"]
    over = [p for p in city.procurement if p.planted == "procurement_over_budget"]
    assert [(p.unit.code, p.budget, p.contract) for p in over] == [("101012", 120_000_000, 128_600_000)]
    single = [p for p in city.procurement if p.planted == "single_source"]
    assert [(p.unit.code, p.method, p.contract) for p in single] == [("101013", "单一来源", 386_000_000)]
    split = [p for p in city.procurement if p.planted == "split_purchase"]
    assert sum(p.contract for p in split) == 142_100_000 and max(p.contract for p in split) < 100_000_000
    assert (split[-1].contract_date - split[0].contract_date).days == 27
    concentrated = [p for p in city.procurement + city.ocds if p.unit.code == "101018" and p.year == 2007]
    by_them = sum(p.contract for p in concentrated if p.supplier == PLANTED_PROCUREMENT["supplier_concentration"]["supplier"])
    assert (by_them, sum(p.contract for p in concentrated)) == (3_100_000_000, 4_551_710_000)  # 68.1%


def test_seed_procurement_figures(city):
    everything = city.procurement + city.ocds
    contract = {y: sum(p.contract for p in everything if p.year == y) for y in (2007, 2008)}
    budget_2008 = sum(p.budget for p in everything if p.year == 2008)
    assert contract == {y: f["contract_fen"] for y, f in SEED_FIGURES.items()} == {2007: 761 * YI // 100, 2008: 1193 * YI // 100}
    assert budget_2008 == SEED_FIGURES[2008]["budget_fen"] == 1352 * YI // 100
    assert contract[2008] - contract[2007] == 432 * YI // 100  # growth 4.32 亿元
    assert budget_2008 - contract[2008] == 159 * YI // 100  # savings 1.59 亿元, 11.76% of the budget


def test_messy_rows_are_in_the_files(files):
    text = files["expenses.csv"].read_text(encoding="utf-8")
    assert "\n\n" in text and "\n,合计," in text and "１" in text
    disclosure = files["disclosure.csv"].read_bytes().decode("gb18030")
    assert disclosure.startswith("阳光市区县部门决算") and "单位：万元\r\n" in disclosure and "\r\n,合计," in disclosure
    sheets = pl.read_excel(files["disclosure.xlsx"], sheet_id=0, engine="calamine")
    assert list(sheets) == ["2005", "2006", "2007", "2008", "2009"]


def _load_all(engine, files) -> dict[str, dict]:
    options = Options(submitted_by="sample")
    reports = {}
    for kind, name in [("budgets", "budgets.csv"), ("expenses", "expenses.csv"), ("disclosure", "disclosure.csv"),
                       ("procurement", "procurement.csv")]:
        result = import_file(engine, kind, files[name], options)
        assert result.status == "loaded", (name, result.report["problems"])
        reports[name] = result.report
    result = import_ocds(engine, files["ocds.json"], options)
    assert result.status == "loaded", result.report["problems"]
    reports["ocds.json"] = result.report
    return reports


def test_whole_sample_loads_without_refusals(engine, files):
    # the XLSX is the same table as the GB18030 CSV: a dry run of it (before the CSV is in) gives the same totals
    xlsx = import_file(engine, "disclosure", files["disclosure.xlsx"], Options(submitted_by="sample", dry_run=True))
    assert xlsx.status == "dry-run", xlsx.report["problems"]
    reports = _load_all(engine, files)
    assert xlsx.report["totals"] == reports["disclosure.csv"]["totals"] == {
        "budget": {"CNY": 2_171_420_000}, "expense": {"CNY": 1_908_980_000}}  # each row's published 合计
    # (the planted 203002 row's 合计 is 100 元 above its parts: the control total is the published figure)
    assert reports["expenses.csv"]["rows"]["blank"] == 1 and reports["expenses.csv"]["rows"]["total_rows"] == 1
    assert reports["disclosure.csv"]["problems"]["by_code"] == {"finding:disclosure-sum": 1}
    assert reports["ocds.json"]["ocds"]["releases"] == 50 and reports["ocds.json"]["ocds"]["compiled"] == 40
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Unit)).scalar() == 40
        per_year = dict(conn.execute(select(ProcurementRecord.fiscal_year, func.sum(ProcurementRecord.contract_fen))
                                     .group_by(ProcurementRecord.fiscal_year)).all())
        budget_2008 = conn.execute(select(func.sum(ProcurementRecord.budget_fen))
                                   .where(ProcurementRecord.fiscal_year == 2008)).scalar()
    assert {y: int(v) for y, v in per_year.items() if y in SEED_FIGURES} == {
        y: f["contract_fen"] for y, f in SEED_FIGURES.items()}
    assert int(budget_2008) == SEED_FIGURES[2008]["budget_fen"]


def test_checks_find_exactly_the_planted_cases(engine, files):
    from ledger.rules.checks import run_checks, target_results
    from ledger.rules.flags import list_flags
    from ledger.rules.targets import load_policy_file

    _load_all(engine, files)
    with writing(engine) as conn:
        load_policy_file(conn, ROOT / "policies" / "changde-2009.toml")
        summary = run_checks(conn)
    with reading(engine) as conn:
        results = target_results(conn)
        flags = list_flags(conn)
    status = {(r["unit_code"], r["target_id"].removeprefix("changde-2009-")): r["status"] for r in results}
    assert sorted(k for k, s in status.items() if s == "missed") == [
        ("101005", "reception-cut-20"), ("101006", "meeting-zero-growth"),
        ("101007", "overseas-travel-cut-20-vs-3yr-mean"), ("101008", "vehicle-purchase-budget-cut-25"),
        ("101009", "study-training-cut-20"), ("101010", "official-zero-growth")]
    assert sorted(k for k, s in status.items() if s == "insufficient_data") == sorted(
        [("101027", t) for t in ("meeting-zero-growth", "official-zero-growth", "overseas-travel-cut-20-vs-3yr-mean",
                                 "reception-cut-20", "study-training-cut-20", "vehicle-purchase-budget-cut-25")]
        + [("101028", "overseas-travel-cut-20-vs-3yr-mean")]
        # the 12 district units publish only the 三公 table: no meeting, study-tour or training rows at all,
        # which is no data, not zero spending
        + [(u.code, t) for u in district_units() for t in ("meeting-zero-growth", "study-training-cut-20")])
    assert status[("101002", "reception-cut-20")] == "met"
    outliers = summary.flags["by_rule"].pop("unit_cost_outlier", 0)  # random sample counts: see test_unit_costs
    assert outliers == len([f for f in flags if f["rule_code"] == "unit_cost_outlier"])
    assert summary.flags["by_rule"] == {"budget_overrun": 1, "duplicate_payment": 1, "per_capita_excess": 1,
                                        "procurement_over_budget": 1, "single_source": 1, "split_purchase": 1,
                                        "supplier_concentration": 1, "target_missed": 6}
    where = sorted((f["rule_code"], f["unit_code"], f["fiscal_year"]) for f in flags
                   if f["rule_code"] not in ("target_missed", "unit_cost_outlier"))
    assert where == [("budget_overrun", "101011", 2008), ("duplicate_payment", "101017", 2008),
                     ("per_capita_excess", "101015", 2008), ("procurement_over_budget", "101012", 2008),
                     ("single_source", "101013", 2008), ("split_purchase", "101014", 2008),
                     ("supplier_concentration", "101018", 2007)]


def test_load_sample_script(db_url, tmp_path):
    """What ``make demo`` runs: generate, then every import in order, each one loaded."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SUNSHINE_DATABASE_URL": db_url, "SUNSHINE": str(Path(sys.executable).parent / "sunshine")}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "load-sample"), str(tmp_path / "sample")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    # six batches: units.csv first (levels, parents, regions), then budgets, expenses, disclosure, procurement, OCDS
    assert run.stdout.count(": 已导入，批次") == 6 and "已拒绝" not in run.stdout
