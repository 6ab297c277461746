"""What a publish derives from the rows as written equals what the store's GROUP BYs give (issue 15).

The pipeline computes rollups, the reception head-count rollup and the transparency
log's canonical lines from its polars frames (``ledger.log.batch_frames``), inserts rows in index key
order with ids reserved up front, and on SQLite sets a large load's indexes aside
(``ledger.store.bulk.indexes``). Each is held here to the store, exactly, on both backends.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, text

from importers.pipeline import Options
from importers.run import import_file
from ledger.log import batch_frames, events
from ledger.log.batch_frames import canonical_lines
from ledger.log.canonical import ROW_COLUMNS, row_line, summarise_rows, unpack_locator
from ledger.log.verify import verify
from ledger.store.batches import rollup_selects
from ledger.store.bulk import indexes
from ledger.store.db import reading
from ledger.store.derived import batch_names
from ledger.store.derived.flag_basis import reception_persons_select
from ledger.store.derived.search_index import text_selects
from ledger.store.models import LogLeaf, LogRowDigest

EXPENSES = ("unit_code,unit_name,fiscal_year,date,category,amount,payee,description,voucher_no,persons\n"
            'B02,乙单位,2023,2023-02-01,reception,100.00,"某""酒店",午餐,V1,4\n'
            'A01,甲单位,2023,2023-01-05,meeting,50.50,back\\slash,"two\nlines",V2,\n'
            "A01,甲单位,2022,2022-03-01,reception,10.00,某酒店,\t前导制表,V3,2\n"
            "A01,甲单位,2023,,reception,7.00,,,V4,0\n"
            "B02,乙单位,2023,2023-02-01,reception,100.00,某酒店,午餐,V5,3\n"
            "A01,甲单位,2023,2023-01-05,meeting,1.25,back\\slash,会场,V6,\n")
BUDGETS = ("单位编码,单位名称,年度,类别,阶段,金额\n"
           "B02,乙单位,2023,reception,年初预算,5000\n"
           "A01,甲单位,2023,meeting,年初预算,300\n"
           "A01,甲单位,2023,meeting,调整预算,320\n")


def _load(engine, tmp_path: Path, name: str, body: str, kind: str = "expenses"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    result = import_file(engine, kind, path, Options(submitted_by="clerk"))
    assert result.status == "loaded", result.report["problems"]
    return result.batch_id


def _same_as_store(conn, batch_id: int) -> None:
    stored = conn.execute(text(
        "SELECT batch_id, measure, unit_id, fiscal_year, category_code, currency, amount_fen, row_count "
        "FROM rollup WHERE batch_id = :b"), {"b": batch_id}).all()
    grouped = [r for q in rollup_selects(batch_id) for r in conn.execute(q).all()]
    assert sorted(map(tuple, stored)) == sorted(map(tuple, grouped))
    stored = conn.execute(text("SELECT batch_id, unit_id, fiscal_year, amount_fen, persons, row_count "
                               "FROM reception_persons_rollup WHERE batch_id = :b"), {"b": batch_id}).all()
    assert sorted(map(tuple, stored)) == sorted(map(tuple, conn.execute(reception_persons_select(batch_id)).all()))
    stored = conn.execute(text("SELECT batch_id, kind, unit_id, fiscal_year, t.body, row_count, amount_fen, currency, "
                               "replaced_batch_id FROM search_entry s JOIN search_text t ON t.id = s.text_id "
                               "WHERE batch_id = :b AND kind <> 'unit'"), {"b": batch_id}).all()
    grouped = [r for q in text_selects(batch_id) for r in conn.execute(q).all()]
    key = lambda r: tuple("" if v is None else str(v) for v in r)  # noqa: E731
    assert sorted(map(tuple, stored), key=key) == sorted(map(tuple, grouped), key=key)
    stored = conn.execute(text("SELECT batch_id, dataset, name, kind, row_count FROM batch_name WHERE batch_id = :b"),
                          {"b": batch_id}).all()
    grouped = [r for q in batch_names.from_rows(batch_id) for r in conn.execute(q).all()]
    assert sorted(map(tuple, stored), key=key) == sorted(map(tuple, grouped), key=key)
    # the logged rows hash and locator are the store's canonical lines
    summary = summarise_rows(conn, batch_id)
    manifest = json.loads(conn.execute(select(LogLeaf.manifest).where(LogLeaf.ref_id == str(batch_id))).scalar_one())
    assert manifest["rows_sha256"] == summary.rows_sha256
    assert manifest["row_count"] == str(summary.count)
    digests: dict[str, dict] = {}
    for table, count, blob in conn.execute(select(LogRowDigest.table_name, LogRowDigest.row_count,
                                                  LogRowDigest.digests).where(LogRowDigest.batch_id == batch_id)):
        digests.setdefault(table, {}).update(unpack_locator(bytes(blob), count))
    digests = {t: d for t, d in digests.items() if t in ROW_COLUMNS}  # units are committed apart (log.register)
    assert digests == {t: summary.locator(t) for t in digests} and sum(map(len, digests.values())) == summary.count


def test_figures_from_frames_equal_the_store(engine, tmp_path):
    first = _load(engine, tmp_path, "a.csv", EXPENSES)
    budgets = _load(engine, tmp_path, "b.csv", BUDGETS, kind="budgets")
    second = _load(engine, tmp_path, "c.csv", _bump(EXPENSES).replace(",V", ",W"))
    with reading(engine) as conn:
        for batch in (first, budgets, second):
            _same_as_store(conn, batch)
        rollups = conn.execute(text(
            "SELECT u.code, r.fiscal_year, r.measure, r.category_code, r.amount_fen, r.row_count FROM rollup r "
            "JOIN unit u ON u.id = r.unit_id WHERE r.batch_id IN (:a, :b) ORDER BY 1, 2, 3, 4"),
            {"a": first, "b": budgets}).all()
        assert [tuple(r) for r in rollups] == [
            ("A01", 2022, "actual", "reception", 1000, 1),
            ("A01", 2023, "actual", "meeting", 5175, 2),
            ("A01", 2023, "actual", "reception", 700, 1),
            ("A01", 2023, "budget_adjusted", "meeting", 32000, 1),
            ("A01", 2023, "budget_original", "meeting", 30000, 1),
            ("B02", 2023, "actual", "reception", 20000, 2),
            ("B02", 2023, "budget_original", "reception", 500000, 1),
        ]
        persons = conn.execute(text(
            "SELECT u.code, p.fiscal_year, p.amount_fen, p.persons, p.row_count FROM reception_persons_rollup p "
            "JOIN unit u ON u.id = p.unit_id WHERE p.batch_id = :b ORDER BY 1, 2"), {"b": first}).all()
        assert [tuple(r) for r in persons] == [("A01", 2022, 1000, 2, 1), ("B02", 2023, 20000, 7, 2)]
        names = conn.execute(text("SELECT dataset, name, kind, row_count FROM batch_name WHERE batch_id = :b "
                                  "ORDER BY name"), {"b": first}).all()  # V4 has no payee: no name
        assert [tuple(r) for r in names] == [("expenses", "back\\slash", None, 2), ("expenses", '某"酒店', None, 1),
                                             ("expenses", "某酒店", None, 2)]
        # rows in file order; ids follow on from the first batch
        rows = conn.execute(text(
            "SELECT id, source_row, payee FROM expense_entry WHERE batch_id = :b ORDER BY id"), {"b": second}).all()
        assert [r.source_row for r in rows] == [2, 3, 4, 5, 6, 7]
        assert [r.id for r in rows] == list(range(7, 13))
        assert rows[0].payee == '某"酒店'
        report = verify(conn)
        assert report.ok, report.problems[:3]
        assert report.batches_checked == 3


def test_past_the_group_cap_the_figures_come_from_the_store(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(batch_frames, "MAX_GROUPS", 1)  # every figure here has more groups: all fall back
    seen = []
    real = events.batch_published

    def spy(conn, batch_id, **kw):
        frames = kw["frames"]
        seen.append([f is None for f in (frames.rollups(), frames.reception_persons(), frames.names())])
        return real(conn, batch_id, **kw)

    monkeypatch.setattr(events, "batch_published", spy)
    batch = _load(engine, tmp_path, "a.csv", EXPENSES)
    assert seen == [[True, True, True]]
    with reading(engine) as conn:
        _same_as_store(conn, batch)
        assert conn.exec_driver_sql("SELECT count(*), sum(amount_fen) FROM rollup").one() == (4, 26875)
        assert verify(conn).ok


def test_canonical_lines_from_a_frame_are_the_reference_bytes():
    frame = pl.DataFrame({
        "id": [1, 2, 3], "batch_id": [9, 9, 9], "source_row": [2, None, 4], "unit_id": [5, 5, 6],
        "fiscal_year": [2023, 2023, 2024], "entry_date": [dt.date(2023, 1, 5), None, dt.date(999, 12, 31)],
        "category_code": ["reception", "meeting", "travel"], "amount_fen": [-1, 0, 2**62],
        "currency": ["CNY", "USD", "CNY"], "payee": ['引"号\\', "tab\there\x1f", "ümlaut é 中文\u2028"],
        "description": [None, "", "\x7f"], "voucher_no": ["V1", None, "V3"], "source_category": [None] * 3,
        "persons": [1, None, 3], "batches": [None] * 3, "vehicles": [None] * 3,
        "payee_type": ["person", None, "organisation"], "days": [2, None, None],
    }, schema_overrides={"source_category": pl.String, "batches": pl.Int64, "vehicles": pl.Int64, "days": pl.Int64})
    got = canonical_lines("expense_entry", frame)
    assert got == [row_line("expense_entry", list(r)).encode() for r in frame.iter_rows()]
    assert got[1] == (b'["expense_entry","2","9",null,"5","2023",null,"meeting","0","USD","tab\\there\\u001f","",null,'
                      b'null,null,null,null,null,null]')


def _index_sql(conn, table: str) -> list[tuple]:
    return conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' ORDER BY name").all()


def test_a_large_load_rebuilds_the_indexes_it_set_aside(db_url, engine, tmp_path, monkeypatch):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL keeps its indexes through the load")
    with reading(engine) as conn:
        before = _index_sql(conn, "expense_entry")
    assert len(before) > 5
    monkeypatch.setattr(indexes, "MIN_ROWS", 1)
    dropped = []
    real_set_aside, real_published = indexes.set_aside, events.batch_published

    def spy(conn, table, adding):
        cm = real_set_aside(conn, table, adding)
        value = cm.__enter__()
        dropped.append((table.name, value))
        return _Wrapped(cm, value)

    def boom(*a, **k):
        raise RuntimeError("publish failed")

    monkeypatch.setattr(indexes, "set_aside", spy)
    monkeypatch.setattr(events, "batch_published", boom)
    with pytest.raises(RuntimeError):  # into an empty table: set aside, then the import fails
        _load(engine, tmp_path, "z.csv", _bump(EXPENSES))
    assert ("expense_entry", True) in dropped
    with reading(engine) as conn:  # the drop rolled back with the rest
        assert _index_sql(conn, "expense_entry") == before
        assert conn.exec_driver_sql("SELECT count(*) FROM expense_entry").scalar() == 0
    monkeypatch.setattr(events, "batch_published", real_published)
    dropped.clear()
    first = _load(engine, tmp_path, "a.csv", EXPENSES)  # into an empty table: set aside, rebuilt
    assert ("expense_entry", True) in dropped
    dropped.clear()
    _load(engine, tmp_path, "b.csv", EXPENSES.splitlines(keepends=True)[0] + "C03,丙单位,2023,2023-05-01,meeting,9.00,某公司,,V9,\n")
    assert ("expense_entry", False) in dropped and ("expense_entry", True) not in dropped  # 1 row into 6: kept
    with reading(engine) as conn:
        assert _index_sql(conn, "expense_entry") == before
        assert conn.exec_driver_sql("SELECT count(*) FROM expense_entry").scalar() == 7
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        _same_as_store(conn, first)
        assert verify(conn).ok


def _bump(body: str) -> str:
    """The same file with every amount a fen higher (so no row is a probable duplicate of the original)."""
    return re.sub(r",(\d+)\.(\d\d),", lambda m: f",{m[1]}.{int(m[2]) + 1:02d},", body)


class _Wrapped:
    def __init__(self, cm, value):
        self.cm, self.value = cm, value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)
