"""The procurement red flags: over budget, single source, split purchases, supplier concentration.

Records are read once per rule from live batches into polars; windows and shares are computed there.
Thresholds come from ``ctx.config`` (``sunshine.toml``); a subject names unit, record or supplier so
a re-run finds the same flag.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, func, select

from ledger.money import format_amount_expr, format_wan, format_yuan
from ledger.rules import thresholds as th
from ledger.rules.registry import (
    FLAG_COLUMNS,
    Context,
    flag_frame,
    frame,
    j_const,
    j_list,
    j_num,
    j_obj,
    j_str,
    pct_expr,
    per_currency,
    rule,
    with_labels,
)
from ledger.store.batches import live_procurement
from ledger.store.models import ProcurementRecord

METHODS_ZH = {
    "open_tender": "公开招标", "invited_tender": "邀请招标", "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商", "single_source": "单一来源", "rfq": "询价", "other": "其他",
}
PROCUREMENT_LAW = "《中华人民共和国政府采购法》"
READS = ("procurement", "ocds")  # procurement records come from these batches only


def records(conn: Connection, ctx: Context, year: int | None, currency: str | None = "CNY") -> pl.DataFrame:
    """``procurement_frame`` of every year and currency read once per run (``ctx.frames``), then filtered."""
    if "procurement" not in ctx.frames:
        ctx.frames["procurement"] = procurement_frame(conn, None, None).sort("id")
    df = ctx.frames["procurement"]
    if currency is not None:
        df = df.filter(pl.col("currency") == currency)
    return df if year is None else df.filter(pl.col("fiscal_year") == year)


def procurement_frame(conn: Connection, year: int | None, currency: str | None = "CNY") -> pl.DataFrame:
    """Counted procurement records (one per contracting process) with the columns the rules read.

    ``currency`` None reads every currency: only rules that compare amounts of one record may.
    """
    p = ProcurementRecord.__table__
    q = select(
        p.c.id, p.c.batch_id, p.c.unit_id, p.c.fiscal_year, p.c.project_code, p.c.ocid, p.c.title, p.c.method,
        p.c.budget_fen, p.c.contract_fen, p.c.supplier_name, p.c.supplier_id,
        func.coalesce(p.c.contract_date, p.c.award_date, p.c.tender_date).label("date"), p.c.currency,
    ).where(live_procurement(p))
    if currency is not None:
        q = q.where(p.c.currency == currency)
    if year is not None:
        q = q.where(p.c.fiscal_year == year)
    schema = {"id": pl.Int64, "batch_id": pl.Int64, "unit_id": pl.Int64, "fiscal_year": pl.Int64,
              "project_code": pl.String, "ocid": pl.String, "title": pl.String, "method": pl.String,
              "budget": pl.Int64, "contract": pl.Int64, "supplier_name": pl.String, "supplier_id": pl.String,
              "date": pl.Date, "currency": pl.String}
    df = frame(conn, q, schema)
    return df.with_columns(
        record_key=pl.coalesce("project_code", "ocid", pl.concat_str(
            [pl.lit("row"), pl.col("title").fill_null(""), pl.col("supplier_name").fill_null(""),
             pl.col("date").cast(pl.String).fill_null("")], separator=":")),
        supplier=pl.coalesce("supplier_id", "supplier_name"),
    )


@rule("procurement_over_budget", 1, PROCUREMENT_LAW + "：采购人应按照批准的预算执行采购", READS)
def procurement_over_budget(conn: Connection, ctx: Context) -> pl.DataFrame:
    """A procurement record whose contract amount is above its budget amount (plus the tolerance)."""
    tol = th.pct_hundredths(ctx.config, "procurement_over_budget", "tolerance_pct")
    # one record's two amounts are in one currency: this rule reads every currency
    df = records(conn, ctx, ctx.year, currency=None).filter(
        pl.col("budget").is_not_null() & pl.col("contract").is_not_null()
        & (pl.col("contract") * 10000 > pl.col("budget") * (10000 + tol))
    ).sort("unit_id", "fiscal_year", "record_key")
    df = with_labels(df, ctx).with_columns(excess=pl.col("contract") - pl.col("budget")).with_columns(
        p=pct_expr(pl.col("excess"), pl.col("budget")),
        title=pl.when(pl.col("title").fill_null("") == "").then(pl.col("record_key")).otherwise(pl.col("title")))
    cny, cur, p = pl.col("currency") == "CNY", pl.col("currency").fill_null("None"), pl.col("p")
    fy = pl.col("fiscal_year").cast(pl.String)

    def zh(c):
        return pl.when(cny).then(format_amount_expr(pl.col(c), "wan", 2, grouping=False) + "万元").otherwise(
            format_amount_expr(pl.col(c), "yuan") + " " + cur)

    def en(c):
        return pl.when(cny).then("¥" + format_amount_expr(pl.col(c), "yuan")).otherwise(
            cur + " " + format_amount_expr(pl.col(c), "yuan"))

    figures = {"contract_fen": j_num(pl.col("contract")), "budget_fen": j_num(pl.col("budget")),
               "excess_fen": j_num(pl.col("excess")), "excess_pct": j_str(p)}
    return flag_frame(
        df, "procurement_over_budget", [pl.col("code"), pl.col("record_key")],
        unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"),
        figures_json=pl.when(cny).then(j_obj(**figures)).otherwise(j_obj(**figures, currency=j_str(pl.col("currency")))),
        threshold_json=j_const({"tolerance_pct": ctx.config["procurement_over_budget"]["tolerance_pct"]}),
        message_zh=pl.concat_str(pl.col("name"), pl.lit(" "), pl.coalesce(fy + "年", pl.lit("（年度未知）")),
                                 pl.lit("：采购项目“"), pl.col("title"), pl.lit("”合同金额"), zh("contract"),
                                 pl.lit("，超出预算"), zh("excess"), pl.lit("（"), pl.coalesce(p + "%", pl.lit("预算为零")),
                                 pl.lit("）")),
        message_en=pl.concat_str(pl.col("name"), pl.lit(" "), pl.coalesce(fy, pl.lit("(year unknown)")),
                                 pl.lit(': procurement "'), pl.col("title"), pl.lit('" contract '), en("contract"),
                                 pl.lit(" exceeds its budget of "), en("budget"), pl.lit(" by "), en("excess"),
                                 pl.lit(" ("), pl.coalesce(p + "%", pl.lit("the budget is zero")), pl.lit(")")),
        evidence_json=j_obj(batch_ids=j_list(pl.concat_list("batch_id")), procurement_record_ids=j_list(pl.concat_list("id"))),
    )


def _zh(fen: int, currency: str) -> str:
    return f"{format_wan(fen, grouping=False)}万元" if currency == "CNY" else f"{format_yuan(fen)} {currency}"


def _en(fen: int, currency: str) -> str:
    return f"¥{format_yuan(fen)}" if currency == "CNY" else f"{currency} {format_yuan(fen)}"


def _zh_expr(e: pl.Expr, currency: str) -> pl.Expr:
    """``_zh`` over a column of fen."""
    if currency == "CNY":
        return format_amount_expr(e, "wan", 2, grouping=False) + "万元"
    return format_amount_expr(e, "yuan") + f" {currency}"


def _en_expr(e: pl.Expr, currency: str) -> pl.Expr:
    """``_en`` over a column of fen."""
    return ("¥" if currency == "CNY" else f"{currency} ") + format_amount_expr(e, "yuan")


def _year_expr(e: pl.Expr, lang: str) -> pl.Expr:
    """``2009年`` / ``2009``, or the words for an unknown year, as the sentences have always said."""
    fy = e.cast(pl.String)
    return pl.coalesce(fy + "年", pl.lit("（年度未知）")) if lang == "zh" else pl.coalesce(fy, pl.lit("(year unknown)"))


def _subject(cur: str, *parts: pl.Expr) -> list[pl.Expr]:
    """A flag's subject: CNY keeps the subject it always had (same id); another currency is named in it."""
    return [*parts] if cur == "CNY" else [*parts, pl.lit(cur)]


