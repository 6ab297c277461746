"""Manifest v2 (issue 18): new batches commit to the filed payee / supplier type, which decides whose
names are hidden; leaves logged as v1 keep verifying against the v1 columns."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.log import canonical, tlog
from ledger.log.canonical import canonical_rows
from ledger.log.verify import verify
from ledger.store.db import reading, writing
from tests.api_support import running
from tests.store.test_tamper import drop_triggers
from tests.tlog_support import publish_expenses

SUNSHINE = str(Path(sys.executable).parent / "sunshine")


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


@pytest.fixture
def two_versions(engine, monkeypatch):
    """Batch a logged the way the ledger did before v2, batch b as it does now."""
    with monkeypatch.context() as m:
        m.setattr(canonical, "MANIFEST_VERSION", "1")
        a = publish_expenses(engine, [100, 200], unit="U1")
    b = publish_expenses(engine, [300], unit="U2", name="second.csv")
    return a, b


def _manifest(engine, batch_id):
    with reading(engine) as conn:
        leaf = next(x for x in tlog.leaves(conn) if x["ref_id"] == str(batch_id))
    return json.loads(leaf["manifest"])


def _sha(lines: list[str]) -> str:
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


def test_v1_and_v2_leaves_both_verify_each_against_its_own_columns(engine, db_url, two_versions, tmp_path):
    a, b = two_versions
    assert (_manifest(engine, a)["v"], _manifest(engine, b)["v"]) == ("1", "2")
    with reading(engine) as conn:
        assert verify(conn).problems == []
        v1 = [line for _t, _i, line in canonical_rows(conn, a, "1")]
        v2 = [line for _t, _i, line in canonical_rows(conn, b, "2")]
    # v1: 16 expense columns; v2 adds payee_type and days at the end (null: the file had neither column)
    assert v1[0] == '["expense_entry","1","1","2","1","2023","2023-03-01","reception","100","CNY","某酒店",null,null,null,null,null,null]'
    assert v2[0] == '["expense_entry","3","2","2","2","2023","2023-03-01","reception","300","CNY","某酒店",null,null,null,null,null,null,null,null]'
    assert _sha(v1) == _manifest(engine, a)["rows_sha256"] and _sha(v2) == _manifest(engine, b)["rows_sha256"]
    # the published row streams and `sunshine checkpoint rows` give each batch in its own version
    with running(db_url) as client:
        streamed = {x: client.get(f"/api/v1/log/batches/{x}/rows").text for x in (a, b)}
    assert hashlib.sha256(streamed[a].encode()).hexdigest() == _manifest(engine, a)["rows_sha256"]
    assert hashlib.sha256(streamed[b].encode()).hexdigest() == _manifest(engine, b)["rows_sha256"]
    out = tmp_path / "rows-a.jsonl"
    done = subprocess.run([SUNSHINE, "--database", db_url, "checkpoint", "rows", str(a), str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == _manifest(engine, a)["rows_sha256"]


def test_a_payee_type_changed_after_publication_is_named_in_a_v2_batch(engine, two_versions):
    a, b = two_versions
    drop_triggers(engine, "expense_entry")
    with writing(engine) as conn:  # turning a company into a "person" would hide its name from the public
        conn.execute(text("UPDATE expense_entry SET payee_type = '个人' WHERE batch_id = :b"), {"b": b})
    with reading(engine) as conn:
        problems = verify(conn).problems
    # the names kept at publish (batch_name, what the redactor reads) no longer match the rows either
    assert [(p.code, p.batch_id, p.table) for p in problems] == [("row-changed", b, "expense_entry"),
                                                                 ("rollup-changed", b, "batch_name")]
    # a v1 leaf never committed to the type: the same change there is outside what it signed, but the names
    # kept at publish still say what was published (the redactor reads those), and verify names the difference
    with writing(engine) as conn:
        conn.execute(text("UPDATE expense_entry SET payee_type = NULL WHERE batch_id = :b"), {"b": b})
        conn.execute(text("UPDATE expense_entry SET payee_type = '个人' WHERE batch_id = :a"), {"a": a})
    with reading(engine) as conn:
        assert [(p.code, p.batch_id, p.table) for p in verify(conn).problems] == [("rollup-changed", a, "batch_name")]


def test_a_leaf_of_an_unknown_version_is_reported(engine, two_versions, monkeypatch):
    a, _b = two_versions
    from ledger.log import verify as verify_module

    monkeypatch.setattr(verify_module, "ROW_COLUMNS_BY_VERSION", {"2": canonical.ROW_COLUMNS_V2})
    with reading(engine) as conn:
        problems = verify(conn).problems
    assert [(p.code, p.batch_id) for p in problems] == [("batch-changed", a)]
