"""Published procurement summary tables (政府采购情况表): lines as published, totals not added twice,
both savings-rate conventions named. Figures checked by hand from the file (万元 → fen × 1,000,000)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from importers.pipeline import Options
from importers.run import import_file
from ledger.store.db import reading
from ledger.store.models import ProcurementSummary
from tests.conftest import FIXTURES

CITY = FIXTURES / "procurement" / "summary_city_2023.csv"


def test_a_city_table_is_stored_as_published(engine):
    result = import_file(engine, "procurement-summary", CITY, Options(submitted_by="test"))
    assert result.status == "loaded", result.report["problems"]
    assert (result.report["rows"]["read"], result.report["rows"]["loaded"], result.report["rows"]["total_rows"]) == (6, 5, 1)
    cny = result.report["summary_by_currency"]["CNY"]
    # the 合计 line says 11193 项, 45250.50 / 42601.25 / 2649.25 万元: the stored lines add up to it
    assert (cny["projects"], cny["budget_fen"], cny["contract_fen"]) == (11_193, 45_250_500_000, 42_601_250_000)
    # the 工程 line publishes no savings: budget − contract (1500 万元) stands in for it
    assert cny["savings_fen"] == 2_649_250_000
    by_budget = (Decimal("2649.25") / Decimal("45250.50") * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    by_contract = (Decimal("2649.25") / Decimal("42601.25") * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert (cny["savings_rate_of_budget_pct"], cny["savings_rate_of_contract_pct"]) == (str(by_budget), str(by_contract))
    assert (str(by_budget), str(by_contract)) == ("5.85", "6.22")
    with reading(engine) as conn:
        rows = conn.execute(select(ProcurementSummary.method, ProcurementSummary.method_raw, ProcurementSummary.item_kind,
                                   ProcurementSummary.projects).order_by(ProcurementSummary.id)).all()
    assert [tuple(r) for r in rows] == [
        ("open_tender", "公开招标", "goods", 473), ("open_tender", "公开招标", "works", 12),
        ("competitive_consultation", "竞争性磋商", "services", 88), ("other", "预选竞价", "goods", 1500),
        ("other", "网上商城直接采购", "goods", 9120)]
    from ledger.log.verify import verify

    with reading(engine) as conn:
        assert verify(conn).problems == []  # the lines are in the transparency log
    again = import_file(engine, "procurement-summary", CITY, Options(submitted_by="test"))
    assert again.status == "unchanged"
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ProcurementSummary)).scalar() == 5


def test_a_table_without_unit_or_year_is_refused(engine, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("采购方式,项目数,合同金额\n公开招标,3,100\n", encoding="utf-8")
    result = import_file(engine, "procurement-summary", path, Options(submitted_by="test"))
    assert result.status == "refused"
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ProcurementSummary)).scalar() == 0
