"""Comparison pages over HTTP: units side by side, one unit over years, its peers of the same level."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from tests.seed_public import seed
from tests.web.test_portal_drill import UNITS


@pytest.fixture
def client(engine, db_url, tmp_path):
    seed(engine)
    path = tmp_path / "units.csv"
    path.write_text(UNITS, encoding="utf-8")
    assert import_file(engine, "units", path, Options(submitted_by="t", update_units=True)).status == "loaded"
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        yield c


def row_fens(html: str, item: str) -> list[int | None]:
    row = re.search(rf'<tr data-item="{item}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return [int(f) if f else None for f in re.findall(r'<td class="num"(?: data-fen="(-?\d+)")?>', row)]


def test_two_units_side_by_side(client):
    html = client.get("/compare", params=[("unit", "EDU"), ("unit", "HLTH"), ("year", "2023")]).text
    assert row_fens(html, "total") == [19000055, 6600000]
    assert row_fens(html, "reception") == [8500055, 6600000]
    assert "-9.52%" in html and "+20.00%" in html  # each unit's change on its prior year
    assert '<meter min="0" max="19000055" value="6600000">' in html
    assert 'href="/units/HLTH?year=2023"' in html


def test_one_unit_over_the_years(client):
    html = client.get("/en/compare", params={"unit": "EDU"}).text
    assert row_fens(html, "total") == [21000000, 19000055]  # 2022, 2023
    assert "Year by year" in html


def test_peer_link_and_refusals(client):
    unit = client.get("/units/EDU").text
    assert 'href="/compare?unit=EDU&amp;unit=CITY&amp;unit=HLTH&amp;year=2023"' in unit
    assert "与同级单位对比（市级）" in unit
    assert "Against units of the same level (city)</a>" in client.get("/en/units/EDU").text  # the level in English too
    assert client.get("/compare").status_code == 200
    assert client.get("/compare", params={"unit": "NOPE"}).status_code == 400
    assert client.get("/compare", params=[("unit", f"U{i}") for i in range(7)]).status_code == 400
