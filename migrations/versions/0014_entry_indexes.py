"""Three secondary indexes no read needs any more, dropped: each cost a rebuild per large load (issue 15)

Revision ID: 0014_entry_indexes
Revises: 0013_batch_totals

- ``ix_expense_entry_entry_date``: the date filters of ``/api/v1/expenses`` are written on the date
  sort's expression (``ledger.read.datasets``), so ``ix_sort_expense_entry_date`` serves them.
- ``ix_expense_entry_created_at``: ``updated_since`` is bounded per batch through
  ``ix_expense_entry_batch_id_created_at`` (migration 0013) on both databases.
- ``ix_search_entry_batch_id``: no reader (search filters by live batch through ``import_batch``,
  the index is rebuilt by deleting every entry).

On PostgreSQL the two entry indexes are partitioned indexes: dropping the parent's drops each
partition's, and the downgrade's ``CREATE INDEX`` on the parent builds them on every partition again.
"""

from alembic import op

revision = "0014_entry_indexes"
down_revision = "0013_batch_totals"
branch_labels = None
depends_on = None

DROPPED = [("ix_expense_entry_entry_date", "expense_entry", ["entry_date"]),
           ("ix_expense_entry_created_at", "expense_entry", ["created_at"]),
           ("ix_search_entry_batch_id", "search_entry", ["batch_id"])]


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns)
        if op.get_bind().dialect.name == "sqlite":  # statistics, as an import leaves them (ledger.store.bulk.tuning)
            op.execute(f"ANALYZE {name}")
