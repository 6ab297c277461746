"""EXPLAIN ANALYZE of the API's hot queries, exactly as the read path issues them.

    .venv/bin/python -m bench.profiles.explain postgresql+psycopg://postgres@127.0.0.1:5432/bench_medium
    .venv/bin/python -m bench.profiles.explain sqlite:///var/bench/medium/ledger.sqlite3

Runs ``ledger.read.queries.list_rows`` and ``ledger.read.aggregate.aggregate`` with the filters the
public uses most, records every SELECT they send (statement and parameters, through a SQLAlchemy
cursor event), then asks the database for its plan with those same parameters. The output goes to
``bench/results/explain-<db>.txt`` and into docs/deploy.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import event

from ledger.read.aggregate import aggregate
from ledger.read.queries import Filters, list_rows
from ledger.store.db import make_engine, reading

ROOT = Path(__file__).resolve().parent.parent.parent

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


_SEEN: list[tuple[str, object]] = []


def _keep(statement: str, parameters) -> None:
    if statement.lstrip().upper().startswith(("SELECT", "WITH")) and " pg_type " not in statement:
        _SEEN.append((statement, parameters))


def _watch_driver(engine) -> None:
    """Also see statements the read path sends on the driver cursor, past SQLAlchemy's events."""
    if engine.dialect.name == "postgresql":
        import psycopg

        original = psycopg.Cursor.execute
        if not getattr(original, "_bench", False):
            def execute(self, query, params=None, *args, **kwargs):
                text = query if isinstance(query, str) else getattr(query, "as_string", lambda _c: str(query))(self)
                _keep(text, params)
                return original(self, query, params, *args, **kwargs)

            execute._bench = True
            psycopg.Cursor.execute = execute
    else:
        @event.listens_for(engine, "connect")
        def _trace(dbapi_conn, _record):
            dbapi_conn.set_trace_callback(lambda sql: _keep(sql, None))


def explain(url: str) -> str:
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    _watch_driver(engine)
    out = []
    for title, run in HOT:
        _SEEN.clear()
        with reading(engine) as conn:
            started = time.perf_counter()
            run(conn)
            ms = (time.perf_counter() - started) * 1000
        # SQLAlchemy's own statements come through the patched cursor too; keep each once.
        seen = list(dict.fromkeys((s, repr(p)) for s, p in _SEEN))
        seen = [(s, next(p for s2, p in _SEEN if s2 == s)) for s, _ in seen]
        out.append(f"### {title} ({ms:.1f} ms in the read path, {len(seen)} statement(s))\n")
        for statement, parameters in seen:
            if "EXPLAIN" in statement.upper()[:20]:
                continue
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                cur = raw.cursor()
                if parameters is None:
                    cur.execute(prefix + statement)
                else:
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
