"""What a reviewer reads about one flag: the flag, its figures and threshold, the batches and rows its
evidence names, its review history with every note, and what the public will see once published.

Reads the store directly (the ledger's read package is at its module limit); nothing here writes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, select

from ledger.review.assignments import assignees, reviewers
from ledger.review.workflow import TRANSITIONS, importers_of, review_history
from ledger.store import published as figures
from ledger.store.batches import live
from ledger.store.models import BudgetLine, ExpenseEntry, Flag, ImportBatch, ProcurementRecord, Unit

MAX_ROWS = 200
ACTIVE_FIRST = ("open", "under_review")


def queue(conn: Connection, *, rule: str | None = None, state: str | None = None, unit: str | None = None,
          year: int | None = None, assignee: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Flags to review, those still open or under review first, then newest first; ``assignee`` ``-``
    keeps the flags assigned to nobody."""
    f, u = Flag.__table__, Unit.__table__
    query = (select(f.c.id, f.c.rule_code, f.c.fiscal_year, f.c.state, f.c.data_status, f.c.message_zh,
                    f.c.message_en, f.c.created_at, u.c.code.label("unit_code"), u.c.name.label("unit_name"))
             .select_from(f.outerjoin(u, u.c.id == f.c.unit_id)))
    if rule:
        query = query.where(f.c.rule_code == rule)
    if state:
        query = query.where(f.c.state == state)
    if unit:
        query = query.where(u.c.code == unit)
    if year is not None:
        query = query.where(f.c.fiscal_year == year)
    who = assignees(conn)
    if assignee:
        mine = [k for k, v in who.items() if v == assignee]
        query = query.where(f.c.id.not_in(list(who))) if assignee == "-" else query.where(f.c.id.in_(mine))
    rows = [dict(r._mapping) | {"assignee": who.get(r.id)}
            for r in conn.execute(query.order_by(f.c.created_at.desc(), f.c.id).limit(limit))]
    return sorted(rows, key=lambda r: r["state"] not in ACTIVE_FIRST)


def choices(conn: Connection) -> dict[str, list]:
    """The values the queue's filters offer."""
    f, u = Flag.__table__, Unit.__table__
    return {
        "rules": sorted(conn.execute(select(f.c.rule_code).distinct()).scalars()),
        "years": sorted({y for y in conn.execute(select(f.c.fiscal_year).distinct()).scalars() if y}, reverse=True),
        "units": conn.execute(select(u.c.code, u.c.name).where(u.c.id.in_(select(f.c.unit_id)))
                              .order_by(u.c.code)).all(),
        "reviewers": reviewers(conn),
    }


def case(conn: Connection, flag_id: str) -> dict[str, Any] | None:
    """Everything the case page shows, or None for an unknown flag."""
    f, u = Flag.__table__, Unit.__table__
    row = conn.execute(select(f, u.c.code.label("unit_code"), u.c.name.label("unit_name"))
                       .select_from(f.outerjoin(u, u.c.id == f.c.unit_id)).where(f.c.id == flag_id)).first()
    if row is None:
        return None
    m = dict(row._mapping)
    evidence = json.loads(m["evidence_json"] or "{}")
    history = review_history(conn, flag_id, include_restricted=True)
    return {
        "flag": m, "figures": json.loads(m["figures_json"] or "{}"), "threshold": json.loads(m["threshold_json"] or "{}"),
        "evidence": evidence, "batches": _batches(conn, evidence.get("batch_ids", [])),
        "rows": _rows(conn, evidence, m), "history": history, "moves": TRANSITIONS.get(m["state"], ()),
        "importers": sorted(importers_of(conn, m["evidence_json"])),
        "preview": preview(history), "years": years(conn, m["unit_id"], m["category_code"]),
        "assignee": assignees(conn).get(flag_id), "reviewers": reviewers(conn),
    }


