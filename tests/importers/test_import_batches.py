"""Batches: same file = no-op, probable duplicates held back, --supersedes, dry runs, chunked files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from importers import pipeline
from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from importers.sheets import sources
from ledger.store.batches import live
from ledger.store.db import reading
from ledger.store.models import AuditLog, BudgetLine, ExpenseEntry, ImportBatch, Rollup, Unit

HEADER = "单位编码,单位名称,年度,日期,类别,金额,收款方,凭证号\n"


def write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def load(engine, path, kind="expenses", **opts):
    read = {k: opts.pop(k) for k in ("mapping", "encoding", "sheet", "amount_unit") if k in opts}
    return import_file(engine, kind, path, Options(submitted_by="clerk", **opts), ReadOptions(**read))


def count(engine, model, *where) -> int:
    with reading(engine) as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar()


def live_sum(engine) -> int | None:
    with reading(engine) as conn:
        return conn.execute(select(func.sum(ExpenseEntry.amount_fen)).where(live(ExpenseEntry.batch_id))).scalar()


def test_batch_records_report_audit_units_and_rollups(engine, tmp_path):
    p = write(tmp_path, "a.csv", "A01,市财政局,2023,2023-01-05,公务接待费,100,某酒店,V1\nA09,新单位,2023,,training,2.5,,V2\n")
    r = load(engine, p)
    assert r.status == "loaded"
    with reading(engine) as conn:
        batch = conn.execute(select(ImportBatch.report_json, ImportBatch.submitted_by, ImportBatch.sha256)).one()
        report = json.loads(batch[0])
        assert (report["rows"]["loaded"], report["totals"], batch[1]) == (2, {"expense": {"CNY": 10250}}, "clerk")
        assert conn.execute(select(Unit.code, Unit.name).order_by(Unit.code)).all() == [("A01", "市财政局"), ("A09", "新单位")]
        assert conn.execute(select(AuditLog.action, AuditLog.actor, AuditLog.object_id)).all() == [
            ("import.publish", "clerk", str(r.batch_id))]
        assert conn.execute(select(func.sum(Rollup.amount_fen))).scalar() == 10250


def test_same_file_is_a_no_op(engine, tmp_path):
    p = write(tmp_path, "a.csv", "A01,市财政局,2023,2023-01-05,reception,100,某酒店,V1\n")
    first = load(engine, p)
    again = load(engine, p)
    assert (again.status, again.batch_id) == ("unchanged", first.batch_id)
    assert count(engine, ImportBatch) == 1 and count(engine, ExpenseEntry) == 1


def test_probable_duplicates_held_unless_allowed(engine, tmp_path):
    load(engine, write(tmp_path, "a.csv", "A01,x,2023,2023-01-05,reception,100,某酒店,V1\nA01,x,2023,2023-01-06,meeting,50,会场,\n"))
    # V1 again (same voucher and amount) and the voucher-less meeting again: both held; one new row loads
    # (V1 with another amount is a changed figure, refused: tests/importers/test_import_changes.py)
    b = write(tmp_path, "b.csv", "A01,x,2023,2023-01-05,reception,100,某酒店,V1\nA01,x,2023,2023-01-06,meeting,50,会场,\n"
                                 "A01,x,2023,2023-01-07,meeting,50,会场,\n")
    r = load(engine, b)
    assert r.status == "loaded"
    assert (r.report["rows"]["loaded"], r.report["rows"]["held"]) == (1, 2)
    assert [(h["row"], h["existing"]) for h in r.report["held_rows"]] == [(2, "batch 1"), (3, "batch 1")]
    assert live_sum(engine) == 15000 + 5000
    with reading(engine) as conn:
        assert conn.execute(select(ImportBatch.rows_held).where(ImportBatch.id == r.batch_id)).scalar() == 2
    c = write(tmp_path, "c.csv", "A01,x,2023,2023-01-06,meeting,50,会场,\n")
    allowed = load(engine, c, allow_duplicates=True)
    assert (allowed.report["rows"]["loaded"], allowed.report["rows"]["held"]) == (1, 0)
    assert [p["code"] for p in allowed.report["problems"]["listed"]] == ["probable-duplicate"]
    assert live_sum(engine) == 15000 + 5000 + 5000


def test_duplicate_lines_in_a_file_refused_then_allowed(engine, tmp_path):
    p = write(tmp_path, "d.csv", "A01,x,2023,,reception,100,饭店,\nA01,x,2023,,reception,100.00,饭店,\n")
    r = load(engine, p)
    assert r.status == "refused"
    assert [(x["row"], x["code"], x["detail"]) for x in r.report["problems"]["listed"]] == [(3, "row-duplicate", "2")]
    assert count(engine, ImportBatch) == 0
    ok = load(engine, p, allow_duplicates=True)
    assert ok.status == "loaded" and count(engine, ExpenseEntry) == 2


def test_supersedes_replaces_without_deleting(engine, tmp_path):
    old = load(engine, write(tmp_path, "v1.csv", "A01,x,2023,2023-01-05,reception,100,饭店,V1\n"))
    fixed = write(tmp_path, "v2.csv", "A01,x,2023,2023-01-05,reception,90,饭店,V1\n")
    refused = load(engine, fixed)  # same voucher, another amount: a changed figure, refused until --supersedes
    assert (refused.status, refused.batch_id, refused.report["rows"]["held"]) == ("refused", None, 1)
    assert [p["code"] for p in refused.report["problems"]["listed"]] == ["amount-changed"]
    assert count(engine, ImportBatch) == 1  # nothing written
    new = load(engine, write(tmp_path, "v3.csv", "A01,x,2023,2023-01-05,reception,80,饭店,V1\n"), supersedes=old.batch_id)
    assert new.status == "loaded" and new.report["rows"]["loaded"] == 1
    assert live_sum(engine) == 8000
    assert count(engine, ExpenseEntry) == 2  # the old row stays, queryable
    twice = load(engine, write(tmp_path, "v4.csv", "A01,x,2023,2023-01-05,reception,70,饭店,V1\n"), supersedes=old.batch_id)
    assert twice.status == "refused"
    # batch 1 is superseded already; and V1 is live in batch 2 at 80.00, so 70.00 is a changed figure too
    assert {p["code"] for p in twice.report["problems"]["listed"]} == {"supersedes-invalid", "amount-changed"}
    wrong_kind = load(engine, write(tmp_path, "b.csv", "A01,x,2023,,reception,1,,\n"), kind="budgets", supersedes=new.batch_id)
    assert wrong_kind.status == "refused"


def test_dry_run_writes_nothing(engine, tmp_path):
    r = load(engine, write(tmp_path, "a.csv", "A01,x,2023,2023-01-05,reception,100,饭店,V1\n"), dry_run=True)
    assert r.status == "dry-run" and r.report["rows"]["loaded"] == 1
    assert count(engine, ImportBatch) == 0 and count(engine, Unit) == 0


def test_amount_unit_option_and_budget_duplicates(engine, tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("unit_code,fiscal_year,category,amount\nA01,2023,reception,1.5\n", encoding="utf-8")
    r = load(engine, p, kind="budgets", amount_unit="wan")
    assert r.report["totals"] == {"budget": {"CNY": 1500000}}
    q = tmp_path / "b2.csv"
    q.write_text("unit_code,fiscal_year,category,amount\nA01,2023,reception,2\n", encoding="utf-8")
    held = load(engine, q, kind="budgets", amount_unit="wan")
    assert held.report["rows"]["held"] == 1 and count(engine, BudgetLine) == 1


def test_chunked_file_checks_totals_and_duplicates_across_chunks(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)
    monkeypatch.setattr(pipeline, "SPOOL_ROWS", 3)  # spill normalised chunks to disk, as for big files
    body = "".join(f"A01,x,2023,2023-01-{d:02d},reception,{d},饭店,V{d}\n" for d in range(1, 8))
    p = write(tmp_path, "big.csv", body + "小计,,,,,28,,\n" + "A01,x,2023,2023-02-01,meeting,5,会场,V1\n" + "合计,,,,,34,,\n")
    r = load(engine, p)
    assert r.status == "refused"
    got = [(x["row"], x["code"], x["detail"]) for x in r.report["problems"]["listed"]]
    assert got == [(11, "total-mismatch", "1.00 元")]
    ok = write(tmp_path, "ok.csv", body + "小计,,,,,28,,\n" + "A01,x,2023,2023-02-01,meeting,5,会场,V8\n" + "合计,,,,,33,,\n")
    loaded = load(engine, ok)
    assert live_sum(engine) == 3300
    assert loaded.report["rows"] == {"read": 10, "detail": 8, "blank": 0, "total_rows": 2, "loaded": 8,
                                              "held": 0, "skipped_existing": 0}
    dup = write(tmp_path, "dup.csv", (body + "A01,x,2023,2023-01-02,reception,2,饭店,V2\n").replace("A01", "A02"))
    got = [(x["row"], x["code"], x["detail"]) for x in load(engine, dup).report["problems"]["listed"]]
    assert got == [(9, "row-duplicate", "3")]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-8"])
def test_encoding_recorded(engine, tmp_path, encoding):
    p = tmp_path / "e.csv"
    p.write_bytes((HEADER + "A01,市财政局,2023,,公务接待费,1,,\n").encode(encoding))
    r = load(engine, p)
    assert r.status == "loaded"
    with reading(engine) as conn:
        assert conn.execute(select(ImportBatch.encoding)).scalar() == encoding


def test_wrong_encoding_override_is_refused_not_garbled(engine, tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes((HEADER + "A01,市财政局,2023,,公务接待费,1,,\n").encode("gb18030"))
    r = load(engine, p, encoding="utf-8")
    assert r.status == "refused"
    assert r.report["problems"]["listed"][0]["code"] == "encoding-unknown"


def test_small_blocks_never_split_a_quoted_record(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 7)
    p = write(tmp_path, "q.csv", 'A01,x,2023,,reception,"1,000.00","Hotel ""A""\nLobby",V1\n'
                                 '\nA01,x,2023,,meeting,2,"multi\nline\nname",V2\n'
                                 'A01,x,2023,,meeting,3,plain,V3')  # no final newline
    r = load(engine, p)
    assert r.status == "loaded", r.report["problems"]
    assert r.report["rows"] | {} == {"read": 4, "detail": 3, "blank": 1, "total_rows": 0, "loaded": 3, "held": 0,
                                     "skipped_existing": 0}
    with reading(engine) as conn:
        got = conn.execute(select(ExpenseEntry.source_row, ExpenseEntry.payee, ExpenseEntry.amount_fen)
                           .order_by(ExpenseEntry.source_row)).all()
    assert [tuple(g) for g in got] == [(2, 'Hotel "A"\nLobby', 100000), (4, "multi\nline\nname", 200), (5, "plain", 300)]
