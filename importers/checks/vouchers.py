"""The 凭证号 key of the duplicate check, matched without a standing index on ``(unit_id, voucher_no)``.

Each (unit, year) the file's voucher rows can meet is read from the ledger once per file, through
``ix_expense_entry_unit_year_category`` (``unit_id``, ``fiscal_year``), into a TEMP table indexed on
``(unit_code, voucher_no)``; each chunk's probe rows are then matched against that TEMP table. A
chunk's rows meet the ledger rows of their unit in any of the chunk's years, as before, so the pairs
needed are (the chunk's voucher units) × (the chunk's years); pairs already read are not read again.
An index on the ledger would cost every row inserted, in every import, to serve this one check.

The ledger does not change while a file is checked (``lock_duplicates``, no write before the report).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    select,
    text,
)

from ledger.store.batches import bulk_insert, live
from ledger.store.models import ExpenseEntry, Unit

_meta = MetaData()
LEDGER = Table("dup_voucher_ledger", _meta, Column("unit_code", String), Column("voucher_no", String),
               Column("fiscal_year", Integer), Column("batch_id", BigInteger), Column("amount_fen", BigInteger),
               prefixes=["TEMPORARY"])
Index("ix_dup_voucher_ledger", LEDGER.c.unit_code, LEDGER.c.voucher_no)
PAIRS = Table("dup_voucher_pairs", _meta, Column("unit_code", String), Column("fiscal_year", Integer),
              prefixes=["TEMPORARY"])
PAIR_SCHEMA = {"unit_code": pl.String, "fiscal_year": pl.Int64}


class VoucherLedger:
    """The ledger's live rows with a 凭证号, for the (unit, year) pairs the file has needed so far."""

    def __init__(self, conn: Connection, exclude_batch: int | None):
        self.conn = conn
        self.exclude = exclude_batch
        self.seen = pl.DataFrame(schema=PAIR_SCHEMA)  # pairs read into the TEMP table
        self.created = False

    def table(self, units: list[str], years: list[int]) -> Table:
        """The TEMP table, holding every pair of ``units`` × ``years`` (the new ones read now)."""
        if not self.created:
            self.conn.execute(text(f"DROP TABLE IF EXISTS {LEDGER.name}"))  # left by an earlier import on this connection
            LEDGER.create(self.conn)
            self.created = True
        want = pl.DataFrame({"unit_code": units}, schema={"unit_code": pl.String}).join(
            pl.DataFrame({"fiscal_year": years}, schema={"fiscal_year": pl.Int64}), how="cross")
        new = want.join(self.seen, on=["unit_code", "fiscal_year"], how="anti")
        if not new.height:
            return LEDGER
        self.seen = pl.concat([self.seen, new])
        pg = self.conn.dialect.name == "postgresql"
        PAIRS.create(self.conn)
        bulk_insert(self.conn, PAIRS, new)
        if pg:
            self.conn.execute(text(f"ANALYZE {PAIRS.name}"))
        e, p = ExpenseEntry.__table__, PAIRS.c
        conds = [e.c.unit_id == Unit.id, e.c.fiscal_year == p.fiscal_year, e.c.voucher_no.is_not(None),
                 live(e.c.batch_id)]
        if self.exclude is not None:
            conds.append(e.c.batch_id != self.exclude)
        rows = (select(p.unit_code, e.c.voucher_no, e.c.fiscal_year, e.c.batch_id, e.c.amount_fen)
                .select_from(PAIRS).join(Unit, Unit.code == p.unit_code).join(e, and_(*conds)))
        self.conn.execute(LEDGER.insert().from_select(list(LEDGER.c.keys()), rows))
        PAIRS.drop(self.conn)
        if pg:
            self.conn.execute(text(f"ANALYZE {LEDGER.name}"))
        return LEDGER

    def close(self) -> None:
        if self.created:
            LEDGER.drop(self.conn)
            self.created = False
            self.seen = self.seen.clear()
