"""Evaluating reduction targets: every target, for every unit and year in its scope, in polars.

For a unit and year the *value* is the sum of the target's measure over its categories (or resource);
the *baseline* is the value of the prior year, the mean of N prior years, or a fixed year; the *cap*
is ``baseline × (1 + change_pct / 100)``. The target is ``met`` when ``value ≤ cap``, compared
exactly in integers (``value ≤ floor(cap)`` is the same test, since the value is whole fen), and
``insufficient_data`` when the year itself or any baseline year has no data for the unit.

Absence is not zero. A unit is *evaluated* for a target and year when it has any live row of the
target's measure (any category or resource) in that year or a baseline year; it *has data* for a
year only when it has a row in the target's own categories — an expense entry (``actual``), an
original budget line (``budget``), a consumption line of the resource (``consumption``). For a
group, a row in any member category is enough and the members without rows add nothing. A row of
0.00 is data: a published zero, so a zero baseline makes any spending a miss. A unit that
published no meeting line at all gets ``insufficient_data`` for a meeting target, naming the years
without data in ``missing_years``, never ``met``. Sums come from ``rollup``
(per-batch sums kept at import) restricted to live batches, so a check never scans raw entries.
The sums are figures resolved by ``ledger.store.published``: a node's published figure (a disclosure
table's 合计 or 公务用车 subtotal) where one exists, its children's sum only where none was
published, and line items never added to a published figure. A group whose members are all the
children of a node (三公 = 合计's children) reads that node, so a real cut in a published 合计 is
compared with the published 合计 of the year before, never with a sum of whichever parts were split.
Consumption targets work in thousandths of the measure unit (e.g. Wh for kWh), kept in the same
integer columns; ``detail_json`` says which.

A run is stored with a fingerprint of everything it read (live batches, units, targets, thresholds,
rule versions, year); running again when the fingerprint is unchanged reuses the last run and
writes nothing. Otherwise each flag rule whose own inputs (``flags.rule_fingerprints``) are those of
the latest run is not run again, and only flags whose content changed are rewritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from sqlalchemy import Connection, func, select, update

from ledger.rules import flags, thresholds
from ledger.rules.bulk import changed
from ledger.rules.no_data import empty_results as _empty_results
from ledger.rules.no_data import no_data_results, scope_units
from ledger.rules.sums import live_rollups, measure_sums, resolved_sums
from ledger.rules.targets import RESOURCES, Target, list_targets
from ledger.store import audit, published
from ledger.store.batches import bulk_insert, live
from ledger.store.models import (
    Category,
    CategoryGroupMember,
    CheckRun,
    ImportBatch,
    PolicyTarget,
    TargetResult,
    Unit,
    utcnow,
)

STATUSES = ("met", "missed", "insufficient_data", "no_data")


@dataclass
class RunSummary:
    """What a check run did: its id, whether it was reused, counts by status and flag changes."""

    run_id: int
    reused: bool
    fingerprint: str
    fiscal_year: int | None
    results: dict[str, int] = field(default_factory=dict)
    flags: dict = field(default_factory=dict)


def fingerprint(conn: Connection, year: int | None, thresholds_sha: str, rule_versions: dict[str, int],
                batches: bool = True) -> str:
    """A hash of live batches, units, category groups, targets, thresholds, rule versions and the year.

    ``batches=False``: of everything but the batches (what a run evaluating only changed units needs unchanged).
    """
    h = hashlib.sha256()
    b = ImportBatch.__table__
    if batches:
        for row in conn.execute(select(b.c.id, b.c.sha256, b.c.status).where(live(b.c.id)).order_by(b.c.id)):
            h.update(f"b{tuple(row)}".encode())
    for row in conn.execute(select(Unit.id, Unit.code, Unit.level).order_by(Unit.id)):
        h.update(f"u{tuple(row)}".encode())
    for row in conn.execute(
        select(CategoryGroupMember.group_code, CategoryGroupMember.category_code).order_by(
            CategoryGroupMember.group_code, CategoryGroupMember.category_code
        )
    ):
        h.update(f"g{tuple(row)}".encode())
    for row in conn.execute(select(Category.code, Category.parent_code).order_by(Category.code)):
        h.update(f"p{tuple(row)}".encode())  # the category tree decides which figures are read
    for row in conn.execute(select(PolicyTarget.id, PolicyTarget.definition_sha256).order_by(PolicyTarget.id)):
        h.update(f"t{tuple(row)}".encode())
    h.update(f"c{thresholds_sha}r{sorted(rule_versions.items())}y{year}".encode())
    return h.hexdigest()


def _keys(conn: Connection, t: Target) -> list[str]:
    if t.measure == "consumption":
        return [t.resource]
    if t.category_code:
        return [t.category_code]
    members = list(
        conn.execute(
            select(CategoryGroupMember.category_code).where(CategoryGroupMember.group_code == t.group_code)
        ).scalars()
    )
    # all of a node's children in the group: read the node (a published 合计 or subtotal), never re-add parts
    return published.collapse(members, published.parents(conn))


def _round_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den rounded half away from zero, for den > 0, in integers."""
    mag = (num.abs() * 2 + den) // (den * 2)
    return pl.when(num < 0).then(-mag).otherwise(mag)


