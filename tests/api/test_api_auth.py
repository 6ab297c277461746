"""Tokens and roles over real HTTP: who may write, who may read what."""

from __future__ import annotations

import importlib.util

import pytest

from ledger.review import tokens
from ledger.store.db import make_engine, writing
from tests.api.test_api_errors import assert_problem
from tests.api_support import PUBLISHED_NOTE, RESTRICTED_NOTE, running, seed


@pytest.fixture
def api(db_url):
    seed(db_url)
    engine = make_engine(db_url)
    keys = {}
    with writing(engine) as conn:
        for role in ("finance", "discipline", "admin"):
            keys[role] = tokens.create(conn, name=f"{role}-甲", role=role)[0]
        keys["revoked"], info = tokens.create(conn, name="old-discipline", role="discipline")
        tokens.revoke(conn, info.id)
    engine.dispose()
    with running(db_url) as client:
        client.keys = keys
        yield client


def bearer(api, who: str) -> dict:
    return {"Authorization": f"Bearer {api.keys[who]}"}


REVIEW = {"to_state": "explained", "note": "接待有审批单"}
CSV = "unit_code,unit_name,fiscal_year,date,category,amount,payee\nU9,新单位,2024,2024-02-01,reception,12.34,=cmd|' /C calc'!A0\n"


def test_no_token_cannot_write(api):
    assert_problem(api.post("/api/v1/flags/flag1/reviews", json=REVIEW), 401)
    assert_problem(api.post("/api/v1/imports?kind=expenses", files={"file": ("a.csv", CSV.encode())}), 401)
    assert_problem(api.get("/api/v1/audit-log"), 401)


def test_finance_cannot_review_and_discipline_cannot_import(api):
    body = assert_problem(api.post("/api/v1/flags/flag1/reviews", json=REVIEW, headers=bearer(api, "finance")), 403)
    assert "discipline" in body["detail"]
    body = assert_problem(
        api.post("/api/v1/imports?kind=expenses", files={"file": ("a.csv", CSV.encode())}, headers=bearer(api, "discipline")),
        403,
    )
    assert "finance" in body["detail"]
    assert_problem(api.get("/api/v1/audit-log", headers=bearer(api, "finance")), 403)


def test_a_revoked_token_is_refused(api):
    assert_problem(api.post("/api/v1/flags/flag1/reviews", json=REVIEW, headers=bearer(api, "revoked")), 401)
    assert_problem(api.get("/api/v1/flags/flag1", headers=bearer(api, "revoked")), 401)


def test_review_workflow_keeps_notes_restricted_until_published(api):
    r = api.post("/api/v1/flags/flag1/reviews", json=REVIEW, headers=bearer(api, "discipline"))
    assert r.status_code == 201, r.text
    assert r.json()["to_state"] == "explained" and r.json()["reviewer"] == "discipline-甲"
    public = api.get("/api/v1/flags/flag1").json()
    assert public["flag"]["state"] == "explained"
    assert [x["note"] for x in public["reviews"]] == [PUBLISHED_NOTE, None, None]
    inside = api.get("/api/v1/flags/flag1", headers=bearer(api, "discipline")).json()
    assert [x["note"] for x in inside["reviews"]] == [PUBLISHED_NOTE, RESTRICTED_NOTE, "接待有审批单"]
    assert RESTRICTED_NOTE not in api.get("/api/v1/flags/flag1", headers=bearer(api, "finance")).text
    # an illegal move names what is allowed
    body = assert_problem(api.post("/api/v1/flags/flag1/reviews", json=REVIEW, headers=bearer(api, "discipline")), 409)
    assert "closed" in body["detail"]
    assert_problem(api.post("/api/v1/flags/nope/reviews", json=REVIEW, headers=bearer(api, "discipline")), 404)
    assert_problem(api.post("/api/v1/flags/flag1/reviews", json={"note": "x"}, headers=bearer(api, "discipline")), 400)
    r = api.post("/api/v1/flags/flag1/publish", headers=bearer(api, "discipline"))
    assert r.json() == {"flag_id": "flag1", "published": 2}
    assert [x["note"] for x in api.get("/api/v1/flags/flag1").json()["reviews"]] == [
        PUBLISHED_NOTE, RESTRICTED_NOTE, "接待有审批单"
    ]
    audit = api.get("/api/v1/audit-log", headers=bearer(api, "admin")).json()["data"]
    actions = [(a["action"], a["actor"], a["role"]) for a in audit]
    assert ("flag.review", "discipline-甲", "discipline") in actions
    assert ("flag.publish", "discipline-甲", "discipline") in actions
    assert api.get("/api/v1/audit-log", headers=bearer(api, "admin")).headers["cache-control"] == "no-store"


