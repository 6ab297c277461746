"""The unit register enforced at import: a unit code the register does not know is held, not created.

Once a register is loaded (a live ``units`` batch), an expenses, budgets or disclosure file naming a
unit code the ledger does not know is refused with ``unit-unknown``, naming the file, sheet, row and
column where the code first appears and the closest known codes (``1O1005`` → ``101005``): a mistyped
code would otherwise become a new public unit. ``--new-units`` admits genuinely new units; each is then
listed as a ``unit-admitted`` warning. Without a register, new codes are created as before.
"""

from __future__ import annotations

import difflib

import polars as pl
from sqlalchemy import Connection, select

from ledger.store.batches import live
from ledger.store.models import ImportBatch, Unit

KINDS = ("expenses", "budgets", "disclosure")
SUGGESTED = 3  # closest known codes named per unknown code
CHECKED = 200  # unknown codes given suggestions (and listed) per file; the count is always complete


def register_loaded(conn: Connection) -> bool:
    b = ImportBatch.__table__
    return conn.execute(select(b.c.id).where(b.c.kind == "units", live(b.c.id)).limit(1)).first() is not None


def check(conn: Connection, kind: str, firsts: pl.DataFrame, column: str | None, problems, admit: bool) -> list[dict]:
    """Problems for unit codes of ``firsts`` (unit_code, unit_name, sheet, source_row: first occurrence) not in
    the ledger; returns the unknown units as listed in the report (code, name, sheet, row, column, closest)."""
    if kind not in KINDS or firsts.height == 0 or not register_loaded(conn):
        return []
    codes = firsts["unit_code"].to_list()
    known: set[str] = set()
    for i in range(0, len(codes), 5000):
        known.update(conn.execute(select(Unit.code).where(Unit.code.in_(codes[i:i + 5000]))).scalars())
    unknown = firsts.filter(~pl.col("unit_code").is_in(list(known)))
    if unknown.height == 0:
        return []
    register = list(conn.execute(select(Unit.code)).scalars())
    out = []
    for code, name, sheet, row in unknown.head(CHECKED).select("unit_code", "unit_name", "sheet", "source_row").iter_rows():
        closest = difflib.get_close_matches(code, register, n=SUGGESTED, cutoff=0.5)
        at = {"sheet": sheet, "row": row, "column": column or "unit_code", "value": code}
        if admit:
            problems.add("unit-admitted", severity="warning", detail=name or code, **at)
        else:
            problems.add("unit-unknown", detail="、".join(closest) or "—", **at)
        out.append({"unit_code": code, "unit_name": name, "sheet": sheet, "row": row, "column": at["column"],
                    "closest": closest})
    if unknown.height > CHECKED and not admit:
        problems.add("unit-unknown", column=column or "unit_code", value=f"{unknown.height - CHECKED} more",
                     detail="—")
    return out
