"""The workspaces' journeys in a real browser (Debian's chromium through playwright), JavaScript off.

A clerk signs in, uploads a file with errors and sees them at their row and column, fixes it, confirms,
then uploads a correction; a reviewer opens the case, adds an internal and a public note, previews and
publishes; the public flags page shows the public note only. An admin creates an account. Every page
fits 390 px. Screenshots go to ``tests/artifacts/workspace-*.png`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.rules.checks import run_checks
from ledger.store.db import reading, writing
from ledger.store.models import ExpenseEntry, Flag
from tests.api_support import served
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 (fixture)
from tests.workspace.support import PASSWORDS, USERS, make_accounts
from tests.workspace.test_finance import BAD, CORRECTED, FIXED
from tests.workspace.test_review import BUDGETS, INTERNAL, PUBLIC

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"),
]
WIDER = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


@pytest.fixture
def site(engine, db_url, tmp_path):
    make_accounts(engine)
    with served(db_url, SUNSHINE_STAGING_DIR=str(tmp_path)) as base:
        yield base


def _page(browser, width: int):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=False,
                                  locale="zh-CN")
    return context.new_page()


def _sign_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/workspace/login")
    page.fill("#username", USERS[role][0])
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")


def _shot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"workspace-{backend}-{name}.png", full_page=True)


def _upload(page, base: str, tmp: Path, name: str, text: str, kind: str = "expenses", supersedes: str = "") -> None:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    page.goto(f"{base}/workspace/finance")
    page.select_option("#kind", kind)
    page.set_input_files("#file", str(path))
    if supersedes:
        page.select_option("#supersedes", supersedes)
    page.click("form[action^='/workspace/finance/check'] button[type=submit]")


@pytest.mark.parametrize("width", [1280, 390])
def test_clerk_uploads_fixes_confirms_and_corrects(site, browser, engine, backend, width, tmp_path):  # noqa: F811
    page = _page(browser, width)
    _sign_in(page, site, "finance")
    assert page.url.endswith("/workspace/finance")
    assert page.locator("[data-account]").first.inner_text() == "张三"
    _upload(page, site, tmp_path, "支出.csv", BAD)
    bad = page.locator("table.grid td.bad")
    assert bad.all_inner_texts() == ["2023-13-01", "12x", "二〇二三"]
    assert page.locator("[data-figure=errors]").inner_text() == "3"
    assert not page.evaluate(WIDER)
    _shot(page, f"{width}-dry-run-errors", backend)
    _upload(page, site, tmp_path, "支出.csv", FIXED)
    assert page.locator("[data-figure=errors]").inner_text() == "0"
    page.click("form[action^='/workspace/finance/confirm'] button")
    assert page.locator("[data-loaded]").inner_text() == "已导入为批次 1（3 行）。"
    _upload(page, site, tmp_path, "支出-更正.csv", CORRECTED, supersedes="1")
    page.click("form[action^='/workspace/finance/confirm'] button")
    assert page.locator("li[data-batch='1']").get_attribute("data-status") == "superseded"
    assert "已被批次 2 更正" in page.locator("li[data-batch='1']").inner_text()
    assert not page.evaluate(WIDER)
    _shot(page, f"{width}-timeline", backend)
    with reading(engine) as conn:
        live = conn.execute(select(ExpenseEntry.amount_fen).where(ExpenseEntry.batch_id == 2)
                            .order_by(ExpenseEntry.source_row)).scalars().all()
    assert live == [133_450, 12_000, 80_000]


def test_reviewer_notes_previews_publishes_and_the_public_sees_only_the_public_note(
        site, browser, engine, backend, tmp_path):  # noqa: F811
    clerk = _page(browser, 1280)
    _sign_in(clerk, site, "finance")
    for kind, text, name in (("budgets", BUDGETS, "预算.csv"), ("expenses", FIXED, "支出.csv")):
        _upload(clerk, site, tmp_path, name, text, kind=kind)
        clerk.click("form[action^='/workspace/finance/confirm'] button")
    with writing(engine) as conn:
        run_checks(conn, actor="test")
    with reading(engine) as conn:
        flag_id = conn.execute(select(Flag.id).where(Flag.rule_code == "budget_overrun")).scalar_one()

    page = _page(browser, 390)
    _sign_in(page, site, "discipline")
    assert page.url.endswith("/workspace/review")
    assert not page.evaluate(WIDER)
    _shot(page, "390-queue", backend)
    page.click(f"tr[data-flag='{flag_id}'] a")
    page.select_option("#to_state", "under_review")
    page.fill("#note", INTERNAL)
    page.check("input[name=visibility][value=internal]")
    page.click("form[action$='/state'] button")
    page.select_option("#to_state", "explained")
    page.fill("#note", PUBLIC)
    page.check("input[name=visibility][value=public]")
    page.click("form[action$='/state'] button")
    preview = page.locator("section.preview")
    assert PUBLIC in preview.inner_text() and INTERNAL not in preview.inner_text()
    assert not page.evaluate(WIDER)
    _shot(page, "390-case-before-publish", backend)
    page.click("form[action$='/publish'] button")
    wide = _page(browser, 1280)
    _sign_in(wide, site, "discipline")
    wide.goto(f"{site}/workspace/review/{flag_id}")
    _shot(wide, "1280-case", backend)
    wide.emulate_media(media="print")
    assert not wide.locator("form[action$='/state']").is_visible()
    _shot(wide, "1280-case-print", backend)
    wide.emulate_media(media="screen")
    wide.goto(f"{site}/workspace/review/{flag_id}?lang=en")
    assert wide.locator("h1").inner_text().startswith("Case file: Budget overrun")
    _shot(wide, "1280-case-en", backend)
    wide.goto(f"{site}/flags")
    text = wide.locator("main").inner_text()
    assert PUBLIC in text and INTERNAL not in text


def test_admin_creates_an_account_in_english(site, browser, backend):  # noqa: F811
    page = _page(browser, 390)
    page.goto(f"{site}/workspace/login?lang=en")
    page.fill("#username", USERS["admin"][0])
    page.fill("#password", PASSWORDS["admin"])
    page.click("button[type=submit]")
    page.goto(f"{site}/workspace/admin?lang=en")
    page.fill("#new-username", "zhao.liu")
    page.fill("#new-name", "赵六")
    page.select_option("#new-role", "discipline")
    page.fill("#new-password", "a long password 4")
    page.click("form[action^='/workspace/admin/accounts'] button")
    assert page.locator("[role=status]").inner_text() == "Account zhao.liu created."
    assert page.locator("tr[data-account='zhao.liu']").inner_text().split("\t")[:3] == ["zhao.liu", "赵六", "Discipline commission"]
    assert not page.evaluate(WIDER)
    _shot(page, "390-admin-en", backend)
