"""append-only: the database itself refuses to rewrite or delete published history

Revision ID: 0002
Revises: 0001

Which columns may legitimately change once a row exists:

- expense_entry, budget_line, procurement_record, log_leaf, log_checkpoint, log_row_digest,
  audit_log: none. A correction is a new batch that supersedes the old one.
- import_batch: only ``status``, and only from ``published`` to ``superseded`` (the importer may
  mark the batch a correction replaces; ``supersedes_id`` on the new batch is what counts).
- flag_review: only ``published_at``, once, from NULL to a time (the reviewer publishes the note).
- flag is not protected: its ``state`` is a cache of the latest review and moves with the workflow.

A superuser can drop these triggers; ``sunshine verify`` is what catches a rewrite made that way.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FROZEN = ["expense_entry", "budget_line", "procurement_record", "log_leaf", "log_checkpoint", "log_row_digest",
          "audit_log"]
IMPORT_BATCH_COLUMNS = ["id", "kind", "file_name", "sha256", "encoding", "sheet", "amount_unit", "submitted_by",
                        "created_at", "rows_read", "rows_loaded", "rows_skipped", "rows_held",
                        "control_total_fen", "supersedes_id", "report_json"]
FLAG_REVIEW_COLUMNS = ["id", "flag_id", "from_state", "to_state", "reviewer", "note", "created_at"]
ALL = [*FROZEN, "import_batch", "flag_review"]


def _same(columns: list[str]) -> str:
    return " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)


def _sqlite_upgrade() -> None:
    for table in ALL:
        msg = f"{table} is append-only: publish a correction instead of deleting"
        op.execute(f"CREATE TRIGGER append_only_{table}_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")
    allowed = {
        "import_batch": f"OLD.status = 'published' AND NEW.status = 'superseded' AND {_same(IMPORT_BATCH_COLUMNS)}",
        "flag_review": f"OLD.published_at IS NULL AND NEW.published_at IS NOT NULL AND {_same(FLAG_REVIEW_COLUMNS)}",
    }
    for table in ALL:
        msg = f"{table} is append-only: publish a correction instead of updating"
        when = f" WHEN NOT ({allowed[table]})" if table in allowed else ""
        op.execute(f"CREATE TRIGGER append_only_{table}_update BEFORE UPDATE ON {table} FOR EACH ROW{when} "
                   f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")


def _pg_upgrade() -> None:
    op.execute("""
        CREATE FUNCTION sunshine_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
                IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'import_batch' THEN
                IF OLD.status = 'published' AND NEW.status = 'superseded'
                   AND to_jsonb(NEW) - 'status' = to_jsonb(OLD) - 'status' THEN
                    RETURN NEW;
                END IF;
            ELSIF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'flag_review' THEN
                IF OLD.published_at IS NULL AND NEW.published_at IS NOT NULL
                   AND to_jsonb(NEW) - 'published_at' = to_jsonb(OLD) - 'published_at' THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION '% is append-only: publish a correction instead of %', TG_TABLE_NAME, lower(TG_OP)
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
    """)
    for table in ALL:
        op.execute(f"CREATE TRIGGER append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION sunshine_append_only()")
        op.execute(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _pg_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ALL:
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_delete")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_update")
        return
    for table in ALL:
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table} ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS sunshine_append_only()")