def evaluate_target(t: Target, keys: list[str], sums: pl.DataFrame, units: pl.DataFrame, year: int | None,
                    ledger_years: list[int] | None = None, span: list[int] | None = None,
                    evaluated: set[int] | None = None) -> pl.DataFrame:
    """One target's results for every unit and year in scope, as a frame shaped like ``target_result``.

    ``ledger_years``: the years the ledger holds any data for (any measure); a target year among them
    for which no unit in scope has any row of the target's measure gets ``no_data`` for every unit in
    scope (see ``no_data_results``) instead of no results at all. ``span`` (the years the measure has data
    for, over every unit) and ``evaluated`` (the years any unit in scope was evaluated) are given when
    ``sums`` and ``units`` hold only some units (``ledger.rules.bulk.changed``).
    """
    # a unit is *known* for a year when it has any row of the measure (any category or resource);
    # it *has data* for this target when it has a row in the target's own categories (or resource)
    known = sums.select("unit_id", "fiscal_year").unique()
    val = sums.filter(pl.col("key").is_in(keys)).group_by("unit_id", "fiscal_year").agg(pl.col("amount").sum())
    found = _evaluate(t, known, val, units, year, span)
    return pl.concat([found, no_data_results(t, found, units, year, ledger_years or [], evaluated)])


