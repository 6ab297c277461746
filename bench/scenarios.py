"""The four phases of ``bench/run.py``: load, check, http and mixed. Each returns plain figures."""

from __future__ import annotations

import json
import os
import platform
import re
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from importlib import metadata
from pathlib import Path

import psycopg

from bench import generate, peers
from bench.measure import (
    ROOT,
    Watch,
    _measure,
    _measure_units,
    free_port,
    get_json_bytes,
    measured,
    pg_conninfo,
    server,
    socket_errors,
    wrk,
)

# The page and the aggregate the API issue names; the same page is what datasette and the bare
# handler serve. Override with BENCH_PAGE_PATH / BENCH_AGGREGATE_PATH if the API's routes differ.
PAGE_PATH = os.environ.get("BENCH_PAGE_PATH", "/api/v1/expenses?limit=100")
AGGREGATE_PATH = os.environ.get("BENCH_AGGREGATE_PATH", "/api/v1/aggregate?drilldown=category&year=2023")
MIXED_PATHS = [
    PAGE_PATH,
    "/api/v1/expenses?limit=100&year=2022&category=reception",
    "/api/v1/expenses?limit=100&unit=440000001",
    AGGREGATE_PATH,
    "/api/v1/aggregate?drilldown=year",
    "/api/v1/aggregate?drilldown=year,category&group=three_public",
    "/api/v1/procurement?limit=100",
    "/api/v1/budgets?limit=100&year=2023",
    "/api/v1/categories",
]
# Public reads are rate-limited per client; the load generator is one client on loopback.
SERVER_ENV = {"SUNSHINE_RATE_LIMIT": "0", "SUNSHINE_ALLOWED_HOSTS": "127.0.0.1,localhost"}


def _version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def machine(pg_url: str) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    try:
        with psycopg.connect(pg_conninfo(pg_url)) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:
        pg = f"unreachable ({type(exc).__name__})"
    pkgs = {}
    for name in ("polars", "sqlalchemy", "psycopg", "litestar", "uvicorn", "msgspec", "datasette", "sqlite-utils"):
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = "not installed"
    commit = _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "sqlite_shell": _version(["sqlite3", "--version"]).split()[0],
        "sqlite_python": sqlite3.sqlite_version, "postgresql": pg, "wrk": _version(["wrk", "-v"]).split(" [")[0],
        "packages": pkgs, "commit": commit,
    }


def _sunshine(ctx, backend: str, *args: str, measure: bool = False):
    cmd = [str(ctx["bin"] / "sunshine"), "--database", ctx["urls"][backend], *args]
    if measure:
        return measured(cmd)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def _ok(run, what: str):
    if run.returncode != 0:
        raise RuntimeError(f"{what} exited {run.returncode}: {(run.stderr or run.stdout)[-400:]}")
    return run


def _figures(run, rows: int) -> dict:
    return {"seconds": round(run.seconds, 3), "rows_per_s": round(rows / run.seconds), "peak_rss": run.peak_rss,
            "cpu_seconds": round(run.cpu_seconds, 3)}


