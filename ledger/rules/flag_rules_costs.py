"""Unit costs against peers: spending per overseas delegation and traveller, per vehicle held, per
reception batch and guest, per meeting day and person-day, compared with the unit's peer group by a robust fence.

A unit cost is the amount of the entries that state a count over that count (a disclosure table's
团组数 / 人次 / 保有量 / 接待批次, or line items' persons and batches), in fen rounded half up. The peer
group is every unit of the same level and kind (the unit register's ``level`` and ``kind``, 单位性质)
with the same cost in the same year; units whose kind is not stated form their own group within their
level (``ledger.store.unit_terms``), never mixed with a stated kind. Only CNY amounts are compared
(``skipped_currencies``). The fence is Tukey's: Q3 + k × IQR, quartiles by linear interpolation (numpy's
default), so a few very high peers cannot drag it up the way a mean would; and the cost must also be at
least ``min_above_median_pct`` above the peers' median, so near-identical peers do not turn a 1%
difference into an accusation. A peer group smaller than ``min_peers`` says little: the unit is then held
against its own history (the median of its previous years' costs times ``history_max_pct``), and with
too little history it is not judged at all.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import BigInteger, Connection, cast, func, or_, select

from ledger.money import format_wan, format_yuan
from ledger.rules import thresholds as th
from ledger.rules.registry import Context, FlagDraft, frame, rule, unit_label
from ledger.store.batches import live
from ledger.store.models import ExpenseEntry, ImportBatch, Rollup, Unit
from ledger.store.unit_terms import group_name

# metric -> (category, count column, 中文, English, what one count is in Chinese and English)
METRICS = {
    "per_overseas_group": ("overseas_travel", "batches", "因公出国(境)费每团组", "overseas travel per delegation",
                           "个团组", "delegations"),
    "per_overseas_traveller": ("overseas_travel", "persons", "因公出国(境)费每人次", "overseas travel per traveller",
                               "人次", "travellers"),
    "per_vehicle_held": ("vehicle_operation", "vehicles", "公务用车运行维护费每辆保有车辆",
                         "vehicle operation per vehicle held", "辆", "vehicles held"),
    "per_vehicle_held_total": ("vehicles", "vehicles", "公务用车购置及运行维护费每辆保有车辆",
                               "vehicle purchase and operation per vehicle held", "辆", "vehicles held"),
    "per_reception_batch": ("reception", "batches", "公务接待费每批次", "official reception per batch",
                            "批次", "batches"),
    "per_guest": ("reception", "persons", "公务接待费每人次", "official reception per guest", "人次", "guests"),
    # meetings: line items stating their days (天数), and persons × days where both are stated (人天,
    # the unit the 会议费 standards are set in)
    "per_meeting_day": ("meeting", "days", "会议费每会议天", "meetings per meeting day", "天", "meeting days"),
    "per_meeting_person_day": ("meeting", "person_days", "会议费每人天", "meetings per person-day", "人天",
                               "person-days"),
}
COUNTS = ("batches", "persons", "vehicles", "days", "person_days")
SCHEMA = {"unit_id": pl.Int64, "fiscal_year": pl.Int64, "category_code": pl.String,
          **{f"{k}_{c}": pl.Int64 for c in COUNTS for k in ("amount", "count")}}


def quartiles(values: list[int]) -> tuple[Decimal, Decimal, Decimal]:
    """Q1, median and Q3 of ``values`` by linear interpolation between order statistics (exact)."""
    s = sorted(values)

    def q(p: Decimal) -> Decimal:
        pos = p * (len(s) - 1)
        lo = int(pos)
        frac = pos - lo
        hi = min(lo + 1, len(s) - 1)
        return Decimal(s[lo]) + (Decimal(s[hi]) - Decimal(s[lo])) * frac

    return q(Decimal("0.25")), q(Decimal("0.5")), q(Decimal("0.75"))


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def unit_costs(conn: Connection, year: int | None = None, keys: pl.DataFrame | None = None,
               units: list[int] | None = None) -> pl.DataFrame:
    """``(metric, unit_id, fiscal_year, amount, count, level, kind, cost)`` of every unit and year that states counts.

    ``keys``: only these ``(category_code, fiscal_year)``; ``units``: only these units.
    """
    e = ExpenseEntry.__table__
    cats = sorted({m[0] for m in METRICS.values()})
    counted = {c: e.c[c] for c in COUNTS if c != "person_days"} | {
        "person_days": cast(e.c.persons, BigInteger) * e.c.days}  # null unless both are stated
    cols = []
    for c in COUNTS:
        has = counted[c] > 0
        cols += [cast(func.sum(e.c.amount_fen).filter(has), BigInteger), cast(func.sum(counted[c]).filter(has), BigInteger)]
    cond = [live(e.c.batch_id), e.c.currency == "CNY", e.c.category_code.in_(cats), or_(*(counted[c] > 0 for c in COUNTS))]
    if keys is not None:  # the pairs' categories and years (a superset of the pairs, cut to them below)
        cond += [e.c.category_code.in_(sorted(set(keys["category_code"]))),
                 e.c.fiscal_year.in_(sorted(set(keys["fiscal_year"])))]
    if units is not None:
        cond.append(e.c.unit_id.in_(units))
    q = select(e.c.unit_id, e.c.fiscal_year, e.c.category_code, *cols).where(*cond).group_by(
        e.c.unit_id, e.c.fiscal_year, e.c.category_code)
    sums = frame(conn, q, dict(zip(["unit_id", "fiscal_year", "category_code", *(
        f"{k}_{c}" for c in COUNTS for k in ("amount", "count"))], SCHEMA.values(), strict=True)))
    if keys is not None:
        sums = sums.join(keys.select(pl.col("category_code").cast(pl.String), pl.col("fiscal_year").cast(pl.Int64)),
                         on=["category_code", "fiscal_year"], how="semi")
    levels = frame(conn, select(Unit.id, Unit.level, Unit.kind), {"unit_id": pl.Int64, "level": pl.String,
                                                                  "kind": pl.String})
    parts = []
    for metric, (cat, col, *_rest) in METRICS.items():
        parts.append(sums.filter((pl.col("category_code") == cat) & (pl.col(f"count_{col}") > 0)).select(
            pl.lit(metric).alias("metric"), "unit_id", "fiscal_year",
            pl.col(f"amount_{col}").alias("amount"), pl.col(f"count_{col}").alias("count")))
    out = pl.concat(parts).join(levels, on="unit_id", how="left")
    # amount / count in fen rounded half up (away from zero), in integers: count > 0
    a, n = pl.col("amount"), pl.col("count")
    mag = (a.abs() * 2 + n) // (n * 2)
    out = out.with_columns(pl.when(a < 0).then(-mag).otherwise(mag).alias("cost"))
    return out.sort("metric", "fiscal_year", "unit_id")


def skipped_currencies(conn: Connection, year: int | None = None) -> list[dict]:
    """Entries stating a count in a currency other than CNY: not compared (a cost in one currency is never
    held against peers in another; the sentences speak 元). ``{"rule", "currency", "records", "reason"}``
    per currency, the form ``ctx.skipped`` keeps (as the procurement rules record a currency they skip)."""
    e = ExpenseEntry.__table__
    cats = sorted({m[0] for m in METRICS.values()})
    counted = [e.c[c] > 0 for c in COUNTS if c != "person_days"]
    q = select(e.c.currency, func.count()).where(
        live(e.c.batch_id), e.c.currency != "CNY", e.c.category_code.in_(cats), or_(*counted),
        *([e.c.fiscal_year == year] if year is not None else [])).group_by(e.c.currency).order_by(e.c.currency)
    return [{"rule": "unit_cost_outlier", "currency": cur, "records": int(n), "reason": "unit-costs-cny-only"}
            for cur, n in conn.execute(q)]


def _evidence(conn: Connection, keys: set[tuple[int, int, str]] | None = None,
              few: bool = False) -> dict[tuple[int, int, str], list[int]]:
    """The live batches holding entries of each unit, year and category the metrics read, in one read.

    ``rollup``'s ``actual`` rows are a batch's expense entries grouped by unit, year, category and currency
    (``refresh_rollups``), so its batches are the entries' batches without touching the entries.
    ``keys``: only these ``(unit_id, fiscal_year, category_code)`` (the flagged ones) are grouped and kept;
    ``few``: they are few, so only their units' rollups are read.
    """
    r = Rollup.__table__
    cats = sorted({m[0] for m in METRICS.values()})
    q = select(r.c.unit_id, r.c.fiscal_year, r.c.category_code, r.c.batch_id).where(
        live(r.c.batch_id), r.c.measure == "actual", r.c.category_code.in_(cats)).distinct()
    if few and keys:
        q = q.where(r.c.unit_id.in_(sorted({k[0] for k in keys})))
    df = frame(conn, q, {"unit_id": pl.Int64, "fiscal_year": pl.Int64, "category_code": pl.String,
                         "batch_id": pl.Int64})
    if keys is not None:
        wanted = pl.DataFrame(list(keys), schema={"unit_id": pl.Int64, "fiscal_year": pl.Int64,
                                                  "category_code": pl.String}, orient="row")
        df = df.join(wanted, on=["unit_id", "fiscal_year", "category_code"], how="semi")
    df = df.group_by("unit_id", "fiscal_year", "category_code").agg(pl.col("batch_id").sort())
    return {(u, y, c): b for u, y, c, b in df.iter_rows()}


SETTINGS = ("iqr_k", "min_above_median_pct", "min_peers", "history_years", "min_history_years", "history_max_pct")


def _compare(row: dict, peers: list[int], history: list[int], cfg: dict,
             peer_quartiles: tuple[Decimal, Decimal, Decimal] | None = None) -> dict:
    """How ``row``'s cost stands against its fence: the figures, and ``flagged`` when it is above.

    ``basis`` is ``peers`` (a group of at least ``min_peers``), ``history`` (too few peers: the unit's
    own previous years) or ``none`` (too little of either: not judged). ``peer_quartiles`` are
    ``quartiles(peers)`` computed once per peer group by the caller: sorting the group again for each
    of its units made this rule quadratic (55% of ``sunshine check`` at 1M entries).
    """
    k = Decimal(str(cfg["iqr_k"]))
    if len(peers) >= cfg["min_peers"]:
        q1, med, q3 = peer_quartiles or quartiles(peers)
        fence = q3 + k * (q3 - q1)
        above = row["cost"] > fence and row["cost"] * 100 >= med * (100 + cfg["min_above_median_pct"])
        return {"basis": "peers", "peer_group_size": len(peers), "peer_level": row["level"], "peer_kind": row["kind"],
                "peer_median_fen": _fen(med), "peer_q1_fen": _fen(q1), "peer_q3_fen": _fen(q3), "fence_fen": _fen(fence),
                "flagged": above}
    if len(history) < cfg["min_history_years"]:
        return {"basis": "none", "peer_group_size": len(peers), "history_years": len(history), "flagged": False}
    _, med, _ = quartiles(history)
    fence = med * Decimal(str(cfg["history_max_pct"])) / 100
    return {"basis": "history", "peer_group_size": len(peers), "history_years": len(history),
            "history_median_fen": _fen(med), "fence_fen": _fen(fence), "flagged": row["cost"] > fence}


def comparisons(conn: Connection, config: dict, year: int | None = None,
                flagged_only: bool = False, keys: pl.DataFrame | None = None) -> tuple[dict, list[dict]]:
    """Every unit cost of ``year`` (every year when None) beside its peer group's median and fence.

    Returns the thresholds read from ``config`` (``[flags.unit_cost_outlier]``) and one dict per unit,
    year and metric: ``metric``, ``unit_id``, ``fiscal_year``, ``level``, ``kind``, ``unit_cost_fen``,
    ``amount_fen``, ``count`` and ``_compare``'s figures. Peers are the units of the same ``(level, kind)``;
    a null kind is a group of its own. The flags (``unit_cost_outlier``) are the rows ``flagged``;
    ``flagged_only`` returns those alone, the same dicts, without building one for every other row.
    ``keys``: only the metrics of these ``(category_code, fiscal_year)``, each peer group whole; a unit of
    a group too small to compare gets its own history from every year.
    """
    cfg = {key: th.get(config, "unit_cost_outlier", key) for key in SETTINGS}
    costs = unit_costs(conn, keys=keys)
    history = [costs]
    if keys is not None:
        small = costs.filter(pl.len().over("metric", "fiscal_year", "level", "kind") < cfg["min_peers"])
        if small.height:
            history.append(unit_costs(conn, units=sorted(set(small["unit_id"]))))
    past: dict[tuple[str, int], dict[int, int]] = {}
    for part in history:
        for m, u, y, c in part.select("metric", "unit_id", "fiscal_year", "cost").iter_rows():
            past.setdefault((m, u), {})[y] = c
    out = []
    for (metric, y), group in costs.group_by("metric", "fiscal_year", maintain_order=True):
        if year is not None and y != year:
            continue
        by_group: dict[tuple[str | None, str | None], list[int]] = {}
        for level, kind, cost in group.select("level", "kind", "cost").iter_rows():
            by_group.setdefault((level, kind), []).append(cost)
        group_quartiles = {g: quartiles(c) for g, c in by_group.items() if len(c) >= cfg["min_peers"]}
        if flagged_only:  # a peer group's unit is flagged only above its fence and median bar (_compare's test)
            bars = {g: _bars(q, cfg) for g, q in group_quartiles.items()}
            group = group.filter(pl.Series([(lv, k) not in bars or (cost > bars[(lv, k)][0]
                                                                   and cost * 100 >= bars[(lv, k)][1])
                                            for lv, k, cost in group.select("level", "kind", "cost").iter_rows()],
                                           dtype=pl.Boolean))
        for row in group.iter_rows(named=True):
            own = past[(metric, row["unit_id"])]
            history = [own[h] for h in range(y - cfg["history_years"], y) if h in own]
            peers = (row["level"], row["kind"])
            out.append({"metric": metric, "unit_id": row["unit_id"], "fiscal_year": y, "level": row["level"],
                        "kind": row["kind"], "unit_cost_fen": row["cost"], "amount_fen": row["amount"],
                        "count": row["count"],
                        **_compare(row, by_group[peers], history, cfg, group_quartiles.get(peers))})
    return cfg, [r for r in out if r["flagged"]] if flagged_only else out


def _bars(peer_quartiles: tuple[Decimal, Decimal, Decimal], cfg: dict) -> tuple[Decimal, Decimal]:
    """A peer group's fence and its median bar (× 100), as ``_compare`` holds a cost against them."""
    q1, med, q3 = peer_quartiles
    return q3 + Decimal(str(cfg["iqr_k"])) * (q3 - q1), med * (100 + cfg["min_above_median_pct"])


