"""Natural persons among payees and suppliers: hidden from every public route, seen with a token, totals exact.

Loaded through the real importers (publication fills the search index), checked by the real rules (a
duplicate payment to a person names them in a flag), read through a real app.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import import_file
from ledger.read.privacy.report import redactions
from ledger.review import tokens
from ledger.store.db import reading, writing
from tests.ledgertext import run

EXPENSES = """单位编码,单位名称,年度,日期,类别,金额,收款方,收款方类型,摘要,凭证号
EDU,教育局,2023,2023-03-01,公务接待费,1200.00,阳光大酒店有限公司,,接待省教育厅调研组,V1
EDU,教育局,2023,2023-03-05,因公出国(境)费,35000.00,张三,,张三赴德国考察差旅报销,V2
EDU,教育局,2023,2023-03-05,因公出国(境)费,35000.00,张三,,张三赴德国考察差旅报销（续）,V3
EDU,教育局,2023,2023-04-02,因公出国(境)费,28000.50,李四,,出国培训费用,V4
HLTH,卫生健康局,2023,2023-05-03,交通费,420.00,Mr J Smith,,taxi fare for Mr J Smith,V5
HLTH,卫生健康局,2023,2023-05-04,会议费,3000.00,欧阳娜娜,,会议讲课费,V6
HLTH,卫生健康局,2023,2023-05-05,公务接待费,999.99,王府井大饭店,,接待市督导组,V7
EDU,教育局,2023,2023-06-01,公务接待费,650.00,Ahmed Khan,个人,翻译服务,V8
HLTH,卫生健康局,2023,2023-06-02,公务接待费,300.00,黄山,单位,接待用餐,V9
"""
PROCUREMENT = """项目编号,单位编码,单位名称,年度,项目名称,采购方式,预算金额,合同金额,供应商名称,统一社会信用代码,招标日期,中标日期,合同日期
CG-1,EDU,教育局,2023,办公设备采购,公开招标,500000.00,441000.00,某科技有限公司,91110000100000000X,2023-03-01,2023-03-20,2023-03-25
CG-2,EDU,教育局,2023,王建国个人设计服务,询价,60000.00,58000.00,王建国,,,,2023-06-01
"""
PERSONS = ["张三", "李四", "Smith", "欧阳娜娜", "王建国", "Khan"]
LABEL, LABEL_EN = "个人（已隐去）", "Redacted – personal data"
EXPENSES_FEN = 120000 + 3500000 * 2 + 2800050 + 42000 + 300000 + 99999 + 65000 + 30000  # 10,457,049 fen
PROCUREMENT_FEN = 44100000 + 5800000


@pytest.fixture
def client(engine, db_url, tmp_path):
    for kind, text in (("expenses", EXPENSES), ("procurement", PROCUREMENT)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        result = import_file(engine, kind, path, Options(submitted_by="test"))
        assert result.status == "loaded", result.report
    run(engine)
    with writing(engine) as conn:
        secret = tokens.create(conn, name="财务甲", role="finance")[0]
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        c.finance = {"Authorization": f"Bearer {secret}"}
        c.engine = engine
        yield c


def _text(r) -> str:
    if r.content[:2] == b"PK":  # xlsx: every XML part of the workbook
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return r.content.decode("utf-8", errors="replace")


def _leaks(text: str) -> list[str]:
    return [p for p in PERSONS if p in text]


ECHO = "无此名称"


def _asked(url: str) -> str | None:
    """The text a URL searches or filters by (pages show it back to the person who typed it)."""
    for key in ("q=", "payee=", "supplier="):
        if key in url:
            return url.split(key, 1)[1].split("&", 1)[0]
    return None


def _public_urls(client) -> list[str]:
    """Every GET route without a path parameter in the OpenAPI document, every list in every format,
    every row, every download, every page and chart, and searches for each name."""
    schema = client.get("/api/v1/schema/openapi.json").json()
    base = schema.get("servers", [{}])[0].get("url", "").rstrip("/") if schema.get("servers") else ""
    urls = [p if p.startswith("/api") else base + p for p, ops in schema["paths"].items()
            if "get" in ops and "{" not in p]
    for ds in ("expenses", "procurement", "flags", "budgets", "units", "import-batches", "targets", "target-results"):
        urls += [f"/api/v1/{ds}?format={f}" for f in ("json", "csv", "xlsx", "ndjson")]
        rows = client.get(f"/api/v1/{ds}", params={"limit": 1000}).json()["data"]
        urls += [f"/api/v1/{ds}/{r['id']}" for r in rows]
        urls += [f"/api/v1/downloads/{ds}.csv", f"/api/v1/downloads/{ds}.csv?labels=zh",
                 f"/api/v1/downloads/{ds}.csv?labels=en"]
    for pre in ("", "/en"):
        urls += [f"{pre}/", f"{pre}/flags", f"{pre}/procurement", f"{pre}/data", f"{pre}/units/EDU",
                 f"{pre}/units/HLTH", f"{pre}/units/EDU/lines?year=2023", f"{pre}/units/HLTH/lines?year=2023",
                 f"{pre}/compare?unit=EDU&unit=HLTH"]
        urls += [f"{pre}/search?q={q}" for q in [*PERSONS, "张", "Mr"]]
    urls += [f"/api/v1/search?q={q}&format={f}" for q in [*PERSONS, "张", "Mr J"] for f in ("json", "csv", "ndjson")]
    urls += [f"/api/v1/expenses?payee={n}" for n in ("张三", "Mr J Smith")] + ["/api/v1/procurement?supplier=王建国"]
    batches = client.get("/api/v1/import-batches").json()["data"]
    urls += [f"/api/v1/log/batches/{b['id']}/rows" for b in batches] + ["/api/v1/log/leaves", "/api/v1/log/checkpoint"]
    urls += [f"/api/v1/charts/{c}.svg?unit={u}" for c in ("trend", "composition", "ranking", "compliance",
                                                           "procurement", "methods") for u in ("EDU", "HLTH")]
    return urls


def test_no_personal_name_on_any_public_route(client):
    urls = _public_urls(client)
    assert len(urls) > 150
    for url in urls:
        r = client.get(url)
        assert r.status_code in (200, 400, 401, 403, 404), (url, r.status_code, r.text[:300])
        text, asked = _text(r), _asked(url)
        if asked:
            # the page may repeat what was typed, as often as it repeats a name that is nowhere in the data
            other = "Qzxqv" if asked.isascii() else ECHO  # links carry it percent-encoded unless ASCII
            echo = _text(client.get(url.replace(asked, other)))
            assert text.count(asked) == echo.count(other), url
            text = text.replace(asked, "")
        assert _leaks(text) == [], url


def test_a_finance_token_sees_the_names(client):
    body = client.get("/api/v1/expenses", params={"sort": "id"}, headers=client.finance).json()
    assert [r["payee"] for r in body["data"]] == ["阳光大酒店有限公司", "张三", "张三", "李四", "Mr J Smith",
                                                  "欧阳娜娜", "王府井大饭店", "Ahmed Khan", "黄山"]
    assert body["data"][4]["description"] == "taxi fare for Mr J Smith"
    got = client.get("/api/v1/expenses?payee=张三", headers=client.finance).json()
    assert [r["amount_fen"] for r in got["data"]] == [3500000, 3500000]
    csv = client.get("/api/v1/downloads/procurement.csv", headers=client.finance).text
    assert "王建国个人设计服务" in csv and ",王建国," in csv
    hits = client.get("/api/v1/search", params={"q": "张三"}, headers=client.finance).json()["data"]
    assert [(h["kind"], h["text"], h["row_count"], h["amount_fen"]) for h in hits] == [
        ("payee", "张三", 2, 7000000), ("description", "张三赴德国考察差旅报销", 1, 3500000),
        ("description", "张三赴德国考察差旅报销（续）", 1, 3500000)]
    [flag] = [f for f in client.get("/api/v1/flags", headers=client.finance).json()["data"]
              if f["rule_code"] == "duplicate_payment"]
    assert flag["figures"]["payee"] == "张三"
    assert "张三" in client.get("/units/EDU/lines?year=2023", headers=client.finance).text


def test_anonymous_reads_show_the_label_and_exact_amounts(client):
    body = client.get("/api/v1/expenses", params={"sort": "id"}).json()
    # Ahmed Khan: 个人 in the file's 收款方类型; 黄山 looks like a name but the file says 单位
    assert [r["payee"] for r in body["data"]] == ["阳光大酒店有限公司", LABEL, LABEL, LABEL, LABEL, LABEL, "王府井大饭店",
                                                  LABEL, "黄山"]
    assert [r["payee_type"] for r in body["data"]][-2:] == ["个人", "单位"]
    assert [r["description"] for r in body["data"]][1:5] == [
        f"{LABEL}赴德国考察差旅报销", f"{LABEL}赴德国考察差旅报销（续）", "出国培训费用", f"taxi fare for {LABEL}"]
    # every row keeps its own line and amount: the persons are never merged into one payee
    assert [r["amount_fen"] for r in body["data"]] == [120000, 3500000, 3500000, 2800050, 42000, 300000, 99999,
                                                       65000, 30000]
    assert sum(r["amount_fen"] for r in body["data"]) == EXPENSES_FEN == 10457049
    assert body["total"] == 9
    private = client.get("/api/v1/expenses", params={"sort": "id"}, headers=client.finance).json()
    assert sum(r["amount_fen"] for r in private["data"]) == EXPENSES_FEN
    agg = client.get("/api/v1/aggregate", params={"drilldown": "unit", "year": 2023}).json()
    assert {c["unit"]: c["actual_fen"] for c in agg["cells"]} == {"EDU": 9985050, "HLTH": 471999}
    assert agg["summary"]["actual_fen"] == EXPENSES_FEN
    proc = client.get("/api/v1/procurement", params={"sort": "id"}).json()["data"]
    assert [(p["supplier_name"], p["title"], p["contract_fen"]) for p in proc] == [
        ("某科技有限公司", "办公设备采购", 44100000), (LABEL, f"{LABEL}个人设计服务", 5800000)]
    assert sum(p["contract_fen"] for p in proc) == PROCUREMENT_FEN
    en = client.get("/en/units/HLTH/lines?year=2023").text
    assert LABEL_EN in en and "420.00" in en
    assert client.get("/api/v1/expenses?payee=张三").json()["total"] == 0
    # A name hidden only by its row's payee type (个人), asked of that name alone (redactor._stored_as_personal).
    assert client.get("/api/v1/expenses?payee=Ahmed Khan").json()["total"] == 0
    assert client.get("/api/v1/expenses?payee=Ahmed Khan", headers=client.finance).json()["total"] == 1


def test_the_report_counts_per_rule_and_dataset(client):
    with reading(client.engine) as conn:
        data = redactions(conn, names=True)
    e, p = data["datasets"]["expenses"], data["datasets"]["procurement"]
    assert (e["rows"], e["names"], e["amount_fen"], e["rows_checked"]) == (6, 5, 10207050, 9)
    assert e["by_rule"]["han_name"] == {"rows": 4, "names": 3, "amount_fen": 10100050}
    assert e["by_rule"]["personal_title"] == {"rows": 1, "names": 1, "amount_fen": 42000}
    assert e["by_rule"]["type_column"] == {"rows": 1, "names": 1, "amount_fen": 65000}
    assert (p["rows"], p["names"], p["amount_fen"]) == (1, 1, 5800000)
    assert [(n["name"], n["rule"], n["rows"]) for n in data["names"]] == [
        ("张三", "han_name", 2), ("李四", "han_name", 1), ("欧阳娜娜", "han_name", 1),
        ("Ahmed Khan", "type_column", 1), ("Mr J Smith", "personal_title", 1), ("王建国", "han_name", 1)]
    assert client.get("/api/v1/redactions").status_code == 401
    assert client.get("/api/v1/redactions", headers=client.finance).status_code == 403


def test_the_cli_report(client, db_url):
    from click.testing import CliRunner

    from cli.main import root

    out = CliRunner().invoke(root, ["--database", db_url, "redactions", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["datasets"]["expenses"]["rows"] == 6 and "names" not in data
    out = CliRunner().invoke(root, ["--lang", "en", "--database", db_url, "redactions", "--names"])
    assert "张三" in out.output and "expenses: 6 of 9 rows, 5 names, 102,070.50 元" in out.output
    assert "  han_name: 4 rows, 3 names, 101,000.50 元" in out.output
    out = CliRunner().invoke(root, ["--lang", "zh", "--database", db_url, "redactions"])
    assert "expenses：9 行中隐去 6 行，5 个名称，102,070.50 元" in out.output and "张三" not in out.output
