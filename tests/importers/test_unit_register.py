"""The unit register enforced: a mistyped code is refused with the closest known codes; merges and
retirements are appended corrections that coverage and aggregate totals follow.

Register: 101005 财政局, 101006 教育局, 101007 卫健委. 2023: 1,000 / 2,000 / 3,000 元. 2024: 教育局 2,500 元
and 1,200 元 under the mistyped code 1O1005 (letter O).
"""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, text

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from ledger.read import totals
from ledger.read.aggregate import aggregate
from ledger.read.types import Filters
from ledger.review import tokens
from ledger.store.db import reading, writing
from ledger.store.models import AuditLog, Unit
from tests.import_support import sunshine

REGISTER = "单位编码,单位名称,级次\n101005,财政局,市级\n101006,教育局,市级\n101007,卫健委,市级\n"
Y2023 = "单位编码,单位名称,年度,类别,金额,凭证号\n101005,财政局,2023,公务接待费,1000.00,a1\n" \
        "101006,教育局,2023,公务接待费,2000.00,a2\n101007,卫健委,2023,公务接待费,3000.00,a3\n"
Y2024 = "单位编码,单位名称,年度,类别,金额,凭证号\n101006,教育局,2024,公务接待费,2500.00,b1\n" \
        "1O1005,财政局,2024,公务接待费,1200.00,b2\n"


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def load(engine, tmp_path, kind, name, body, **opts):
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return import_file(engine, kind, p, Options(submitted_by="clerk", role="finance", **opts))


def codes(engine):
    with reading(engine) as conn:
        return conn.execute(select(Unit.code).order_by(Unit.code)).scalars().all()


@pytest.fixture
def ledger(engine, tmp_path):
    assert load(engine, tmp_path, "units", "register.csv", REGISTER).status == "loaded"
    assert load(engine, tmp_path, "expenses", "2023.csv", Y2023).status == "loaded"
    return engine


def test_a_mistyped_code_is_refused_with_the_closest_known_codes(ledger, tmp_path):
    r = load(ledger, tmp_path, "expenses", "2024.csv", Y2024)
    assert r.status == "refused"
    [p] = [p for p in r.report["problems"]["listed"] if p["code"] == "unit-unknown"]
    assert (p["file"], p["row"], p["column"], p["value"]) == ("2024.csv", 3, "单位编码", "1O1005")
    assert p["message_zh"] == ("单位编码 1O1005 不在单位名录中（最接近的已知编码：101005、101007、101006）；"
                               "请核对编码，确属新单位请加 --new-units 重新导入")
    assert r.report["unknown_units"] == [{"unit_code": "1O1005", "unit_name": "财政局", "sheet": None, "row": 3,
                                          "column": "单位编码", "closest": ["101005", "101007", "101006"]}]
    assert codes(ledger) == ["101005", "101006", "101007"]  # nothing created, nothing loaded
    budgets = "单位编码,单位名称,年度,类别,阶段,金额\n1O1006,教育局,2024,公务接待费,年初预算,100.00\n"
    b = load(ledger, tmp_path, "budgets", "b.csv", budgets)
    assert b.status == "refused" and b.report["unknown_units"][0]["closest"][0] == "101006"


def test_new_units_admits_them_and_without_a_register_nothing_changes(ledger, engine, tmp_path):
    r = load(ledger, tmp_path, "expenses", "2024.csv", Y2024, new_units=True)
    assert r.status == "loaded"
    assert [(p["code"], p["value"], p["severity"]) for p in r.report["problems"]["listed"]] == [
        ("unit-admitted", "1O1005", "warning")]
    assert codes(ledger) == ["101005", "101006", "101007", "1O1005"]


