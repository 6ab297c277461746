"""Time the expense import phase by phase, and as a whole command beside its floor.

    .venv/bin/python -m bench.profiles.import_profile var/perf/expenses-100k.csv                 # SQLite, phases
    .venv/bin/python -m bench.profiles.import_profile FILE --backend postgres                     # PostgreSQL
    .venv/bin/python -m bench.profiles.import_profile FILE --cli                                  # + whole command, RSS, peer

``--phases`` (the default) imports in this process into a fresh database and reports the seconds
spent in each phase (wall and CPU, wrapped around the functions that do the work), so a change can
be judged on one phase without the noise of the others. ``--cli`` runs ``sunshine import expenses``
as a child under GNU time (wall, CPU, peak RSS) on another fresh database, and the peer on the same
file (``sqlite3 .import`` with WAL + ``synchronous=FULL``, or psycopg 3 ``COPY``), and prints the
ratio. The machine is shared: the 1-minute load average is printed before and after.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import time
from pathlib import Path

import psycopg

from bench import peers
from bench.measure import BIN, ROOT, measured

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WORK = ROOT / "var" / "perf"

# (label, module, attribute): the functions whose inclusive time is a phase of the import
PHASES = [
    ("read csv blocks", "importers.sheets.sources", "_record_blocks"),
    ("normalise (validate)", "importers.kinds", "normalise"),
    ("duplicates mark", "importers.checks.duplicates", "Finder.mark"),
    ("duplicates report", "importers.checks.duplicates", "Finder.report"),
    ("write (all)", "importers.pipeline", "_write"),
    ("bulk_insert", "importers.pipeline", "bulk_insert"),
    ("ensure_units", "importers.pipeline", "ensure_units"),
    ("frames (lines, sums)", "importers.pipeline", "BatchFrames.add"),
    ("index rebuild", "importers.pipeline", "indexes.set_aside"),
    ("rollups", "ledger.log.events", "refresh_rollups"),
    ("flag basis", "ledger.log.events", "refresh_flag_basis"),
    ("search index", "ledger.log.events", "search_index.index_batch"),
    ("transparency log", "ledger.log.events", "tlog.record_batch"),
]
# databases are named perf_<what>_<tag>: several people profiling on one PostgreSQL server do not collide
TAG = os.environ.get("SUNSHINE_PERF_TAG", "")


def fresh(backend: str, name: str) -> str:
    name = f"{name}_{TAG}" if TAG else name
    if backend == "sqlite":
        db = WORK / f"{name}.sqlite3"
        for p in WORK.glob(db.name + "*"):
            p.unlink()
        return f"sqlite:///{db}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _upgrade(url: str) -> None:
    from ledger.store.migrate import upgrade

    upgrade(url)


def _wrap(times: dict, label: str, module: str, attr: str) -> None:
    import importlib

    obj = importlib.import_module(module)
    *path, last = attr.split(".")
    for p in path:
        obj = getattr(obj, p, None)
    fn = getattr(obj, last, None)
    if fn is None:  # a phase an older revision does not have (comparing before and after)
        return

    def add(w: float, c: float, s: float) -> None:
        t = times.setdefault(label, [0.0, 0.0, 0.0])
        t[0] += time.perf_counter() - w
        t[1] += time.process_time() - c
        t[2] += _server_cpu() - s

    @functools.wraps(fn)
    def timed(*a, **k):
        w, c, s = time.perf_counter(), time.process_time(), _server_cpu()
        try:
            return fn(*a, **k)
        finally:
            add(w, c, s)

    @functools.wraps(fn)
    def timed_gen(*a, **k):  # a generator: time each step, not the consumer's work between steps
        gen = fn(*a, **k)
        while True:
            w, c, s = time.perf_counter(), time.process_time(), _server_cpu()
            try:
                item = next(gen)
            except StopIteration:
                return
            finally:
                add(w, c, s)
            yield item

    setattr(obj, last, timed_gen if inspect.isgeneratorfunction(fn) else timed)


_SERVER_PID: list[int] = []  # the PostgreSQL backend behind the import's pooled connection, once known


def _server_cpu(missing: float | None = 0.0) -> float | None:
    """CPU seconds of that backend so far (``missing`` on SQLite, or when it is not on this machine)."""
    if not _SERVER_PID:
        return missing
    try:
        fields = Path(f"/proc/{_SERVER_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return missing
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_cpu(engine) -> float | None:
    """CPU seconds (user + system) of the server process behind the engine's pooled connection, if local."""
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    _SERVER_PID[:] = [pid]
    return _server_cpu(None)


