"""An import holds a bounded number of rows at a time, whatever the file's length (issue 15: peak RSS).

The file is read in blocks and chunks, the normalised chunks wait on disk past ``SPOOL_ROWS``, each is
inserted as its own part, and what the checks and the publish keep per figure (the magnitude check's
sums, each unit's first row, the rollups' partial sums) is folded as it comes, so it grows with the
distinct figures, not with the rows. With every size set small, a file of 1,200 rows is held here to
those bounds by counting the rows each stage holds, and its stored figures to the store's own GROUP BYs.
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from importers import kinds, pipeline
from importers.checks import compact, duplicates, magnitude
from importers.pipeline import Options
from importers.run import import_file
from importers.sheets import sources
from ledger.log import batch_frames
from ledger.store.db import reading
from ledger.store.models import ExpenseEntry, Rollup
from tests.importers.test_import_frames import _same_as_store

UNITS, YEARS, CATEGORIES, PER_CELL = 20, (2022, 2023), ("reception", "meeting", "overseas_travel"), 10
CHUNK = 40  # rows a chunk holds here (250,000 in use: importers.sheets.sources.CHUNK_ROWS)


def _file(tmp_path):
    lines = ["unit_code,unit_name,fiscal_year,date,category,amount,payee,voucher_no"]
    n = 0
    for i in range(PER_CELL):  # the units come round again in every chunk, as in a national file
        for u in range(UNITS):
            for y in YEARS:
                for c in CATEGORIES:
                    n += 1
                    lines.append(f"U{u:03d},单位{u},{y},{y}-03-{i + 1:02d},{c},{n}.50,收款方{n % 7},V{n}")
    path = tmp_path / "national.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, n


def test_an_import_holds_chunks_not_the_file(engine, tmp_path, monkeypatch):
    path, rows = _file(tmp_path)
    groups = UNITS * len(YEARS) * len(CATEGORIES)  # figures of the magnitude check and the rollups
    monkeypatch.setattr(sources, "BLOCK_BYTES", 2048)
    monkeypatch.setattr(sources, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(pipeline, "SPOOL_ROWS", CHUNK)
    monkeypatch.setattr(compact, "FOLD_ROWS", 10)
    monkeypatch.setattr(batch_frames, "FOLD_ROWS", 10)
    held: dict[str, list[int]] = {}

    def note(what: str, n: int) -> None:
        held.setdefault(what, []).append(n)

    def spy(owner, name, after):
        real = getattr(owner, name)

        def wrapped(*a, **k):
            out = real(*a, **k)
            after(a, out)
            return out

        monkeypatch.setattr(owner, name, wrapped)

    spy(kinds, "normalise", lambda a, out: note("chunk", a[0].height))
    spy(pipeline.Spool, "add", lambda a, out: note("spool in memory", a[0].in_memory))
    spy(pipeline, "bulk_insert", lambda a, out: note(f"insert {a[1].name}", a[2].height))
    spy(magnitude.Magnitude, "feed", lambda a, out: note("magnitude sums", sum(p.height for p in a[0].parts)))
    spy(duplicates.Finder, "mark", lambda a, out: note("first rows", sum(p.height for p in a[0].unit_frames)))
    spy(batch_frames.BatchFrames, "add",
        lambda a, out: note("rollup partials", sum(p.height for p in a[0]._rollups or [])))

    result = import_file(engine, "expenses", path, Options(submitted_by="clerk"))
    assert result.status == "loaded", result.report["problems"]
    assert result.report["rows"]["loaded"] == rows == 1200

    assert sum(held["chunk"]) == rows and max(held["chunk"]) <= CHUNK and len(held["chunk"]) >= rows // CHUNK
    assert max(held["spool in memory"]) <= CHUNK
    assert max(held["insert expense_entry"]) <= CHUNK and sum(held["insert expense_entry"]) == rows
    # folded as they come: about twice the figures at most (plus the chunk being added), never the rows
    for what in ("magnitude sums", "rollup partials"):
        assert max(held[what]) <= 2 * groups + CHUNK < rows, (what, held[what])
    assert max(held["first rows"]) <= 2 * UNITS + CHUNK, held["first rows"]

    with reading(engine) as conn:
        _same_as_store(conn, result.batch_id)  # rollups, persons, search texts, log hash and locator
        assert conn.execute(select(func.count()).select_from(Rollup)).scalar() == groups
        total = conn.execute(select(func.sum(ExpenseEntry.amount_fen))).scalar()
    expected = sum(n * 100 + 50 for n in range(1, rows + 1))
    assert total == expected == result.report["totals"]["expense"]["CNY"]


def test_folding_gives_what_one_pass_gives():
    parts = [pl.DataFrame({"unit_code": ["A", "B", "A"], "unit_name": ["甲", "乙", "甲"], "sheet": [None] * 3,
                           "source_row": [2, 3, 4]}),
             pl.DataFrame({"unit_code": ["B", "A", "C"], "unit_name": ["乙2", "甲", "丙"], "sheet": [None] * 3,
                           "source_row": [5, 6, 7]})]
    once = duplicates._first_pairs(parts)
    folded = duplicates._first_pairs([duplicates._first_pairs(parts[:1]), parts[1]])
    assert once.equals(folded)
    assert once.rows() == [("A", "甲", None, 2), ("B", "乙", None, 3), ("B", "乙2", None, 5), ("C", "丙", None, 7)]


def test_sqlite_page_cache_is_held_down_while_the_indexes_are_set_aside_not_to_publish(engine, backend, tmp_path, monkeypatch):
    if backend != "sqlite":
        pytest.skip("SQLite only: its page cache and sorter count in the import's own RSS")
    from ledger.store import batches
    from ledger.store.bulk import indexes, tuning

    path, rows = _file(tmp_path)
    monkeypatch.setattr(indexes, "MIN_ROWS", 100)  # 1,200 rows into an empty table: indexes set aside
    seen: dict[str, list[int]] = {}
    real = batches.bulk_insert

    def spy(conn, table, frame):
        (size,) = conn.connection.driver_connection.execute("PRAGMA cache_size").fetchone()
        seen.setdefault(table.name, []).append(size)
        return real(conn, table, frame)

    monkeypatch.setattr(pipeline, "bulk_insert", spy)
    monkeypatch.setattr(batches, "bulk_insert", spy)
    result = import_file(engine, "expenses", path, Options(submitted_by="clerk"))
    assert result.status == "loaded"
    held = -tuning.SQLITE_APPEND_CACHE_KIB
    assert set(seen["expense_entry"]) == {held}
    # not the publish: under a small cache its inserts into indexed tables re-read pages from the WAL
    assert set(seen["rollup"]) == {-tuning.SQLITE_PUBLISH_CACHE_KIB}
    with engine.connect() as conn:  # the pooled connection has its own cache back
        (size,) = conn.connection.driver_connection.execute("PRAGMA cache_size").fetchone()
        assert size not in (held, -tuning.SQLITE_PUBLISH_CACHE_KIB) and tuning.CAPPED not in conn.info


def test_the_magnitude_check_by_groups_of_units_finds_what_one_pass_finds(engine, tmp_path, monkeypatch):
    head = "unit_code,unit_name,fiscal_year,category,amount\n"
    last = tmp_path / "2023.csv"
    last.write_text(head + "".join(f"U{u:02d},单位{u},2023,reception,{100 + u}\n" for u in range(12)), encoding="utf-8")
    assert import_file(engine, "budgets", last, Options(submitted_by="clerk")).status == "loaded"
    # U03 and U07 slip (10⁴ off), U10 too in the other direction; U11 is new this year (no prior: no ratio)
    amount = {3: "1010000", 7: "1070000", 10: "0.01"}
    body = "".join(f"U{u:02d},单位{u},2024,reception,{amount.get(u, 100 + u)}\n" for u in range(12))
    now = tmp_path / "2024.csv"
    now.write_text(head + body, encoding="utf-8")
    one = import_file(engine, "budgets", now, Options(submitted_by="clerk")).report
    monkeypatch.setattr(magnitude, "PASS_FIGURES", 2)  # 12 figures: passes of two units each
    grouped = import_file(engine, "budgets", now, Options(submitted_by="clerk")).report
    assert one["status"] == grouped["status"] == "refused"
    assert [f["unit_code"] for f in one["implausible"]] == ["U03", "U07", "U10"]
    assert grouped["implausible"] == one["implausible"] and grouped["problems"] == one["problems"]