def _evaluate(t: Target, known: pl.DataFrame, val: pl.DataFrame, units: pl.DataFrame, year: int | None,
              span: list[int] | None = None) -> pl.DataFrame:
    span = span if span is not None else known["fiscal_year"].unique().to_list()
    if not span:
        return _empty_results()
    lo = t.year_from if t.year_from is not None else min(span)
    hi = t.year_to if t.year_to is not None else max(span)
    years = [y for y in range(lo, hi + 1) if (year is None or y == year) and all(b < y for b in t.baseline_years(y))]
    if not years:
        return _empty_results()
    n = len(t.baseline_years(years[0]))
    yb = pl.DataFrame(
        [(y, b) for y in years for b in t.baseline_years(y)],
        schema={"fiscal_year": pl.Int64, "base_year": pl.Int64}, orient="row",
    )
    scope = scope_units(t, units)
    cand = pl.concat([
        known.join(yb.select("fiscal_year").unique(), on="fiscal_year").select("unit_id", "fiscal_year"),
        known.rename({"fiscal_year": "base_year"}).join(yb, on="base_year").select("unit_id", "fiscal_year"),
    ]).unique().join(scope.select("unit_id"), on="unit_id", how="semi")
    cur = cand.join(val.rename({"amount": "value"}), on=["unit_id", "fiscal_year"], how="left")
    base = (
        cand.join(yb, on="fiscal_year")
        .join(val.rename({"fiscal_year": "base_year", "amount": "b"}), on=["unit_id", "base_year"], how="left")
        .group_by("unit_id", "fiscal_year")
        .agg(
            base_sum=pl.col("b").sum(),
            base_count=pl.col("b").count(),
            baseline_years=pl.col("base_year").sort(),
            missing_base=pl.col("base_year").filter(pl.col("b").is_null()).sort(),
        )
    )
    k = 10000 + int(t.change_pct * 100)  # cap = base_sum × k / (n × 10000)
    value, bsum = pl.col("value"), pl.col("base_sum")
    insufficient = value.is_null() | (pl.col("base_count") < n)
    cap = (bsum * k) // (n * 10000)
    df = cur.join(base, on=["unit_id", "fiscal_year"]).with_columns(
        # every year without data for this target: the baseline years, then the evaluated year itself
        missing_years=pl.when(pl.col("value").is_null())
        .then(pl.concat_list("missing_base", "fiscal_year"))
        .otherwise(pl.col("missing_base")),
    ).with_columns(
        cap_fen=pl.when(insufficient).then(None).otherwise(cap),
        baseline_fen=pl.when(pl.col("base_count") < n).then(None).otherwise(_round_div(bsum, pl.lit(n))),
    )
    missed = ~insufficient & (value > pl.col("cap_fen"))
    excess = value - pl.col("cap_fen")
    pct_x100 = _round_div(excess * 10000, pl.col("cap_fen"))
    growth_x100 = _round_div((value * n - bsum) * 10000, bsum)
    df = df.with_columns(
        status=pl.when(insufficient).then(pl.lit("insufficient_data")).when(missed).then(pl.lit("missed"))
        .otherwise(pl.lit("met")),
        excess_fen=pl.when(insufficient).then(None).when(missed).then(excess).otherwise(0),
        pct_x100=pl.when(insufficient).then(None).when(~missed).then(0)
        .when(pl.col("cap_fen") > 0).then(pct_x100).otherwise(None),
        growth_pct_x100=pl.when(insufficient | (bsum <= 0)).then(None).otherwise(growth_x100),
    )
    detail = pl.struct(
        pl.lit(t.measure).alias("measure"),
        pl.lit(RESOURCES.get(t.resource or "", "fen")).alias("unit"),
        pl.lit(1000 if t.measure == "consumption" else 1).alias("scale"),
        pl.col("baseline_years"),
        pl.col("base_sum").alias("baseline_sum"),
        pl.col("missing_years"),
        value.is_null().alias("value_missing"),
        pl.col("growth_pct_x100"),
    ).struct.json_encode()
    h = pl.col("pct_x100")
    return df.select(
        pl.lit(t.id).alias("target_id"),
        pl.col("unit_id"),
        pl.col("fiscal_year"),
        pl.col("status"),
        pl.col("baseline_fen"),
        pl.col("cap_fen"),
        pl.col("value").alias("value_fen"),
        pl.col("excess_fen"),
        pl.when(h.is_null()).then(None)
        .otherwise((h // 100).cast(pl.String) + "." + (h % 100).cast(pl.String).str.zfill(2)).alias("excess_pct"),
        detail.alias("detail_json"),
    ).sort("unit_id", "fiscal_year")


def units_frame(conn: Connection) -> pl.DataFrame:
    rows = conn.execute(select(Unit.id, Unit.code, Unit.level)).all()
    return pl.DataFrame(rows, schema={"unit_id": pl.Int64, "code": pl.String, "level": pl.String}, orient="row")


def evaluate_all(conn: Connection, year: int | None = None, rollups: pl.DataFrame | None = None,
                 resolved: pl.DataFrame | None = None, only: list[int] | None = None,
                 shape: dict | None = None) -> pl.DataFrame:
    """Every loaded target's results (not stored); the frame ``run_checks`` stores.

    ``rollups``: the frame of ``live_rollups`` when the caller has read it already; ``resolved``: its
    ``resolved_sums``. ``only``: the results of these units alone, with ``shape`` the years every unit
    shares (``ledger.rules.bulk.changed.shape`` of a full run over the same years of data).
    """
    sums, units = measure_sums(conn, rollups, resolved), units_frame(conn)
    if only is None:
        ledger_years = sorted(set().union(*(f["fiscal_year"].to_list() for f in sums.values())))
    else:
        sums = {m: f.filter(pl.col("unit_id").is_in(only)) for m, f in sums.items()}
        units = units.filter(pl.col("unit_id").is_in(only))
        ledger_years = sorted(set().union(*shape["years"].values()))
    frames = [evaluate_target(t, _keys(conn, t), sums[t.measure], units, year, ledger_years,
                              *((shape["years"][t.measure], set(shape["found"].get(t.id, []))) if only is not None
                                else ()))
              for t in list_targets(conn)]
    out = pl.concat([_empty_results(), *frames])
    if shape is not None and only is None:
        shape.update(changed.shape(sums, out))
    return out


def run_checks(conn: Connection, *, year: int | None = None, config: dict | None = None, actor: str = "cli") -> RunSummary:
    """Evaluate every target and raise every flag; store both with a new run unless nothing changed.

    ``config`` is the ``[flags]`` thresholds (``ledger.rules.thresholds.load_flag_config()`` when None).
    Call inside ``ledger.store.db.writing``.
    """

    config = config if config is not None else thresholds.load_flag_config()
    fp = fingerprint(conn, year, thresholds.fingerprint(config), flags.rule_versions())
    runs = CheckRun.__table__
    last = conn.execute(
        select(runs.c.id, runs.c.fingerprint, runs.c.summary_json)
        .where(runs.c.fiscal_year.is_(None) if year is None else runs.c.fiscal_year == year)
        .order_by(runs.c.id.desc()).limit(1)
    ).first()
    if last is not None and last.fingerprint == fp and last.summary_json:
        s = json.loads(last.summary_json)
        return RunSummary(last.id, True, fp, year, s["results"], s["flags"])
    rule_fps = flags.rule_fingerprints(conn, year, config)
    unchanged = _unchanged_rules(conn, year, rule_fps)
    # everything but the batches, names included (the flags' sentences): unchanged, only changed units are evaluated
    base = hashlib.sha256((fingerprint(conn, year, thresholds.fingerprint(config), flags.rule_versions(), batches=False)
                           + flags.base_fingerprint(conn, year)).encode()).hexdigest()
    batch_ids = changed.live_batches(conn)
    prev = changed.previous(conn, year, base, batch_ids)  # None: evaluate every unit
    only = None if prev is None else prev.units
    run_id = conn.execute(
        runs.insert().values(started_at=utcnow(), fingerprint=fp, fiscal_year=year).returning(runs.c.id)
    ).scalar_one()
    # the live rollups (of the changed units only, after a few units' batches) are read and resolved once,
    # for the targets and budget_overrun alike
    rollups = live_rollups(conn, only)
    resolved = resolved_sums(conn, rollups)
    if prev is None:
        shape: dict = {}
        results = evaluate_all(conn, year, rollups, resolved, shape=shape).with_columns(run_id=pl.lit(run_id, pl.Int64))
        bulk_insert(conn, TargetResult.__table__, results)
        counts = {s: 0 for s in STATUSES} | dict(results.group_by("status").len().iter_rows())
    else:
        shape = prev.shape
        changed.copy_results(conn, run_id, prev, evaluate_all(conn, year, rollups, resolved, only=only, shape=shape))
        counts = {s: 0 for s in STATUSES} | changed.counts(conn, run_id)
    flag_summary = flags.raise_flags(conn, run_id, year=year, config=config, rollups=rollups, resolved=resolved,
                                     unchanged=unchanged, only=only, moved=None if prev is None else prev.moved)
    summary = {"results": counts, "flags": flag_summary}
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        finished_at=utcnow(), summary_json=json.dumps(summary | {"rule_fingerprints": rule_fps, "base": base,
                                                                  "live_batches": batch_ids, "shape": shape})))
    audit.record(conn, actor=actor, action="check.run", object_type="check_run", object_id=run_id,
                 details={"fiscal_year": year, "fingerprint": fp, **summary})
    return RunSummary(run_id, False, fp, year, counts, flag_summary)


