"""Where a cache-miss API request spends its time, and what it serves over HTTP, before and after a change.

    .venv/bin/python -m bench.profiles.api_profile prepare              # 100k entries into var/api-profile/small
    .venv/bin/python -m bench.profiles.api_profile http --label after   # wrk, server on CPU 0, wrk on CPU 1
    .venv/bin/python -m bench.profiles.api_profile profile              # pyinstrument over in-process requests

Every measured request is a response-cache miss: a counter parameter (``_b=N``, ignored by the
API) makes each URL new, so the handler, the SQL and the serialisation run every time. The bare
Litestar handler (``bench/bare_app.py``) reads the same page with the standard ``sqlite3`` module
under the same load. The machine's load average is recorded beside each figure: other work shares
this 2-core box. Results go to ``var/api-profile/http-<label>.json``. For a before/after pair at the
same load, serve the old code from a worktree:

    git worktree add /tmp/sl-before <commit>
    .venv/bin/python -m bench.profiles.api_profile http --label before --app-dir /tmp/sl-before --no-bare
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench.measure import BIN, ROOT, free_port, get_json_bytes, server, wrk

WORK = ROOT / "var" / "api-profile"
DATA = WORK / "small"
DB = DATA / "ledger.sqlite3"
ENV = {"SUNSHINE_RATE_LIMIT": "0", "SUNSHINE_ALLOWED_HOSTS": "127.0.0.1,localhost"}
UNITS = 1000  # the small scale's unit count: codes 440000001 … 440001000

# name → (path prefix, whether a random unit code is appended)
OURS = {
    "page": ("/api/v1/expenses?limit=100", False),
    "unit_page": ("/api/v1/expenses?limit=100&unit=", True),
    "aggregate": ("/api/v1/aggregate?drilldown=category&year=2023", False),
    "aggregate_unit_year": ("/api/v1/aggregate?drilldown=year,category&unit=", True),
}
BARE = {"page": ("/page", False), "unit_page": ("/page?unit=", True)}


def _script(path: Path, prefix: str, unit: bool) -> Path:
    """A wrk script: every request a new URL (a counter), optionally for a random unit."""
    sep = "&" if "?" in prefix else "?"
    unit_part = "string.format('44%07d', math.random(1, " + str(UNITS) + ")) .. " if unit else ""
    path.write_text(
        "math.randomseed(7)\nlocal n = 0\n"
        f"local prefix = {json.dumps(prefix)}\n"
        "request = function()\n  n = n + 1\n"
        f"  return wrk.format('GET', prefix .. {unit_part}'{sep if not unit else '&'}_b=' .. n)\nend\n"
    )
    return path


def _load(base: str, name: str, prefix: str, unit: bool, args) -> dict:
    probe = base + prefix + ("440000001" if unit else "")
    get_json_bytes(probe)
    script = _script(WORK / f"{name}.lua", prefix, unit)
    load_before = os.getloadavg()[0]
    load, _ = wrk(base + "/", connections=args.connections, seconds=args.seconds, script=script)
    return {"rps": round(load.rps, 1), "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "errors": load.errors,
            "requests": load.requests, "loadavg_1m": round((load_before + os.getloadavg()[0]) / 2, 2)}


def _median(runs: list[dict]) -> dict:
    """The run with the median requests/s, with every run's requests/s beside it."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return {**ordered[len(ordered) // 2], "rps_runs": [r["rps"] for r in runs]}


