"""The spending red flags of shared/DOMAIN.md (procurement ones in ``flag_rules_procurement``), each a plain function registered by its stable code.

Candidates are found in SQL over live rows and shaped in polars; only the (few) flags raised are
turned into sentences one by one. Thresholds come from ``ctx.config`` (``sunshine.toml``).
Money in figures is integer fen; percentages are strings with the stated decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import BigInteger, Connection, and_, cast, func, select

from ledger.i18n import both
from ledger.money import format_amount_expr, format_wan, format_yuan
from ledger.rules import thresholds as th
from ledger.rules.registry import (
    FLAG_COLUMNS,
    Context,
    FlagDraft,
    flag_frame,
    frame,
    j_const,
    j_list,
    j_num,
    j_obj,
    j_str,
    pct_expr,
    rule,
    unit_label,
    with_labels,
)
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
      + SEED_000 + "：推行“四费公开”，对严重超标的严肃查处", by_unit=True)
def budget_overrun(conn: Connection, ctx: Context) -> pl.DataFrame:
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
    # every flag's sentences and JSON built column-wise (hundreds of thousands at national scale)
    hits = with_labels(hits, ctx, category="category_code").with_columns(p=pct_expr(pl.col("excess"), pl.col("budget")))
    (adj_zh, adj_en), (orig_zh, orig_en) = both("measure.budget_adjusted"), both("measure.budget_original")
    adjusted = pl.col("stage") == "adjusted"
    budget_zh = pl.when(adjusted).then(pl.lit(adj_zh)).otherwise(pl.lit(orig_zh))
    budget_en = pl.when(adjusted).then(pl.lit(adj_en)).otherwise(pl.lit(orig_en))
    p, fy = pl.col("p"), pl.col("fiscal_year").cast(pl.String)

    def wan(c):
        return format_amount_expr(pl.col(c), "wan", 2, grouping=False)

    def yuan(c):
        return format_amount_expr(pl.col(c), "yuan")

    return flag_frame(
        hits, "budget_overrun", [pl.col("code"), fy, pl.col("category_code")],
        unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"), category_code=pl.col("category_code"),
        figures_json=j_obj(actual_fen=j_num(pl.col("actual")), budget_fen=j_num(pl.col("budget")),
                           budget_stage=j_str(pl.col("stage")), excess_fen=j_num(pl.col("excess")),
                           excess_pct=j_str(p)),
        threshold_json=j_const({"min_excess_yuan": ctx.config["budget_overrun"]["min_excess_yuan"],
                                "min_excess_pct": ctx.config["budget_overrun"]["min_excess_pct"]}),
        message_zh=pl.concat_str(pl.col("name"), pl.lit(" "), fy, pl.lit("年："), pl.col("cat_zh"), pl.lit("决算数"),
                                 wan("actual"), pl.lit("万元，超出"), budget_zh, wan("excess"), pl.lit("万元（"),
                                 pl.coalesce(p + "%", budget_zh + "为零"), pl.lit("）")),
        message_en=pl.concat_str(pl.col("name"), pl.lit(" "), fy, pl.lit(": "), pl.col("cat_en"), pl.lit(" actual ¥"),
                                 yuan("actual"), pl.lit(" exceeds the "), budget_en, pl.lit(" of ¥"), yuan("budget"),
                                 pl.lit(" by ¥"), yuan("excess"), pl.lit(" ("),
                                 pl.coalesce(p + "%", pl.lit("the budget is zero")), pl.lit(")")),
        evidence_json=j_obj(batch_ids=j_list(pl.col("batch_ids")), rollup=j_obj(
            unit_code=j_str(pl.col("code")), fiscal_year=j_num(pl.col("fiscal_year")),
            category_code=j_str(pl.col("category_code")))),
    )


@rule("target_missed", 1, "the policy document named by the target (policies/*.toml)", by_unit=True)
def target_missed(conn: Connection, ctx: Context) -> pl.DataFrame:
    """A target result of this run with status ``missed`` (built column-wise: one flag per miss)."""
    r = TargetResult.__table__
    q = select(
        r.c.id, r.c.target_id, r.c.unit_id, r.c.fiscal_year, r.c.baseline_fen, r.c.cap_fen, r.c.value_fen,
        r.c.excess_fen, cast(func.round(r.c.excess_pct * 100), BigInteger), r.c.detail_json,
    ).where(r.c.run_id == ctx.run_id, r.c.status == "missed")
    rows = frame(conn, q if ctx.only is None else q.where(r.c.unit_id.in_(ctx.only)), {
        "rid": pl.Int64, "target_id": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "baseline_fen": pl.Int64,
        "cap_fen": pl.Int64, "value_fen": pl.Int64, "excess_fen": pl.Int64, "h": pl.Int64, "detail_json": pl.String})
    if not rows.height:
        return pl.DataFrame(schema=FLAG_COLUMNS)
    rows = rows.join(_target_texts(conn), on="target_id", how="left").with_columns(
        pl.col("detail_json").str.json_decode(pl.Struct({"baseline_years": pl.List(pl.Int64), "unit": pl.String}))
        .alias("detail")).unnest("detail").with_columns(pl.col("baseline_years").fill_null([]))
    rows = with_labels(rows, ctx).join(_batches(conn, rows), on="rid", how="left")
    h = pl.col("h")
    tenths = (h.abs() * 2 + 10) // 20  # hundredths of a percent to tenths, half up (as Decimal quantize)
    p = pl.when(h.is_null()).then(None).otherwise(pl.concat_str(
        pl.when(h < 0).then(pl.lit("-")).otherwise(pl.lit("")), (tenths // 10).cast(pl.String), pl.lit("."),
        (tenths % 10).cast(pl.String)))
    by = pl.col("baseline_years")
    span = pl.when(by.list.len() == 1).then(by.list.first().cast(pl.String)).when(by.list.len() > 1).then(
        pl.concat_str(by.list.min().cast(pl.String), pl.lit("–"), by.list.max().cast(pl.String))).otherwise(pl.lit(""))
    several = by.list.len() > 1
    rows = rows.with_columns(p=p, span=span).with_columns(
        base_zh=pl.when(pl.col("span") == "").then(pl.lit("")).otherwise(
            pl.col("span") + "年" + pl.when(several).then(pl.lit("平均")).otherwise(pl.lit(""))),
        base_en=pl.when(pl.col("span") == "").then(pl.lit("")).otherwise(
            pl.when(several).then(pl.lit("mean of ")).otherwise(pl.lit("")) + pl.col("span") + " "),
        **{f"s_{k}": _show(pl.col(f"{k}_fen"), pl.col("measure"), pl.col("unit"))
           for k in ("value", "cap", "baseline", "excess")})
    fy, p, mzh, men = pl.col("fiscal_year").cast(pl.String), pl.col("p"), pl.col("measure_zh"), pl.col("measure_en")
    return flag_frame(
        rows, "target_missed", [pl.col("target_id"), pl.col("code"), fy],
        unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"), category_code=pl.col("category_code"),
        figures_json=j_obj(value=j_num(pl.col("value_fen")), cap=j_num(pl.col("cap_fen")),
                           baseline=j_num(pl.col("baseline_fen")), excess=j_num(pl.col("excess_fen")), excess_pct=j_str(p),
                           measure_unit=j_str(pl.col("unit")), baseline_years=j_list(by)),
        threshold_json=j_obj(target_id=j_str(pl.col("target_id")), baseline=j_str(pl.col("baseline")),
                             change_pct=j_str(pl.col("change"))),
        policy_ref=pl.col("policy_ref"),
        message_zh=pl.concat_str(
            pl.col("name"), pl.lit(" "), fy, pl.lit("年：未完成“"), pl.col("title"), pl.lit("”，"), mzh, pl.col("s_value"),
            pl.lit("，上限"), pl.col("s_cap"), pl.lit("（基数："), pl.col("base_zh"), mzh, pl.col("s_baseline"), pl.lit("，"),
            pl.col("change"), pl.lit("%），超出"), pl.col("s_excess"), pl.coalesce("（" + p + "%）", pl.lit("（基数为零）"))),
        message_en=pl.concat_str(
            pl.col("name"), pl.lit(" "), fy, pl.lit(": target "), pl.col("target_id"), pl.lit(" missed: "), men, pl.lit(" "),
            pl.col("s_value"), pl.lit(" above the cap "), pl.col("s_cap"), pl.lit(" (baseline: "), men, pl.lit(" "),
            pl.col("base_en"), pl.col("s_baseline"), pl.lit(", "), pl.col("change"), pl.lit("%) by "), pl.col("s_excess"),
            pl.coalesce(" (" + p + "%)", pl.lit(" (zero baseline)"))),
        evidence_json=j_obj(target_result_id=j_num(pl.col("rid")), run_id=j_const(ctx.run_id),
                            batch_ids=j_list(pl.col("batch_ids"))),
    )


def _target_texts(conn: Connection) -> pl.DataFrame:
    """Per target: title, category, policy reference, the change as written and the measure's names."""
    t = PolicyTarget.__table__
    out = []
    for m in conn.execute(select(t.c.id, t.c.title, t.c.source_document, t.c.measure, t.c.category_code,
                                 t.c.change_pct, t.c.baseline)).mappings():
        zh, en = both(f"measure.{m['measure']}")
        change = Decimal(str(m["change_pct"])).normalize()
        out.append((m["id"], m["title"], m["measure"], m["category_code"], m["baseline"], f"{change:f}",
                    f"{m['source_document']}：{m['title']}", zh, en))
    return pl.DataFrame(out, orient="row", schema={
        "target_id": pl.String, "title": pl.String, "measure": pl.String, "category_code": pl.String,
        "baseline": pl.String, "change": pl.String, "policy_ref": pl.String, "measure_zh": pl.String,
        "measure_en": pl.String})


