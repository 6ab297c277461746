"""unit.kind: the unit's 单位性质 (行政单位, 参照公务员法管理事业单位, 事业单位, 其他), for peer groups (issue 18)

Revision ID: 0012_unit_kind
Revises: 0012_flag_digest

Unit costs are compared within the same level *and kind* of unit in the same year. Nullable: units
registered before, or by a file without the column, state none (``ledger.store.unit_terms``). The
append-only guard of a14s lets ``kind`` change like name, parent, level and region (``import units
--update-units``); the transparency log commits to it from register form 2 on (``ledger.log.register``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_unit_kind"
down_revision = "0012_flag_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit", sa.Column("kind", sa.String(40), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE unit DROP COLUMN kind")  # plain SQL: SQLite (3.35+) drops it in place, triggers kept
