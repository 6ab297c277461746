"""Turn one chunk of string cells into normalised rows for ``expenses``, ``budgets`` and ``procurement``.

Each field is parsed by a vectorised parser from ``importers.sheets.cells``; every parser returns a value
and an error code, and the error codes become problem rows in one select, so validation is bulk
work over the chunk. Blank rows and total rows (合计, 总计, 小计, Total) are set apart first.
``importers.disclosure`` does the same for the wide disclosure table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from importers.sheets import cells
from importers.sheets.columns import KINDS, Mapping, Placement
from importers.sheets.sources import ROW
from ledger.money import parse_amounts
from ledger.rules.fiscal import fiscal_year_expr

MAX_LEN = {"unit_code": 64, "unit_name": 300, "payee": 300, "description": 4000, "voucher_no": 100,
           "project_code": 200, "title": 4000, "supplier_name": 300, "supplier_id": 100, "payee_type": 40,
           "supplier_type": 40}
SEVERITY = {"method-unknown": "warning", "date-year-mismatch": "warning"}

EXPENSE_COLUMNS = ["sheet", "source_row", "unit_code", "unit_name", "fiscal_year", "entry_date", "category_code",
                   "amount_fen", "currency", "payee", "description", "voucher_no", "source_category", "persons",
                   "batches", "vehicles", "payee_type", "days"]
BUDGET_COLUMNS = ["sheet", "source_row", "unit_code", "unit_name", "fiscal_year", "category_code", "stage",
                  "amount_fen", "currency"]
PROCUREMENT_COLUMNS = ["sheet", "source_row", "unit_code", "unit_name", "project_code", "ocid", "release_id",
                       "release_date", "fiscal_year", "title", "method", "ocds_method", "method_raw", "budget_fen",
                       "contract_fen", "currency", "supplier_name", "supplier_id", "tender_date", "award_date",
                       "contract_date", "compiled_json", "supplier_type"]
TABLE_OF_KIND = {"expenses": "expense", "budgets": "budget", "procurement": "procurement"}


@dataclass
class Context:
    kind: str
    file: str
    sheet: str | None
    placement: Placement
    units: dict[str, str]  # amount field -> yuan | wan | yi
    mapping: Mapping | None
    categories: dict[str, str]  # label (code, 中文, English, mapped) -> category code
    default_category: str | None = None
    currency: str = "CNY"
    amount_fields: list[str] = field(default_factory=list)
    fiscal_start: int = 1  # month the fiscal year starts in (sunshine.toml [fiscal_year] start_month)


@dataclass
class Chunk:
    tables: dict[str, pl.DataFrame]  # expense | budget | procurement -> normalised rows
    problems: pl.DataFrame
    rows: int
    blank: int
    totals: pl.DataFrame  # ROW, is_total, is_subtotal, and one fen column per amount field


def parse_fields(raw: pl.DataFrame, ctx: Context) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Parse every placed field; returns the parsed frame (with ``f`` and ``f__err`` columns)."""
    exprs: list[pl.Expr] = [pl.col(ROW)]
    fmt = ctx.mapping.date_format if ctx.mapping else None
    placed = []
    for name in ctx.amount_fields:
        raw = parse_amounts(raw, ctx.placement.fields[name], ctx.units.get(name, "yuan"), f"__a_{name}", f"__ae_{name}")
    parsers = {}
    for name, (typ, _) in KINDS[ctx.kind].items():
        header = ctx.placement.fields.get(name)
        if not header:
            continue
        placed.append((name, header))
        if typ == "amount":
            continue
        parsers[name] = {
            "text": lambda n=name: cells.text(MAX_LEN.get(n, 4000)), "code": lambda n=name: cells.text(MAX_LEN.get(n, 4000)),
            "year": cells.year, "date": lambda: cells.date(fmt), "count": cells.count,
            "category": lambda: cells.lookup(ctx.categories, "category-unknown", ctx.default_category),
            "stage": lambda: cells.lookup(cells.STAGES, "stage-unknown"),
            "method": lambda: cells.lookup(cells.METHODS, "method-unknown"), "currency": cells.currency,
        }[typ]()
    raw = raw.with_columns(
        [prep(pl.col(ctx.placement.fields[n]).cast(pl.String)).alias(f"__p_{n}") for n, (prep, _) in parsers.items()])
    for name, header in placed:
        col = pl.col(header).cast(pl.String)
        if name in parsers:
            v, err = parsers[name][1](pl.col(f"__p_{name}"), col)
        else:
            v, err = pl.col(f"__a_{name}"), pl.col(f"__ae_{name}")
        exprs += [v.alias(name), err.alias(f"{name}__err"), col.alias(f"{name}__raw")]
    return raw.select(exprs), placed


