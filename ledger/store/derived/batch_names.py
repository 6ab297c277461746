"""Each batch's distinct payees and suppliers with their type as filed (``batch_name``), written at publish.

The privacy rules hide natural persons' names wherever free text repeats them (flag messages, search),
so a reader needs every stored name (``ledger.read.privacy.redactor.stored_names``). Reading them as
``SELECT payee, payee_type, count(*) … GROUP BY`` walked every entry and procurement record (20.3 CPU-s
at 5M entries) on the first flags page of a process and again after each import. This table keeps them
per batch: one row per dataset, name and type (``kind``, null when none was filed) with its rows, filled
in the publishing transaction next to the rollups (``ledger.store.batches.refresh_rollups``) from the
importer's frames (``ledger.log.batch_frames.BatchFrames.names``), else by one GROUP BY over the batch's rows.
Migration 0016_batch_names fills it for ledgers published before. Which names are persons' is decided
when read: the rules come from configuration and may change.

Derived and append-only like ``rollup`` (same triggers); ``sunshine verify`` groups the stored rows
again and names a batch whose kept names differ (``ledger.log.register.check_rollups``, ``rollup-changed``).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import (
    BigInteger,
    Connection,
    ForeignKey,
    Select,
    String,
    UniqueConstraint,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId

COLUMNS = ["batch_id", "dataset", "name", "kind", "row_count"]
# dataset → (table, name column, type column): the names ``ledger.read.privacy.redactor`` reads
SOURCES = {"expenses": ("expense_entry", "payee", "payee_type"),
           "procurement": ("procurement_record", "supplier_name", "supplier_type")}
DATASET_OF = {table: dataset for dataset, (table, _, _) in SOURCES.items()}


class BatchName(Base):
    """One name a batch's rows carry in one dataset, with the type filed beside it, and how many rows."""

    __tablename__ = "batch_name"
    __table_args__ = (UniqueConstraint("batch_id", "dataset", "name", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    dataset: Mapped[str] = mapped_column(String(20))  # expenses | procurement
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(40))  # payee_type / supplier_type as filed
    row_count: Mapped[int] = mapped_column(BigInteger)


def from_rows(batch_id: int | None = None) -> list[Select]:
    """The GROUP BYs over the stored rows that give ``batch_name`` (``COLUMNS``; of one batch, or of every batch)."""
    out = []
    for dataset, (table, name, kind) in SOURCES.items():
        t = Base.metadata.tables[table]
        q = select(t.c.batch_id, literal(dataset), t.c[name], t.c[kind], func.count()).where(
            t.c[name].is_not(None)).group_by(t.c.batch_id, t.c[name], t.c[kind])
        out.append(q if batch_id is None else q.where(t.c.batch_id == batch_id))
    return out


def frame_names(table: str, frame: pl.DataFrame) -> pl.DataFrame | None:
    """A part's names as ``batch_name`` keeps them (``dataset``, ``name``, ``kind``, ``row_count``), or None
    for a table without names."""
    dataset = DATASET_OF.get(table)
    if dataset is None:
        return None
    _, name, kind = SOURCES[dataset]
    return (frame.select(pl.lit(dataset).alias("dataset"), pl.col(name).cast(pl.String).alias("name"),
                         pl.col(kind).cast(pl.String).alias("kind"))
            .filter(pl.col("name").is_not_null())
            .group_by("dataset", "name", "kind").agg(pl.len().cast(pl.Int64).alias("row_count")))


def reduce(partials: pl.DataFrame) -> pl.DataFrame:
    return partials.group_by("dataset", "name", "kind").agg(pl.col("row_count").sum())


def write(conn: Connection, batch_id: int, names: pl.DataFrame | None = None, bulk=None) -> None:
    """Write ``batch_id``'s names (call once, after its rows): from ``names`` (``frame_names`` of the rows the
    importer wrote, reduced) with ``bulk`` (``ledger.store.batches.bulk_insert``, passed in: that module imports
    ``ledger.store.models``, which imports this one), else by a GROUP BY over the batch's stored rows."""
    t = BatchName.__table__
    if names is None:
        for q in from_rows(batch_id):
            conn.execute(insert(t).from_select(COLUMNS, q))
        return
    if names.height:
        bulk(conn, t, names.sort("dataset", "name", "kind", nulls_last=True).select(
            pl.lit(batch_id, pl.Int64).alias("batch_id"), "dataset", "name", "kind", "row_count"))


def expected(conn: Connection) -> dict[tuple, int]:
    """``{(batch, dataset, name, kind): rows}`` as the stored rows give it."""
    return {(b, d, n, k): int(c) for q in from_rows() for b, d, n, k, c in conn.execute(q)}


def stored(conn: Connection) -> dict[tuple, int]:
    t = BatchName.__table__
    return {(b, d, n, k): int(c) for b, d, n, k, c in conn.execute(select(*(t.c[c] for c in COLUMNS)))}
