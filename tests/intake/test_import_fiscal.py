"""Fiscal years that do not follow the calendar: configuration per ledger, used when dates become years."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.rules.fiscal import fiscal_year, start_month
from ledger.store.db import reading
from ledger.store.models import ExpenseEntry
from tests.import_support import sunshine

DATED = "单位编码,单位名称,日期,类别,金额,收款方\nU01,x,2024-03-31,reception,100.00,甲\nU01,x,2024-04-01,reception,200.00,乙\n"


def years(engine) -> list[tuple]:
    with reading(engine) as conn:
        return conn.execute(select(ExpenseEntry.entry_date, ExpenseEntry.fiscal_year, ExpenseEntry.amount_fen)
                            .order_by(ExpenseEntry.entry_date)).all()


def config(tmp_path, month: int):
    p = tmp_path / "sunshine.toml"
    p.write_text(f"[fiscal_year]\nstart_month = {month}\n", encoding="utf-8")
    return p


def test_april_start_turns_dates_into_fiscal_years(db_url, engine, tmp_path):
    f = tmp_path / "dated.csv"
    f.write_text(DATED, encoding="utf-8")
    run = sunshine(db_url, "import", "expenses", f, "--config", config(tmp_path, 4), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["files"][0]["fiscal_year_start_month"] == 4
    assert years(engine) == [(dt.date(2024, 3, 31), 2023, 10000), (dt.date(2024, 4, 1), 2024, 20000)]


def test_calendar_default_is_unchanged(engine, tmp_path):
    f = tmp_path / "dated.csv"
    f.write_text(DATED, encoding="utf-8")
    r = import_file(engine, "expenses", f, Options(), ReadOptions())  # the repository's sunshine.toml: month 1
    assert r.status == "loaded" and "fiscal_year_start_month" not in r.report
    assert years(engine) == [(dt.date(2024, 3, 31), 2024, 10000), (dt.date(2024, 4, 1), 2024, 20000)]


def test_the_date_year_warning_follows_the_fiscal_year(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_CONFIG", str(config(tmp_path, 4)))
    f = tmp_path / "y.csv"
    f.write_text("单位编码,单位名称,年度,日期,类别,金额\nU01,x,2023,2024-03-31,reception,1\nU01,x,2023,2024-04-01,meeting,1\n",
                 encoding="utf-8")
    r = import_file(engine, "expenses", f, Options(), ReadOptions())
    assert r.status == "loaded"
    assert [(p["row"], p["code"], p["value"]) for p in r.report["problems"]["listed"]] == [
        (3, "date-year-mismatch", "2024-04-01")]


def test_fiscal_year_of_a_date_and_a_bad_setting(tmp_path):
    assert [fiscal_year(dt.date(2024, 3, 31), 4), fiscal_year(dt.date(2024, 4, 1), 4),
            fiscal_year(dt.date(2024, 3, 31))] == [2023, 2024, 2024]
    assert start_month(tmp_path / "absent.toml") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[fiscal_year]\nstart_month = 13\n", encoding="utf-8")
    try:
        start_month(bad)
    except ValueError as e:
        assert "[fiscal_year] start_month must be a month number 1–12, got 13" in str(e)
    else:
        raise AssertionError("a month of 13 must be refused")


def test_ocds_dates_become_fiscal_years_too(engine, tmp_path):
    from importers import ocds
    from ledger.store.models import ProcurementRecord

    def release(ocid: str, signed: str) -> str:
        return json.dumps({"ocid": ocid, "id": f"{ocid}-1", "date": f"{signed}T00:00:00+08:00", "tag": ["contract"],
                           "buyer": {"id": "U01", "name": "市财政局"},
                           "tender": {"id": ocid, "procurementMethod": "open"},
                           "contracts": [{"id": "C", "status": "active", "dateSigned": signed,
                                          "value": {"amount": 100, "currency": "CNY"}}]}) + "\n"

    f = tmp_path / "feed.jsonl"
    f.write_text(release("ocds-a", "2024-03-31") + release("ocds-b", "2024-04-01"), encoding="utf-8")
    r = ocds.import_file(engine, f, Options(submitted_by="t"), ReadOptions(fiscal_start_month=4))
    assert r.status == "loaded", r.report["problems"]
    with reading(engine) as conn:
        assert conn.execute(select(ProcurementRecord.ocid, ProcurementRecord.fiscal_year)
                            .order_by(ProcurementRecord.ocid)).all() == [("ocds-a", 2023), ("ocds-b", 2024)]
