"""Warming a new worker's process-level caches before it takes traffic (``SUNSHINE_WARM``).

A new worker otherwise pays, on its first requests, for what the ledger keeps per process: each
batch's totals and units (``ledger.read.totals``: the aggregate and its coverage) and the privacy
redactor's hidden names (``ledger.read.privacy.redactor``: about 1 CPU-s at 5M entries). ``warm``
runs as a Litestar ``on_startup`` hook, which uvicorn awaits before it accepts connections, and goes
through the same read functions a request does, so what it fills is exactly what a request would.
It never stops the server: an empty or unmigrated database, or any error, is logged and start-up
goes on.
"""

from __future__ import annotations

import logging
import time

from litestar import Litestar

from ledger.read import aggregate as queries_aggregate
from ledger.read.privacy import redactor as privacy
from ledger.store.db import reading

log = logging.getLogger("sunshine.api")


def caches(engine) -> dict[str, int]:
    """Fill the process caches for ``engine`` as a public aggregate and flags page would: what was warmed."""
    with reading(engine) as conn:
        result = queries_aggregate.aggregate(conn)  # per-batch totals, units and the coverage of every year
        names = privacy.for_reader(conn).names()  # the hidden names the flags, search and texts scrub
    return {"years": len(result.coverage), "hidden_names": len(names)}


def warm(app: Litestar) -> None:
    """``on_startup``: warm the caches when the settings ask for it; log one line, never raise."""
    if not app.state.settings.warm:
        return
    start, cpu = time.perf_counter(), time.process_time()
    try:
        got = caches(app.state.engine)
    except Exception as exc:  # a new, empty or broken database still serves (and says so on each request)
        log.warning("warm-up skipped after %.2f s: %s: %s", time.perf_counter() - start, type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "")
        return
    log.info("warm-up: totals and coverage of %d year(s), %d hidden name(s) in %.2f s (%.2f CPU-s)",
             got["years"], got["hidden_names"], time.perf_counter() - start, time.process_time() - cpu)
