"""Faithful figures from real published 三公 tables: the tree, every stage, source precedence, year on year.

The Ministry of Finance's 中央本级"三公"经费 决算数 (亿元): 2010 合计 94.70 = 因公出国(境) 17.73 +
公务用车购置及运行维护费 61.69 (no purchase/operation split) + 公务接待 15.28; 2011 93.64 = 19.77 +
59.15 + 14.72. Fixtures are typed the way clerks fill in templates/disclosure.csv (亿元 and 万元).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from cli.main import root
from importers.pipeline import Options
from importers.run import import_file
from ledger.read.published.reports import three_public
from tests.conftest import FIXTURES
from tests.ledgertext import load_policy, results, run, target_toml

F = FIXTURES / "figures"
YI = 10**10  # fen in one 亿元
WAN = 10**6  # fen in one 万元
ITEMS = ["total", "overseas_travel", "vehicles", "vehicle_purchase", "vehicle_operation", "reception"]


def imp(engine, kind, name):
    result = import_file(engine, kind, F / name, Options(submitted_by="财政局"))
    assert result.status == "loaded", result.report["problems"]
    return result.report


def cli(db_url, *args):
    out = CliRunner().invoke(root, ["--database", db_url, *args])
    assert out.exit_code == 0, out.output
    return out.output


def items(report_row: dict, key: str = "actual_fen") -> dict:
    return {i["item"]: i[key] for i in report_row["items"]}


def basis(report_row: dict, stage: str = "final") -> dict:
    return {i["item"]: i["basis"][stage] for i in report_row["items"]}


MOF_2010 = {"total": 9470 * YI // 100, "overseas_travel": 1773 * YI // 100, "vehicles": 6169 * YI // 100,
            "vehicle_purchase": None, "vehicle_operation": None, "reception": 1528 * YI // 100}
MOF_2011 = {"total": 9364 * YI // 100, "overseas_travel": 1977 * YI // 100, "vehicles": 5915 * YI // 100,
            "vehicle_purchase": None, "vehicle_operation": None, "reception": 1472 * YI // 100}
MOF_BASIS = {"total": "published", "overseas_travel": "published", "vehicles": "published",
             "vehicle_purchase": None, "vehicle_operation": None, "reception": "published"}


def test_mof_central_table_comes_back_exactly_from_the_cli(engine, db_url):
    report = imp(engine, "disclosure", "mof-central-yi.csv")
    # 合计 with a vehicles subtotal published without its split: not a finding
    assert report["problems"]["by_code"] == {}
    # the file's control total is the published 合计 of each row, never 合计 + parts
    assert report["totals"]["expense"] == {"CNY": (9470 + 9364) * YI // 100}
    data = json.loads(cli(db_url, "report", "three-public", "--year", "2010", "--json"))
    [row] = data["rows"]
    assert row["unit_code"] == "100000" and items(row) == MOF_2010 and basis(row) == MOF_BASIS
    assert row["findings"] == []
    assert items(row, "budget_fen") == dict.fromkeys(ITEMS)  # no 预算数 published: missing, not zero
    data = json.loads(cli(db_url, "report", "three-public", "--year", "2011", "--json"))
    [row] = data["rows"]
    assert items(row) == MOF_2011 and items(row, "prior_actual_fen") == MOF_2010
    assert items(row, "change_pct") == {"total": "-1.12", "overseas_travel": "11.51", "vehicles": "-4.12",
                                        "vehicle_purchase": None, "vehicle_operation": None, "reception": "-3.66"}
    text = cli(db_url, "report", "three-public", "--year", "2011", "--text")
    assert text.strip() == (
        "中央本级2011年“三公”经费支出93.64亿元，比上年减少1.06亿元，下降1.1%。其中：因公出国(境)费支出19.77亿元，"
        "比上年增加2.04亿元，增长11.5%；公务用车购置及运行维护费支出59.15亿元，比上年减少2.54亿元，下降4.1%"
        "（未分列购置费和运行维护费）；公务接待费支出14.72亿元，比上年减少0.56亿元，下降3.7%。")


def test_mof_central_table_from_the_api_and_the_pages(engine, db_url):
    imp(engine, "disclosure", "mof-central-yi.csv")
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as client:
        r = client.get("/api/v1/reports/three-public", params={"year": 2010})
        assert r.status_code == 200
        [row] = r.json()["rows"]
        assert items(row) == MOF_2010 and basis(row) == MOF_BASIS
        # the aggregate: each published node is its own category cell; totals read the published 合计
        for params in ({"drilldown": "category", "year": 2010}, {"drilldown": "unit,category", "year": 2010}):
            agg = client.get("/api/v1/aggregate", params=params).json()
            cells = {c["category"]: c["actual_fen"] for c in agg["cells"]}
            assert cells == {k.replace("total", "three_public"): v for k, v in MOF_2010.items() if v is not None}
            assert agg["summary"]["actual_fen"] == MOF_2010["total"]
        agg = client.get("/api/v1/aggregate", params={"category": "three_public", "drilldown": "year"}).json()
        assert [(c["year"], c["actual_fen"]) for c in agg["cells"]] == [(2010, MOF_2010["total"]),
                                                                         (2011, MOF_2011["total"])]
        assert agg["summary"]["actual_fen"] == MOF_2010["total"] + MOF_2011["total"]
        agg = client.get("/api/v1/aggregate", params={"drilldown": "group", "year": 2011, "unit": "100000"}).json()
        assert {c["group"]: c["actual_fen"] for c in agg["cells"]} == {
            "three_public": MOF_2011["total"], "official": MOF_2011["total"], "vehicles": MOF_2011["vehicles"],
            "four_fees": MOF_2011["reception"]}
        assert agg["summary"]["actual_fen"] == MOF_2011["total"]
        agg = client.get("/api/v1/aggregate", params={"drilldown": "year"}).json()
        assert [(c["year"], c["actual_fen"]) for c in agg["cells"]] == [(2010, MOF_2010["total"]),
                                                                         (2011, MOF_2011["total"])]
        tree = {c["code"]: c["parent"] for c in client.get("/api/v1/categories").json()}
        assert {k: tree[k] for k in ("overseas_travel", "vehicles", "vehicle_purchase", "reception", "three_public")} == {
            "overseas_travel": "three_public", "vehicles": "three_public", "vehicle_purchase": "vehicles",
            "reception": "three_public", "three_public": None}
        csv_text = client.get("/api/v1/reports/three-public", params={"year": 2010, "format": "csv"}).text
        assert "2010,100000,中央本级,total,合计,,947000000000,,,,,,,,,,published" in csv_text.replace("\r", "")
        pages = {path: client.get(path).text for path in ("/", "/units/100000")}
    for html in pages.values():
        figs = {m[1]: int(m[2]) for m in re.finditer(r'data-figure="([^"]+)" data-fen="(-?\d+)"', html)}
        assert figs["three_public_actual"] == MOF_2011["total"]
        assert figs["three_public_prior"] == MOF_2010["total"]
    unit = pages["/units/100000"]
    for wan in ("947,000.00", "177,300.00", "616,900.00", "152,800.00", "936,400.00", "591,500.00"):
        assert wan in unit
    assert "推算" not in unit.split("<table class=\"lines\">")[1].split("</table>")[0]  # every figure published


COUNTY = {  # 县财政局 2023, every stage, 万元 from a title row
    "budget": {"total": 120, "overseas_travel": 20, "vehicles": 70, "vehicle_purchase": 30, "vehicle_operation": 40,
               "reception": 30},
    "adjusted": {"total": 110, "overseas_travel": None, "vehicles": None, "vehicle_purchase": None,
                 "vehicle_operation": None, "reception": None},
    "execution": {"total": Decimal("55.30"), "overseas_travel": Decimal("5.20"), "vehicles": Decimal("40.10"),
                  "vehicle_purchase": None, "vehicle_operation": None, "reception": 10},
    "final": {"total": Decimal("105.43"), "overseas_travel": Decimal("18.20"), "vehicles": Decimal("62.03"),
              "vehicle_purchase": 25, "vehicle_operation": Decimal("37.03"), "reception": Decimal("25.20")},
}
STAGE_KEY = {"budget": "budget_fen", "adjusted": "adjusted_fen", "execution": "execution_fen", "final": "actual_fen"}


def test_every_stage_at_every_node_comes_back_published(engine, db_url):
    report = imp(engine, "disclosure", "county-all-stages-wan.csv")
    assert report["problems"]["by_code"] == {}
    data = json.loads(cli(db_url, "report", "three-public", "--year", "2023", "--json"))
    [row] = data["rows"]
    for stage, figures in COUNTY.items():
        want = {k: None if v is None else int(Decimal(v) * WAN) for k, v in figures.items()}
        assert items(row, STAGE_KEY[stage]) == want, stage
        assert basis(row, stage) == {k: None if v is None else "published" for k, v in figures.items()}, stage
    assert row["counts"] == {"overseas_groups": 3, "overseas_persons": 9, "vehicles_purchased": 1,
                             "vehicles_held": 12, "reception_batches": 40, "reception_persons": 310}
    assert items(row, "completion_pct")["total"] == "87.86"  # 105.43 / 120.00
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as client:
        api = client.get("/api/v1/reports/three-public", params={"year": 2023}).json()
        page = client.get("/units/301001").text
    assert api["rows"] == data["rows"]
    lines = page.split('<table class="lines">')[1].split("</table>")[0]
    shown = {m[1]: re.findall(r'<td class="num">([\d,.]+)', m[2])
             for m in re.finditer(r"<tr[^>]*><td>2023</td><td>([^<]+)</td>(.*?)</tr>", lines)}
    # 年初预算数, 预算数 (adjusted where published), 执行数, 决算数: as published, nothing derived
    assert shown == {
        "三公经费合计": ["120.00", "110.00", "55.30", "105.43"],
        "因公出国(境)费": ["20.00", "20.00", "5.20", "18.20"],
        "公务用车购置及运行维护费": ["70.00", "70.00", "40.10", "62.03"],
        "公务用车购置费": ["30.00", "30.00", "25.00"],
        "公务用车运行维护费": ["40.00", "40.00", "37.03"],
        "公务接待费": ["30.00", "30.00", "10.00", "25.20"],
    }
    assert "推算" not in lines


def test_a_total_that_differs_from_its_parts_is_exactly_one_finding(engine, db_url):
    report = imp(engine, "disclosure", "total-mismatch-wan.csv")
    assert report["problems"]["by_code"] == {"finding:disclosure-sum": 1}
    [finding] = report["problems"]["listed"]
    assert finding["row"] == 2 and finding["column"] == "决算数_合计(万元)"
    assert finding["detail"] == ("决算数 合计 100.00 ≠ 因公出国(境)费 + 公务用车购置及运行维护费 + 公务接待费 100.01 "
                                 "(Δ -0.01 万元)")
    data = json.loads(cli(db_url, "report", "three-public", "--year", "2023", "--json"))
    by_unit = {r["unit_code"]: r for r in data["rows"]}
    # loaded as published: the table's 合计 is the figure, not the sum of its parts
    assert items(by_unit["302001"])["total"] == 100 * WAN and basis(by_unit["302001"])["total"] == "published"
    # no 合计 published: derived from its three parts (the vehicles subtotal is published, its split partial)
    assert items(by_unit["302002"]) == {"total": 100 * WAN, "overseas_travel": 10 * WAN, "vehicles": 60 * WAN,
                                        "vehicle_purchase": 25 * WAN, "vehicle_operation": None,
                                        "reception": 30 * WAN}
    assert basis(by_unit["302002"])["total"] == "derived"
    assert by_unit["302002"]["items"][0]["source"]["final"] == "children"


MISMATCH = "303001 2023 公务接待费 决算数: 0.78 万元 ≠ 72.50 万元 (Δ -71.72 万元)"


@pytest.mark.parametrize("table_first", [True, False])
def test_table_and_line_items_are_reconciled_never_summed(engine, db_url, table_first):
    files = [("disclosure", "clerk-reception-wan.csv"), ("expenses", "clerk-line-items.csv")]
    reports = [imp(engine, kind, name) for kind, name in (files if table_first else files[::-1])]
    # the second import records the difference, naming both figures; the first had nothing to compare
    assert reports[0]["problems"]["by_code"] == {}
    assert reports[1]["problems"]["by_code"] == {"finding:source-mismatch": 1}
    assert [p["detail"] for p in reports[1]["problems"]["listed"]] == [MISMATCH]
    assert reports[1]["problems"]["listed"][0]["value"] == str((78 - 7250) * WAN // 100)
    data = json.loads(cli(db_url, "report", "three-public", "--year", "2023", "--json"))
    [row] = data["rows"]
    assert items(row)["total"] == items(row)["reception"] == 7250 * WAN // 100  # 72.50 万, not 73.28 万
    assert basis(row)["reception"] == "published" and row["items"][-1]["source"]["final"] == "disclosure"
    assert row["findings"] == [{
        "code": "source-mismatch", "unit_code": "303001", "fiscal_year": 2023, "category_code": "reception",
        "stage": "final", "published_fen": 7250 * WAN // 100, "published_source": "disclosure",
        "other_fen": 78 * WAN // 100, "other_source": "line_items", "difference_fen": (78 - 7250) * WAN // 100,
    }]
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as client:
        agg = client.get("/api/v1/aggregate", params={"drilldown": "category", "year": 2023}).json()
    assert {c["category"]: c["actual_fen"] for c in agg["cells"]} == {"three_public": 7250 * WAN // 100,
                                                                     "reception": 7250 * WAN // 100}
    assert agg["summary"]["actual_fen"] == 7250 * WAN // 100 and agg["summary"]["budget_original_fen"] == 7250 * WAN // 100
    # the line items are detail: no budget overrun of 72.50 + 0.78 万 against the 72.50 万 budget
    run(engine)
    from ledger.rules.flags import list_flags

    with engine.connect() as conn:
        assert list_flags(conn, rule_code="budget_overrun") == []
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as client:
        page = client.get("/units/303001").text
    figs = {m[1]: int(m[2]) for m in re.finditer(r'data-figure="([^"]+)" data-fen="(-?\d+)"', page)}
    assert figs["three_public_actual"] == 7250 * WAN // 100


def test_year_on_year_checks_read_published_totals(engine, db_url, tmp_path):
    imp(engine, "disclosure", "yoy-wan.csv")
    load_policy(engine, tmp_path, "\n".join([
        target_toml("zero-growth", measure="actual", group="three_public", baseline="prior_year", change_pct=0,
                    units=["A", "B"]),
        target_toml("cut-20", measure="actual", group="three_public", baseline="prior_year", change_pct=-20,
                    units=["C"]),
    ]))
    run(engine)
    assert results(engine, year=2023) == [
        # C: a real −11.62% fails a 20% cut (88.38 万 > cap 80.00 万), never passes as "−20.80%"
        ("cut-20", "C", 2023, "missed", 100 * WAN, 80 * WAN, 8838 * WAN // 100, 838 * WAN // 100, "10.48"),
        # A: a real −10.26% is met, never a "+100.3%" miss
        ("zero-growth", "A", 2023, "met", 100 * WAN, 100 * WAN, 8974 * WAN // 100, 0, "0.00"),
        # B: a real 0% is met, never a "+160%" miss
        ("zero-growth", "B", 2023, "met", 50 * WAN, 50 * WAN, 50 * WAN, 0, "0.00"),
    ]
    from ledger.rules.checks import target_results
    from ledger.rules.flags import list_flags

    with engine.connect() as conn:
        growth = {r["unit_code"]: r["growth_pct"] for r in target_results(conn, year=2023)}
        flags = list_flags(conn, rule_code="target_missed")
    assert growth == {"A": Decimal("-10.26"), "B": Decimal("0.00"), "C": Decimal("-11.62")}
    assert [(f["unit_code"], f["figures"]["value"]) for f in flags] == [("C", 8838 * WAN // 100)]


@pytest.mark.parametrize("unit,total,change", [("A", 8974, "-10.26"), ("B", 5000, "0.00"), ("C", 8838, "-11.62")])
def test_year_on_year_in_the_report(engine, unit, total, change):
    imp(engine, "disclosure", "yoy-wan.csv")
    with engine.connect() as conn:
        [row] = three_public(conn, 2023, unit=unit)["rows"]
    assert items(row)["total"] == total * WAN // 100 and items(row, "change_pct")["total"] == Decimal(change)


def test_composition_chart_draws_a_subtotal_published_without_its_split(engine):
    from charts.build import Request, render_chart
    from ledger.store.db import reading
    from tests.charts.test_charts import svg_texts

    imp(engine, "disclosure", "mof-central-yi.csv")
    with reading(engine) as conn:
        texts = svg_texts(render_chart(conn, Request("composition", unit="100000"), "svg"))
    assert {"因公出国(境)费", "公务用车购置及运行维护费", "公务接待费"} <= set(texts)
    assert "公务用车购置费" not in texts and "三公经费合计" not in texts


def test_budgets_file_states_execution_and_a_subtotal(engine):
    # a budgets file may state 执行数 and a figure at a node (公务用车购置及运行维护费): both are published
    imp(engine, "budgets", "budgets-execution-wan.csv")
    with engine.connect() as conn:
        [row] = three_public(conn, 2023)["rows"]
    assert items(row, "budget_fen") == {"total": 42 * WAN, "overseas_travel": None, "vehicles": 30 * WAN,
                                        "vehicle_purchase": None, "vehicle_operation": None, "reception": 12 * WAN}
    assert basis(row, "budget") == {"total": "derived", "overseas_travel": None, "vehicles": "published",
                                    "vehicle_purchase": None, "vehicle_operation": None, "reception": "published"}
    assert items(row, "execution_fen")["reception"] == 525 * WAN // 100
    assert row["items"][-1]["source"]["execution"] == "budgets"


def test_budget_in_force_is_chosen_per_part_before_a_total_is_summed(engine):
    """One part with an adjusted budget (调整预算) must not stand in for the whole 合计's budget; the headline
    预算数 is the original budget, as the 三公 table beside it reads it."""
    from ledger.read.figures import amounts, key_figures
    from ledger.store.db import reading
    from tests.ledgertext import load_ledger

    load_ledger(engine, """
        unit year category          budget adjusted actual
        U1   2023 overseas_travel   100    -        90
        U1   2023 vehicle_operation 200    250      240
        U1   2023 reception         50     -        40
    """)
    with reading(engine) as conn:
        node = amounts(conn, category_codes=["three_public"]).row(0, named=True)
        keys = key_figures(conn)
        report = three_public(conn, 2023)
    assert (node["budget_fen"], node["original_fen"], node["actual_fen"]) == (40_000, 35_000, 37_000)
    total = next(i for i in report["rows"][0]["items"] if i["item"] == "total")
    assert keys["three_public_budget_fen"] == total["budget_fen"] == 35_000
    assert keys["three_public_actual_fen"] == total["actual_fen"] == 37_000


def test_a_ledger_of_budgets_alone_shows_no_actual_as_missing_not_zero(engine):
    # 预算 filed, 决算 not yet: the trend chart and the region table say "—", never a 0.00 actual
    from charts.build import Request, render_chart
    from ledger.store.db import reading
    from tests.chart_support import svg_texts

    imp(engine, "budgets", "budgets-execution-wan.csv")
    with reading(engine) as conn:
        texts = svg_texts(render_chart(conn, Request("trend"), "svg"))
    assert "0.00" not in texts and "—" in texts


def test_resolved_aggregate_follows_a_correction_and_stays_as_of_the_checkpoint(engine, tmp_path):
    """The resolved figures are kept per process: a correction, a new table and a pinned read each see their own."""
    import datetime as dt

    from ledger.read import aggregate
    from ledger.read.types import Filters
    from ledger.store.batches import Pin, pinned
    from ledger.store.db import reading

    def total(drilldown=("year",), cuts=None):
        with reading(engine) as conn:
            got = aggregate.aggregate(conn, list(drilldown), cuts or Filters())
        return [(c.get("year"), c["actual_fen"]) for c in got.cells], got.summary["actual_fen"]

    first = imp(engine, "disclosure", "mof-central-yi.csv")["batch_id"]
    assert total() == ([(2010, MOF_2010["total"]), (2011, MOF_2011["total"])], MOF_2010["total"] + MOF_2011["total"])
    fixed = tmp_path / "mof-fixed-yi.csv"
    text = (F / "mof-central-yi.csv").read_text(encoding="utf-8-sig").replace(",94.70,17.73,61.69,,,15.28,", ",95.70,18.73,61.69,,,15.28,")
    fixed.write_text(text, encoding="utf-8")
    result = import_file(engine, "disclosure", fixed, Options(submitted_by="财政局", supersedes=first))
    assert result.status == "loaded", result.report["problems"]
    # a unit's cut first (its rows resolved alone, nothing kept), then the whole ledger (resolved and kept)
    assert total(("unit", "year"), Filters(unit=["100000"]))[1] == 9570 * YI // 100 + MOF_2011["total"]
    assert total() == ([(2010, 9570 * YI // 100), (2011, MOF_2011["total"])], 9570 * YI // 100 + MOF_2011["total"])
    assert total(("category",), Filters(year=[2010], unit=["100000"]))[1] == 9570 * YI // 100
    then = Pin(size=1, batches=frozenset({first}), live=frozenset({first}), time=dt.datetime.now(dt.UTC))
    with pinned(then):
        assert total() == ([(2010, MOF_2010["total"]), (2011, MOF_2011["total"])], MOF_2010["total"] + MOF_2011["total"])
    assert total()[1] == 9570 * YI // 100 + MOF_2011["total"]
