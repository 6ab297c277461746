"""Peer groups by level *and* kind (issue 18: "same level and kind, same year"). Exact figures, both databases.

2024, 市级, official reception per batch (元): 行政单位 A1–A5 1,000 1,050 1,100 1,150 2,000; 事业单位
S1–S5 5,000 5,200 5,400 5,600 5,800; N1 (no kind stated) 9,000.

- By level and kind, 行政单位: Q1 1,050, median 1,100, Q3 1,150, fence 1,150 + 1.5 × 100 = 1,300: A5's 2,000 is
  above it (and 50% above the median). 事业单位: Q1 5,200, median 5,400, Q3 5,600, fence 6,200: none above.
- By level alone (the ten units of stated kind) A5 would hide among the 事业单位: Q1 1,112.5, Q3 5,350,
  fence 5,350 + 1.5 × 4,237.5 = 11,706.25.
- N1 states no kind: it is a group of one (never mixed into a stated kind), too few peers and no history:
  not judged.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from importers.pipeline import Options
from importers.run import import_file
from ledger.rules.flag_rules_costs import quartiles
from ledger.rules.flags import list_flags
from ledger.store.db import writing
from ledger.store.models import Unit
from tests.api_support import running
from tests.ledgertext import load_ledger, run

COSTS = {"A1": 1000, "A2": 1050, "A3": 1100, "A4": 1150, "A5": 2000,
         "S1": 5000, "S2": 5200, "S3": 5400, "S4": 5600, "S5": 5800, "N1": 9000}
KINDS = {"A": "行政单位", "S": "事业单位", "N": None}


@pytest.fixture
def ledger(engine):
    rows = "\n".join(f"    {u}  2024  reception  {c * 10}  10" for u, c in COSTS.items())
    load_ledger(engine, "    unit  year  category  actual  batches\n" + rows)
    with writing(engine) as conn:
        for prefix, kind in KINDS.items():
            conn.execute(update(Unit).where(Unit.code.like(f"{prefix}%")).values(level="市级", kind=kind))
    run(engine)
    return engine


def test_a_unit_is_judged_among_its_level_and_kind_not_its_level_alone(ledger):
    with ledger.connect() as conn:
        flags = list_flags(conn, rule_code="unit_cost_outlier")
    assert [(f["unit_code"], f["figures"]["metric"]) for f in flags] == [("A5", "per_reception_batch")]
    [a5] = flags
    assert a5["figures"] == {
        "metric": "per_reception_batch", "unit_cost_fen": 200_000, "amount_fen": 2_000_000, "count": 10,
        "basis": "peers", "peer_group_size": 5, "peer_level": "市级", "peer_kind": "行政单位",
        "peer_q1_fen": 105_000, "peer_median_fen": 110_000, "peer_q3_fen": 115_000, "fence_fen": 130_000}
    assert "公务接待费每批次2,000.00元（2.00万元/10批次），高于同级同类（市级·行政单位）5个单位的上限1,300.00元" \
        "（中位数1,100.00元，Q3+1.5×四分位距）" in a5["message_zh"]
    assert "above the fence of ¥1,300.00 among 5 units of the same level and kind [city · administrative unit] " \
        "(median ¥1,100.00, Q3 + 1.5 × IQR)" in a5["message_en"]
    # by level alone A5 would not have been flagged: the 事业单位 lift that fence to 11,706.25 元
    q1, _, q3 = quartiles([c * 100 for u, c in COSTS.items() if u != "N1"])
    assert (q1, q3, q3 + (q3 - q1) * 3 / 2) == (111_250, 535_000, 1_170_625)


def test_the_api_and_the_page_name_the_group_and_a_unit_of_no_kind_stands_alone(ledger, db_url):
    with running(db_url) as client:
        rows = {r["unit_code"]: r for r in client.get("/api/v1/unit-costs", params={"year": 2024}).json()["data"]}
        csv = client.get("/api/v1/unit-costs", params={"unit": "S3", "format": "csv"}).text
        page = client.get("/units/A5").text
        page_en = client.get("/en/units/S3").text
        units = {u["code"]: u["unit_kind"] for u in client.get("/api/v1/units", params={"limit": 50}).json()["data"]}
    assert {u: (r["kind"], r["peer_group_size"], r["basis"], r["flagged"]) for u, r in rows.items()} == {
        **{f"A{i}": ("行政单位", 5, "peers", i == 5) for i in range(1, 6)},
        **{f"S{i}": ("事业单位", 5, "peers", False) for i in range(1, 6)},
        "N1": (None, 1, "none", False)}
    assert (rows["S3"]["peer_group_zh"], rows["S3"]["peer_group_en"], rows["S3"]["fence_fen"]) == (
        "市级·事业单位", "city · public institution", 620_000)
    assert (rows["N1"]["peer_group_zh"], rows["N1"]["peer_group_en"]) == ("市级·未填单位性质", "city · kind not stated")
    head, line = csv.splitlines()[:2]
    assert ",level,kind,peer_group_zh,peer_group_en," in head and ",市级,事业单位,市级·事业单位,city · public institution," in line
    assert "<td>同级同类（市级·行政单位）5个单位</td>" in page
    assert '<p class="note" data-unit-kind="行政单位">单位性质：行政单位</p>' in page
    assert '<p class="note" data-unit-kind="事业单位">Unit kind: public institution</p>' in page_en
    assert (units["A1"], units["S1"], units["N1"]) == ("行政单位", "事业单位", None)
    assert "5 units of the same level and kind (city · public institution)" in page_en


def test_amounts_in_another_currency_are_not_compared_and_the_run_says_so(engine, tmp_path, db_url):
    """Six units' reception per batch in 元 (1,000 … 1,250 and 5,000); G1 files a 50,000 GBP reception of 10
    batches and E1 two EUR lines: none of them is a peer of the 元 units, and the run lists them as skipped."""
    path = tmp_path / "e.csv"
    rows = [f"Y{i},单位{i},2024,公务接待费,{c},10,CNY,v{i}" for i, c in enumerate((10000, 10500, 11000, 11500, 12500,
                                                                                 50000), 1)]
    rows += ["G1,伦敦办事处,2024,公务接待费,500000,10,GBP,g1", "E1,欧洲办事处,2024,公务接待费,900,3,EUR,e1",
             "E1,欧洲办事处,2024,因公出国(境)费,700,1,EUR,e2", "E1,欧洲办事处,2024,公务接待费,50,,EUR,e3"]
    path.write_text("单位编码,单位名称,年度,类别,金额,批次,币种,凭证号\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert import_file(engine, "expenses", path, Options(submitted_by="test")).status == "loaded"
    summary = run(engine)
    assert summary.flags["skipped"] == [
        {"rule": "unit_cost_outlier", "currency": "EUR", "records": 2, "reason": "unit-costs-cny-only"},
        {"rule": "unit_cost_outlier", "currency": "GBP", "records": 1, "reason": "unit-costs-cny-only"}]
    with engine.connect() as conn:
        flags = list_flags(conn, rule_code="unit_cost_outlier")
    # Y6 among the six 元 units: Q1 1,062.5, median 1,125, Q3 1,225, fence 1,468.75; G1's 50,000 GBP is no peer
    assert [(f["unit_code"], f["figures"]["peer_group_size"], f["figures"]["fence_fen"]) for f in flags] == [
        ("Y6", 6, 146_875)]
    with running(db_url) as client:
        answer = client.get("/api/v1/unit-costs", params={"year": 2024}).json()
    assert sorted({r["unit_code"] for r in answer["data"]}) == [f"Y{i}" for i in range(1, 7)]
    assert [(s["currency"], s["records"]) for s in answer["skipped"]] == [("EUR", 2), ("GBP", 1)]
