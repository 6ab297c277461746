"""Red flags: a registry of rules keyed by a stable code, and the store of the flags they raise.

A rule is a plain function ``(conn, ctx) -> list[FlagDraft]`` registered with ``@rule(code, version,
policy_ref)`` in ``ledger/rules/flag_rules.py`` (the registry is ``ledger.rules.registry``); its thresholds come from the ``[flags.<code>]`` section
of ``sunshine.toml`` (``ledger.rules.thresholds``). Each flag explains itself: rule code and version, the
figures compared, the threshold, the policy it rests on, a sentence in Chinese and English, and
evidence (row ids, batch ids, the target result).

A flag's id is a hash of its rule code and subject (unit code, year, category, supplier …), so a
re-run finds the same flag. A flag not raised again by a later run covering its year is marked
``data_status = resolved_by_data`` (never deleted); raised again, it becomes ``active`` again.
"""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Connection, bindparam, select, update

from ledger.rules import flag_rules, flag_rules_costs, flag_rules_procurement  # noqa: F401  (importing them registers their rules)
from ledger.rules.registry import REGISTRY, Context, FlagDraft
from ledger.store.batches import bulk_insert
from ledger.store.models import Flag, Unit, utcnow

_TEXT = ("rule_code", "category_code", "figures_json", "threshold_json", "policy_ref", "message_zh", "message_en",
         "evidence_json", "data_status")
FLAG_SCHEMA = {"id": pl.String, "state": pl.String, "first_run_id": pl.Int64, "created_at": pl.Datetime("us", "UTC"),
               "rule_version": pl.Int64, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "last_run_id": pl.Int64,
               "resolved_at": pl.Datetime("us", "UTC"), **dict.fromkeys(_TEXT, pl.String)}


def rule_versions() -> dict[str, int]:
    """``{rule_code: version}`` of every registered rule."""
    return {c: r.version for c, r in sorted(REGISTRY.items())}


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def raise_flags(conn: Connection, run_id: int, *, year: int | None, config: dict, rollups=None) -> dict:
    """Run every rule, store new flags, refresh existing ones and resolve the ones no longer raised.

    Only flags of ``year`` (every year when None) are considered for resolution. Returns counts
    ``{"raised": n, "new": n, "resolved": n, "reactivated": n, "by_rule": {code: n}, "skipped": [...]}``;
    ``skipped`` lists what a rule could not judge and why (``{"rule", "currency", "records", "reason"}``:
    procurement in a currency with no threshold of its own is never compared with a 元 threshold).
    """
    from ledger.store.models import Category

    ctx = Context(run_id, year, config, rollups=rollups)
    ctx.units = {i: (c, n) for i, c, n in conn.execute(select(Unit.id, Unit.code, Unit.name))}
    ctx.categories = {c: (zh, en) for c, zh, en in conn.execute(select(Category.code, Category.name_zh, Category.name_en))}
    drafts: dict[str, FlagDraft] = {}
    by_rule: dict[str, int] = {}
    for code, r in sorted(REGISTRY.items()):
        found = [d for d in r.func(conn, ctx) if year is None or d.fiscal_year == year]
        by_rule[code] = len(found)
        for d in found:
            d.policy_ref = d.policy_ref or r.policy_ref
            drafts[d.id] = d
    t = Flag.__table__
    q = select(t.c.id, t.c.data_status)
    if year is not None:
        q = q.where(t.c.fiscal_year == year)
    existing = dict(conn.execute(q).all())
    # a flag may exist under another year (a correction moved its record to a new year): find it by id too
    known = dict(existing)
    unseen = [fid for fid in drafts if fid not in known]
    for i in range(0, len(unseen), 500):
        known.update(conn.execute(select(t.c.id, t.c.data_status).where(t.c.id.in_(unseen[i : i + 500]))).all())
    now = utcnow()
    inserts, updates = [], []
    reactivated = 0
    for fid, d in drafts.items():
        values = {
            "rule_code": d.rule_code, "rule_version": REGISTRY[d.rule_code].version, "unit_id": d.unit_id,
            "fiscal_year": d.fiscal_year, "category_code": d.category_code,
            "figures_json": _dumps(d.figures), "threshold_json": _dumps(d.threshold), "policy_ref": d.policy_ref,
            "message_zh": d.message_zh, "message_en": d.message_en, "evidence_json": _dumps(d.evidence),
            "last_run_id": run_id, "data_status": "active", "resolved_at": None,
        }
        if fid not in known:
            inserts.append({"id": fid, "state": "open", "first_run_id": run_id, "created_at": now, **values})
        else:
            reactivated += known[fid] == "resolved_by_data"
            updates.append({"flag_id": fid, **values})
    # new flags in bulk (COPY on PostgreSQL, executemany with tuples on SQLite): tens of thousands at scale
    if inserts:
        bulk_insert(conn, t, pl.DataFrame(inserts, schema=FLAG_SCHEMA))
    if updates:
        conn.execute(update(t).where(t.c.id == bindparam("flag_id")), updates)
    new = len(inserts)
    gone = [fid for fid, status in existing.items() if fid not in drafts and status == "active"]
    for i in range(0, len(gone), 500):
        conn.execute(
            update(t).where(t.c.id.in_(gone[i : i + 500])).values(data_status="resolved_by_data", resolved_at=now)
        )
    return {"raised": len(drafts), "new": new, "resolved": len(gone), "reactivated": reactivated, "by_rule": by_rule,
            "skipped": ctx.skipped}


