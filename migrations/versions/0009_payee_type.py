"""payee and supplier type as filed (issue 18: personal data protected on publication)

Revision ID: 0009
Revises: a14s

``expense_entry.payee_type`` (收款方类型) and ``procurement_record.supplier_type`` (供应商类型) keep
what a file says a payee or supplier is (个人, 单位 …); ``ledger.read.privacy`` reads them when it
decides, at read time, which names to hide. Nullable: rows filed before, and files without the
column, have none. The tables stay append-only (their triggers cover every column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("expense_entry", sa.Column("payee_type", sa.String(40), nullable=True))
    op.add_column("procurement_record", sa.Column("supplier_type", sa.String(40), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild would drop the append-only triggers
    op.execute("ALTER TABLE procurement_record DROP COLUMN supplier_type")
    op.execute("ALTER TABLE expense_entry DROP COLUMN payee_type")
