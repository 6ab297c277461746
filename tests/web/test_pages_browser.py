"""The public pages in a real browser against a real server.

Headless Chromium from Debian's ``chromium`` package, driven by playwright (never a browser that
playwright downloads). Every page opens in Chinese and English, every chart image loads, the key
figures shown equal the API's, every download link answers, and each page is saved as a screenshot
(screen and print media) under ``tests/artifacts/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_support import served
from tests.seed_public import PUBLISHED_NOTE, RESTRICTED_NOTE, seed

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PAGES = {"home": "/", "unit-EDU": "/units/EDU", "unit-ODD": "/units/ODD", "flags": "/flags",
         "procurement": "/procurement", "data": "/data"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"),
]


@pytest.fixture
def server(engine, db_url):
    seed(engine)
    with served(db_url) as base:
        yield base


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _figure(page, fid: str) -> int:
    return int(page.locator(f'[data-figure="{fid}"]').first.get_attribute("data-fen"))


def test_every_page_opens_with_charts_and_screenshots(server, browser, backend):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    for name, path in PAGES.items():
        for lang, url in (("zh", path), ("en", "/en" + (path if path != "/" else ""))):
            response = page.goto(server + url)
            assert response.status == 200, url
            # Charts load lazily: bring the whole page into view before checking every image loaded.
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            assert RESTRICTED_NOTE not in text
            assert ("阳光账本" if lang == "zh" else "Sunshine Ledger") in text
            broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0)"
                                                       ".map(i => i.src)")
            assert broken == [], broken
            page.screenshot(path=ARTIFACTS / f"{backend}-{name}-{lang}.png", full_page=True)
    page.emulate_media(media="print")
    page.goto(server + "/units/HLTH")
    page.wait_for_load_state("networkidle")
    assert not page.locator("nav").is_visible()  # print hides navigation
    page.screenshot(path=ARTIFACTS / f"{backend}-unit-HLTH-print.png", full_page=True)
    page.close()


def test_key_figures_shown_equal_the_api(server, browser):
    page = browser.new_page()
    page.goto(server + "/")
    agg = page.request.get(f"{server}/api/v1/aggregate?drilldown=year&group=three_public").json()
    by_year = {int(c["year"]): c for c in agg["cells"]}
    assert _figure(page, "three_public_actual") == by_year[2023]["actual_fen"]
    assert _figure(page, "three_public_prior") == by_year[2022]["actual_fen"]
    assert page.inner_text('[data-figure="three_public_actual"]') == "26.83 万元"
    proc = page.request.get(f"{server}/api/v1/reports/procurement?year=2023").json()
    assert _figure(page, "procurement_contract") == proc["scale_fen"]

    page.goto(server + "/units/EDU")
    agg = page.request.get(f"{server}/api/v1/aggregate?drilldown=year&group=three_public&unit=EDU").json()
    assert _figure(page, "three_public_actual") == {int(c["year"]): c for c in agg["cells"]}[2023]["actual_fen"]
    assert page.inner_text('[data-figure="three_public_actual"]') == "19.00 万元"

    page.goto(server + "/flags")
    assert PUBLISHED_NOTE in page.inner_text("body")
    flags = page.request.get(f"{server}/api/v1/flags").json()
    assert int(page.inner_text('[data-figure="flags"]')) == flags["total"] == len(flags["data"])
    page.close()


def test_download_links_answer(server, browser):
    page = browser.new_page()
    links: set[str] = set()
    for path in ("/units/EDU", "/procurement", "/data"):
        page.goto(server + path)
        links |= set(page.eval_on_selector_all(
            "main a[href^='/api/'], figcaption a[href]", "as => as.map(a => a.getAttribute('href'))"))
    assert any(".csv" in h for h in links) and any(h.endswith(".svg") or ".svg?" in h for h in links)
    failed = {}
    for href in sorted(links):
        r = page.request.get(server + href)
        if r.status != 200:
            failed[href] = r.status
        elif ".csv" in href:
            assert r.headers["content-type"].startswith("text/csv"), href
            assert r.body().startswith(b"\xef\xbb\xbf"), href  # UTF-8 with BOM, so Excel shows Chinese
    assert failed == {}
    unit_csv = page.request.get(server + "/api/v1/downloads/expenses.csv?unit=EDU").text()
    assert "EDU" in unit_csv and "HLTH" not in unit_csv  # the unit page's download holds that unit only
    # A real click on a chart download: the browser saves the file.
    page.goto(server + "/units/EDU")
    with page.expect_download() as info:
        page.locator("figcaption a[href*='trend.svg']").first.click()
    saved = ARTIFACTS / "download-trend-EDU.svg"
    info.value.save_as(saved)
    assert "教育局：三公经费预算与实际支出" in saved.read_text(encoding="utf-8")
    page.close()
