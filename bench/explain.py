"""EXPLAIN ANALYZE of the API's hot queries, exactly as the read path issues them.

    .venv/bin/python -m bench.explain postgresql+psycopg://postgres@127.0.0.1:5432/bench_medium
    .venv/bin/python -m bench.explain sqlite:///var/bench/medium/ledger.sqlite3

Runs ``ledger.queries.list_rows`` and ``ledger.queries_aggregate.aggregate`` with the filters the
public uses most, records every SELECT they send (statement and parameters, through a SQLAlchemy
cursor event), then asks the database for its plan with those same parameters. The output goes to
``bench/results/explain-<db>.txt`` and into docs/deploy.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import event

from ledger.db import make_engine, reading
from ledger.queries import Filters, list_rows
from ledger.queries_aggregate import aggregate

ROOT = Path(__file__).resolve().parent.parent

HOT = [
    ("first 100-row page of expenses", lambda c: list_rows(c, "expenses", Filters(), limit=100)),
    ("100 expenses of one unit and year", lambda c: list_rows(c, "expenses", Filters(unit=["440000001"], year=[2023]),
                                                             limit=100)),
    ("100 reception expenses of a year, largest first",
     lambda c: list_rows(c, "expenses", Filters(year=[2022], category=["reception"]), sort="-amount", limit=100)),
    ("expenses of a payee", lambda c: list_rows(c, "expenses", Filters(payee=["供应商00042"]), limit=100)),
    ("aggregate by category for a year", lambda c: aggregate(c, ["category"], Filters(year=[2023]))),
    ("aggregate by year for one unit", lambda c: aggregate(c, ["year"], Filters(unit=["440000001"]))),
]


def explain(url: str) -> str:
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    out = []
    for title, run in HOT:
        seen: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany, seen=seen):
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with reading(engine) as conn:
                started = time.perf_counter()
                run(conn)
                ms = (time.perf_counter() - started) * 1000
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        out.append(f"### {title} ({ms:.1f} ms in the read path, {len(seen)} statement(s))\n")
        for statement, parameters in seen:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                cur = raw.cursor()
                cur.execute(prefix + statement, parameters)
                rows = cur.fetchall()
            plan = [r[0] for r in rows] if pg else [f"{'  ' * (r[1] != 0)}{r[3]}" for r in rows]
            out.append("```\n" + " ".join(statement.split())[:600] + "\n--\n" + "\n".join(plan) + "\n```\n")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    url = argv[0]
    text = explain(url)
    name = "postgres" if url.startswith("postgres") else "sqlite"
    path = ROOT / "bench" / "results" / f"explain-{name}.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
