"""Render benchmark results as the table in docs/benchmarks.md (and on the terminal).

    .venv/bin/python -m bench.report        # re-render docs/benchmarks.md from bench/results/*.json

Only the text between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->`` is replaced, so
the prose around it is kept; every figure inside comes from ``bench/results/<scale>.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LARGE_ROWS = 50_000_000
MB = 1e6


def _n(x: float | int | None, digits: int = 0) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


class Rows:
    def __init__(self):
        self.rows: list[list[str]] = []

    def add(self, measure, backend, ours, peer_name="", peer="", ratio=None, aim="", ok=None):
        self.rows.append([measure, backend, ours, peer_name, peer, "" if ratio is None else f"{ratio:.2f}×", aim,
                          _verdict(ok) if aim else ""])

    def error(self, measure, backend, message):
        message = " ".join(str(message).split()).replace("|", "/")[:240]
        self.rows.append([measure, backend, f"not measured: {message}", "", "", "", "", ""])

    def markdown(self) -> str:
        head = ["measure", "db", "ours", "peer", "peer's figure", "ratio", "aim", "aim met?"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def _load_rows(t: Rows, res: dict, scale: str) -> None:
    for backend, load in res.get("load", {}).items():
        if "error" in load:
            t.error("import expenses", backend, load["error"])
            for name, fig in load.get("peers", {}).items():
                t.add(f"import {load.get('rows', 0):,} expense rows (rows/s)", backend, "not measured", name,
                      _n(fig["rows_per_s"]))
            continue
        ours = load["ours"]
        rps = ours["rows_per_s"]
        label = f"import {load['rows']:,} expense rows (rows/s)"
        if backend == "sqlite":
            imp = load["peers"]["sqlite3 .import"]["rows_per_s"]
            su = load["peers"]["sqlite-utils insert"]["rows_per_s"]
            t.add(label, backend, _n(rps), "sqlite3 .import", _n(imp), rps / imp, "≥ 0.50× (stretch 0.70×)", rps >= 0.5 * imp)
            su_rows = load["peers"]["sqlite-utils insert"].get("rows", load["rows"])
            su_name = "sqlite-utils insert" + (f" (first {su_rows:,} rows)" if su_rows < load["rows"] else "")
            t.add(label, backend, _n(rps), su_name, _n(su), rps / su, "> 1.00×", rps > su)
        else:
            copy = load["peers"]["COPY (psycopg 3)"]["rows_per_s"]
            t.add(label, backend, _n(rps), "COPY (psycopg 3)", _n(copy), rps / copy, "≥ 0.70×", rps >= 0.7 * copy)
        if backend == "sqlite" and ours.get("cpu_seconds"):
            peer_cpu = load["peers"]["sqlite3 .import"].get("cpu_seconds")
            if peer_cpu:
                t.add("…the same in CPU seconds (user+sys), less swayed by a busy machine", backend,
                      _n(ours["cpu_seconds"], 2), "sqlite3 .import", _n(peer_cpu, 2), peer_cpu / ours["cpu_seconds"],
                      "≥ 0.50× (speed ratio)", peer_cpu >= 0.5 * ours["cpu_seconds"])
        ratio = ours["peak_rss"] / load["csv_bytes"]
        at_5m = load["rows"] >= 5_000_000
        t.add("peak RSS of the import (MB)", backend, _n(ours["peak_rss"] / MB), "CSV size (MB)",
              _n(load["csv_bytes"] / MB), ratio, "≤ 2.00× at 5M rows" if at_5m else "(aim at 5M rows)",
              ratio <= 2.0 if at_5m else None)
        for kind in ("budgets", "procurement"):
            fig = load.get(kind, {})
            if "rows_per_s" in fig:
                t.add(f"import {kind} (rows/s)", backend, _n(fig["rows_per_s"]))
        t.add("database size after the imports (MB)", backend, _n(load["db_bytes"] / MB))


def _check_rows(t: Rows, res: dict) -> None:
    for backend, check in res.get("check", {}).items():
        if "error" in check:
            t.error("sunshine check", backend, check["error"])
            continue
        ours, peer = check["ours"]["seconds"], check["peer"]["seconds"]
        command = check.get("peer_command")
        if command:
            t.add("`sunshine check` (s), whole command", backend, _n(ours, 2),
                  "polars scan_csv→group_by→collect, whole command (s)", _n(command["seconds"], 2),
                  ours / command["seconds"], "≤ 2.00× the peer's time", ours <= 2 * command["seconds"])
        t.add("`sunshine check` (s), whole command", backend, _n(ours, 2),
              "the same polars query, in process (s)", _n(peer, 2), ours / peer, "(stricter)", None)
        if check["ours"].get("cpu_seconds") and command and command.get("cpu_seconds"):
            t.add("…the same in CPU seconds (user+sys), less swayed by a busy machine", backend,
                  _n(check["ours"]["cpu_seconds"], 2), "polars, whole command (CPU s)", _n(command["cpu_seconds"], 2),
                  check["ours"]["cpu_seconds"] / command["cpu_seconds"], "≤ 2.00×",
                  check["ours"]["cpu_seconds"] <= 2 * command["cpu_seconds"])
        t.add("`sunshine check` again, data unchanged (s)", backend, _n(check["again"]["seconds"], 2))
        if check["ours"].get("peak_rss"):
            t.add("peak RSS of `sunshine check` (MB)", backend, _n(check["ours"]["peak_rss"] / MB))
        if "entries_in_db" in check:
            t.add("…expense entries in the ledger when checked", backend, _n(check["entries_in_db"]))


def _http_rows(t: Rows, res: dict, connections: int) -> None:
    for backend, http in res.get("http", {}).items():
        if "error" in http:
            t.error("API", backend, http["error"])
            continue
        page = http["page"]
        label = f"API 100-row page, {connections} connections (req/s)"
        ds = http["peers"].get("datasette")
        bare = http["peers"].get("bare Litestar handler")
        if ds:
            t.add(label, backend, _n(page["rps"]), "datasette `_shape=array&_nocount=1`", _n(ds["rps"]),
                  page["rps"] / ds["rps"], "≥ 4.00×", page["rps"] >= 4 * ds["rps"])
        if bare:
            t.add(label, backend, _n(page["rps"]), "bare Litestar handler", _n(bare["rps"]),
                  page["rps"] / bare["rps"], "≥ 0.70×", page["rps"] >= 0.7 * bare["rps"])
        quiet = http.get("page_no_access_log")
        if quiet and bare:
            t.add("…diagnostic: the same app, uvicorn access log off (req/s)", backend, _n(quiet["rps"]),
                  "bare Litestar handler", _n(bare["rps"]), quiet["rps"] / bare["rps"])
        t.add("API 100-row page p50 / p99 (ms)", backend, f"{page['p50_ms']:.1f} / {page['p99_ms']:.1f}",
              "bare handler p50 / p99", f"{bare['p50_ms']:.1f} / {bare['p99_ms']:.1f}" if bare else "",
              None, "p99 ≤ 25 ms", page["p99_ms"] <= 25)
        if ds:
            t.add("datasette page p50 / p99 (ms)", backend, "", "datasette", f"{ds['p50_ms']:.1f} / {ds['p99_ms']:.1f}")
        miss = http.get("page_miss")
        if miss:
            label = "API 100-row page, response cache missed every time (`&_b=N`) (req/s)"
            mds, mbare = http["peers"].get("datasette, cache-busting"), http["peers"].get("bare, cache-busting")
            if mds:
                t.add(label, backend, _n(miss["rps"]), "datasette, same `_b=N`", _n(mds["rps"]), miss["rps"] / mds["rps"],
                      "≥ 4.00×", miss["rps"] >= 4 * mds["rps"])
            if mbare:
                t.add(label, backend, _n(miss["rps"]), "bare handler, same `_b=N`", _n(mbare["rps"]),
                      miss["rps"] / mbare["rps"], "≥ 0.70×", miss["rps"] >= 0.7 * mbare["rps"])
            t.add("…p50 / p99 (ms)", backend, f"{miss['p50_ms']:.1f} / {miss['p99_ms']:.1f}", "bare / datasette p99",
                  " / ".join(f"{x['p99_ms']:.1f}" for x in (mbare, mds) if x), None, "p99 ≤ 25 ms", miss["p99_ms"] <= 25)
        unit = http.get("unit_page")
        if unit:
            label = "API one unit's first page, unit drawn at random per request (req/s)"
            uds, ubare = http["peers"].get("datasette, unit page"), http["peers"].get("bare, unit page")
            if uds:
                t.add(label, backend, _n(unit["rps"]), "datasette, same SQL", _n(uds["rps"]), unit["rps"] / uds["rps"],
                      "≥ 4.00×", unit["rps"] >= 4 * uds["rps"])
            if ubare:
                t.add(label, backend, _n(unit["rps"]), "bare handler, same SQL", _n(ubare["rps"]),
                      unit["rps"] / ubare["rps"], "≥ 0.70×", unit["rps"] >= 0.7 * ubare["rps"])
            t.add("…p50 / p99 (ms)", backend, f"{unit['p50_ms']:.1f} / {unit['p99_ms']:.1f}", "bare / datasette p99",
                  " / ".join(f"{x['p99_ms']:.1f}" for x in (ubare, uds) if x), None, "p99 ≤ 25 ms", unit["p99_ms"] <= 25)
        off = http.get("cache_off", {})
        for key, what, peer in (("page", "100-row page", "datasette"), ("unit_page", "unit drawn at random", "datasette, unit page")):
            x, d, b = off.get(key), http["peers"].get(peer), http["peers"].get("bare Litestar handler" if key == "page"
                                                                                 else "bare, unit page")
            for name, p, aim in (("datasette, same SQL file and query", d, 4), ("bare handler", b, 0.7)):
                if x and p:
                    t.add(f"API {what}, response cache **off** (`SUNSHINE_RESPONSE_CACHE=0`) (req/s; p99 ms)", backend,
                          f"{_n(x['rps'])}; {x['p99_ms']:.1f}", name, f"{_n(p['rps'])}; {p['p99_ms']:.1f}",
                          x["rps"] / p["rps"], f"≥ {aim:.2f}×", x["rps"] >= aim * p["rps"])
        if off.get("aggregate"):
            a = off["aggregate"]
            t.add("API aggregate, response cache **off** (req/s; p50 / p99 ms)", backend,
                  f"{_n(a['rps'])}; {a['p50_ms']:.1f} / {a['p99_ms']:.1f}", "", "", None, "p99 ≤ 25 ms", a["p99_ms"] <= 25)
        agg = http["aggregate"]
        t.add("API aggregate, response cache on (req/s; p50 / p99 ms)", backend,
              f"{_n(agg['rps'])}; {agg['p50_ms']:.1f} / {agg['p99_ms']:.1f}", "", "", None, "p99 ≤ 25 ms",
              agg["p99_ms"] <= 25)
        ex = http.get("exact", {})
        t.add("aggregate grand total = CSV's sum, in fen", backend,
              f"{_n(ex.get('api_fen'))} vs {_n(ex.get('csv_fen'))}", "", "", None, "equal", ex.get("equal"))
        errors = page["errors"] + agg["errors"]
        if errors:
            t.add("HTTP errors during the runs", backend, _n(errors), "", "", None, "0", False)


def _mixed_rows(t: Rows, res: dict) -> None:
    for backend, mixed in res.get("mixed", {}).items():
        if "error" in mixed:
            t.error("mixed traffic during imports", backend, mixed["error"])
            continue
        t.add(f"mixed public reads for {mixed['seconds']:.0f} s while importing (req/s; p50 / p99 ms)", backend,
              f"{_n(mixed['rps'])}; {mixed['p50_ms']:.1f} / {mixed['p99_ms']:.1f}")
        kinds = ", ".join(f"{k} {v}" for k, v in mixed.get("socket_errors", {}).items() if v)
        t.add("…errors (socket + non-2xx)", backend, _n(mixed["errors"]) + (f" ({kinds})" if kinds else ""), "", "", None,
              "0", mixed["errors"] == 0)
        done = [i for i in mixed["imports"] if i["rc"] == 0]
        if done:
            secs = sum(i["seconds"] for i in done)
            rss = max(i.get("peak_rss", 0) for i in done)
            t.add("…those imports into the populated ledger (rows/s; peak RSS MB)", backend,
                  f"{_n(sum(i['rows'] for i in done) / secs)}; {_n(rss / MB) if rss else 'n/a'}")
        t.add("…rows imported meanwhile (files; failed)", backend,
              f"{_n(mixed['import_rows'])} ({len(mixed['imports'])}; {mixed['import_failures']})", "", "", None,
              "0 failed", mixed["import_failures"] == 0)


def loadavg_text(res: dict) -> str:
    parts = []
    for phase in ("load", "check", "http", "mixed"):
        for backend, fig in res.get(phase, {}).items():
            if "loadavg" in fig:
                at = f" at `{fig['commit']}`" if fig.get("commit") else ""
                parts.append(f"{phase}/{backend} {fig['loadavg'][0]}→{fig['loadavg'][1]}{at}")
    return "Each phase: 1-minute load average before→after (2 cores; other work on the machine shows here) and the commit measured: " + (
        ", ".join(parts) or "n/a") + "."


def table(res: dict) -> str:
    t = Rows()
    _load_rows(t, res, res["scale"])
    _check_rows(t, res)
    conns = 32
    cmd = res.get("command", "")
    m = re.search(r"--connections[ =](\d+)", cmd)
    if m:
        conns = int(m.group(1))
    _http_rows(t, res, conns)
    _mixed_rows(t, res)
    return t.markdown()


def machine_text(res: dict) -> str:
    m = res["machine"]
    pk = m["packages"]
    files = res["files"]
    return (
        f"Measured (last run {res['when']}, commit `{m['commit']}`) with "
        f"{', then '.join(f'`{c}`' for c in res.get('commands', [res['command']]))}.\n"
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"Python {m['python']}, SQLite {m['sqlite_python']} (shell {m['sqlite_shell']}), PostgreSQL {m['postgresql']}, "
        f"polars {pk['polars']}, SQLAlchemy {pk['sqlalchemy']}, psycopg {pk['psycopg']}, Litestar {pk['litestar']}, "
        f"uvicorn {pk['uvicorn']}, datasette {pk['datasette']}, sqlite-utils {pk['sqlite-utils']}, {m['wrk']}.\n"
        f"Files: expenses {files['expenses']['rows']:,} rows ({files['expenses']['bytes'] / MB:,.1f} MB, "
        f"{files['expenses']['bytes'] / max(1, files['expenses']['rows']):.0f} bytes a row), "
        f"budgets {files['budgets']['rows']:,}, procurement {files['procurement']['rows']:,} rows; "
        f"generated in {res['generate_seconds']} s (0 when the files were already there)."
    )


def _fit(points: list[tuple[int, float]], n: int) -> float:
    (x0, y0), (x1, y1) = points
    slope = (y1 - y0) / (x1 - x0)
    return y0 + slope * (n - x0)


def projection(results: dict[str, dict]) -> str:
    small, medium = results.get("small"), results.get("medium")
    if not (small and medium):
        return "Needs both `bench/results/small.json` and `bench/results/medium.json`: run the small and medium scales."
    lines = [
        f"Straight lines through the small and medium runs, extended to {LARGE_ROWS:,} expense entries "
        "(a national ledger: ten times the medium scale). Not measured: a projection.",
        "",
        "| figure | db | small (measured) | medium (measured) | large (projected) |",
        "|---|---|---|---|---|",
    ]
    for backend in ("sqlite", "postgres"):
        s, m = small.get("load", {}).get(backend, {}), medium.get("load", {}).get(backend, {})
        if "ours" not in s or "ours" not in m:
            continue
        pts = [(s["rows"], s["ours"]["seconds"]), (m["rows"], m["ours"]["seconds"])]
        secs = _fit(pts, LARGE_ROWS)
        lines.append(f"| import time (s) | {backend} | {s['ours']['seconds']:,.1f} | {m['ours']['seconds']:,.1f} | "
                     f"{secs:,.0f} ({LARGE_ROWS / secs:,.0f} rows/s) |")
        rss = _fit([(s["rows"], s["ours"]["peak_rss"]), (m["rows"], m["ours"]["peak_rss"])], LARGE_ROWS)
        lines.append(f"| import peak RSS (MB) | {backend} | {s['ours']['peak_rss'] / MB:,.0f} | "
                     f"{m['ours']['peak_rss'] / MB:,.0f} | {rss / MB:,.0f} if it keeps growing as it does |")
        db = _fit([(s["rows"], s["db_bytes"]), (m["rows"], m["db_bytes"])], LARGE_ROWS)
        lines.append(f"| database size (GB) | {backend} | {s['db_bytes'] / 1e9:,.2f} | {m['db_bytes'] / 1e9:,.2f} | "
                     f"{db / 1e9:,.1f} |")
        sc, mc = small.get("check", {}).get(backend, {}), medium.get("check", {}).get(backend, {})
        if "ours" in sc and "ours" in mc:
            c = _fit([(s["rows"], sc["ours"]["seconds"]), (m["rows"], mc["ours"]["seconds"])], LARGE_ROWS)
            lines.append(f"| `sunshine check` (s) | {backend} | {sc['ours']['seconds']:,.2f} | "
                         f"{mc['ours']['seconds']:,.2f} | {c:,.0f} |")
    return "\n".join(lines)


def trim_profile(text: str, share: float = 0.03) -> str:
    """pyinstrument's tree cut to the frames holding at least ``share`` of the whole run."""
    lines = text.splitlines()
    head = [ln for ln in lines[:8] if "Duration" in ln or "Program" in ln]
    total = None
    keep = []
    skip_deeper_than = None  # module imports are start-up cost, shown as one line
    for line in lines:
        m = re.match(r"^([\s│├└─]*)(\d+\.\d+) (.*)$", line)
        if not m:
            continue
        depth, seconds = len(m.group(1)), float(m.group(2))
        total = total or seconds
        if skip_deeper_than is not None:
            if depth > skip_deeper_than:
                continue
            skip_deeper_than = None
        if "frozen importlib" in line:
            skip_deeper_than = depth
            if seconds >= share * total:
                keep.append(f"{m.group(1)}{seconds:.3f} (importing modules)")
            continue
        if seconds >= share * total:
            keep.append(line.replace("│  ", "│ ").rstrip()[:170])
    return "\n".join([*(h.strip() for h in head), *keep])


