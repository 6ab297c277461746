"""search: search_entry, the FTS5 trigram table on SQLite, the pg_trgm index on PostgreSQL

Revision ID: 0007
Revises: 0005

The index of what is already published is built by 0011 (``ledger.store.derived.search_index.rebuild``,
which knows the columns 0011 adds); from then on the publish hook adds each batch. PostgreSQL without the pg_trgm extension gets a plain index
under the same name and search falls back to ILIKE scans.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name="fk_search_entry_batch_id_import_batch"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name="fk_search_entry_unit_id_unit"),
        sa.PrimaryKeyConstraint("id", name="pk_search_entry"),
    )
    op.create_index("ix_search_entry_batch_id", "search_entry", ["batch_id"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_entry', content_rowid='id', "
                   "tokenize='trigram')")
    else:
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
        if available:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.create_index("ix_search_entry_body_trgm", "search_entry", ["body"], postgresql_using="gin",
                            postgresql_ops={"body": "gin_trgm_ops"})
        else:
            op.create_index("ix_search_entry_body_trgm", "search_entry", ["body"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    else:
        op.drop_index("ix_search_entry_body_trgm", table_name="search_entry")
    op.drop_index("ix_search_entry_batch_id", table_name="search_entry")
    op.drop_table("search_entry")
