"""Every amount-unit spelling a clerk types, over the library, the CLI and HTTP; no input reaches a 500."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from cli.main import root
from importers.sheets.columns import split_unit
from importers.sheets.sources import unit_hint
from ledger.amount_units import UnknownAmountUnit, accepted_spellings, amount_unit
from ledger.money import parse_amount
from ledger.review import tokens
from ledger.store.db import make_engine, writing

BUDGETS = "unit_code,unit_name,fiscal_year,category,stage,amount\nU1,财政局,2024,reception,original,1.5\n"


@pytest.mark.parametrize(("text", "code"), [
    ("元", "yuan"), ("万元", "wan"), ("亿元", "yi"), ("万", "wan"), ("亿", "yi"), ("yuan", "yuan"), ("wan", "wan"),
    ("yi", "yi"), ("YUAN", "yuan"), (" 万元 ", "wan"), ("（万元）", "wan"), ("人民币万元", "wan"), ("RMB", "yuan"),
    ("ten thousand yuan", "wan"), ("10,000 yuan", "wan"), ("10k yuan", "wan"), ("Wan Yuan", "wan"),
    ("hundred million yuan", "yi"), ("100 million yuan", "yi"), ("ｗａｎ", "wan"),
])
def test_spellings(text, code):
    assert amount_unit(text) == code
    assert parse_amount("1.5", text) == {"yuan": 150, "wan": 1_500_000, "yi": 15_000_000_000}[code]


@pytest.mark.parametrize("text", ["千元", "万万", "", "thousand", "dollars", None, 10000])
def test_unknown_units_are_refused_in_both_languages(text):
    with pytest.raises(UnknownAmountUnit) as e:
        amount_unit(text)
    assert "元, 万元 or 亿元" in str(e.value) and "请用 元、万元 或 亿元" in str(e.value)


def test_every_listed_spelling_is_accepted():
    assert all(amount_unit(s) in ("yuan", "wan", "yi") for s in accepted_spellings())


def test_headers_and_title_rows_take_the_same_spellings():
    assert split_unit("金额(万元)") == ("金额", "wan")
    assert split_unit("Amount (10,000 yuan)") == ("amount", "wan")
    assert split_unit("预算数_因公出国(境)费（亿元）") == ("预算数因公出国(境)费", "yi")
    assert split_unit("因公出国(境)费") == ("因公出国(境)费", None)
    assert unit_hint([["Unit: 10,000 yuan"]]) == "wan"
    assert unit_hint([["单位：万元"]]) == "wan"


def _budget_fen(db_url) -> list[int]:
    from sqlalchemy import select

    from ledger.store.db import reading
    from ledger.store.models import BudgetLine

    with reading(make_engine(db_url)) as conn:
        return list(conn.execute(select(BudgetLine.amount_fen)).scalars())


@pytest.mark.parametrize("spelling", ["万元", "wan", "10,000 yuan"])
def test_cli_takes_any_spelling(engine, db_url, tmp_path, spelling):
    p = tmp_path / "预算.csv"
    p.write_text(BUDGETS, encoding="utf-8")
    out = CliRunner().invoke(root, ["--database", db_url, "import", "budgets", str(p), "--amount-unit", spelling,
                                    "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["files"][0]["amount_unit"] == "wan"
    assert _budget_fen(db_url) == [1_500_000]


def test_cli_unknown_unit_is_a_usage_error(engine, db_url, tmp_path):
    p = tmp_path / "预算.csv"
    p.write_text(BUDGETS, encoding="utf-8")
    out = CliRunner().invoke(root, ["--database", db_url, "import", "budgets", str(p), "--amount-unit", "千元"])
    assert out.exit_code == 2
    assert "请用 元、万元 或 亿元" in out.output and _budget_fen(db_url) == []


@pytest.fixture
def client(engine, db_url):
    with writing(engine) as conn:
        key = tokens.create(conn, name="财政局-甲", role="finance")[0]
    app = create_app(db_url, settings=Settings(database_url=db_url, rate_limit=0))
    with TestClient(app=app, base_url="http://127.0.0.1") as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def test_http_upload_in_wan(client, db_url):
    r = client.post("/api/v1/imports", params={"kind": "budgets", "amount_unit": "万元"},
                    files={"file": ("预算.csv", BUDGETS.encode("utf-8"))})
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["status"] == "loaded" and r.json()["files"][0]["amount_unit"] == "wan"
    assert _budget_fen(db_url) == [1_500_000]


@pytest.mark.parametrize("params", [
    {"kind": "budgets", "amount_unit": "千元"},
    {"kind": "budgets", "amount_unit": ""},
    {"kind": "nonsense"},
    {"kind": "budgets", "encoding": "no-such-codec"},
    {"kind": "budgets", "supersedes": "999999"},
    {"kind": "budgets", "supersedes": "abc"},
    {"kind": "budgets", "dry_run": "maybe"},
])
def test_http_bad_parameters_never_500(client, db_url, params):
    r = client.post("/api/v1/imports", params=params, files={"file": ("预算.csv", BUDGETS.encode("utf-8"))})
    assert r.status_code in (400, 422), (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _budget_fen(db_url) == []
    if params.get("amount_unit") == "千元":
        assert r.status_code == 400 and "请用 元、万元 或 亿元" in r.json()["detail"]


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00", b"PK\x03\x04garbage", "单位编码\n".encode("gb18030"),
                                  b"unit_code,fiscal_year,category,amount\nU1,2024,reception,1e999\n"])
def test_http_bad_files_never_500(client, db_url, body):
    r = client.post("/api/v1/imports", params={"kind": "budgets", "amount_unit": "亿元"},
                    files={"file": ("x.csv", body)})
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["files"][0]["status"] == "refused"
