"""flag.digest: a hash of what a flag says, so a re-check rewrites only the flags whose content changed

Revision ID: 0012_flag_digest
Revises: 0012_note_salt

``flag.digest`` is the sha256 of a flag's rule version, subject columns, figures, threshold, policy,
sentences and evidence (``ledger.rules.flags.digest``). A check compares it with the new draft's and
leaves an unchanged flag's row alone. Nullable: flags written before it hold none and are rewritten
once, by the next check that raises them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_flag_digest"
down_revision = "0012_note_salt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flag", sa.Column("digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flag") as batch:
        batch.drop_column("digest")
