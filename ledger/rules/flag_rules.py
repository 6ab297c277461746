"""The spending red flags of shared/DOMAIN.md (procurement ones in ``flag_rules_procurement``), each a plain function registered by its stable code.

Candidates are found in SQL over live rows and shaped in polars; only the (few) flags raised are
turned into sentences one by one. Thresholds come from ``ctx.config`` (``sunshine.toml``).
Money in figures is integer fen; percentages are strings with the stated decimals.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import BigInteger, Connection, and_, cast, func, select

from ledger.i18n import both
from ledger.money import format_wan, format_yuan
from ledger.rules import thresholds as th
from ledger.rules.registry import Context, FlagDraft, frame, pct, rule, unit_label
from ledger.rules.sums import live_rollups, resolved_sums
from ledger.store.batches import live
from ledger.store.models import (
    DuplicateCandidate,
    ExpenseEntry,
    PolicyTarget,
    ReceptionPersonsRollup,
    Rollup,
    TargetResult,
)

SEED_000 = "湖南常德:大力开展创建“人民满意政府”活动（2009）"


@rule("budget_overrun", 1, "《中华人民共和国预算法》：各部门、各单位的支出必须以经批准的预算为依据；"
      + SEED_000 + "：推行“四费公开”，对严重超标的严肃查处")
def budget_overrun(conn: Connection, ctx: Context) -> list[FlagDraft]:
    """Actual above budget for a unit, year and category (adjusted budget when loaded, else original)."""
    min_fen = th.yuan(ctx.config, "budget_overrun", "min_excess_yuan")
    min_h = th.pct_hundredths(ctx.config, "budget_overrun", "min_excess_pct")
    # one figure per unit, year, category and stage (published before derived; each unit-year resolves on
    # its own, so the run's resolved figures filtered to a year are that year's); a node both of whose
    # sides are only sums of its children repeats its children's flags, so it raises none of its own
    rows = ctx.resolved if ctx.resolved is not None else resolved_sums(
        conn, ctx.rollups if ctx.rollups is not None else live_rollups(conn))
    if ctx.year is not None:
        rows = rows.filter(pl.col("fiscal_year") == ctx.year)
    rows = rows.filter(pl.col("amount").is_not_null())
    keys = ["unit_id", "fiscal_year", "category_code"]
    both_summed = rows.group_by(*keys).agg((pl.col("source") == "children").all().alias("summed"))
    rows = rows.join(both_summed.filter(~pl.col("summed")), on=keys, how="semi")
    sums = rows.group_by(*keys).agg(
        actual=pl.col("amount").filter(pl.col("measure") == "actual").sum(),
        has_actual=(pl.col("measure") == "actual").any(),
        original=pl.col("amount").filter(pl.col("measure") == "budget_original").sum(),
        has_original=(pl.col("measure") == "budget_original").any(),
        adjusted=pl.col("amount").filter(pl.col("measure") == "budget_adjusted").sum(),
        has_adjusted=(pl.col("measure") == "budget_adjusted").any(),
        batch_ids=pl.col("batch_ids").explode().unique().sort(),
    ).with_columns(
        budget=pl.when(pl.col("has_adjusted")).then(pl.col("adjusted"))
        .when(pl.col("has_original")).then(pl.col("original")).otherwise(None),
        stage=pl.when(pl.col("has_adjusted")).then(pl.lit("adjusted"))
        .when(pl.col("has_original")).then(pl.lit("original")).otherwise(None),
    ).with_columns(excess=pl.col("actual") - pl.col("budget"))
    hits = sums.filter(
        pl.col("has_actual") & pl.col("budget").is_not_null() & (pl.col("excess") > 0) & (pl.col("excess") > min_fen)
        & (pl.col("excess") * 10000 > pl.col("budget") * min_h)
    ).sort(keys)
    out = []
    for h in hits.iter_rows(named=True):
        code, name = unit_label(ctx, h["unit_id"])
        zh, en = ctx.categories.get(h["category_code"], (h["category_code"], h["category_code"]))
        p = pct(h["excess"], h["budget"])
        budget_zh, budget_en = both("measure.budget_adjusted" if h["stage"] == "adjusted" else "measure.budget_original")
        out.append(FlagDraft(
            rule_code="budget_overrun", subject=(code, str(h["fiscal_year"]), h["category_code"]),
            unit_id=h["unit_id"], fiscal_year=h["fiscal_year"], category_code=h["category_code"],
            figures={"actual_fen": h["actual"], "budget_fen": h["budget"], "budget_stage": h["stage"],
                     "excess_fen": h["excess"], "excess_pct": p},
            threshold={"min_excess_yuan": ctx.config["budget_overrun"]["min_excess_yuan"],
                       "min_excess_pct": ctx.config["budget_overrun"]["min_excess_pct"]},
            message_zh=f"{name} {h['fiscal_year']}年：{zh}决算数{format_wan(h['actual'], grouping=False)}万元，"
            f"超出{budget_zh}{format_wan(h['excess'], grouping=False)}万元"
            f"（{p + '%' if p is not None else budget_zh + '为零'}）",
            message_en=f"{name} {h['fiscal_year']}: {en} actual ¥{format_yuan(h['actual'])} exceeds the "
            f"{budget_en} of ¥{format_yuan(h['budget'])} by "
            f"¥{format_yuan(h['excess'])} ({p + '%' if p is not None else 'the budget is zero'})",
            evidence={"batch_ids": h["batch_ids"], "rollup": {"unit_code": code, "fiscal_year": h["fiscal_year"],
                                                              "category_code": h["category_code"]}},
        ))
    return out


@rule("target_missed", 1, "the policy document named by the target (policies/*.toml)")
def target_missed(conn: Connection, ctx: Context) -> list[FlagDraft]:
    """A target result of this run with status ``missed``."""
    r, t = TargetResult.__table__, PolicyTarget.__table__
    rows = conn.execute(
        select(r.c.id, r.c.target_id, r.c.unit_id, r.c.fiscal_year, r.c.baseline_fen, r.c.cap_fen, r.c.value_fen,
               r.c.excess_fen, r.c.excess_pct, r.c.detail_json, t.c.title, t.c.source_document, t.c.measure,
               t.c.category_code, t.c.group_code, t.c.change_pct, t.c.baseline)
        .join(t, t.c.id == r.c.target_id)
        .where(r.c.run_id == ctx.run_id, r.c.status == "missed").order_by(r.c.target_id, r.c.unit_id, r.c.fiscal_year)
    ).mappings().all()
    if not rows:
        return []
    batches = _batches_by_unit_year(conn)
    out = []
    for m in rows:
        code, name = unit_label(ctx, m["unit_id"])
        detail = json.loads(m["detail_json"])
        years = [m["fiscal_year"], *detail.get("baseline_years", [])]
        if m["measure"] == "consumption":
            u = detail["unit"]

            def show(v, u=u):
                return f"{Decimal(v).scaleb(-3).normalize():f} {u}"
        else:
            def show(v):
                return f"{format_wan(v, grouping=False)}万元"
        p = None if m["excess_pct"] is None else str(Decimal(str(m["excess_pct"])).quantize(Decimal("0.1"), ROUND_HALF_UP))
        change = Decimal(str(m["change_pct"])).normalize()
        # each figure formatted once for both sentences (tens of thousands of flags at national scale)
        value, cap, base, excess = (show(m[k]) for k in ("value_fen", "cap_fen", "baseline_fen", "excess_fen"))
        # name the measure compared (决算数 / 预算数 / 用量) and the baseline years, so a budget target never reads
        # as actual spending
        measure_zh, measure_en = both(f"measure.{m['measure']}")
        by = detail.get("baseline_years", [])
        span = f"{by[0]}" if len(by) == 1 else f"{min(by)}–{max(by)}" if by else ""
        base_years_zh = f"{span}年{'平均' if len(by) > 1 else ''}" if span else ""
        base_years_en = f"{'mean of ' if len(by) > 1 else ''}{span} " if span else ""
        out.append(FlagDraft(
            rule_code="target_missed", subject=(m["target_id"], code, str(m["fiscal_year"])),
            unit_id=m["unit_id"], fiscal_year=m["fiscal_year"], category_code=m["category_code"],
            figures={"value": m["value_fen"], "cap": m["cap_fen"], "baseline": m["baseline_fen"],
                     "excess": m["excess_fen"], "excess_pct": p, "measure_unit": detail["unit"],
                     "baseline_years": detail.get("baseline_years", [])},
            threshold={"target_id": m["target_id"], "baseline": m["baseline"], "change_pct": f"{change:f}"},
            policy_ref=f"{m['source_document']}：{m['title']}",
            message_zh=f"{name} {m['fiscal_year']}年：未完成“{m['title']}”，{measure_zh}{value}，"
            f"上限{cap}（基数：{base_years_zh}{measure_zh}{base}，{change:f}%），"
            f"超出{excess}{'（' + p + '%）' if p is not None else '（基数为零）'}",
            message_en=f"{name} {m['fiscal_year']}: target {m['target_id']} missed: {measure_en} "
            f"{value} above the cap {cap} (baseline: {measure_en} {base_years_en}{base}, "
            f"{change:f}%) by {excess}"
            f"{' (' + p + '%)' if p is not None else ' (zero baseline)'}",
            evidence={"target_result_id": m["id"], "run_id": ctx.run_id,
                      "batch_ids": sorted({b for y in years for b in batches.get((m["unit_id"], y), ())})},
        ))
    return out


def _batches_by_unit_year(conn: Connection) -> dict[tuple[int, int], set[int]]:
    """Live batches holding any row of a unit and year (money or consumption)."""
    from ledger.store.models import ConsumptionLine

    out: dict[tuple[int, int], set[int]] = {}
    for tbl in (Rollup.__table__, ConsumptionLine.__table__):
        for b, u, y in conn.execute(
            select(tbl.c.batch_id, tbl.c.unit_id, tbl.c.fiscal_year).where(live(tbl.c.batch_id)).distinct()
        ):
            out.setdefault((u, y), set()).add(b)
    return out


@rule("duplicate_payment", 1, SEED_000 + "：推行“四费公开”，对开支不规范的予以曝光")
def duplicate_payment(conn: Connection, ctx: Context) -> list[FlagDraft]:
    """The same unit paying the same payee the same amount on the same date more than once."""
    min_fen = th.yuan(ctx.config, "duplicate_payment", "min_amount_yuan")
    # candidate keys recorded per batch at publish (ledger.store.derived.flag_basis), then re-counted over live entries
    d = DuplicateCandidate.__table__
    cand = select(d.c.unit_id, d.c.payee, d.c.amount_fen, d.c.entry_date).where(
        live(d.c.batch_id), d.c.amount_fen >= min_fen).distinct().subquery()
    e = ExpenseEntry.__table__
    cond = [live(e.c.batch_id), e.c.payee.is_not(None), e.c.entry_date.is_not(None), e.c.amount_fen >= min_fen]
    if ctx.year is not None:
        cond.append(e.c.fiscal_year == ctx.year)
    key = [e.c.unit_id, e.c.payee, e.c.amount_fen, e.c.entry_date]
    rows = conn.execute(
        select(e.c.id, e.c.batch_id, e.c.unit_id, e.c.fiscal_year, e.c.category_code, e.c.payee, e.c.amount_fen,
               e.c.entry_date, e.c.voucher_no)
        .join(cand, and_(*(c == cand.c[c.name] for c in key))).where(*cond)
        .order_by(e.c.unit_id, e.c.entry_date, e.c.payee, e.c.amount_fen, e.c.id)
    ).all()
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.unit_id, row.payee, row.amount_fen, row.entry_date), []).append(row)
    groups = {k: rs for k, rs in groups.items() if len(rs) > 1}
    out = []
    for (unit_id, payee, amount, date), rs in groups.items():
        code, name = unit_label(ctx, unit_id)
        zh, en = ctx.categories.get(rs[0].category_code, (rs[0].category_code, rs[0].category_code))
        out.append(FlagDraft(
            rule_code="duplicate_payment", subject=(code, payee, str(amount), str(date)), unit_id=unit_id,
            fiscal_year=rs[0].fiscal_year, category_code=rs[0].category_code,
            figures={"payee": payee, "amount_fen": amount, "date": str(date), "times": len(rs),
                     "total_fen": amount * len(rs), "voucher_nos": [r.voucher_no for r in rs]},
            threshold={"min_amount_yuan": ctx.config["duplicate_payment"]["min_amount_yuan"]},
            message_zh=f"{name} {date}向“{payee}”支付{format_yuan(amount)}元共{len(rs)}次（{zh}），疑似重复支付",
            message_en=f"{name} paid \"{payee}\" ¥{format_yuan(amount)} {len(rs)} times on {date} ({en}): "
            "possible duplicate payment",
            evidence={"batch_ids": sorted({r.batch_id for r in rs}), "expense_entry_ids": [r.id for r in rs]},
        ))
    return out


@rule("per_capita_excess", 1, SEED_000 + "：公务接待经费实际支出压减20%以上；对严重超标的严肃查处；"
      "公务接待标准见 sunshine.toml [flags.per_capita_excess]")
def per_capita_excess(conn: Connection, ctx: Context) -> list[FlagDraft]:
    """A unit-year whose reception spending per person (人次) is above the local standard.

    Only reception entries that state their persons count: their amounts over their persons.
    """
    std = th.yuan(ctx.config, "per_capita_excess", "reception_yuan_per_person")
    # per-batch sums kept at publish (ledger.store.derived.flag_basis): no pass over entries
    p = ReceptionPersonsRollup.__table__
    cond = [live(p.c.batch_id)]
    if ctx.year is not None:
        cond.append(p.c.fiscal_year == ctx.year)
    q = (
        select(p.c.unit_id, p.c.fiscal_year, cast(func.sum(p.c.amount_fen), BigInteger),
               cast(func.sum(p.c.persons), BigInteger), cast(func.sum(p.c.row_count), BigInteger))
        .where(*cond).group_by(p.c.unit_id, p.c.fiscal_year)
    )
    df = frame(conn, q, {"unit_id": pl.Int64, "fiscal_year": pl.Int64, "amount": pl.Int64, "persons": pl.Int64,
                          "entries": pl.Int64})
    # the batches behind a unit-year's reception figures, from the rollups (no second pass over entries)
    r = Rollup.__table__
    rq = select(r.c.unit_id, r.c.fiscal_year, r.c.batch_id).where(
        live(r.c.batch_id), r.c.measure == "actual", r.c.category_code == "reception").distinct()
    owners = frame(conn, rq, {"unit_id": pl.Int64, "fiscal_year": pl.Int64, "batch_id": pl.Int64}).group_by(
        "unit_id", "fiscal_year").agg(batch_ids=pl.col("batch_id").sort())
    df = df.join(owners, on=["unit_id", "fiscal_year"], how="left")
    hits = df.filter(pl.col("amount") > pl.col("persons") * std).sort("unit_id", "fiscal_year")
    out = []
    for h in hits.iter_rows(named=True):
        code, name = unit_label(ctx, h["unit_id"])
        per = int((Decimal(h["amount"]) / h["persons"]).quantize(Decimal(1), ROUND_HALF_UP))
        out.append(FlagDraft(
            rule_code="per_capita_excess", subject=(code, str(h["fiscal_year"]), "reception"), unit_id=h["unit_id"],
            fiscal_year=h["fiscal_year"], category_code="reception",
            figures={"amount_fen": h["amount"], "persons": h["persons"], "per_person_fen": per,
                     "standard_fen": std, "excess_per_person_fen": per - std, "entries": h["entries"]},
            threshold={"reception_yuan_per_person": ctx.config["per_capita_excess"]["reception_yuan_per_person"]},
            message_zh=f"{name} {h['fiscal_year']}年：公务接待费{format_wan(h['amount'], grouping=False)}万元、"
            f"接待{h['persons']}人次，人均{format_yuan(per)}元，超过标准{format_yuan(std)}元/人次",
            message_en=f"{name} {h['fiscal_year']}: official reception ¥{format_yuan(h['amount'])} for "
            f"{h['persons']} persons, ¥{format_yuan(per)} per person, above the standard of ¥{format_yuan(std)}",
            evidence={"batch_ids": h["batch_ids"],
                      "expense_entries": {"unit_code": code, "fiscal_year": h["fiscal_year"], "category_code": "reception",
                                          "persons_stated": True}},
        ))
    return out