def _unchanged_rules(conn: Connection, year: int | None, rule_fps: dict[str, str]) -> dict[str, dict]:
    """The rules whose inputs are those of the latest run, when it covered the same years: their flags
    are as it left them (no later run touched them), with its counts. Any other latest run: none."""
    runs = CheckRun.__table__
    last = conn.execute(select(runs.c.fiscal_year, runs.c.summary_json).where(runs.c.summary_json.is_not(None))
                        .order_by(runs.c.id.desc()).limit(1)).first()
    if last is None or last.fiscal_year != year:
        return {}
    s = json.loads(last.summary_json)
    before = s.get("rule_fingerprints", {})
    return {code: {"raised": s["flags"]["by_rule"].get(code, 0),
                   "skipped": [x for x in s["flags"].get("skipped", []) if x["rule"] == code]}
            for code, fp in rule_fps.items() if before.get(code) == fp}


def latest_run_id(conn: Connection, year: int | None = None) -> int | None:
    """The newest run covering ``year`` (a run over all years covers every year).

    With no ``year``, the newest run over all years (else the newest run of any year).
    """
    runs = CheckRun.__table__
    q = select(func.max(runs.c.id))
    if year is not None:
        return conn.execute(q.where((runs.c.fiscal_year == year) | runs.c.fiscal_year.is_(None))).scalar()
    return conn.execute(q.where(runs.c.fiscal_year.is_(None))).scalar() or conn.execute(q).scalar()