def problem_rows(parsed: pl.DataFrame, placed, ctx: Context, required: list[str]) -> pl.DataFrame:
    frames = []
    for name, header in placed:
        err = pl.col(f"{name}__err")
        if name in required:
            missing = "amount-missing" if name.endswith("amount") else "value-missing"
            err = pl.when(pl.col(f"{name}__raw").is_null()).then(pl.lit(missing)).otherwise(err)
        frames.append(
            parsed.select(
                pl.col(ROW).alias("row"), pl.lit(header).alias("column"),
                pl.col(f"{name}__raw").alias("value"), err.alias("code"),
            ).filter(pl.col("code").is_not_null())
        )
    out = pl.concat(frames) if frames else pl.DataFrame(schema={"row": pl.Int64, "column": pl.String,
                                                                   "value": pl.String, "code": pl.String})
    return out.with_columns(
        pl.lit(ctx.sheet, pl.String).alias("sheet"),
        pl.col("code").replace_strict(SEVERITY, default="error").alias("severity"),
    )


def split_rows(raw: pl.DataFrame, ctx: Context) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(detail rows, total rows, blank count).

    A total row names itself (合计, 总计, 小计, Total) in its first column or in a placed text column;
    amount columns are never searched, which keeps the scan cheap on millions of rows.
    """
    data_cols = [c for c in raw.columns if c != ROW]
    text_types = {"text", "code", "category", "year"}
    label_cols = list(dict.fromkeys(
        data_cols[:1] + [h for f, h in ctx.placement.fields.items() if h and KINDS[ctx.kind][f][0] in text_types]))
    raw = raw.with_columns(cells.is_blank(data_cols).alias("__blank"), cells.is_total(label_cols).alias("__total"))
    blank = int(raw["__blank"].sum())
    body = raw.filter(~pl.col("__blank"))
    totals = body.filter(pl.col("__total")).with_columns(cells.is_subtotal(label_cols).alias("__subtotal"))
    return body.filter(~pl.col("__total")), totals, blank


def totals_frame(parsed: pl.DataFrame, totals: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Amounts of detail and total rows, in file order, for the stated-total check."""
    detail = parsed.select(pl.col(ROW), pl.lit(False).alias("is_total"), pl.lit(False).alias("is_subtotal"),
                           *[pl.col(f) for f in ctx.amount_fields])
    for f in ctx.amount_fields:
        totals = parse_amounts(totals, ctx.placement.fields[f], ctx.units.get(f, "yuan"), f"__t_{f}", f"__te_{f}")
    stated = totals.select(pl.col(ROW), pl.lit(True).alias("is_total"), pl.col("__subtotal").alias("is_subtotal"),
                           *[pl.col(f"__t_{f}").alias(f) for f in ctx.amount_fields])
    return pl.concat([detail, stated]).sort(ROW)


def normalise(raw: pl.DataFrame, ctx: Context) -> Chunk:
    """Normalise one chunk of an expenses, budgets or procurement sheet."""
    detail, total_rows, blank = split_rows(raw, ctx)
    parsed, placed = parse_fields(detail, ctx)
    required = REQUIRED_VALUES[ctx.kind] + (["date"] if not ctx.placement.fields.get("fiscal_year") else [])
    problems = problem_rows(parsed, placed, ctx, required)
    if "date" in parsed.columns and "fiscal_year" in parsed.columns:
        off = parsed.filter(fiscal_year_expr(pl.col("date"), ctx.fiscal_start) != pl.col("fiscal_year")).select(
            pl.col(ROW).alias("row"), pl.lit(ctx.placement.fields["date"]).alias("column"),
            pl.col("date__raw").alias("value"), pl.lit("date-year-mismatch").alias("code"),
            pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.lit("warning").alias("severity"))
        problems = pl.concat([problems, off])
    totals = totals_frame(parsed, total_rows, ctx)
    table = BUILDERS[ctx.kind](parsed, ctx)
    return Chunk({TABLE_OF_KIND[ctx.kind]: table}, problems, raw.height, blank, totals)


