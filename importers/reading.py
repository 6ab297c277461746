"""How a file is to be read (encoding, sheet, amount unit, mapping, limits), and the column-placement
report every tabular kind shares. Below ``run`` and ``units`` so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from importers.columns import KINDS
from importers.problems import Problems
from importers.safety import Limits


@dataclass
class ReadOptions:
    encoding: str | None = None
    sheet: str | None = None
    amount_unit: str | None = None  # 元 | 万元 | 亿元 (any spelling ledger.amount_units takes), for amount columns whose header names no unit
    mapping: Path | None = None
    limits: Limits = field(default_factory=Limits.from_env)


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
