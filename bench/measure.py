"""Measuring tools shared by the benchmark: a child's wall time and peak RSS, servers, wrk.

Peak RSS is the ``ru_maxrss`` of the very process that did the work, read by GNU ``time`` (Debian
package ``time``): Linux keeps a child's high-water mark across ``fork``+``exec``, so reading it
from this (large) Python process's own child would count the benchmark's memory, not the child's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import generate

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SERVER_CPU = "0"  # the server under test is pinned here ...
LOAD_CPU = "1"  # ... and wrk here, so the load generator never steals the server's core


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes
    cpu_seconds: float  # user + system: less swayed than wall time by other work on a shared machine
    returncode: int
    stdout: str
    stderr: str


def measured(cmd: list[str], *, env: dict | None = None, cwd: Path = ROOT, stdin: str | None = None) -> Run:
    """Run ``cmd`` to completion; return its wall time and its own peak resident set size."""
    rss_file = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False)
    rss_file.close()
    cmd = ["/usr/bin/time", "-f", "%M %U %S", "-o", rss_file.name, *cmd]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, text=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    # communicate() reaps the child itself, so read the pipes on threads and reap with wait4 here.
    out: dict[str, str] = {}

    def pump(name, stream):
        out[name] = stream.read()

    threads = [threading.Thread(target=pump, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    del usage  # the time wrapper's own, not the command's
    text = Path(rss_file.name).read_text().strip().splitlines()
    Path(rss_file.name).unlink()
    fields = text[-1].split() if text else []
    peak_kb, cpu = (int(fields[0]), float(fields[1]) + float(fields[2])) if len(fields) == 3 else (0, 0.0)
    return Run(seconds, peak_kb * 1024, cpu, proc.returncode, out.get("out", ""), out.get("err", ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:  # a 4xx still means the server is up
            if exc.code < 500:
                return
            last = exc
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up: {last}")


@contextmanager
def server(cmd: list[str], probe_url: str, *, env: dict | None = None, log: Path | None = None,
           cpus: str | None = SERVER_CPU):
    """A server pinned to ``cpus`` (default ``SERVER_CPU``; None: not pinned) for the duration of the block;
    stopped by its own pid."""
    log = log or Path(os.devnull)
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*(["taskset", "-c", cpus] if cpus else []), *cmd], cwd=ROOT, env={**os.environ, **(env or {})},
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            try:
                wait_http(probe_url, proc=proc)
            except RuntimeError as exc:
                tail = log.read_text()[-400:] if log.exists() and log.name != os.devnull else ""
                raise RuntimeError(f"{exc}; log: {tail}") from None
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@dataclass
class Load:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx/3xx responses
    non_2xx: int
    seconds: float


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(text: str) -> Load:
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", text).group(1))
    dur = re.search(r"requests in ([\d.]+\w+)", text).group(1)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non = int(non2xx.group(1)) if non2xx else 0
    socket_errors = sum(int(g) for g in sock.groups()) if sock else 0
    return Load(requests, rps, p50, p99, non + socket_errors, non, _ms(dur) / 1000)


def wrk(url: str, *, connections: int = 32, seconds: int = 10, script: Path | None = None) -> tuple[Load, str]:
    """Load ``url`` from ``LOAD_CPU`` with one wrk thread; latency percentiles included."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout), done.stdout


def get_json_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as resp:  # a cold first read at 5M takes tens of seconds on a busy machine
        return resp.read()


def pg_conninfo(url: str, dbname: str | None = None) -> str:
    u = make_url(url.replace("postgresql+psycopg://", "postgresql://"))
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}"]
    if u.password:
        parts.append(f"password={u.password}")
    parts.append(f"dbname={dbname or u.database or 'postgres'}")
    return " ".join(parts)


# wrk over our server and the peers, as the HTTP phase (bench/scenarios.py) runs it
def _measure(url: str, ctx) -> dict:
    get_json_bytes(url)  # warm caches and fail early on a 4xx/5xx
    load, _ = wrk(url, connections=ctx["args"].connections, seconds=ctx["args"].seconds)
    return {"rps": round(load.rps, 1), "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "errors": load.errors,
            "requests": load.requests}


def _measure_units(base: str, prefix: str, ctx, name: str) -> dict:
    """wrk over one unit's first page per request, the unit drawn at random: few response-cache hits."""
    units = generate.SCALES[ctx["args"].scale].units
    script = ctx["work"] / f"units-{name}.lua"
    script.write_text(
        "math.randomseed(7)\n"
        f"local prefix = {json.dumps(prefix)}\n"
        "request = function()\n"
        f"  return wrk.format('GET', prefix .. string.format('%07d', math.random(1, {units})))\n"
        "end\n"
    )
    get_json_bytes(base + prefix + "0000001")
    load, _ = wrk(base + "/", connections=ctx["args"].connections, seconds=ctx["args"].seconds, script=script)
    return {"rps": round(load.rps, 1), "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "errors": load.errors,
            "requests": load.requests}


class Watch:
    """While a load runs: every ``every`` s, time one GET of ``url`` and (PostgreSQL) list the backends of
    database ``dbname`` that wait on a lock, so a stall shows when it happened and what it waited for."""

    def __init__(self, url: str, conninfo: str | None = None, every: float = 0.5):
        self.url, self.conninfo, self.every = url, conninfo, every
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.perf_counter()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _locks(self, conn) -> list[str]:
        return [f"{w}/{e} {state} {round(age, 1)}s: {q}" for w, e, state, age, q in conn.execute(
            "SELECT wait_event_type, wait_event, state, extract(epoch FROM now() - query_start), left(query, 90) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock'").fetchall()]

    def _run(self) -> None:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True) if self.conninfo else None
        try:
            while not self._stop.wait(self.every):
                started = time.perf_counter()
                try:
                    status = urllib.request.urlopen(self.url, timeout=60).status
                except Exception as exc:  # a failed probe is a figure too
                    status = f"{type(exc).__name__}: {exc}"[:120]
                ms = (time.perf_counter() - started) * 1000
                self.samples.append({"t": round(started - self.t0, 2), "ms": round(ms, 1), "status": status,
                                     "locks": self._locks(conn) if conn else []})
        finally:
            if conn:
                conn.close()

    def summary(self) -> dict:
        """The slowest probes and the samples that saw a lock wait."""
        slow = sorted(self.samples, key=lambda s: -s["ms"])[:5]
        return {"probes": len(self.samples), "slowest": slow, "lock_waits": [s for s in self.samples if s["locks"]][:10]}


def socket_errors(text: str) -> dict:
    """wrk's socket errors by kind (connect, read, write, timeout)."""
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True)) if sock else {}
