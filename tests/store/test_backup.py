"""Backup and restore as an operator runs them: after a restore, verify passes against the exported checkpoint."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.tlog_support import publish_expenses

SUNSHINE = str(Path(sys.executable).parent / "sunshine")


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def sunshine(db_url, *args):
    return subprocess.run([SUNSHINE, "--database", db_url, *args], capture_output=True, text=True)


def test_backup_then_restore_brings_back_exactly_the_published_history(engine, db_url, tmp_path):
    publish_expenses(engine, [100, 250])
    publish_expenses(engine, [7], name="b.csv")
    exported, dump = tmp_path / "cp.json", tmp_path / "ledger.store.backup"
    assert sunshine(db_url, "checkpoint", "export", str(exported)).returncode == 0
    r = sunshine(db_url, "backup", str(dump), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bytes"] > 0

    publish_expenses(engine, [999], name="after-backup.csv")  # lost by the restore, as it should be
    r = sunshine(db_url, "restore", str(dump), "--yes")
    assert r.returncode == 0, r.stderr
    engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(amount_fen) FROM expense_entry")).one() == (3, 357)
        assert conn.execute(text("SELECT count(*) FROM log_leaf")).scalar() == 2
    r = sunshine(db_url, "verify", "--checkpoint", str(exported), "--json")
    assert r.returncode == 0, r.stdout
    # The triggers came back with the schema.
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM expense_entry"))


def test_restore_refuses_a_file_that_is_not_a_backup(db_url, tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    r = sunshine(db_url, "restore", str(junk), "--yes", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["ok"] is False
    assert sunshine(db_url, "db", "current", "--json").returncode == 0