def http(args) -> dict:
    """Ours, the bare handler and (optionally) datasette served at once, measured in turns.

    Other work on this machine comes and goes, so each scenario is measured ``--rounds`` times,
    alternating between our server and its peer, and the median run is kept.
    """
    url = f"sqlite:///{DB}"
    out: dict = {"label": args.label, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "ours": {}, "bare": {}}
    ours_cmd = [str(BIN / "uvicorn"), "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port", "{port}",
                "--workers", "1", "--no-access-log", "--log-level", "warning", "--no-server-header",
                "--app-dir", str(args.app_dir or ROOT)]
    bare_cmd = [str(BIN / "uvicorn"), "bench.bare_app:app", "--host", "127.0.0.1", "--port", "{port}", "--workers",
                "1", "--no-access-log", "--log-level", "warning"]
    ports = {"ours": free_port(), "bare": free_port(), "datasette": free_port()}
    use_datasette = args.datasette and (BIN / "datasette").exists()
    page = f"/{DB.stem}/expense_entry.json?_shape=array&_nocount=1&_size=100"

    def cmd(template: list[str], port: int) -> list[str]:
        return [str(port) if part == "{port}" else part for part in template]

    with ExitStack() as stack:
        stack.enter_context(server(cmd(ours_cmd, ports["ours"]), f"http://127.0.0.1:{ports['ours']}/api/v1/categories",
                                   env={**ENV, "SUNSHINE_DATABASE_URL": url}, log=WORK / "ours.log"))
        if not args.no_bare:
            stack.enter_context(server(cmd(bare_cmd, ports["bare"]), f"http://127.0.0.1:{ports['bare']}/page",
                                       env={"BARE_DATABASE_URL": url}, log=WORK / "bare.log"))
        if use_datasette:
            stack.enter_context(server(
                [str(BIN / "datasette"), "serve", str(DB), "--host", "127.0.0.1", "--port", str(ports["datasette"])],
                f"http://127.0.0.1:{ports['datasette']}{page}", log=WORK / "datasette.log"))
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(args.rounds):
            for name, (prefix, unit) in OURS.items():
                runs.setdefault(("ours", name), []).append(
                    _load(f"http://127.0.0.1:{ports['ours']}", name, prefix, unit, args))
                if name in BARE and not args.no_bare:
                    bp, bu = BARE[name]
                    runs.setdefault(("bare", name), []).append(
                        _load(f"http://127.0.0.1:{ports['bare']}", "bare-" + name, bp, bu, args))
                if name == "page" and use_datasette:
                    runs.setdefault(("datasette", "page"), []).append(
                        _load(f"http://127.0.0.1:{ports['datasette']}", "datasette", page, False, args))
        for (who, name), found in runs.items():
            out.setdefault(who, {})[name] = _median(found)
            print(who, name, out[who][name], flush=True)
    if not args.no_bare:
        for name in ("page", "unit_page"):
            out["ours"][name]["share_of_bare"] = round(out["ours"][name]["rps"] / out["bare"][name]["rps"], 3)
    if "datasette" in out:
        out["ours"]["page"]["times_datasette"] = round(out["ours"]["page"]["rps"] / out["datasette"]["page"]["rps"], 2)
    (WORK / f"http-{args.label}.json").write_text(json.dumps(out, indent=2))
    return out


async def _asgi_get(app, path: str) -> tuple[int, bytes]:
    raw_path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def profile(args) -> None:
    """pyinstrument over ``--requests`` cache-miss requests made in process (no HTTP server)."""
    from pyinstrument import Profiler

    os.environ.update({**ENV, "SUNSHINE_DATABASE_URL": f"sqlite:///{DB}"})
    from api.app import create_app

    app = create_app()
    prefix, unit = OURS[args.what]

    async def run(n: int, start: int):
        for i in range(start, start + n):
            code = f"44{i % UNITS + 1:07d}" if unit else ""
            status, _ = await _asgi_get(app, f"{prefix}{code}&_b={i}")
            assert status == 200, status

    asyncio.run(run(20, 0))  # warm up: engine, pool, imports
    if args.plain:  # under py-spy (which sees the handler threads pyinstrument cannot)
        started, cpu = time.perf_counter(), time.process_time()
        asyncio.run(run(args.requests, 100))
        wall = (time.perf_counter() - started) / args.requests * 1000
        cpu = (time.process_time() - cpu) / args.requests * 1000
        print(f"{args.requests} requests, {wall:.3f} ms each ({cpu:.3f} ms CPU), load average {os.getloadavg()[0]:.2f}")
        return
    started = time.perf_counter()
    profiler = Profiler(interval=0.0002)
    profiler.start()
    asyncio.run(run(args.requests, 100))
    profiler.stop()
    per = (time.perf_counter() - started) / args.requests * 1000
    text = profiler.output_text(unicode=True, show_all=False)
    (WORK / f"profile-{args.what}-{args.label}.txt").write_text(text)
    print(text)
    print(f"{args.requests} requests, {per:.2f} ms each under the profiler")


def prepare(_args) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN / "python"), "bench/generate.py", "small", "--out", str(WORK)], cwd=ROOT, check=True)
    for p in DATA.glob("ledger.sqlite3*"):
        p.unlink()
    url = f"sqlite:///{DB}"
    sunshine = str(BIN / "sunshine")
    subprocess.run([sunshine, "--database", url, "db", "upgrade"], cwd=ROOT, check=True)
    for kind in ("expenses", "budgets", "procurement"):
        subprocess.run([sunshine, "--database", url, "import", kind, str(DATA / f"{kind}.csv"), "--json"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["prepare", "http", "profile"])
    parser.add_argument("--label", default="now")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--datasette", action="store_true", help="also measure datasette's lean page")
    parser.add_argument("--app-dir", type=Path, help="http: serve our app from this checkout (e.g. a git worktree "
                        "of the commit before a change) instead of this one")
    parser.add_argument("--no-bare", action="store_true", help="http: skip the bare handler")
    parser.add_argument("--rounds", type=int, default=3, help="http: measurements per scenario (median kept)")
    parser.add_argument("--what", default="page", choices=list(OURS), help="profile: which request")
    parser.add_argument("--requests", type=int, default=500, help="profile: how many requests")
    parser.add_argument("--plain", action="store_true", help="profile: time only, no pyinstrument (for py-spy)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    if args.action == "prepare":
        prepare(args)
    elif args.action == "http":
        print(json.dumps(http(args), indent=2))
    else:
        profile(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
