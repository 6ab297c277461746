"""Vectorised cell parsers: each turns a string column into ``(value, error_code)`` expressions.

No per-row Python: these are polars expressions evaluated over a whole chunk at once.
"""

from __future__ import annotations

import unicodedata

import polars as pl

from importers.sheets.columns import norm

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
          "调整后预算": "adjusted", "年初": "original", "调整": "adjusted",
          "execution": "execution", "执行数": "execution", "预算执行": "execution", "执行": "execution"}


def normalised(e: pl.Expr) -> pl.Expr:
    """The expression form of ``importers.sheets.columns.norm``."""
    return e.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[\s_\-]+", "")


# Each parser is two steps: ``prep`` does the string work once (a column of its own, so polars never
# repeats it inside the nested when/then that follows), ``finish`` turns the prepared column into
# (value, error code). ``raw`` is the untouched cell, for telling a missing cell from a bad one.


def text(max_len: int):
    def prep(e: pl.Expr) -> pl.Expr:
        return e.str.strip_chars()

    def finish(p: pl.Expr, raw: pl.Expr):
        v = pl.when(p == "").then(None).otherwise(p)
        return v, pl.when(p.str.len_chars() > max_len).then(pl.lit("text-too-long")).otherwise(None)

    return prep, finish


def per_distinct_of(return_dtype):
    """Decorator form of ``per_distinct``."""
    return lambda prep: per_distinct(prep, return_dtype)


def per_distinct(prep, return_dtype) -> callable:
    """Run the string expression ``prep`` once per distinct cell and spread the results back.

    Years, dates, counts and category labels repeat: a million rows hold a few thousand distinct
    dates and a dozen categories, so normalising, matching regexes and parsing dates per distinct
    value instead of per row does a few hundredth of the work. The result is the same column
    ``prep`` would give row by row (a null cell is one distinct value like any other).
    """
    def run(s: pl.Series) -> pl.Series:
        u = s.unique()
        if u.len() * 4 > s.len():  # mostly distinct: the join would cost more than it saves
            return s.to_frame("k").select(prep(pl.col("k")).cast(return_dtype)).to_series()
        table = u.to_frame("k").with_columns(prep(pl.col("k")).cast(return_dtype).alias("v"))
        return s.to_frame("k").join(table, on="k", how="left", nulls_equal=True, maintain_order="left")["v"]

    return lambda e: e.cast(pl.String).map_batches(run, return_dtype=return_dtype)


def nfkc(e: pl.Expr) -> pl.Expr:
    """``e.str.normalize("NFKC")``, computed only for the cells that are not plain ASCII (which NFKC
    leaves as they are): in a national file nearly every year, count or date cell is ASCII."""
    return e.map_batches(_nfkc_non_ascii, return_dtype=pl.String)


def _nfkc_non_ascii(s: pl.Series) -> pl.Series:
    todo = s.str.contains(r"[^\x00-\x7F]").fill_null(False).arg_true()
    if todo.len() == 0:
        return s
    return s.scatter(todo, s.gather(todo).str.normalize("NFKC"))


def year():
    @per_distinct_of(pl.String)
    def prep(e: pl.Expr) -> pl.Expr:
        return nfkc(e.str.strip_chars()).str.replace(r"^([0-9]{4})(\.0+|年)?$", "$1")

    def finish(p: pl.Expr, raw: pl.Expr):
        n = pl.when(p.str.contains(r"^[0-9]{4}$")).then(p.cast(pl.Int32, strict=False))
        v = pl.when(n.is_between(1900, 2100)).then(n)
        return v, pl.when(raw.is_not_null() & ~n.is_between(1900, 2100).fill_null(False)).then(pl.lit("year-invalid"))

    return prep, finish


DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y.%m.%d", "%Y-%m-%dT%H:%M:%S"]


def _dates(formats: list[str]):
    def parse(cells: pl.Series) -> pl.Series:
        # The first format that parses a cell wins, as ``pl.coalesce`` over every format would say,
        # but each further format only sees the cells still unparsed (usually none): a coalesce
        # parsed every cell six times and repeated the strip + NFKC for each format.
        s = _nfkc_non_ascii(cells.str.strip_chars())
        out = s.str.to_date(formats[0], strict=False)
        for f in formats[1:]:
            todo = (out.is_null() & s.is_not_null()).arg_true()
            if todo.len() == 0:
                break
            out = out.scatter(todo, s.gather(todo).str.to_date(f, strict=False))
        return out

    return parse


def date(fmt: str | None = None):
    formats = ([fmt] if fmt else []) + DATE_FORMATS

    @per_distinct_of(pl.Date)
    def prep(e: pl.Expr) -> pl.Expr:
        return e.map_batches(_dates(formats), return_dtype=pl.Date)

    def finish(p: pl.Expr, raw: pl.Expr):
        return p, pl.when(raw.is_not_null() & p.is_null()).then(pl.lit("date-invalid"))

    return prep, finish


def count():
    @per_distinct_of(pl.String)
    def prep(e: pl.Expr) -> pl.Expr:
        return nfkc(e.str.strip_chars()).str.replace(r"^([0-9]+)\.0+$", "$1").str.replace_all(",", "")

    def finish(p: pl.Expr, raw: pl.Expr):
        v = pl.when(p.str.contains(r"^[0-9]{1,9}$")).then(p.cast(pl.Int64, strict=False))
        return v, pl.when(raw.is_not_null() & ~p.str.contains(r"^[0-9]{1,9}$").fill_null(False)).then(
            pl.lit("count-invalid"))

    return prep, finish


def lookup(table: dict[str, str], code: str, default: str | None = None):
    keys = {norm(k): v for k, v in table.items()}

    @per_distinct_of(pl.String)
    def prep(e: pl.Expr) -> pl.Expr:
        return normalised(e).replace_strict(keys, default=default, return_dtype=pl.String)

    def finish(p: pl.Expr, raw: pl.Expr):
        return p, pl.when(raw.is_not_null() & p.is_null()).then(pl.lit(code))

    return prep, finish


def currency():
    def prep(e: pl.Expr) -> pl.Expr:
        return e.str.strip_chars().str.to_uppercase()

    def finish(p: pl.Expr, raw: pl.Expr):
        return p, pl.when(raw.is_not_null() & ~p.str.contains(r"^[A-Z]{3}$").fill_null(False)).then(
            pl.lit("currency-invalid"))

    return prep, finish


def is_total(raw_columns: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(c).str.contains(TOTAL_LABELS).fill_null(False) for c in raw_columns])


def is_subtotal(raw_columns: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(c).str.contains(SUBTOTAL_LABELS).fill_null(False) for c in raw_columns])


def is_blank(raw_columns: list[str]) -> pl.Expr:
    return pl.all_horizontal([pl.col(c).str.strip_chars().fill_null("").eq("") for c in raw_columns])


def cell_text(v) -> str | None:
    """One cell as trimmed NFKC text, or None when blank (for readers that go row by row)."""
    v = None if v is None else unicodedata.normalize("NFKC", str(v)).strip()
    return v or None
