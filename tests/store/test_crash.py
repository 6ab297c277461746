"""SIGKILL the import process at seeded random points; the store must never show a partial batch.

Each round imports a different file in a child process (``sunshine import``) and kills it after a
seeded random delay: before it reads, while it parses, while it writes rows or the log, or after it
committed. After every kill: the database passes its integrity check, every batch has all of its rows,
``verify`` passes; at the end the next import succeeds. Set ``SUNSHINE_CRASH_SEED`` to replay a run.
"""

import os
import random
import signal
import subprocess
import time

import pytest
from sqlalchemy import event, text

from importers.pipeline import Options
from importers.run import import_file
from ledger.store.db import make_engine
from tests.import_support import SUNSHINE, assert_store_consistent, expected_fen, expenses_csv, sunshine

SEED = int(os.environ.get("SUNSHINE_CRASH_SEED", "20261121"))


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def _kill_rounds(engine, db_url, tmp_path, kills: int, rows: int) -> list[str]:
    rng = random.Random(SEED)
    first = expenses_csv(tmp_path / "first.csv", rows, "first")
    started = time.monotonic()
    r = sunshine(db_url, "import", "expenses", first, "--json", "--by", "clerk")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    full = time.monotonic() - started  # kill points spread over one whole import, whatever the machine
    outcomes = []
    for i in range(kills):
        path = expenses_csv(tmp_path / f"round-{i}.csv", rows, f"r{i}")
        proc = subprocess.Popen([SUNSHINE, "--database", db_url, "import", "expenses", str(path), "--json", "--by",
                                 "clerk"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.05, 1.1) * full)
            outcomes.append("finished")
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcomes.append("killed")
        path.unlink()
        assert_store_consistent(engine)
    return outcomes


def _crash_test(engine, db_url, tmp_path, kills, rows):
    outcomes = _kill_rounds(engine, db_url, tmp_path, kills, rows)
    assert outcomes.count("killed") >= kills // 2, outcomes
    before = assert_store_consistent(engine)
    last = expenses_csv(tmp_path / "last.csv", rows, "last")
    r = sunshine(db_url, "import", "expenses", last, "--json", "--by", "clerk")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert assert_store_consistent(engine) == before + 1
    with engine.connect() as conn:
        got = conn.execute(text("SELECT count(*), sum(e.amount_fen) FROM expense_entry e JOIN import_batch b "
                                "ON b.id = e.batch_id WHERE b.file_name = 'last.csv'")).one()
    assert got == (rows, expected_fen(rows))


def test_sigkill_during_imports_never_leaves_a_partial_batch(engine, db_url, tmp_path):
    _crash_test(engine, db_url, tmp_path, kills=20, rows=3_000)


@pytest.mark.slow
def test_sigkill_during_large_imports(engine, db_url, tmp_path):
    _crash_test(engine, db_url, tmp_path, kills=60, rows=100_000)


def _assert_refused_as_full(result, db_url):
    assert result.status == "refused", result.report
    listed = result.report["problems"]["listed"]
    assert [p["code"] for p in listed] == ["store-full"], listed
    assert "out of space" in listed[0]["message_en"] and "已满" in listed[0]["message_zh"]
    plain = make_engine(db_url)
    try:
        assert assert_store_consistent(plain) == 0  # nothing left behind: no batch, no rows, no leaf
        with plain.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM unit")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
    finally:
        plain.dispose()


def test_disk_full_during_an_import_is_reported_plainly_and_leaves_nothing(backend, db_url, tmp_path):
    """SQLite: a real full database (``max_page_count``); PostgreSQL: the server's own DiskFull (53100).

    PostgreSQL cannot be given a small disk from a test, so a trigger raises the very error the server
    raises when it cannot extend a file; the import sees what it would see on a full disk.
    """
    small = make_engine(db_url)
    if backend == "sqlite":
        with small.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(small, "connect")
        def _cap(dbapi_conn, _record):
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 40}")

        small.dispose()
    else:
        with small.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$")
            conn.exec_driver_sql("CREATE TRIGGER test_disk_full BEFORE INSERT ON expense_entry "
                                 "FOR EACH STATEMENT EXECUTE FUNCTION test_disk_full()")
    path = expenses_csv(tmp_path / "big.csv", 20_000, "full")
    try:
        result = import_file(small, "expenses", path, Options(submitted_by="clerk"))
    finally:
        small.dispose()
    _assert_refused_as_full(result, db_url)
