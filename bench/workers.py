"""Several API workers against one database: ``sunshine serve --workers 1`` and ``--workers 2``, same load.

    .venv/bin/python -m bench.workers --database sqlite:///var/bench/m1/db/bench.sqlite3 [--seconds 15] [--json out.json]

Each server runs unpinned (the workers may take both cores), wrk loads it from one thread with 32
connections, first on the cached first page (``/api/v1/expenses?limit=100``: the response cache
answers), then on the same page with ``&amount_max=N``, N counting up from 10^9 yuan (every row matches;
the strict parameter check refuses made-up parameters) so the URL is new each time, the cache never
answers, and every request runs the handler, the SQL (the page and a count capped at 10,000) and the
serialisation. Reported per case: requests/s, p50
and p99, errors, the CPU seconds the server's processes used (user+sys, from /proc, children
included) and the load average before and after: the machine is shared, so read req/s with them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.measure import free_port, get_json_bytes, server, wrk
from bench.scenarios import PAGE_PATH, SERVER_ENV

BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


def _tree_cpu(pid: int) -> float:
    """User+sys seconds of ``pid`` and every process under it (live ones, plus reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _case(url: str, pid: int, seconds: int, script: Path | None) -> dict:
    before, load_before = _tree_cpu(pid), os.getloadavg()[0]
    load, _ = wrk(url, connections=32, seconds=seconds, script=script)
    return {"rps": round(load.rps, 1), "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "errors": load.errors,
            "requests": load.requests, "server_cpu_s": round(_tree_cpu(pid) - before, 2),
            "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2)}


def measure(database: str, workers: int, seconds: int, work: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "sunshine"), "--database", database, "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--no-access-log"]
    script = work / "misses.lua"
    script.write_text("local n = 0\nrequest = function()\n  n = n + 1\n"
                      f"  return wrk.format('GET', '{PAGE_PATH}' .. '&amount_max=' .. (1000000000 + n))\nend\n")
    with server(cmd, f"{base}/api/v1/categories", env=SERVER_ENV, log=work / f"serve-{workers}.log", cpus=None) as proc:
        for _ in range(4 * workers):  # every worker warm (each has its own pool and caches)
            get_json_bytes(base + PAGE_PATH)
            get_json_bytes(base + PAGE_PATH + "&amount_max=999999999")
        return {"workers": workers, "page": _case(base + PAGE_PATH, proc.pid, seconds, None),
                "page_miss": _case(base + "/", proc.pid, seconds, script)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, default=Path("var/bench/workers"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results = [measure(args.database, n, args.seconds, args.work) for n in args.workers]
    for r in results:
        for case in ("page", "page_miss"):
            c = r[case]
            print(f"workers={r['workers']} {case:9} {c['rps']:>8} req/s  p50 {c['p50_ms']} ms  p99 {c['p99_ms']} ms  "
                  f"errors {c['errors']}  server CPU {c['server_cpu_s']} s  load {c['load_avg_before']}->{c['load_avg_after']}")
    if args.json:
        args.json.write_text(json.dumps({"database": args.database.split("@")[-1], "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
