"""The portal over HTTP: search page, the disclosure table with its year links and 说明, error pages, headers."""

from __future__ import annotations

import csv
import io
import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from tests.api.search.test_search import EXPENSES
from tests.seed_public import PUBLISHED_NOTE, RESTRICTED_NOTE, seed


@pytest.fixture
def client(engine, db_url, tmp_path):
    seed(engine)
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        c.engine, c.tmp = engine, tmp_path
        yield c


def cells(html: str, item: str) -> list[str]:
    row = re.search(rf'<tr data-item="{item}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def test_unit_page_shows_the_disclosure_table_of_its_latest_year(client):
    html = client.get("/units/EDU").text
    assert "部门决算“三公”经费表 · 2023" in html
    # 项目, 预算数, 决算数, 完成预算, 上年决算数, 增减金额, 增减幅度 (万元)
    assert cells(html, "total") == ["合计", "23.00", "19.00", "82.61%", "21.00", "-2.00", "-9.52%"]
    assert cells(html, "reception") == ["公务接待费", "10.00", "8.50", "85.00%", "10.00", "-1.50", "-15.00%"]
    assert 'data-fen="19000055"' in html and 'data-fen="-1999945"' in html
    text = client.get("/api/v1/reports/three-public", params={"year": 2023, "unit": "EDU"}).json()["text"]
    assert text.startswith("教育局2023年“三公”经费支出19.00万元，比上年减少2.00万元，下降9.5%。其中：")
    assert f'<p class="explanation" lang="zh-CN">{text}</p>' in html.replace("&#34;", '"')
    english = client.get("/api/v1/reports/three-public", params={"year": 2023, "unit": "EDU"}).json()["text_en"]
    assert english.startswith("教育局, 2023: the “three public expenses” were CNY 190,000.55, down CNY 19,999.45 "
                              "(9.5%) on the year before. Of these:")
    en_html = client.get("/en/units/EDU").text.replace("&#34;", '"')
    assert f'<p class="explanation" lang="en">{english}</p>' in en_html and "generated in Chinese" not in en_html


def test_year_links_keep_the_state_in_the_url(client):
    html = client.get("/units/EDU").text
    assert '<a href="/units/EDU?year=2022#disclosure">2022</a>' in html
    older = client.get("/units/EDU", params={"year": 2022}).text
    assert cells(older, "total") == ["合计", "25.00", "21.00", "84.00%", "—", "—", "—"]
    assert "教育局2022年“三公”经费支出21.00万元，上年无数据。" in older
    assert 'href="/en/units/EDU?year=2022"' in older  # the language switch keeps the year
    assert client.get("/units/EDU", params={"year": 1999}).status_code == 200
    assert "暂无数据" in client.get("/units/EDU", params={"year": 1999}).text


def test_home_page_shows_the_region_total_with_coverage(client):
    html = client.get("/").text
    assert cells(html, "total") == ["合计", "30.00", "26.83", "89.45%", "46.50", "-19.67", "-42.29%"]
    assert 'data-figure="units_reporting">3<' in html
    en = client.get("/en").text
    assert cells(en, "vehicles")[0] == "Official vehicles (purchase and operation)"


def test_search_page_finds_a_payee_by_a_chinese_fragment(client):
    path = client.tmp / "e.csv"
    path.write_text(EXPENSES, encoding="utf-8")
    assert import_file(client.engine, "expenses", path, Options(submitted_by="t")).status == "loaded"
    html = client.get("/search", params={"q": "大酒店"}).text
    assert '<tr data-kind="payee">' in html and "阳光大酒店有限公司" in html and 'data-fen="200050"' in html
    assert "/units/EDU/lines?year=2023&amp;payee=" in html
    short = client.get("/en/search", params={"q": "场地"}).text
    assert "scan instead of the trigram index" in short and 'data-fen="300000"' in short
    person = client.get("/en/search", params={"q": "王芳"}).text  # a person's name: hidden (docs/privacy.md)
    assert "Nothing contains that text." in person and 'data-fen="300000"' not in person
    assert "Nothing contains that text." in client.get("/en/search", params={"q": "不存在的名字"}).text
    assert client.get("/search").status_code == 200  # the empty form
    for page in ("/", "/units/EDU", "/flags", "/procurement", "/data", "/en/data"):
        assert 'role="search"' in client.get(page).text, page


def test_pages_answer_html_errors_and_security_headers(client):
    for path, status in [("/units/NOPE", 404), ("/en/units/NOPE", 404), ("/no-such-page", 404),
                         ("/units/EDU?year=abc", 400), ("/units/EDU?colour=red", 400), ("/flags?q=x", 400)]:
        r = client.get(path)
        assert r.status_code == status, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert "<html" in r.text and '{"type"' not in r.text
    assert "页面不存在" in client.get("/units/NOPE").text
    assert "Page not found" in client.get("/en/units/NOPE").text
    page = client.get("/units/EDU")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/v1/units/999999")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["x-content-type-options"] == "nosniff"


def test_flags_download_carries_the_published_finding_only(client):
    text = client.get("/api/v1/downloads/flags.csv", params={"labels": "zh"}).text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["编号"], r["已公开的处理结果"], r["已公开的处理意见"]) for r in rows] == [
        ("f-overrun-hlth", "rectification_ordered", PUBLISHED_NOTE)]
    assert RESTRICTED_NOTE not in text
    assert RESTRICTED_NOTE not in client.get("/api/v1/flags").text
