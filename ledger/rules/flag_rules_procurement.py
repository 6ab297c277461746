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
    Context,
    FlagDraft,
    flag_frame,
    frame,
    j_const,
    j_list,
    j_num,
    j_obj,
    j_str,
    pct,
    pct_expr,
    per_currency,
    rule,
    unit_label,
    with_labels,
)
from ledger.store.batches import live_procurement
from ledger.store.models import ProcurementRecord

METHODS_ZH = {
    "open_tender": "公开招标", "invited_tender": "邀请招标", "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商", "single_source": "单一来源", "rfq": "询价", "other": "其他",
}
PROCUREMENT_LAW = "《中华人民共和国政府采购法》"


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


@rule("procurement_over_budget", 1, PROCUREMENT_LAW + "：采购人应按照批准的预算执行采购")
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


def _tag(subject: tuple, cur: str) -> tuple:
    """A flag's subject: CNY keeps the subject it always had (same id); another currency is named in it."""
    return subject if cur == "CNY" else (*subject, cur)


def _y(year: int | None, lang: str) -> str:
    if lang == "zh":
        return f"{year}年" if year is not None else "（年度未知）"
    return str(year) if year is not None else "(year unknown)"


def _cur(cur: str) -> dict:
    return {} if cur == "CNY" else {"currency": cur}


@rule("single_source", 2, PROCUREMENT_LAW + "：单一来源采购仅限法定情形；公开招标应作为政府采购的主要采购方式")
def single_source(conn: Connection, ctx: Context) -> list[FlagDraft]:
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
    out = []
    for cur, df, lim in per_currency(ctx, "single_source", all_rows, limits):
        max_award, min_total = lim["max_award_yuan"], lim["min_unit_total_yuan"]
        threshold = {"max_award_yuan": cfg["max_award_yuan"]} if cur == "CNY" else {"currency": cur, "max_award": cfg["currency"][cur]["max_award"]}
        for h in df.filter(ss & (pl.col("contract") > max_award)).sort("unit_id", "fiscal_year", "record_key").iter_rows(named=True):
            code, name = unit_label(ctx, h["unit_id"])
            title = h["title"] or h["record_key"]
            out.append(FlagDraft(
                rule_code="single_source", subject=_tag((code, "award", h["record_key"]), cur), unit_id=h["unit_id"],
                fiscal_year=h["fiscal_year"], category_code=None,
                figures={"kind": "award", "contract_fen": h["contract"], "supplier": h["supplier_name"]} | _cur(cur),
                threshold=threshold,
                message_zh=f"{name} {_y(h['fiscal_year'], 'zh')}：采购项目“{title}”以单一来源方式授予"
                f"{h['supplier_name'] or '供应商'}，合同金额{_zh(h['contract'], cur)}，超过{_zh(max_award, cur)}",
                message_en=f"{name} {_y(h['fiscal_year'], 'en')}: \"{title}\" awarded single-source to "
                f"{h['supplier_name'] or 'a supplier'} for {_en(h['contract'], cur)}, above {_en(max_award, cur)}",
                evidence={"batch_ids": [h["batch_id"]], "procurement_record_ids": [h["id"]]},
            ))
        shares = df.group_by("unit_id", "fiscal_year").agg(
            total=pl.col("contract").sum(), single=pl.col("contract").filter(ss).sum(),
            ids=pl.col("id").filter(ss).sort(), batch_ids=pl.col("batch_id").filter(ss).unique().sort(),
        ).filter(
            (pl.col("total") >= min_total) & (pl.col("total") > 0) & (pl.col("single") * 10000 > pl.col("total") * max_share)
        ).sort("unit_id", "fiscal_year")
        threshold = {"max_share_pct": cfg["max_share_pct"]} | (
            {"min_unit_total_yuan": cfg["min_unit_total_yuan"]} if cur == "CNY"
            else {"currency": cur, "min_unit_total": cfg["currency"][cur]["min_unit_total"]})
        for h in shares.iter_rows(named=True):
            code, name = unit_label(ctx, h["unit_id"])
            p = pct(h["single"], h["total"])
            out.append(FlagDraft(
                rule_code="single_source", subject=_tag((code, str(h["fiscal_year"]), "share"), cur), unit_id=h["unit_id"],
                fiscal_year=h["fiscal_year"], category_code=None,
                figures={"kind": "share", "single_source_fen": h["single"], "total_fen": h["total"], "share_pct": p}
                | _cur(cur),
                threshold=threshold,
                message_zh=f"{name} {_y(h['fiscal_year'], 'zh')}：单一来源采购{_zh(h['single'], cur)}，"
                f"占采购合同总额{_zh(h['total'], cur)}的{p}%，超过{cfg['max_share_pct']}%",
                message_en=f"{name} {_y(h['fiscal_year'], 'en')}: single-source contracts {_en(h['single'], cur)} are {p}% of "
                f"{_en(h['total'], cur)} contracted, above {cfg['max_share_pct']}%",
                evidence={"batch_ids": h["batch_ids"], "procurement_record_ids": h["ids"]},
            ))
    return out


