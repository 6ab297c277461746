"""PostgreSQL's year partitions of ``expense_entry`` and ``budget_line`` (migration 0011_partition).

Each year has its own partition (``expense_entry_y2023``) and a ``_default`` partition takes any
other year, so a row always lands. ``ensure_years`` creates the partitions a load is about to fill,
inside the load's transaction (an import that fails leaves no partition behind). It attaches a
prepared table rather than ``CREATE TABLE … PARTITION OF``: attaching locks the parent only against
other DDL, so reads and writes of the other years go on; the default partition is locked until the
load commits (PostgreSQL checks that it holds no row of the new year), so reads that are not pruned
to named years wait for that commit. Creating next year's partitions ahead (``sunshine db partitions
--year``) avoids even that. SQLite has no partitions: everything here is a no-op there.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

PARTITIONED = ("expense_entry", "budget_line")
_LOCK = "sunshine:partitions:"


def partition_name(table: str, year: int) -> str:
    return f"{table}_y{int(year)}"


def is_partitioned(conn: Connection, table: str) -> bool:
    """Whether ``table`` is a partitioned table here (PostgreSQL after migration 0011_partition)."""
    if conn.dialect.name != "postgresql" or table not in PARTITIONED:
        return False
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(CAST(:t AS text)))"),
                        {"t": table}).scalar_one()


def ensure_years(conn: Connection, table: str, years: Iterable[int]) -> list[int]:
    """Create the partitions of ``table`` for ``years`` that have none; return the years created.

    A year whose rows already sit in the default partition keeps them there (moving them would be a
    delete, which the append-only triggers refuse): its reads scan the default partition too.
    """
    wanted = sorted({int(y) for y in years if y is not None})
    if not wanted or not is_partitioned(conn, table):
        return []
    # Two loads bringing the same new year: the second waits, then finds the partition made.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(CAST(:k AS text), 0))"), {"k": _LOCK + table})
    made = []
    for year in wanted:
        name = partition_name(table, year)
        if conn.execute(text("SELECT to_regclass(CAST(:n AS text)) IS NOT NULL"), {"n": name}).scalar_one():
            continue
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table}_default WHERE fiscal_year = :y)"),
                        {"y": year}).scalar_one():
            continue
        conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        # The check lets ATTACH skip scanning the new table; it says what the partition bound says.
        conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT ck_{name} CHECK (fiscal_year = {year})"))
        conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES IN ({year})"))
        conn.execute(text(f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {name} "
                          "FOR EACH STATEMENT EXECUTE FUNCTION sunshine_append_only()"))
        made.append(year)
    return made


def partitions(conn: Connection, table: str, exact: bool = False) -> list[dict]:
    """``table``'s partitions: name, the year each holds (``None`` for the default) and its rows.

    Rows are the planner's estimate (``pg_class.reltuples``, kept by ANALYZE) unless ``exact``.
    """
    if not is_partitioned(conn, table):
        return []
    found = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(CAST(:t AS text))"), {"t": table}).all()
    out = []
    for name, bound, estimate in found:
        year = None if bound == "DEFAULT" else int(bound.removeprefix("FOR VALUES IN (").rstrip(")"))
        rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() if exact else int(estimate)
        out.append({"table": table, "partition": name, "fiscal_year": year, "rows": rows, "exact": exact})
    return sorted(out, key=lambda p: (p["fiscal_year"] is None, p["fiscal_year"] or 0))
