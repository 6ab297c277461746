"""What logging a published batch costs: ``tlog.record_batch`` (read back, canonical rows, hashes,
row digests, leaf, checkpoint) on one batch of N expense rows, and ``sunshine verify``'s recheck of it.

    .venv/bin/python -m bench.tlog_cost --rows 200000 [--postgres URL]

Prints one JSON line: rows, backend, seconds for record_batch and for verify, µs per row, load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time

import polars as pl
import psycopg
from sqlalchemy.engine import make_url

from ledger.log import tlog
from ledger.log.verify import verify
from ledger.store import batches, migrate
from ledger.store.db import make_engine, reading, writing
from ledger.store.models import ExpenseEntry


def frame(bid: int, unit_id: int, n: int) -> pl.DataFrame:
    i = pl.int_range(0, n, eager=True)
    return pl.DataFrame({
        "batch_id": pl.repeat(bid, n, eager=True),
        "source_row": i + 2,
        "unit_id": pl.repeat(unit_id, n, eager=True),
        "fiscal_year": pl.repeat(2023, n, eager=True),
        "entry_date": pl.date_range(dt.date(2023, 1, 1), dt.date(2023, 12, 31), eager=True).sample(n, with_replacement=True, seed=1),
        "category_code": pl.Series(["reception", "meeting", "overseas_travel", "training"]).sample(n, with_replacement=True, seed=2),
        "amount_fen": (i * 7919) % 10_000_000 - 500,
        "currency": pl.repeat("CNY", n, eager=True),
        "payee": ("某酒店第" + (i % 997).cast(pl.Utf8) + "分店"),
        "description": ("接待 \"检查组\" 第" + (i % 13).cast(pl.Utf8) + "批"),
        "voucher_no": ("V" + i.cast(pl.Utf8)),
        "persons": (i % 9),
        "created_at": pl.repeat(dt.datetime(2024, 1, 1), n, eager=True),
    })


def fresh_db(postgres: str | None, tmp: str) -> str:
    if postgres is None:
        url = f"sqlite:///{tmp}/cost.sqlite3"
    else:
        name = f"tlog_cost_{os.getpid()}"
        admin = make_url(postgres).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
        url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_db(postgres: str, url: str) -> None:
    admin = make_url(postgres).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {make_url(url).database}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SUNSHINE_LOG_KEY"] = f"{tmp}/log.key"
        url = fresh_db(args.postgres, tmp)
        engine = make_engine(url)
        with writing(engine) as conn:
            bid = batches.create_batch(conn, kind="expenses", file_name="cost.csv", sha256="0" * 64, submitted_by="bench")
            units = batches.ensure_units(conn, [("U1", "市财政局")], bid)
            batches.bulk_insert(conn, ExpenseEntry.__table__, frame(bid, units["U1"], args.rows))
        t0 = time.perf_counter()
        with writing(engine) as conn:
            tlog.record_batch(conn, bid, role="finance")
        publish = time.perf_counter() - t0
        t0 = time.perf_counter()
        with reading(engine) as conn:
            report = verify(conn)
        check = time.perf_counter() - t0
        assert report.ok, report.problems[:3]
        engine.dispose()
        if args.postgres:
            drop_db(args.postgres, url)
        print(json.dumps({
            "rows": args.rows, "backend": "postgresql" if args.postgres else "sqlite",
            "record_batch_s": round(publish, 3), "record_batch_us_per_row": round(publish / args.rows * 1e6, 2),
            "verify_s": round(check, 3), "loadavg": [round(x, 2) for x in os.getloadavg()],
        }))


if __name__ == "__main__":
    main()
