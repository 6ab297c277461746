"""unit_event: merges and retirements of units, appended as corrections (issue 12)

Revision ID: 0004
Revises: a14s

A mistyped unit code merged into the right unit, or a unit abolished, is recorded as a new row of
``unit_event`` (who, when, why); nothing in ``unit`` or in the published rows is rewritten. The table
is append-only like the reference tables of a14s: no UPDATE, DELETE or TRUNCATE.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "a14s"
branch_labels = None
depends_on = None

TABLE = "unit_event"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("successor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_unit_event_unit_id_unit")),
        sa.ForeignKeyConstraint(["successor_id"], ["unit.id"], name=op.f("fk_unit_event_successor_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_event")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_event_unit_id"), ["unit_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for what, verb in (("delete", "DELETE"), ("update", "UPDATE")):
            op.execute(f"CREATE TRIGGER append_only_{TABLE}_{what} BEFORE {verb} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: record a new event instead'); END")
        return
    # sunshine_reference_guard (a14s) refuses every UPDATE and DELETE of a table other than unit and flag
    op.execute(f"CREATE TRIGGER append_only_{TABLE} BEFORE UPDATE OR DELETE ON {TABLE} "
               f"FOR EACH ROW EXECUTE FUNCTION sunshine_reference_guard()")
    op.execute(f"CREATE TRIGGER append_only_{TABLE}_truncate BEFORE TRUNCATE ON {TABLE} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_reference_guard()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_delete")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_update")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE} ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_truncate ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_event_unit_id"))
    op.drop_table(TABLE)
