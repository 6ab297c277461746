"""Consumption data (kWh, litres, m³) importable, so the 节电/节油/节水 targets are evaluated; no data is said."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from ledger.log.verify import verify
from ledger.store.db import reading
from ledger.store.models import ConsumptionLine, ImportBatch, Unit
from tests.import_support import sunshine
from tests.ledgertext import load_ledger, load_policy, results, run, target_toml

POLICY = (target_toml("power-cut-5", title="节电指标降低5%以上", measure="consumption", resource="electricity",
                      baseline="prior_year", change_pct=-5, year_from=2009, year_to=2009)
          + target_toml("water-cut-5", title="节水指标降低5%以上", measure="consumption", resource="water",
                        baseline="prior_year", change_pct=-5, year_from=2009, year_to=2009))
LEDGER = """
    unit year category  budget actual
    A    2008 reception -      100
    A    2009 reception -      90
    B    2008 reception -      100
    B    2009 reception -      80
"""
FILE = ("单位编码,单位名称,年度,资源,用量,计量单位\n"
        "A,甲局,2008,用电,\"10,000\",千瓦时\n"
        "A,甲局,2009,电,9500,度\n"
        "B,乙局,2008,electricity,1.2,万千瓦时\n"
        "B,乙局,2009,用电,11400.001,kWh\n"
        "A,甲局,2008,用水,300,吨\n"
        "A,甲局,2009,用水,290.5,立方米\n")


def lines(engine) -> list[tuple]:
    with reading(engine) as conn:
        rows = conn.execute(select(Unit.code, ConsumptionLine.fiscal_year, ConsumptionLine.resource,
                                   ConsumptionLine.quantity, ConsumptionLine.measure_unit)
                            .join(Unit, Unit.id == ConsumptionLine.unit_id).order_by(ConsumptionLine.id)).all()
    return [(u, y, r, f"{q:.3f}", m) for u, y, r, q, m in rows]


def test_targets_without_consumption_say_no_data_then_are_evaluated(db_url, engine, tmp_path):
    load_policy(engine, tmp_path, POLICY)
    load_ledger(engine, LEDGER)
    summary = run(engine)
    assert summary.results == {"met": 0, "missed": 0, "insufficient_data": 0, "no_data": 4}
    assert results(engine) == [
        ("power-cut-5", "A", 2009, "no_data", None, None, None, None, None),
        ("power-cut-5", "B", 2009, "no_data", None, None, None, None, None),
        ("water-cut-5", "A", 2009, "no_data", None, None, None, None, None),
        ("water-cut-5", "B", 2009, "no_data", None, None, None, None, None),
    ]
    check = sunshine(db_url, "check", "--year", "2009")  # the repository's sunshine.toml thresholds
    assert check.returncode == 0, check.stderr
    assert "0 met, 0 missed, 0 insufficient_data, 4 no data (无数据)" in check.stdout
    assert ("  no data (无数据)  power-cut-5  2009: none of its 2 units in scope has electricity consumption: "
            "sunshine import consumption FILE") in check.stdout
    zh = sunshine(db_url, "check", "--year", "2009", lang="zh").stdout
    assert "  无数据  power-cut-5  2009：范围内 2 个单位均无 electricity 用量；请 sunshine import consumption 文件" in zh
    as_json = json.loads(sunshine(db_url, "check", "--json").stdout)
    assert {(t["target_id"], t["unit_code"], t["status"], tuple(t["missing_years"])) for t in as_json["targets"]} == {
        (tid, u, "no_data", (2008, 2009)) for tid in ("power-cut-5", "water-cut-5") for u in ("A", "B")}

    f = tmp_path / "能耗.csv"
    f.write_text(FILE, encoding="utf-8")
    imp = sunshine(db_url, "import", "consumption", f, "--json")
    assert imp.returncode == 0, imp.stdout + imp.stderr
    report = json.loads(imp.stdout)["files"][0]
    assert (report["status"], report["rows"]["loaded"]) == ("loaded", 6)
    assert report["quantities"] == {"kWh": "42900.001 kWh", "m3": "590.5 m3"}
    assert lines(engine) == [
        ("A", 2008, "electricity", "10000.000", "kWh"), ("A", 2009, "electricity", "9500.000", "kWh"),
        ("B", 2008, "electricity", "12000.000", "kWh"), ("B", 2009, "electricity", "11400.001", "kWh"),
        ("A", 2008, "water", "300.000", "m3"), ("A", 2009, "water", "290.500", "m3"),
    ]
    run(engine)
    assert results(engine) == [
        ("power-cut-5", "A", 2009, "met", 10000000, 9500000, 9500000, 0, "0.00"),
        # 12,000 kWh × 95% = 11,400 kWh: one thousandth of a kWh over the cap is a miss
        ("power-cut-5", "B", 2009, "missed", 12000000, 11400000, 11400001, 1, "0.00"),
        ("water-cut-5", "A", 2009, "missed", 300000, 285000, 290500, 5500, "1.93"),
        # B reports electricity but no water: insufficient, not a zero and not silence
        ("water-cut-5", "B", 2009, "insufficient_data", None, None, None, None, None),
    ]
    with reading(engine) as conn:
        report = verify(conn)
        assert report.ok, report.problems[:3]
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("UPDATE consumption_line SET quantity = 1"))


def test_consumption_problems_name_row_and_column_and_reimports(engine, tmp_path):
    from importers.pipeline import Options
    from importers.run import ReadOptions, import_file

    def load(name, body, **kw):
        p = tmp_path / name
        p.write_text(body, encoding="utf-8")
        return import_file(engine, "consumption", p, Options(submitted_by="clerk", **kw), ReadOptions())

    bad = load("bad.csv", "单位编码,年度,资源,用量,计量单位\nA,2009,煤,1,吨\nA,2009,用油,2,吨\nA,2009,用电,1.2345,度\n")
    assert bad.status == "refused"
    assert [(p["row"], p["column"], p["code"], p["message_en"]) for p in bad.report["problems"]["listed"]] == [
        (2, "资源", "resource-unknown", 'unknown resource "煤" (electricity, fuel or water)'),
        (3, "计量单位", "measure-unit-invalid", 'measure unit "吨" does not fit: fuel is measured in L'),
        (4, "用量", "quantity-invalid",
         '"1.2345" is not a quantity (a non-negative number with at most three decimals)'),
    ]
    first = load("a.csv", "单位编码,年度,资源,用量\nA,2009,用油,800.5\n")
    assert first.status == "loaded"
    same = load("b.csv", "单位编码,资源,年度,用量\nA,fuel,2009,800.500\n")  # same figure, other bytes
    assert (same.status, same.report["rows"]["held"]) == ("unchanged", 1)
    changed = load("c.csv", "单位编码,年度,资源,用量\nA,2009,用油,810\n")
    assert changed.status == "refused"
    [c] = changed.report["problems"]["listed"]
    assert c["code"] == "amount-changed"
    assert "unit_code A, fiscal_year 2009, resource fuel: 800.5 L (batch 1) → 810 L; --supersedes 1" in c["message_en"]
    fixed = load("c.csv", "单位编码,年度,资源,用量\nA,2009,用油,810\n", supersedes=first.batch_id)
    assert fixed.status == "loaded"
    with reading(engine) as conn:
        assert conn.execute(select(ImportBatch.kind, ImportBatch.supersedes_id).order_by(ImportBatch.id)).all() == [
            ("consumption", None), ("consumption", 1)]


def test_no_data_shows_in_the_api_and_on_the_unit_page(db_url, engine, tmp_path):
    from litestar.testing import TestClient

    from api.app import create_app

    load_policy(engine, tmp_path, POLICY)
    load_ledger(engine, LEDGER)
    run(engine)
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        rows = c.get("/api/v1/target-results", params={"status": "no_data"}).json()["data"]
        assert sorted((r["target_id"], r["unit_code"], r["status"]) for r in rows) == [
            ("power-cut-5", "A", "no_data"), ("power-cut-5", "B", "no_data"),
            ("water-cut-5", "A", "no_data"), ("water-cut-5", "B", "no_data")]
        assert "无数据" in c.get("/units/A").text
        assert "no data" in c.get("/en/units/A").text
