"""Charts: the SVG carries the titles, labels and figures a reader sees; Chinese uses a real CJK font."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from charts import figures
from charts.build import CHARTS, ChartError, Request, render_chart
from charts.style import FONT_FAMILY, FONT_PATH, fmt_pct, fmt_wan, render
from ledger.store.db import reading
from tests.chart_support import needs_a_font, overlapping_texts, svg_texts
from tests.seed_public import ODD_NAME, seed


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
    assert {"预算数", "决算数（实际支出）", "压减目标上限（决算数）"} <= set(texts)
    assert any(t.startswith("数据来源：全区各单位公开数据，导入批次 #1 seed.csv · 数据截至 ") for t in texts), texts


def test_trend_unit_category_with_cap(region):
    texts = svg_texts(chart(region, "trend", unit="EDU", category="reception"))
    assert "教育局：公务接待费预算与实际支出" in texts
    assert any(t.startswith("数据来源：教育局公开数据，导入批次 #1 seed.csv · 数据截至 ") for t in texts), texts
    assert "10.00" in texts and "8.50" in texts  # actual 100,000.00 and 85,000.55 元
    assert "8.00" in texts  # the cap: 80% of 2022's 100,000 元


def test_trend_english(region):
    texts = svg_texts(chart(region, "trend", lang="en", unit="HLTH", category="reception"))
    assert "卫生健康局: Official reception, budget and actual" in texts
    assert "Fiscal year" in texts and "10k CNY (万元)" in texts
    assert any(t.startswith("Source: published by 卫生健康局; import batch #1 seed.csv · data as of ") for t in texts)


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
    assert any(t.startswith("数据来源：全区各单位公开数据，导入批次 #2 proc.csv · 数据截至 ") for t in texts), texts


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


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_svg_draws_every_glyph_and_needs_no_font(region, name):
    svg = chart(region, name, unit=None if name == "ranking" else "ODD")
    assert needs_a_font(svg) == []
    assert svg.count(b"<use xlink:href=\"#") > 20  # the glyphs, drawn from paths defined once


def test_the_font_check_fails_on_svg_text():
    import matplotlib

    frame = pl.DataFrame({"fiscal_year": [2023], "budget_fen": [100], "actual_fen": [50], "cap_fen": [None]},
                         schema_overrides={"cap_fen": pl.Int64})
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = render(figures.trend(frame, title="教育局", cap="c"), "svg")
    assert needs_a_font(svg)


def _figure(engine, name, **kw):
    from charts.build import make

    with reading(engine) as conn:
        return make(conn, Request(name, **kw))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(CHARTS))
def test_no_label_overlaps_another_or_leaves_the_figure(region, name, lang):
    for unit in (None,) if name == "ranking" else (None, "EDU", "ODD"):
        assert overlapping_texts(_figure(region, name, lang=lang, unit=unit)) == [], (name, unit)


def test_the_overlap_check_sees_two_labels_on_one_spot():
    from charts.style import new_figure

    fig = new_figure()
    ax = fig.add_subplot()
    ax.annotate("110.00", (0.5, 0.5))
    ax.annotate("8.33%", (0.5, 0.5))
    assert ("110.00", "8.33%") in overlapping_texts(fig)


CROWDED_YEARS = list(range(2005, 2025))


def test_crowded_charts_keep_labels_apart():
    n = len(CROWDED_YEARS)
    # actual just above a cap close to it, budgets in the tens of thousands of 万元: labels would collide
    trend = pl.DataFrame({"fiscal_year": CROWDED_YEARS, "budget_fen": [2_000_000_000_000 + i for i in range(n)],
                          "actual_fen": [1_950_000_000_000 + 7_000_000 * i for i in range(n)],
                          "cap_fen": [1_949_000_000_000 + 7_000_000 * i for i in range(n)]})
    fig = figures.trend(trend, title="全区：三公经费预算与实际支出", cap="数据来源：测试")
    assert overlapping_texts(fig) == []
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("," in t for t in ticks), ticks  # 1,500,000 万元 with separators
    proc = pl.DataFrame({"fiscal_year": CROWDED_YEARS, "contract_fen": [1_190_000_000_00 + i for i in range(n)],
                         "savings_fen": [159_000_000_00] * n, "savings_base_fen": [1_349_000_000_00] * n})
    assert overlapping_texts(figures.procurement_years(proc, title="全区：政府采购规模与节约率", cap="c")) == []
    names = [f"阳光市第{i}人民医院后勤服务保障中心" for i in range(40)]
    ranking = pl.DataFrame({"label": names, "prior_fen": [10_000_000 * (i % 7) for i in range(40)],
                            "current_fen": [10_000_000 * (i % 5) + 123 for i in range(40)]})
    fig = figures.ranked_change(ranking, title="2023年各单位三公经费较上年变化", cap="c")
    assert overlapping_texts(fig) == []
    ax = fig.axes[0]
    assert ax.get_ylim() == (-0.5, 39.5)  # no blank band
    methods = pl.DataFrame({"label": ["公开招标", "单一来源", "竞争性磋商", "询价"], "records": [120, 3, 40, 9],
                            "contract_fen": [98_765_432_100_00, 1_234_500_00, 55_000_000_00, 1_00]})
    assert overlapping_texts(figures.method_mix(methods, title="全区：采购方式构成（2023）", cap="c")) == []


def test_caption_names_publisher_and_batches():
    import datetime as dt

    from charts.style import caption_text

    day = dt.date(2024, 1, 10)
    many = [(9, "2023年教育局部门决算三公经费公开表（含说明）.xlsx"), (7, "预算.csv")]
    assert caption_text("zh", day, publisher="教育局", batches=many, count=5) == (
        "数据来源：教育局公开数据，导入批次 #9 2023年教育局部门决算三公经费公开表（含说明…、#7 预算.csv 等 5 批 · 数据截至 2024-01-10")
    assert caption_text("en", day, publisher="教育局", batches=many[1:], count=1) == (
        "Source: published by 教育局; import batch #7 预算.csv · data as of 2024-01-10")
    assert caption_text("zh", None) == "数据来源：阳光账本公开数据 · 数据截至 无数据"