def test_merge_and_retire_follow_into_coverage_and_totals(ledger, tmp_path, db_url):
    assert load(ledger, tmp_path, "expenses", "2024.csv", Y2024, new_units=True).status == "loaded"
    with reading(ledger) as conn:
        cov = totals.coverage(conn)
    assert [(y, c["reported"], c["expected"], c["missing_units"], c["basis"]) for y, c in cov.items()] == [
        (2023, 3, 3, [], "register"), (2024, 2, 4, ["101005", "101007"], "register")]

    done = sunshine(db_url, "units", "merge", "1O1005", "101005", "--by", "张三", "--note", "编码录入错误", "--json")
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)["event"]
    assert {k: event[k] for k in ("kind", "unit_code", "successor_code", "actor", "note")} == {
        "kind": "merge", "unit_code": "1O1005", "successor_code": "101005", "actor": "张三", "note": "编码录入错误"}
    again = sunshine(db_url, "units", "merge", "1O1005", "101006", "--by", "张三", "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["code"] == "merge-invalid"
    with reading(ledger) as conn:
        cov = totals.coverage(conn)
        by_unit = aggregate(conn, ["unit"], Filters(year=[2024]))
        cut = aggregate(conn, [], Filters(unit=["1O1005"], year=[2024]))
    assert [(y, c["reported"], c["expected"], c["missing_units"]) for y, c in cov.items()] == [
        (2023, 3, 3, []), (2024, 2, 3, ["101007"])]
    assert [(c["unit"], c["actual_fen"]) for c in by_unit.cells] == [("101005", 120_000), ("101006", 250_000)]
    assert by_unit.summary["actual_fen"] == 370_000 and cut.summary["actual_fen"] == 120_000

    done = sunshine(db_url, "units", "retire", "101007", "--year", "2024", "--by", "张三", "--json")
    assert done.returncode == 0, done.stderr
    with reading(ledger) as conn:
        cov = totals.coverage(conn)
        actions = conn.execute(select(AuditLog.action, AuditLog.actor).where(AuditLog.action.in_(
            ["unit.merge", "unit.retire"])).order_by(AuditLog.id)).all()
    assert [(y, c["reported"], c["expected"], c["complete"]) for y, c in cov.items()] == [
        (2023, 3, 3, True), (2024, 2, 2, True)]
    assert actions == [("unit.merge", "张三"), ("unit.retire", "张三")]
    listed = json.loads(sunshine(db_url, "units", "list", "--json").stdout)
    assert [(u["code"], u["state"], u["successor_code"], u["retired_from"]) for u in listed["units"]] == [
        ("101005", "active", None, None), ("101006", "active", None, None), ("101007", "retired", None, 2024),
        ("1O1005", "merged", "101005", None)]
    # rows keep the code they were published with
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        rows = c.get("/api/v1/expenses", params={"year": 2024}).json()["data"]
    assert sorted(r["unit_code"] for r in rows) == ["101006", "1O1005"]


def test_unit_events_are_append_only(ledger, tmp_path, db_url):
    assert load(ledger, tmp_path, "expenses", "2024.csv", Y2024, new_units=True).status == "loaded"
    assert sunshine(db_url, "units", "retire", "101007", "--year", "2024", "--by", "张三").returncode == 0
    for sql in ("UPDATE unit_event SET fiscal_year = 2030", "DELETE FROM unit_event"):
        with pytest.raises(Exception, match="append-only"), writing(ledger) as conn:
            conn.execute(text(sql))


def test_api_merge_and_retire_need_a_finance_or_admin_token(ledger, tmp_path, db_url):
    with writing(ledger) as conn:
        keys = {role: tokens.create(conn, name=f"{role}-甲", role=role)[0] for role in ("finance", "discipline")}
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        finance = {"Authorization": f"Bearer {keys['finance']}"}
        upload = {"file": ("2024.csv", Y2024.encode("utf-8"), "text/csv")}
        refused = c.post("/api/v1/imports", params={"kind": "expenses"}, files=upload, headers=finance)
        assert refused.status_code == 422
        assert refused.json()["files"][0]["unknown_units"][0]["closest"] == ["101005", "101007", "101006"]
        admitted = c.post("/api/v1/imports", params={"kind": "expenses", "new_units": "true"}, files=upload,
                          headers=finance)
        assert admitted.status_code == 200 and admitted.json()["files"][0]["status"] == "loaded"

        def post(path, body, who=None):
            headers = {"Authorization": f"Bearer {keys[who]}"} if who else {}
            return c.post(f"/api/v1/units/{path}", json=body, headers=headers)

        assert post("1O1005/merge", {"into": "101005"}).status_code == 401
        assert post("1O1005/merge", {"into": "101005"}, "discipline").status_code == 403
        assert post("XXXX/merge", {"into": "101005"}, "finance").status_code == 404
        made = post("1O1005/merge", {"into": "101005", "note": "录入错误"}, "finance")
        assert made.status_code == 201
        assert {k: made.json()[k] for k in ("kind", "unit_code", "successor_code", "actor")} == {
            "kind": "merge", "unit_code": "1O1005", "successor_code": "101005", "actor": "finance-甲"}
        assert post("1O1005/merge", {"into": "101006"}, "finance").status_code == 409
        assert post("101007/retire", {"year": 2024}, "finance").status_code == 201
        cov = c.get("/api/v1/aggregate", params={"drilldown": "unit", "year": 2024}).json()
    assert [(x["unit"], x["actual_fen"]) for x in cov["cells"]] == [("101005", 120_000), ("101006", 250_000)]
    assert [(x["fiscal_year"], x["reported"], x["expected"], x["complete"]) for x in cov["coverage"]] == [
        (2024, 2, 2, True)]
