"""Profile one ``sunshine check`` in process with a CPU clock: where a first run (or a re-check) spends its time.

    .venv/bin/python -m bench.profiles.check_profile sqlite:///var/m1/first.sqlite3 [--clear] [--json] [--top 40]

``--clear`` forgets earlier check runs first (bench databases only), so the run is a first run.
``--json`` also streams the results as ``sunshine check --json`` prints them (to /dev/null).
Prints the CPU seconds of the run (``time.process_time``, polars' worker threads included) and
cProfile's cumulative table (``cProfile.Profile(time.process_time)``) for our own functions.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

from ledger.rules import thresholds
from ledger.rules.bulk.result_lines import result_lines
from ledger.rules.checks import run_checks
from ledger.store.db import make_engine, reading, writing

CLEAR = ("DELETE FROM flag_review", "DELETE FROM flag", "DELETE FROM target_result", "DELETE FROM check_run")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--clear", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--no-profile", action="store_true", help="CPU seconds only")
    args = ap.parse_args(argv)
    engine = make_engine(args.url)
    if args.clear:
        with writing(engine) as conn:
            for sql in CLEAR:
                conn.exec_driver_sql(sql)
    config = thresholds.load_flag_config()
    prof = None if args.no_profile else cProfile.Profile(time.process_time)
    load = os.getloadavg()[0]
    t0, w0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    with writing(engine) as conn:
        summary = run_checks(conn, config=config, actor="bench")
    if args.json:
        import contextlib

        from cli.common import print_json_stream
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), reading(engine) as conn:
            print_json_stream({"run_id": summary.run_id}, "targets", result_lines(conn, summary.run_id), encoded=True)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    print(f"run {summary.run_id} reused={summary.reused} results={summary.results} "
          f"flags={ {k: v for k, v in summary.flags.items() if k not in ('by_rule', 'skipped')} }")
    print(f"CPU {cpu:.2f} s, wall {wall:.2f} s, load {load:.2f}->{os.getloadavg()[0]:.2f}")
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
