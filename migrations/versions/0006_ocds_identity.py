"""procurement: one contracting process (ocid) counted once; unknown years and currencies (issue 13)

Revision ID: 0006
Revises: a14s

- ``procurement_record.fiscal_year`` and ``currency`` may be null: a record whose dates say no year
  has an unknown year (never the import day's or the publication's), a record without any amount
  states no currency (it used to be stored as CNY).
- ``procurement_record.compiled_json``: the compiled OCDS release a row was read from (provenance).
- ``procurement_summary``: lines of published procurement summary tables (政府采购情况表: by method,
  by 货物/工程/服务, by period; project counts, budget, contract, savings), append-only.
- ``procurement_replacement``: a newer compiled state of an ocid already in the ledger replaces the
  older row by a link (replaced, replacement, ocid, batch), never by rewriting it. Append-only, like
  the records it links.

SQLite changes a column's nullability by copying the table, which drops its triggers: the
append-only triggers of ``procurement_record`` (0002) are created again afterwards.
"""

import sqlalchemy as sa
from alembic import op

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

RECORD = "procurement_record"
LINK = "procurement_replacement"
SUMMARY = "procurement_summary"


def _sqlite_triggers(table: str) -> None:
    for what, verb, doing in (("delete", "DELETE", "deleting"), ("update", "UPDATE", "updating")):
        msg = f"{table} is append-only: publish a correction instead of {doing}"
        op.execute(f"CREATE TRIGGER append_only_{table}_{what} BEFORE {verb} ON {table} "
                   f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{msg}'); END")


def _drop_sqlite_triggers(table: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_delete")
    op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_update")


def _alter_record(nullable: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_sqlite_triggers(RECORD)
    with op.batch_alter_table(RECORD) as batch_op:
        if nullable:
            batch_op.add_column(sa.Column("compiled_json", sa.Text(), nullable=True))
        else:
            batch_op.drop_column("compiled_json")
        batch_op.alter_column("fiscal_year", existing_type=sa.Integer(), nullable=nullable)
        batch_op.alter_column("currency", existing_type=sa.String(length=3), nullable=nullable)
    if sqlite:
        _sqlite_triggers(RECORD)


def upgrade() -> None:
    op.create_table(
        LINK,
        sa.Column("id", BigId, nullable=False),
        sa.Column("replaced_id", BigId, nullable=False),
        sa.Column("replacement_id", BigId, nullable=False),
        sa.Column("ocid", sa.String(length=200), nullable=False),
        sa.Column("batch_id", BigId, nullable=False),
        sa.Column("created_at", Timestamp, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f(f"fk_{LINK}_batch_id_import_batch")),
        sa.ForeignKeyConstraint(["replaced_id"], [f"{RECORD}.id"], name=op.f(f"fk_{LINK}_replaced_id_{RECORD}")),
        sa.ForeignKeyConstraint(["replacement_id"], [f"{RECORD}.id"],
                                name=op.f(f"fk_{LINK}_replacement_id_{RECORD}")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{LINK}")),
    )
    for col in ("batch_id", "replaced_id", "replacement_id"):
        op.create_index(op.f(f"ix_{LINK}_{col}"), LINK, [col], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER append_only_{LINK} BEFORE UPDATE OR DELETE ON {LINK} "
                   f"FOR EACH ROW EXECUTE FUNCTION sunshine_append_only()")
        op.execute(f"CREATE TRIGGER append_only_{LINK}_truncate BEFORE TRUNCATE ON {LINK} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()")
    else:
        _sqlite_triggers(LINK)
    _alter_record(nullable=True)
    _create_summary()


def _create_summary() -> None:
    op.create_table(
        SUMMARY,
        sa.Column("id", BigId, nullable=False),
        sa.Column("batch_id", BigId, nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("unit_id", BigId, nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=True),
        sa.Column("method_raw", sa.String(length=200), nullable=True),
        sa.Column("item_kind", sa.String(length=20), nullable=True),
        sa.Column("projects", sa.Integer(), nullable=True),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("contract_fen", sa.BigInteger(), nullable=True),
        sa.Column("savings_fen", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f(f"fk_{SUMMARY}_batch_id_import_batch")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f(f"fk_{SUMMARY}_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{SUMMARY}")),
    )
    op.create_index(op.f(f"ix_{SUMMARY}_batch_id"), SUMMARY, ["batch_id"], unique=False)
    _append_only(SUMMARY)


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION sunshine_append_only()")
        op.execute(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()")
    else:
        _sqlite_triggers(table)


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table} ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_truncate ON {table}")
    else:
        _drop_sqlite_triggers(table)


def downgrade() -> None:
    _drop_append_only(SUMMARY)
    op.drop_index(op.f(f"ix_{SUMMARY}_batch_id"), table_name=SUMMARY)
    op.drop_table(SUMMARY)
    _alter_record(nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{LINK} ON {LINK}")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{LINK}_truncate ON {LINK}")
    else:
        _drop_sqlite_triggers(LINK)
    for col in ("batch_id", "replaced_id", "replacement_id"):
        op.drop_index(op.f(f"ix_{LINK}_{col}"), table_name=LINK)
    op.drop_table(LINK)
