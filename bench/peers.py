"""The peers our figures are divided by, run on the very files our import reads.

- ``sqlite3`` shell ``.import --csv``: the floor for loading SQLite (one transaction, no parsing
  beyond CSV, every column TEXT, no indexes), with the ledger's own durability settings (WAL,
  ``synchronous=FULL``) so the comparison is about work, not about fsync.
- ``sqlite-utils insert --csv``: the well-known Python loader.
- PostgreSQL ``COPY … FROM STDIN (FORMAT csv, HEADER)`` through psycopg 3: the floor for PostgreSQL,
  into an unindexed table of TEXT columns named as the CSV's header.
- A polars lazy ``scan_csv → group_by → collect`` summing amounts per unit, year and category:
  the floor for ``sunshine check``.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import psycopg

from bench.measure import BIN, Run, measured

COPY_BLOCK = 1 << 20


def csv_rows(path: Path) -> int:
    """Data rows in a CSV we generated (no embedded newlines): lines minus the header."""
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1


def head(csv: Path, rows: int, out: Path) -> Path:
    """The header and the first ``rows`` data rows of ``csv``, for a peer too slow for the whole file."""
    with csv.open("rb") as src, out.open("wb") as dst:
        for _ in range(rows + 1):
            line = src.readline()
            if not line:
                break
            dst.write(line)
    return out


def sqlite_shell_import(csv: Path, db: Path, table: str = "expense_csv") -> Run:
    db.unlink(missing_ok=True)
    script = (
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n"
        f".import --csv {csv} {table}\n"
        f"SELECT count(*) FROM {table};\n"
    )
    run = measured(["sqlite3", str(db)], stdin=script)
    if run.returncode:
        raise RuntimeError(f"sqlite3 .import failed: {run.stderr}")
    return run


def sqlite_utils_insert(csv: Path, db: Path, table: str = "expense_csv") -> Run:
    db.unlink(missing_ok=True)
    run = measured([str(BIN / "sqlite-utils"), "insert", str(db), table, str(csv), "--csv"])
    if run.returncode:
        raise RuntimeError(f"sqlite-utils insert failed: {run.stderr}")
    return run


def pg_copy(csv: Path, conninfo: str, table: str = "expense_csv") -> float:
    """Seconds to COPY the whole file into a fresh TEXT table and commit (in this process)."""
    with csv.open("rb") as f:
        header = f.readline().decode("utf-8").strip().split(",")
    columns = ", ".join(f'"{c}" text' for c in header)
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({columns})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy, csv.open(
            "rb"
        ) as f:
            while block := f.read(COPY_BLOCK):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    return seconds


def polars_group_by(csv: Path) -> tuple[float, int]:
    """Seconds for a lazy scan → group_by → collect over the entries, and the number of groups."""
    started = time.perf_counter()
    out = (
        pl.scan_csv(csv, schema_overrides={"unit_code": pl.String, "amount": pl.String})
        .with_columns(pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64).alias("fen"))
        .group_by("unit_code", "fiscal_year", "category")
        .agg(pl.col("fen").sum(), pl.len())
        .collect()
    )
    return time.perf_counter() - started, out.height


if __name__ == "__main__":  # the polars peer as a command of its own, like `sunshine check`
    import sys

    seconds, groups = polars_group_by(Path(sys.argv[1]))
    print(f"{groups} groups in {seconds:.3f} s")