@rule("split_purchase", 2, PROCUREMENT_LAW + "：采购人不得将应当以公开招标方式采购的货物或者服务化整为零"
      "或者以其他任何方式规避公开招标采购")
def split_purchase(conn: Connection, ctx: Context) -> list[FlagDraft]:
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
        amount = ({"tender_threshold_yuan": cfg["tender_threshold_yuan"]} if cur == "CNY"
                  else {"currency": cur, "tender_threshold": cfg["currency"][cur]["tender_threshold"]})
        for h in best.sort("unit_id", "supplier", "year").iter_rows(named=True):
            code, name = unit_label(ctx, h["unit_id"])
            out.append(FlagDraft(
                rule_code="split_purchase", subject=_tag((code, h["supplier"], str(h["year"])), cur), unit_id=h["unit_id"],
                fiscal_year=h["year"], category_code=None,
                figures={"supplier": h["supplier_name"], "purchases": h["n"], "total_fen": h["total"],
                         "first_date": str(h["first"]), "last_date": str(h["date"])} | _cur(cur),
                threshold=amount | {"window_days": days, "min_records": min_records},
                message_zh=f"{name} {_y(h['year'], 'zh')}：{h['first']}至{h['date']}向“{h['supplier_name']}”采购{h['n']}次，"
                f"每次低于公开招标数额标准{_zh(limit, cur)}，合计{_zh(h['total'], cur)}，"
                "疑似拆分采购规避招标",
                message_en=f"{name} {_y(h['year'], 'en')}: {h['n']} purchases from \"{h['supplier_name']}\" between {h['first']} and "
                f"{h['date']}, each below the tender threshold of {_en(limit, cur)}, total {_en(h['total'], cur)}: "
                "possible split purchase to avoid tendering",
                evidence={"batch_ids": h["batch_ids"], "procurement_record_ids": list(h["ids"])},
            ))
    return out


@rule("supplier_concentration", 2, PROCUREMENT_LAW + "：政府采购应当遵循公开透明原则、公平竞争原则")
def supplier_concentration(conn: Connection, ctx: Context) -> list[FlagDraft]:
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
        threshold = {k: cfg[k] for k in ("max_share_pct", "min_suppliers")} | (
            {"min_unit_total_yuan": cfg["min_unit_total_yuan"]} if cur == "CNY"
            else {"currency": cur, "min_unit_total": cfg["currency"][cur]["min_unit_total"]})
        for h in hits.iter_rows(named=True):
            code, name = unit_label(ctx, h["unit_id"])
            p = pct(h["amount"], h["total"])
            out.append(FlagDraft(
                rule_code="supplier_concentration", subject=_tag((code, str(h["fiscal_year"]), h["supplier"]), cur),
                unit_id=h["unit_id"], fiscal_year=h["fiscal_year"], category_code=None,
                figures={"supplier": h["supplier_name"], "supplier_fen": h["amount"], "unit_total_fen": h["total"],
                         "share_pct": p, "contracts": h["n"], "suppliers": h["suppliers"]} | _cur(cur),
                threshold=threshold,
                message_zh=f"{name} {_y(h['fiscal_year'], 'zh')}：供应商“{h['supplier_name']}”获得采购合同"
                f"{_zh(h['amount'], cur)}，占该单位合同总额{_zh(h['total'], cur)}的"
                f"{p}%，超过{cfg['max_share_pct']}%",
                message_en=f"{name} {_y(h['fiscal_year'], 'en')}: supplier \"{h['supplier_name']}\" won {_en(h['amount'], cur)}, "
                f"{p}% of the unit's {_en(h['total'], cur)} contracted, above {cfg['max_share_pct']}%",
                evidence={"batch_ids": h["batch_ids"], "procurement_record_ids": h["ids"]},
            ))
    return out
