"""batch_total: each batch's rollup summed over units; (batch_id, created_at) for updated_since (issue 15)

Revision ID: 0013_batch_totals
Revises: 0012_unit_kind

- ``batch_total`` (``ledger.store.derived.batch_totals``): one row per batch, measure, year, category and
  currency, written at publish next to the rollups so a new process reads a few hundred rows instead of
  summing millions of ``rollup`` rows. Filled here from ``rollup`` for every batch already published.
  Append-only like ``rollup`` (the triggers of a14s); ``sunshine verify`` recomputes it.
- ``ix_<table>_batch_id_created_at`` on expense_entry, budget_line and procurement_record: per-batch
  bounds for ``updated_since`` (``ledger.read.datasets``): the first id of the first batch with a row
  created since then is found by index, so the page walks ids from there instead of from the first row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_batch_totals"
down_revision = "0013_search_text"
branch_labels = None
depends_on = None

BOUNDED = ["expense_entry", "budget_line", "procurement_record"]


def upgrade() -> None:
    op.create_table(
        "batch_total",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_batch_total_batch_id_import_batch")),
        sa.ForeignKeyConstraint(["category_code"], ["category.code"], name=op.f("fk_batch_total_category_code_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_total")),
        sa.UniqueConstraint("batch_id", "measure", "fiscal_year", "category_code", "currency",
                            name=op.f("uq_batch_total_batch_id_measure_fiscal_year_category_code_currency")),
    )
    op.execute("INSERT INTO batch_total (batch_id, measure, fiscal_year, category_code, currency, amount_fen, row_count) "
               "SELECT batch_id, measure, fiscal_year, category_code, currency, sum(amount_fen), sum(row_count) "
               "FROM rollup GROUP BY batch_id, measure, fiscal_year, category_code, currency "
               "ORDER BY batch_id, measure, fiscal_year, category_code, currency")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER append_only_batch_total BEFORE UPDATE OR DELETE ON batch_total "
                   "FOR EACH ROW EXECUTE FUNCTION sunshine_reference_guard()")
        op.execute("CREATE TRIGGER append_only_batch_total_truncate BEFORE TRUNCATE ON batch_total "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_reference_guard()")
    else:
        for verb, done in (("DELETE", "deleted"), ("UPDATE", "updated")):
            op.execute(f"CREATE TRIGGER append_only_batch_total_{verb.lower()} BEFORE {verb} ON batch_total "
                       f"BEGIN SELECT RAISE(ABORT, 'batch_total is append-only: rows are never {done}'); END")
    for table in BOUNDED:
        op.create_index(f"ix_{table}_batch_id_created_at", table, ["batch_id", "created_at"])
        if op.get_bind().dialect.name == "sqlite":  # statistics, as an import leaves them (ledger.store.bulk.tuning)
            op.execute(f"ANALYZE ix_{table}_batch_id_created_at")


def downgrade() -> None:
    for table in BOUNDED:
        op.drop_index(f"ix_{table}_batch_id_created_at", table_name=table)
    op.drop_table("batch_total")  # its triggers go with it
