"""A check after a few units' new batches: evaluate those units only, copy every other result.

A target result of a unit depends on that unit's figures, the target and scope, and three things every
unit shares: the years each measure has data for (a target's open year range), the years the ledger holds
(``no_data`` years) and the years a target found any unit in scope to evaluate. A run stores these
(its ``shape``) with the live batches it read. The next run, when only batches changed (units, categories,
targets, thresholds and rule versions as they were), finds the units with rows in the batches that came
or went; when none of them gained or lost a year of data, the shared years are those of the last run, so
every other unit's results are the last run's. They are copied in SQL, in the order a full evaluation
writes (target, evaluated before ``no_data``, unit, year), so ids and answers are those of a full run;
the ids are given explicitly (``row_number()`` over that order from a reserved range), since neither
database promises to draw default ids in the order an ``INSERT … SELECT … ORDER BY`` reads its rows.
Rules whose flags depend on one unit's figures alone (``Rule.by_unit``) are run for those units only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, case, func, literal, select, union_all

from ledger.rules.sums import MEASURE_ROLLUP
from ledger.store.batches import bulk_insert, live, reserve_ids
from ledger.store.models import CheckRun, ConsumptionLine, ImportBatch, Rollup, TargetResult, Unit

MAX_SHARE = 0.25  # above this share of units changed, a full evaluation costs no more


@dataclass
class Previous:
    run_id: int
    units: list[int]  # the units whose rows changed since that run
    shape: dict
    moved: list[int] = field(default_factory=list)  # the batches that came or went since that run


def live_batches(conn: Connection) -> list[int]:
    b = ImportBatch.__table__
    return list(conn.execute(select(b.c.id).where(live(b.c.id)).order_by(b.c.id)).scalars())


def previous(conn: Connection, year: int | None, base: str, batches: list[int]) -> Previous | None:
    """The latest run of ``year`` when it saw the same base (everything but batches) and few units changed."""
    runs = CheckRun.__table__
    last = conn.execute(select(runs.c.id, runs.c.fiscal_year, runs.c.summary_json)
                        .where(runs.c.summary_json.is_not(None)).order_by(runs.c.id.desc()).limit(1)).first()
    if last is None or last.fiscal_year != year:
        return None
    s = json.loads(last.summary_json)
    if s.get("base") != base or "shape" not in s or "live_batches" not in s:
        return None
    before = set(s["live_batches"])
    moved = sorted(before.symmetric_difference(batches))
    units = _units_in(conn, moved)
    total = conn.execute(select(Unit.id).order_by(Unit.id.desc()).limit(1)).scalar() or 0
    if len(units) > MAX_SHARE * max(total, 1) or _known(conn, units, sorted(before)) != _known(conn, units, batches):
        return None
    return Previous(last.id, units, s["shape"], moved)


def _units_in(conn: Connection, batch_ids: list[int]) -> list[int]:
    if not batch_ids:
        return []
    r, c = Rollup.__table__, ConsumptionLine.__table__
    q = union_all(select(r.c.unit_id).where(r.c.batch_id.in_(batch_ids)),
                  select(c.c.unit_id).where(c.c.batch_id.in_(batch_ids)))
    return sorted(set(conn.execute(q).scalars()))


def _known(conn: Connection, units: list[int], batch_ids: list[int]) -> set[tuple]:
    """``(measure, unit, year)`` with any row the targets read, for ``units`` in these batches."""
    if not units or not batch_ids:
        return set()
    r, c = Rollup.__table__, ConsumptionLine.__table__
    money = select(r.c.measure, r.c.unit_id, r.c.fiscal_year).where(
        r.c.unit_id.in_(units), r.c.batch_id.in_(batch_ids), r.c.currency == "CNY",
        r.c.measure.in_(list(MEASURE_ROLLUP.values())))
    use = select(literal("consumption"), c.c.unit_id, c.c.fiscal_year).where(
        c.c.unit_id.in_(units), c.c.batch_id.in_(batch_ids))
    return set(map(tuple, conn.execute(union_all(money, use)).all()))


def shape(sums: dict[str, pl.DataFrame], results: pl.DataFrame) -> dict:
    """The years every unit's results share (see the module's docstring), as JSON."""
    found = results.filter(pl.col("status") != "no_data").group_by("target_id").agg(pl.col("fiscal_year").unique())
    return {"years": {m: sorted(set(f["fiscal_year"].to_list())) for m, f in sums.items()},
            "found": {t: sorted(ys) for t, ys in found.iter_rows()}}


def copy_results(conn: Connection, run_id: int, prev: Previous, fresh: pl.DataFrame) -> None:
    """Store ``fresh`` (the changed units' results) and the previous run's others, in a full run's order."""
    r = TargetResult.__table__
    cols = [c.name for c in r.columns if c.name not in ("id", "run_id")]
    tmp = Table("target_result_fresh", MetaData(), *(Column(c, r.c[c].type) for c in cols), prefixes=["TEMPORARY"])
    tmp.create(conn)
    try:
        bulk_insert(conn, tmp, fresh.select(cols))
        kept = select(*(r.c[c] for c in cols)).where(r.c.run_id == prev.run_id)
        if prev.units:
            kept = kept.where(r.c.unit_id.not_in(prev.units))
        both = union_all(kept, select(*(tmp.c[c] for c in cols))).subquery()
        order = [both.c.target_id, case((both.c.status == "no_data", 1), else_=0), both.c.unit_id, both.c.fiscal_year]
        total = conn.execute(select(func.count()).select_from(both)).scalar_one()
        first = reserve_ids(conn, r, total)
        ids = func.row_number().over(order_by=order) + (first - 1)
        rows = select(literal(run_id), ids, *(both.c[c] for c in cols))
        conn.execute(r.insert().from_select(["run_id", "id", *cols], rows))
    finally:
        tmp.drop(conn)


def counts(conn: Connection, run_id: int) -> dict[str, int]:
    r = TargetResult.__table__
    return {s: int(n) for s, n in conn.execute(
        select(r.c.status, func.count()).where(r.c.run_id == run_id).group_by(r.c.status))}
