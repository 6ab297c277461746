"""Drill-down over HTTP: region → unit → category → line items, roll-ups by region, level and parent,
and downloads with human labels. Units come from a real units file, spending from a real expenses file."""

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
from tests.seed_public import seed

UNITS = """unit_code,unit_name,parent_code,level,region
CITY,阳光市人民政府,,市级,市本级
EDU,教育局,CITY,市级,市本级
HLTH,卫生健康局,CITY,市级,市本级
ODD,东城区测试单位,,区县级,东城区
"""


@pytest.fixture
def client(engine, db_url, tmp_path):
    seed(engine)
    for kind, text, opts in (("units", UNITS, {"update_units": True}), ("expenses", EXPENSES, {})):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        result = import_file(engine, kind, path, Options(submitted_by="test", **opts))
        assert result.status == "loaded", result.report
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        yield c


def agg(client, **params):
    r = client.get("/api/v1/aggregate", params={"group": "three_public", "year": 2023, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_aggregate_rolls_up_by_region_level_and_parent(client):
    by_region = agg(client, drilldown="region")
    assert {c["region"]: c["actual_fen"] for c in by_region["cells"]} == {"东城区": 1234567, "市本级": 25800105}
    assert by_region["summary"]["actual_fen"] == 27034672 == 1234567 + 25800105
    assert {c["level"]: c["actual_fen"] for c in agg(client, drilldown="level")["cells"]} == \
        {"区县级": 1234567, "市级": 25800105}
    assert {c["parent"]: c["actual_fen"] for c in agg(client, drilldown="parent")["cells"]} == \
        {"CITY": 25800105, None: 1234567}
    units = agg(client, drilldown="unit", region="市本级")["cells"]
    assert {c["unit"]: c["actual_fen"] for c in units} == {"EDU": 19200105, "HLTH": 6600000}
    assert client.get("/api/v1/expenses", params={"region": "市本级"}).status_code == 400


def test_home_and_region_pages_show_coverage(client):
    home = client.get("/", params={"year": 2023}).text
    row = re.search(r'<tr data-region="市本级">(.*?)</tr>', home, re.S).group(1)
    assert 'data-fen="25800105"' in row and "2 / 3" in row
    assert 'href="/regions/%E5%B8%82%E6%9C%AC%E7%BA%A7?year=2023"' in home
    region = client.get("/regions/市本级", params={"year": 2023}).text
    assert 'data-figure="region_actual" data-fen="25800105"' in region
    assert 'data-figure="units_reporting">2 / 3<' in region
    assert 'href="/units/EDU?year=2023"' in region
    assert client.get("/regions/无此区域").status_code == 404
    level = client.get("/levels/市级", params={"year": 2023}).text  # one level of the unit tree, across regions
    assert 'data-figure="region_actual" data-fen="25800105"' in level
    assert 'data-figure="units_reporting">2 / 3<' in level
    assert 'href="/levels/%E5%B8%82%E7%BA%A7?year=2023"' in region
    assert client.get("/levels/省级").status_code == 404


def test_unit_page_breadcrumbs_categories_and_stage(client):
    html = client.get("/units/EDU", params={"year": 2023}).text
    crumbs = re.search(r'<div class="crumbs"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", crumbs) == "全区 › 市本级 › 阳光市人民政府 › 教育局"
    row = re.search(r'<tr data-category="reception">(.*?)</tr>', html, re.S).group(1)
    assert 'data-fen="10000000"' in row and 'data-fen="8700105"' in row
    assert 'href="/units/EDU/lines?year=2023&amp;category=reception"' in row
    adjusted = client.get("/units/EDU", params={"year": 2023, "stage": "adjusted"}).text
    row = re.search(r'<tr data-category="reception">(.*?)</tr>', adjusted, re.S).group(1)
    assert 'data-fen="10000000"' not in row and "—" in row  # no adjusted budget: missing, never zero
    assert client.get("/units/EDU", params={"stage": "final"}).status_code == 400


def test_line_items_of_a_category_and_a_payee(client):
    html = client.get("/units/EDU/lines", params={"year": 2023, "category": "reception"}).text
    assert 'data-figure="line_count">3<' in html and 'data-figure="page_sum">87,001.05<' in html
    assert re.sub(r"<[^>]+>", "", re.search(r'<div class="crumbs"[^>]*>(.*?)</div>', html, re.S).group(1)) == \
        "全区 › 市本级 › 阳光市人民政府 › 教育局 › 公务接待费 · 2023"
    payee = client.get("/units/EDU/lines", params={"year": 2023, "payee": "阳光大酒店有限公司"}).text
    assert 'data-figure="line_count">2<' in payee and 'data-figure="page_sum">2,000.50<' in payee
    link = re.search(r'<a href="(/api/v1/downloads/expenses\.csv\?[^"]*labels=zh)"', payee).group(1)
    r = client.get(link.replace("&amp;", "&"))
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [(x["收款方"], x["类别"], x["金额（分）"], x["金额（元）"], x["金额（万元）"]) for x in rows] == [
        ("阳光大酒店有限公司", "公务接待费", "120000", "1200.00", "0.120000"),
        ("阳光大酒店有限公司", "公务接待费", "80050", "800.50", "0.080050"),
    ]
    assert client.get("/units/EDU/lines", params={"category": "bogus"}).status_code == 400
    assert client.get("/units/NOPE/lines").status_code == 404


def test_downloads_with_english_labels_and_method_names(client):
    r = client.get("/api/v1/downloads/procurement.csv", params={"labels": "en", "unit": "HLTH", "year": 2023})
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [(x["Supplier"], x["Method"], x["Contract amount (fen)"], x["Contract amount (yuan)"],
             x["Contract amount (10k yuan)"]) for x in rows] == [("丙公司", "Request for quotation", "29000000",
                                                                  "290000.00", "29.000000")]
    plain = client.get("/api/v1/downloads/procurement.csv", params={"unit": "HLTH", "year": 2023}).text
    assert plain.lstrip("\ufeff").startswith("id,batch_id,")  # without labels: the machine columns
    assert client.get("/api/v1/downloads/budgets.csv", params={"labels": "fr"}).status_code == 400
