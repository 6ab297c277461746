"""Files and checks shared by the crash, concurrency and fuzz tests (all through the real importer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
from sqlalchemy import text

from ledger.log.verify import verify
from ledger.store.db import reading

SUNSHINE = str(Path(sys.executable).parent / "sunshine")


def expenses_csv(path: Path, rows: int, tag: str, unit_count: int = 40) -> Path:
    """An expenses file in the agreed format; ``tag`` keeps payees and vouchers apart between files."""
    pl.DataFrame({
        "unit_code": [f"U{i % unit_count:03d}" for i in range(rows)],
        "unit_name": [f"单位{i % unit_count}" for i in range(rows)],
        "fiscal_year": [2023] * rows,
        "date": [f"2023-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(rows)],
        "category": ["reception", "meeting", "公务接待费", "transport"][0:4] * (rows // 4) + ["training"] * (rows % 4),
        "amount": [f"{i % 9999 + 1}.{i % 100:02d}" for i in range(rows)],
        "payee": [f"{tag}-payee-{i}" for i in range(rows)],
        "voucher_no": [f"{tag}-{i}" for i in range(rows)],
    }).write_csv(path)
    return path


def expected_fen(rows: int) -> int:
    return sum((i % 9999 + 1) * 100 + i % 100 for i in range(rows))


def sunshine(db_url: str, *args, lang: str = "en", **kw) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess; its text output in ``lang`` (these tests read the English wording)."""
    return subprocess.run([SUNSHINE, "--database", db_url, "--lang", lang, *map(str, args)], capture_output=True,
                          text=True, **kw)


def assert_store_consistent(engine) -> int:
    """No partial batch anywhere, and the log verifies. Returns the number of batches."""
    with reading(engine) as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        batches = conn.execute(text(
            "SELECT b.id, b.rows_loaded, (SELECT count(*) FROM expense_entry e WHERE e.batch_id = b.id) "
            "FROM import_batch b ORDER BY b.id")).all()
        for bid, loaded, stored in batches:
            assert loaded == stored, f"batch {bid}: {stored} rows stored of {loaded}"
        report = verify(conn)
        assert report.ok, report.problems[:3]
        assert report.batches_checked == len(batches) == report.tree_size
    return len(batches)