def years(conn: Connection, unit_id: int | None, category: str | None) -> list[dict[str, Any]]:
    """The unit's figures for the flag's category year by year (actual, budgets), as every reader takes
    them (``ledger.store.published.resolve``: a published figure before the sum of its parts)."""
    if unit_id is None or category is None:
        return []
    resolved = figures.resolve(figures.rollup_rows(conn, unit_ids=[unit_id]), figures.parents(conn))
    by_year: dict[int, dict[str, Any]] = {}
    for r in resolved.filter(resolved["category_code"] == category).iter_rows(named=True):
        by_year.setdefault(r["fiscal_year"], {"year": r["fiscal_year"]})[r["measure"]] = r["amount"]
    return [by_year[y] for y in sorted(by_year, reverse=True)]


def preview(history) -> dict[str, Any]:
    """What the public reads once the finding is published: every public note (already published or
    waiting), the latest as the flag's published note; internal notes never."""
    public = [h for h in history if h.visibility == "public"]
    return {"notes": public, "latest": public[-1] if public else None,
            "waiting": [h for h in public if h.published_at is None],
            "internal": [h for h in history if h.visibility == "internal"]}


def _batches(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    b = ImportBatch.__table__
    later = {r.supersedes_id: r.id for r in conn.execute(select(b.c.id, b.c.supersedes_id)
                                                          .where(b.c.supersedes_id.in_(ids)))}
    rows = conn.execute(select(b.c.id, b.c.kind, b.c.file_name, b.c.submitted_by, b.c.created_at, b.c.rows_loaded,
                               b.c.supersedes_id).where(b.c.id.in_(ids)).order_by(b.c.id))
    return [dict(r._mapping) | {"superseded_by": later.get(r.id)} for r in rows]


def _rows(conn: Connection, evidence: dict, flag: dict) -> list[dict[str, Any]]:
    """The stored rows the evidence names: by id, or the live rows of its unit, year and category."""
    e, bl, p, u = ExpenseEntry.__table__, BudgetLine.__table__, ProcurementRecord.__table__, Unit.__table__
    if evidence.get("expense_entry_ids"):
        return _expenses(conn, e.c.id.in_(evidence["expense_entry_ids"]))
    if evidence.get("procurement_record_ids"):
        rows = conn.execute(select(p.c.batch_id, p.c.source_row, p.c.project_code, p.c.title, p.c.method,
                                   p.c.budget_fen, p.c.contract_fen, p.c.supplier_name)
                            .where(p.c.id.in_(evidence["procurement_record_ids"])).order_by(p.c.id).limit(MAX_ROWS))
        return [{"table": "procurement", "batch_id": r.batch_id, "source_row": r.source_row,
                 "what": f"{r.project_code} {r.title} ({r.method}) {r.supplier_name or ''}",
                 "amount_fen": r.contract_fen, "budget_fen": r.budget_fen} for r in rows]
    scope = evidence.get("rollup") or evidence.get("expense_entries")
    if not scope:
        return []
    unit_ids = select(u.c.id).where(u.c.code == scope.get("unit_code"))
    out = _expenses(conn, and_(e.c.unit_id.in_(unit_ids), e.c.fiscal_year == scope.get("fiscal_year"),
                               e.c.category_code == scope.get("category_code"), live(e.c.batch_id)))
    budgets = conn.execute(select(bl.c.batch_id, bl.c.source_row, bl.c.stage, bl.c.amount_fen)
                           .where(bl.c.unit_id.in_(unit_ids), bl.c.fiscal_year == scope.get("fiscal_year"),
                                  bl.c.category_code == scope.get("category_code"), live(bl.c.batch_id))
                           .order_by(bl.c.batch_id, bl.c.source_row).limit(MAX_ROWS))
    return out + [{"table": "budget", "batch_id": r.batch_id, "source_row": r.source_row, "what": r.stage,
                   "amount_fen": r.amount_fen} for r in budgets]


def _expenses(conn: Connection, condition) -> list[dict[str, Any]]:
    e = ExpenseEntry.__table__
    rows = conn.execute(select(e.c.batch_id, e.c.source_row, e.c.entry_date, e.c.payee, e.c.description,
                               e.c.amount_fen, e.c.persons).where(condition)
                        .order_by(e.c.batch_id, e.c.source_row).limit(MAX_ROWS))
    return [{"table": "expense", "batch_id": r.batch_id, "source_row": r.source_row,
             "what": " ".join(str(x) for x in (r.entry_date, r.payee, r.description) if x),
             "amount_fen": r.amount_fen, "persons": r.persons} for r in rows]
