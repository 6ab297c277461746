"""What the privacy rules hide: rows, names and amounts per rule and dataset (``sunshine redactions``).

Counts are over live rows (what the public reads now). The names themselves are listed only when
asked (``names=True``): the CLI and the admin endpoint are restricted outputs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from ledger.read.privacy import rules as privacy_rules
from ledger.read.privacy.redactor import NAMED, current_rules
from ledger.store.batches import live
from ledger.store.models import ExpenseEntry, ProcurementRecord


def _names(conn: Connection):
    e, p = ExpenseEntry.__table__, ProcurementRecord.__table__
    for dataset, tbl, col, amount in (("expenses", e, e.c.payee, e.c.amount_fen),
                                      ("procurement", p, p.c.supplier_name, p.c.contract_fen)):
        type_col = tbl.c.get(NAMED[dataset][1] or "")
        cols = [col] + ([type_col] if type_col is not None else [])
        stmt = (select(*cols, func.count(), func.coalesce(func.sum(amount), 0))
                .where(col.is_not(None), live(tbl.c.batch_id)).group_by(*cols))
        for r in conn.execute(stmt):
            yield dataset, r[0], (r[1] if type_col is not None else None), int(r[-2]), int(r[-1])


def redactions(conn: Connection, rules: privacy_rules.PrivacyRules | None = None, *,
               names: bool = False) -> dict[str, Any]:
    """Per dataset: rows, distinct names and amount (fen) hidden, in total and per rule; and the names
    with their rule when ``names`` (restricted callers only)."""
    rules = rules or current_rules()
    datasets: dict[str, dict[str, Any]] = {
        d: {"rows": 0, "names": 0, "amount_fen": 0, "rows_checked": 0,
            "by_rule": {r: {"rows": 0, "names": 0, "amount_fen": 0} for r in privacy_rules.RULES}}
        for d in NAMED}
    listed: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for dataset, name, kind, rows, fen in _names(conn):
        d = datasets[dataset]
        d["rows_checked"] += rows
        rule = rules.classify(name, kind)
        if rule is None:
            continue
        new = (dataset, name) not in seen
        seen.add((dataset, name))
        for bucket in (d, d["by_rule"][rule]):
            bucket["rows"] += rows
            bucket["names"] += int(new)
            bucket["amount_fen"] += fen
        if names:
            listed.append({"dataset": dataset, "name": name, "payee_type": kind, "rule": rule, "rows": rows,
                           "amount_fen": fen})
    out: dict[str, Any] = {"label_zh": rules.label_zh, "label_en": rules.label_en, "rules": rules.fingerprint(),
                           "datasets": datasets}
    if names:
        out["names"] = sorted(listed, key=lambda n: (n["dataset"], -n["amount_fen"], n["name"]))
    return out
