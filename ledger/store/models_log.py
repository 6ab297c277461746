"""The transparency log's tables (leaves, checkpoints, row locators) and the ledger's own settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId, Timestamp, utcnow


class LogLeaf(Base):
    """A leaf of the transparency log: the canonical JSON manifest of one published event."""

    __tablename__ = "log_leaf"
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(30))  # import | correction | review
    ref_id: Mapped[str] = mapped_column(String(100))
    manifest: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class LogCheckpoint(Base):
    """A signed (size, root, time) of the transparency log."""

    __tablename__ = "log_checkpoint"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


class LogRowDigest(Base):
    """The row locator of a published batch: per chunk of rows, their ids then the CRC-32 of each
    canonical line (``ledger.log.canonical.pack_locator``).

    The manifest's rows hash proves a batch changed; these let ``sunshine verify`` name the row.
    """

    __tablename__ = "log_row_digest"
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    row_count: Mapped[int] = mapped_column(Integer)
    digests: Mapped[bytes] = mapped_column(LargeBinary)


class KeyValue(Base):
    """Small settings the ledger keeps for itself (e.g. the data version for ETags)."""

    __tablename__ = "ledger_meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

