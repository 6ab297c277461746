"""Reads as of a signed checkpoint: an old total reproduced, with its root, after a correction (issue 18)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import func, insert, select

from api.app import create_app
from cli.main import root
from importers.pipeline import Options
from importers.run import import_file
from ledger.log import tlog
from ledger.review import workflow
from ledger.store.db import writing
from ledger.store.models import CheckRun, Flag, LogCheckpoint, Unit

FIRST = """单位编码,单位名称,年度,日期,类别,金额,收款方,摘要,凭证号
EDU,教育局,2023,2023-03-01,公务接待费,1200.00,阳光大酒店有限公司,接待省教育厅调研组,V1
EDU,教育局,2023,2023-04-02,公务接待费,800.50,阳光大酒店有限公司,接待市督导组,V2
HLTH,卫生健康局,2023,2023-05-03,会议费,3000.00,某会议中心,会议场地租赁,V3
"""
# the correction: V2 was 80.50, not 800.50, and V3 is withdrawn
FIXED = """单位编码,单位名称,年度,日期,类别,金额,收款方,摘要,凭证号
EDU,教育局,2023,2023-03-01,公务接待费,1200.00,阳光大酒店有限公司,接待省教育厅调研组,V1
EDU,教育局,2023,2023-04-02,公务接待费,80.50,阳光大酒店有限公司,接待市督导组,V2
"""
OLD_TOTAL, NEW_TOTAL = 500_050, 128_050  # fen
VERIFY_LOG = Path(__file__).resolve().parents[2] / "docs" / "verify_log.py"


def signed_at(monkeypatch, when: dt.datetime) -> None:
    """The log signs its next checkpoints at ``when`` (UTC)."""
    monkeypatch.setattr(tlog, "utcnow", lambda: when.replace(tzinfo=dt.UTC))


@pytest.fixture
def ledger(engine, db_url, tmp_path, monkeypatch):
    first, fixed = tmp_path / "expenses.csv", tmp_path / "fixed.csv"
    first.write_text(FIRST, encoding="utf-8")
    fixed.write_text(FIXED, encoding="utf-8")
    signed_at(monkeypatch, dt.datetime(2024, 3, 1, 10, 0))  # the first file on 1 March, its correction on 2 May
    a = import_file(engine, "expenses", first, Options(submitted_by="test"))
    assert a.status == "loaded", a.report
    signed_at(monkeypatch, dt.datetime(2024, 5, 2, 10, 0))
    b = import_file(engine, "expenses", fixed, Options(submitted_by="test", supersedes=a.batch_id))
    assert b.status == "loaded", b.report
    monkeypatch.undo()
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        c.batches, c.tmp, c.db_url = (a.batch_id, b.batch_id), tmp_path, db_url
        yield c


def _total(body) -> int:
    return body["summary"]["actual_fen"]


def test_an_old_total_is_reproduced_after_a_correction_with_the_old_root(ledger):
    now = ledger.get("/api/v1/aggregate")
    assert now.status_code == 200, now.text
    assert _total(now.json()) == NEW_TOTAL and "checkpoint" not in now.json()
    old = ledger.get("/api/v1/aggregate?as_of=1")
    assert old.status_code == 200, old.text
    body = old.json()
    assert _total(body) == OLD_TOTAL
    latest = ledger.get("/api/v1/log/checkpoint").json()
    proof = ledger.get("/api/v1/log/proofs/consistency?from=1").json()
    cp = body["checkpoint"]
    assert (cp["size"], cp["time"]) == (1, "2024-03-01T10:00:00Z")
    assert cp["root_hash"] == proof["root1"] != latest["root_hash"]
    assert old.headers["x-checkpoint-size"] == "1" and old.headers["x-checkpoint-root"] == cp["root_hash"]
    at_two = ledger.get("/api/v1/aggregate?as_of=2").json()
    assert _total(at_two) == NEW_TOTAL and at_two["checkpoint"]["root_hash"] == latest["root_hash"]


def test_a_cited_answer_checks_with_verify_log_against_a_later_checkpoint(ledger):
    """The journalist saves the answer; anyone later checks its root is part of today's log."""
    answer, new, proof = ledger.tmp / "answer.json", ledger.tmp / "new.json", ledger.tmp / "proof.json"
    answer.write_text(ledger.get("/api/v1/aggregate?as_of=1&drilldown=unit").text, encoding="utf-8")
    new.write_text(ledger.get("/api/v1/log/checkpoint").text, encoding="utf-8")
    proof.write_text(ledger.get("/api/v1/log/proofs/consistency?from=1").text, encoding="utf-8")
    for args in (["checkpoint", str(answer)], ["consistency", str(answer), str(new), str(proof)]):
        done = subprocess.run([sys.executable, str(VERIFY_LOG), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    forged = json.loads(answer.read_text(encoding="utf-8"))
    forged["checkpoint"]["root_hash"] = "0" * 64
    answer.write_text(json.dumps(forged), encoding="utf-8")
    done = subprocess.run([sys.executable, str(VERIFY_LOG), "checkpoint", str(answer)], capture_output=True, text=True)
    assert done.returncode == 1


@pytest.mark.parametrize("as_of, total", [
    ("2024-03-01", OLD_TOTAL), ("2024-03-01T10:00:00Z", OLD_TOTAL), ("2024-05-01", OLD_TOTAL),
    ("2024-05-02T18:00:00+08:00", NEW_TOTAL), ("2024-05-02", NEW_TOTAL), ("2030-01-01", NEW_TOTAL),
])
def test_as_of_a_date_takes_the_latest_checkpoint_signed_by_then(ledger, as_of, total):
    r = ledger.get("/api/v1/aggregate", params={"as_of": as_of})
    assert r.status_code == 200, r.text
    assert _total(r.json()) == total


@pytest.mark.parametrize("as_of, status, words", [
    ("3", 404, "没有树大小为 3 的已签名检查点（最新检查点的树大小为 2）"),
    ("0", 404, "没有树大小为 0"),
    ("2024-02-29", 404, "2024-02-29T23:59:59Z 之前没有已签名的检查点"),
    ("yesterday", 400, "as_of 应为检查点的树大小"),
    ("-1", 400, "as_of 应为"),
])
def test_an_unknown_checkpoint_is_refused(ledger, as_of, status, words):
    for path, extra in (("/api/v1/aggregate", {}), ("/api/v1/expenses", {}), ("/api/v1/downloads/expenses.csv", {}),
                        ("/api/v1/reports/three-public", {"year": 2023}), ("/api/v1/expenses/1", {})):
        r = ledger.get(path, params={"as_of": as_of, **extra})
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["detail"], r.json()


def test_a_list_and_a_row_as_of_a_checkpoint(ledger):
    now = ledger.get("/api/v1/expenses?sort=id").json()
    old = ledger.get("/api/v1/expenses?sort=id&as_of=1").json()
    assert [r["amount_fen"] for r in now["data"]] == [120_000, 8_050]
    assert [r["amount_fen"] for r in old["data"]] == [120_000, 80_050, 300_000] and old["total"] == 3
    assert old["checkpoint"]["size"] == 1
    assert "as_of=1" in (ledger.get("/api/v1/expenses?sort=id&as_of=1&limit=1").json()["next"] or "")
    batches = ledger.get("/api/v1/import-batches?as_of=1").json()
    assert [b["id"] for b in batches["data"]] == [ledger.batches[0]]
    csv_old = ledger.get("/api/v1/expenses?as_of=1&format=csv")
    assert csv_old.headers["x-checkpoint-size"] == "1"


def test_a_download_as_of_a_checkpoint(ledger):
    r = ledger.get("/api/v1/downloads/expenses.csv?as_of=1")
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(int(x["amount_fen"]) for x in rows) == [80_050, 120_000, 300_000]
    assert r.headers["x-checkpoint-size"] == "1"
    assert r.headers["x-checkpoint-root"] == ledger.get("/api/v1/log/proofs/consistency?from=1").json()["root1"]
    now = ledger.get("/api/v1/downloads/expenses.csv")
    assert sorted(int(x["amount_fen"]) for x in csv.DictReader(io.StringIO(now.content.decode("utf-8-sig")))) == \
        [8_050, 120_000]
    assert "x-checkpoint-size" not in now.headers


def test_a_report_as_of_a_checkpoint(ledger):
    def reception(body):
        edu = next(r for r in body["rows"] if r["unit_code"] == "EDU")
        return next(i for i in edu["items"] if i["item"] == "reception")["actual_fen"]

    assert reception(ledger.get("/api/v1/reports/three-public?year=2023").json()) == 128_050
    old = ledger.get("/api/v1/reports/three-public?year=2023&as_of=1").json()
    assert reception(old) == 200_050 and old["checkpoint"]["size"] == 1


def test_the_cache_does_not_mix_answers(ledger):
    for _ in range(2):  # the second round is served from the response cache
        assert _total(ledger.get("/api/v1/aggregate").json()) == NEW_TOTAL
        old = ledger.get("/api/v1/aggregate?as_of=1")
        assert _total(old.json()) == OLD_TOTAL and old.headers["x-checkpoint-size"] == "1"
        assert _total(ledger.get("/api/v1/aggregate?as_of=2").json()) == NEW_TOTAL
        assert ledger.get("/api/v1/aggregate?as_of=1&format=csv").headers["x-checkpoint-size"] == "1"


def test_a_page_as_of_a_checkpoint_says_so_and_keeps_it_in_links(ledger):
    def figure(html: str, fid: str) -> str:
        return re.search(rf'data-figure="{fid}" data-fen="(\d+)"', html).group(1)

    now = ledger.get("/units/EDU")
    assert now.status_code == 200, now.text
    assert figure(now.text, "three_public_actual") == "128050" and "as-of-banner" not in now.text
    old = ledger.get("/units/EDU?as_of=1")
    assert old.status_code == 200, old.text
    root = ledger.get("/api/v1/log/proofs/consistency?from=1").json()["root1"]
    assert figure(old.text, "three_public_actual") == "200050"
    assert f"截至检查点 1（根 {root[:16]}…，签名于 2024-03-01T10:00:00Z）的公开数据" in old.text
    assert f'data-checkpoint-root="{root}"' in old.text
    assert 'href="/flags?as_of=1"' in old.text and 'href="/en/units/EDU?as_of=1"' in old.text
    assert '<input type="hidden" name="as_of" value="1">' in old.text
    assert 'data-current="1" href="/units/EDU"' in old.text  # the way back to the current data
    charts = re.findall(r'src="(/api/v1/charts/[^"]+)"', old.text)
    assert charts and all("as_of=1" in c for c in charts)
    chart = ledger.get(charts[0].replace("&amp;", "&"))
    assert chart.status_code == 200 and chart.headers["x-checkpoint-size"] == "1"
    english = ledger.get("/en/units/EDU?as_of=2024-03-01")
    assert "Public data as of checkpoint 1" in english.text and figure(english.text, "three_public_actual") == "200050"
    assert ledger.get("/units/EDU?as_of=9").status_code == 404
    home = ledger.get("/?as_of=1")
    assert home.status_code == 200 and figure(home.text, "three_public_actual") == "200050"  # 会议费 is not 三公


def test_the_cli_report_as_of_a_checkpoint(ledger):
    def reception(args):
        done = CliRunner().invoke(root, ["--database", ledger.db_url, "report", "three-public", "--year", "2023",
                                         "--json", *args])
        assert done.exit_code == 0, done.output
        data = json.loads(done.stdout)
        edu = next(r for r in data["rows"] if r["unit_code"] == "EDU")
        return next(i for i in edu["items"] if i["item"] == "reception")["actual_fen"], data.get("checkpoint")

    assert reception([]) == (128_050, None)
    fen, cp = reception(["--as-of", "1"])
    assert fen == 200_050 and (cp["size"], cp["time"]) == (1, "2024-03-01T10:00:00Z")
    assert cp["root_hash"] == ledger.get("/api/v1/log/proofs/consistency?from=1").json()["root1"]
    assert reception(["--as-of", "2024-04-30"])[0] == 200_050
    text = CliRunner().invoke(root, ["--database", ledger.db_url, "report", "three-public", "--year", "2023",
                                     "--text", "--as-of", "1"])
    assert text.exit_code == 0 and text.output.startswith(f"截至检查点 1（根 {cp['root_hash'][:16]}…")
    refused = CliRunner().invoke(root, ["--database", ledger.db_url, "report", "three-public", "--year", "2023",
                                        "--as-of", "7"])
    assert refused.exit_code == 1 and "没有树大小为 7 的已签名检查点" in refused.output


def test_the_ledger_read_layer_pins_every_figure(ledger, engine):
    """The one switch under the API: rollup sums, row lists, counts and coverage all read as of the pin."""
    from ledger.read import asof, queries, totals
    from ledger.read.types import Filters
    from ledger.store.batches import pinned
    from ledger.store.db import reading

    with reading(engine) as conn:
        doc, pin = asof.resolve(conn, "1")
        assert pin.batches == pin.live == frozenset({ledger.batches[0]})
        _, pin2 = asof.resolve(conn, "2")
        assert pin2.batches == frozenset(ledger.batches) and pin2.live == frozenset({ledger.batches[1]})
        with pinned(pin):
            assert sum(r[4] for r in totals.live_totals(conn) if r[0] == "actual") == OLD_TOTAL
            assert queries.list_rows(conn, "expenses", Filters(), count=True).total == 3
        assert sum(r[4] for r in totals.live_totals(conn) if r[0] == "actual") == NEW_TOTAL
        assert queries.list_rows(conn, "expenses", Filters(), count=True).total == 2


def test_flags_as_of_a_checkpoint_show_the_logged_reviews_only(ledger, engine):
    """A flag raised between checkpoints 1 and 2, reviewed (leaves 2, 3) and published (leaves 4, 5) later."""
    from sqlalchemy import insert, select

    from ledger.review import workflow
    from ledger.store.db import writing
    from ledger.store.models import Flag, Unit

    with writing(engine) as conn:
        edu = conn.execute(select(Unit.id).where(Unit.code == "EDU")).scalar_one()
        conn.execute(insert(Flag).values(
            id="f-edu", rule_code="budget_overrun", rule_version=1, unit_id=edu, fiscal_year=2023,
            category_code="reception", state="open", figures_json="{}", message_zh="超预算", message_en="over",
            evidence_json="{}", created_at=dt.datetime(2024, 4, 1, tzinfo=dt.UTC)))
        workflow.record_review(conn, "f-edu", "under_review", note="开始审查", reviewer="纪委")
        workflow.record_review(conn, "f-edu", "explained", note="单位已说明", reviewer="纪委")
        workflow.publish_finding(conn, "f-edu", reviewer="纪委")

    def flags(as_of=None):
        r = ledger.get("/api/v1/flags", params={} if as_of is None else {"as_of": as_of})
        assert r.status_code == 200, r.text
        body = r.json()
        return [(f["id"], f["state"], f["published_note"]) for f in body["data"]]

    assert flags() == [("f-edu", "explained", "单位已说明")]
    assert flags(1) == []  # raised after checkpoint 1
    assert flags(2) == [("f-edu", "open", None)]
    assert flags(3) == [("f-edu", "under_review", None)]
    assert flags(4) == [("f-edu", "explained", None)]  # the finding, not yet published
    assert flags(6) == [("f-edu", "explained", "单位已说明")]  # one leaf per published review (4, 5), one checkpoint
    assert ledger.get("/api/v1/flags?as_of=2&state=open").json()["total"] == 1
    page = ledger.get("/units/EDU?as_of=2").text
    assert "超预算" in page and "单位已说明" not in page
    assert "单位已说明" in ledger.get("/units/EDU").text


def test_a_row_published_after_the_checkpoint_is_not_there_yet(ledger):
    fixed_rows = ledger.get(f"/api/v1/expenses?batch={ledger.batches[1]}").json()["data"]
    row = fixed_rows[0]["id"]
    assert ledger.get(f"/api/v1/expenses/{row}").status_code == 200
    assert ledger.get(f"/api/v1/expenses/{row}?as_of=1").status_code == 404
    assert ledger.get(f"/api/v1/import-batches/{ledger.batches[1]}?as_of=1").status_code == 404
    assert ledger.get(f"/api/v1/import-batches/{ledger.batches[0]}?as_of=2").status_code == 200  # superseded, kept
    assert ledger.get("/api/v1/aggregate?as_of=0001-01-01T00:00:00%2B01:00").status_code == 400


def _flag_with_reviews(engine) -> int:
    """A flag raised now (after checkpoints 1 and 2, signed in 2024), reviewed twice and published; returns the
    size after the two reviews (each review is a leaf with its own checkpoint)."""
    with writing(engine) as conn:
        run = conn.execute(insert(CheckRun).values(fingerprint="f" * 64).returning(CheckRun.id)).scalar_one()
        unit = conn.execute(select(Unit.id).where(Unit.code == "EDU")).scalar_one()
        conn.execute(insert(Flag).values(
            id="flag1", rule_code="budget_overrun", rule_version=1, unit_id=unit, fiscal_year=2023,
            category_code="reception", state="open", figures_json="{}", message_zh="超预算", message_en="Over budget",
            evidence_json="{}", first_run_id=run, last_run_id=run))
        workflow.record_review(conn, "flag1", "under_review", note="核查凭证", reviewer="纪委甲")
        workflow.record_review(conn, "flag1", "explained", note="已说明", reviewer="纪委甲")
        reviewed = conn.execute(select(func.max(LogCheckpoint.tree_size))).scalar_one()
        workflow.publish_finding(conn, "flag1", reviewer="纪委甲")
    return reviewed


def test_a_flag_as_of_a_checkpoint_shows_the_reviews_and_publications_logged_by_then(ledger, engine):
    reviewed = _flag_with_reviews(engine)
    assert reviewed == 4
    assert ledger.get("/api/v1/flags/flag1?as_of=2").status_code == 404  # raised after checkpoint 2
    then = ledger.get(f"/api/v1/flags/flag1?as_of={reviewed}")
    assert then.status_code == 200 and then.headers["x-checkpoint-size"] == "4"
    body = then.json()
    assert (body["checkpoint"]["size"], body["flag"]["state"]) == (4, "explained")
    assert [(r["to_state"], r["note"], r["restricted"], r["published_at"]) for r in body["reviews"]] == [
        ("under_review", None, True, None), ("explained", None, True, None)]  # not yet published at size 4
    now = ledger.get("/api/v1/flags/flag1").json()
    assert "checkpoint" not in now
    assert [(r["note"], r["restricted"]) for r in now["reviews"]] == [("核查凭证", False), ("已说明", False)]


def test_categories_downloads_and_datapackage_take_as_of(ledger):
    cats = ledger.get("/api/v1/categories?as_of=1")
    assert cats.status_code == 200 and cats.headers["x-checkpoint-size"] == "1"
    assert cats.json() == ledger.get("/api/v1/categories").json()  # reference data: the same list
    listing = ledger.get("/api/v1/downloads", params={"as_of": "2024-03-01"}).json()  # a date: checkpoint 1
    assert listing["checkpoint"]["size"] == 1 and listing["datapackage"] == "/api/v1/downloads/datapackage.json?as_of=1"
    assert {d["name"]: d["url"] for d in listing["datasets"]}["expenses"] == "/api/v1/downloads/expenses.csv?as_of=1"
    package = ledger.get("/api/v1/downloads/datapackage.json?as_of=1").json()
    assert package["checkpoint"]["root_hash"] == listing["checkpoint"]["root_hash"]
    assert {r["name"]: r["path"] for r in package["resources"]}["expenses"] == "expenses.csv?as_of=1"
    current = ledger.get("/api/v1/downloads/datapackage.json").json()
    assert "checkpoint" not in current and {r["name"]: r["path"] for r in current["resources"]}["expenses"] == "expenses.csv"
    for path in ("/api/v1/categories", "/api/v1/downloads", "/api/v1/downloads/datapackage.json", "/api/v1/flags/x"):
        r = ledger.get(path, params={"as_of": "3"})
        assert r.status_code == 404 and "没有树大小为 3 的已签名检查点" in r.json()["detail"], (path, r.text)
