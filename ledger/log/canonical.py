"""Canonical forms: the bytes the transparency log commits to.

A published batch is summarised by a manifest (canonical JSON: sorted keys, no spaces, UTF-8,
every number a string) whose ``rows_sha256`` is the SHA-256 of the batch's canonical rows. A
canonical row is one line of JSON: ``["expense_entry","17","2","5","2023",...]``, the table name then
the columns of ``ROW_COLUMNS`` in that order, each value a string (integers in decimal, dates
``YYYY-MM-DD``, times UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``) or ``null``. Rows are taken table by table in
``ROW_COLUMNS`` order, by ascending id; ``rows_sha256`` hashes each line followed by ``\\n``.

The column lists are fixed here, never read from the models, so a column added later does not
change what old manifests meant. A change to any of this is a new manifest version ``v``:

- ``v`` 1: the columns of ``ROW_COLUMNS_V1``.
- ``v`` 2 (issue 18): ``expense_entry`` ends with ``payee_type`` and ``days`` and ``procurement_record``
  with ``supplier_type`` (收款方类型 / 供应商类型 as filed, which decide whose names are hidden, and a
  meeting's 天数); a type changed after publication is a changed row. New batches are logged as v2; a v1 leaf is verified
  against the v1 columns, so old leaves still verify.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import operator
import sys
import zlib
from array import array
from collections.abc import Iterator

from sqlalchemy import Connection, Date, DateTime, Integer

from ledger.store.models import (
    BudgetLine,
    ConsumptionLine,
    ExpenseEntry,
    ImportBatch,
    ProcurementRecord,
    ProcurementReplacement,
    ProcurementSummary,
)

MANIFEST_VERSION = "2"
ROW_COLUMNS_V1: dict[str, tuple[type, tuple[str, ...]]] = {
    "expense_entry": (ExpenseEntry, (
        "id", "batch_id", "source_row", "unit_id", "fiscal_year", "entry_date", "category_code", "amount_fen",
        "currency", "payee", "description", "voucher_no", "source_category", "persons", "batches", "vehicles",
    )),
    "budget_line": (BudgetLine, (
        "id", "batch_id", "source_row", "unit_id", "fiscal_year", "category_code", "stage", "amount_fen", "currency",
    )),
    "procurement_record": (ProcurementRecord, (
        "id", "batch_id", "source_row", "project_code", "ocid", "release_id", "release_date", "unit_id",
        "fiscal_year", "title", "method", "ocds_method", "method_raw", "budget_fen", "contract_fen", "currency",
        "supplier_name", "supplier_id", "tender_date", "award_date", "contract_date",
    )),
    # added with the consumption import kind; batches before it hold no consumption rows, so their
    # manifests are unchanged. The quantity is the database's own decimal text.
    "consumption_line": (ConsumptionLine, (
        "id", "batch_id", "source_row", "unit_id", "fiscal_year", "resource", "quantity", "measure_unit",
    )),
    # added with OCDS identity (issue 13): a newer state of an ocid replaces an older row by a link
    # published in the replacing batch; batches before it hold no links, so their manifests are unchanged.
    "procurement_replacement": (ProcurementReplacement, ("id", "batch_id", "replaced_id", "replacement_id", "ocid")),
    # added with procurement summary tables (issue 13); no earlier batch holds any
    "procurement_summary": (ProcurementSummary, (
        "id", "batch_id", "source_row", "unit_id", "fiscal_year", "period", "method", "method_raw", "item_kind",
        "projects", "budget_fen", "contract_fen", "savings_fen", "currency",
    )),
}
# v2 appends the filed payee / supplier type (migration 0009) and the days (0011): earlier columns keep their places.
_V2_EXTRA = {"expense_entry": ("payee_type", "days"), "procurement_record": ("supplier_type",)}
ROW_COLUMNS_V2 = {name: (model, cols + _V2_EXTRA.get(name, ())) for name, (model, cols) in ROW_COLUMNS_V1.items()}
ROW_COLUMNS_BY_VERSION = {"1": ROW_COLUMNS_V1, "2": ROW_COLUMNS_V2}
ROW_COLUMNS = ROW_COLUMNS_BY_VERSION[MANIFEST_VERSION]  # what new batches are logged with (same tables in every v)
FETCH_ROWS = 65_536  # rows per fetchmany, and per stored locator chunk


def columns(version: str | None = None) -> dict[str, tuple[type, tuple[str, ...]]]:
    """The canonical row columns of manifest version ``version`` (the current one when None).

    ``ValueError`` for a version this code does not know (a leaf from a newer ledger).
    """
    v = MANIFEST_VERSION if version is None else str(version)
    if v not in ROW_COLUMNS_BY_VERSION:
        raise ValueError(f"unknown manifest version {v!r}")
    return ROW_COLUMNS_BY_VERSION[v]


def dumps(obj) -> str:
    """Canonical JSON text: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def utc_seconds(value: dt.datetime | str | None) -> str | None:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive values are UTC, as the store writes them)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | decimal.Decimal | str):
        return str(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    raise TypeError(f"no canonical form for {type(v).__name__}")


def row_line(table_name: str, values) -> str:
    """One canonical row (without the trailing newline): the reference definition.

    ``canonical_chunks`` builds the same bytes inside the database; ``tests/store/test_canonical.py``
    holds the two to each other on awkward values (quotes, control characters, CJK, nulls).
    """
    return json.dumps([table_name, *map(_value, values)], ensure_ascii=False, separators=(",", ":"))


def _stamp_columns(model, cols) -> list[int]:
    return [i for i, c in enumerate(cols) if isinstance(model.__table__.c[c].type, DateTime)]


# SQLite stores a timestamp as text; the store's own writers use this form, which the database can
# turn into the canonical one by swapping the space for a T. Anything else goes the reference way.
_SQLITE_STAMP = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"


def _sql_line(dialect: str, name: str, model, cols) -> str:
    """SQL that yields ``(id, canonical line as UTF-8 bytes)`` for a table's rows of one batch."""
    types = model.__table__.c
    if dialect == "sqlite":
        # json_array writes compact JSON with the escapes Python's json module writes (", \\, \\n,
        # \\u001f, …) and keeps non-ASCII as UTF-8; every value is cast to text first.
        parts = []
        for c in cols:
            if isinstance(types[c].type, DateTime):
                parts.append(f"replace({c}, ' ', 'T')")
            else:
                parts.append(f"CAST({c} AS TEXT)")
        return f"SELECT id, CAST(json_array('{name}', {', '.join(parts)}) AS BLOB) FROM {name} WHERE batch_id = %s ORDER BY id"
    parts = []
    for c in cols:
        t = types[c].type
        if isinstance(t, DateTime):
            v = f"'\"' || to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '\"'"
        elif isinstance(t, Date):
            v = f"'\"' || to_char({c}, 'YYYY-MM-DD') || '\"'"
        elif isinstance(t, Integer):  # digits and a sign never need escaping
            v = f"'\"' || {c}::text || '\"'"
        else:  # to_json(text) escapes exactly as Python's json module does with ensure_ascii=False
            v = f"to_json({c}::text)::text"
        parts.append(f"coalesce({v}, 'null')")
    body = " || ',' || ".join(parts)
    return f"SELECT id, convert_to('[\"{name}\",' || {body} || ']', 'UTF8') FROM {name} WHERE batch_id = %s ORDER BY id"


def _reference_chunks(conn: Connection, name: str, model, cols, batch_id: int) -> Iterator[tuple[list[int], list[bytes]]]:
    stamps = _stamp_columns(model, cols)
    sql = f"SELECT {', '.join(cols)} FROM {name} WHERE batch_id = {int(batch_id)} ORDER BY id"
    for part in conn.exec_driver_sql(sql).partitions(FETCH_ROWS):
        ids, lines = [], []
        for row in part:
            row = list(row)
            for i in stamps:
                if isinstance(row[i], str):
                    row[i] = dt.datetime.fromisoformat(row[i])
            ids.append(row[0])
            lines.append(row_line(name, row).encode())
        yield ids, lines


def canonical_chunks(conn: Connection, batch_id: int, version: str | None = None,
                     tables: list[str] | None = None) -> Iterator[tuple[str, list[int], list[bytes]]]:
    """``(table, ids, lines)`` for a batch's rows in canonical order, up to ``FETCH_ROWS`` at a time.

    ``tables``: only these (in canonical order); every table by default.

    Each line is the canonical row as UTF-8 bytes, built by the database (one driver cursor, no ORM
    and no per-value Python), without the trailing newline. ``version``: the manifest version whose
    columns to use (the current one when None).
    """
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    for name, (model, cols) in columns(version).items():
        if tables is not None and name not in tables:
            continue
        stamps = _stamp_columns(model, cols)
        if dialect not in ("sqlite", "postgresql") or (dialect == "sqlite" and stamps and conn.exec_driver_sql(
            f"SELECT 1 FROM {name} WHERE batch_id = {int(batch_id)} AND ("
            + " OR ".join(f"({cols[i]} IS NOT NULL AND {cols[i]} NOT GLOB '{_SQLITE_STAMP}')" for i in stamps)
            + ") LIMIT 1"
        ).first()):
            yield from ((name, ids, lines) for ids, lines in _reference_chunks(conn, name, model, cols, batch_id))
            continue
        sql = _sql_line(dialect, name, model, cols)
        if dialect == "sqlite":
            cur = raw.cursor()
            cur.execute(sql.replace("%s", "?"), (int(batch_id),))
        else:  # a server-side cursor: millions of rows never sit in memory at once
            cur = raw.cursor(name=f"sunshine_canonical_{name}")
            cur.execute(sql, (int(batch_id),))
        try:
            while rows := cur.fetchmany(FETCH_ROWS):
                yield name, list(map(_first, rows)), list(map(_second, rows))
        finally:
            cur.close()


_first, _second = operator.itemgetter(0), operator.itemgetter(1)


def canonical_rows(conn: Connection, batch_id: int, version: str | None = None) -> Iterator[tuple[str, int, str]]:
    """``(table, id, line)`` for every row of a batch, in canonical order (line as text, no newline)."""
    for name, ids, lines in canonical_chunks(conn, batch_id, version):
        for row_id, line in zip(ids, lines, strict=True):
            yield name, row_id, line.decode()


class RowsSummary:
    """The rows hash and count of a batch, and a row locator (id and CRC-32 per row), in one pass.

    The SHA-256 runs over whole chunks of lines at once. The locator is not a proof (the signed
    ``rows_sha256`` is): it only lets ``sunshine verify`` name which row changed, so a 4-byte CRC
    computed in C per row serves as well as a cryptographic digest and costs a fraction.
    """

    def __init__(self, version: str | None = None) -> None:
        self.version = MANIFEST_VERSION if version is None else str(version)
        self.sha = hashlib.sha256()
        self.count = 0
        self.parts: dict[str, list[tuple[array, array]]] = {name: [] for name in ROW_COLUMNS}
        self.drained: dict[str, int] = dict.fromkeys(ROW_COLUMNS, 0)  # chunks already handed out by ``drain``

    def add_chunk(self, table: str, ids: list[int], lines: list[bytes]) -> None:
        if not lines:
            return
        self.sha.update(b"\n".join(lines))
        self.sha.update(b"\n")
        self.parts[table].append((array("q", ids), array("I", map(zlib.crc32, lines))))
        self.count += len(lines)

    @property
    def rows_sha256(self) -> str:
        return self.sha.hexdigest()

    def locator(self, table: str) -> dict[int, int]:
        """Row id → CRC-32 of its canonical line, for one table."""
        out: dict[int, int] = {}
        for ids, crcs in self.parts[table]:
            out.update(zip(ids, crcs, strict=True))
        return out

    def chunks(self) -> Iterator[tuple[str, int, int, bytes]]:
        """``(table, chunk_no, row_count, blob)``: the ids (int64) then the CRCs (uint32), little-endian.

        Only the chunks ``drain`` has not handed out yet, numbered on from them.
        """
        for table, parts in self.parts.items():
            for no, (ids, crcs) in enumerate(parts, start=self.drained[table]):
                yield table, no, len(ids), pack_locator(ids, crcs)

    def drain(self) -> list[tuple[str, int, int, bytes]]:
        """The chunks so far, as ``chunks`` gives them, forgotten here once handed out.

        A writer that stores them as it goes (``ledger.log.batch_frames``) keeps a few chunks in
        memory instead of 12 bytes for every row of the batch; ``locator`` then covers only the rest.
        """
        out = list(self.chunks())
        for table, parts in self.parts.items():
            self.drained[table] += len(parts)
            parts.clear()
        return out


def pack_locator(ids: array, crcs: array) -> bytes:
    if sys.byteorder == "big":
        ids, crcs = array("q", ids), array("I", crcs)
        ids.byteswap()
        crcs.byteswap()
    return ids.tobytes() + crcs.tobytes()


def unpack_locator(blob: bytes, row_count: int) -> dict[int, int]:
    """The inverse of ``pack_locator``: row id → CRC-32."""
    ids, crcs = array("q"), array("I")
    ids.frombytes(blob[: 8 * row_count])
    crcs.frombytes(blob[8 * row_count :])
    if sys.byteorder == "big":
        ids.byteswap()
        crcs.byteswap()
    return dict(zip(ids, crcs, strict=True))


def summarise_rows(conn: Connection, batch_id: int, version: str | None = None) -> RowsSummary:
    """Read a batch's stored rows and summarise them with the columns of manifest ``version``."""
    summary = RowsSummary(version)
    for table, ids, lines in canonical_chunks(conn, batch_id, summary.version):
        summary.add_chunk(table, ids, lines)
    return summary


def batch_manifest(batch: ImportBatch | object, rows: RowsSummary, actor_role: str | None) -> dict:
    """The manifest of a published batch, from its ``import_batch`` row and its rows' summary (whose
    version it carries)."""
    return {
        "v": rows.version,
        "event": "correction" if batch.supersedes_id is not None else "import",
        "batch_id": str(batch.id),
        "kind": batch.kind,
        "file_name": batch.file_name,
        "source_sha256": batch.sha256,
        "rows_sha256": rows.rows_sha256,
        "row_count": str(rows.count),
        "control_total_fen": None if batch.control_total_fen is None else str(batch.control_total_fen),
        "supersedes": None if batch.supersedes_id is None else str(batch.supersedes_id),
        "actor_role": actor_role,
        "time": utc_seconds(batch.created_at),
    }


# Fields verify recomputes from the stored rows; the rest (who, in which role) is as recorded.
BATCH_FIELDS = ("event", "batch_id", "kind", "file_name", "source_sha256", "rows_sha256", "row_count",
                "control_total_fen", "supersedes", "time")
def canonical_page(conn: Connection, batch_id: int, table: str, after: int | None, limit: int,
                   version: str | None = None) -> tuple[list[int], list[bytes]]:
    """Up to ``limit`` canonical lines of one table of a batch with ids above ``after``: ``(ids, lines)``.

    The same bytes as ``canonical_chunks``, read a page at a time so a stream can hold no cursor
    (and no transaction) between pages.
    """
    model, cols = columns(version)[table]
    dialect = conn.dialect.name
    after = -(2**63) if after is None else int(after)
    stamps = _stamp_columns(model, cols)
    where = f"batch_id = {int(batch_id)} AND id > {after}"
    if dialect not in ("sqlite", "postgresql") or (dialect == "sqlite" and stamps and conn.exec_driver_sql(
        f"SELECT 1 FROM {table} WHERE {where} AND ("
        + " OR ".join(f"({cols[i]} IS NOT NULL AND {cols[i]} NOT GLOB '{_SQLITE_STAMP}')" for i in stamps)
        + ") LIMIT 1"
    ).first()):
        ids, lines = [], []
        sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {where} ORDER BY id LIMIT {int(limit)}"
        for row in conn.exec_driver_sql(sql):
            row = list(row)
            for i in stamps:
                if isinstance(row[i], str):
                    row[i] = dt.datetime.fromisoformat(row[i])
            ids.append(row[0])
            lines.append(row_line(table, row).encode())
        return ids, lines
    sql = _sql_line(dialect, table, model, cols).replace(
        "WHERE batch_id = %s ORDER BY id", f"WHERE {where} ORDER BY id LIMIT {int(limit)}")
    rows = conn.exec_driver_sql(sql).all()
    return [r[0] for r in rows], [bytes(r[1]) for r in rows]
