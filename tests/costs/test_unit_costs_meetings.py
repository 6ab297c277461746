"""Unit costs per meeting day and per person-day (issue 18), through the real expenses importer (天数),
and the unit costs' three surfaces: ``/api/v1/unit-costs``, ``sunshine unit-costs`` and the unit page,
each showing the unit's cost beside the peer median and fence. Exact figures, both databases.

Meetings of 2024 (level county_dept): per meeting day 1,500 5,000 6,000 6,000 6,500 7,000 30,000 元 → Q1 5,500,
median 6,000, Q3 6,750, fence 6,750 + 1.5 × 1,250 = 8,625; per person-day (M7 states no persons) 250 280 300 300 325 1,500 元 →
Q1 285, median 300, Q3 318.75, fence 318.75 + 1.5 × 33.75 = 369.375 → 369.38 (fen rounded half up).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from cli.main import root
from importers.pipeline import Options
from importers.run import import_file
from ledger.rules.flags import list_flags
from ledger.store.db import writing
from ledger.store.models import Unit
from tests.api_support import running
from tests.ledgertext import run

MEETINGS = """单位编码,单位名称,年度,类别,金额,人次,天数,凭证号
M1,一局,2024,会议费,6000.00,20,1,v1
M1,一局,2024,会议费,800.00,,,v1b
M2,二局,2024,会议费,12000.00,20,2,v2
M3,三局,2024,会议费,7000.00,25,1,v3
M4,四局,2024,会议费,5000.00,20,1,v4
M5,五局,2024,会议费,6500.00,20,1,v5
M6,六局,2024,会议费,30000.00,20,1,v6
M7,七局,2024,会议费,3000.00,,2,v7
"""
M6_DAY = {"metric": "per_meeting_day", "unit_cost_fen": 3_000_000, "amount_fen": 3_000_000, "count": 1,
          "basis": "peers", "peer_group_size": 7, "peer_level": "county_dept", "peer_kind": None, "peer_q1_fen": 550_000,
          "peer_median_fen": 600_000, "peer_q3_fen": 675_000, "fence_fen": 862_500}


@pytest.fixture
def meetings(engine, tmp_path):
    path = tmp_path / "meetings.csv"
    path.write_text(MEETINGS, encoding="utf-8")
    result = import_file(engine, "expenses", path, Options(submitted_by="test"))
    assert result.status == "loaded", result.report
    with writing(engine) as conn:
        conn.execute(update(Unit).values(level="county_dept"))
    return engine


def _flags(engine):
    with engine.connect() as conn:
        return {(f["unit_code"], f["figures"]["metric"]): f for f in list_flags(conn, rule_code="unit_cost_outlier")}


def test_cost_per_meeting_day_and_person_day_against_peers(meetings):
    run(meetings)
    flags = _flags(meetings)
    assert sorted(flags) == [("M6", "per_meeting_day"), ("M6", "per_meeting_person_day")]
    # M7 states 2 days and no persons: it counts per meeting day (1,500 元), never per person-day;
    # M1's line without days is left out of both (a missing count is never zero)
    assert flags[("M6", "per_meeting_day")]["figures"] == M6_DAY
    assert flags[("M6", "per_meeting_person_day")]["figures"] == {
        "metric": "per_meeting_person_day", "unit_cost_fen": 150_000, "amount_fen": 3_000_000, "count": 20,
        "basis": "peers", "peer_group_size": 6, "peer_level": "county_dept", "peer_kind": None, "peer_q1_fen": 28_500,
        "peer_median_fen": 30_000, "peer_q3_fen": 31_875, "fence_fen": 36_938}
    day = flags[("M6", "per_meeting_day")]
    assert day["category_code"] == "meeting"
    assert day["message_zh"] == ("六局 2024年：会议费每会议天30,000.00元（3.00万元/1天），高于同级同类（county_dept·未填单位性质）"
                                 "7个单位的上限8,625.00元"
                                 "（中位数6,000.00元，Q3+1.5×四分位距）")


def test_the_three_surfaces_show_cost_median_and_fence(meetings, db_url):
    run(meetings)
    with running(db_url) as client:
        api = client.get("/api/v1/unit-costs", params={"year": 2024, "unit": "M6"}).json()
        csv = client.get("/api/v1/unit-costs", params={"unit": "M6", "format": "csv"}).text
        bad = client.get("/api/v1/unit-costs", params={"metric": "per_nothing"})
        page = client.get("/units/M6").text
        page_en = client.get("/en/units/M6").text
    rows = {r["metric"]: r for r in api["data"]}
    assert sorted(rows) == ["per_meeting_day", "per_meeting_person_day"]
    day = rows["per_meeting_day"]
    assert {k: day[k] for k in M6_DAY} == M6_DAY
    assert (day["flagged"], day["metric_zh"], day["count_unit_zh"], day["unit_name"]) == (True, "会议费每会议天", "天", "六局")
    assert api["thresholds"]["min_peers"] == 5
    assert csv.splitlines()[1].startswith("M6,六局,2024,per_meeting_day,")
    assert bad.status_code == 400
    # the unit page: the cost beside the median and the fence, flagged
    assert 'data-metric="per_meeting_day" data-year="2024" class="over"' in page
    assert '<td class="num" data-fen="3000000">30,000.00</td><td class="num">1天</td><td>同级同类（county_dept·未填单位性质）7个单位</td>' in page
    assert 'data-fen="600000">6,000.00</td>' in page and 'data-fen="862500">8,625.00</td>' in page
    assert "meetings per meeting day" in page_en and "7 units of the same level and kind (county_dept · kind not stated)" in page_en
    # the CLI, text and JSON
    out = CliRunner().invoke(root, ["--database", db_url, "unit-costs", "--year", "2024", "--unit", "M6",
                                    "--metric", "per_meeting_day"])
    assert out.exit_code == 0, out.output
    assert out.output == ("M6 2024年 会议费每会议天：30,000.00元（30,000.00元/1天）；"
                          "同级同类（county_dept·未填单位性质）7个单位中位数6,000.00元，"
                          "上限8,625.00元  ← 超出上限（风险标记）\n")
    out = CliRunner().invoke(root, ["--database", db_url, "unit-costs", "--unit", "M1", "--json"])
    [m1] = [r for r in json.loads(out.output)["data"] if r["metric"] == "per_meeting_day"]
    assert (m1["unit_cost_fen"], m1["amount_fen"], m1["count"], m1["flagged"]) == (600_000, 600_000, 1, False)


def test_a_small_peer_group_falls_back_to_the_unit_s_own_history(engine, tmp_path, db_url):
    """Two county units only (fewer than min_peers 5): each is held against its own previous years."""
    path = tmp_path / "history.csv"
    path.write_text("单位编码,单位名称,年度,类别,金额,人次,天数\n"
                    "H1,甲局,2021,会议费,4000,10,1\nH1,甲局,2022,会议费,5000,10,1\nH1,甲局,2023,会议费,4500,10,1\n"
                    "H1,甲局,2024,会议费,9000,10,1\nH2,乙局,2024,会议费,5000,10,1\n", encoding="utf-8")
    assert import_file(engine, "expenses", path, Options(submitted_by="test")).status == "loaded"
    run(engine)
    flags = _flags(engine)
    # H1 2024: 9,000 元 a day against 150% of the median 4,500 of 2021–2023 (6,750); H2 has no history: not judged
    assert sorted(flags) == [("H1", "per_meeting_day"), ("H1", "per_meeting_person_day")]
    assert flags[("H1", "per_meeting_day")]["figures"] == {
        "metric": "per_meeting_day", "unit_cost_fen": 900_000, "amount_fen": 900_000, "count": 1, "basis": "history",
        "peer_group_size": 2, "history_years": 3, "history_median_fen": 450_000, "fence_fen": 675_000}
    with running(db_url) as client:
        h2 = client.get("/api/v1/unit-costs", params={"unit": "H2", "metric": "per_meeting_day"}).json()["data"]
    assert [(r["basis"], r["peer_group_size"], r["history_years"], r["flagged"]) for r in h2] == [("none", 2, 0, False)]


def test_without_thresholds_the_api_says_so(meetings, db_url, monkeypatch, tmp_path):
    run(meetings)
    monkeypatch.setenv("SUNSHINE_CONFIG", str(tmp_path / "missing.toml"))
    with running(db_url) as client:
        api = client.get("/api/v1/unit-costs", params={"unit": "M6"})
    assert api.status_code == 503
    assert api.json()["detail"].startswith("单位成本的阈值无法读取")
    assert "missing.toml" in api.json()["detail"]


def test_unit_costs_as_of_a_checkpoint_carry_its_root(meetings, db_url):
    with running(db_url) as client:
        latest = client.get("/api/v1/log/checkpoint").json()
        now = client.get("/api/v1/unit-costs", params={"unit": "M6"}).json()
        pinned = client.get("/api/v1/unit-costs", params={"unit": "M6", "as_of": latest["size"]})
        unknown = client.get("/api/v1/unit-costs", params={"unit": "M6", "as_of": latest["size"] + 100})
    assert pinned.status_code == 200 and pinned.json()["data"] == now["data"]
    assert pinned.headers["x-checkpoint-root"] == latest["root_hash"] == pinned.json()["checkpoint"]["root_hash"]
    assert unknown.status_code == 404
