"""Charts: the SVG carries the titles, labels and figures a reader sees; Chinese uses a real CJK font."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from charts import figures
from charts.build import CHARTS, ChartError, Request, render_chart
from charts.style import FONT_FAMILY, FONT_PATH, fmt_pct, fmt_wan, render
from ledger.store.db import reading
from tests.seed_public import ODD_NAME, seed


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return ["".join(el.itertext()).strip() for el in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.fixture
def region(engine):
    seed(engine)
    return engine


def chart(engine, name, fmt="svg", **kw) -> bytes:
    with reading(engine) as conn, warnings.catch_warnings():
        # A missing glyph (tofu) is a warning from matplotlib: make it fail the test.
        warnings.simplefilter("error")
        return render_chart(conn, Request(name, **kw), fmt)


def test_font_is_noto_sans_cjk_from_the_installed_package():
    assert FONT_FAMILY == "Noto Sans CJK SC"
    assert FONT_PATH.endswith("mplfonts/fonts/NotoSansCJKsc-Regular.otf")


def test_trend_region_three_public(region):
    texts = svg_texts(chart(region, "trend"))
    assert "全区：三公经费预算与实际支出" in texts
    assert "万元" in texts and "年度" in texts and "2022" in texts and "2023" in texts
    # 2022 actual: 100,000 + 40,000 + 70,000 + 55,000 + 200,000 元 = 46.50 万元; 2023: 268,346.22 元.
    assert "46.50" in texts and "26.83" in texts
    assert {"预算数", "决算数（实际支出）", "压减目标上限"} <= set(texts)
    assert any(t.startswith("数据来源：阳光账本公开数据 · 数据截至 ") for t in texts)


def test_trend_unit_category_with_cap(region):
    texts = svg_texts(chart(region, "trend", unit="EDU", category="reception"))
    assert "教育局：公务接待费预算与实际支出" in texts
    assert "10.00" in texts and "8.50" in texts  # actual 100,000.00 and 85,000.55 元
    assert "8.00" in texts  # the cap: 80% of 2022's 100,000 元


def test_trend_english(region):
    texts = svg_texts(chart(region, "trend", lang="en", unit="HLTH", category="reception"))
    assert "卫生健康局: Official reception, budget and actual" in texts
    assert "Fiscal year" in texts and "10k CNY (万元)" in texts
    assert any(t.startswith("Source: Sunshine Ledger open data · data as of ") for t in texts)


def test_composition(region):
    texts = svg_texts(chart(region, "composition"))
    assert "全区：三公经费构成" in texts
    assert {"因公出国(境)费", "公务用车购置费", "公务用车运行维护费", "公务接待费"} <= set(texts)
    assert "46.50" in texts and "26.83" in texts


def test_ranking_literal_dollar_name_and_undefined_growth(region):
    texts = svg_texts(chart(region, "ranking", year=2023))
    assert "2023年各单位三公经费较上年变化" in texts
    assert ODD_NAME in texts  # drawn as typed: not mathtext, no exception
    assert "+1.23（上年为零，增长率无定义）" in texts
    assert "-18.90（-74.12%）" in texts  # HLTH: 66,000 against 255,000 元
    assert "-2.00（-9.52%）" in texts  # EDU: 190,000.55 against 210,000 元


def test_compliance_heatmap(region):
    texts = svg_texts(chart(region, "compliance"))
    assert "压减目标达标情况（单位 × 年度）" in texts
    assert {"教育局", "卫生健康局", ODD_NAME, "全部达标", "有未达标", "数据不足"} <= set(texts)
    assert texts.count("× 1/2") == 2 and "?" in texts


def test_procurement_scale_and_savings(region):
    texts = svg_texts(chart(region, "procurement"))
    assert "全区：政府采购规模与节约率" in texts
    assert "110.00" in texts and "249.00" in texts  # contract amounts 2022, 2023 in 万元
    assert "8.33%" in texts and "11.07%" in texts  # savings ÷ budget: 10/120 and 31/280
    assert "节约率（%）" in texts


def test_method_mix_for_a_year(region):
    texts = svg_texts(chart(region, "methods", year=2023))
    assert "全区：采购方式构成（2023）" in texts
    assert {"公开招标", "单一来源", "询价"} <= set(texts)
    assert "170.00 · 68.27% · 1 项" in texts


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_renders_png_for_the_odd_unit(region, name):
    png = chart(region, name, fmt="png", unit=None if name == "ranking" else "ODD", lang="zh")
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_unknown_unit_and_chart_are_errors(region):
    with pytest.raises(ChartError, match="no unit"):
        chart(region, "trend", unit="NOPE")
    with pytest.raises(ChartError, match="unknown chart"):
        chart(region, "pie")


def test_empty_ledger_says_no_data(engine):
    assert "暂无数据" in svg_texts(chart(engine, "trend"))


def test_pure_function_mathtext_title_does_not_raise():
    frame = pl.DataFrame({"fiscal_year": [2023], "budget_fen": [100], "actual_fen": [50], "cap_fen": [None]},
                         schema_overrides={"cap_fen": pl.Int64})
    fig = figures.trend(frame, title="$\\foo{$", cap="c", lang="zh")
    assert "$\\foo{$" in svg_texts(render(fig, "svg"))


def test_number_formats():
    assert fmt_wan(123456789) == "123.46" and fmt_wan(None) == "—"
    assert fmt_pct(5, 0, none="undefined") == "undefined" and fmt_pct(-1, 3) == "-33.33%"