def _db_bytes(ctx, backend: str) -> int:
    if backend == "sqlite":
        path = Path(ctx["urls"]["sqlite"].split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with psycopg.connect(ctx["pg_conninfo"](ctx["urls"]["postgres"])) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def load_phase(ctx, backend: str) -> dict:
    files, work = ctx["files"], ctx["work"]
    expenses = Path(files["expenses"]["path"])
    rows = files["expenses"]["rows"]
    out: dict = {"rows": rows, "csv_bytes": files["expenses"]["bytes"], "peers": {}}
    if backend == "sqlite":
        run = peers.sqlite_shell_import(expenses, work / "peer-import.sqlite3")
        out["peers"]["sqlite3 .import"] = _figures(run, rows)
        head_rows = ctx["args"].sqlite_utils_rows or rows
        head = expenses if head_rows >= rows else peers.head(expenses, head_rows, work / "expenses-head.csv")
        run = peers.sqlite_utils_insert(head, work / "peer-sqlite-utils.sqlite3")
        out["peers"]["sqlite-utils insert"] = {**_figures(run, min(head_rows, rows)), "rows": min(head_rows, rows)}
        for p in work.glob("peer-*.sqlite3*"):
            p.unlink()
        db = Path(ctx["urls"]["sqlite"].split("///", 1)[1])
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
    else:
        seconds = peers.pg_copy(expenses, ctx["pg_conninfo"](ctx["urls"]["postgres"]))
        out["peers"]["COPY (psycopg 3)"] = {"seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}
        ctx["urls"]["postgres"] = ctx["fresh_pg"](ctx["pg_admin"], ctx["pg_name"])
    try:
        _ok(_sunshine(ctx, backend, "db", "upgrade"), "sunshine db upgrade")
        run = _ok(_sunshine(ctx, backend, "import", "expenses", str(expenses), "--json", measure=True), "import expenses")
    except RuntimeError as exc:  # keep the peers' figures: they stand on their own
        out["error"] = str(exc)
        return out
    out["ours"] = _figures(run, rows)
    out["ours"]["report"] = _tail_json(run.stdout)
    for kind in ("budgets", "procurement"):
        run = _sunshine(ctx, backend, "import", kind, files[kind]["path"], "--json", measure=True)
        out[kind] = _figures(run, files[kind]["rows"]) if run.returncode == 0 else {"error": run.stderr[-300:]}
    out["db_bytes"] = _db_bytes(ctx, backend)
    if ctx["args"].profile and backend == "sqlite":
        out["profile"] = _profile_import(ctx, work)
    return out


def _tail_json(text: str) -> dict:
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    keep = ("rows_read", "rows_loaded", "rows_skipped", "rows_held", "batch_id", "status")
    return {k: v for k, v in doc.items() if k in keep} if isinstance(doc, dict) else {}


def _pyinstrument(ctx, name: str, args: list[str]) -> str:
    """pyinstrument's call tree of ``sunshine ARGS`` (text), kept under var/bench/<scale>/."""
    out = ctx["work"] / f"profile-{name}.txt"
    subprocess.run(
        [str(ctx["bin"] / "pyinstrument"), "-r", "text", "-o", str(out), str(ctx["bin"] / "sunshine"), *args],
        cwd=ROOT, check=True, capture_output=True,
    )
    return out.read_text()


def _profile_import(ctx, work: Path) -> str:
    """Profile importing the expense file into a fresh SQLite file."""
    for p in work.glob("profile.sqlite3*"):
        p.unlink()
    url = f"sqlite:///{work / 'profile.sqlite3'}"
    subprocess.run([str(ctx["bin"] / "sunshine"), "--database", url, "db", "upgrade"], cwd=ROOT, check=True,
                   capture_output=True)
    return _pyinstrument(ctx, "import", ["--database", url, "import", "expenses", ctx["files"]["expenses"]["path"],
                                         "--json"])


def _sqlite_copy(ctx, name: str) -> str:
    """A consistent copy of the benchmark's SQLite file (online backup), as a URL."""
    src = Path(ctx["urls"]["sqlite"].split("///", 1)[1])
    dst = ctx["work"] / f"{name}.sqlite3"
    for p in ctx["work"].glob(f"{name}.sqlite3*"):
        p.unlink()
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return f"sqlite:///{dst}"


def bench_policy(work: Path) -> Path:
    """policies/changde-2009.toml with its effective years moved onto the generated years.

    The seed's targets apply to 2009; the synthetic ledger spans 2020-2024, so the same targets are
    made effective for 2021-2024 (each has a prior year in the data) to be evaluated at all.
    """
    text = (ROOT / "policies" / "changde-2009.toml").read_text(encoding="utf-8")
    first, last = generate.FIRST_YEAR + 1, generate.FIRST_YEAR + 4
    text = re.sub(r"(?m)^year_from = \d{4}", f"year_from = {first}", text)
    text = re.sub(r"(?m)^year_to = \d{4}", f"year_to = {last}", text)
    out = work / "policy-bench.toml"
    out.write_text(text, encoding="utf-8")
    return out


def _clear_check_results(ctx, backend: str) -> int:
    """Forget earlier checks (bench databases only), so the timed check is a first run; return entries."""
    sql = ["DELETE FROM flag_review", "DELETE FROM flag", "DELETE FROM target_result", "DELETE FROM check_run"]
    if backend == "sqlite":
        with sqlite3.connect(ctx["urls"]["sqlite"].split("///", 1)[1]) as conn:
            for stmt in sql:
                conn.execute(stmt)
            return conn.execute("SELECT count(*) FROM expense_entry").fetchone()[0]
    with psycopg.connect(ctx["pg_conninfo"](ctx["urls"]["postgres"])) as conn:
        for stmt in sql:
            conn.execute(stmt)
        return conn.execute("SELECT count(*) FROM expense_entry").fetchone()[0]


def check_phase(ctx, backend: str) -> dict:
    policy = bench_policy(ctx["work"])
    _ok(_sunshine(ctx, backend, "targets", "load", str(policy)), "sunshine targets load")
    entries = _clear_check_results(ctx, backend)
    profile = None
    if ctx["args"].profile and backend == "sqlite":
        # On a copy taken before the first check, so the profile sees the full evaluation.
        profile = _pyinstrument(ctx, "check", ["--database", _sqlite_copy(ctx, "profile-check"), "check", "--json"])
    first = _ok(_sunshine(ctx, backend, "check", "--json", measure=True), "sunshine check")
    again = _ok(_sunshine(ctx, backend, "check", "--json", measure=True), "sunshine check (again)")
    seconds, groups = peers.polars_group_by(Path(ctx["files"]["expenses"]["path"]))
    # The peer as a whole command too (interpreter and polars start-up included), as `sunshine check` is.
    command = _ok(measured([str(ctx["bin"] / "python"), "-m", "bench.peers", ctx["files"]["expenses"]["path"]]),
                  "polars peer")
    return {
        "ours": {"seconds": round(first.seconds, 3), "peak_rss": first.peak_rss, "cpu_seconds": round(first.cpu_seconds, 3)},
        "again": {"seconds": round(again.seconds, 3)},
        "entries_in_db": entries,
        "peer": {"seconds": round(seconds, 3), "groups": groups},
        "peer_command": {"seconds": round(command.seconds, 3), "cpu_seconds": round(command.cpu_seconds, 3)},
        **({"profile": profile} if profile else {}),
    }


def _our_server(ctx, backend: str, port: int, **env: str):
    cmd = [str(ctx["bin"] / "sunshine"), "--database", ctx["urls"][backend], "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    return server(cmd, f"http://127.0.0.1:{port}/api/v1/categories", env={**SERVER_ENV, **env},
                  log=ctx["work"] / f"serve-{backend}{'-nocache' if env else ''}.log")


DATASETTE_UNIT_SQL = (
    "SELECT e.id, e.batch_id, e.source_row, u.code AS unit_code, u.name AS unit_name, u.level AS unit_level, "
    "e.fiscal_year, e.entry_date, e.category_code, e.amount_fen, e.currency, e.payee, e.description, e.voucher_no, "
    "e.persons, e.batches, e.vehicles, e.created_at FROM expense_entry e JOIN unit u ON u.id = e.unit_id "
    "WHERE u.code = :unit ORDER BY e.id LIMIT 100"
)


def http_phase(ctx, backend: str) -> dict:
    out: dict = {"peers": {}}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _our_server(ctx, backend, port):
        out["page"] = _measure(base + PAGE_PATH, ctx)
        out["aggregate"] = _measure(base + AGGREGATE_PATH, ctx)
        out["unit_page"] = _measure_units(base, "/api/v1/expenses?limit=100&unit=44", ctx, "ours")
        # no ``&_b=N`` cache-busting: the API answers an unknown parameter with 400; the cache is turned off below
        total = json.loads(get_json_bytes(base + "/api/v1/aggregate?drilldown=year"))
        out["exact"] = _exact_total(total, ctx)
    # The same reads with the response cache off: every request runs its SQL, as datasette's do.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _our_server(ctx, backend, port, SUNSHINE_RESPONSE_CACHE="0"):
        out["cache_off"] = {"page": _measure(base + PAGE_PATH, ctx), "aggregate": _measure(base + AGGREGATE_PATH, ctx),
                            "unit_page": _measure_units(base, "/api/v1/expenses?limit=100&unit=44", ctx, "nocache")}
    # Diagnostic: the same app without uvicorn's per-request access log line (``sunshine serve``
    # runs uvicorn at log level info, which logs every request).
    port = free_port()
    quiet = [str(ctx["bin"] / "uvicorn"), "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--no-access-log", "--log-level", "warning", "--no-server-header"]
    env = {**SERVER_ENV, "SUNSHINE_DATABASE_URL": ctx["urls"][backend]}
    with server(quiet, f"http://127.0.0.1:{port}/api/v1/categories", env=env, log=ctx["work"] / "quiet.log"):
        out["page_no_access_log"] = _measure(f"http://127.0.0.1:{port}{PAGE_PATH}", ctx)
    env = {"BARE_DATABASE_URL": ctx["urls"][backend]}
    port = free_port()
    bare = [str(ctx["bin"] / "uvicorn"), "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--log-level", "warning"]
    with server(bare, f"http://127.0.0.1:{port}/page", env=env, log=ctx["work"] / "bare.log"):
        out["peers"]["bare Litestar handler"] = _measure(f"http://127.0.0.1:{port}/page", ctx)
        out["peers"]["bare, unit page"] = _measure_units(f"http://127.0.0.1:{port}", "/page?unit=44", ctx, "bare")
    if backend == "sqlite":
        db = Path(ctx["urls"]["sqlite"].split("///", 1)[1])
        port = free_port()
        cmd = [str(ctx["bin"] / "datasette"), "serve", str(db), "--host", "127.0.0.1", "--port", str(port)]
        page = f"http://127.0.0.1:{port}/{db.stem}/expense_entry.json?_shape=array&_nocount=1&_size=100"
        with server(cmd, page, log=ctx["work"] / "datasette.log"):
            out["peers"]["datasette"] = _measure(page, ctx)
            prefix = f"/{db.stem}.json?_shape=array&sql={urllib.parse.quote(DATASETTE_UNIT_SQL)}&unit=44"
            out["peers"]["datasette, unit page"] = _measure_units(f"http://127.0.0.1:{port}", prefix, ctx, "datasette")
    return out


def _exact_total(doc: dict, ctx) -> dict:
    """The API's grand total of actual spending against the CSV's own sum, both in integer fen."""
    import polars as pl

    want = (
        pl.scan_csv(ctx["files"]["expenses"]["path"], schema_overrides={"amount": pl.String})
        .select(pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64).sum())
        .collect()
        .item()
    )
    found = _find_actual_total(doc)
    return {"csv_fen": want, "api_fen": found, "equal": found == want}


def _find_actual_total(doc) -> int | None:
    # The summary's actual amount in fen, wherever the aggregate document keeps it.
    summary = doc.get("summary", doc) if isinstance(doc, dict) else {}
    for key in ("actual_fen", "amount_fen", "actual"):
        value = summary.get(key) if isinstance(summary, dict) else None
        if isinstance(value, dict):
            value = value.get("amount_fen", value.get("sum_fen"))
        if isinstance(value, int):
            return value
    return None


def mixed_phase(ctx, backend: str) -> dict:
    """30 s of mixed public reads while expense files are imported one after another."""
    args, work = ctx["args"], ctx["work"]
    scale = generate.SCALES[args.scale]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = work / "mixed.lua"
    paths = ", ".join(json.dumps(p) for p in MIXED_PATHS)
    script.write_text(
        f"local paths = {{{paths}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    imports: list[dict] = []
    stop = threading.Event()

    def keep_importing():
        part = 0
        while not stop.is_set():
            path = work / f"mixed-{backend}-{part}.csv"
            generate.write_expenses(path, scale, 7, scale.extra_entries, stream=100 + part)
            t = time.perf_counter() - started
            run = _sunshine(ctx, backend, "import", "expenses", str(path), "--json", measure=True)
            imports.append({"at": round(t, 1), "seconds": round(run.seconds, 2), "rc": run.returncode, "rows": scale.extra_entries,
                            "peak_rss": run.peak_rss,
                            "error": run.stderr[-200:] if run.returncode else None})
            path.unlink()
            part += 1

    with _our_server(ctx, backend, port):
        # Warm every path first: a fresh process's first read of each aggregate is the cold cost (bench/cold_reads.py,
        # seconds at 5M), and counted once per wrk connection it made every connection time out (docs/benchmarks.md).
        warm = {}
        for path in MIXED_PATHS:
            t = time.perf_counter()
            get_json_bytes(base + path)
            warm[path] = round((time.perf_counter() - t) * 1000, 1)
        importer = threading.Thread(target=keep_importing)
        conninfo = ctx["pg_conninfo"](ctx["urls"]["postgres"]) if backend == "postgres" else None
        with Watch(base + PAGE_PATH, conninfo) as watch:
            started = watch.t0
            importer.start()
            try:  # a failed wrk must not leave the importer running forever
                load, text = wrk(base + "/", connections=16, seconds=args.mixed_seconds, script=script)
            finally:
                wrk_done = time.perf_counter() - started
                stop.set()
                importer.join()
        elapsed = time.perf_counter() - started
    return {
        "seconds": load.seconds, "requests": load.requests, "rps": round(load.rps, 1), "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms, "errors": load.errors, "non_2xx": load.non_2xx, "paths": MIXED_PATHS,
        "imports": imports, "import_rows": sum(i["rows"] for i in imports if i["rc"] == 0),
        "import_failures": sum(1 for i in imports if i["rc"]), "elapsed": round(elapsed, 1),
        "socket_errors": socket_errors(text), "wrk_done": round(wrk_done, 1), "watch": watch.summary(), "warm_ms": warm,
    }