def _redo(conn: Connection, ctx: Context) -> pl.DataFrame | None:
    """After a few units' batches (``ctx.moved``): the ``(category_code, fiscal_year)`` whose flags can change.

    A flag is a unit's cost against its peer group's (metric, year, level, kind) quartiles, or against its
    own previous ``history_years`` costs: entries of a category and year in the batches that came or went
    change that year's peer groups and the next ``history_years`` years' histories, nothing else. A units
    batch may move a unit to another peer group: None, every flag is judged (as with no ``ctx.moved``).
    """
    if ctx.moved is None:
        return None
    b = ImportBatch.__table__
    if not ctx.moved or conn.execute(select(b.c.id).where(b.c.id.in_(ctx.moved), b.c.kind == "units")).first():
        return None
    cats = sorted({m[0] for m in METRICS.values()})
    span = th.get(ctx.config, "unit_cost_outlier", "history_years")
    # a batch's ``actual`` rollups are its entries' (unit, year, category, currency) groups: read through their
    # (batch_id, measure …) key (on expense_entry SQLite walks the category index instead)
    r = Rollup.__table__
    pairs = conn.execute(select(r.c.category_code, r.c.fiscal_year).where(
        r.c.batch_id.in_(ctx.moved), r.c.measure == "actual").distinct()).all()
    return pl.DataFrame(sorted({(c, y + k) for c, y in pairs if c in cats for k in range(span + 1)}),
                        schema={"category_code": pl.String, "fiscal_year": pl.Int64}, orient="row")


