"""Cold reads: the first page of every public list, with each single filter and each sort, timed and EXPLAINed.

    .venv/bin/python -m bench.cold_reads --database sqlite:///var/bench/m1/db/bench.sqlite3 [--repeat 5] [--json out.json]

No HTTP and no response cache: each read is ``ledger.read.queries.list_rows`` (the page and its
``total``) inside a fresh read transaction, as a cache miss of ``/api/v1/<dataset>`` runs it. Each
case is run ``--repeat`` times; the minimum is reported (the machine is shared, so the minimum is
the figure least swayed by other work), with the median beside it. The plan of the page's SQL is
printed as the database states it (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL): the lines
naming a table scan or an index are the ones that matter. ``tests/api/test_read_plans.py`` asserts
on SQLite that no case scans a whole large table.

Filter values are taken from a row in the middle of each dataset, so each filter matches something.

``--aggregate`` times instead the uncached aggregates and one random unit's first page, as the HTTP
benchmark asks them (``bench/scenarios.py``): each case once to warm the process (the per-batch totals,
kept resolved figures and page plans are per process, as in a server worker), then ``--repeat`` times;
``--profile`` adds a cProfile of each case. ``--first`` times instead what a new process pays the first
time (the per-batch totals, each aggregate, and the aggregate again once what is kept per list of batches
is emptied and the newest batch is new, as after an import), with this process's CPU and the PostgreSQL
backend's (one sample per run; ``--json`` appends a line); ``--first-flags`` the same for the first flags page
(the names the privacy rules hide, built per process and new batch). Unit codes are drawn at random (seed 7) from the
``bench/generate.py`` codes (``44`` and seven digits).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import math
import os
import pstats
import random
import statistics
import time
from typing import Any

from sqlalchemy import Connection, text

from ledger.read import aggregate, counts, queries
from ledger.read.datasets import DATASETS
from ledger.read.published import pages as queries_pages
from ledger.read.types import Filters
from ledger.store.db import make_engine, reading

LISTS = ("expenses", "budgets", "procurement", "units", "import-batches", "flags", "targets", "target-results")
# filter → the output column of a sample row that gives its value
SOURCES = {
    "unit": "unit_code", "unit_level": "unit_level", "year": "fiscal_year", "year_from": "fiscal_year",
    "year_to": "fiscal_year", "category": "category_code", "payee": "payee", "amount_min": None, "amount_max": None,
    "date_from": None, "date_to": None, "updated_since": "created_at", "batch": "batch_id", "stage": "stage",
    "method": "method", "ocds_method": "ocds_method", "level": "level", "parent": "parent_code",
    "rule": "rule_code", "state": "state", "target": "target_id", "status": "status", "kind": "kind",
}
_FIELDS = {f: t for f, t in Filters.__annotations__.items()}


def sample_row(conn: Connection, dataset: str) -> dict[str, Any] | None:
    page = queries.list_rows(conn, dataset, limit=1, count=False)
    if not page.rows:
        return None
    first = page.rows[0]["id"]
    if isinstance(first, int):
        last = queries.list_rows(conn, dataset, sort="-id", limit=1, count=False).rows[0]["id"]
        mid = queries.list_rows(conn, dataset, Filters(), limit=1, count=False,
                                cursor=queries.encode_cursor("id", None, (first + last) // 2)).rows
        return mid[0] if mid else page.rows[0]
    return page.rows[0]


def filter_value(ds_name: str, name: str, row: dict[str, Any]) -> Any:
    """A value for filter ``name`` that matches ``row`` (None when the row has none)."""
    if name == "group":
        return ["three_public"] if ds_name != "targets" else [row.get("group_code")] if row.get("group_code") else None
    if name == "supplier":
        value = row.get("supplier_name") or row.get("payee")
    elif name in ("amount_min", "amount_max"):
        value = next((row[k] for k in ("amount_fen", "contract_fen") if row.get(k) is not None), None)
    elif name in ("date_from", "date_to"):
        value = next((row[k] for k in ("entry_date", "contract_date") if row.get(k) is not None), None)
        value = dt.date.fromisoformat(value) if isinstance(value, str) else value
    else:
        value = row.get(SOURCES.get(name) or name)
    if value is None:
        return None
    return [value] if "list" in str(_FIELDS[name]) else value


def cases(conn: Connection, dataset: str) -> list[tuple[str, Filters, str]]:
    """``(label, filters, sort)``: no filter with each sort both ways, then each filter alone."""
    ds = DATASETS[dataset]
    out = [(f"sort={s}", Filters(), s) for key in sorted(ds.sorts) for s in (key, f"-{key}")]
    row = sample_row(conn, dataset)
    for name in sorted(ds.filters):
        value = filter_value(dataset, name, row) if row else None
        if value is None:
            continue
        out.append((f"{name}=", Filters(**{name: value}), "id"))
    return out


def page_sql(conn: Connection, dataset: str, filters: Filters, sort: str, sparse: bool = False) -> tuple[str, Any]:
    """The SQL and parameters of the page ``list_rows`` would run (first page, limit 100); ``sparse``: the
    plan it takes when the count found few matches for a range filter (``queries._sparse``)."""
    ds = DATASETS[dataset]
    key = sort.removeprefix("-")
    plan = queries_pages.plan(conn, ds, filters, key, ds.sorts[key], sort.startswith("-"), False, sparse=sparse)
    values: dict[str, Any] = {f"f_{n}": getattr(filters, n) for n in filters.given()}
    values["c_limit"] = 101
    params = dict(plan.constants)
    for name, value in values.items():
        proc = plan.binders.get(name)
        if name in plan.expanding:
            for i, v in enumerate(value, 1):
                params[f"{name}_{i}"] = proc(v) if proc else v
        else:
            params[name] = proc(value) if proc else value
    return plan.sql, [params[n] for n in plan.order] if plan.order is not None else params


def explain(conn: Connection, dataset: str, filters: Filters, sort: str, sparse: bool = False) -> list[str]:
    """The plan of the page's SQL, one line per step."""
    sql, params = page_sql(conn, dataset, filters, sort, sparse)
    cursor = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return [r[3] for r in cursor.fetchall()]
        cursor.execute("EXPLAIN " + sql, params)
        return [r[0] for r in cursor.fetchall()]
    finally:
        cursor.close()


