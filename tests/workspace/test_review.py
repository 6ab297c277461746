"""The reviewer's journey over HTTP: queue, case file, internal and public notes, preview, publish.
The flag is a real one: the clerk loads budgets and expenses through the finance workspace and the
checks run as ``sunshine check`` runs them. The public sees the published note and never the internal one."""

from __future__ import annotations

import re

from sqlalchemy import select

from ledger.rules.checks import run_checks
from ledger.store.db import reading, writing
from ledger.store.models import AuditLog, Flag, FlagReview
from tests.workspace.support import client, csrf_of, make_accounts, sign_in
from tests.workspace.test_finance import confirm

BUDGETS = ("单位编码,单位名称,年度,类别,阶段,金额\nU1,市财政局,2023,公务接待费,年初预算,1000\n"
           "U1,市财政局,2022,公务接待费,年初预算,1100\n")
EXPENSES = ("单位编码,单位名称,年度,日期,类别,金额,收款方\n"
            "U1,市财政局,2023,2023-03-01,公务接待费,800.00,某酒店\n"
            "U1,市财政局,2023,2023-06-01,公务接待费,434.50,某宾馆\n"
            "U1,市财政局,2022,2022-06-01,公务接待费,900.00,某宾馆\n")
INTERNAL = "线索：接待对象疑似虚构，待核实"
PUBLIC = "单位已说明：接待经审批，超支部分已退回"


def load_and_check(engine, db_url) -> str:
    with client(db_url) as c:
        sign_in(c, "finance")
        for kind, text, name in (("budgets", BUDGETS, "预算.csv"), ("expenses", EXPENSES, "支出.csv")):
            page = c.get("/workspace/finance")
            checked = c.post("/workspace/finance/check", data={"csrf": csrf_of(page.text), "kind": kind},
                             files={"file": (name, text.encode(), "text/csv")})
            assert confirm(c, checked).status_code == 303
    with writing(engine) as conn:
        run_checks(conn, actor="test")
    with reading(engine) as conn:
        return conn.execute(select(Flag.id).where(Flag.rule_code == "budget_overrun")).scalar_one()


def test_review_with_internal_and_public_notes_then_publish(engine, db_url):
    make_accounts(engine)
    flag_id = load_and_check(engine, db_url)
    with client(db_url) as c:
        sign_in(c, "discipline")
        queue = c.get("/workspace/review?rule=budget_overrun&state=open&year=2023")
        assert re.findall(r'data-flag="([0-9a-f]+)" data-state="(\w+)"', queue.text) == [(flag_id, "open")]
        assert c.get("/workspace/review?state=closed").text.count("data-flag=") == 0
        case = c.get(f"/workspace/review/{flag_id}")
        assert case.status_code == 200 and "超预算支出" in case.text
        # the figures, the rule's threshold, the batches and rows behind them
        figures = dict(re.findall(r'data-figure="(\w+)"><th scope="row">[^<]+<code class="key">\w+</code></th>'
                                  r'<td class="num">([^<]+)<', case.text))
        assert figures == {"actual_fen": "1,234.50 元", "budget_fen": "1,000.00 元", "budget_stage": "original",
                           "excess_fen": "234.50 元", "excess_pct": "23.5"}  # the rule rounds to one place
        assert "决算数" in case.text and "超出比例（%）" in case.text
        years = re.findall(r'<tr data-year="(\d+)"[^>]*><th scope="row">\d+</th><td class="num">([^<]+)</td>'
                           r'<td class="num">([^<]+)</td>', case.text)
        assert years == [("2023", "1,234.50", "1,000.00"), ("2022", "900.00", "1,100.00")]
        assert 'data-threshold="min_excess_pct"' in case.text
        assert re.findall(r'<li data-batch="(\d+)">', case.text) == ["1", "2"]
        assert re.findall(r'data-source="(\d+:\d+)"', case.text) == ["2:2", "2:3", "1:2"]  # 2022's rows are not evidence
        assert "zhang.san" in case.text  # the importer, who may not review it, is named
        token = csrf_of(case.text)

        assert c.get("/workspace/review?assignee=-").text.count("data-flag=") == 1
        assert c.post(f"/workspace/review/{flag_id}/assign", data={"csrf": token, "assignee": "zhang.san"}
                      ).status_code == 422  # a finance account reviews nothing
        assigned = c.post(f"/workspace/review/{flag_id}/assign", data={"csrf": token, "assignee": "li.si"},
                          follow_redirects=False)
        assert assigned.status_code == 303
        assert re.findall(r'data-assignee="([^"]*)"', c.get("/workspace/review?assignee=li.si").text) == ["li.si"]
        assert c.get("/workspace/review?assignee=-").text.count("data-flag=") == 0

        assert c.post(f"/workspace/review/{flag_id}/state",
                      data={"to_state": "under_review", "note": "x"}).status_code == 403  # no CSRF token
        step = c.post(f"/workspace/review/{flag_id}/state", follow_redirects=False,
                      data={"csrf": token, "to_state": "under_review", "note": INTERNAL, "visibility": "internal"})
        assert step.status_code == 303
        wrong = c.post(f"/workspace/review/{flag_id}/state",
                       data={"csrf": token, "to_state": "closed", "note": "跳过", "visibility": "public"})
        assert wrong.status_code == 409 and "跳过" in wrong.text
        c.post(f"/workspace/review/{flag_id}/state",
               data={"csrf": token, "to_state": "explained", "note": PUBLIC, "visibility": "public"})
        case = c.get(f"/workspace/review/{flag_id}")
        preview = case.text.split('id="pre-h"')[1]
        assert PUBLIC in preview and INTERNAL not in preview
        assert INTERNAL in case.text  # the reviewer reads both
        assert "发布结论 (1)" in preview
        assert PUBLIC not in c.get("/flags").text  # not public until published
        done = c.post(f"/workspace/review/{flag_id}/publish", data={"csrf": token}, follow_redirects=False)
        assert done.status_code == 303
        public = c.get("/flags").text
        assert PUBLIC in public and INTERNAL not in public
        api = c.get(f"/api/v1/flags/{flag_id}").json()
        assert [r["note"] for r in api["reviews"]] == [None, PUBLIC]
    with reading(engine) as conn:
        reviews = conn.execute(select(FlagReview.reviewer, FlagReview.to_state, FlagReview.visibility,
                                      FlagReview.published_at.is_not(None)).order_by(FlagReview.id)).all()
        audit = conn.execute(select(AuditLog.actor, AuditLog.role, AuditLog.action)
                             .where(AuditLog.action.like("flag.%")).order_by(AuditLog.id)).all()
    assert [tuple(r) for r in reviews] == [("li.si", "under_review", "internal", False),
                                          ("li.si", "explained", "public", True)]
    assert [tuple(a) for a in audit] == [("li.si", "discipline", "flag.assign")] + [
        ("li.si", "discipline", "flag.review")] * 2 + [("li.si", "discipline", "flag.publish")]


def test_a_clerk_cannot_open_the_review_workspace(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        sign_in(c, "finance")
        assert c.get("/workspace/review").status_code == 403
        assert c.get("/workspace/review/abc").status_code == 403


def test_a_flag_whose_evidence_is_a_bare_list_names_no_importer(engine):
    from ledger.review.workflow import importers_of
    from ledger.store.db import reading as _reading

    with _reading(engine) as conn:
        assert importers_of(conn, "[]") == set()
        assert importers_of(conn, '{"batch_ids": []}') == set()
