"""Issue 13: one contracting process (ocid) is counted once, whatever the publisher ships, in every currency.

The real files' figures were computed independently (a plain ``json`` walk over each record's
``compiledRelease`` / each release) and are asserted here exactly:

- Prozorro (Ukraine), 11 records: 11 ocids, tender UAH 1,426,431.49, contracts UAH 1,401,665.79
  (one of them ``pending``, UAH 1,130,184.00); years 2016 (4) and 2017 (7: tender UAH 1,332,331.49,
  contracts UAH 1,325,980.79, savings UAH 6,350.70 = 0.48% of the budget).
- IMPIC (Portugal), 100 releases: 100 ocids, tender and contracts EUR 1,613,064.48; 7 contracts
  signed in 2008, the other 93 give no date of tender, award or signature: their year is unknown.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from importers.pipeline import Options
from importers.procurement.ocds import import_file, read_ocds
from importers.run import import_file as import_table
from ledger.read.aggregate import aggregate
from ledger.read.published.report_text import report_text
from ledger.read.published.reports import procurement
from ledger.store.batches import live_procurement
from ledger.store.db import reading, writing
from ledger.store.models import ImportBatch, ProcurementRecord, ProcurementReplacement
from tests.api_support import running
from tests.conftest import REAL

PORTUGAL = REAL / "ocds" / "portugal_impic_release_package.json"
UKRAINE = sorted((REAL / "ocds" / "ukraine_records").glob("*.json"))
P = ProcurementRecord


def _load(engine, path):
    return import_file(engine, path, Options(submitted_by="test"))


def _counted(engine) -> dict:
    """Per currency: (ocids, rows counted, tender fen, contract fen), reading only what counts now."""
    with reading(engine) as conn:
        rows = conn.execute(select(P.currency, func.count(func.distinct(P.ocid)), func.count(), func.sum(P.budget_fen),
                                   func.sum(P.contract_fen)).where(live_procurement()).group_by(P.currency)).all()
    return {c: (o, n, int(b or 0), int(k or 0)) for c, o, n, b, k in rows}


def test_real_files_are_counted_once_per_ocid(engine):
    for path in UKRAINE:
        assert _load(engine, path).status == "loaded"
    assert _load(engine, PORTUGAL).status == "loaded"
    assert _counted(engine) == {"UAH": (11, 11, 142_643_149, 140_166_579), "EUR": (100, 100, 161_306_448, 161_306_448)}
    with reading(engine) as conn:
        years = dict(conn.execute(select(P.fiscal_year, func.count()).where(P.currency == "EUR")
                                  .group_by(P.fiscal_year)).all())
        ua_years = dict(conn.execute(select(P.fiscal_year, func.count()).where(P.currency == "UAH")
                                     .group_by(P.fiscal_year)).all())
        compiled = conn.execute(select(P.compiled_json).where(P.ocid == "ocds-be6bcu-UA-2016-12-29-000657-c")).scalar()
    assert years == {None: 93, 2008: 7}  # no made-up year from the 2019 publication date
    assert ua_years == {2016: 4, 2017: 7}
    contract = json.loads(compiled)["contracts"][0]
    assert (contract["status"], contract["value"]["amount"]) == ("pending", "1130184.0")
    # importing every file again changes nothing: same batches, same rows, no link
    assert {_load(engine, p).status for p in [*UKRAINE, PORTUGAL]} == {"unchanged"}
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 12
        assert conn.execute(select(func.count()).select_from(ProcurementReplacement)).scalar() == 0


def test_report_keeps_each_currency_apart(engine):
    for path in UKRAINE:
        _load(engine, path)
    with reading(engine) as conn:
        out = procurement(conn, 2017)
    # no CNY procurement: the CNY figures are zero, UAH has its own block and is never added to them
    assert (out["currency"], out["records"], out["scale_fen"]) == ("CNY", 0, 0)
    uah = out["by_currency"]["UAH"]
    assert (uah["records"], uah["scale_fen"], uah["budget_total_fen"]) == (7, 132_598_079, 133_233_149)
    assert (uah["savings_fen"], uah["savings_rate_pct"]) == (635_070, Decimal("0.48"))
    assert list(out["by_currency"]) == ["UAH"]


def _release(ocid, rid, date, amount=None, **extra):
    out = {"ocid": ocid, "id": rid, "date": date, "tag": ["contract"], "buyer": {"id": "B1", "name": "阳光市财政局"}}
    if amount is not None:
        out["contracts"] = [{"id": "C1", "status": "active", "dateSigned": date[:10],
                             "value": {"amount": amount, "currency": "CNY"}}]
    return out | extra


def _package(tmp_path, name, *releases):
    path = tmp_path / name
    path.write_text(json.dumps({"version": "1.1", "releases": list(releases)}, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_newer_release_replaces_by_a_link_never_in_place(engine, tmp_path):
    first = _load(engine, _package(tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000),
                                   _release("ocds-x-2", "1", "2023-03-01T00:00:00Z", 500)))
    assert first.status == "loaded"
    newer = _load(engine, _package(tmp_path, "b.json", _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200)))
    assert newer.status == "loaded"
    assert newer.report["ocds"]["replaced_records"] == 1
    assert "warning:ocds-ocid-updated" in newer.report["problems"]["by_code"]
    # two ocids, counted once each: 1,200 + 500 (the replaced 1,000 is kept, no longer counted)
    assert _counted(engine) == {"CNY": (2, 2, 0, 170_000)}
    with reading(engine) as conn:
        stored = conn.execute(select(P.release_id, P.contract_fen).order_by(P.id)).all()
        link = conn.execute(select(ProcurementReplacement.ocid, ProcurementReplacement.batch_id)).all()
        report = procurement(conn, 2023)
    assert [tuple(r) for r in stored] == [("1", 100_000), ("1", 50_000), ("2", 120_000)]
    assert [tuple(r) for r in link] == [("ocds-x-1", newer.batch_id)]
    assert (report["records"], report["scale_fen"]) == (2, 170_000)
    # an older state arriving later is held back; the links are append-only
    stale = _load(engine, _package(tmp_path, "c.json", _release("ocds-x-1", "0", "2023-02-01T00:00:00Z", 900)))
    assert stale.status == "unchanged"
    assert _counted(engine) == {"CNY": (2, 2, 0, 170_000)}
    with pytest.raises(Exception, match="append-only"), writing(engine) as conn:
        conn.execute(delete(ProcurementReplacement))


def test_contract_repeated_in_a_release_counts_once(engine, tmp_path):
    repeated = _release("ocds-x-3", "1", "2023-05-01T00:00:00Z", 700)
    repeated["contracts"] = repeated["contracts"] * 3  # one contract id, three copies
    frame = read_ocds(_package(tmp_path, "r.json", repeated)).frame
    assert frame["contract_fen"].to_list() == [70_000]


def test_a_record_s_compiled_release_wins_over_its_releases(tmp_path):
    rel = [_release("ocds-x-4", "1", "2023-01-01T00:00:00Z", 100), _release("ocds-x-4", "2", "2023-02-01T00:00:00Z")]
    rel[1]["contracts"] = [{"id": "C9", "status": "active", "value": {"amount": 100, "currency": "CNY"}}]
    compiled = _release("ocds-x-4", "ocds-x-4-compiled", "2023-02-01T00:00:00Z", 100)  # C1 and C9 are one contract
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"ocid": "ocds-x-4", "releases": rel, "compiledRelease": compiled}), encoding="utf-8")
    result = read_ocds(path)
    assert (result.layout, result.frame["contract_fen"].to_list()) == ("record", [10_000])
    assert result.frame["release_id"].to_list() == ["ocds-x-4-compiled"]


def test_missing_ids_are_derived_and_missing_dates_give_no_year(tmp_path):
    no_ids = {"date": "2023-06-01T00:00:00Z", "buyer": {"name": "Ayuntamiento de Ejemplo"},
              "tender": {"value": {"amount": 50, "currency": "mxn"}, "tenderPeriod": {"startDate": "24.12.10"}}}
    planning = {"ocid": "ocds-x-5", "id": "p1", "date": "", "buyer": {"id": "B1", "name": "x"},
                "tender": {"value": {"amount": 10, "currency": "EUR"}}}
    result = read_ocds(_package(tmp_path, "ids.json", no_ids, planning))
    assert not result.errors
    codes = sorted((p.column, p.code) for p in result.problems)
    assert codes == [("releases[0].buyer.id", "ocds-id-derived"), ("releases[0].id", "ocds-id-derived"),
                     ("releases[0].ocid", "ocds-id-derived"), ("releases[1].date", "ocds-date-missing")]
    one, two = result.frame.to_dicts()
    assert one["ocid"].startswith("ocid-") and len(one["ocid"]) == 21
    assert one["release_id"].startswith("release-") and one["unit_code"].startswith("name-")
    # "24.12.10" is not year 24: the tender date is unknown, and so is the year
    assert (one["tender_date"], one["fiscal_year"], one["currency"], one["budget_fen"]) == (None, None, "MXN", 5_000)
    assert (two["release_date"], two["fiscal_year"], two["currency"]) == (None, None, "EUR")
    # the same content gives the same derived ids
    again = read_ocds(_package(tmp_path, "ids2.json", no_ids)).frame.to_dicts()[0]
    assert (again["ocid"], again["release_id"], again["unit_code"]) == (one["ocid"], one["release_id"], one["unit_code"])


def test_a_record_without_amounts_states_no_currency(tmp_path):
    bare = {"ocid": "ocds-x-6", "id": "1", "date": "2023-01-01T00:00:00Z", "buyer": {"id": "B1", "name": "x"}}
    assert read_ocds(_package(tmp_path, "bare.json", bare)).frame["currency"].to_list() == [None]


def test_aggregate_never_adds_two_currencies(engine, db_url, tmp_path):
    path = tmp_path / "expenses.csv"
    path.write_text("unit_code,unit_name,fiscal_year,category,amount,currency,voucher_no\n"
                    "U1,单位一,2023,reception,100.00,CNY,v1\nU1,单位一,2023,reception,20.50,EUR,v2\n"
                    "U2,单位二,2023,meeting,7.00,EUR,v3\n", encoding="utf-8")
    assert import_table(engine, "expenses", path, Options(submitted_by="test")).status == "loaded"
    with reading(engine) as conn:
        total = aggregate(conn, [])
        by_unit = aggregate(conn, ["unit"])
    assert (total.summary["actual_fen"], total.summary["actual_count"]) == (None, 3)
    assert {c: m["actual_fen"] for c, m in total.summary["by_currency"].items()} == {"CNY": 10_000, "EUR": 2_750}
    u1, u2 = by_unit.cells
    assert (u1["unit"], u1["actual_fen"], u1["actual_count"]) == ("U1", None, 2)
    assert {c: m["actual_fen"] for c, m in u1["by_currency"].items()} == {"CNY": 10_000, "EUR": 2_050}
    assert (u2["unit"], u2["actual_fen"], u2["actual_yuan"], "by_currency" in u2) == ("U2", 700, "7.00", False)
    with running(db_url) as client:
        body = client.get("/api/v1/aggregate?drilldown=currency").json()
    assert [(c["currency"], c["actual_fen"]) for c in body["cells"]] == [("CNY", 10_000), ("EUR", 2_750)]
    assert body["summary"]["actual_fen"] is None
    assert body["summary"]["by_currency"]["EUR"]["actual_yuan"] == "27.50"


def test_report_text_and_page_show_each_currency(engine, db_url):
    for path in UKRAINE:
        _load(engine, path)
    with reading(engine) as conn:
        text_ = report_text(procurement(conn, 2017))
    assert text_ == ("2017年无以人民币计的政府采购。以UAH计的采购7项，合同金额合计1,325,980.79 UAH，"
                     "采购预算1,332,331.49 UAH，资金节约率0.48%（不与人民币相加）。")
    with running(db_url) as client:
        page = client.get("/procurement").text
    assert 'data-currency="UAH"' in page
    assert 'data-figure="contract-UAH-2017" data-fen="132598079"' in page
    assert 'data-figure="contract-UAH-2016" data-fen="7568500"' in page


def test_the_log_verifies_unknown_years_currencies_and_links(engine, tmp_path):
    from ledger.log.verify import verify

    _load(engine, PORTUGAL)
    _load(engine, _package(tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000),
                           {"ocid": "ocds-x-7", "id": "1", "date": "2023-03-01T00:00:00Z", "buyer": {"id": "B1"}}))
    _load(engine, _package(tmp_path, "b.json", _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200)))
    with reading(engine) as conn:
        report = verify(conn)
    assert report.problems == []


def test_a_link_removed_behind_the_ledger_s_back_is_named(engine, tmp_path):
    from sqlalchemy import text

    from ledger.log.verify import verify
    from tests.store.test_tamper import drop_triggers

    _load(engine, _package(tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000)))
    second = _load(engine, _package(tmp_path, "b.json", _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200)))
    drop_triggers(engine, "procurement_replacement")
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM procurement_replacement"))
    with reading(engine) as conn:
        report = verify(conn)
    assert not report.ok
    assert any(getattr(p, "batch_id", None) == second.batch_id for p in report.problems), report.problems


def test_the_procurement_api_lists_what_counts(engine, db_url, tmp_path):
    _load(engine, PORTUGAL)
    _load(engine, _package(tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000),
                           {"ocid": "ocds-x-7", "id": "1", "date": "2023-03-01T00:00:00Z", "buyer": {"id": "B1"}}))
    _load(engine, _package(tmp_path, "b.json", _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200)))
    with running(db_url) as client:
        listed = client.get("/api/v1/procurement?limit=1000")
        csv = client.get("/api/v1/downloads/procurement.csv")
    assert listed.status_code == 200, listed.text
    rows = listed.json()["data"]
    assert len(rows) == 102  # 100 Portuguese processes, ocds-x-1 once (its newer state), ocds-x-7
    x1 = [r for r in rows if r["ocid"] == "ocds-x-1"]
    assert [r["contract_fen"] for r in x1] == [120_000]
    x7 = next(r for r in rows if r["ocid"] == "ocds-x-7")
    assert (x7["currency"], x7["fiscal_year"]) == (None, None)
    assert sum(1 for r in rows if r["fiscal_year"] is None) == 94  # 93 Portuguese without a date, and ocds-x-7
    assert csv.status_code == 200
    import csv as csv_module
    import io

    table = list(csv_module.reader(io.StringIO(csv.text.lstrip("\ufeff"))))
    assert len(table) == 103  # header and 102 rows (titles may hold line breaks)
    assert [r[4] for r in table[1:]].count("ocds-x-1") == 1
