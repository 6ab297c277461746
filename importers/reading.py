"""How a file is to be read (encoding, sheet, amount unit, mapping, limits), and the column-placement
report every tabular kind shares. Below ``run`` and ``units`` so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from importers.problems import Problems
from importers.sheets.columns import KINDS
from importers.sheets.safety import Limits, Refused
from ledger.rules import fiscal
from ledger.rules.thresholds import ConfigError


@dataclass
class ReadOptions:
    encoding: str | None = None
    sheet: str | None = None
    amount_unit: str | None = None  # 元 | 万元 | 亿元 (any spelling ledger.amount_units takes), for amount columns whose header names no unit
    mapping: Path | None = None
    limits: Limits = field(default_factory=Limits.from_env)
    fiscal_start_month: int | None = None  # None: sunshine.toml [fiscal_year] start_month (default 1, calendar)


def fiscal_start(read: ReadOptions) -> int:
    """The month fiscal years start in, from the options or the configuration (``config-invalid`` if bad)."""
    if read.fiscal_start_month is not None:
        return read.fiscal_start_month
    try:
        return fiscal.start_month()
    except ConfigError as e:
        raise Refused("config-invalid", str(e)) from None


def record_encoding(meta, opened, problems: Problems) -> None:
    """Put the sniffed encoding, its reason and confidence on the file's report; a guess is a warning."""
    meta.encoding = opened.encoding
    if opened.evidence is None:
        return
    meta.encoding_evidence = opened.evidence.report()
    if opened.evidence.confidence == "low":
        problems.add("encoding-uncertain", value=opened.evidence.encoding, severity="warning",
                     detail=opened.evidence.reason)


def report_placement(problems: Problems, sheet, placement, kind: str) -> bool:
    """Report a sheet's unplaced, repeated and missing columns; False when the sheet cannot be read."""
    for h in placement.unplaced:
        problems.add("column-unplaced", sheet=sheet.name, row=sheet.header_row, column=h, value=h, severity="warning")
    for h in placement.duplicates:
        problems.add("column-duplicate", sheet=sheet.name, row=sheet.header_row, column=h, value=h)
    for f in placement.missing:
        known = " / ".join(KINDS[kind][f][1][:2])
        problems.add("column-missing", sheet=sheet.name, row=sheet.header_row, column=f, value=f"{f} ({known})")
    return not (placement.missing or placement.duplicates)
