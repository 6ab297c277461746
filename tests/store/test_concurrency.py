"""Imports racing each other, and readers racing imports, through the real CLI on both databases."""

import json
import subprocess
import threading

import pytest
from sqlalchemy import text

from ledger.store.db import make_engine, reading
from tests.import_support import SUNSHINE, assert_store_consistent, expected_fen, expenses_csv

ROWS = 2_000


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


class Reader(threading.Thread):
    """Reads in snapshots while imports run; records any batch seen with fewer rows than it says."""

    def __init__(self, db_url):
        super().__init__(daemon=True)
        self.engine = make_engine(db_url)
        self.stop = threading.Event()
        self.snapshots = 0
        self.torn: list = []

    def run(self):
        while not self.stop.is_set():
            with reading(self.engine) as conn:
                rows = conn.execute(text(
                    "SELECT b.id, b.rows_loaded, (SELECT count(*) FROM expense_entry e WHERE e.batch_id = b.id), "
                    "(SELECT count(*) FROM log_leaf l WHERE l.ref_id = CAST(b.id AS VARCHAR(20))) FROM import_batch b"
                )).all()
                orphans = conn.execute(text(
                    "SELECT count(*) FROM expense_entry e WHERE NOT EXISTS "
                    "(SELECT 1 FROM import_batch b WHERE b.id = e.batch_id)")).scalar()
            self.torn += [r for r in rows if r[1] != r[2] or r[3] != 1]
            if orphans:
                self.torn.append(("orphan rows", orphans))
            self.snapshots += 1
        self.engine.dispose()


def _run_all(db_url, files):
    procs = [subprocess.Popen([SUNSHINE, "--database", db_url, "import", "expenses", str(f), "--json", "--by",
                               f"clerk{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, f in enumerate(files)]
    try:
        return [(p.wait(timeout=240), *p.communicate()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def test_the_same_file_eight_times_at_once_makes_one_batch(engine, db_url, tmp_path):
    path = expenses_csv(tmp_path / "same.csv", ROWS, "same")
    reader = Reader(db_url)
    reader.start()
    results = _run_all(db_url, [path] * 8)
    reader.stop.set()
    reader.join()
    assert [code for code, _o, _e in results] == [0] * 8, [e[-500:] for _c, _o, e in results]
    assert assert_store_consistent(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(amount_fen) FROM expense_entry")).one() == (ROWS, expected_fen(ROWS))
    assert reader.torn == [] and reader.snapshots > 0


def test_eight_different_files_for_one_unit_and_year_all_land(engine, db_url, tmp_path):
    # The unit is new to the ledger: all eight meet it for the first time at once.
    files = [expenses_csv(tmp_path / f"f{i}.csv", ROWS, f"f{i}", unit_count=1) for i in range(8)]
    reader = Reader(db_url)
    reader.start()
    results = _run_all(db_url, files)
    reader.stop.set()
    reader.join()
    assert [code for code, _o, _e in results] == [0] * 8, [e[-500:] for _c, _o, e in results]
    assert assert_store_consistent(engine) == 8
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(amount_fen), count(DISTINCT voucher_no) FROM expense_entry")).one() \
            == (8 * ROWS, 8 * expected_fen(ROWS), 8 * ROWS)
        assert conn.execute(text("SELECT count(*) FROM unit")).scalar() == 1
        assert conn.execute(text("SELECT sum(amount_fen) FROM rollup WHERE measure = 'actual'")).scalar() == 8 * expected_fen(ROWS)
    assert reader.torn == [] and reader.snapshots > 0


def test_ensure_units_from_many_transactions_at_once(engine, db_url):
    """Eight writers meet the same new unit codes, each listing them in its own order: one row per code."""
    import random

    from ledger.store.batches import ensure_units
    from ledger.store.db import writing

    codes = [f"N{i:03d}" for i in range(300)]
    errors: list[BaseException] = []
    seen: list[dict] = []

    def work(seed):
        local = make_engine(db_url)
        order = codes[:]
        random.Random(seed).shuffle(order)
        try:
            with writing(local) as conn:
                seen.append(ensure_units(conn, [(c, f"单位{c}") for c in order]))
        except BaseException as exc:  # any error at all is the failure tested for
            errors.append(exc)
        finally:
            local.dispose()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) == 8 and all(s == seen[0] for s in seen) and sorted(seen[0]) == codes
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT code) FROM unit")).one() == (300, 300)


def test_two_different_files_sharing_rows_at_once_land_the_shared_rows_once(engine, db_url, tmp_path):
    """Issue 14, item 3: on PostgreSQL both used to land in full (2 x 3,000 rows instead of 4,000)."""
    import polars as pl

    first = expenses_csv(tmp_path / "first.csv", ROWS, "shared", unit_count=4)
    files = []
    for i in range(2):  # each: the same 2,000 shared rows plus 1,000 of its own
        more = expenses_csv(tmp_path / f"extra{i}.csv", ROWS // 2, f"extra{i}", unit_count=4)
        path = tmp_path / f"file{i}.csv"
        pl.concat([pl.read_csv(first, infer_schema=False), pl.read_csv(more, infer_schema=False)]).write_csv(path)
        files.append(path)
    procs = [subprocess.Popen([SUNSHINE, "--database", db_url, "import", "expenses", str(f), "--json", "--by",
                               f"clerk{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, f in enumerate(files)]
    outs = [p.communicate(timeout=240) for p in procs]  # communicate: the reports are larger than a pipe
    assert [p.returncode for p in procs] == [0, 0], [e[-500:] for _o, e in outs]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT voucher_no) FROM expense_entry")).one() \
            == (2 * ROWS, 2 * ROWS)
    loaded = sorted(json.loads(out)["files"][0]["rows"]["loaded"] for out, _e in outs)
    assert loaded == [ROWS // 2, ROWS + ROWS // 2]  # the second to commit held back the 2,000 shared rows
