"""target results by target in id order (issue 15, cold reads at 5M)

Revision ID: 0015_proccold
Revises: 0015_pgcold

``/api/v1/target-results?target=`` walked the latest run's results in id order and filtered: a check writes
them target by target, so a target's first results sit behind the earlier targets' (5M entries, 1,440,000
results: 178 ms for the fifth of nine targets). The unique (run, target, unit, year) index is not in id order.
(run_id, target_id, id) is, on both databases.
"""

from alembic import op

revision = "0015_proccold"
down_revision = "0015_pgcold"
branch_labels = None
depends_on = None

NAME = "ix_target_result_run_id_target_id_id"


def upgrade() -> None:
    op.create_index(NAME, "target_result", ["run_id", "target_id", "id"])
    op.execute("ANALYZE target_result")


def downgrade() -> None:
    op.drop_index(NAME, table_name="target_result")
