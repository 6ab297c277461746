"""The write path for imports: batches, units, bulk rows and the rollups kept beside them.

Bulk rows never go through dicts: SQLite gets ``executemany`` with tuples, PostgreSQL gets COPY.
Everything here runs inside the caller's transaction (see ``ledger.store.db.writing``), so an import
lands whole or not at all.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl
from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from ledger.store.bulk import keys, statements, tuning
from ledger.store.bulk.tuning import ANALYZE_MIN_ROWS  # noqa: F401  (re-exported: tests and callers name it here)
from ledger.store.derived import batch_coverage, batch_names, batch_totals
from ledger.store.models import (
    BudgetLine,
    ExpenseEntry,
    ImportBatch,
    ProcurementRecord,
    ProcurementReplacement,
    Rollup,
    Unit,
    utcnow,
)
from ledger.store.upkeep import partitions

COPY_CHUNK_ROWS = 200_000
SQLITE_CHUNK_ROWS = 25_000  # rows turned into Python objects at a time (bounds the memory it takes)


def superseded_ids() -> Select:
    """Ids of batches that a later batch supersedes."""
    return select(ImportBatch.supersedes_id).where(ImportBatch.supersedes_id.is_not(None))


_superseding = ImportBatch.__table__.alias("superseding")


@dataclass(frozen=True)
class Pin:
    """The ledger as a signed checkpoint saw it (``ledger.read.asof`` builds one).

    ``batches`` were in the log at the checkpoint; ``live`` are those no batch among them supersedes
    (a batch superseded only by a later correction is still live here).
    """

    size: int
    batches: frozenset[int]
    live: frozenset[int]
    time: object  # one second past the checkpoint's signing time (aware UTC): rows recorded before it count


_pin: ContextVar[Pin | None] = ContextVar("sunshine_pin", default=None)


def current_pin() -> Pin | None:
    """The checkpoint reads are pinned to in this context, if any."""
    return _pin.get()


@contextmanager
def pinned(pin: Pin | None) -> Iterator[Pin | None]:
    """Pin every ``live(...)`` read in this context (thread or task) to ``pin``; None changes nothing.

    One switch instead of a parameter through every read function: rollups, resolved figures, lists,
    reports and flags all filter through ``live``, so they all answer as of the checkpoint.
    """
    token = _pin.set(pin)
    try:
        yield pin
    finally:
        _pin.reset(token)


def live(batch_column):
    """A condition keeping only rows whose batch is not superseded (what the public sees as current).

    Under ``pinned(pin)``: rows of batches live at the pinned checkpoint instead.

    ``NOT EXISTS`` a batch superseding the row's batch, probed through the unique index on
    ``import_batch.supersedes_id``: an anti-join the planners run row by row along a page's index
    (a ``NOT IN (subquery)`` is a filter PostgreSQL cannot turn into a join). The ``+ 0`` keeps a
    filter ``batch_id = N`` from reaching the anti-join as ``supersedes_id = N`` through PostgreSQL's
    equivalence classes, which made it estimate one row left, and sort a million rows instead of
    walking the id index for a first page of ``?batch=N``.
    """
    pin = _pin.get()
    if pin is not None:  # ``+ 0`` as below: a page walks its order's index instead of sorting the pinned batches' rows
        return (batch_column + literal_column("0")).in_(sorted(pin.live))
    return ~exists().where(_superseding.c.supersedes_id == batch_column + literal_column("0"))


def logged(batch_column):
    """Batches in the log (all of them; under ``pinned``, those among the checkpoint's leaves), superseded or not."""
    pin = _pin.get()
    return true() if pin is None else batch_column.in_(sorted(pin.batches))


def known_units(unit_table):
    """Units the public could see (all; under ``pinned``, those a logged batch named or recorded before it)."""
    pin = _pin.get()
    if pin is None:
        return true()
    return or_(unit_table.c.batch_id.in_(sorted(pin.batches)),
               and_(unit_table.c.batch_id.is_(None), unit_table.c.created_at < pin.time))


def live_procurement(table=None, as_of: int | None = None):
    """Procurement rows counted now: in a live batch, and not replaced by a newer state of their ocid.

    A newer compiled release of a contracting process is a new row plus a ``procurement_replacement``
    link (never an update); the replaced row stops counting while the replacing row's batch is live.
    ``table`` is ``procurement_record`` or an alias of it. ``as_of`` pins the answer to the ledger as
    it stood after that batch (a download's consistent picture).
    """
    table = ProcurementRecord.__table__ if table is None else table
    link, newer = ProcurementReplacement.__table__, ProcurementRecord.__table__.alias("newer_state")
    if as_of is None or _pin.get() is not None:
        alive = live
    else:
        gone = select(ImportBatch.supersedes_id).where(ImportBatch.supersedes_id.is_not(None), ImportBatch.id <= as_of)

        def alive(col):
            return and_(col <= as_of, not_(col.in_(gone)))
    # NOT EXISTS, probed row by row through ix_procurement_replacement_replaced_id, like ``live``: as
    # ``id NOT IN (replaced ids)`` SQLite, once procurement_record had statistics and the link table
    # (empty) had none, built the list by walking all 200,000 records for each first page (100 ms).
    replaced = exists().where(link.c.replaced_id == table.c.id, newer.c.id == link.c.replacement_id,
                              alive(newer.c.batch_id))
    return and_(alive(table.c.batch_id), ~replaced)


_DUPLICATES_LOCK = 0x53554E44  # one key: probable-duplicate detection and the write it guards


def lock_duplicates(conn: Connection) -> None:
    """Serialise probable-duplicate detection with the write it decides, until this transaction ends.

    Two different files sharing rows, imported at the same moment on PostgreSQL, would each look
    for earlier copies of their rows before either had committed, find none, and both land in full.
    Holding this lock from the duplicate check to the commit makes the second import look after the
    first has landed (READ COMMITTED: its next statement sees the committed rows). The importer reads
    a file's chunks inside the check, so on PostgreSQL imports now run one at a time from the check
    to the commit, as they always did on SQLite. SQLite needs nothing: ``BEGIN IMMEDIATE`` already serialises every writer.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_DUPLICATES_LOCK})"))


def lock_file(conn: Connection, kind: str, sha256: str) -> None:
    """Serialise imports of the same file (kind + sha256) until this transaction ends.

    PostgreSQL runs imports concurrently under READ COMMITTED, so two imports of one file would both
    find no published batch and both land; a transaction-scoped advisory lock makes the second wait
    for the first to commit (then ``find_published`` sees its batch). SQLite needs nothing: the
    writing transaction's ``BEGIN IMMEDIATE`` already serialises every writer.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"{kind}:{sha256}"})


def insert_ignoring_conflicts(conn: Connection, table: Table, rows: list[dict], key: str) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING``: rows another transaction inserted first are left alone."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=[key]), rows)


def find_published(conn: Connection, kind: str, sha256: str) -> int | None:
    """The live batch that already loaded this exact file (same kind and sha256), if any."""
    return conn.execute(
        select(ImportBatch.id).where(
            and_(ImportBatch.kind == kind, ImportBatch.sha256 == sha256, live(ImportBatch.id))
        )
    ).scalar()


def create_batch(
    conn: Connection,
    *,
    kind: str,
    file_name: str,
    sha256: str,
    submitted_by: str,
    encoding: str | None = None,
    sheet: str | None = None,
    amount_unit: str | None = None,
    rows_read: int = 0,
    rows_loaded: int = 0,
    rows_skipped: int = 0,
    rows_held: int = 0,
    control_total_fen: int | None = None,
    supersedes_id: int | None = None,
    report: dict | None = None,
) -> int:
    """Insert an import batch and return its id."""
    return conn.execute(
        insert(ImportBatch)
        .values(
            kind=kind,
            file_name=file_name,
            sha256=sha256,
            encoding=encoding,
            sheet=sheet,
            amount_unit=amount_unit,
            submitted_by=submitted_by,
            created_at=utcnow(),
            status="published",
            rows_read=rows_read,
            rows_loaded=rows_loaded,
            rows_skipped=rows_skipped,
            rows_held=rows_held,
            control_total_fen=control_total_fen,
            supersedes_id=supersedes_id,
            report_json=None if report is None else json.dumps(report, ensure_ascii=False, default=str),
        )
        .returning(ImportBatch.id)
    ).scalar_one()


def ensure_units(conn: Connection, units: Iterable[tuple[str, str | None]], batch_id: int | None = None) -> dict[str, int]:
    """Map unit codes to ids, creating units the ledger has not seen (named as the file names them).

    ``units`` holds ``(code, name)`` pairs; an existing unit keeps its name. Safe when two
    transactions meet the same new code at once: codes are inserted in sorted order (so two imports
    never wait on each other crosswise) with ``ON CONFLICT (code) DO NOTHING``, then read back.
    """
    wanted = dict(units)
    if not wanted:
        return {}
    codes = sorted(wanted)
    known = _unit_ids(conn, codes)
    missing = [c for c in codes if c not in known]
    if missing:
        now = utcnow()
        insert_ignoring_conflicts(
            conn, Unit.__table__,
            [{"code": c, "name": wanted[c] or c, "batch_id": batch_id, "created_at": now} for c in missing], "code",
        )
        known.update(_unit_ids(conn, missing))
    return known


def _unit_ids(conn: Connection, codes: list[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    for i in range(0, len(codes), 5000):
        chunk = codes[i : i + 5000]
        known.update(conn.execute(select(Unit.code, Unit.id).where(Unit.code.in_(chunk))).all())
    return known


def reserve_ids(conn: Connection, table: Table, count: int) -> int:
    """The first of ``count`` consecutive ids no other row of ``table`` has or will get; rows take them explicitly.

    Known before the insert, so the batch's canonical lines can be built from the rows as written
    (``ledger.log.batch_frames``). SQLite: the writer holds the database lock (``BEGIN IMMEDIATE``)
    and ids are rowids, so the next is max + 1. PostgreSQL: the id sequence is moved past the range
    in one statement (``setval(nextval + count - 1)``); every import takes its range after
    ``lock_duplicates``, so imports never interleave there, and anything else drawing ids at that
    instant would fail on the primary key rather than share one.
    """
    if count <= 0:
        return 0
    name = table.name
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {name}").scalar_one()
    last = conn.exec_driver_sql(
        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), nextval(pg_get_serial_sequence('{name}', 'id')) + {int(count) - 1})"
    ).scalar_one()
    return last - count + 1


def bulk_insert(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) and return the row count.

    SQLite: one prepared ``INSERT`` and ``executemany`` over tuples, ``SQLITE_CHUNK_ROWS`` at a time,
    built column-wise (``zip`` over ``Series.to_list()``: a third cheaper than ``iter_rows``); dates
    and datetimes become ISO text in polars first. The connection's page cache is raised to
    ``SQLITE_CACHE_KIB`` first (see ``ledger.store.bulk.tuning``). PostgreSQL: ``COPY … FROM STDIN (FORMAT csv)``
    in chunks.
    """
    if frame.height == 0:
        return 0
    columns = frame.columns
    if conn.dialect.name == "sqlite":
        frame = frame.with_columns(
            [pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date]
            + [pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S.%6f") for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        )
        bound, sql = statements.sqlite_insert(table, frame)
        raw = conn.connection.driver_connection
        if tuning.CAPPED not in conn.info:  # held down while a load's indexes are set aside
            tuning.sqlite_cache(raw)
        cur = raw.cursor()
        try:
            for start in range(0, frame.height, SQLITE_CHUNK_ROWS):
                part = frame.slice(start, SQLITE_CHUNK_ROWS)
                cur.executemany(sql, statements.rows(part, bound))
        finally:
            cur.close()
        tuning.analyze_sqlite_if_grown(raw, table.name, frame.height)
        return frame.height
    if table.name in partitions.PARTITIONED and "fiscal_year" in columns:
        partitions.ensure_years(conn, table.name, frame.get_column("fiscal_year").unique().to_list())
    raw = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with keys.unchecked(conn, table, frame.height,
                        lambda c: frame.get_column(c).drop_nulls().unique().to_list() if c in columns else []), \
            raw.cursor() as cur:
        with cur.copy(sql) as copy:
            for start in range(0, frame.height, COPY_CHUNK_ROWS):
                buf = io.BytesIO()
                frame.slice(start, COPY_CHUNK_ROWS).write_csv(buf, include_header=False, null_value="\\N")
                copy.write(buf.getvalue())
    with raw.cursor() as cur:
        tuning.analyze_if_grown(cur, table.name, frame.height)
    return frame.height



def refresh_rollups(conn: Connection, batch_id: int, rows: pl.DataFrame | None = None,
                    names: pl.DataFrame | None = None) -> None:
    """Sum a batch's entries and budget lines into ``rollup`` (and over units into ``batch_total``, their
    units per measure and year into ``batch_coverage``) so aggregates never scan raw rows; keep its distinct
    payees and suppliers in ``batch_name`` (for the privacy redactor).

    ``rows`` / ``names``: the batch's rollup rows / names when the caller summed the rows it wrote
    (``ledger.log.batch_frames``); else GROUP BYs over the stored rows.
    """
    if rows is not None:
        bulk_insert(conn, Rollup.__table__, rows)
    else:
        for query in rollup_selects(batch_id):
            conn.execute(insert(Rollup).from_select(ROLLUP_COLUMNS, query))
    batch_totals.write(conn, batch_id, rows)  # the same sums over units, a few hundred rows (``batch_total``)
    batch_coverage.write(conn, batch_id, rows)  # who reported which year, for coverage (``batch_coverage``)
    batch_names.write(conn, batch_id, names, bulk_insert)  # the names free texts are scrubbed of (``batch_name``)


ROLLUP_COLUMNS = ["batch_id", "measure", "unit_id", "fiscal_year", "category_code", "currency", "amount_fen", "row_count"]


def rollup_selects(batch_id: int) -> list[Select]:
    """The GROUP BYs over a batch's stored rows that give its ``rollup`` rows (``ROLLUP_COLUMNS``)."""
    e, b = ExpenseEntry.__table__, BudgetLine.__table__
    actual = select(
        e.c.batch_id, literal("actual"), e.c.unit_id, e.c.fiscal_year, e.c.category_code, e.c.currency,
        func.sum(e.c.amount_fen), func.count(),
    ).where(e.c.batch_id == batch_id).group_by(e.c.batch_id, e.c.unit_id, e.c.fiscal_year, e.c.category_code, e.c.currency)
    budget = select(
        b.c.batch_id, literal("budget_") + b.c.stage, b.c.unit_id, b.c.fiscal_year, b.c.category_code, b.c.currency,
        func.sum(b.c.amount_fen), func.count(),
    ).where(b.c.batch_id == batch_id).group_by(
        b.c.batch_id, b.c.stage, b.c.unit_id, b.c.fiscal_year, b.c.category_code, b.c.currency
    )
    return [actual, budget]