def _figures(cur: str, **fields: pl.Expr) -> pl.Expr:
    return j_obj(**fields) if cur == "CNY" else j_obj(**fields, currency=j_str(pl.lit(cur)))


def _threshold(cfg: dict, currency: str, key: str) -> dict:
    """A 元 threshold ``key`` as a flag states it: ``{key: value}`` for CNY; for another currency the
    currency and its own figure (``max_award_yuan`` → ``[flags.<rule>.currency.EUR] max_award``)."""
    if currency == "CNY":
        return {key: cfg[key]}
    name = key.removesuffix("_yuan")
    return {"currency": currency, name: cfg["currency"][currency][name]}


def _flags(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([pl.DataFrame(schema=FLAG_COLUMNS), *frames])


_NAME, _CODE = pl.col("name"), pl.col("code")


@rule("single_source", 2, PROCUREMENT_LAW + "：单一来源采购仅限法定情形；公开招标应作为政府采购的主要采购方式", READS)
def single_source(conn: Connection, ctx: Context) -> pl.DataFrame:
    """A single-source award above the value threshold, or a unit-year whose single-source share is above the limit.

    Per currency: amounts are held against that currency's thresholds (``[flags.single_source.currency.X]``);
    a currency without them is skipped with its reason, never compared with a 元 threshold.
    """
    cfg = th.section(ctx.config, "single_source")
    limits = th.amounts_by_currency(ctx.config, "single_source",
                                    {"max_award_yuan": "max_award", "min_unit_total_yuan": "min_unit_total"})
    max_share = th.pct_hundredths(ctx.config, "single_source", "max_share_pct")
    all_rows = records(conn, ctx, ctx.year, currency=None).filter(pl.col("contract").is_not_null())
    ss = pl.col("method") == "single_source"
    title = pl.when(pl.col("title").fill_null("") == "").then(pl.col("record_key")).otherwise(pl.col("title"))
    supplier = pl.col("supplier_name").fill_null("")
    out = []
    for cur, df, lim in per_currency(ctx, "single_source", all_rows, limits):
        max_award, min_total = lim["max_award_yuan"], lim["min_unit_total_yuan"]
        awards = with_labels(df.filter(ss & (pl.col("contract") > max_award))
                             .sort("unit_id", "fiscal_year", "record_key"), ctx)
        out.append(flag_frame(
            awards, "single_source", _subject(cur, _CODE, pl.lit("award"), pl.col("record_key")),
            unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"),
            figures_json=_figures(cur, kind=pl.lit('"award"'), contract_fen=j_num(pl.col("contract")),
                                  supplier=j_str(pl.col("supplier_name"))),
            threshold_json=j_const(_threshold(cfg, cur, "max_award_yuan")),
            message_zh=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "zh"), pl.lit("：采购项目“"), title,
                pl.lit("”以单一来源方式授予"), pl.when(supplier == "").then(pl.lit("供应商")).otherwise(supplier),
                pl.lit("，合同金额"), _zh_expr(pl.col("contract"), cur), pl.lit(f"，超过{_zh(max_award, cur)}")),
            message_en=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "en"), pl.lit(': "'), title,
                pl.lit('" awarded single-source to '), pl.when(supplier == "").then(pl.lit("a supplier")).otherwise(supplier),
                pl.lit(" for "), _en_expr(pl.col("contract"), cur), pl.lit(f", above {_en(max_award, cur)}")),
            evidence_json=j_obj(batch_ids=j_list(pl.concat_list("batch_id")), procurement_record_ids=j_list(pl.concat_list("id"))),
        ))
        shares = df.group_by("unit_id", "fiscal_year").agg(
            total=pl.col("contract").sum(), single=pl.col("contract").filter(ss).sum(),
            ids=pl.col("id").filter(ss).sort(), batch_ids=pl.col("batch_id").filter(ss).unique().sort(),
        ).filter(
            (pl.col("total") >= min_total) & (pl.col("total") > 0) & (pl.col("single") * 10000 > pl.col("total") * max_share)
        ).sort("unit_id", "fiscal_year")
        shares = with_labels(shares, ctx).with_columns(p=pct_expr(pl.col("single"), pl.col("total")))
        p, most = pl.col("p"), f"{cfg['max_share_pct']}%"
        out.append(flag_frame(
            shares, "single_source", _subject(cur, _CODE, pl.col("fiscal_year"), pl.lit("share")),
            unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"),
            figures_json=_figures(cur, kind=pl.lit('"share"'), single_source_fen=j_num(pl.col("single")),
                                  total_fen=j_num(pl.col("total")), share_pct=j_str(p)),
            threshold_json=j_const({"max_share_pct": cfg["max_share_pct"]} | _threshold(cfg, cur, "min_unit_total_yuan")),
            message_zh=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "zh"), pl.lit("：单一来源采购"),
                _zh_expr(pl.col("single"), cur), pl.lit("，占采购合同总额"), _zh_expr(pl.col("total"), cur),
                pl.lit("的"), p, pl.lit(f"%，超过{most}")),
            message_en=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "en"), pl.lit(": single-source contracts "),
                _en_expr(pl.col("single"), cur), pl.lit(" are "), p, pl.lit("% of "), _en_expr(pl.col("total"), cur),
                pl.lit(f" contracted, above {most}")),
            evidence_json=j_obj(batch_ids=j_list(pl.col("batch_ids")), procurement_record_ids=j_list(pl.col("ids"))),
        ))
    return _flags(out)


