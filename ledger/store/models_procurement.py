"""Procurement tables beside ``procurement_record`` (issue 13): replacement links and published summaries.

Both are append-only (migration 0006) and committed to by the transparency log (``ledger.log.canonical``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId, Timestamp, utcnow


class ProcurementReplacement(Base):
    """A newer compiled state of one contracting process (ocid) replaces an older row: never in place."""

    __tablename__ = "procurement_replacement"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    replaced_id: Mapped[int] = mapped_column(ForeignKey("procurement_record.id"), index=True)
    replacement_id: Mapped[int] = mapped_column(ForeignKey("procurement_record.id"), index=True)
    ocid: Mapped[str] = mapped_column(String(200))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class ProcurementSummary(Base):
    """A line of a published procurement summary table (政府采购情况表), as published: no records behind it."""

    __tablename__ = "procurement_summary"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(40))  # as published: 全年, 1月, 2023-05, 一季度
    method: Mapped[str | None] = mapped_column(String(40))  # open_tender … rfq | other
    method_raw: Mapped[str | None] = mapped_column(String(200))  # 预选竞价, 网上商城直接采购 … kept verbatim
    item_kind: Mapped[str | None] = mapped_column(String(20))  # goods | works | services (货物/工程/服务)
    projects: Mapped[int | None] = mapped_column(Integer)  # 项目数 as published
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    contract_fen: Mapped[int | None] = mapped_column(BigInteger)
    savings_fen: Mapped[int | None] = mapped_column(BigInteger)  # as published (else budget − contract)
    currency: Mapped[str] = mapped_column(String(3))