def _show(v: pl.Expr, measure: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """A figure as the sentences show it: 万元 for money, the resource's unit (thousandths, trailing zeros
    dropped as ``Decimal.normalize``) for consumption."""
    frac = (v.abs() % 1000).cast(pl.String).str.zfill(3).str.strip_chars_end("0")
    use = pl.concat_str(pl.when(v < 0).then(pl.lit("-")).otherwise(pl.lit("")), (v.abs() // 1000).cast(pl.String),
                        pl.when(frac == "").then(pl.lit("")).otherwise("." + frac), pl.lit(" "), unit)
    money = format_amount_expr(v, "wan", 2, grouping=False).fill_null("") + "万元"
    return pl.when(measure == "consumption").then(use).otherwise(money)


def _batches(conn: Connection, rows: pl.DataFrame) -> pl.DataFrame:
    """``(rid, batch_ids)``: the live batches holding any row (money or consumption) of the result's unit in
    its year or a baseline year."""
    from ledger.store.models import ConsumptionLine

    parts = [frame(conn, select(tbl.c.batch_id, tbl.c.unit_id, tbl.c.fiscal_year).where(live(tbl.c.batch_id)).distinct(),
                   {"batch_id": pl.Int64, "unit_id": pl.Int64, "fiscal_year": pl.Int64})
             for tbl in (Rollup.__table__, ConsumptionLine.__table__)]
    years = rows.select("rid", "unit_id", pl.concat_list(pl.col("fiscal_year"), pl.col("baseline_years")).alias("y"))
    return (years.explode("y").join(pl.concat(parts).unique(), left_on=["unit_id", "y"],
                                    right_on=["unit_id", "fiscal_year"], how="left")
            .group_by("rid").agg(batch_ids=pl.col("batch_id").drop_nulls().unique().sort()))


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
