"""Vectorised cell parsers: each turns a string column into ``(value, error_code)`` expressions.

No per-row Python: these are polars expressions evaluated over a whole chunk at once.
"""

from __future__ import annotations

import polars as pl

from importers.columns import norm
from ledger.money import amount_expr

TOTAL_LABELS = r"(?i)^\s*(合\s*计|总\s*计|小\s*计|total|totals|grand\s+total|sub-?\s*total)\s*[:：]?\s*$"
SUBTOTAL_LABELS = r"(?i)^\s*(小\s*计|sub-?\s*total)\s*[:：]?\s*$"

METHODS = {  # label -> (method, OCDS procurementMethod)
    "公开招标": "open_tender", "邀请招标": "invited_tender", "竞争性谈判": "competitive_negotiation",
    "竞争性磋商": "competitive_consultation", "单一来源": "single_source", "单一来源采购": "single_source",
    "询价": "rfq", "询价采购": "rfq",
    "open_tender": "open_tender", "invited_tender": "invited_tender",
    "competitive_negotiation": "competitive_negotiation", "competitive_consultation": "competitive_consultation",
    "single_source": "single_source", "rfq": "rfq", "other": "other",
    "open": "open_tender", "selective": "invited_tender", "direct": "single_source", "limited": "other",
}
OCDS_METHOD = {
    "open_tender": "open", "invited_tender": "selective", "competitive_negotiation": "limited",
    "competitive_consultation": "limited", "single_source": "direct", "rfq": "limited",
}
STAGES = {"original": "original", "adjusted": "adjusted", "年初预算": "original", "调整预算": "adjusted",
          "调整后预算": "adjusted", "年初": "original", "调整": "adjusted"}


def normalised(e: pl.Expr) -> pl.Expr:
    """The expression form of ``importers.columns.norm``."""
    return e.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[\s_\-]+", "")


def text(e: pl.Expr, max_len: int) -> tuple[pl.Expr, pl.Expr]:
    v = e.str.strip_chars()
    v = pl.when(v == "").then(None).otherwise(v)
    return v, pl.when(v.str.len_chars() > max_len).then(pl.lit("text-too-long")).otherwise(None)


def year(e: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    s = e.str.strip_chars().str.normalize("NFKC").str.replace(r"^(\d{4})(\.0+|年)?$", "$1")
    ok = s.str.contains(r"^\d{4}$")
    v = pl.when(ok).then(s.cast(pl.Int32, strict=False)).otherwise(None)
    v = pl.when((v >= 1900) & (v <= 2100)).then(v).otherwise(None)
    return v, pl.when(e.is_not_null() & v.is_null()).then(pl.lit("year-invalid")).otherwise(None)


def date(e: pl.Expr, fmt: str | None = None) -> tuple[pl.Expr, pl.Expr]:
    s = e.str.strip_chars().str.normalize("NFKC")
    iso = (
        s.str.replace(r"[T ]00:00:00(\.0+)?$", "")
        .str.replace_all(r"[/.]", "-")
        .str.replace(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", "$1-$2-$3")
        .str.replace(r"^(\d{4})-(\d)-", "$1-0$2-")
        .str.replace(r"^(\d{4}-\d{2})-(\d)$", "$1-0$2")
    )
    v = iso.str.to_date("%Y-%m-%d", strict=False)
    if fmt:
        v = s.str.to_date(fmt, strict=False).fill_null(v)
    return v, pl.when(e.is_not_null() & v.is_null()).then(pl.lit("date-invalid")).otherwise(None)


def count(e: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    s = e.str.strip_chars().str.normalize("NFKC").str.replace(r"^(\d+)\.0+$", "$1").str.replace_all(",", "")
    ok = s.str.contains(r"^\d{1,9}$")
    v = pl.when(ok).then(s.cast(pl.Int64, strict=False)).otherwise(None)
    return v, pl.when(e.is_not_null() & v.is_null()).then(pl.lit("count-invalid")).otherwise(None)


def lookup(e: pl.Expr, table: dict[str, str], code: str, default: str | None = None) -> tuple[pl.Expr, pl.Expr]:
    keys = {norm(k): v for k, v in table.items()}
    v = normalised(e).replace_strict(keys, default=default, return_dtype=pl.String)
    return v, pl.when(e.is_not_null() & v.is_null()).then(pl.lit(code)).otherwise(None)


def currency(e: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    v = e.str.strip_chars().str.to_uppercase()
    return v, pl.when(e.is_not_null() & ~v.str.contains(r"^[A-Z]{3}$")).then(pl.lit("currency-invalid")).otherwise(None)


def amount(e: pl.Expr, unit: str) -> tuple[pl.Expr, pl.Expr]:
    return amount_expr(e, unit)


def is_total(raw_columns: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(c).str.contains(TOTAL_LABELS).fill_null(False) for c in raw_columns])


def is_subtotal(raw_columns: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(c).str.contains(SUBTOTAL_LABELS).fill_null(False) for c in raw_columns])


def is_blank(raw_columns: list[str]) -> pl.Expr:
    return pl.all_horizontal([pl.col(c).str.strip_chars().fill_null("").eq("") for c in raw_columns])
