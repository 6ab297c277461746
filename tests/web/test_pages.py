"""Public pages and chart endpoints over HTTP: figures equal the API's, restricted notes never show."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.routes import chart_routes
from tests.seed_public import ODD_NAME, PUBLISHED_NOTE, RESTRICTED_NOTE, seed

PAGES = ["/", "/units/EDU", "/units/HLTH", "/units/ODD", "/flags", "/procurement", "/data"]


@pytest.fixture
def client(engine, db_url):
    seed(engine)
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        yield c


def figures(html: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r'data-figure="([^"]+)" data-fen="(-?\d+)"', html)}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_both_languages(client, path):
    zh = client.get(path)
    en = client.get("/en" + (path if path != "/" else ""))
    assert zh.status_code == en.status_code == 200
    assert zh.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in zh.text and "阳光账本" in zh.text
    assert '<html lang="en">' in en.text and "Sunshine Ledger" in en.text
    assert '<html lang="en">' in client.get(path, params={"lang": "en"}).text
    for page in (zh.text, en.text):
        assert RESTRICTED_NOTE not in page and "<script" not in page


def test_home_key_figures_equal_the_api(client):
    html = client.get("/").text
    shown = figures(html)
    agg = client.get("/api/v1/aggregate", params={"drilldown": "year", "group": "three_public"}).json()
    by_year = {int(c["year"]): c for c in agg["cells"]}
    assert shown["three_public_actual"] == by_year[2023]["actual_fen"] == 26834622
    assert shown["three_public_prior"] == by_year[2022]["actual_fen"] == 46500000
    assert shown["three_public_budget"] == by_year[2023]["budget_original_fen"]
    proc = client.get("/api/v1/reports/procurement", params={"year": "2023"}).json()
    assert shown["procurement_contract"] == proc["scale_fen"] == 249000000
    assert "26.83 万元" in html and "-19.67 万元（-42.29%）" in html
    assert "11.07%" in html  # savings rate 2023: 31 ÷ 280 万元
    assert 'data-figure="targets_missed">2<' in html and 'data-figure="targets_met">2<' in html


def test_unit_page_figures_targets_flags_and_downloads(client):
    html = client.get("/units/HLTH").text
    shown = figures(html)
    agg = client.get("/api/v1/aggregate", params={"drilldown": "year", "group": "three_public", "unit": "HLTH"}).json()
    assert shown["three_public_actual"] == {int(c["year"]): c for c in agg["cells"]}[2023]["actual_fen"] == 6600000
    assert "公务接待经费实际支出压减20%以上" in html and "未达标" in html
    assert "4.40" in html and "6.60" in html  # cap and value of the missed reception target, 万元
    assert "卫生健康局2023年公务接待费决算6.60万元" in html
    assert PUBLISHED_NOTE in html and RESTRICTED_NOTE not in html
    assert "/api/v1/downloads/expenses.csv?unit=HLTH" in html
    assert "/api/v1/charts/trend.png?unit=HLTH" in html
    # the reception target's trend chart, where its cap line is drawn
    assert "/api/v1/charts/trend.png?unit=HLTH&amp;category=reception" in html
    assert "公务接待费：公务接待经费实际支出压减20%以上" in html
    assert "<th>口径</th>" in html and "<td>决算数</td>" in html  # the measure each target compares


def test_unit_name_with_dollar_is_literal_and_escaped(client):
    html = client.get("/units/ODD").text
    assert f"<h1>{ODD_NAME} " in html
    assert client.get("/units/NOPE").status_code == 404


def test_flags_page_shows_public_state_only(client):
    html = client.get("/flags").text
    assert "责令整改" in html and PUBLISHED_NOTE in html and RESTRICTED_NOTE not in html
    en = client.get("/en/flags").text
    assert "rectification ordered" in en and "HLTH 2023 reception actual 66,000.00 above budget 60,000.00" in en


def test_procurement_page(client):
    html = client.get("/procurement").text
    assert "249.00" in html and "110.00" in html and "单一来源" in html and "72.42%" in html
    assert "节约率 = （预算金额 − 合同金额）÷ 预算金额" in html


def test_language_switch_links(client):
    assert 'href="/en/units/EDU"' in client.get("/units/EDU").text
    assert 'class="lang" href="/units/EDU"' in client.get("/en/units/EDU").text
    assert 'class="lang" href="/"' in client.get("/en").text


def test_chart_endpoint_formats_cache_and_etag(client):
    svg = client.get("/api/v1/charts/trend.svg", params={"unit": "EDU", "category": "reception"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "教育局：公务接待费预算与实际支出" in svg.text
    png = client.get("/api/v1/charts/methods.png", params={"year": "2023", "lang": "en"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    hits = chart_routes.CACHE.hits
    again = client.get("/api/v1/charts/trend.svg", params={"unit": "EDU", "category": "reception"})
    assert again.content == svg.content and chart_routes.CACHE.hits == hits + 1
    etag = svg.headers["etag"]
    assert client.get("/api/v1/charts/trend.svg", params={"unit": "EDU", "category": "reception"},
                      headers={"If-None-Match": etag}).status_code == 304
    assert "max-age" in svg.headers["cache-control"]


def test_chart_endpoint_errors_are_problem_details(client):
    for path, status, word in [
        ("/api/v1/charts/pie.svg", 404, "pie"),
        ("/api/v1/charts/trend.gif", 404, "trend.gif"),
        ("/api/v1/charts/trend.svg?unit=NOPE", 404, "NOPE"),
        ("/api/v1/charts/trend.svg?year=abc", 400, "year"),
        ("/api/v1/charts/trend.svg?lang=fr", 400, "lang"),
    ]:
        r = client.get(path)
        assert r.status_code == status, path
        assert r.headers["content-type"].startswith("application/problem+json")
        assert word in r.text
