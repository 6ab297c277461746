"""Search answers byte for byte over a generated ledger: as the body-per-entry index gave them, and three ways now.

Migration 0013_search_text moved the texts into ``search_text`` and the importer now counts and sums a
batch's texts from its frames (issue 15). ``search_answers.json`` holds the answers (hit count and the body's SHA-256) the index before it
gave (commit 851e22f, written with ``SUNSHINE_SEARCH_GOLDEN=write``), per backend; the same answers must
come now from the frames, from a rebuild over the stored rows (``search_index.rebuild``), and after a
downgrade to the bodies and an upgrade again. The ledger: the ``tiny`` benchmark files, expenses naming
natural persons (hidden unless revealed), a correction, real OCDS files (UAH, EUR) and a replaced ocid.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from bench.generate import generate
from importers.pipeline import Options
from importers.procurement import ocds
from importers.run import import_file
from ledger.review import tokens
from ledger.store import migrate
from ledger.store.db import make_engine, writing
from tests.conftest import REAL
from tests.seed_public import seed

GOLDEN = Path(__file__).with_name("search_answers.json")
PERSONS = """单位编码,单位名称,年度,日期,类别,金额,收款方,摘要,凭证号
EDU,教育局,2023,2023-03-01,公务接待费,1200.00,阳光大酒店有限公司,接待省教育厅调研组,V1
EDU,教育局,2023,2023-04-02,公务接待费,800.50,阳光大酒店有限公司,接待市督导组,V2
HLTH,卫生健康局,2023,2023-05-03,会议费,3000.00,王芳,会议场地租赁,V3
HLTH,卫生健康局,2023,2023-05-04,会议费,3000.00,李建国,王芳 会议场地租赁,V3b
HLTH,卫生健康局,2022,2022-06-04,交通费,150.00,Leeds City Council,taxi fare 50%,V4
HLTH,卫生健康局,2022,2022-06-05,交通费,150.00,leeds city council,Taxi Fare 50%,V5
"""
QUERIES = ["供应商0", "供应商1", "有限公司", "大酒店", "酒店", "王芳", "李建国", "会议", "场地租", "采购", "项目", "设备",
           "局", "单位", "预算单位", "city", "CITY COUNCIL", "50%", "%", "_", "ab", "Lda", "ТОВ", "сервіс", "公司", "x"]
VARIANTS = [{}, {"limit": "1"}, {"limit": "100"}, {"kind": "payee"}, {"kind": "description", "limit": "5"},
            {"kind": ["supplier", "title"]}, {"kind": "unit"}]


def _release(ocid, rid, date, amount, supplier, title):
    return {"ocid": ocid, "id": rid, "date": date, "tag": ["contract"], "buyer": {"id": "B1", "name": "阳光市财政局"},
            "tender": {"title": title}, "awards": [{"id": "A1", "suppliers": [{"id": "S1", "name": supplier}]}],
            "contracts": [{"id": "C1", "status": "active", "dateSigned": date[:10], "value": {"amount": amount, "currency": "CNY"}}]}


def _package(tmp_path: Path, name: str, *releases) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "1.1", "releases": list(releases)}, ensure_ascii=False), encoding="utf-8")
    return path


def _ledger(engine, tmp_path: Path) -> None:
    seed(engine)
    files = generate("tiny", tmp_path / "bench")
    opts = Options(submitted_by="test")
    for kind, path in (("expenses", files["expenses"]), ("procurement", files["procurement"]),
                       ("expenses", files["expenses_extra"])):
        assert import_file(engine, kind, path, opts).status == "loaded"
    persons = tmp_path / "persons.csv"
    persons.write_text(PERSONS, encoding="utf-8")
    first = import_file(engine, "expenses", persons, opts)
    fixed = tmp_path / "persons-fixed.csv"
    fixed.write_text(PERSONS.replace("800.50", "810.50"), encoding="utf-8")
    assert import_file(engine, "expenses", fixed, Options(submitted_by="test", supersedes=first.batch_id)).status == "loaded"
    for path in [REAL / "ocds" / "portugal_impic_release_package.json",
                 *sorted((REAL / "ocds" / "ukraine_records").glob("*.json"))[:3],
                 _package(tmp_path, "a.json", _release("ocds-x-1", "1", "2023-03-01T00:00:00Z", 1000, "甲乙设备公司", "设备采购"),
                          _release("ocds-x-2", "1", "2023-03-01T00:00:00Z", 500, "丙丁公司", "会议服务采购")),
                 _package(tmp_path, "b.json", _release("ocds-x-1", "2", "2023-04-01T00:00:00Z", 1200, "戊己公司", "设备采购（更正）"))]:
        assert ocds.import_file(engine, path, opts).status == "loaded"


def _answers(engine, url: str) -> dict[str, str]:
    with writing(engine) as conn:
        secret = tokens.create(conn, name="财务甲", role="finance")[0]
    out = {}
    with TestClient(create_app(url), base_url="http://127.0.0.1") as client:
        for q in QUERIES:
            for params in VARIANTS:
                for reveal in (False, True):
                    r = client.get("/api/v1/search", params={"q": q, **params},
                                   headers={"Authorization": f"Bearer {secret}"} if reveal else {})
                    key = json.dumps([q, params, reveal], ensure_ascii=False, sort_keys=True)
                    assert r.status_code == 200, r.text
                    out[key] = f"{len(r.json()['data'])} hits, sha256 {hashlib.sha256(r.content).hexdigest()}"
    return out


def test_search_answers_are_the_same_bytes_as_before(empty_db_url, backend, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    monkeypatch.setenv("SUNSHINE_RATE_LIMIT", "0")
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    _ledger(engine, tmp_path)
    now = _answers(engine, empty_db_url)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("SUNSHINE_SEARCH_GOLDEN") == "write":
        GOLDEN.write_text(json.dumps(golden | {backend: now}, ensure_ascii=False, indent=0, sort_keys=True) + "\n",
                          encoding="utf-8")
        return
    assert now == golden[backend]
    assert sum(not a.startswith("0 ") for a in now.values()) > len(now) // 2  # most queries find something
    from ledger.store.derived import search_index

    with writing(engine) as conn:  # the stored rows' GROUP BYs (the path without frames)
        search_index.rebuild(conn)
    assert _answers(engine, empty_db_url) == now
    engine.dispose()
    migrate.downgrade(empty_db_url, "0012_unit_kind")  # the bodies back in search_entry, then moved out again
    migrate.upgrade(empty_db_url)
    assert _answers(engine, empty_db_url) == now
    assert migrate.check_drift(empty_db_url) == []
    engine.dispose()
