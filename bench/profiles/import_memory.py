"""Where an import's peak resident memory comes from: RSS sampled per phase, in process.

    .venv/bin/python -m bench.profiles.import_memory FILE                    # expenses into a fresh SQLite
    .venv/bin/python -m bench.profiles.import_memory FILE --kind budgets
    .venv/bin/python -m bench.profiles.import_memory FILE --backend postgres

The import runs in this process into a fresh database (``bench.profiles.import_profile.fresh``) with
the functions of ``PHASES`` wrapped; a thread reads ``VmRSS`` from ``/proc/self/status`` every 20 ms
and charges each sample to the innermost phase running, so the table shows, per phase, the RSS when
it was first entered, the highest RSS seen while it ran, and how often it ran. ``VmHWM`` (the kernel's
own high-water mark) is printed at the end with the CPU seconds; the peak phase is the one whose
maximum equals it (within a sample's 20 ms). No memray needed: RSS is what the aim is stated in.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import os
import threading
import time
from pathlib import Path

from bench.profiles.import_profile import WORK, _upgrade, fresh

PHASES = [
    ("read csv blocks", "importers.sheets.sources", "_record_blocks"),
    ("normalise (validate)", "importers.kinds", "normalise"),
    ("duplicates mark", "importers.checks.duplicates", "Finder.mark"),
    ("duplicates report", "importers.checks.duplicates", "Finder.report"),
    ("spool add", "importers.pipeline", "Spool.add"),
    ("reconcile", "importers.checks.reconcile", "check"),
    ("magnitude", "importers.checks.magnitude", "Magnitude.check"),
    ("write (all)", "importers.pipeline", "_write"),
    ("bulk_insert", "importers.pipeline", "bulk_insert"),
    ("frames (lines, sums)", "importers.pipeline", "BatchFrames.add"),
    ("index rebuild", "importers.pipeline", "indexes.set_aside"),
    ("publish", "ledger.log.events", "batch_published"),
    ("rollups", "ledger.log.events", "refresh_rollups"),
    ("flag basis", "ledger.log.events", "refresh_flag_basis"),
    ("search index", "ledger.log.events", "search_index.index_batch"),
    ("transparency log", "ledger.log.events", "tlog.record_batch"),
    ("commit", "sqlalchemy.engine.base", "Connection.commit"),
]


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Sampler:
    """RSS every ``every`` seconds, charged to the innermost active phase (``stack``)."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.stack, self.stats = every, ["(outside phases)"], {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _charge(self, rss: int) -> None:
        label = self.stack[-1]
        s = self.stats.setdefault(label, {"enter_mb": rss / 1024, "max_mb": 0.0, "calls": 0})
        s["max_mb"] = max(s["max_mb"], rss / 1024)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._charge(_kb("VmRSS"))

    def enter(self, label: str) -> None:
        rss = _kb("VmRSS")
        self.stats.setdefault(label, {"enter_mb": rss / 1024, "max_mb": rss / 1024, "calls": 0})["calls"] += 1
        self.stack.append(label)
        self._charge(rss)

    def leave(self) -> None:
        self._charge(_kb("VmRSS"))
        self.stack.pop()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _wrap(sampler: Sampler, label: str, module: str, attr: str) -> None:
    obj = importlib.import_module(module)
    *path, last = attr.split(".")
    for p in path:
        obj = getattr(obj, p, None)
    fn = getattr(obj, last, None)
    if fn is None:
        return
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def timed_gen(*a, **k):
            gen = fn(*a, **k)
            while True:
                sampler.enter(label)
                try:
                    item = next(gen)
                except StopIteration:
                    return
                finally:
                    sampler.leave()
                yield item
        setattr(obj, last, timed_gen)
        return
    @functools.wraps(fn)
    def timed(*a, **k):
        sampler.enter(label)
        try:
            return fn(*a, **k)
        finally:
            sampler.leave()

    setattr(obj, last, timed)


def profile(path: Path, kind: str, backend: str) -> dict:
    url = fresh(backend, "perf_memory")
    _upgrade(url)
    from importers.pipeline import Options
    from importers.run import import_file
    from ledger.store.db import make_engine

    engine = make_engine(url)
    load0 = os.getloadavg()[0]
    with Sampler() as sampler:
        for label, module, attr in PHASES:
            if label == "index rebuild":
                continue  # a context manager: its work runs in the caller's with block (bulk_insert)
            _wrap(sampler, label, module, attr)
        base = _kb("VmRSS") / 1024
        c = time.process_time()
        result = import_file(engine, kind, path, Options(submitted_by="bench"))
        cpu = time.process_time() - c
    engine.dispose()
    assert result.status == "loaded", result.report
    hwm = _kb("VmHWM") / 1024
    out = {"file": str(path), "kind": kind, "backend": backend, "csv_mb": round(path.stat().st_size / 1e6, 1),
           "rows": result.report["rows"]["loaded"], "cpu_s": round(cpu, 2), "vm_hwm_mb": round(hwm),
           "rss_before_import_mb": round(base), "loadavg": [round(load0, 2), round(os.getloadavg()[0], 2)],
           "phases": {k: {"enter_mb": round(v["enter_mb"]), "max_mb": round(v["max_mb"]), "calls": v["calls"]}
                      for k, v in sampler.stats.items()}}
    print(f"{kind} {backend}: {out['rows']:,} rows, {cpu:.1f} CPU-s, VmHWM {hwm:,.0f} MB "
          f"({hwm / (out['csv_mb']):.2f}× the {out['csv_mb']} MB file; {base:.0f} MB before the import)")
    for label, s in sorted(out["phases"].items(), key=lambda kv: -kv[1]["max_mb"]):
        print(f"  {label:24s} enter {s['enter_mb']:7,} MB  max {s['max_mb']:7,} MB  calls {s['calls']}")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--kind", default="expenses")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    out = profile(args.file.resolve(), args.kind, args.backend)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