def _col(parsed: pl.DataFrame, name: str, dtype=pl.String) -> pl.Expr:
    return pl.col(name) if name in parsed.columns else pl.lit(None, dtype)


def _currency(parsed: pl.DataFrame, ctx: Context) -> pl.Expr:
    return _col(parsed, "currency").fill_null(pl.lit(ctx.currency))


def _year(parsed: pl.DataFrame, ctx: Context) -> pl.Expr:
    if "fiscal_year" in parsed.columns:
        return pl.col("fiscal_year").cast(pl.Int32)
    return fiscal_year_expr(_col(parsed, "date", pl.Date), ctx.fiscal_start)


def _expenses(parsed: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    return parsed.select(
        pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("source_row"),
        pl.col("unit_code"), _col(parsed, "unit_name").alias("unit_name"), _year(parsed, ctx).alias("fiscal_year"),
        _col(parsed, "date", pl.Date).alias("entry_date"), pl.col("category").alias("category_code"),
        pl.col("amount").alias("amount_fen"), _currency(parsed, ctx).alias("currency"),
        _col(parsed, "payee").alias("payee"), _col(parsed, "description").alias("description"),
        _col(parsed, "voucher_no").alias("voucher_no"), pl.col("category__raw").alias("source_category"),
        _col(parsed, "persons", pl.Int64).alias("persons"), _col(parsed, "batches", pl.Int64).alias("batches"),
        pl.lit(None, pl.Int64).alias("vehicles"), _col(parsed, "payee_type").alias("payee_type"),
        _col(parsed, "days", pl.Int64).alias("days"),
    )


def _budgets(parsed: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    return parsed.select(
        pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("source_row"),
        pl.col("unit_code"), _col(parsed, "unit_name").alias("unit_name"), _year(parsed, ctx).alias("fiscal_year"),
        pl.col("category").alias("category_code"), _col(parsed, "stage").fill_null("original").alias("stage"),
        pl.col("amount").alias("amount_fen"), _currency(parsed, ctx).alias("currency"),
    )


def _procurement(parsed: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    method = pl.col("method").fill_null(pl.when(pl.col("method__raw").is_not_null()).then(pl.lit("other")))
    ocds = pl.col("method__raw").pipe(cells.normalised)
    ocds = pl.when(ocds.is_in(["open", "selective", "limited", "direct"])).then(ocds).otherwise(
        method.replace_strict(cells.OCDS_METHOD, default=None, return_dtype=pl.String))
    return parsed.select(
        pl.lit(ctx.sheet, pl.String).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("source_row"),
        pl.col("unit_code"), _col(parsed, "unit_name").alias("unit_name"),
        _col(parsed, "project_code").alias("project_code"), pl.lit(None, pl.String).alias("ocid"),
        pl.lit(None, pl.String).alias("release_id"), pl.lit(None, pl.Datetime("us", "UTC")).alias("release_date"),
        _year(parsed, ctx).alias("fiscal_year"), _col(parsed, "title").alias("title"), method.alias("method"),
        ocds.alias("ocds_method"), pl.col("method__raw").alias("method_raw"),
        _col(parsed, "budget_amount", pl.Int64).alias("budget_fen"),
        _col(parsed, "contract_amount", pl.Int64).alias("contract_fen"), _currency(parsed, ctx).alias("currency"),
        _col(parsed, "supplier_name").alias("supplier_name"), _col(parsed, "supplier_id").alias("supplier_id"),
        _col(parsed, "tender_date", pl.Date).alias("tender_date"),
        _col(parsed, "award_date", pl.Date).alias("award_date"),
        _col(parsed, "contract_date", pl.Date).alias("contract_date"),
        _col(parsed, "supplier_type").alias("supplier_type"),
    )


BUILDERS = {"expenses": _expenses, "budgets": _budgets, "procurement": _procurement}
REQUIRED_VALUES = {
    "expenses": ["unit_code", "fiscal_year", "category", "amount"],
    "budgets": ["unit_code", "fiscal_year", "category", "amount"],
    "procurement": ["unit_code", "fiscal_year", "method"],
    "disclosure": ["unit_code", "fiscal_year"],
}
