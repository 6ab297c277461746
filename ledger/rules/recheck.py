"""Recompute the latest check run's target results and name every stored result that differs.

A target result says a government met or missed a promise: a result altered in the store is an
accusation made, or withdrawn, behind the ledger's back. The log's hashes cover the entries and the
reviews; this covers the results, by evaluating the targets again from the live entries. It compares
only when the run saw the same data, targets, thresholds and rule versions (same fingerprint); a run
older than the data is reported as stale, never as a mismatch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger.rules import flags, thresholds
from ledger.rules.checks import evaluate_all, fingerprint
from ledger.store.models import CheckRun, TargetResult, Unit

FIELDS = ("status", "baseline_fen", "cap_fen", "value_fen", "excess_fen", "excess_pct", "detail_json")


@dataclass
class Recheck:
    run_id: int | None = None
    state: str = "no_run"  # no_run | stale | matches | differs
    checked: int = 0
    problems: list[dict] = field(default_factory=list)


def _norm(name: str, value):
    if value is None:
        return None
    if name == "excess_pct":
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    if name == "detail_json":
        return json.dumps(json.loads(value), sort_keys=True)
    return value


def recheck(conn: Connection, config: dict | None = None) -> Recheck:
    """Evaluate the targets again and compare with the newest run's stored results."""
    runs = CheckRun.__table__
    run = conn.execute(select(runs.c.id, runs.c.fingerprint, runs.c.fiscal_year)
                       .where(runs.c.finished_at.is_not(None)).order_by(runs.c.id.desc()).limit(1)).first()
    if run is None:
        return Recheck()
    config = config if config is not None else thresholds.load_flag_config()
    now = fingerprint(conn, run.fiscal_year, thresholds.fingerprint(config), flags.rule_versions())
    if now != run.fingerprint:
        return Recheck(run.id, "stale")
    codes = dict(conn.execute(select(Unit.id, Unit.code)).all())
    key = ("target_id", "unit_id", "fiscal_year")
    expected = {tuple(r[k] for k in key): {f: _norm(f, r[f]) for f in FIELDS}
                for r in evaluate_all(conn, run.fiscal_year).iter_rows(named=True)}
    r = TargetResult.__table__
    stored = {}
    for row in conn.execute(select(r).where(r.c.run_id == run.id)).mappings():
        stored[tuple(row[k] for k in key)] = (row["id"], {f: _norm(f, row[f]) for f in FIELDS})
    out = Recheck(run.id, "matches", len(stored))

    def name(k):
        return f"target {k[0]}, unit {codes.get(k[1], k[1])}, {k[2]}"

    for k in sorted(stored.keys() | expected.keys(), key=str):
        if k not in expected:
            out.problems.append({"code": "target-result-added", "row_id": stored[k][0],
                                 "message": f"{name(k)}: a stored result the figures do not produce"})
        elif k not in stored:
            out.problems.append({"code": "target-result-deleted", "row_id": None,
                                 "message": f"{name(k)}: the figures give {expected[k]['status']}, "
                                            f"but run {run.id} holds no result"})
        else:
            row_id, got = stored[k]
            diff = [f for f in FIELDS if got[f] != expected[k][f]]
            if diff:
                shown = ", ".join(f"{f} {got[f]!r} (figures give {expected[k][f]!r})" for f in diff if f != "detail_json")
                out.problems.append({"code": "target-result-changed", "row_id": row_id,
                                     "message": f"{name(k)}: {shown or 'detail changed'}"})
    if out.problems:
        out.state = "differs"
    return out
