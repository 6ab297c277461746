"""batch_coverage: the units each batch has rollup rows for, per measure and year (issue 15)

Revision ID: 0014_batch_coverage
Revises: 0014_entry_indexes

``batch_coverage`` (``ledger.store.derived.batch_coverage``): one row per batch, measure and year with
the batch's unit ids packed, written at publish next to the rollups so coverage reads a few rows per
batch instead of ``SELECT DISTINCT unit_id, fiscal_year`` over every ``rollup`` row. Filled here from
``rollup`` for every batch already published, one batch at a time. Append-only like ``rollup``;
``sunshine verify`` works it out again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_batch_coverage"
down_revision = "0014_entry_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from ledger.store.derived import batch_coverage

    table = op.create_table(
        "batch_coverage",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("unit_count", sa.BigInteger(), nullable=False),
        sa.Column("unit_ids", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_batch_coverage_batch_id_import_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_coverage")),
        sa.UniqueConstraint("batch_id", "measure", "fiscal_year",
                            name=op.f("uq_batch_coverage_batch_id_measure_fiscal_year")),
    )
    conn = op.get_bind()
    for (batch_id,) in conn.execute(sa.text("SELECT DISTINCT batch_id FROM rollup ORDER BY batch_id")).all():
        rows = batch_coverage.from_rollup(conn, batch_id)  # by the rollup's (batch_id, …) unique index
        if rows:
            conn.execute(table.insert(), [{k: r[k] for k in batch_coverage.COLUMNS} for r in rows])
    if conn.dialect.name == "postgresql":
        op.execute("CREATE TRIGGER append_only_batch_coverage BEFORE UPDATE OR DELETE ON batch_coverage "
                   "FOR EACH ROW EXECUTE FUNCTION sunshine_reference_guard()")
        op.execute("CREATE TRIGGER append_only_batch_coverage_truncate BEFORE TRUNCATE ON batch_coverage "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_reference_guard()")
    else:
        for verb, done in (("DELETE", "deleted"), ("UPDATE", "updated")):
            op.execute(f"CREATE TRIGGER append_only_batch_coverage_{verb.lower()} BEFORE {verb} ON batch_coverage "
                       f"BEGIN SELECT RAISE(ABORT, 'batch_coverage is append-only: rows are never {done}'); END")


def downgrade() -> None:
    op.drop_table("batch_coverage")  # its triggers go with it
