"""Search shows what counts: a procurement row replaced by a newer state of its ocid drops out of
search (its text, count and amount), comes back when the replacing batch is superseded, and an
amount keeps its currency (a UAH contract is never shown as yuan)."""

from __future__ import annotations

import json

from importers.pipeline import Options
from importers.procurement.ocds import import_file
from ledger.read.published.search import search
from ledger.store.db import reading
from tests.api_support import running
from tests.conftest import REAL

UKRAINE = sorted((REAL / "ocds" / "ukraine_records").glob("*.json"))


def _release(ocid, rid, date, amount, title, supplier):
    return {"ocid": ocid, "id": rid, "date": date, "tag": ["contract"], "buyer": {"id": "B1", "name": "阳光市财政局"},
            "tender": {"title": title},
            "awards": [{"id": "A1", "status": "active", "suppliers": [{"id": "S1", "name": supplier}]}],
            "contracts": [{"id": "C1", "status": "active", "dateSigned": date[:10],
                           "value": {"amount": amount, "currency": "CNY"}}]}


def _load(engine, tmp_path, name, *releases, supersedes=None):
    path = tmp_path / name
    path.write_text(json.dumps({"version": "1.1", "releases": list(releases)}, ensure_ascii=False), encoding="utf-8")
    result = import_file(engine, path, Options(submitted_by="test", supersedes=supersedes))
    assert result.status == "loaded", result.report
    return result


def _found(engine, q):
    with reading(engine) as conn:
        return [(h["kind"], h["text"], h["row_count"], h["amount_fen"], h["currency"])
                for h in search(conn, q, ["supplier", "title"]).hits]


def test_a_replaced_state_leaves_search_and_comes_back_when_its_replacement_is_withdrawn(engine, db_url, tmp_path):
    _load(engine, tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000, "办公设备采购", "阳光科技有限公司"),
          _release("ocds-x-2", "1", "2023-03-01T00:00:00Z", 500, "印刷服务", "阳光科技有限公司"))
    assert _found(engine, "办公设备") == [("title", "办公设备采购", 1, 100_000, "CNY")]
    newer = _load(engine, tmp_path, "b.json",
                  _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200, "办公设备采购（变更）", "阳光科技有限公司"))
    assert newer.report["ocds"]["replaced_records"] == 1
    # before the fix: 办公设备采购 1 row ¥1,000 stayed findable and 阳光科技 showed 3 rows ¥2,700
    assert _found(engine, "办公设备") == [("title", "办公设备采购（变更）", 1, 120_000, "CNY")]
    assert _found(engine, "阳光科技") == [("supplier", "阳光科技有限公司", 2, 170_000, "CNY")]
    with running(db_url) as client:
        body = client.get("/api/v1/search", params={"q": "办公设备"}).json()
        page = client.get("/search", params={"q": "阳光科技"}).text
    assert [(h["text"], h["amount_yuan"], h["currency"]) for h in body["data"]] == [("办公设备采购（变更）", "1200.00", "CNY")]
    assert 'data-fen="170000"' in page and 'data-fen="270000"' not in page
    # the replacing batch withdrawn (superseded by a file without ocds-x-1): the first state counts again
    _load(engine, tmp_path, "c.json", _release("ocds-x-9", "1", "2023-05-01T00:00:00Z", 10, "其他", "其他公司"),
          supersedes=newer.batch_id)
    assert _found(engine, "办公设备") == [("title", "办公设备采购", 1, 100_000, "CNY")]
    assert _found(engine, "阳光科技") == [("supplier", "阳光科技有限公司", 2, 150_000, "CNY")]


def test_a_uah_contract_is_found_in_uah_never_as_yuan(engine, db_url):
    for path in UKRAINE:
        assert import_file(engine, path, Options(submitted_by="test")).status == "loaded"
    with running(db_url) as client:
        body = client.get("/api/v1/search", params={"q": "ТОВ", "kind": "supplier", "limit": 100}).json()
        page = client.get("/search", params={"q": "ТОВ", "kind": "supplier"}).text
    assert [(h["text"], h["row_count"], h["amount_fen"], h["currency"], h["amount_yuan"]) for h in body["data"]] == [
        ('СТОВ "Степ-Агро"', 1, 1_000_000, "UAH", None),
        (body["data"][1]["text"], 1, 287_500, "UAH", None)]
    # the page shows UAH 10,000.00, not 1.00万元
    assert 'data-fen="1000000">10,000.00 UAH</td>' in page