def measure(url: str, repeat: int, only: list[str] | None = None) -> list[dict[str, Any]]:
    engine = make_engine(url)
    results = []
    with reading(engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("SELECT 1"))
        todo = [(d, c) for d in (only or LISTS) for c in cases(conn, d)]
    for dataset, (label, filters, sort) in todo:
        times = []
        for _ in range(repeat):
            with reading(engine) as conn:
                start = time.perf_counter()
                page = queries.list_rows(conn, dataset, filters, sort=sort, limit=100)
                times.append((time.perf_counter() - start) * 1000)
        with reading(engine) as conn:
            sparse = queries._sparse(conn, filters, sort.removeprefix("-"), *counts.page_total(conn, DATASETS[dataset], filters))
            plan = explain(conn, dataset, filters, sort, sparse) if dataset in queries._PLANNED else []
        results.append({"dataset": dataset, "case": label, "sort": sort, "min_ms": round(min(times), 1),
                        "median_ms": round(statistics.median(times), 1), "p99_ms": round(_p99(times), 1),
                        "rows": len(page.rows),
                        "total": page.total, "total_exact": getattr(page, "total_exact", True), "plan": plan})
    engine.dispose()
    return results


def _p99(times: list[float]) -> float:
    """Nearest-rank 99th percentile: with fewer than 100 repeats, the slowest run."""
    ranked = sorted(times)
    return ranked[max(0, math.ceil(0.99 * len(ranked)) - 1)]


def _unit(units: int) -> str:
    return f"44{random.randint(1, units):07d}"


AGGREGATES = {
    "aggregate drilldown=category&year=2023": lambda c, n: aggregate.aggregate(c, ["category"], Filters(year=[2023])),
    "aggregate drilldown=year": lambda c, n: aggregate.aggregate(c, ["year"], Filters()),
    "aggregate drilldown=year,category&group=three_public":
        lambda c, n: aggregate.aggregate(c, ["year", "category"], Filters(group=["three_public"])),
    "aggregate drilldown=year&unit=<random>": lambda c, n: aggregate.aggregate(c, ["year"], Filters(unit=[_unit(n)])),
    "expenses?unit=<random> (first page)": lambda c, n: queries.list_rows(c, "expenses", Filters(unit=[_unit(n)])),
}


