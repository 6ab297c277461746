"""accounts, sessions and internal review notes (issue 16)

Revision ID: 0008
Revises: a14s

- account: named accounts of the workspaces (argon2id hashes). Never deleted; an UPDATE may change
  the password hash, the failed-login counter, the lock and ``disabled_at``, never id, username,
  role or creation time.
- account_session: server-side sessions. Never deleted; only ``ended_at`` may be set (sign-out).
- flag_assignment: who a flag is assigned to for review, the latest row per flag. Append-only: no
  UPDATE, no DELETE.
- flag_review.visibility: ``public`` (released with the finding, as before) or ``internal`` (never
  published). Existing notes are public, which is what publishing did with them until now. The
  append-only trigger of 0002 is rewritten on SQLite so the new column cannot change either (the
  PostgreSQL function compares whole rows already).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None

ACCOUNT_FIXED = ["id", "username", "role", "created_at"]
SESSION_FIXED = ["id", "account_id", "csrf_token", "created_at", "expires_at"]
FLAG_REVIEW_COLUMNS = ["id", "flag_id", "from_state", "to_state", "reviewer", "note", "created_at"]


def _same(columns: list[str]) -> str:
    return " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)


def _flag_review_trigger(columns: list[str]) -> None:
    op.execute("DROP TRIGGER IF EXISTS append_only_flag_review_update")
    op.execute("CREATE TRIGGER append_only_flag_review_update BEFORE UPDATE ON flag_review FOR EACH ROW WHEN NOT "
               f"(OLD.published_at IS NULL AND NEW.published_at IS NOT NULL AND {_same(columns)}) "
               "BEGIN SELECT RAISE(ABORT, 'flag_review is append-only: publish a correction instead of updating'); END")


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    op.create_table(
        "account_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_account_session_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_session")),
    )
    op.create_index(op.f("ix_account_session_account_id"), "account_session", ["account_id"], unique=False)
    op.create_table(
        "flag_assignment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"], name=op.f("fk_flag_assignment_flag_id_flag")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_assignment")),
    )
    op.create_index(op.f("ix_flag_assignment_flag_id"), "flag_assignment", ["flag_id"], unique=False)
    op.add_column("flag_review", sa.Column("visibility", sa.String(length=10), server_default="public", nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        for table, fixed in (("account", ACCOUNT_FIXED), ("account_session", SESSION_FIXED)):
            changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed)
            op.execute(f"""
                CREATE FUNCTION sunshine_{table}_guard() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'UPDATE' AND NOT ({changed}) THEN
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION '{table}: rows are never deleted and {", ".join(fixed)} never change'
                        USING ERRCODE = 'integrity_constraint_violation';
                END $$
            """)
            op.execute(f"CREATE TRIGGER append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION sunshine_{table}_guard()")
            op.execute(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_{table}_guard()")
        op.execute("""
            CREATE FUNCTION sunshine_flag_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'flag_assignment is append-only: rows are never %d', lower(TG_OP)
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$
        """)
        op.execute("CREATE TRIGGER append_only_flag_assignment BEFORE UPDATE OR DELETE ON flag_assignment "
                   "FOR EACH ROW EXECUTE FUNCTION sunshine_flag_assignment_guard()")
        op.execute("CREATE TRIGGER append_only_flag_assignment_truncate BEFORE TRUNCATE ON flag_assignment "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_flag_assignment_guard()")
        return
    for table, fixed in (("account", ACCOUNT_FIXED), ("account_session", SESSION_FIXED)):
        op.execute(f"CREATE TRIGGER append_only_{table}_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table}: rows are never deleted'); END")
        op.execute(f"CREATE TRIGGER append_only_{table}_update BEFORE UPDATE ON {table} FOR EACH ROW "
                   f"WHEN NOT ({_same(fixed)}) "
                   f"BEGIN SELECT RAISE(ABORT, '{table}: {', '.join(fixed)} never change'); END")
    for op_name in ("update", "delete"):
        op.execute(f"CREATE TRIGGER append_only_flag_assignment_{op_name} BEFORE {op_name.upper()} ON flag_assignment "
                   f"BEGIN SELECT RAISE(ABORT, 'flag_assignment is append-only: rows are never {op_name}d'); END")
    _flag_review_trigger([*FLAG_REVIEW_COLUMNS, "visibility"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("account", "account_session"):
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS sunshine_{table}_guard()")
        op.execute("DROP TRIGGER IF EXISTS append_only_flag_assignment ON flag_assignment")
        op.execute("DROP TRIGGER IF EXISTS append_only_flag_assignment_truncate ON flag_assignment")
        op.execute("DROP FUNCTION IF EXISTS sunshine_flag_assignment_guard()")
    else:
        for table in ("account", "account_session"):
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_delete")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_update")
        op.execute("DROP TRIGGER IF EXISTS append_only_flag_review_update")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("flag_review", "visibility")
    else:  # in place (SQLite >= 3.35): a batch rebuild would lose the table's other triggers
        op.execute("ALTER TABLE flag_review DROP COLUMN visibility")
        _flag_review_trigger(FLAG_REVIEW_COLUMNS)
    op.drop_index(op.f("ix_flag_assignment_flag_id"), table_name="flag_assignment")
    op.drop_table("flag_assignment")
    op.drop_index(op.f("ix_account_session_account_id"), table_name="account_session")
    op.drop_table("account_session")
    op.drop_table("account")