@rule("unit_cost_outlier", 3, "中共中央、国务院《党政机关厉行节约反对浪费条例》：严格控制国内差旅、因公临时出国（境）、"
      "公务接待、公务用车、会议等支出；单位成本与同级同类单位比较，阈值见 sunshine.toml [flags.unit_cost_outlier]")
def unit_cost_outlier(conn: Connection, ctx: Context) -> list[FlagDraft]:
    """A unit whose cost per delegation, traveller, vehicle, batch, guest or meeting day is above its fence."""
    keys = _redo(conn, ctx)
    cfg, rows = comparisons(conn, ctx.config, ctx.year, flagged_only=True, keys=keys)
    if keys is not None:
        ctx.redone["unit_cost_outlier"] = keys
    ctx.skipped.extend(skipped_currencies(conn, ctx.year))
    evidence = _evidence(conn, {(c["unit_id"], c["fiscal_year"], METRICS[c["metric"]][0]) for c in rows},
                         few=keys is not None and len(rows) <= 5000) if rows else {}
    out = []
    for c in rows:
        if not c["flagged"]:
            continue
        metric, year = c["metric"], c["fiscal_year"]
        cat, _, zh, en, count_zh, count_en = METRICS[metric]
        code, name = unit_label(ctx, c["unit_id"])
        figures = {k: v for k, v in c.items() if k not in ("unit_id", "fiscal_year", "level", "kind", "flagged")}
        group_zh, group_en = (group_name(c["level"], c["kind"], lang) for lang in ("zh", "en"))
        if figures["basis"] == "peers":
            against_zh = (f"高于同级同类（{group_zh}）{figures['peer_group_size']}个单位的上限"
                          f"{format_yuan(figures['fence_fen'])}元"
                          f"（中位数{format_yuan(figures['peer_median_fen'])}元，Q3+{cfg['iqr_k']}×四分位距）")
            against_en = (f"above the fence of ¥{format_yuan(figures['fence_fen'])} among "
                          f"{figures['peer_group_size']} units of the same level and kind [{group_en}] (median "
                          f"¥{format_yuan(figures['peer_median_fen'])}, Q3 + {cfg['iqr_k']} × IQR)")
        else:
            against_zh = (f"同级同类（{group_zh}）单位不足{cfg['min_peers']}个，"
                          f"按本单位前{figures['history_years']}年中位数"
                          f"{format_yuan(figures['history_median_fen'])}元的{cfg['history_max_pct']}%"
                          f"（{format_yuan(figures['fence_fen'])}元）衡量，超出")
            against_en = (f"fewer than {cfg['min_peers']} peers of the same level and kind [{group_en}], "
                          "so against its own previous "
                          f"{figures['history_years']} years: above {cfg['history_max_pct']}% of their median "
                          f"¥{format_yuan(figures['history_median_fen'])} (¥{format_yuan(figures['fence_fen'])})")
        cost, amount, count = c["unit_cost_fen"], c["amount_fen"], c["count"]
        out.append(FlagDraft(
            rule_code="unit_cost_outlier", subject=(code, str(year), metric), unit_id=c["unit_id"],
            fiscal_year=year, category_code=cat, figures=figures, threshold=cfg,
            message_zh=f"{name} {year}年：{zh}{format_yuan(cost)}元（{format_wan(amount, grouping=False)}"
            f"万元/{count}{count_zh}），{against_zh}",
            message_en=f"{name} {year}: {en} ¥{format_yuan(cost)} (¥{format_yuan(amount)} for "
            f"{count} {count_en}), {against_en}",
            evidence={"batch_ids": evidence.get((c["unit_id"], year, cat), []),
                      "expense_entries": {"unit_code": code, "fiscal_year": year, "category_code": cat,
                                          "counts_stated": METRICS[metric][1]}},
        ))
    return out


