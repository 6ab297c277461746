"""The sums every target and flag reads: live rollups per measure, unit, year and category, and
consumption per resource, read once per run on the driver's cursor.

Money sums are figures resolved by ``ledger.store.published``: one per unit, year, category and
measure, a node's published figure (a disclosure table's 合计 or subtotal) where one exists and the
sum of its children only where none was published; line items are never added to a published figure.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import BigInteger, Connection, cast, func, select

from ledger.store import published
from ledger.store.batches import live
from ledger.store.models import ConsumptionLine, ImportBatch, Rollup

MEASURE_ROLLUP = {"actual": "actual", "budget": "budget_original"}

ROLLUP_SCHEMA = {"batch_id": pl.Int64, "measure": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64,
                 "category_code": pl.String, "amount": pl.Int64, "kind": pl.String}


def driver_frame(conn: Connection, query, schema: dict) -> pl.DataFrame:
    """Run a SELECT on the driver's cursor (no SQLAlchemy row objects: these reads are the check's bulk)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql)
        rows = cur.fetchall()
    finally:
        cur.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def live_rollups(conn: Connection, units: list[int] | None = None) -> pl.DataFrame:
    """Every live CNY rollup row ``(batch_id, measure, unit_id, fiscal_year, category_code, amount)``
    (of ``units`` only, when given).

    Read once per run and shared by the targets and ``budget_overrun``; grouped in polars, since a
    GROUP BY in SQLite sorts.
    """
    r, b = Rollup.__table__, ImportBatch.__table__
    q = select(r.c.batch_id, r.c.measure, r.c.unit_id, r.c.fiscal_year, r.c.category_code, r.c.amount_fen,
               b.c.kind).join(b, b.c.id == r.c.batch_id).where(live(r.c.batch_id), r.c.currency == "CNY")
    if units is not None:
        q = q.where(r.c.unit_id.in_(units))
    return driver_frame(conn, q, ROLLUP_SCHEMA)


def resolved_sums(conn: Connection, rollups: pl.DataFrame) -> pl.DataFrame:
    """One figure per (measure, unit, year, category): published before derived (``ledger.store.published``).

    ``rollups`` is a ``live_rollups`` frame (it carries each row's batch kind, which decides precedence).
    """
    return published.resolve(rollups, published.parents(conn))


def measure_sums(conn: Connection, rollups: pl.DataFrame | None = None,
                 resolved: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """Live sums per measure as frames ``(unit_id, fiscal_year, key, amount)``; key = category or resource.

    ``resolved``: ``resolved_sums`` of every measure of the rollups, when the caller has it (each measure,
    unit and year resolves on its own, so resolving all and keeping two gives the same figures).
    """
    if resolved is None:
        rollups = live_rollups(conn) if rollups is None else rollups
        resolved = resolved_sums(conn, rollups.filter(pl.col("measure").is_in(list(MEASURE_ROLLUP.values()))))
    money = (
        resolved.filter(pl.col("measure").is_in(list(MEASURE_ROLLUP.values())))
        .filter(pl.col("amount").is_not_null())
        .select("measure", "unit_id", "fiscal_year", pl.col("category_code").alias("key"), "amount")
    )
    schema = {"measure": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "key": pl.String, "amount": pl.Int64}
    c = ConsumptionLine.__table__
    rows = conn.execute(
        select(
            c.c.unit_id, c.c.fiscal_year, c.c.resource,
            cast(func.round(func.sum(c.c.quantity) * 1000), BigInteger),
        )
        .where(live(c.c.batch_id))
        .group_by(c.c.unit_id, c.c.fiscal_year, c.c.resource)
    ).all()
    use = pl.DataFrame(rows, schema={k: v for k, v in schema.items() if k != "measure"}, orient="row")
    out = {m: money.filter(pl.col("measure") == r).drop("measure") for m, r in MEASURE_ROLLUP.items()}
    out["consumption"] = use
    return out
