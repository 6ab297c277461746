"""flag_review.note_salt: the review leaf commits to the restricted note (salted SHA-256)

Revision ID: 0012_note_salt
Revises: 0011_partition

A review's note stays restricted until its finding is published, so the review leaf could not carry
it, and a note could be rewritten before publication without the log noticing. From this revision a
review gets a random salt and its leaf carries ``note_commitment`` = SHA-256(salt ‖ "\\n" ‖ note) and
the note's ``visibility``; the publish leaf reveals the salt. Reviews recorded before have no salt and
their leaves no commitment (``sunshine verify`` compares a field only where the leaf has it). The
column is written once, at insert; the append-only triggers refuse any later change of it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_note_salt"
down_revision = "0011_partition"
branch_labels = None
depends_on = None


COLUMNS = ["id", "flag_id", "from_state", "to_state", "reviewer", "note", "created_at", "visibility"]


def _sqlite_trigger(columns: list[str]) -> None:
    # SQLite's trigger names the columns that must not change (PostgreSQL's compares whole rows)
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)
    op.execute("DROP TRIGGER IF EXISTS append_only_flag_review_update")
    op.execute("CREATE TRIGGER append_only_flag_review_update BEFORE UPDATE ON flag_review FOR EACH ROW WHEN NOT "
               f"(OLD.published_at IS NULL AND NEW.published_at IS NOT NULL AND {same}) "
               "BEGIN SELECT RAISE(ABORT, 'flag_review is append-only: publish a correction instead of updating'); END")


def upgrade() -> None:
    op.add_column("flag_review", sa.Column("note_salt", sa.String(32), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_trigger([*COLUMNS, "note_salt"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS append_only_flag_review_update")
    op.execute("ALTER TABLE flag_review DROP COLUMN note_salt")
    if sqlite:
        _sqlite_trigger(COLUMNS)
