"""read indexes: one behind every filter and sort the public lists offer (issue 15, cold reads)

Revision ID: 0010
Revises: a14s

Each filter and sort of ``/api/v1/expenses``, budgets, procurement, units, flags and target results
reads through an index (``tests/api/test_read_plans.py`` runs EXPLAIN QUERY PLAN for each on
SQLite). The plain column indexes are in the models (``ledger.store.models.READ_INDEXES``); the sort
expressions' indexes (``ix_sort_*``) are here only, written exactly as ``ledger.read.datasets``
writes the sorts so the planners match them. PostgreSQL also gets (fiscal_year, id): its indexes do
not end in the row id as SQLite's do, and a year holds hundreds of thousands of tied rows.
"""

from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

READ_INDEXES = {
    "expense_entry": ["category_code", "payee", "amount_fen", "entry_date", "created_at"],
    "budget_line": ["category_code", "stage", "amount_fen", "created_at"],
    "procurement_record": ["method", "ocds_method", "supplier_id", "contract_fen", "contract_date", "created_at"],
    "unit": ["level", "parent_id", "created_at"],
    "flag": ["unit_id", "fiscal_year", "category_code", "state", "created_at"],
    "target_result": [("run_id", "status"), ("run_id", "unit_id"), ("run_id", "fiscal_year")],
}
SORTS = {
    "ix_sort_expense_entry_date": ("expense_entry", "coalesce(entry_date, '0001-01-01'), id"),
    "ix_sort_procurement_record_amount": ("procurement_record", f"coalesce(contract_fen, {-(2**62)}), id"),
    "ix_sort_procurement_record_date": ("procurement_record", "coalesce(contract_date, '0001-01-01'), id"),
}
PG_SORTS = {f"ix_sort_{t}_fiscal_year": (t, "fiscal_year, id") for t in ("expense_entry", "budget_line", "procurement_record")}


def _names():
    for table, columns in READ_INDEXES.items():
        for cols in columns:
            cols = (cols,) if isinstance(cols, str) else cols
            yield table, f"ix_{table}_{'_'.join(cols)}", list(cols)


def _sorts():
    return {**SORTS, **(PG_SORTS if op.get_bind().dialect.name == "postgresql" else {})}


def upgrade() -> None:
    for table, name, cols in _names():
        op.create_index(name, table, cols)
    for name, (table, expr) in _sorts().items():
        op.execute(f"CREATE INDEX {name} ON {table} ({expr})")
    op.execute("ANALYZE")


def downgrade() -> None:
    for name in _sorts():
        op.execute(f"DROP INDEX {name}")
    for table, name, _ in _names():
        op.drop_index(name, table_name=table)
