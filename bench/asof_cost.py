"""What reading ``as_of`` a checkpoint costs: resolving it (checkpoint, leaves re-hashed, live batches) and an
aggregate and a page of expenses pinned to it, against the same reads of the current data.

    .venv/bin/python -m bench.asof_cost --batches 300 --rows 2000 [--postgres URL]

Every tenth batch is a correction superseding the batch before it. Prints one JSON line: CPU seconds
(user+sys of this process, which runs the SQLite engine; PostgreSQL's server time is not in it) and
wall seconds per read, averaged over ``--repeat`` reads, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from bench.tlog_cost import drop_db, frame, fresh_db
from ledger.log import events
from ledger.read import aggregate, asof, queries
from ledger.read.types import Filters
from ledger.store import batches
from ledger.store.batches import pinned
from ledger.store.db import make_engine, reading, writing
from ledger.store.models import ExpenseEntry


def publish(engine, n_batches: int, rows: int) -> None:
    previous = None
    for b in range(n_batches):
        with writing(engine) as conn:
            supersedes = previous if b % 10 == 9 else None
            bid = batches.create_batch(conn, kind="expenses", file_name=f"b{b}.csv", sha256=f"{b:064x}",
                                       submitted_by="bench", supersedes_id=supersedes)
            units = batches.ensure_units(conn, [(f"U{b % 50}", f"单位{b % 50}")], bid)
            batches.bulk_insert(conn, ExpenseEntry.__table__, frame(bid, units[f"U{b % 50}"], rows))
            events.batch_published(conn, bid)
            previous = bid


def timed(engine, fn, repeat: int) -> dict:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        with reading(engine) as conn:
            fn(conn)
    return {"cpu_ms": round((time.process_time() - cpu) / repeat * 1000, 2),
            "wall_ms": round((time.perf_counter() - wall) / repeat * 1000, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SUNSHINE_LOG_KEY"] = f"{tmp}/log.key"
        url = fresh_db(args.postgres, tmp)
        engine = make_engine(url)
        publish(engine, args.batches, args.rows)
        half = str(args.batches // 2)

        def pinned_read(read):
            def run(conn):
                _, pin = asof.resolve(conn, half)
                with pinned(pin):
                    read(conn)
            return run

        def agg(conn):
            aggregate.aggregate(conn, ["unit", "year"], Filters())

        def page(conn):
            queries.list_rows(conn, "expenses", Filters(), limit=100)

        out = {
            "backend": "postgresql" if args.postgres else "sqlite", "batches": args.batches, "rows_per_batch": args.rows,
            "as_of": half,
            "resolve": timed(engine, lambda conn: asof.resolve(conn, half), args.repeat),
            "aggregate_now": timed(engine, agg, args.repeat), "aggregate_as_of": timed(engine, pinned_read(agg), args.repeat),
            "page_now": timed(engine, page, args.repeat), "page_as_of": timed(engine, pinned_read(page), args.repeat),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
        engine.dispose()
        if args.postgres:
            drop_db(args.postgres, url)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
