"""batch_name: each batch's distinct payees and suppliers with their type as filed (issue 15)

Revision ID: 0016_batch_names
Revises: 0015_proccold

``batch_name`` (``ledger.store.derived.batch_names``): one row per batch, dataset, name and type with its
rows, written at publish so the privacy redactor reads the stored names from it instead of a GROUP BY over
every expense entry and procurement record (20.3 CPU-s at 5M entries on the first flags page of a process
and after each import). Filled here by the same GROUP BYs over the rows of every batch already published.
Append-only like ``rollup``; ``sunshine verify`` works it out again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_batch_names"
down_revision = "0015_proccold"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from ledger.store.derived import batch_names

    table = op.create_table(
        "batch_name",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dataset", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(40), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_batch_name_batch_id_import_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_name")),
        sa.UniqueConstraint("batch_id", "dataset", "name", "kind", name=op.f("uq_batch_name_batch_id_dataset_name_kind")),
    )
    conn = op.get_bind()
    for q in batch_names.from_rows():  # the models' tables: the same columns at this revision
        conn.execute(table.insert().from_select(batch_names.COLUMNS, q))
    if conn.dialect.name == "postgresql":
        op.execute("CREATE TRIGGER append_only_batch_name BEFORE UPDATE OR DELETE ON batch_name "
                   "FOR EACH ROW EXECUTE FUNCTION sunshine_reference_guard()")
        op.execute("CREATE TRIGGER append_only_batch_name_truncate BEFORE TRUNCATE ON batch_name "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_reference_guard()")
        op.execute("ANALYZE batch_name")
    else:
        for verb, done in (("DELETE", "deleted"), ("UPDATE", "updated")):
            op.execute(f"CREATE TRIGGER append_only_batch_name_{verb.lower()} BEFORE {verb} ON batch_name "
                       f"BEGIN SELECT RAISE(ABORT, 'batch_name is append-only: rows are never {done}'); END")


def downgrade() -> None:
    op.drop_table("batch_name")  # its triggers go with it
