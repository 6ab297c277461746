"""The plain ``created_at`` indexes of budget_line and procurement_record, dropped (issue 15, cold reads)

Revision ID: 0015_pgcold
Revises: 0014_batch_coverage

``updated_since`` is bounded per batch through ``ix_<table>_batch_id_created_at`` (0013), as on
expense_entry since 0014. With the plain index beside it, PostgreSQL answered "the newest row of batch B"
by walking ``created_at`` backwards, filtering on ``batch_id``: for every batch with no row in the table
(an expenses batch, seen from budget_line) that read the whole index. 1M ledger, first page: budgets
593 ms, procurement 224 ms (minimum); without the index both take the ``(batch_id, created_at)`` range.

On PostgreSQL budget_line's index is a partitioned index: dropping the parent's drops each partition's.
"""

from alembic import op

revision = "0015_pgcold"
down_revision = "0014_batch_coverage"
branch_labels = None
depends_on = None

DROPPED = [("ix_budget_line_created_at", "budget_line", ["created_at"]),
           ("ix_procurement_record_created_at", "procurement_record", ["created_at"])]


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns)
        if op.get_bind().dialect.name == "sqlite":  # statistics, as an import leaves them (ledger.store.bulk.tuning)
            op.execute(f"ANALYZE {name}")
