"""CPU seconds of each step of one ``run_checks`` (no profiler: ``time.process_time`` around the steps).

    .venv/bin/python -m bench.profiles.check_steps sqlite:///var/m1/copy.sqlite3 [--clear]

Wraps the check's steps (reading and resolving the rollups, evaluating the targets, each flag rule, the
digests, each bulk insert by table, SQLite's ANALYZE, the commit) and prints their CPU seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections import defaultdict

from ledger.rules import checks, flags, registry, thresholds
from ledger.store import batches
from ledger.store.bulk import tuning
from ledger.store.db import make_engine, writing

STEPS: dict[str, float] = defaultdict(float)


def _timed(name, fn):
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            STEPS[name if not callable(name) else name(*a, **k)] += time.process_time() - t
    return wrapper


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--clear", action="store_true")
    args = ap.parse_args(argv)
    engine = make_engine(args.url)
    if args.clear:
        with writing(engine) as conn:
            for sql in ("DELETE FROM flag_review", "DELETE FROM flag", "DELETE FROM target_result",
                        "DELETE FROM check_run"):
                conn.exec_driver_sql(sql)
    for mod, name in ((checks, "live_rollups"), (checks, "resolved_sums"), (checks, "evaluate_all"),
                      (flags, "digest")):
        setattr(mod, name, _timed(name, getattr(mod, name)))
    insert = batches.bulk_insert
    checks.bulk_insert = flags.bulk_insert = _timed(lambda conn, table, frame: f"insert {table.name}", insert)
    tuning.analyze_sqlite_if_grown = _timed("analyze", tuning.analyze_sqlite_if_grown)
    for code, r in registry.REGISTRY.items():
        registry.REGISTRY[code] = dataclasses.replace(r, func=_timed(f"rule {code}", r.func))
    config = thresholds.load_flag_config()
    load = os.getloadavg()[0]
    t0 = time.process_time()
    with writing(engine) as conn:
        summary = checks.run_checks(conn, config=config, actor="bench")
        t1 = time.process_time()
    STEPS["commit"] = time.process_time() - t1
    total = time.process_time() - t0
    print(f"run {summary.run_id}: {summary.flags.get('new')} new, {summary.flags.get('changed')} changed flags; "
          f"CPU {total:.2f} s, load {load:.2f}->{os.getloadavg()[0]:.2f}")
    for name, s in sorted(STEPS.items(), key=lambda x: -x[1]):
        print(f"  {s:6.2f}  {name}")
    print(f"  {total - sum(STEPS.values()):6.2f}  (the rest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