def list_flags(conn: Connection, *, year: int | None = None, rule_code: str | None = None,
               state: str | None = None, data_status: str | None = None, unit: str | None = None) -> list[dict]:
    """Flags as plain dicts (see ``flag_dict``), newest year first, then rule and unit."""
    t, u = Flag.__table__, Unit.__table__
    q = select(t, u.c.code.label("unit_code"), u.c.name.label("unit_name")).join(u, u.c.id == t.c.unit_id, isouter=True)
    for col, value in ((t.c.fiscal_year, year), (t.c.rule_code, rule_code), (t.c.state, state),
                       (t.c.data_status, data_status), (u.c.code, unit)):
        if value is not None:
            q = q.where(col == value)
    q = q.order_by(t.c.fiscal_year.desc(), t.c.rule_code, u.c.code, t.c.id)
    return [flag_dict(m) for m in conn.execute(q).mappings()]


def get_flag(conn: Connection, flag_id_or_prefix: str) -> dict | None:
    """One flag by its id or a unique prefix of at least 6 characters; None when absent.

    ``LookupError`` when the prefix matches several flags.
    """
    key = flag_id_or_prefix.strip().lower()
    if len(key) < 6:
        raise LookupError("give at least 6 characters of the flag id")
    t, u = Flag.__table__, Unit.__table__
    rows = conn.execute(
        select(t, u.c.code.label("unit_code"), u.c.name.label("unit_name"))
        .join(u, u.c.id == t.c.unit_id, isouter=True).where(t.c.id.like(key + "%")).limit(2)
    ).mappings().all()
    if len(rows) > 1:
        raise LookupError(f"flag id prefix {key!r} matches more than one flag; give more characters")
    return flag_dict(rows[0]) if rows else None


def flag_dict(m) -> dict:
    """A stored flag as a plain dict with its JSON columns decoded."""
    return {
        "id": m["id"], "rule_code": m["rule_code"], "rule_version": m["rule_version"],
        "unit_code": m["unit_code"], "unit_name": m["unit_name"], "fiscal_year": m["fiscal_year"],
        "category_code": m["category_code"], "state": m["state"], "data_status": m["data_status"],
        "figures": json.loads(m["figures_json"]), "threshold": json.loads(m["threshold_json"] or "{}"),
        "policy_ref": m["policy_ref"], "message_zh": m["message_zh"], "message_en": m["message_en"],
        "evidence": json.loads(m["evidence_json"]), "first_run_id": m["first_run_id"],
        "last_run_id": m["last_run_id"], "created_at": m["created_at"], "resolved_at": m["resolved_at"],
    }
