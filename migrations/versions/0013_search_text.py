"""search: every distinct text once in ``search_text``; ``search_entry`` names it by ``text_id`` (issue 15)

Revision ID: 0013_search_text
Revises: 0012_unit_kind

An import tokenised each text once per kind, unit and year (1,321,928 ``search_entry`` rows naming
30,008 distinct texts for 1M rows). The texts move to ``search_text`` (unique: on ``body`` on
SQLite, on ``md5(body)`` on PostgreSQL, whose B-tree keys are bounded in size), which the FTS5
trigram table ``search_fts`` (SQLite) or the pg_trgm GIN index (PostgreSQL) covers instead of
``search_entry``; the existing index is converted in place, ids kept. Downgrade puts the bodies back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_search_text"
down_revision = "0012_unit_kind"
branch_labels = None
depends_on = None


ENTRY_SQLITE = """CREATE TABLE {name} (
    id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL,
    kind VARCHAR(20) NOT NULL,
    unit_id INTEGER,
    fiscal_year INTEGER,
    {text},
    row_count BIGINT NOT NULL,
    amount_fen BIGINT,
    currency VARCHAR(3),
    replaced_batch_id INTEGER,
    CONSTRAINT pk_search_entry PRIMARY KEY (id),
    CONSTRAINT fk_search_entry_batch_id_import_batch FOREIGN KEY(batch_id) REFERENCES import_batch (id),
    CONSTRAINT fk_search_entry_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id){fk}
)"""
KEPT = "id, batch_id, kind, unit_id, fiscal_year, row_count, amount_fen, currency, replaced_batch_id"


def _trgm_index(table: str) -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(f"ix_{table}_body_trgm", table, ["body"], postgresql_using="gin",
                        postgresql_ops={"body": "gin_trgm_ops"})
    else:
        op.create_index(f"ix_{table}_body_trgm", table, ["body"])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "search_text",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_search_text"),
    )
    op.execute("INSERT INTO search_text (body) SELECT body FROM search_entry GROUP BY body ORDER BY min(id)")
    if sqlite:
        op.execute("DROP TABLE search_fts")
        op.execute("CREATE UNIQUE INDEX uq_search_text_body ON search_text (body)")
        op.execute(ENTRY_SQLITE.format(name="search_entry_new", text="text_id INTEGER NOT NULL",
                                       fk=",\n    CONSTRAINT fk_search_entry_text_id_search_text FOREIGN KEY(text_id) "
                                          "REFERENCES search_text (id)"))
        op.execute(f"INSERT INTO search_entry_new ({KEPT}, text_id) SELECT {', '.join('e.' + c for c in KEPT.split(', '))}, "
                   "t.id FROM search_entry e JOIN search_text t ON t.body = e.body ORDER BY e.id")
        op.execute("DROP INDEX ix_search_entry_batch_id")
        op.execute("DROP TABLE search_entry")
        op.execute("ALTER TABLE search_entry_new RENAME TO search_entry")
        op.create_index("ix_search_entry_batch_id", "search_entry", ["batch_id"])
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_text', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    else:
        op.execute("CREATE UNIQUE INDEX uq_search_text_body ON search_text (md5(body))")
        op.drop_index("ix_search_entry_body_trgm", table_name="search_entry")
        op.add_column("search_entry", sa.Column("text_id", sa.BigInteger(), nullable=True))
        op.execute("UPDATE search_entry e SET text_id = t.id FROM search_text t "
                   "WHERE md5(t.body) = md5(e.body) AND t.body = e.body")
        op.alter_column("search_entry", "text_id", nullable=False)
        op.create_foreign_key("fk_search_entry_text_id_search_text", "search_entry", "search_text", ["text_id"], ["id"])
        op.drop_column("search_entry", "body")
        _trgm_index("search_text")
    op.create_index("ix_search_entry_text_id", "search_entry", ["text_id"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_search_entry_text_id", table_name="search_entry")
    if sqlite:
        op.execute("DROP TABLE search_fts")
        op.execute(ENTRY_SQLITE.format(name="search_entry_old", text="body TEXT NOT NULL", fk=""))
        op.execute(f"INSERT INTO search_entry_old ({KEPT}, body) SELECT {', '.join('e.' + c for c in KEPT.split(', '))}, "
                   "t.body FROM search_entry e JOIN search_text t ON t.id = e.text_id ORDER BY e.id")
        op.execute("DROP INDEX ix_search_entry_batch_id")
        op.execute("DROP TABLE search_entry")
        op.execute("ALTER TABLE search_entry_old RENAME TO search_entry")
        op.create_index("ix_search_entry_batch_id", "search_entry", ["batch_id"])
        op.execute("DROP TABLE search_text")
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_entry', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
    else:
        op.add_column("search_entry", sa.Column("body", sa.Text(), nullable=True))
        op.execute("UPDATE search_entry e SET body = t.body FROM search_text t WHERE t.id = e.text_id")
        op.alter_column("search_entry", "body", nullable=False)
        op.drop_constraint("fk_search_entry_text_id_search_text", "search_entry", type_="foreignkey")
        op.drop_column("search_entry", "text_id")
        op.drop_table("search_text")
        _trgm_index("search_entry")
