"""append-only derived and reference tables (issue 14, item 5)

Revision ID: a14s
Revises: 0007

Which changes the database still allows once a row exists:

- rollup, reception_persons_rollup, duplicate_candidate (kept at publish), target_result (one set per
  check run), category, category_group, category_group_member (reference data: a region adds its
  own): none. ``sunshine verify`` also recomputes the rollups from the published rows.
- unit: no DELETE; an UPDATE may change name, parent, level and region (``import units
  --update-units``), never id, code, batch or creation time. The register as it stands after each
  publish is committed to by a ``units`` leaf of the transparency log, so verify names a unit
  changed behind the ledger's back (``ledger.log.register``).
- flag: no DELETE (its state and figures move with reviews and check runs).

A superuser can drop these triggers; ``sunshine verify`` is what catches a rewrite made that way.
"""

from alembic import op

revision = "a14s"
down_revision = "0007"  # written against "0002"; chained after main's head (0007) at merge
branch_labels = None
depends_on = None

FROZEN = ["rollup", "reception_persons_rollup", "duplicate_candidate", "target_result", "category",
          "category_group", "category_group_member"]
UNIT_FIXED = ["id", "code", "batch_id", "created_at"]


def _sqlite_upgrade() -> None:
    for table in [*FROZEN, "unit", "flag"]:
        op.execute(f"CREATE TRIGGER append_only_{table}_delete BEFORE DELETE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never deleted'); END")
    for table in FROZEN:
        op.execute(f"CREATE TRIGGER append_only_{table}_update BEFORE UPDATE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never updated'); END")
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in UNIT_FIXED)
    op.execute(f"CREATE TRIGGER append_only_unit_update BEFORE UPDATE ON unit FOR EACH ROW WHEN NOT ({same}) "
               "BEGIN SELECT RAISE(ABORT, 'unit: id, code, batch and creation time never change'); END")


def _pg_upgrade() -> None:
    fixed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in UNIT_FIXED)
    op.execute(f"""
        CREATE FUNCTION sunshine_reference_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'unit' THEN
                IF NOT ({fixed}) THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'unit: id, code, batch and creation time never change'
                    USING ERRCODE = 'integrity_constraint_violation';
            ELSIF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'flag' THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '% is append-only: rows are never %d', TG_TABLE_NAME, lower(TG_OP)
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
    """)
    for table in [*FROZEN, "unit", "flag"]:
        op.execute(f"CREATE TRIGGER append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION sunshine_reference_guard()")
        op.execute(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION sunshine_reference_guard()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    tables = [*FROZEN, "unit", "flag"]
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS sunshine_reference_guard()")
        return
    for table in tables:
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_delete")
        op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_update")
