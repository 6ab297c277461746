"""The portal's journeys in a real browser (Debian's chromium through playwright), at desktop and 390 px.

A journalist finds a payee by a Chinese fragment, follows it to the line items and downloads exactly
those rows; goes from the city to a region, a unit, a category's line items; compares two units; all
with JavaScript off. The pages fit a 390 px screen without horizontal scrolling and unit names do not
wrap one character per line. The API docs load with every request outside this machine blocked.
Screenshots go to ``tests/artifacts/portal-*.png`` for a person to look at.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from importers.pipeline import Options
from importers.run import import_file
from tests.api.search.test_search import EXPENSES
from tests.api_support import served
from tests.seed_public import seed
from tests.web.test_pages_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 (fixture)
from tests.web.test_portal_drill import UNITS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"),
]
PAGES = {
    "home": "/", "unit": "/units/EDU", "lines": "/units/EDU/lines?year=2023&category=reception",
    "region": "/regions/市本级", "compare": "/compare?unit=EDU&unit=HLTH&unit=ODD", "search": "/search?q=公司",
    "flags": "/flags", "procurement": "/procurement", "data": "/data", "404": "/units/NOPE",
}


@pytest.fixture
def portal(engine, db_url, tmp_path):
    seed(engine)
    for kind, text, opts in (("units", UNITS, {"update_units": True}), ("expenses", EXPENSES, {})):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert import_file(engine, kind, path, Options(submitted_by="test", **opts)).status == "loaded"
    with served(db_url) as base:
        yield base


# Each link to a unit inside a table: its first line must hold at least two characters (or the whole name).
ONE_CHAR_LINES = """() => [...document.querySelectorAll('main table a[href*="/units/"]')].filter(a => {
  const r = document.createRange(); r.selectNodeContents(a);
  const first = r.getClientRects()[0]; const size = parseFloat(getComputedStyle(a).fontSize);
  return first && a.textContent.trim().length > 1 && first.width < 1.8 * size;
}).map(a => a.textContent)"""


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_fit_the_screen_and_are_saved(portal, browser, backend, width):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    for name, path in PAGES.items():
        for lang, url in (("zh", path), ("en", "/en" + (path if path != "/" else ""))):
            response = page.goto(portal + url)
            assert response.status == (404 if name == "404" else 200), url
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, url
            assert page.evaluate(ONE_CHAR_LINES) == [], url
            assert ("阳光账本" if lang == "zh" else "Sunshine Ledger") in page.inner_text("header")
            page.screenshot(path=ARTIFACTS / f"portal-{backend}-{width}-{name}-{lang}.png", full_page=True)
    page.emulate_media(media="print")
    page.goto(portal + "/units/EDU")
    assert not page.locator("form.search").is_visible() and page.locator("table.disclosure").is_visible()
    page.screenshot(path=ARTIFACTS / f"portal-{backend}-{width}-unit-print.png", full_page=True)
    context.close()


def test_a_journalist_without_javascript_on_a_phone(portal, browser, backend):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", java_script_enabled=False,
                                  accept_downloads=True)
    page = context.new_page()
    # Find a payee by a Chinese fragment from the search box on the home page.
    page.goto(portal + "/")
    page.fill("#site-q", "大酒店")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search?q=*")
    page.click("table.hits tr[data-kind='payee'] a >> text=阳光大酒店有限公司")
    assert page.inner_text('[data-figure="line_count"]') == "2"
    assert page.inner_text('[data-figure="page_sum"]') == "2,000.50"
    # Download exactly what is shown, with Chinese headers and 元 / 万元.
    with page.expect_download() as info:
        page.click("ul.downloads a >> nth=0")
    saved = ARTIFACTS / f"portal-{backend}-download-payee.csv"
    info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r["日期"], r["收款方"], r["金额（元）"], r["金额（万元）"]) for r in rows] == [
        ("2023-03-01", "阳光大酒店有限公司", "1200.00", "0.120000"),
        ("2023-04-02", "阳光大酒店有限公司", "800.50", "0.080050")]
    # City → region → unit → category → line items, the year kept in every link.
    page.goto(portal + "/?year=2023")
    page.click("table.regions a >> text=市本级")
    assert page.inner_text('[data-figure="units_reporting"]') == "2 / 3"
    page.click("table.units a >> text=教育局")
    assert "year=2023" in page.url
    page.click("table.categories a >> text=公务接待费")
    assert page.inner_text('[data-figure="line_count"]') == "3"
    assert page.inner_text("div.crumbs") == "全区 › 市本级 › 阳光市人民政府 › 教育局 › 公务接待费 · 2023"
    page.screenshot(path=ARTIFACTS / f"portal-{backend}-journey-lines.png", full_page=True)
    # Compare two units with the plain form.
    page.goto(portal + "/compare")
    page.select_option("select[name=unit] >> nth=0", "EDU")
    page.select_option("select[name=unit] >> nth=1", "HLTH")
    page.click(".compare-form button")
    assert page.locator("tr[data-item=total] td").all_inner_texts()[0].startswith("19.20")
    assert page.locator("tr[data-item=total] td").all_inner_texts()[1].startswith("6.60")
    page.screenshot(path=ARTIFACTS / f"portal-{backend}-journey-compare.png", full_page=True)
    context.close()


def test_api_docs_load_with_the_internet_blocked(portal, browser, backend):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_here(route):
        if route.request.url.startswith(portal):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(portal + "/api/v1/schema")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Sunshine Ledger" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/search").count() >= 1
    assert outside == []
    page.screenshot(path=ARTIFACTS / f"portal-{backend}-api-docs.png")
    page.close()
