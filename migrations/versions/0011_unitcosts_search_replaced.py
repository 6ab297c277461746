"""search: each entry's currency, and entries that take back a replaced procurement state; meeting days

Revision ID: 0011_unitcosts
Revises: 0010

``search_entry.currency`` keeps a procurement amount in its own currency (a UAH contract is never
shown as yuan). ``search_entry.replaced_batch_id`` marks an entry appended when a newer compiled
state of an ocid replaced a row (``procurement_replacement``): it carries the replaced row's text
with a negative count and amount, in the replacing batch, and counts only while both that batch
and the replaced row's batch are live, so search shows what ``live_procurement`` counts. The index
is derived, so it is rebuilt here from what is published.

``expense_entry.days`` (天数 / 会期天数): the days a line item states, for the cost per meeting day and per
person-day (issue 18). Nullable: rows filed before, and files without the column, state none. The
table stays append-only (its triggers cover every column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_unitcosts"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("expense_entry", sa.Column("days", sa.Integer(), nullable=True))
    op.add_column("search_entry", sa.Column("currency", sa.String(3), nullable=True))
    op.add_column("search_entry", sa.Column("replaced_batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                            nullable=True))
    rebuild_with_bodies(op.get_bind())


def rebuild_with_bodies(conn) -> None:
    """The index as this revision stores it (a body per entry; 0013_search_text moved the texts to ``search_text``)."""
    from ledger.store.derived.search_index import COLUMNS, text_selects

    conn.execute(sa.text("DELETE FROM search_entry"))
    cols = ", ".join(COLUMNS)
    conn.execute(sa.text(f"INSERT INTO search_entry ({cols}) SELECT batch_id, 'unit', id, NULL, name, 1, NULL, NULL, NULL "
                         "FROM unit WHERE batch_id IS NOT NULL"))
    for q in text_selects(None):
        conn.execute(sa.text(f"INSERT INTO search_entry ({cols}) {q.compile(conn, compile_kwargs={'literal_binds': True})}"))
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))


def downgrade() -> None:
    op.execute("DELETE FROM search_entry WHERE replaced_batch_id IS NOT NULL")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    op.execute("ALTER TABLE search_entry DROP COLUMN replaced_batch_id")
    op.execute("ALTER TABLE search_entry DROP COLUMN currency")
    op.execute("ALTER TABLE expense_entry DROP COLUMN days")