def unit_cost_table(conn: Connection, config: dict, *, year: int | None = None, unit_code: str | None = None,
                    metric: str | None = None) -> list[dict]:
    """The unit costs as the public reads them (API ``/api/v1/unit-costs``, ``sunshine unit-costs``, the unit
    page): one row per unit, year and metric, the unit's cost beside its peer group's median and fence,
    with the metric's names, newest year first, then metric and unit code.

    The figures are those ``unit_cost_outlier`` judges (``flagged`` is True exactly where it raises a flag).
    """
    if metric is not None and metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: one of {', '.join(METRICS)}")
    _cfg, rows = comparisons(conn, config, year)
    units = {i: (c, n) for i, c, n in conn.execute(select(Unit.id, Unit.code, Unit.name))}
    out = []
    for r in rows:
        code, name = units.get(r["unit_id"], (str(r["unit_id"]), None))
        if (unit_code is not None and code != unit_code) or (metric is not None and r["metric"] != metric):
            continue
        cat, counted, zh, en, count_zh, count_en = METRICS[r["metric"]]
        out.append({"unit_code": code, "unit_name": name, "fiscal_year": r["fiscal_year"], "metric": r["metric"],
                    "metric_zh": zh, "metric_en": en, "category_code": cat, "counts": counted,
                    "peer_group_zh": group_name(r["level"], r["kind"], "zh"),
                    "peer_group_en": group_name(r["level"], r["kind"], "en"),
                    "count_unit_zh": count_zh, "count_unit_en": count_en,
                    **{k: v for k, v in r.items() if k not in ("unit_id", "fiscal_year", "metric")}})
    order = list(METRICS)
    return sorted(out, key=lambda r: (-r["fiscal_year"], order.index(r["metric"]), r["unit_code"]))