def measure_aggregates(url: str, repeat: int, units: int = 10_000, profile: bool = False) -> None:
    engine = make_engine(url)
    random.seed(7)
    for name, run in AGGREGATES.items():
        with reading(engine) as conn:
            run(conn, units)
        times, prof = [], cProfile.Profile() if profile else None
        for _ in range(repeat):
            with reading(engine) as conn:
                start = time.perf_counter()
                if prof:
                    prof.enable()
                run(conn, units)
                if prof:
                    prof.disable()
                times.append((time.perf_counter() - start) * 1000)
        print(f"{name}: min {min(times):.1f} median {statistics.median(times):.1f} max {max(times):.1f} ms")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(15)


def _cpu(conn: Connection) -> tuple[float, float]:
    """``(this process's CPU s, the PostgreSQL backend's CPU s)``: the backend's from /proc (same machine)."""
    backend = 0.0
    if conn.dialect.name == "postgresql":
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return time.process_time(), backend


def measure_first(url: str) -> list[dict[str, Any]]:
    """What this new process pays the first time: the per-batch totals, each aggregate, then each again
    after an import would have emptied what is kept per list of batches (coverage, resolved figures) and
    the newest batch is new to the process. One sample per run: run the command again for more."""
    from ledger.read import aggregate_figures, totals

    engine = make_engine(url)
    random.seed(7)
    steps = [("first totals read (live_totals)", lambda c: totals.live_totals(c)),
             ("first coverage (coverage of actual)", lambda c: totals.coverage(c))]
    steps += [(f"first {name}", run) for name, run in AGGREGATES.items() if "unit=" not in name]

    def after_import(conn: Connection) -> None:  # what a new batch does to this process's keeps
        with totals._lock:
            for kept in (*totals._kept.values(), *getattr(totals, "_kept_units", {}).values()):
                kept.pop(max(kept, default=None), None)
            totals._kept_coverage.clear()
        aggregate_figures._kept.clear()

    steps += [("after an import: aggregate drilldown=year", lambda c: (after_import(c), aggregate.aggregate(
        c, ["year"], Filters())))]
    out = []
    for name, run in steps:
        with reading(engine) as conn:
            cpu0, be0 = _cpu(conn)
            start = time.perf_counter()
            run(conn, 10_000) if "aggregate" in name and "after" not in name else run(conn)
            wall = (time.perf_counter() - start) * 1000
            cpu1, be1 = _cpu(conn)
        out.append({"case": name, "wall_ms": round(wall, 1), "cpu_ms": round((cpu1 - cpu0) * 1000, 1),
                    "backend_cpu_ms": round((be1 - be0) * 1000, 1), "load": os.getloadavg()[0]})
        print(f"{name}: {wall:.1f} ms wall, {(cpu1 - cpu0) * 1000:.1f} ms CPU, "
              f"{(be1 - be0) * 1000:.1f} ms backend CPU (load {os.getloadavg()[0]:.1f})")
    engine.dispose()
    return out


