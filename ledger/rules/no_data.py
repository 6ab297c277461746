"""Targets without data: ``no_data`` results instead of silence.

A target year for which no unit in scope has any row of the target's measure (the 节电/节油/节水
targets before any consumption is imported, a budget target before budgets are loaded) would give
no results at all, and a reader could not tell "nothing wrong" from "nothing known". Such a year
gets a ``no_data`` result for every unit in scope, with every figure empty and ``missing_years``
naming the year and its baseline years; ``sunshine check`` prints it as "no data / 无数据".
Only years the ledger holds data for (any measure) are considered, so future years stay quiet.
"""

from __future__ import annotations

import polars as pl

from ledger.rules.targets import RESOURCES, Target


def empty_results() -> pl.DataFrame:
    """An empty frame shaped like ``target_result`` (without ``run_id``)."""
    return pl.DataFrame(schema={
        "target_id": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "status": pl.String,
        "baseline_fen": pl.Int64, "cap_fen": pl.Int64, "value_fen": pl.Int64, "excess_fen": pl.Int64,
        "excess_pct": pl.String, "detail_json": pl.String,
    })


def scope_units(t: Target, units: pl.DataFrame) -> pl.DataFrame:
    if t.scope_kind == "units":
        return units.filter(pl.col("code").is_in(t.scope_values))
    if t.scope_kind == "levels":
        return units.filter(pl.col("level").is_in(t.scope_values))
    return units


def no_data_results(t: Target, found: pl.DataFrame, units: pl.DataFrame, year: int | None,
                    ledger_years: list[int], evaluated: set[int] | None = None) -> pl.DataFrame:
    """``no_data`` for every unit in scope, for each of the target's years the ledger holds data for
    (and whose baseline years come before it) but no unit in scope has a row of the target's measure.

    So a target that cannot be evaluated (the 节电/节油/节水 targets before consumption is imported)
    says so in the results instead of producing none: absence is never silence, nor zero. ``evaluated``:
    the years any unit in scope was evaluated, when ``found`` holds some units' results only.
    """
    if not ledger_years:
        return empty_results()
    lo = t.year_from if t.year_from is not None else min(ledger_years)
    hi = t.year_to if t.year_to is not None else max(ledger_years)
    evaluated = set(found["fiscal_year"].to_list()) if evaluated is None else evaluated
    years = [y for y in ledger_years if lo <= y <= hi and (year is None or y == year) and y not in evaluated
             and all(b < y for b in t.baseline_years(y))]
    scope = scope_units(t, units)
    if not years or scope.height == 0:
        return empty_results()
    rows = scope.select("unit_id").join(pl.DataFrame({"fiscal_year": years}, schema={"fiscal_year": pl.Int64}),
                                        how="cross")
    detail = pl.struct(
        pl.lit(t.measure).alias("measure"),
        pl.lit(RESOURCES.get(t.resource or "", "fen")).alias("unit"),
        pl.lit(1000 if t.measure == "consumption" else 1).alias("scale"),
        pl.col("fiscal_year").map_elements(t.baseline_years, return_dtype=pl.List(pl.Int64)).alias("baseline_years"),
        pl.lit(None, pl.Int64).alias("baseline_sum"),
        pl.concat_list(pl.col("fiscal_year").map_elements(t.baseline_years, return_dtype=pl.List(pl.Int64)),
                       pl.col("fiscal_year")).alias("missing_years"),
        pl.lit(True).alias("value_missing"),
        pl.lit(None, pl.Int64).alias("growth_pct_x100"),
        pl.lit(True).alias("no_data"),
    ).struct.json_encode()
    return rows.select(
        pl.lit(t.id).alias("target_id"), pl.col("unit_id"), pl.col("fiscal_year"), pl.lit("no_data").alias("status"),
        *[pl.lit(None, pl.Int64).alias(c) for c in ("baseline_fen", "cap_fen", "value_fen", "excess_fen")],
        pl.lit(None, pl.String).alias("excess_pct"), detail.alias("detail_json"),
    ).sort("unit_id", "fiscal_year")


def no_data_targets(conn, run_id: int, year: int | None = None) -> list[dict]:
    """Targets with ``no_data`` results in a run: id, title, measure, resource, years and units in scope."""
    from sqlalchemy import func, select

    from ledger.store.models import PolicyTarget, TargetResult

    r, t = TargetResult.__table__, PolicyTarget.__table__
    q = (select(r.c.target_id, t.c.title, t.c.measure, t.c.resource, r.c.fiscal_year, func.count())
         .join(t, t.c.id == r.c.target_id).where(r.c.run_id == run_id, r.c.status == "no_data")
         .group_by(r.c.target_id, t.c.title, t.c.measure, t.c.resource, r.c.fiscal_year)
         .order_by(r.c.target_id, r.c.fiscal_year))
    if year is not None:
        q = q.where(r.c.fiscal_year == year)
    out: dict[str, dict] = {}
    for tid, title, measure, resource, fy, units in conn.execute(q):
        d = out.setdefault(tid, {"target_id": tid, "title": title, "measure": measure, "resource": resource,
                                 "years": [], "units": 0})
        d["years"].append(fy)
        d["units"] = max(d["units"], units)
    return list(out.values())
