"""The rule registry and what every rule shares: the draft a rule returns, the context it reads,
the ``@rule`` decorator, stable flag ids and small helpers for figures.

Rule modules (``flag_rules``, ``flag_rules_procurement``) import this module, never ``flags``:
``flags`` imports the rule modules to run them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.exc import CompileError

from ledger.rules.sums import driver_frame


@dataclass
class FlagDraft:
    """A flag as a rule raises it, before it is stored."""

    rule_code: str
    subject: tuple[str, ...]
    unit_id: int | None
    fiscal_year: int | None
    category_code: str | None
    figures: dict
    threshold: dict
    message_zh: str
    message_en: str
    evidence: dict  # {"batch_ids": [...], "expense_entry_ids": [...], "procurement_record_ids": [...], ...}
    policy_ref: str | None = None

    @property
    def id(self) -> str:
        return flag_id(self.rule_code, self.subject)


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    policy_ref: str
    func: Callable
    reads: tuple[str, ...] | None = None  # the batch kinds whose rows it reads; None: every kind
    by_unit: bool = False  # a unit's flags depend on that unit's figures alone (run for changed units only)


@dataclass
class Context:
    """What every rule may read: run, year filter, thresholds and lookups."""

    run_id: int
    year: int | None
    config: dict
    units: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (code, name)
    categories: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (中文, English)
    rollups: object = None  # the run's ``ledger.rules.sums.live_rollups`` frame, when already read
    # what a rule could not judge, and why: {"rule", "currency", "records", "reason"} (the run's summary keeps it)
    skipped: list[dict] = field(default_factory=list)
    resolved: object = None  # ``ledger.rules.sums.resolved_sums`` of those rollups, when already computed
    frames: dict = field(default_factory=dict)  # reads several rules share (procurement records), once per run
    only: list[int] | None = None  # the units whose figures changed, when ``by_unit`` rules run for them alone
    moved: list[int] | None = None  # the batches that came or went since that run (with ``only``)
    # rule code -> the (category_code, fiscal_year) a rule re-evaluated when it judged only part of the ledger
    # after ``moved``: its other flags stand as the latest run left them
    redone: dict = field(default_factory=dict)


REGISTRY: dict[str, Rule] = {}

def rule(code: str, version: int, policy_ref: str, reads: tuple[str, ...] | None = None,
         by_unit: bool = False) -> Callable:
    """Register ``func`` as the rule ``code``; bump ``version`` whenever its logic changes.

    ``reads``: the kinds of batch (``procurement``, ``ocds`` …) whose rows the rule reads, when it reads
    no others; a check skips the rule when none of them, its thresholds, the units and the targets changed.
    ``by_unit``: each flag depends on its unit's figures alone; after a few units' batches the rule is run
    for those units (``ctx.only``, and ``ctx.resolved`` holds their figures only).
    """

    def wrap(func: Callable) -> Callable:
        REGISTRY[code] = Rule(code, version, policy_ref, func, reads, by_unit)
        return func

    return wrap


def flag_id(rule_code: str, subject: tuple[str, ...]) -> str:
    """The stable id of a flag: sha256 of the rule code and its subject."""
    return hashlib.sha256("\x1f".join((rule_code, *map(str, subject))).encode()).hexdigest()


def pct(num: int, den: int, places: int = 1) -> str | None:
    """``num / den`` as a percentage rounded half up; None when ``den`` is zero (undefined)."""
    if den == 0:
        return None
    q = Decimal(1).scaleb(-places)
    return str((Decimal(num) * 100 / Decimal(den)).quantize(q, rounding=ROUND_HALF_UP))


def unit_label(ctx: Context, unit_id: int) -> tuple[str, str]:
    return ctx.units.get(unit_id, (str(unit_id), str(unit_id)))


_PLAIN = (pl.Int64, pl.Int32, pl.String, pl.Float64)


def frame(conn: Connection, query, schema: dict) -> pl.DataFrame:
    """The rows of ``query`` as a frame of ``schema``, read on the driver's cursor when its columns are plain.

    SQLAlchemy's row objects cost more than the query at a million rows; integers, strings and floats come
    from the driver as SQLAlchemy would hand them over, and SQLite's ISO dates are parsed in polars (SQLAlchemy
    parses them the same way). Anything else, or a statement that cannot be rendered with its values, takes
    the SQLAlchemy path.
    """
    if all(t in _PLAIN or t == pl.Date for t in schema.values()):
        text_dates = conn.dialect.name == "sqlite"
        raw = {c: (pl.String if t == pl.Date and text_dates else t) for c, t in schema.items()}
        try:
            df = driver_frame(conn, query, raw)
        except CompileError:  # a value with no literal form (raised before the statement runs): bound parameters
            df = None
        if df is not None:
            dates = [c for c, t in schema.items() if t == pl.Date and text_dates]
            if not dates:
                return df
            try:
                return df.with_columns(pl.col(c).str.to_date("%Y-%m-%d") for c in dates)
            except pl.exceptions.PolarsError:  # a date not stored as plain ISO text: SQLAlchemy's parser
                pass
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def per_currency(ctx: Context, rule_code: str, df: pl.DataFrame, limits: dict[str, dict[str, int]]):
    """``(currency, rows, thresholds)`` for each currency of ``df`` that has thresholds; every other
    currency is recorded in ``ctx.skipped`` (reason ``no-threshold-for-currency``) and never judged."""
    for cur in sorted(c for c in df["currency"].unique().to_list() if c is not None):
        rows = df.filter(pl.col("currency") == cur)
        if cur in limits:
            yield cur, rows, limits[cur]
        else:
            ctx.skipped.append({"rule": rule_code, "currency": cur, "records": rows.height,
                                "reason": "no-threshold-for-currency"})
# Flags raised in bulk: a rule may return a frame of FLAG_COLUMNS instead of drafts, its sentences and JSON
# built column-wise by the expressions below, byte for byte what the draft path writes.
FLAG_COLUMNS = {"id": pl.String, "rule_code": pl.String, "unit_id": pl.Int64, "fiscal_year": pl.Int64,
                "category_code": pl.String, "figures_json": pl.String, "threshold_json": pl.String,
                "policy_ref": pl.String, "message_zh": pl.String, "message_en": pl.String,
                "evidence_json": pl.String}


def pct_expr(num: pl.Expr, den: pl.Expr, places: int = 1) -> pl.Expr:
    """``pct`` over columns: ``num / den`` as a percentage rounded half up, null when ``den`` is zero."""
    scale = 100 * 10**places
    mag = (num.abs() * scale * 2 + den.abs()) // (den.abs() * 2)
    text = pl.concat_str((mag // 10**places).cast(pl.String), pl.lit("."),
                         (mag % 10**places).cast(pl.String).str.zfill(places))
    negative = (num != 0) & ((num < 0) != (den < 0))
    return pl.when(den == 0).then(None).when(negative).then(pl.lit("-") + text).otherwise(text)


def j_str(e: pl.Expr) -> pl.Expr:
    """A string column as ``json.dumps(..., ensure_ascii=False)`` writes it (null → ``null``)."""
    e = e.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    for c in range(32):
        e = e.str.replace_all(chr(c), _ESCAPES.get(chr(c), f"\\u{c:04x}"), literal=True)
    return pl.concat_str(pl.lit('"'), e, pl.lit('"')).fill_null("null")


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def j_num(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.String).fill_null("null")


def j_list(e: pl.Expr) -> pl.Expr:
    """A list of integers as JSON (``[1, 2]``; null → ``null``)."""
    return pl.concat_str(pl.lit("["), e.list.eval(pl.element().cast(pl.String)).list.join(", "), pl.lit("]")).fill_null("null")


def j_obj(**fields: pl.Expr) -> pl.Expr:
    """A JSON object with sorted keys from already-encoded values, as ``json.dumps(sort_keys=True)``."""
    parts: list[pl.Expr] = [pl.lit("{")]
    for i, key in enumerate(sorted(fields)):
        parts += [pl.lit(("" if i == 0 else ", ") + json.dumps(key, ensure_ascii=False) + ": "), fields[key]]
    return pl.concat_str([*parts, pl.lit("}")])


def j_const(obj) -> pl.Expr:
    """A constant encoded once, as the draft path's ``json.dumps(sort_keys=True, default=str)``."""
    return pl.lit(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str))


