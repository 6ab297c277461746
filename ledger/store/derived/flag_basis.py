"""What the entry-level flags need, kept per batch at publish so a check never scans raw entries.

Two per-batch tables, filled by ``refresh_flag_basis`` from ``ledger.log.events.batch_published``:

- ``reception_persons_rollup``: per batch, unit and year, the sum of amount and 人次 (and the count)
  of CNY reception entries that state a head-count > 0. ``per_capita_excess`` sums it over live batches.
- ``duplicate_candidate``: the payment keys (unit, payee, amount, date) of the batch that occur more
  than once among the batch's entries and the entries of the batches live when it was published.
  ``duplicate_payment`` re-counts only these keys over live entries.

Why the candidates are complete: a group of live entries sharing a key has a batch published last;
when that batch was published every other batch of the group was already there and live (a batch
never becomes live again once superseded), so its publish counted the whole group. A candidate may
stop being a duplicate (its other batch was superseded): the rule re-counts, so it is dropped then.
The batches counted at publish are the ones live *and sharing a unit* with the new batch (from the
rollups), so publishing a batch costs one GROUP BY over its own units' live entries, not all entries.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, case, func, insert, literal, select

from ledger.store.batches import bulk_insert, live
from ledger.store.models import DuplicateCandidate, ExpenseEntry, ReceptionPersonsRollup, Rollup


def refresh_flag_basis(conn: Connection, batch_id: int, persons: pl.DataFrame | None = None) -> None:
    """Fill both per-batch tables for ``batch_id`` (call once, after its entries and rollups are written).

    ``persons``: the batch's ``reception_persons_rollup`` rows when the caller computed them from the
    rows it wrote (``ledger.log.batch_frames``); else a GROUP BY over the stored entries.
    """
    if persons is None:
        _reception_persons(conn, batch_id)
    else:
        bulk_insert(conn, ReceptionPersonsRollup.__table__, persons)
    _duplicate_candidates(conn, batch_id)


def _reception_persons(conn: Connection, batch_id: int) -> None:
    conn.execute(insert(ReceptionPersonsRollup).from_select(
        ["batch_id", "unit_id", "fiscal_year", "amount_fen", "persons", "row_count"], reception_persons_select(batch_id)))


def reception_persons_select(batch_id: int):
    """The GROUP BY over a batch's stored entries that gives its ``reception_persons_rollup`` rows."""
    e = ExpenseEntry.__table__
    return select(
        e.c.batch_id, e.c.unit_id, e.c.fiscal_year, func.sum(e.c.amount_fen), func.sum(e.c.persons), func.count(),
    ).where(
        e.c.batch_id == batch_id, e.c.category_code == "reception", e.c.persons > 0, e.c.currency == "CNY"
    ).group_by(e.c.batch_id, e.c.unit_id, e.c.fiscal_year)


def _duplicate_candidates(conn: Connection, batch_id: int) -> None:
    e, r = ExpenseEntry.__table__, Rollup.__table__
    mine = select(r.c.unit_id).where(r.c.batch_id == batch_id, r.c.measure == "actual")
    # other live batches holding entries of the same units (usually none: then only this batch is read)
    others = select(r.c.batch_id).where(
        r.c.measure == "actual", r.c.batch_id != batch_id, r.c.unit_id.in_(mine), live(r.c.batch_id)
    ).distinct()
    batch_ids = [batch_id, *conn.execute(others).scalars()]
    key = [e.c.unit_id, e.c.payee, e.c.amount_fen, e.c.entry_date]
    dup = (
        select(*key)
        .where(e.c.batch_id.in_(batch_ids), e.c.payee.is_not(None), e.c.entry_date.is_not(None))
        .group_by(*key)
        # keys of this batch only: the others' duplicates were recorded when they were published
        .having(func.count() > 1, func.sum(case((e.c.batch_id == batch_id, 1), else_=0)) > 0)
        .subquery()
    )
    conn.execute(insert(DuplicateCandidate).from_select(
        ["batch_id", "unit_id", "payee", "amount_fen", "entry_date"],
        select(literal(batch_id), *(dup.c[c.name] for c in key)),
    ))