def measure_first_flags(url: str) -> list[dict[str, Any]]:
    """What a new process pays for its first flags page: the names the privacy rules hide are built then
    (``ledger.read.privacy.redactor._hidden_names``), and again for a batch new to the process."""
    from ledger.read.privacy import redactor

    def after_import() -> None:  # what a new batch does to the names this process keeps
        for key, kept in list(redactor._names_cache.items()):
            if isinstance(kept, tuple) and isinstance(kept[0], tuple):  # kept per batch: the newest is read again
                (n, newest, ids), names = kept
                redactor._names_cache[key] = ((n - 1, 0, ids - {newest}), names)
            else:  # kept per newest batch (before 0016_batch_names): all again
                del redactor._names_cache[key]

    steps = [("first units page (configures the ORM)", lambda c: queries.list_rows(c, "units", limit=100)),
             ("first flags page (hidden names built)", lambda c: queries.list_rows(c, "flags", limit=100)),
             ("flags page again", lambda c: queries.list_rows(c, "flags", limit=100)),
             ("after an import: flags page", lambda c: (after_import(), queries.list_rows(c, "flags", limit=100)))]
    engine, out = make_engine(url), []
    for name, run in steps:
        with reading(engine) as conn:
            cpu0, be0 = _cpu(conn)
            start = time.perf_counter()
            run(conn)
            wall = (time.perf_counter() - start) * 1000
            cpu1, be1 = _cpu(conn)
        hidden = sum(len(v[1] if isinstance(v, tuple) else v) for v in redactor._names_cache.values())
        out.append({"case": name, "wall_ms": round(wall, 1), "cpu_ms": round((cpu1 - cpu0) * 1000, 1),
                    "backend_cpu_ms": round((be1 - be0) * 1000, 1), "hidden_names": hidden, "load": os.getloadavg()[0]})
        print(f"{name}: {wall:.1f} ms wall, {(cpu1 - cpu0) * 1000:.1f} ms CPU, {(be1 - be0) * 1000:.1f} ms backend "
              f"CPU, {hidden} hidden names (load {os.getloadavg()[0]:.1f})")
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="comma-separated datasets")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--aggregate", action="store_true", help="time the uncached aggregates and unit pages instead")
    parser.add_argument("--profile", action="store_true", help="with --aggregate: a cProfile of each case")
    parser.add_argument("--first", action="store_true", help="what a new process pays first (one sample per run)")
    parser.add_argument("--first-flags", action="store_true", help="a new process's first flags page (one sample)")
    args = parser.parse_args(argv)
    if args.first or args.first_flags:
        results = (measure_first_flags if args.first_flags else measure_first)(args.database)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(results, ensure_ascii=False) + "\n")
        return 0
    if args.aggregate:
        measure_aggregates(args.database, args.repeat, profile=args.profile)
        return 0
    results = measure(args.database, args.repeat, args.only.split(",") if args.only else None)
    for r in results:
        exact = "" if r["total_exact"] in (True, None) else " (capped)"
        print(f"{r['dataset']:15} {r['case']:22} min {r['min_ms']:8.1f} ms  median {r['median_ms']:8.1f} ms  p99 {r['p99_ms']:8.1f} ms  "
              f"total {r['total']}{exact}")
        for line in r["plan"]:
            if any(w in line for w in ("SCAN", "SEARCH", "Scan", "Sort", "TEMP")):
                print(f"{'':40}{line.strip()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def report(before: list[dict], after: list[dict], db: str) -> str:
    """A markdown table: each case's minimum before and after, the total after, the page plan's key step."""
    was = {(r["dataset"], r["case"]): r for r in before}
    lines = [f"| dataset | case | before min (ms) | after min (ms) | after median (ms) | total after | {db} plan after (page) |",
             "|---|---|---|---|---|---|---|"]
    for r in after:
        b = was.get((r["dataset"], r["case"]))
        key = [s.strip() for s in r["plan"] if any(w in s for w in ("SCAN", "SEARCH", "Scan", "Sort", "TEMP"))]
        key = [k.split("  (cost")[0].removeprefix("->  ") for k in key if "superseding" not in k and " u " not in k
               and "pk_unit" not in k and "parent" not in k][:2]
        total = "—" if r["total"] is None else f"{r['total']:,}" + ("" if r["total_exact"] in (True, None) else " (capped)")
        lines.append(f"| {r['dataset']} | `{r['case']}` | {b['min_ms'] if b else '—'} | {r['min_ms']} | {r['median_ms']} "
                     f"| {total} | {'; '.join(f'`{k}`' for k in key)} |")
    return "\n".join(lines)


def side_by_side(sqlite: list[dict], postgres: list[dict], aim_ms: float = 50.0) -> str:
    """A markdown table: each case's p99 (min / median) on both databases; over ``aim_ms`` in bold."""
    def cell(r: dict | None) -> str:
        if r is None:
            return "—"
        p99 = f"{r['p99_ms']:,.1f}"
        return f"{'**' + p99 + '**' if r['p99_ms'] > aim_ms else p99} ({r['min_ms']:,.1f} / {r['median_ms']:,.1f})"
    pg = {(r["dataset"], r["case"]): r for r in postgres}
    seen = [(r["dataset"], r["case"]) for r in sqlite] + [k for k in pg if k not in {(r["dataset"], r["case"]) for r in sqlite}]
    lite = {(r["dataset"], r["case"]): r for r in sqlite}
    lines = ["| dataset | case | SQLite p99 (min / median), ms | PostgreSQL p99 (min / median), ms |", "|---|---|---|---|"]
    lines += [f"| {d} | `{c}` | {cell(lite.get((d, c)))} | {cell(pg.get((d, c)))} |" for d, c in seen]
    return "\n".join(lines)
