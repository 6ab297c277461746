"""consumption_line is published history too: append-only like expense_entry (see 0002)

Revision ID: 0005
Revises: 0003

``sunshine import consumption`` publishes utility use (kWh, L, m³) as batches whose rows go into
the transparency log; the database refuses to rewrite or delete them, as it does for money rows.
"""

from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "consumption_line"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for what, verb, doing in (("delete", "DELETE", "deleting"), ("update", "UPDATE", "updating")):
            msg = f"{TABLE} is append-only: publish a correction instead of {doing}"
            op.execute(f"CREATE TRIGGER append_only_{TABLE}_{what} BEFORE {verb} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")
        return
    op.execute(f"CREATE TRIGGER append_only_{TABLE} BEFORE UPDATE OR DELETE ON {TABLE} "
               f"FOR EACH ROW EXECUTE FUNCTION sunshine_append_only()")
    op.execute(f"CREATE TRIGGER append_only_{TABLE}_truncate BEFORE TRUNCATE ON {TABLE} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_delete")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_update")
        return
    op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE} ON {TABLE}")
    op.execute(f"DROP TRIGGER IF EXISTS append_only_{TABLE}_truncate ON {TABLE}")
