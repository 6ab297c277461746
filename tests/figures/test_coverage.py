"""Missing is not zero: coverage per year, and a year in which 2 of 40 units reported is never the headline.

40 units spend 12,500 元 each on reception in 2022 and 10,000 元 in 2023; in 2024 only U000 and U001
have reported (13,520 元 each). Summed naively, 2024 would read 27,040 against 400,000 元: "−93.24%",
and 38 units would be drawn at −100%.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from ledger.read import figures, totals
from ledger.read.aggregate import aggregate
from ledger.read.published import reports
from ledger.read.published.report_text import report_text
from ledger.read.types import Filters
from ledger.store.db import reading
from tests.chart_support import svg_texts
from tests.import_support import sunshine


def expenses(path, rows) -> None:
    lines = ["unit_code,unit_name,fiscal_year,date,category,amount,voucher_no"]
    lines += [f"{u},单位{u},{y},{y}-06-01,reception,{a},{u}-{y}" for u, y, a in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load(engine, path, **options):
    result = import_file(engine, "expenses", path, Options(submitted_by="测试", **options))
    assert result.status == "loaded", result.report["problems"]
    return result


@pytest.fixture
def forty(engine, tmp_path):
    units = [f"U{i:03d}" for i in range(40)]
    rows = [(u, 2022, "12500.00") for u in units] + [(u, 2023, "10000.00") for u in units]
    rows += [(u, 2024, "13520.00") for u in units[:2]]
    expenses(tmp_path / "forty.csv", rows)
    load(engine, tmp_path / "forty.csv")
    return engine


def test_coverage_per_year(forty):
    with reading(forty) as conn:
        cov = totals.coverage(conn)
    assert [(y, c["reported"], c["expected"], c["missing"], c["complete"], c["basis"]) for y, c in cov.items()] == [
        (2022, 40, 40, 0, True, "reporters"), (2023, 40, 40, 0, True, "reporters"),
        (2024, 2, 40, 38, False, "reporters")]
    assert cov[2024]["missing_units"][:3] == ["U002", "U003", "U004"] and len(cov[2024]["missing_units"]) == 38
    assert totals.latest_complete_year(cov) == 2023


def test_headline_is_the_latest_complete_year(forty):
    with reading(forty) as conn:
        kf = figures.key_figures(conn)
    assert (kf["year"], kf["latest_year"]) == (2023, 2024)
    assert (kf["three_public_actual_fen"], kf["three_public_prior_fen"]) == (40_000_000, 50_000_000)
    assert (kf["coverage"]["reported"], kf["latest_coverage"]["reported"], kf["latest_coverage"]["expected"]) == (
        40, 2, 40)


def test_report_names_the_missing_units(forty):
    with reading(forty) as conn:
        r = reports.three_public(conn, 2024)
    assert {k: r["coverage"][k] for k in ("reported", "expected", "missing", "complete")} == {
        "reported": 2, "expected": 40, "missing": 38, "complete": False}
    assert r["total"]["unit_name"] == "已报送的2个单位"
    total = r["total"]["items"][0]
    # the two reporting units against their own prior year: +35.20%, never −93.24%
    assert (total["actual_fen"], total["prior_actual_fen"], str(total["change_pct"])) == (2_704_000, 2_000_000,
                                                                                         "35.20")
    text = report_text(r)
    assert text.startswith("2024年应报送单位40个，已报送2个，未报送38个（缺失，不计为零）：U002、U003、U004、")
    assert "93.24" not in text


def test_cli_report_says_the_coverage_first(forty, db_url):
    table = sunshine(db_url, "report", "three-public", "--year", "2024", lang="zh")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0] == "覆盖：2024年 2/40 个单位已报送（不完整，未报送38个，缺失不计为零；依据：reporters）"
    data = json.loads(sunshine(db_url, "report", "three-public", "--year", "2023", "--json").stdout)
    assert (data["coverage"]["reported"], data["coverage"]["expected"], data["coverage"]["complete"]) == (40, 40, True)
    assert data["total"]["unit_name"] == "全部单位"


def test_aggregate_carries_coverage(forty):
    with reading(forty) as conn:
        agg = aggregate(conn, ["year"], Filters())
        one = aggregate(conn, ["year"], Filters(unit=["U005"], year=[2024]))
    assert [(c["year"], c["actual_fen"]) for c in agg.cells] == [(2022, 50_000_000), (2023, 40_000_000),
                                                                  (2024, 2_704_000)]
    assert [(c["fiscal_year"], c["reported"], c["expected"], c["complete"]) for c in agg.coverage] == [
        (2022, 40, 40, True), (2023, 40, 40, True), (2024, 2, 40, False)]
    assert [(c["fiscal_year"], c["reported"], c["expected"], c["missing_units"]) for c in one.coverage] == [
        (2024, 0, 1, ["U005"])]


def test_pages_api_and_charts_never_show_missing_as_minus_100(forty, db_url):
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        home = c.get("/").text
        assert '<h1>全区 · 2023</h1>' in home
        assert "2023年：40/40个单位已报送" in home
        assert "2024年仅2/40个单位报送，尚不完整；关键数据取最近完整年度2023年。" in home
        figure = re.search(r'data-figure="three_public_change"[^>]*>([^<]*)<', home).group(1)
        assert figure == "-10.00 万元（-20.00%）"
        assert "93.24" not in home and "-100.00%" not in home
        # the disclosure table of the home page defaults to the same year, 40 of 40 units
        assert "“三公”经费表（全部单位合计） · 2023" in home
        assert re.search(r'data-figure="units_reporting">40</b> / 40<', home)
        older = c.get("/", params={"year": 2024}).text
        assert re.search(r'data-figure="units_reporting">2</b> / 40<', older)
        assert "“三公”经费表（已报送单位合计，缺失不计为零） · 2024" in older
        assert "2024年应报送单位40个，已报送2个，未报送38个（缺失，不计为零）" in older
        agg = c.get("/api/v1/aggregate", params={"drilldown": "year"})
        assert agg.json()["coverage"][2] == {"fiscal_year": 2024, "reported": 2, "expected": 40, "missing": 38,
                                             "complete": False, "missing_units": [f"U{i:03d}" for i in range(2, 40)],
                                             "basis": "reporters"}
        csv = c.get("/api/v1/aggregate", params={"drilldown": "year", "format": "csv"})
        assert csv.headers["x-coverage"] == "2022=40/40, 2023=40/40, 2024=2/40"
        texts = svg_texts(c.get("/api/v1/charts/ranking.svg", params={"year": 2024}).content)
        assert texts.count("未报送（缺失，不计为零）") == 38
        assert texts.count("+0.35（35.20%）") == 2
        assert not [t for t in texts if "-100.00%" in t or "93.24" in t or "上年为零" in t]
        assert any("2024年2/40个单位已报送" in t for t in texts)
        default = svg_texts(c.get("/api/v1/charts/ranking.svg").content)
        assert "2023年各单位三公经费较上年变化" in default and default.count("-0.25（-20.00%）") == 40


def test_a_unit_with_no_prior_year_is_said_so(engine, tmp_path, db_url):
    expenses(tmp_path / "a.csv", [("A1", 2022, "100.00"), ("A1", 2023, "90.00"), ("B1", 2023, "50.00")])
    load(engine, tmp_path / "a.csv")
    with reading(engine) as conn:
        cov = totals.coverage(conn)
    # B1 first reported in 2023: not expected (nor missing) in 2022
    assert [(y, c["reported"], c["expected"], c["complete"]) for y, c in cov.items()] == [
        (2022, 1, 1, True), (2023, 2, 2, True)]
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        home = c.get("/").text
        row = re.search(r'<a href="/units/B1">单位B1</a></td>(.*?)</tr>', home, re.S).group(1)
        assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["—", "0.01", "上年无数据"]
        texts = svg_texts(c.get("/api/v1/charts/ranking.svg").content)
        assert "上年无数据" in texts and not [t for t in texts if "上年为零" in t]


def test_reported_units_kept_at_publish_are_the_live_rollups_units(engine, tmp_path):
    """Coverage reads who reported from ``batch_coverage`` (kept at publish), not from ``rollup``: the same
    units per year as ``SELECT DISTINCT`` over the live rollup, after a correction and as of a checkpoint."""
    from sqlalchemy import text

    from ledger.read import asof
    from ledger.store.batches import pinned
    from tests.tlog_support import publish_expenses

    a = publish_expenses(engine, [100, 200], unit="U1", year=2022)
    publish_expenses(engine, [300], unit="U2", year=2023, name="u2.csv")
    publish_expenses(engine, [150], unit="U3", year=2021, supersedes=a, name="fix.csv")  # U1's 2022 gone

    def distinct(conn, live_ids):
        out: dict[int, set[int]] = {}
        for u, y in conn.execute(text(f"SELECT DISTINCT unit_id, fiscal_year FROM rollup WHERE measure = 'actual' "
                                      f"AND batch_id IN ({','.join(map(str, live_ids))})")):
            out.setdefault(y, set()).add(u)
        return out

    with reading(engine) as conn:
        ids = dict(conn.execute(text("SELECT code, id FROM unit")).all())
        now = totals._reported_units(conn, ("actual",), totals.batch_identity(conn))
        assert now == distinct(conn, totals.live_ids(conn)) == {2021: {ids["U3"]}, 2023: {ids["U2"]}}
        assert {y: c["reported"] for y, c in totals.coverage(conn).items()} == {2021: 1, 2023: 1}
        _, pin = asof.resolve(conn, "2")
        with pinned(pin):
            then = totals._reported_units(conn, ("actual",), totals.batch_identity(conn))
            assert then == distinct(conn, sorted(pin.live)) == {2022: {ids["U1"]}, 2023: {ids["U2"]}}
            assert {y: c["reported"] for y, c in totals.coverage(conn).items()} == {2022: 1, 2023: 1}


REGISTER = "单位编码,单位名称,级次\n" + "".join(f"A{i},单位A{i},市级\n" for i in range(1, 9))
# A1 retired from 2024 (reports that year too), A3 from 2023, A7 from 2022 (before its first year); A4 never
# reports; A5 and A8 are merged into A6 (A8 through A5), so A6 reported 2021 and 2022 through them.
ROWS = {2021: ["A1", "A3", "A5"], 2022: ["A1", "A2", "A3", "A8"], 2023: ["A1", "A6", "A7"], 2024: ["A1", "A2", "A7"]}


def _expected_by_hand(successor: dict[str, str], retired: dict[str, int], years, only=None) -> dict[int, tuple]:
    """The rule unit by unit, as documented: ``(reported, expected, missing codes)`` per year."""
    final = {u: successor.get(u, u) for u in (f"A{i}" for i in range(1, 9))}
    reported = {y: {final[u] for u in us} for y, us in ROWS.items()}
    first = {u: min(y for y, us in reported.items() if u in us) for u in set().union(*reported.values())}
    universe = {u for u in final if u not in successor}
    if only is not None:
        universe &= {final[u] for u in only}
    out = {}
    for y in years:
        expected = {u for u in universe if first.get(u, y) <= y and retired.get(u, y + 1) > y}
        got = reported.get(y, set()) & expected
        out[y] = (len(got), len(expected), sorted(expected - got))
    return out


def test_merged_retired_and_first_years_exactly(engine, tmp_path, monkeypatch):
    """Who is expected each year, unit by unit: merged units count as their (final) successor from their own
    first year, retired units from their retirement year on (even if they report), the years asked for,
    a cut by a merged unit's code, and as of a checkpoint signed before the merges and retirements."""
    from ledger.log import tlog
    from ledger.read import asof
    from ledger.store import unit_events
    from ledger.store.batches import pinned
    from ledger.store.db import writing

    monkeypatch.setattr(tlog, "utcnow", lambda: dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC))  # checkpoints then
    (tmp_path / "register.csv").write_text(REGISTER, encoding="utf-8")
    assert import_file(engine, "units", tmp_path / "register.csv", Options(submitted_by="测试")).status == "loaded"
    expenses(tmp_path / "rows.csv", [(u, y, "100.00") for y, us in ROWS.items() for u in us])
    load(engine, tmp_path / "rows.csv")
    monkeypatch.undo()
    successor = {"A5": "A6", "A8": "A6"}
    retired = {"A1": 2024, "A3": 2023, "A7": 2022, "A5": 2022}  # a merged unit's retirement changes nothing
    with writing(engine) as conn:
        unit_events.merge(conn, "A5", "A6", actor="测试")
        unit_events.merge(conn, "A8", "A5", actor="测试")
        for code, year in retired.items():
            unit_events.retire(conn, code, year, actor="测试")

    def answer(conn, **kw):
        return {y: (c["reported"], c["expected"], c["missing_units"]) for y, c in totals.coverage(conn, **kw).items()}

    with reading(engine) as conn:
        assert answer(conn) == {2021: (3, 4, ["A4"]), 2022: (4, 5, ["A4"]), 2023: (2, 4, ["A2", "A4"]),
                                2024: (1, 3, ["A4", "A6"])}
        assert answer(conn, years=[2020, 2025]) == {2020: (0, 1, ["A4"]), 2025: (0, 3, ["A2", "A4", "A6"])}
        assert answer(conn, unit_codes=["A5", "A2"]) == {2021: (1, 1, []), 2022: (2, 2, []), 2023: (1, 2, ["A2"]),
                                                         2024: (1, 2, ["A6"])}
        assert answer(conn, unit_codes=["A8"], years=[2020, 2022]) == {2020: (0, 0, []), 2022: (1, 1, [])}
        for kw in ({}, {"years": list(range(2019, 2027))}, {"unit_codes": ["A1", "A3", "A7"]}):
            assert answer(conn, **kw) == {y: (r, e, m) for y, (r, e, m) in _expected_by_hand(
                successor, retired, kw.get("years", ROWS), kw.get("unit_codes")).items()}
        assert {y: c["basis"] for y, c in totals.coverage(conn).items()} == dict.fromkeys(ROWS, "register")
        _, pin = asof.resolve(conn, "2")
        with pinned(pin):  # the merges and retirements came after checkpoint 2: every unit on its own
            assert answer(conn) == {2021: (3, 4, ["A4"]), 2022: (4, 6, ["A4", "A5"]),
                                    2023: (3, 8, ["A2", "A3", "A4", "A5", "A8"]),
                                    2024: (3, 8, ["A3", "A4", "A5", "A6", "A8"])}
            assert answer(conn) == _expected_by_hand({}, {}, ROWS)