@rule("split_purchase", 2, PROCUREMENT_LAW + "：采购人不得将应当以公开招标方式采购的货物或者服务化整为零"
      "或者以其他任何方式规避公开招标采购", READS)
def split_purchase(conn: Connection, ctx: Context) -> pl.DataFrame:
    """Purchases by one unit from one supplier, each below the tender threshold, within the window, summing to it or more.

    The window ends at each purchase and reaches back ``window_days - 1`` days (``window_days`` = 90:
    purchases at most 89 days apart). Per unit, supplier and year the heaviest window is reported.
    Per currency, as ``single_source``: a currency without a threshold is skipped with its reason.
    """
    cfg = th.section(ctx.config, "split_purchase")
    limits = th.amounts_by_currency(ctx.config, "split_purchase", {"tender_threshold_yuan": "tender_threshold"})
    days = int(th.get(ctx.config, "split_purchase", "window_days"))
    min_records = int(th.get(ctx.config, "split_purchase", "min_records"))
    all_rows = records(conn, ctx, None, currency=None).filter(
        pl.col("contract").is_not_null() & pl.col("supplier").is_not_null() & pl.col("date").is_not_null())
    out = []
    for cur, rows, lim in per_currency(ctx, "split_purchase", all_rows, limits):
        limit = lim["tender_threshold_yuan"]
        df = rows.filter(pl.col("contract") < limit).sort("unit_id", "supplier", "date", "id")
        if df.height == 0:
            continue
        win = df.rolling(index_column="date", period=f"{days}d", group_by=["unit_id", "supplier"]).agg(
            total=pl.col("contract").sum(), n=pl.len(), ids=pl.col("id"), batch_ids=pl.col("batch_id").unique().sort(),
            first=pl.col("date").min(), year=pl.col("fiscal_year").last(), supplier_name=pl.col("supplier_name").last(),
        ).filter((pl.col("n") >= min_records) & (pl.col("total") >= limit))
        if ctx.year is not None:
            win = win.filter(pl.col("year") == ctx.year)
        best = win.sort(["total", "date"], descending=[True, False]).group_by("unit_id", "supplier", "year").first()
        best = with_labels(best.sort("unit_id", "supplier", "year"), ctx)
        first, last = pl.col("first").cast(pl.String), pl.col("date").cast(pl.String)
        name, n = pl.col("supplier_name").fill_null("None"), pl.col("n").cast(pl.String)
        out.append(flag_frame(
            best, "split_purchase", _subject(cur, _CODE, pl.col("supplier"), pl.col("year")),
            unit_id=pl.col("unit_id"), fiscal_year=pl.col("year"),
            figures_json=_figures(cur, supplier=j_str(pl.col("supplier_name")), purchases=j_num(pl.col("n")),
                                  total_fen=j_num(pl.col("total")), first_date=j_str(first), last_date=j_str(last)),
            threshold_json=j_const(_threshold(cfg, cur, "tender_threshold_yuan")
                                   | {"window_days": days, "min_records": min_records}),
            message_zh=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("year"), "zh"), pl.lit("："), first, pl.lit("至"), last,
                pl.lit("向“"), name, pl.lit("”采购"), n, pl.lit(f"次，每次低于公开招标数额标准{_zh(limit, cur)}，合计"),
                _zh_expr(pl.col("total"), cur), pl.lit("，疑似拆分采购规避招标")),
            message_en=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("year"), "en"), pl.lit(": "), n, pl.lit(' purchases from "'),
                name, pl.lit('" between '), first, pl.lit(" and "), last,
                pl.lit(f", each below the tender threshold of {_en(limit, cur)}, total "), _en_expr(pl.col("total"), cur),
                pl.lit(": possible split purchase to avoid tendering")),
            evidence_json=j_obj(batch_ids=j_list(pl.col("batch_ids")), procurement_record_ids=j_list(pl.col("ids"))),
        ))
    return _flags(out)


