"""PostgreSQL: a bulk load's foreign keys checked by one query per key instead of one per row.

Each row COPY'd into ``expense_entry`` fires one referential-integrity trigger per foreign key (a
probe of ``unit``, ``category`` and ``import_batch``, each taking a KEY SHARE lock on the parent
row): at 200,000 rows about a third of the server's CPU for that COPY (docs/benchmarks.md, issue 15
part 3). When the role may set ``session_replication_role`` (a superuser, or PostgreSQL 15's
``GRANT SET ON PARAMETER``), ``unchecked`` runs the load with those triggers off and, first, does
their work once per key: the distinct values the rows name are looked up in the parent table
``FOR KEY SHARE``, so the parents are locked until the commit as the triggers would have locked
them. A value without a parent sends the load down the ordinary path, where PostgreSQL raises its
own ``ForeignKeyViolation``. Only a table whose sole insert triggers are those checks qualifies (our
append-only guards fire on UPDATE, DELETE and TRUNCATE), and the role is restored right after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table

MIN_ROWS = 10_000  # below this the per-row checks are cheap, and the two SETs are not worth it


def _may_skip_triggers(cur) -> bool:
    if cur.execute("SELECT current_setting('is_superuser')").fetchone()[0] == "on":
        return True
    if cur.connection.info.server_version < 150000:
        return False
    return bool(cur.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')").fetchone()[0])


def only_key_triggers(cur, table: Table) -> bool:
    """True when no trigger but a foreign key's check fires on an insert into ``table`` (or its partitions).

    A trigger someone added (an audit copy, a test's stand-in for a full disk) or a deferrable unique
    check would not fire under ``replica``, and one enabled for replicas only would start firing.
    """
    others = cur.execute(
        "SELECT count(*) FROM pg_trigger t WHERE t.tgrelid IN (SELECT relid FROM pg_partition_tree(%s::regclass)) "
        "AND t.tgenabled IN ('O', 'R') AND (t.tgtype & 4) <> 0 "
        "AND t.tgfoid <> 'pg_catalog.\"RI_FKey_check_ins\"'::regproc", (table.name,)).fetchone()[0]
    return others == 0


def parents_exist(cur, table: Table, values: Callable[[str], list]) -> bool:
    """Lock the parents of every value ``values(column)`` names, per foreign key; False if one is missing."""
    for fk in table.foreign_key_constraints:
        if len(fk.columns) != 1:
            return False  # not needed by our schema: leave a composite key to the triggers
        (element,) = fk.elements
        wanted = values(next(iter(fk.columns)).name)
        if not wanted:
            continue
        parent, key = element.column.table.name, element.column.name
        found = cur.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {parent} WHERE {key} = ANY(%s) FOR KEY SHARE) AS p", (wanted,)
        ).fetchone()[0]
        if found != len(wanted):
            return False
    return True


@contextmanager
def unchecked(conn: Connection, table: Table, rows: int, values: Callable[[str], list] | None) -> Iterator[bool]:
    """Run the block without per-row foreign-key triggers when it is safe and worth it; yields whether it did.

    ``values(column)``: the distinct non-null values the load puts in ``column``. None: every key
    the block writes is copied from rows whose own keys were checked (in this transaction, which
    holds their parents' locks, or committed, which keeps their parents from being deleted), so
    there is nothing to look up.
    """
    if conn.dialect.name != "postgresql" or rows < MIN_ROWS or not table.foreign_key_constraints:
        yield False
        return
    with conn.connection.driver_connection.cursor() as cur:
        if not _may_skip_triggers(cur) or not only_key_triggers(cur, table) or (
                values is not None and not parents_exist(cur, table, values)):
            yield False
            return
        role = cur.execute("SELECT current_setting('session_replication_role')").fetchone()[0]
        cur.execute("SET LOCAL session_replication_role = replica")
        yield True
        cur.execute(f"SET LOCAL session_replication_role = {role}")
