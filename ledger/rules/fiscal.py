"""Fiscal years: the calendar year by default; a ledger whose year starts in another month says so in
``sunshine.toml``::

    [fiscal_year]
    start_month = 4   # April–March; the fiscal year is named by the calendar year it starts in

So under an April start 2024-03-31 is in fiscal year 2023 and 2024-04-01 in fiscal year 2024. The
importers use this wherever a date is turned into a fiscal year.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import polars as pl

from ledger.rules.thresholds import ConfigError, config_path


def start_month(path: str | Path | None = None) -> int:
    """``[fiscal_year] start_month`` of the configuration (1 = calendar year when the file or key is absent)."""
    path = Path(path) if path else config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 1
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    month = data.get("fiscal_year", {}).get("start_month", 1)
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ConfigError(f"{path}: [fiscal_year] start_month must be a month number 1–12, got {month!r}")
    return month


def fiscal_year(date: dt.date, start: int = 1) -> int:
    """The fiscal year ``date`` falls in when years start in month ``start``."""
    return date.year - (date.month < start)


def fiscal_year_expr(date: pl.Expr, start: int = 1) -> pl.Expr:
    """``fiscal_year`` over a polars Date expression (Int32)."""
    if start == 1:
        return date.dt.year().cast(pl.Int32)
    return (date.dt.year() - (date.dt.month() < start).cast(pl.Int32)).cast(pl.Int32)
