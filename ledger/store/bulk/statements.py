"""The SQLite ``INSERT`` of a bulk load: what is bound per row, and what is written once.

Used by ``ledger.store.batches.bulk_insert``. Python's ``executemany`` spends most of a row's time
binding its values (1.70 CPU-s for 200,000 expense rows; 1.14 with this, the same rows stored).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
from sqlalchemy import Table

INT64 = (-(2**63), 2**63 - 1)


def sqlite_insert(table: Table, frame: pl.DataFrame) -> tuple[list[str], str]:
    """The columns to bind per row, and the ``INSERT`` that takes them.

    Binding is most of the Python cost of a row, so a column that holds one value in every row is
    written into the statement once instead: NULL is left out when the column has no default (SQLite
    stores NULL then, as it would have bound it), and an integer or a plain string becomes a literal
    (stored with the same type and bytes as the bound value).
    """
    bound, fixed = [], {}
    for c in frame.columns:
        col, dtype = frame.get_column(c), frame.schema[c]
        if col.null_count() == frame.height:
            if c in table.c and table.c[c].server_default is None:
                continue
        elif col.null_count() == 0 and (dtype.is_integer() or dtype == pl.String) and col.n_unique() == 1:
            value = col[0]
            if dtype.is_integer() and INT64[0] <= value <= INT64[1]:
                fixed[c] = str(int(value))
                continue
            if dtype == pl.String and "\x00" not in value:
                fixed[c] = "'" + value.replace("'", "''") + "'"
                continue
        bound.append(c)
    names = bound + list(fixed)
    values = ["?"] * len(bound) + list(fixed.values())
    return bound, f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(values)})"


def rows(part: pl.DataFrame, bound: list[str]) -> Iterable[tuple]:
    """The per-row tuples of ``bound`` (empty tuples, one per row, when every column is written once)."""
    if not bound:
        return [()] * part.height
    return zip(*(part.get_column(c).to_list() for c in bound), strict=True)