def phases(csv: Path, backend: str) -> dict:
    url = fresh(backend, "perf_phases")
    _upgrade(url)
    times: dict[str, list[float]] = {}
    for label, module, attr in PHASES:
        _wrap(times, label, module, attr)
    from importers.pipeline import Options
    from importers.run import import_file
    from ledger.store.db import make_engine

    engine = make_engine(url)
    server0 = _backend_cpu(engine) if backend == "postgres" else None  # the pool keeps this one connection
    w, c = time.perf_counter(), time.process_time()
    result = import_file(engine, "expenses", csv, Options(submitted_by="bench"))
    total = [time.perf_counter() - w, time.process_time() - c]
    server = _backend_cpu(engine) - (server0 or 0) if server0 is not None else None
    engine.dispose()
    assert result.status == "loaded", result.report
    rows = result.report["rows"]["loaded"]
    print(f"{backend}: {rows:,} rows in {total[0]:.2f} s wall, {total[1]:.2f} s CPU -> {rows / total[0]:,.0f} rows/s")
    if server is not None:  # the pooled connection's backend ran the whole import
        print(f"  PostgreSQL backend CPU   {server:8.2f} s (the server process of the import's connection)")
    for label, _, _ in PHASES:
        if label in times:
            t = times[label]
            print(f"  {label:24s} {t[0]:8.2f} s wall {t[1]:8.2f} s CPU" + (f" {t[2]:8.2f} s server CPU" if server is not None else ""))
    return {"rows": rows, "total": total, "phases": times}


def cli(csv: Path, backend: str) -> dict:
    rows = peers.csv_rows(csv)
    url = fresh(backend, "perf_cli")
    _upgrade(url)
    load0 = os.getloadavg()[0]
    run = measured([str(BIN / "sunshine"), "--database", url, "import", "expenses", str(csv), "--json"])
    if run.returncode:
        raise SystemExit(run.stderr[-2000:] or run.stdout[-2000:])
    if backend == "sqlite":
        peer = peers.sqlite_shell_import(csv, WORK / "peer.sqlite3")
        peer_s, peer_name = peer.seconds, "sqlite3 .import"
        for p in WORK.glob("peer.sqlite3*"):
            p.unlink()
    else:
        peer_s, peer_name = peers.pg_copy(csv, url.rsplit("/", 1)[0].replace("+psycopg", "") + "/" + url.rsplit("/", 1)[1]), "COPY"
    load1 = os.getloadavg()[0]
    out = {"backend": backend, "rows": rows, "csv_mb": round(csv.stat().st_size / 1e6, 1),
           "seconds": round(run.seconds, 2), "cpu_seconds": round(run.cpu_seconds, 2),
           "rows_per_s": round(rows / run.seconds), "peak_rss_mb": round(run.peak_rss / 1e6),
           "peer": peer_name, "peer_rows_per_s": round(rows / peer_s), "ratio": round(peer_s / run.seconds, 3),
           "loadavg": [round(load0, 2), round(load1, 2)]}
    print(json.dumps(out))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--cli", action="store_true", help="also run the whole command under GNU time, and the peer")
    ap.add_argument("--no-phases", action="store_true")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if not args.no_phases:
        phases(args.csv.resolve(), args.backend)
    if args.cli:
        cli(args.csv.resolve(), args.backend)


if __name__ == "__main__":
    main()
