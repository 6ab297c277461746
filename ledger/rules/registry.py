"""The rule registry and what every rule shares: the draft a rule returns, the context it reads,
the ``@rule`` decorator, stable flag ids and small helpers for figures.

Rule modules (``flag_rules``, ``flag_rules_procurement``) import this module, never ``flags``:
``flags`` imports the rule modules to run them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
from sqlalchemy import Connection


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


REGISTRY: dict[str, Rule] = {}

def rule(code: str, version: int, policy_ref: str) -> Callable:
    """Register ``func`` as the rule ``code``; bump ``version`` whenever its logic changes."""

    def wrap(func: Callable) -> Callable:
        REGISTRY[code] = Rule(code, version, policy_ref, func)
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


def frame(conn: Connection, query, schema: dict) -> pl.DataFrame:
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
