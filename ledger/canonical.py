"""Canonical forms: the bytes the transparency log commits to.

A published batch is summarised by a manifest (canonical JSON: sorted keys, no spaces, UTF-8,
every number a string) whose ``rows_sha256`` is the SHA-256 of the batch's canonical rows. A
canonical row is one line of JSON: ``["expense_entry","17","2","5","2023",...]``, the table name then
the columns of ``ROW_COLUMNS`` in that order, each value a string (integers in decimal, dates
``YYYY-MM-DD``, times UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``) or ``null``. Rows are taken table by table in
``ROW_COLUMNS`` order, by ascending id; ``rows_sha256`` hashes each line followed by ``\\n``.

The column lists are fixed here, never read from the models, so a column added later does not
change what old manifests meant. A change to any of this is a new manifest version ``v``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import struct
from collections.abc import Iterator

from sqlalchemy import Connection, DateTime

from ledger.models import BudgetLine, ExpenseEntry, ImportBatch, ProcurementRecord

MANIFEST_VERSION = "1"
ROW_COLUMNS: dict[str, tuple[type, tuple[str, ...]]] = {
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
}
DIGEST_BYTES = 8  # per-row digest kept for locating a change; the manifest keeps the full hash
CHUNK_ROWS = 4096
_PAIR = struct.Struct(">q8s")


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
    """One canonical row (without the trailing newline)."""
    return json.dumps([table_name, *map(_value, values)], ensure_ascii=False, separators=(",", ":"))


def canonical_rows(conn: Connection, batch_id: int) -> Iterator[tuple[str, int, str]]:
    """``(table, id, line)`` for every row of a batch, in canonical order.

    Plain SQL, so values arrive as the driver gives them (no ORM type processing on a hot path of
    millions of rows); SQLite's text timestamps are brought to the canonical form here.
    """
    for name, (model, cols) in ROW_COLUMNS.items():
        stamps = [i for i, c in enumerate(cols) if isinstance(model.__table__.c[c].type, DateTime)]
        sql = f"SELECT {', '.join(cols)} FROM {name} WHERE batch_id = {int(batch_id)} ORDER BY id"
        result = conn.exec_driver_sql(sql).yield_per(20_000) if conn.dialect.name == "postgresql" else conn.exec_driver_sql(sql)
        for part in result.partitions(20_000):
            for row in part:
                if stamps:
                    row = list(row)
                    for i in stamps:
                        if isinstance(row[i], str):
                            row[i] = dt.datetime.fromisoformat(row[i])
                yield name, row[0], row_line(name, row)


class RowsSummary:
    """The rows hash, count and per-row digests of a batch, computed in one pass."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.count = 0
        self.digests: dict[str, list[tuple[int, bytes]]] = {name: [] for name in ROW_COLUMNS}

    def add(self, table: str, row_id: int, line: str) -> None:
        data = line.encode()
        self.sha.update(data + b"\n")
        self.digests[table].append((row_id, hashlib.sha256(data).digest()[:DIGEST_BYTES]))
        self.count += 1

    @property
    def rows_sha256(self) -> str:
        return self.sha.hexdigest()

    def chunks(self) -> Iterator[tuple[str, int, int, bytes]]:
        """``(table, chunk_no, row_count, blob)``: id and digest pairs packed for storage."""
        for table, pairs in self.digests.items():
            for no, start in enumerate(range(0, len(pairs), CHUNK_ROWS)):
                part = pairs[start : start + CHUNK_ROWS]
                yield table, no, len(part), b"".join(_PAIR.pack(i, d) for i, d in part)


def summarise_rows(conn: Connection, batch_id: int) -> RowsSummary:
    """Read a batch's stored rows and summarise them."""
    summary = RowsSummary()
    for table, row_id, line in canonical_rows(conn, batch_id):
        summary.add(table, row_id, line)
    return summary


def unpack_digests(blob: bytes) -> list[tuple[int, bytes]]:
    return [_PAIR.unpack_from(blob, off) for off in range(0, len(blob), _PAIR.size)]


def batch_manifest(batch: ImportBatch | object, rows: RowsSummary, actor_role: str | None) -> dict:
    """The manifest of a published batch, from its ``import_batch`` row and its rows' summary."""
    return {
        "v": MANIFEST_VERSION,
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


def review_manifest(review, actor_role: str | None) -> dict:
    """The manifest of a review decision. The note stays out: it is restricted until published."""
    return {
        "v": MANIFEST_VERSION,
        "event": "review",
        "review_id": str(review.id),
        "flag_id": review.flag_id,
        "from_state": review.from_state,
        "to_state": review.to_state,
        "actor_role": actor_role,
        "time": utc_seconds(review.created_at),
    }


# Fields verify recomputes from the stored rows; the rest (who, in which role) is as recorded.
BATCH_FIELDS = ("event", "batch_id", "kind", "file_name", "source_sha256", "rows_sha256", "row_count",
                "control_total_fen", "supersedes", "time")
REVIEW_FIELDS = ("event", "review_id", "flag_id", "from_state", "to_state", "time")