def target_results(conn: Connection, run_id: int | None = None, *, year: int | None = None,
                   status: str | None = None, unit: str | None = None, limit: int | None = None) -> list[dict]:
    """Stored results of a run as a list (see ``iter_target_results``)."""
    return list(iter_target_results(conn, run_id, year=year, status=status, unit=unit, limit=limit))


def iter_target_results(conn: Connection, run_id: int | None = None, *, year: int | None = None,
                        status: str | None = None, unit: str | None = None, limit: int | None = None):
    """Stored results of a run (default: the latest covering ``year``) as plain dicts, ordered for reading,
    fetched a few thousand rows at a time.

    Each dict: target_id, title, source_document, measure (actual | budget | consumption), unit_code, unit_name, fiscal_year, status,
    baseline, cap, value, excess (integer fen, or thousandths of ``measure_unit`` for consumption),
    excess_pct and growth_pct (``Decimal`` or None when undefined), measure_unit, baseline_years,
    missing_years.
    """
    run_id = run_id if run_id is not None else latest_run_id(conn, year)
    if run_id is None:
        return
    r, t, u = TargetResult.__table__, PolicyTarget.__table__, Unit.__table__
    q = (
        select(r, t.c.title, t.c.source_document, t.c.measure, u.c.code.label("unit_code"), u.c.name.label("unit_name"))
        .join(t, t.c.id == r.c.target_id).join(u, u.c.id == r.c.unit_id)
        .where(r.c.run_id == run_id).order_by(r.c.target_id, u.c.code, r.c.fiscal_year)
    )
    if year is not None:
        q = q.where(r.c.fiscal_year == year)
    if status:
        q = q.where(r.c.status == status)
    if unit:
        q = q.where(u.c.code == unit)
    if limit is not None:
        q = q.limit(limit)
    for m in conn.execution_options(yield_per=5000).execute(q).mappings():
        d = json.loads(m["detail_json"] or "{}")
        g = d.get("growth_pct_x100")
        yield {
            "run_id": run_id, "target_id": m["target_id"], "title": m["title"],
            "source_document": m["source_document"], "measure": m["measure"],
            "unit_code": m["unit_code"], "unit_name": m["unit_name"],
            "fiscal_year": m["fiscal_year"], "status": m["status"], "baseline": m["baseline_fen"],
            "cap": m["cap_fen"], "value": m["value_fen"], "excess": m["excess_fen"],
            "excess_pct": None if m["excess_pct"] is None else Decimal(str(m["excess_pct"])).quantize(Decimal("0.01")),
            "growth_pct": None if g is None else Decimal(g).scaleb(-2),
            "measure_unit": d.get("unit", "fen"), "baseline_years": d.get("baseline_years", []),
            "missing_years": d.get("missing_years", []),
        }
