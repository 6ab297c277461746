"""Bulk downloads read in short transactions, so a slow or vanished client never holds the database.

``plan`` pins a download to the ledger as it stands when the download starts (the newest batch,
and the newest row id); ``next_chunk`` then reads the next rows after the last id it returned, each
call in a transaction of its own. Between chunks no connection and no transaction is held, while
the pin keeps the download one consistent picture: published rows are append-only, so "batches up
to N, live as of batch N" reads the same rows later as it did at the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, not_, select

from ledger.read.privacy import redactor as privacy
from ledger.read.queries import DATASETS, STREAM_CHUNK_ROWS, Filters, _where
from ledger.read.types import yuan
from ledger.store.batches import Pin, current_pin, live_procurement, pinned
from ledger.store.models import ImportBatch, ProcurementRecord


@dataclass
class Download:
    """Where a download stands: its dataset, filters, the pin, and the last id sent."""

    dataset: str
    filters: Filters
    max_batch: int
    max_id: Any
    after: Any = None
    done: bool = False
    rows_sent: int = field(default=0)
    reveal: bool = False  # a restricted reader: natural persons' names shown
    lang: str = "zh"
    pin: Pin | None = None  # an ``as_of`` download: the checkpoint's live batches, not the newest batch


def _batch_column(ds):
    return next((c.expr for c in ds.columns if c.name == "batch_id"), None)


def plan(conn: Connection, dataset: str, filters: Filters | None = None, *, reveal: bool = False,
         lang: str = "zh") -> Download:
    """Pin a download of ``dataset`` to the ledger as it stands now (raises ``QueryError`` on a bad filter).

    Natural persons' names are hidden in every chunk unless ``reveal`` (``ledger.read.privacy``); a
    filter by a hidden name matches nothing."""
    ds = DATASETS[dataset]
    filters = privacy.for_reader(conn, reveal=reveal, lang=lang).filters(dataset, filters or Filters())
    _where(ds, filters)  # a bad filter is refused before any byte is sent
    max_batch = conn.execute(select(func.coalesce(func.max(ImportBatch.id), 0))).scalar_one()
    max_id = conn.execute(select(func.max(ds.id_expr)).select_from(ds.base())).scalar_one()
    return Download(dataset, filters, int(max_batch), max_id, done=max_id is None, reveal=reveal, lang=lang,
                    pin=current_pin())


def next_chunk(conn: Connection, d: Download, limit: int = STREAM_CHUNK_ROWS) -> list[tuple]:
    """The next rows of a download (tuples as ``output_fields()``), empty when it is complete.

    A download planned under ``pinned`` (``as_of``) reads every chunk pinned to the same checkpoint:
    chunks run in other threads, where the planning context is not in force."""
    if d.done:
        return []
    with pinned(d.pin):
        return _chunk(conn, d, limit)


def _chunk(conn: Connection, d: Download, limit: int) -> list[tuple]:
    ds = DATASETS[d.dataset]
    conds = _where(ds, d.filters)
    batch_col = _batch_column(ds)
    if batch_col is not None and ds.always is not None and d.pin is None:
        # Replace "live now" by "live as of the pinned batch": a correction landing mid-download
        # neither drops the rows it supersedes from later chunks nor adds its own.
        conds.pop()
        superseded = select(ImportBatch.supersedes_id).where(
            ImportBatch.supersedes_id.is_not(None), ImportBatch.id <= d.max_batch)
        conds += [batch_col <= d.max_batch, not_(batch_col.in_(superseded))]
        if d.dataset == "procurement":  # one row per contracting process, as of the pin too
            conds.append(live_procurement(ProcurementRecord.__table__, as_of=d.max_batch))
    conds.append(ds.id_expr <= d.max_id)
    if d.after is not None:
        conds.append(ds.id_expr > d.after)
    money = [c.money for c in ds.columns]
    stmt = (select(*[c.expr for c in ds.columns]).select_from(ds.base()).where(*conds)
            .order_by(ds.id_expr).limit(limit))
    out: list[tuple] = []
    for r in conn.execute(stmt):
        row: list[Any] = []
        for value, m in zip(r, money, strict=True):
            row.append(value)
            if m:
                row.append(yuan(value))
        out.append(tuple(row))
    if len(out) < limit:
        d.done = True
    if out:
        d.after = out[-1][0]  # the id is every dataset's first column
        d.rows_sent += len(out)
    fields = [n for n, _, _ in ds.output_fields()]
    return privacy.for_reader(conn, reveal=d.reveal, lang=d.lang).tuples(ds.name, fields, out)
