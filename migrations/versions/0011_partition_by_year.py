"""PostgreSQL: expense_entry and budget_line partitioned by fiscal year (issue 15); SQLite unchanged

Revision ID: 0011_partition
Revises: 0010

Each table becomes ``PARTITION BY LIST (fiscal_year)``: one partition per year the data holds
(``<table>_y2023``) and a ``<table>_default`` partition, so a row of a year without its own partition
still lands. The rows are copied with their ids; the sequence, foreign keys, indexes (0001, 0010) and
append-only triggers (0002) are put back on the partitioned parent, which PostgreSQL clones onto
every partition. The primary key becomes ``(id, fiscal_year)`` (a partitioned table's unique keys
must hold the partition key); nothing references these ids by foreign key and they come from one
sequence, so ``id`` stays unique. ``ledger.store.partitions`` creates a year's partition when an
import first brings that year (and ``sunshine db partitions --year`` ahead of time).

procurement_record is not partitioned: ``procurement_replacement`` references its id by foreign key
and its ``fiscal_year`` may be null (no date says the year), so it cannot join a partition key.

The append-only function now names the partitioned table, not the partition, in its refusal.
"""

from alembic import op
from sqlalchemy import text

revision = "0011_partition"
down_revision = "0011_unitcosts"
branch_labels = None
depends_on = None

TABLES = ("expense_entry", "budget_line")

# 0002's function; only the name in the message changes (a partition reports its partitioned table).
APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION sunshine_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
            IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'import_batch' THEN
            IF OLD.status = 'published' AND NEW.status = 'superseded'
               AND to_jsonb(NEW) - 'status' = to_jsonb(OLD) - 'status' THEN
                RETURN NEW;
            END IF;
        ELSIF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'flag_review' THEN
            IF OLD.published_at IS NULL AND NEW.published_at IS NOT NULL
               AND to_jsonb(NEW) - 'published_at' = to_jsonb(OLD) - 'published_at' THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION '% is append-only: publish a correction instead of %', {name}, lower(TG_OP)
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
"""
ROOT_NAME = "coalesce(pg_partition_root(TG_RELID)::text, TG_TABLE_NAME)"


def _definitions(table: str) -> dict[str, list[str]]:
    """The DDL that rebuilds ``table``'s foreign keys, indexes and triggers, read from the catalogue."""
    conn = op.get_bind()
    oid = {"t": table}
    fks = conn.execute(text(
        "SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', CAST(:t AS text), conname, pg_get_constraintdef(oid)) "
        "FROM pg_constraint WHERE conrelid = to_regclass(CAST(:t AS text)) AND contype = 'f' ORDER BY conname"), oid).scalars().all()
    indexes = conn.execute(text(
        "SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(CAST(:t AS text)) AND NOT i.indisprimary "
        "ORDER BY c.relname"), oid).scalars().all()
    triggers = conn.execute(text(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(CAST(:t AS text)) AND NOT tgisinternal "
        "AND tgparentid = 0 ORDER BY tgname"), oid).scalars().all()
    return {"fks": list(fks), "indexes": list(indexes), "triggers": list(triggers)}


def _rebuild(table: str, partitioned: bool) -> None:
    """Copy ``table`` into a new table of the same name, partitioned by year or not, with the same DDL."""
    conn = op.get_bind()
    ddl = _definitions(table)
    seq = conn.execute(text("SELECT pg_get_serial_sequence(CAST(:t AS text), 'id')"), {"t": table}).scalar_one()
    old = f"{table}_old"
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY NONE")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    like = f"(LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
    if partitioned:
        years = conn.execute(text(f"SELECT DISTINCT fiscal_year FROM {old} ORDER BY 1")).scalars().all()
        op.execute(f"CREATE TABLE {table} {like} PARTITION BY LIST (fiscal_year)")
        for year in years:
            op.execute(f"CREATE TABLE {table}_y{int(year)} PARTITION OF {table} FOR VALUES IN ({int(year)})")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        key = "(id, fiscal_year)"
    else:
        op.execute(f"CREATE TABLE {table} {like}")
        key = "(id)"
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")  # its triggers, indexes and partitions go with it
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY {key}")
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY {table}.id")
    for statement in ddl["fks"] + ddl["indexes"] + ddl["triggers"]:
        op.execute(statement)
    if partitioned:  # statement triggers are not cloned: a partition truncated by name refuses too
        for (part,) in conn.execute(text("SELECT inhrelid::regclass::text FROM pg_inherits "
                                         "WHERE inhparent = to_regclass(CAST(:t AS text))"), {"t": table}).all():
            op.execute(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {part} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()")
    op.execute(f"ANALYZE {table}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(APPEND_ONLY.format(name=ROOT_NAME))
    for table in TABLES:
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        _rebuild(table, partitioned=False)
    op.execute(APPEND_ONLY.format(name="TG_TABLE_NAME"))
