"""Public reads against a real server on SQLite and PostgreSQL: exact figures, filters, pages, formats."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.api_support import RESTRICTED_NOTE, running, seed
from tests.conftest import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, databases):
    url = databases.fresh(request.param)
    ids = seed(url)
    with running(url) as client:
        client.ids, client.url = ids, url
        yield client
    databases.drop(url)


def test_expenses_show_live_rows_only_with_exact_amounts(api):
    body = api.get("/api/v1/expenses").json()
    assert body["total"] == 6
    assert [(r["unit_code"], r["fiscal_year"], r["category_code"], r["amount_fen"], r["amount_yuan"]) for r in body["data"]] == [
        ("U1", 2023, "reception", 123_456, "1234.56"),
        ("U1", 2023, "reception", 1, "0.01"),
        ("U2", 2023, "meeting", -500, "-5.00"),
        ("U1", 2022, "reception", 200_000, "2000.00"),
        ("U3", 2023, "overseas_travel", 5_000_000, "50000.00"),
        ("U2", 2022, "transport", 33, "0.33"),
    ]
    assert body["license"] and body["source"]


@pytest.mark.parametrize(
    "query, amounts, total",
    [
        ("unit=U1&year=2023", [123_456, 1], 2),
        ("unit=U1,U2&year_from=2023", [123_456, 1, -500], 3),
        ("unit_level=street", [5_000_000], 1),
        ("group=three_public&year=2023", [123_456, 1, 5_000_000], 3),
        ("category=meeting&category=transport", [-500, 33], 2),
        ("amount_min=-5&amount_max=0.33", [1, -500, 33], 3),
        ("date_from=2023-01-01&date_to=2023-06-30", [123_456, -500], 2),
        ("payee=某酒店", [-500, 200_000], 2),
        ("updated_since=2030-01-01T00:00:00Z", [], 0),
    ],
)
def test_expense_filters(api, query, amounts, total):
    body = api.get(f"/api/v1/expenses?{query}").json()
    assert [r["amount_fen"] for r in body["data"]] == amounts
    assert body["total"] == total


def test_the_next_link_keeps_the_query_as_the_client_wrote_it(api):
    # Built from a hash-ordered dict before, so two workers gave two URLs for the same page.
    query = "sort=-amount&limit=1&amount_min=-100000&amount_max=9000000"
    body = api.get(f"/api/v1/expenses?{query}").json()
    assert body["next_cursor"] is not None
    assert body["next"] == f"/api/v1/expenses?{query}&cursor={body['next_cursor']}"


def test_keyset_pages_cover_every_row_once_in_a_stable_order(api):
    for sort in ("id", "-amount", "date", "-fiscal_year"):
        seen, url = [], f"/api/v1/expenses?limit=2&sort={sort}"
        while url:
            body = api.get(url).json()
            assert len(body["data"]) <= 2
            seen += [r["amount_fen"] for r in body["data"]]
            url = body["next"]
        assert sorted(seen) == sorted([123_456, 1, -500, 200_000, 5_000_000, 33]), sort
    desc = []
    url = "/api/v1/expenses?limit=4&sort=-amount"
    while url:
        body = api.get(url).json()
        desc += [r["amount_fen"] for r in body["data"]]
        url = body["next"]
    assert desc == [5_000_000, 200_000, 123_456, 33, 1, -500]


def test_aggregate_budget_and_actual_side_by_side(api):
    body = api.get("/api/v1/aggregate?drilldown=unit,year&year=2023").json()
    cells = {(c["unit"], c["year"]): c for c in body["cells"]}
    assert cells[("U1", 2023)]["actual_fen"] == 123_457
    assert cells[("U1", 2023)]["actual_count"] == 2
    assert cells[("U1", 2023)]["budget_original_fen"] == 100_000
    assert cells[("U1", 2023)]["budget_adjusted_fen"] == 130_000
    assert cells[("U2", 2023)]["actual_yuan"] == "-5.00"
    assert body["summary"]["actual_fen"] == 123_457 - 500 + 5_000_000
    assert body["summary"]["num_cells"] == 3


def test_aggregate_by_group_and_reports(api):
    body = api.get("/api/v1/aggregate?drilldown=group&year=2023").json()
    groups = {c["group"]: c["actual_fen"] for c in body["cells"]}
    assert groups["three_public"] == 123_457 + 5_000_000
    assert groups["four_fees"] == 123_457 - 500



def test_reports_come_from_ledger_reports(api):
    report = api.get("/api/v1/reports/three-public?year=2023").json()
    u1 = next(r for r in report["rows"] if r["unit_code"] == "U1")
    reception = next(i for i in u1["items"] if i["item"] == "reception")
    assert (reception["budget_fen"], reception["actual_fen"], reception["prior_actual_fen"]) == (100_000, 123_457, 200_000)
    assert reception["completion_pct"] == "123.46"
    assert report["text"]
    proc = api.get("/api/v1/reports/procurement?year=2023").json()
    assert (proc["scale_fen"], proc["savings_fen"], proc["savings_rate_pct"], proc["growth_pct"]) == (
        1_470_000, 100_000, "6.67", "145.00")
    rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/reports/four-fees?year=2023&format=csv").content.decode("utf-8-sig"))))
    assert ("U2", "meeting", "-500") in [(r["unit_code"], r["item"], r["actual_fen"]) for r in rows]


def test_procurement_filters(api):
    body = api.get("/api/v1/procurement?method=single_source").json()
    assert [(r["supplier_name"], r["contract_yuan"]) for r in body["data"]] == [("乙公司", "5000.00")]
    body = api.get("/api/v1/procurement?supplier=甲公司&date_from=2023-01-01").json()
    assert [r["contract_fen"] for r in body["data"]] == [900_000]


def test_csv_and_ndjson_from_the_same_query(api):
    r = api.get("/api/v1/expenses?format=csv&unit=U1")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["amount_yuan"] for row in rows] == ["1234.56", "0.01", "2000.00"]
    r = api.get("/api/v1/expenses?unit=U2", headers={"Accept": "application/x-ndjson"})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [x["amount_fen"] for x in lines] == [-500, 33]


def test_csv_neutralises_formulas_in_text_but_keeps_negative_amounts_numbers(api):
    response = api.get("/api/v1/downloads/expenses.csv")
    assert response.headers["etag"] and "max-age" in response.headers["cache-control"]
    assert api.get("/api/v1/downloads/expenses.csv", headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    payees = {r["amount_fen"]: (r["payee"], r["amount_yuan"]) for r in rows}
    assert payees["123456"] == ("'=HYPERLINK(\"x\")", "1234.56")
    assert payees["-500"] == ("某酒店", "-5.00")
    assert payees["5000000"][0] == "'-旅行社"
    assert payees["33"][0] == "'+出租车"


def test_downloads_stream_every_dataset_with_a_datapackage(api):
    listing = api.get("/api/v1/downloads").json()
    names = {d["name"] for d in listing["datasets"]}
    assert {"expenses", "budgets", "procurement", "units", "import-batches", "flags"} <= names
    assert "audit-log" not in names
    package = api.get(listing["datapackage"]).json()
    assert package["profile"] == "tabular-data-package"
    expenses = next(r for r in package["resources"] if r["name"] == "expenses")
    fields = {f["name"]: f["type"] for f in expenses["schema"]["fields"]}
    assert fields["amount_fen"] == "integer" and fields["amount_yuan"] == "number" and fields["payee"] == "string"
    for d in listing["datasets"]:
        r = api.get(d["url"])
        assert r.status_code == 200, d
        header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert header == [f["name"] for f in next(x for x in package["resources"] if x["name"] == d["name"])["schema"]["fields"]]
    text = api.get("/api/v1/downloads/budgets.csv?stage=adjusted").content.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 2


def test_public_flag_never_shows_a_restricted_note(api):
    body = api.get("/api/v1/flags/flag1").json()
    notes = [r["note"] for r in body["reviews"]]
    assert notes == ["单位已说明，接待经审批", None]
    assert RESTRICTED_NOTE not in json.dumps(api.get("/api/v1/flags").json(), ensure_ascii=False)
    assert RESTRICTED_NOTE not in api.get("/api/v1/downloads/flags.csv").content.decode("utf-8-sig")


def test_etag_and_last_modified_give_304(api):
    r = api.get("/api/v1/expenses?unit=U1")
    etag = r.headers["etag"]
    assert r.headers["cache-control"].startswith("public")
    assert r.headers["last-modified"]
    again = api.get("/api/v1/expenses?unit=U1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert api.get("/api/v1/expenses?unit=U2", headers={"If-None-Match": etag}).status_code == 200
    since = api.get("/api/v1/expenses", headers={"If-Modified-Since": r.headers["last-modified"]})
    assert since.status_code == 304


def test_the_response_cache_can_be_turned_off(api, monkeypatch):
    """``SUNSHINE_RESPONSE_CACHE=0`` (the benchmark's cache-off reads): same bytes and validators, no stored responses."""
    from api.app import create_app
    from api.settings import Settings

    monkeypatch.setenv("SUNSHINE_RESPONSE_CACHE", "0")
    assert Settings.from_env(api.url).response_cache is False
    monkeypatch.delenv("SUNSHINE_RESPONSE_CACHE")
    assert Settings.from_env(api.url).response_cache is True
    cached = api.get("/api/v1/expenses?unit=U1")
    with running(api.url, response_cache=False) as off:
        first, again = off.get("/api/v1/expenses?unit=U1"), off.get("/api/v1/expenses?unit=U1")
        assert first.content == again.content == cached.content and first.headers["etag"] == again.headers["etag"]
        assert off.get("/api/v1/expenses?unit=U1", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    from litestar.testing import TestClient

    for on in (True, False):
        app = create_app(api.url, settings=Settings(database_url=api.url, rate_limit=0, response_cache=on))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            assert client.get("/api/v1/expenses?unit=U1").status_code == 200
            assert len(app.state.responses.items) == (1 if on else 0)


def test_gzip_and_cors_for_reads(api):
    r = api.get("/api/v1/downloads/expenses.csv", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    r = api.get("/api/v1/expenses?limit=100", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    r = api.get("/api/v1/expenses", headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    pre = api.options("/api/v1/imports", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert "POST" not in pre.headers.get("access-control-allow-methods", "")


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/v1/schema/openapi.json").json()
    assert "/api/v1/aggregate" in schema["paths"]
    assert api.get("/api/v1/schema").status_code == 200


def test_import_batches_are_provenance(api):
    body = api.get("/api/v1/import-batches").json()
    assert [(b["file_name"], b["supersedes_id"]) for b in body["data"]][:3] == [
        ("支出.csv", None), ("旧.csv", None), ("更正.csv", api.ids["old_batch"]),
    ]
    one = api.get(f"/api/v1/import-batches/{api.ids['expenses_batch']}").json()
    assert one["sha256"] == "a" * 64
