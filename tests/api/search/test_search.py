"""Search through the real importer and the API: Chinese fragments, short queries, corrections, 400s."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from ledger.review import tokens
from ledger.store.db import writing
from tests.seed_public import seed

EXPENSES = """单位编码,单位名称,年度,日期,类别,金额,收款方,摘要,凭证号
EDU,教育局,2023,2023-03-01,公务接待费,1200.00,阳光大酒店有限公司,接待省教育厅调研组,V1
EDU,教育局,2023,2023-04-02,公务接待费,800.50,阳光大酒店有限公司,接待市督导组,V2
HLTH,卫生健康局,2023,2023-05-03,会议费,3000.00,王芳,会议场地租赁,V3
HLTH,卫生健康局,2022,2022-06-04,交通费,150.00,Leeds City Council,taxi fare 50%,V4
"""


@pytest.fixture
def client(engine, db_url, tmp_path):
    seed(engine)
    path = tmp_path / "expenses.csv"
    path.write_text(EXPENSES, encoding="utf-8")
    result = import_file(engine, "expenses", path, Options(submitted_by="test"))
    assert result.status == "loaded", result.report
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        c.batch_id = result.batch_id
        c.tmp = tmp_path
        c.engine = engine
        yield c


def hits(client, q, **params):
    r = client.get("/api/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return body, [(h["kind"], h["text"], h["unit_code"], h["fiscal_year"], h["row_count"], h["amount_fen"])
                  for h in body["data"]]


def test_payee_by_a_chinese_fragment_of_three_characters_uses_the_trigram_index(client):
    body, found = hits(client, "大酒店")
    assert body["method"] == "trigram"
    assert found == [("payee", "阳光大酒店有限公司", "EDU", 2023, 2, 200050)]
    assert body["data"][0]["amount_yuan"] == "2000.50"
    assert body["data"][0]["unit_name"] == "教育局"
    rows = client.get(body["data"][0]["href"]).json()
    assert sorted(r["amount_fen"] for r in rows["data"]) == [80050, 120000]


def test_two_character_names_are_found_by_a_scan(client):
    # 王芳 is a natural person's name: hidden from anonymous search (docs/privacy.md), found with a token
    body, found = hits(client, "王芳")
    assert body["method"] == "scan"
    assert found == []
    with writing(client.engine) as conn:
        secret = tokens.create(conn, name="财务甲", role="finance")[0]
    r = client.get("/api/v1/search", params={"q": "王芳"}, headers={"Authorization": f"Bearer {secret}"})
    assert [(h["kind"], h["text"], h["unit_code"], h["fiscal_year"], h["row_count"], h["amount_fen"])
            for h in r.json()["data"]] == [("payee", "王芳", "HLTH", 2023, 1, 300000)]
    body, found = hits(client, "酒店")
    assert body["method"] == "scan"
    assert found == [("payee", "阳光大酒店有限公司", "EDU", 2023, 2, 200050)]


def test_units_first_then_payees_suppliers_and_descriptions_largest_first(client):
    _, found = hits(client, "公司")
    assert found == [
        ("payee", "阳光大酒店有限公司", "EDU", 2023, 2, 200050),
        ("supplier", "甲公司", "EDU", 2023, 1, 170000000),
        ("supplier", "甲公司", "EDU", 2022, 1, 90000000),
        ("supplier", "乙公司", "ODD", 2023, 1, 50000000),
        ("supplier", "丙公司", "HLTH", 2023, 1, 29000000),
        ("supplier", "乙公司", "HLTH", 2022, 1, 20000000),
    ]
    _, found = hits(client, "教育")
    assert found == [("unit", "教育局", "EDU", None, 1, None),
                     ("description", "接待省教育厅调研组", "EDU", 2023, 1, 120000)]
    body, found = hits(client, "公司", kind="supplier", limit=2)
    assert [f[1] for f in found] == ["甲公司", "甲公司"] and body["more"] is True


def test_latin_text_is_case_insensitive_and_wildcards_are_literal(client):
    _, found = hits(client, "city COUNCIL")
    assert found == [("payee", "Leeds City Council", "HLTH", 2022, 1, 15000)]
    _, found = hits(client, "50%")
    assert found == [("description", "taxi fare 50%", "HLTH", 2022, 1, 15000)]
    assert hits(client, "%")[1] == [("description", "taxi fare 50%", "HLTH", 2022, 1, 15000)]
    assert hits(client, "_")[1] == []
    assert hits(client, "ＷＸＹ")[0]["query"] == "WXY"  # full-width letters are folded


def test_a_correction_replaces_what_search_finds(client):
    fixed = client.tmp / "fixed.csv"
    fixed.write_text("\n".join(line for line in EXPENSES.splitlines() if "王芳" not in line) + "\n",
                     encoding="utf-8")
    result = import_file(client.engine, "expenses", fixed, Options(submitted_by="test", supersedes=client.batch_id))
    assert result.status == "loaded", result.report
    assert hits(client, "王芳")[1] == []
    assert hits(client, "大酒店")[1] == [("payee", "阳光大酒店有限公司", "EDU", 2023, 2, 200050)]


@pytest.mark.parametrize("params, parameter", [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 101}, "q"),
    ({"q": "局", "kind": "nope"}, "kind"), ({"q": "局", "limit": "0"}, "limit"), ({"q": "局", "sort": "x"}, "sort"),
])
def test_bad_search_parameters_answer_400(client, params, parameter):
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert parameter in {e["parameter"] for e in r.json()["errors"]}


def test_unknown_parameters_answer_400_everywhere(client):
    for path in ["/api/v1/expenses?q=酒店", "/api/v1/aggregate?drilldown=year&colour=red", "/api/v1/units?yaer=2023",
                 "/api/v1/reports/three-public?year=2023&unitt=EDU", "/api/v1/downloads/expenses.csv?q=1",
                 "/api/v1/charts/trend.png?foo=1", "/api/v1/log/checkpoint?x=1"]:
        r = client.get(path)
        assert r.status_code == 400, path
        assert r.headers["content-type"].startswith("application/problem+json"), path
    r = client.get("/api/v1/expenses", params={"q": "酒店"})
    assert r.json()["errors"][0]["parameter"] == "q"
    assert client.get("/api/v1/expenses", params={"payee": "阳光大酒店有限公司", "year": "2023"}).json()["total"] == 2
    assert client.get("/api/v1/expenses", params={"payee": "王芳", "year": "2023"}).json()["total"] == 0  # a person


def test_a_unit_stays_findable_when_the_batch_that_named_it_is_superseded(client):
    first = client.tmp / "new-unit.csv"
    first.write_text("单位编码,单位名称,年度,类别,金额,收款方\nNEW,新设管理处,2023,公务接待费,100.00,甲乙丙\n",
                     encoding="utf-8")
    batch = import_file(client.engine, "expenses", first, Options(submitted_by="test"))
    fixed = client.tmp / "new-unit-fixed.csv"
    fixed.write_text("单位编码,单位名称,年度,类别,金额,收款方\nNEW,新设管理处,2023,公务接待费,90.00,甲乙丙\n",
                     encoding="utf-8")
    assert import_file(client.engine, "expenses", fixed,
                       Options(submitted_by="test", supersedes=batch.batch_id)).status == "loaded"
    assert hits(client, "新设管理")[1] == [("unit", "新设管理处", "NEW", None, 1, None)]
    assert hits(client, "甲乙丙")[1] == [("payee", "甲乙丙", "NEW", 2023, 1, 9000)]