@pytest.mark.skipif(importlib.util.find_spec("importers.run") is None, reason="importers not built yet")
def test_finance_uploads_a_file_and_gets_the_cli_report(api):
    files = {"file": ("支出.csv", CSV.encode())}
    dry = api.post("/api/v1/imports?kind=expenses&dry_run=true", files=files, headers=bearer(api, "finance"))
    assert dry.status_code == 200, dry.text
    assert dry.json()["ok"] is True and dry.json()["files"][0]["status"] == "dry-run"
    assert api.get("/api/v1/expenses?unit=U9").json()["total"] == 0
    done = api.post("/api/v1/imports?kind=expenses", files=files, headers=bearer(api, "finance"))
    assert done.status_code == 200, done.text
    assert done.json()["files"][0]["status"] == "loaded"
    rows = api.get("/api/v1/expenses?unit=U9").json()["data"]
    assert [(r["amount_fen"], r["payee"]) for r in rows] == [(1234, "=cmd|' /C calc'!A0")]
    assert "'=cmd" in api.get("/api/v1/expenses?unit=U9&format=csv").content.decode("utf-8-sig")
    batch = api.get(f"/api/v1/import-batches/{done.json()['files'][0]['batch_id']}").json()
    assert batch["submitted_by"] == "finance-甲"
    bad = api.post("/api/v1/imports?kind=expenses", files={"file": ("bad.csv", b"unit_code,amount\n,abc\n")},
                   headers=bearer(api, "finance"))
    assert_problem(bad, 422)
    assert bad.json()["files"][0]["status"] == "refused"


POLICY = """
[policy]
id = "test-2023"
title = "接待费压减20%"
source_document = "test"

[[targets]]
id = "reception-cut-20"
title = "公务接待经费实际支出压减20%以上"
measure = "actual"
category = "reception"
baseline = "prior_year"
change_pct = -20
year_from = 2023
year_to = 2023
"""


def test_targets_and_results_after_a_check_run(db_url, tmp_path):
    from ledger.rules import checks, targets

    seed(db_url)
    policy = tmp_path / "test-2023.toml"
    policy.write_text(POLICY, encoding="utf-8")
    engine = make_engine(db_url)
    with writing(engine) as conn:
        assert not targets.load_policy_file(conn, policy).problems
        checks.run_checks(conn)
    engine.dispose()
    with running(db_url) as api:
        listed = api.get("/api/v1/targets").json()
        assert [t["id"] for t in listed["data"]] == ["reception-cut-20"]
        assert api.get("/api/v1/targets/reception-cut-20").json()["change_pct"] == "-20.00"
        results = api.get("/api/v1/target-results?unit=U1&year=2023").json()["data"]
        assert [(r["target_id"], r["baseline_fen"], r["cap_fen"], r["value_fen"], r["status"]) for r in results] == [
            ("reception-cut-20", 200_000, 160_000, 123_457, "met")
        ]
        flags = api.get("/api/v1/flags?rule=budget_overrun&year=2023").json()["data"]
        assert {f["unit_code"] for f in flags} >= {"U1"}
