"""The whole benchmark at one scale, in one command; prints the table and writes docs/benchmarks.md.

    .venv/bin/python -m bench.run small            # about two minutes
    .venv/bin/python -m bench.run medium           # 5M entries: generate, load, check, serve
    .venv/bin/python -m bench.run small --only load,check --no-doc

Needs ``wrk`` (``apt-get install wrk``), the ``sqlite3`` shell, GNU ``time`` and a PostgreSQL server
(``--pg``, default ``postgresql://postgres@127.0.0.1:5432/postgres``; a database ``bench_<scale>``
is created and dropped). Raw figures go to ``bench/results/<scale>.json``; ``bench/report.py``
renders them (and the projection to the large scale from the small and medium results).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import psycopg

from bench import generate, peers, report
from bench.measure import BIN, ROOT, pg_conninfo
from bench.scenarios import check_phase, http_phase, load_phase, machine, mixed_phase

PHASES = ("load", "check", "http", "mixed")


def fresh_pg(admin_url: str, name: str) -> str:
    """Drop and create ``name``; return its SQLAlchemy URL."""
    with psycopg.connect(pg_conninfo(admin_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return make_pg_url(admin_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scale", choices=list(generate.SCALES))  # m1: 1,000,000 entries
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--only", default=",".join(PHASES), help=f"phases to run, of {','.join(PHASES)}")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-name", help="the PostgreSQL database to (re)create, default bench_<scale>")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per HTTP measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--mixed-seconds", type=int, default=30)
    parser.add_argument("--sqlite-utils-rows", type=int, default=0,
                        help="time sqlite-utils on the first N rows only (it commits every 100 rows: slow at 5M)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the import and the check")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    phases = args.only.split(",")

    work = ROOT / "var" / "bench" / args.scale
    started = time.perf_counter()
    if not (work / "expenses.csv").exists():
        print(f"generating {args.scale} …", flush=True)
        generate.generate(args.scale, ROOT / "var" / "bench")
    gen_seconds = time.perf_counter() - started

    files = {
        kind: {"path": str(work / name), "rows": peers.csv_rows(work / name), "bytes": (work / name).stat().st_size}
        for kind, name in (("expenses", "expenses.csv"), ("budgets", "budgets.csv"), ("procurement", "procurement.csv"),
                           ("expenses_extra", "expenses-extra.csv"))
    }
    results_path = ROOT / "bench" / "results" / f"{args.scale}.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.update(
        scale=args.scale, machine=machine(args.pg), files=files, generate_seconds=round(gen_seconds, 2),
        command=f".venv/bin/python -m bench.run {' '.join(argv if argv is not None else sys.argv[1:])}",
        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    # A table may be filled by several runs (say, one backend again): name every command behind it.
    results["commands"] = [c for c in results.get("commands", []) if c != results["command"]] + [results["command"]]
    urls = {"sqlite": f"sqlite:///{work / 'ledger.sqlite3'}"}
    ctx = {"work": work, "files": files, "urls": urls, "args": args, "pg_admin": args.pg, "fresh_pg": fresh_pg,
           "pg_conninfo": pg_conninfo, "bin": BIN, "pg_name": args.pg_name or f"bench_{args.scale}"}
    if "postgres" in backends:
        name = args.pg_name or f"bench_{args.scale}"
        urls["postgres"] = fresh_pg(args.pg, name) if "load" in phases else make_pg_url(args.pg, name)
    for phase, fn in (("load", load_phase), ("check", check_phase), ("http", http_phase), ("mixed", mixed_phase)):
        if phase not in phases:
            continue
        print(f"== {phase} ==", flush=True)
        section = results.setdefault(phase, {})
        for backend in backends:
            try:
                load_before = os.getloadavg()[0]
                section[backend] = fn(ctx, backend)
                # Other work on the machine skews every figure: keep the load average beside them.
                section[backend]["loadavg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                section[backend]["commit"] = results["machine"]["commit"]
            except Exception as exc:  # a missing piece is a row saying so, not a dead benchmark
                section[backend] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            print(json.dumps(section[backend], default=str)[:600], flush=True)
        results_path.parent.mkdir(exist_ok=True)
        results = _merged(results_path, results, phase, backends)
        results_path.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False))

    table = report.table(results)
    print(table)
    if not args.no_doc:
        report.write_doc(ROOT / "docs" / "benchmarks.md", ROOT / "bench" / "results")
        print("wrote docs/benchmarks.md")
    return 0


def _merged(path, results: dict, phase: str, backends: list[str]) -> dict:
    """``results`` laid over the file as it is now: a run for the other backend may have written meanwhile."""
    latest = json.loads(path.read_text()) if path.exists() else {}
    mine = results[phase]
    for key, value in results.items():
        if key not in PHASES:
            latest[key] = value
    latest["commands"] = list(dict.fromkeys(latest.get("commands", []) + results["commands"]))
    section = latest.setdefault(phase, {})
    for backend in backends:
        if backend in mine:
            section[backend] = mine[backend]
    results.update({k: v for k, v in latest.items() if k != phase})
    results[phase] = section
    return results


def make_pg_url(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(admin_url.replace("postgresql://", "postgresql+psycopg://"))
    return u.set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())
