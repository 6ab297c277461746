"""``ix_expense_entry_unit_voucher`` dropped: the 凭证号 duplicate check no longer needs it (issue 15)

Revision ID: 0016_voucher
Revises: 0015_proccold

The check reads the ledger's rows of the unit-years a file touches once per file, through
``ix_expense_entry_unit_year_category``, into a TEMP table of its own (``importers.checks.vouchers``).
No other reader needs the index: ``unit=`` (API, downloads) reads ``(unit_id, fiscal_year, category_code)``
as well on both databases, and no filter is on ``voucher_no``. Every row inserted paid it.

On PostgreSQL it is a partitioned index: dropping the parent's drops each partition's, and the
downgrade's ``CREATE INDEX`` on the parent builds it on every partition again.
"""

from alembic import op

revision = "0016_voucher"
down_revision = "0015_proccold"
branch_labels = None
depends_on = None

NAME = "ix_expense_entry_unit_voucher"


def upgrade() -> None:
    op.drop_index(NAME, table_name="expense_entry")


def downgrade() -> None:
    op.create_index(NAME, "expense_entry", ["unit_id", "voucher_no"])
    if op.get_bind().dialect.name == "sqlite":  # statistics, as an import leaves them (ledger.store.bulk.tuning)
        op.execute(f"ANALYZE {NAME}")