@rule("supplier_concentration", 2, PROCUREMENT_LAW + "：政府采购应当遵循公开透明原则、公平竞争原则", READS)
def supplier_concentration(conn: Connection, ctx: Context) -> pl.DataFrame:
    """One supplier taking more than the configured share of a unit's contract value in a year.

    Shares are taken within one currency; a currency without ``min_unit_total`` is skipped with its reason.
    """
    cfg = th.section(ctx.config, "supplier_concentration")
    limits = th.amounts_by_currency(ctx.config, "supplier_concentration", {"min_unit_total_yuan": "min_unit_total"})
    max_share = th.pct_hundredths(ctx.config, "supplier_concentration", "max_share_pct")
    min_suppliers = int(th.get(ctx.config, "supplier_concentration", "min_suppliers"))
    all_rows = records(conn, ctx, ctx.year, currency=None).filter(
        pl.col("contract").is_not_null() & pl.col("supplier").is_not_null())
    out = []
    for cur, df, lim in per_currency(ctx, "supplier_concentration", all_rows, limits):
        min_total = lim["min_unit_total_yuan"]
        per = df.group_by("unit_id", "fiscal_year", "supplier").agg(
            amount=pl.col("contract").sum(), n=pl.len(), ids=pl.col("id").sort(),
            batch_ids=pl.col("batch_id").unique().sort(), supplier_name=pl.col("supplier_name").first(),
        ).with_columns(
            total=pl.col("amount").sum().over("unit_id", "fiscal_year"),
            suppliers=pl.len().over("unit_id", "fiscal_year"),
        )
        hits = per.filter(
            (pl.col("total") >= min_total) & (pl.col("total") > 0) & (pl.col("suppliers") >= min_suppliers)
            & (pl.col("amount") * 10000 > pl.col("total") * max_share)
        ).sort("unit_id", "fiscal_year", "supplier")
        hits = with_labels(hits, ctx).with_columns(p=pct_expr(pl.col("amount"), pl.col("total")))
        p, most, name = pl.col("p"), f"{cfg['max_share_pct']}%", pl.col("supplier_name").fill_null("None")
        out.append(flag_frame(
            hits, "supplier_concentration", _subject(cur, _CODE, pl.col("fiscal_year"), pl.col("supplier")),
            unit_id=pl.col("unit_id"), fiscal_year=pl.col("fiscal_year"),
            figures_json=_figures(cur, supplier=j_str(pl.col("supplier_name")), supplier_fen=j_num(pl.col("amount")),
                                  unit_total_fen=j_num(pl.col("total")), share_pct=j_str(p),
                                  contracts=j_num(pl.col("n")), suppliers=j_num(pl.col("suppliers"))),
            threshold_json=j_const({k: cfg[k] for k in ("max_share_pct", "min_suppliers")}
                                   | _threshold(cfg, cur, "min_unit_total_yuan")),
            message_zh=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "zh"), pl.lit("：供应商“"), name,
                pl.lit("”获得采购合同"), _zh_expr(pl.col("amount"), cur), pl.lit("，占该单位合同总额"),
                _zh_expr(pl.col("total"), cur), pl.lit("的"), p, pl.lit(f"%，超过{most}")),
            message_en=pl.concat_str(
                _NAME, pl.lit(" "), _year_expr(pl.col("fiscal_year"), "en"), pl.lit(': supplier "'), name,
                pl.lit('" won '), _en_expr(pl.col("amount"), cur), pl.lit(", "), p, pl.lit("% of the unit's "),
                _en_expr(pl.col("total"), cur), pl.lit(f" contracted, above {most}")),
            evidence_json=j_obj(batch_ids=j_list(pl.col("batch_ids")), procurement_record_ids=j_list(pl.col("ids"))),
        ))
    return _flags(out)
