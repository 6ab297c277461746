"""The database refuses to rewrite published history, on SQLite and PostgreSQL alike."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from ledger.store.db import writing
from tests.tlog_support import publish_expenses

STATEMENTS = [
    "UPDATE expense_entry SET amount_fen = amount_fen + 1",
    "DELETE FROM expense_entry",
    "UPDATE budget_line SET amount_fen = 0",
    "DELETE FROM budget_line",
    "UPDATE log_leaf SET manifest = '{}'",
    "DELETE FROM log_leaf",
    "UPDATE log_checkpoint SET root_hash = 'x'",
    "DELETE FROM log_checkpoint",
    "UPDATE log_row_digest SET row_count = 0",
    "DELETE FROM log_row_digest",
    "UPDATE audit_log SET actor = 'nobody'",
    "DELETE FROM audit_log",
    "UPDATE import_batch SET control_total_fen = 0",
    "UPDATE import_batch SET status = 'withdrawn'",
    "UPDATE import_batch SET status = 'superseded', control_total_fen = 0",
    "DELETE FROM import_batch",
]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_published_rows_cannot_be_updated_or_deleted(engine, sql):
    publish_expenses(engine, [100, 200])
    with pytest.raises(DatabaseError, match="append-only"), writing(engine) as conn:
        conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(amount_fen), count(*) FROM expense_entry")).one() == (300, 2)


def test_procurement_records_are_frozen_too(engine, backend):
    bid = publish_expenses(engine, [1])
    with writing(engine) as conn:
        uid = conn.execute(text("SELECT id FROM unit")).scalar()
        conn.execute(text("INSERT INTO procurement_record (batch_id, unit_id, fiscal_year, method, currency, "
                          "contract_fen, created_at) VALUES (:b, :u, 2023, 'single_source', 'CNY', 500, "
                          "CURRENT_TIMESTAMP)"), {"b": bid, "u": uid})
    for sql in ("UPDATE procurement_record SET contract_fen = 1", "DELETE FROM procurement_record"):
        with pytest.raises(DatabaseError, match="append-only"), writing(engine) as conn:
            conn.execute(text(sql))
    if backend == "postgres":
        with pytest.raises(DatabaseError, match="append-only"), writing(engine) as conn:
            conn.execute(text("TRUNCATE expense_entry, budget_line, procurement_record CASCADE"))


def test_a_batch_may_only_be_marked_superseded(engine):
    old = publish_expenses(engine, [100])
    with writing(engine) as conn:
        conn.execute(text("UPDATE import_batch SET status = 'superseded' WHERE id = :i"), {"i": old})
    with pytest.raises(DatabaseError, match="append-only"), writing(engine) as conn:
        conn.execute(text("UPDATE import_batch SET status = 'published' WHERE id = :i"), {"i": old})


def test_a_review_note_is_published_once_and_never_rewritten(engine):
    with writing(engine) as conn:
        conn.execute(text("INSERT INTO flag (id, rule_code, rule_version, state, data_status, figures_json, "
                          "message_zh, message_en, evidence_json, created_at) VALUES ('f1', 'budget_overrun', 1, "
                          "'open', 'active', '{}', '超支', 'overrun', '[]', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO flag_review (flag_id, from_state, to_state, reviewer, note, created_at) "
                          "VALUES ('f1', 'open', 'under_review', 'r', 'looking', CURRENT_TIMESTAMP)"))
        # The flag's state is a cache of the workflow: it moves.
        conn.execute(text("UPDATE flag SET state = 'under_review' WHERE id = 'f1'"))
    with writing(engine) as conn:
        conn.execute(text("UPDATE flag_review SET published_at = CURRENT_TIMESTAMP"))
    for sql in ("UPDATE flag_review SET published_at = NULL", "UPDATE flag_review SET note = 'nothing'",
                "DELETE FROM flag_review"):
        with pytest.raises(DatabaseError, match="append-only"), writing(engine) as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM flag_review")).scalar() == "looking"
