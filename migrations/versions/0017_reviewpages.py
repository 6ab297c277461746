"""target results by status in id order (issue 15, cold reads on PostgreSQL at 5M)

Revision ID: 0017_reviewpages
Revises: 0016_batch_names

``/api/v1/target-results?status=`` bounds its page by the run's first result of that status
(``ledger.read.review_datasets``), read from the index's end: (run_id, status) holds no id, so
PostgreSQL found it by walking the primary key (5M: 323,134 rows). (run_id, status, id) replaces it:
it serves every read the old one did.
"""

from alembic import op

revision = "0017_reviewpages"
down_revision = "0016_batch_names"
branch_labels = None
depends_on = None

OLD = "ix_target_result_run_id_status"
NAME = "ix_target_result_run_id_status_id"


def upgrade() -> None:
    op.create_index(NAME, "target_result", ["run_id", "status", "id"])
    op.drop_index(OLD, table_name="target_result")
    op.execute("ANALYZE target_result")


def downgrade() -> None:
    op.create_index(OLD, "target_result", ["run_id", "status"])
    op.drop_index(NAME, table_name="target_result")
