"""The 凭证号 key against a populated ledger, a file read in chunks (importers.checks.duplicates).

A row meets the ledger's rows of its unit, with its voucher, in any year its chunk has; not another
unit's, not a year only another chunk has, not a superseded or the superseded-by-this-file batch.
(A version matching against a TEMP copy of the touched unit-years, without the index, gave the same
answers and was not kept: docs/benchmarks.md, "The 凭证号 index, the WAL re-reads".)
"""

from __future__ import annotations

from importers.sheets import sources
from tests.importers.test_import_batches import load, write

LEDGER = ("A01,甲,2022,2022-01-05,reception,100,饭店,V1\n"
          "A01,甲,2023,2023-01-05,reception,200,饭店,V2\n"
          "B01,乙,2023,2023-01-05,reception,300,饭店,V3\n"
          "A01,甲,2021,2021-01-05,reception,400,饭店,V4\n")
# chunks of two rows: (2, 3) years 2022–2023, (4, 5) 2023 only, (6, 7) 2022–2023, (8, 9) 2021–2023
FURTHER = ("A01,甲,2023,2023-02-01,meeting,100,会场,V1\n"   # 2: V1 of A01 in 2022, same amount: held
           "A01,甲,2022,2022-02-01,meeting,5,会场,V9\n"     # 3: new
           "A01,甲,2023,2023-02-02,meeting,300,会场,V3\n"   # 4: V3 is B01's only: new
           "A01,甲,2023,2023-02-03,meeting,400,会场,V4\n"   # 5: V4 of A01 is in 2021, not a year of this chunk: new
           "B01,乙,2022,2022-02-04,meeting,300,会场,V3\n"   # 6: V3 of B01 in 2023 (the chunk's other year): held
           "A01,甲,2023,2023-02-05,meeting,6,会场,V8\n"     # 7: new
           "A01,甲,2023,2023-02-06,meeting,400,会场,V4\n"   # 8: V4 of A01 in 2021, a year of this chunk: held
           "A01,甲,2021,2021-02-06,meeting,7,会场,V7\n")    # 9: new


def _held(r) -> list[tuple[int, str, str]]:
    return [(p["row"], p["code"], p["detail"]) for p in r.report["problems"]["listed"]]


def test_a_further_file_meets_its_unit_in_its_chunks_years(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)
    first = load(engine, write(tmp_path, "a.csv", LEDGER))
    assert (first.status, first.batch_id) == ("loaded", 1)
    r = load(engine, write(tmp_path, "b.csv", FURTHER))
    assert r.status == "loaded"
    assert (r.report["rows"]["loaded"], r.report["rows"]["held"]) == (5, 3)
    assert _held(r) == [(2, "probable-duplicate", "1"), (6, "probable-duplicate", "1"), (8, "probable-duplicate", "1")]
    # again, row 3 at 9.00: every row is in the ledger now (the lowest batch named), row 3 a changed figure
    again = load(engine, write(tmp_path, "c.csv", FURTHER.replace(",5,会场,V9", ",9,会场,V9")))
    assert again.status == "refused"
    assert _held(again) == [
        (3, "amount-changed", "unit_code A01, voucher_no V9: 5.00 元 (batch 2) → 9.00 元; --supersedes 2"),
        (2, "probable-duplicate", "1"), (4, "probable-duplicate", "2"), (5, "probable-duplicate", "2"),
        (6, "probable-duplicate", "1"), (7, "probable-duplicate", "2"), (8, "probable-duplicate", "1"),
        (9, "probable-duplicate", "2")]


def test_a_superseded_batch_and_the_batch_superseded_meet_nothing(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)
    first = load(engine, write(tmp_path, "a.csv", LEDGER))
    fixed = load(engine, write(tmp_path, "a2.csv", LEDGER.replace(",100,", ",90,")), supersedes=first.batch_id)
    assert (fixed.status, fixed.batch_id) == ("loaded", 2)
    r = load(engine, write(tmp_path, "b.csv", FURTHER))  # V1 at 100.00 is superseded: 90.00 in batch 2 now
    assert r.status == "refused"
    assert _held(r) == [
        (2, "amount-changed", "unit_code A01, voucher_no V1: 90.00 元 (batch 2) → 100.00 元; --supersedes 2"),
        (6, "probable-duplicate", "2"), (8, "probable-duplicate", "2")]
    ok = load(engine, write(tmp_path, "b.csv", FURTHER), supersedes=fixed.batch_id)  # batch 2 left out: all new
    assert (ok.status, ok.report["rows"]["loaded"], ok.report["rows"]["held"], _held(ok)) == ("loaded", 8, 0, [])