def _profile_text(res: dict) -> str | None:
    parts = []
    for phase, what in (("load", "import expenses"), ("check", "check")):
        prof = res.get(phase, {}).get("sqlite", {}).get("profile")
        if prof:
            parts.append(f"`sunshine {what}` on SQLite (frames with ≥ 3% of the run):\n\n```\n{trim_profile(prof)}\n```")
    return "\n\n".join(parts) or None


def _replace(doc: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in doc:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, doc, flags=re.S)
    return doc.rstrip() + "\n\n" + block + "\n"


def deploy_figures(results: dict[str, dict]) -> str:
    """The measured figures docs/deploy.md leans on, one line per scale and database."""
    def web(http: dict, key: str) -> str:
        f = http.get(key)
        return f"{_n(f['rps'])} ({f['p99_ms']:.0f})" if f else "n/a"

    lines = ["| scale | db | import rows/s | import peak RSS (MB) | bytes on disk per entry | `sunshine check` (s) "
             "| page req/s (p99 ms) | random-unit page req/s (p99 ms) | aggregate req/s (p99 ms) | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for scale in ("small", "medium"):
        res = results.get(scale)
        if not res:
            continue
        for backend in ("sqlite", "postgres"):
            load = res.get("load", {}).get(backend, {})
            check = res.get("check", {}).get(backend, {})
            http = res.get("http", {}).get(backend, {})
            if "ours" not in load:
                continue
            entries = load["rows"]
            lines.append(
                f"| {scale} | {backend} | {_n(load['ours']['rows_per_s'])} | {_n(load['ours']['peak_rss'] / MB)} | "
                f"{_n(load['db_bytes'] / entries)} | {_n(check.get('ours', {}).get('seconds'), 2)} | {web(http, 'page')} | "
                f"{web(http, 'unit_page')} | {web(http, 'aggregate')} | {load.get('loadavg', ['?'])[0]} |"
            )
    return "\n".join(lines) + (
        "\n\nBytes on disk per entry divide the whole database after loading expenses, budgets and procurement "
        "by the expense entries, so they include the other tables, indexes, rollups and the transparency log.")


def write_deploy(doc_path: Path, results_dir: Path) -> None:
    if not doc_path.exists():
        return
    results = {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))}
    doc = _replace(doc_path.read_text(), "deploy", deploy_figures(results))
    for name in ("postgres", "sqlite"):
        plan = results_dir / f"explain-{name}.txt"
        if plan.exists():
            doc = _replace(doc, f"explain-{name}", plan.read_text().strip())
    doc_path.write_text(doc)


def write_doc(doc_path: Path, results_dir: Path) -> None:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))}
    doc = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n"
    for scale in ("small", "m1", "medium"):
        res = results.get(scale)
        if res:
            doc = _replace(doc, scale, machine_text(res) + "\n" + loadavg_text(res) + "\n\n" + table(res))
            prof = _profile_text(res)
            if prof:
                doc = _replace(doc, f"profile-{scale}", prof)
    doc = _replace(doc, "large", projection(results))
    for spy in sorted(results_dir.glob("spy-*.txt")):
        doc = _replace(doc, spy.stem, "```\n" + spy.read_text().strip() + "\n```")
    doc_path.write_text(doc)
    write_deploy(doc_path.parent / "deploy.md", results_dir)


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    write_doc(root / "docs" / "benchmarks.md", root / "bench" / "results")
    sys.exit(0)