def with_ids(frame: pl.DataFrame, rule_code: str, subject: list[pl.Expr]) -> pl.DataFrame:
    """Add ``_flag_id``, the stable id (``flag_id``) from the subject columns, as strings."""
    parts = [e.cast(pl.String).fill_null("None") for e in subject]
    keys = frame.select(pl.concat_str([pl.lit(rule_code), *parts], separator="\x1f")).to_series().to_list()
    ids = [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    return frame.with_columns(pl.Series("_flag_id", ids, dtype=pl.String))


def flag_frame(frame: pl.DataFrame, rule_code: str, subject: list[pl.Expr], **columns: pl.Expr) -> pl.DataFrame:
    """A rule's flags as a frame of ``FLAG_COLUMNS`` (``policy_ref`` null: the rule's own is filled in)."""
    out = with_ids(frame, rule_code, subject).select(
        pl.col("_flag_id").alias("id"), pl.lit(rule_code).alias("rule_code"), *[e.alias(k) for k, e in columns.items()])
    return out.select([(pl.col(k) if k in out.columns else pl.lit(None)).cast(t).alias(k)
                       for k, t in FLAG_COLUMNS.items()])


def with_labels(frame: pl.DataFrame, ctx: Context, unit: str = "unit_id", category: str | None = None) -> pl.DataFrame:
    """Add ``code`` and ``name`` of each row's unit (``unit_label``), and ``cat_zh`` / ``cat_en`` of ``category``."""
    if "units" not in ctx.frames:
        ctx.frames["units"] = pl.DataFrame([(i, c, n) for i, (c, n) in ctx.units.items()],
                                           schema={"_u": pl.Int64, "code": pl.String, "name": pl.String}, orient="row")
        ctx.frames["categories"] = pl.DataFrame([(c, zh, en) for c, (zh, en) in ctx.categories.items()],
                                                schema={"_c": pl.String, "cat_zh": pl.String, "cat_en": pl.String},
                                                orient="row")
    own = pl.col(unit).cast(pl.String).fill_null("None")
    out = frame.join(ctx.frames["units"], left_on=unit, right_on="_u", how="left", maintain_order="left").with_columns(
        code=pl.coalesce("code", own), name=pl.coalesce("name", own))
    if category is not None:
        out = out.join(ctx.frames["categories"], left_on=category, right_on="_c", how="left",
                       maintain_order="left").with_columns(cat_zh=pl.coalesce("cat_zh", category),
                                                           cat_en=pl.coalesce("cat_en", category))
    return out
