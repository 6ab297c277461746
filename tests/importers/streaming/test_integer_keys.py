"""What the import keeps per figure is keyed by integer codes, and the search sums give up early (issue 15, part 5).

At 5M rows the magnitude check and the reconciliation each keep about 1.2M figures; with their keys as
strings (unit, category, measure, currency, sheet, column) that was ≈ 150 bytes a figure. They are
now ``Categorical`` codes (4 bytes a cell) into categories of the import's own, and the reconciliation's
per-chunk sums are folded as they come. The search sums (``BatchFrames``) give up at the first fold that
leaves about a group per text (payees at 1M rows: 999,313 groups for 1M rows), instead of holding them
until they pass ``MAX_GROUPS``: the store's GROUP BYs then count the texts, with the same answers.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import func, select

from importers import pipeline
from importers.checks import compact, magnitude, reconcile
from importers.pipeline import Options
from importers.run import import_file
from importers.sheets import sources
from ledger.log import batch_frames
from ledger.log.batch_frames import BatchFrames
from ledger.store.db import reading
from ledger.store.models import SearchEntry
from tests.importers.streaming.test_bounded_chunks import CATEGORIES, CHUNK, UNITS, YEARS, _file
from tests.importers.test_import_frames import _same_as_store


def test_figures_are_kept_as_codes_and_folded(engine, tmp_path, monkeypatch):
    path, rows = _file(tmp_path)
    groups = UNITS * len(YEARS) * len(CATEGORIES)
    monkeypatch.setattr(sources, "BLOCK_BYTES", 2048)
    monkeypatch.setattr(sources, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(pipeline, "SPOOL_ROWS", CHUNK)
    monkeypatch.setattr(compact, "FOLD_ROWS", 10)
    seen: dict[str, list[pl.DataFrame]] = {"magnitude": [], "reconcile": []}
    feed, fold = magnitude.Magnitude.feed, compact.compact

    def feed_spy(self, table, frame):
        feed(self, table, frame)
        seen["magnitude"].append(pl.concat(self.parts))

    def compact_spy(parts, reduce):
        out = fold(parts, reduce)
        if reduce is reconcile.reduce:
            seen["reconcile"].append(pl.concat(out))
        return out

    monkeypatch.setattr(magnitude.Magnitude, "feed", feed_spy)
    monkeypatch.setattr(pipeline, "compact", compact_spy)
    result = import_file(engine, "expenses", path, Options(submitted_by="clerk"))
    assert result.status == "loaded" and result.report["rows"]["loaded"] == rows == 1200

    for what in ("magnitude", "reconcile"):
        held = seen[what]
        assert len(held) >= rows // CHUNK  # one per chunk
        assert max(f.height for f in held) <= 2 * groups + CHUNK < rows, (what, [f.height for f in held])
        for f in held:  # no string column: every text of a key is a 4-byte code
            assert not [c for c, t in f.schema.items() if t == pl.String], (what, f.schema)
            assert all(isinstance(t, pl.Categorical) for c, t in f.schema.items() if c in magnitude.TEXTS)
    # what a figure costs: 6 codes, the year, the amount, the row and a flag (the strings took ≈ 150 bytes)
    last = magnitude._reduce([seen["magnitude"][-1]])
    assert last.height == groups and last.estimated_size() / last.height <= 50


def _texts(n: int, start: int, payees: int | None) -> pl.DataFrame:
    ids = range(start, start + n)
    return pl.DataFrame({"unit_id": [i % 2 + 1 for i in ids], "fiscal_year": [2023] * n,
                         "payee": [f"收款方{i if payees is None else i % payees}" for i in ids],
                         "description": [f"摘要{i % 3}" for i in ids], "amount_fen": [100 + i for i in ids],
                         "currency": ["CNY"] * n}, schema_overrides={"fiscal_year": pl.Int32})


def test_search_sums_give_up_at_the_first_fold_when_every_payee_is_new(monkeypatch):
    monkeypatch.setattr(batch_frames, "FOLD_ROWS", 100)
    spread = BatchFrames(1)
    for i in range(3):  # 60 rows: 78 partial rows (20 payees and 6 descriptions a part), no fold yet
        spread._add_texts("expense_entry", _texts(20, 20 * i, None))
    assert spread._search is not None and [p.height for p in spread._search] == [26, 26, 26]
    spread._add_texts("expense_entry", _texts(20, 60, None))  # 104 rows fold to 86 groups for 160 texts: > half
    assert spread._search is None and spread._vocabulary.height == 0 and spread.search_sums() is None

    few = BatchFrames(1)  # 2 units × 5 payees and × 3 descriptions: folded to 16 groups, the frames keep them
    for i in range(10):
        few._add_texts("expense_entry", _texts(20, 20 * i, 5))
    entries, vocabulary = few.search_sums()
    assert entries.height == 10 + 6 and vocabulary.height == 5 + 3
    assert entries["row_count"].sum() == 400 and entries["amount_fen"].sum() == 2 * sum(range(100, 300))
    assert entries.schema["currency"] == pl.String and entries.schema["row_count"] == pl.Int64


def test_a_file_of_distinct_payees_is_indexed_by_the_store(engine, tmp_path, monkeypatch):
    lines = ["unit_code,unit_name,fiscal_year,date,category,amount,payee,description,voucher_no"]
    lines += [f"U{n % 5},单位{n % 5},2023,2023-03-01,reception,{n}.50,收款方{n},摘要{n % 4},V{n}" for n in range(1, 301)]
    path = tmp_path / "payees.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(batch_frames, "FOLD_ROWS", 100)
    given_up = []
    real = BatchFrames._add_texts

    def spy(self, table, frame):
        real(self, table, frame)
        given_up.append(self._search is None)

    monkeypatch.setattr(BatchFrames, "_add_texts", spy)
    result = import_file(engine, "expenses", path, Options(submitted_by="clerk"))
    assert result.status == "loaded"
    assert given_up and given_up[-1] is True  # 320 groups for 600 texts: the store's GROUP BYs counted them
    with reading(engine) as conn:
        _same_as_store(conn, result.batch_id)
        count = select(func.count()).select_from(SearchEntry).where(SearchEntry.batch_id == result.batch_id,
                                                                     SearchEntry.kind != "unit")
        assert conn.execute(count).scalar() == 300 + 5 * 4


def test_a_budget_of_a_figure_a_row_is_summed_by_the_store(engine, tmp_path, monkeypatch):
    head = "unit_code,unit_name,fiscal_year,category,amount\n"
    path = tmp_path / "budgets.csv"  # every row its own rollup group (a national budget file: 1.33M of them)
    path.write_text(head + "".join(f"U{u:03d},单位{u},2023,reception,{100 + u}\n" for u in range(300)), encoding="utf-8")
    monkeypatch.setattr(batch_frames, "FOLD_ROWS", 100)
    given_up = []
    real = BatchFrames.add

    def spy(self, table, frame):
        real(self, table, frame)
        given_up.append(self._rollups is None)

    monkeypatch.setattr(BatchFrames, "add", spy)
    result = import_file(engine, "budgets", path, Options(submitted_by="clerk"))
    assert result.status == "loaded" and given_up and given_up[-1] is True
    with reading(engine) as conn:
        _same_as_store(conn, result.batch_id)  # the rollups from the store's GROUP BY, as the frames gave them
