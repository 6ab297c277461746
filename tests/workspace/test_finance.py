"""The clerk's journey over HTTP: upload with errors (drawn at their row and column), fix, confirm,
then correct a batch; the timeline marks the superseded one. Same pipeline as the CLI."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ledger.store.db import reading
from ledger.store.models import AuditLog, ExpenseEntry, ImportBatch
from tests.workspace.support import client, csrf_of, make_accounts, sign_in

HEADER = "单位编码,单位名称,年度,日期,类别,金额,收款方\n"
BAD = HEADER + ("U1,市财政局,2023,2023-03-01,公务接待费,1234.50,某酒店\n"
                "U1,市财政局,2023,2023-13-01,公务接待费,12x,某酒店\n"
                "U2,市教育局,二〇二三,2023-05-02,会议费,800,某宾馆\n")
FIXED = BAD.replace("2023-13-01", "2023-12-01").replace("12x", "120").replace("二〇二三", "2023")
CORRECTED = FIXED.replace("1234.50", "1334.50")


def upload(c, text: str, name: str, **fields):
    page = c.get("/workspace/finance")
    return c.post("/workspace/finance/check", files={"file": (name, text.encode("utf-8"), "text/csv")},
                  data={"csrf": csrf_of(page.text), "kind": "expenses", **fields})


def confirm(c, checked):
    stage = re.search(r'name="stage" value="([0-9a-f]{32})"', checked.text).group(1)
    return c.post("/workspace/finance/confirm", data={"csrf": csrf_of(checked.text), "stage": stage},
                  follow_redirects=False)


def _entries(engine) -> tuple[int, int]:
    with reading(engine) as conn:
        return conn.execute(select(func.count(), func.coalesce(func.sum(ExpenseEntry.amount_fen), 0))).one()


def test_upload_with_errors_fix_confirm_correct(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        sign_in(c, "finance")
        bad = upload(c, BAD, "支出.csv")
        assert bad.status_code == 422
        assert 'data-figure="errors">3<' in bad.text and 'name="stage"' not in bad.text
        # each problem at its row and column of the grid, the cell highlighted
        bad_cells = re.findall(r'<tr data-row="(\d+)" class="bad-row">.*?</tr>', bad.text, re.S)
        assert bad_cells == ["3", "4"]
        assert re.findall(r'class="bad" title="[^"]*" data-column="([^"]+)">([^<]*)<', bad.text) == [
            ("日期", "2023-13-01"), ("金额", "12x"), ("年度", "二〇二三")]
        assert "行 3 · 金额" in bad.text and "不是有效金额" in bad.text
        assert _entries(engine) == (0, 0)

        good = upload(c, FIXED, "支出.csv")
        assert good.status_code == 200 and 'data-figure="errors">0<' in good.text
        assert _entries(engine) == (0, 0)  # a dry run writes nothing
        done = confirm(c, good)
        assert done.status_code == 303 and done.headers["location"] == "/workspace/finance?batch=1"
        page = c.get(done.headers["location"])
        assert "已导入为批次 1（3 行）" in page.text
        assert _entries(engine) == (3, 123_450 + 12_000 + 80_000)
        again = confirm(c, good)  # the staged file is gone once confirmed
        assert again.status_code == 410

        fix = upload(c, CORRECTED, "支出-更正.csv", supersedes="1")
        assert fix.status_code == 200 and "更正批次" in fix.text
        assert confirm(c, fix).headers["location"] == "/workspace/finance?batch=2"
        timeline = c.get("/workspace/finance").text
        assert re.findall(r'data-batch="(\d+)" data-status="(\w+)"', timeline) == [("2", "published"),
                                                                                 ("1", "superseded")]
        assert 'data-corrects="1"' in timeline and 'data-superseded-by="2"' in timeline
        assert "已被批次 2 更正" in timeline
    with reading(engine) as conn:
        # the old batch keeps its row as it was; the new one says what it supersedes
        batches = conn.execute(select(ImportBatch.id, ImportBatch.submitted_by, ImportBatch.status,
                                      ImportBatch.supersedes_id).order_by(ImportBatch.id)).all()
        imports = conn.execute(select(AuditLog.actor, AuditLog.role).where(AuditLog.action.like("import%"))).all()
        live = conn.execute(select(func.sum(ExpenseEntry.amount_fen)).where(ExpenseEntry.batch_id == 2)).scalar()
    assert [tuple(b) for b in batches] == [(1, "zhang.san", "published", None), (2, "zhang.san", "published", 1)]
    assert live == 133_450 + 12_000 + 80_000
    assert imports and {tuple(a) for a in imports} == {("zhang.san", "finance")}


def test_a_reviewer_cannot_upload_and_confirm_needs_the_stager(engine, db_url):
    make_accounts(engine)
    with client(db_url) as clerk, client(db_url) as reviewer:
        sign_in(clerk, "finance")
        good = upload(clerk, FIXED, "支出.csv")
        sign_in(reviewer, "discipline")
        assert reviewer.get("/workspace/finance").status_code == 403
        stage = re.search(r'name="stage" value="([0-9a-f]{32})"', good.text).group(1)
        review_page = reviewer.get("/workspace/review")
        forged = reviewer.post("/workspace/finance/confirm", data={"csrf": csrf_of(review_page.text), "stage": stage})
        assert forged.status_code == 403
    assert _entries(engine) == (0, 0)


def test_cells_and_file_names_are_shown_as_text_never_markup(engine, db_url):
    make_accounts(engine)
    hostile = HEADER + 'U1,市财政局,2023,2023-03-01,公务接待费,"<img src=x onerror=alert(1)>",<script>x()</script>\n'
    with client(db_url) as c:
        sign_in(c, "finance")
        page = upload(c, hostile, "<b>x</b>.csv")
    assert page.status_code == 422
    assert "<script>x()" not in page.text and "<img src=x" not in page.text and "<b>x</b>" not in page.text
    assert "&lt;script&gt;x()&lt;/script&gt;" in page.text
    assert re.findall(r'class="bad" title="[^"]*" data-column="([^"]+)">([^<]*)<', page.text) == [
        ("金额", "&lt;img src=x onerror=alert(1)&gt;")]
