"""Red flags: a registry of rules keyed by a stable code, and the store of the flags they raise.

A rule is a plain function ``(conn, ctx) -> list[FlagDraft]`` registered with ``@rule(code, version,
policy_ref)`` in ``ledger/rules/flag_rules.py`` (the registry is ``ledger.rules.registry``); its thresholds come from the ``[flags.<code>]`` section
of ``sunshine.toml`` (``ledger.rules.thresholds``). Each flag explains itself: rule code and version, the
figures compared, the threshold, the policy it rests on, a sentence in Chinese and English, and
evidence (row ids, batch ids, the target result).

A flag's id is a hash of its rule code and subject (unit code, year, category, supplier …), so a
re-run finds the same flag. A flag not raised again by a later run covering its year is marked
``data_status = resolved_by_data`` (never deleted); raised again, it becomes ``active`` again.

A check writes only what changed: a flag raised again with the same content (``digest``) keeps its row
untouched (``last_run_id`` is the last run that wrote it); a rule whose inputs (``rule_fingerprints``)
are those of the latest run is not run at all, and its flags stay as that run left them.
"""

from __future__ import annotations

import hashlib
import json

import polars as pl
from sqlalchemy import Column, Connection, MetaData, String, Table, select, update

from ledger.rules import flag_rules, flag_rules_costs, flag_rules_procurement  # noqa: F401  (importing them registers their rules)
from ledger.rules.registry import FLAG_COLUMNS, REGISTRY, Context, FlagDraft
from ledger.store.batches import bulk_insert, live
from ledger.store.models import (
    Category,
    CategoryGroupMember,
    Flag,
    ImportBatch,
    PolicyTarget,
    Unit,
    UnitEvent,
    utcnow,
)

_TEXT = ("rule_code", "category_code", "figures_json", "threshold_json", "policy_ref", "message_zh", "message_en",
         "evidence_json", "data_status")
FLAG_SCHEMA = {"id": pl.String, "state": pl.String, "first_run_id": pl.Int64, "created_at": pl.Datetime("us", "UTC"),
               "rule_version": pl.Int64, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "last_run_id": pl.Int64,
               "resolved_at": pl.Datetime("us", "UTC"), **dict.fromkeys(_TEXT, pl.String), "digest": pl.String}
# what a flag says: its digest covers these (its id covers rule and subject)
CONTENT = ("rule_version", "unit_id", "fiscal_year", "category_code", "figures_json", "threshold_json", "policy_ref",
           "message_zh", "message_en", "evidence_json")


def rule_versions() -> dict[str, int]:
    """``{rule_code: version}`` of every registered rule."""
    return {c: r.version for c, r in sorted(REGISTRY.items())}


def rule_fingerprints(conn: Connection, year: int | None, config: dict) -> dict[str, str]:
    """``{rule_code: sha256}`` of what each rule reads: its version and thresholds, the year, the units
    (codes, names, register events), the category tree and groups, the targets, and the live batches
    of the kinds it reads (every kind unless the rule says ``reads``)."""
    base = _base(conn, year)
    b = ImportBatch.__table__
    by_kind: dict[str, list] = {}
    for row in conn.execute(select(b.c.kind, b.c.id, b.c.sha256, b.c.status).where(live(b.c.id)).order_by(b.c.id)):
        by_kind.setdefault(row.kind, []).append(tuple(row))
    out = {}
    for code, r in sorted(REGISTRY.items()):
        h = base.copy()
        h.update(_dumps([code, r.version, r.policy_ref, config.get(code)]).encode())
        for kind in sorted(by_kind if r.reads is None else r.reads):
            h.update(repr(by_kind.get(kind, [])).encode())
        out[code] = h.hexdigest()
    return out


def _base(conn: Connection, year: int | None):
    """The hash of what every rule reads but batches: the year, units, register events, categories, targets."""
    base = hashlib.sha256(f"y{year}".encode())
    for q in (select(Unit.id, Unit.code, Unit.name, Unit.level).order_by(Unit.id),
              select(UnitEvent.id, UnitEvent.kind, UnitEvent.unit_id, UnitEvent.successor_id,
                     UnitEvent.fiscal_year).order_by(UnitEvent.id),
              select(Category.code, Category.parent_code, Category.name_zh, Category.name_en).order_by(Category.code),
              select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)
              .order_by(CategoryGroupMember.group_code, CategoryGroupMember.category_code),
              select(PolicyTarget.id, PolicyTarget.definition_sha256).order_by(PolicyTarget.id)):
        for row in conn.execute(q):
            base.update(repr(tuple(row)).encode())
    return base


def base_fingerprint(conn: Connection, year: int | None) -> str:
    """sha256 of what every rule reads but batches (``rule_fingerprints`` without the batches)."""
    return _base(conn, year).hexdigest()


def digest(frame: pl.DataFrame) -> pl.Series:
    """The sha256 of each flag's ``CONTENT`` (null and empty told apart).

    Evidence naming a run's own rows (``target_missed``: ``run_id``, ``target_result_id``) is left out: a
    flag whose figures are unchanged keeps pointing at the run that last wrote it (its ``last_run_id``)
    and that run's result, which says the same.
    """
    parts = [pl.col(c).cast(pl.String).fill_null("\x00") for c in CONTENT]
    parts[CONTENT.index("evidence_json")] = parts[CONTENT.index("evidence_json")].str.replace_all(
        r'"(?:run_id|target_result_id)": \d+', "")
    keys = frame.select(pl.concat_str(parts, separator="\x1f")).to_series()
    return pl.Series("digest", [hashlib.sha256(k.encode()).hexdigest() for k in keys], dtype=pl.String)


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def drafts_frame(drafts: list[FlagDraft], policy_ref: str) -> pl.DataFrame:
    """Drafts as a frame of ``FLAG_COLUMNS`` (the few rules that still return drafts)."""
    rows = [(d.id, d.rule_code, d.unit_id, d.fiscal_year, d.category_code, _dumps(d.figures), _dumps(d.threshold),
             d.policy_ref or policy_ref, d.message_zh, d.message_en, _dumps(d.evidence)) for d in drafts]
    return pl.DataFrame(rows, schema=FLAG_COLUMNS, orient="row")


def raise_flags(conn: Connection, run_id: int, *, year: int | None, config: dict, rollups=None,
                resolved=None, unchanged: dict[str, dict] | None = None, only: list[int] | None = None,
                moved: list[int] | None = None) -> dict:
    """Run every rule, store new flags, rewrite the changed ones and resolve the ones no longer raised.

    Only flags of ``year`` (every year when None) are considered for resolution. ``unchanged``: the rules
    whose inputs are those of the latest run (``rule_fingerprints``), each with that run's ``raised`` count
    and ``skipped`` entries; they are not run and their flags are left as they are. Returns counts
    ``{"raised": n, "new": n, "changed": n, "resolved": n, "reactivated": n, "by_rule": {code: n},
    "skipped": [...], "rules_not_rerun": [code, ...]}``; ``changed`` counts the flags raised again whose
    content differs (reactivated ones included), the only ones rewritten. ``skipped`` lists what a rule
    could not judge and why (``{"rule", "currency", "records", "reason"}``: procurement in a currency with
    no threshold of its own is never compared with a 元 threshold).
    Rules return drafts or a frame of ``FLAG_COLUMNS``; all of them are stored in bulk: one insert of the
    new flags, one ``UPDATE … FROM`` a temporary table for the changed ones. ``only``: the units whose
    figures changed since the latest run (``ledger.rules.bulk.changed``); ``by_unit`` rules run for them
    alone (``rollups`` and ``resolved`` are theirs), their other flags stand as that run left them.
    ``moved``: the batches that came or went since that run; a rule may then re-evaluate only the
    ``(category_code, fiscal_year)`` they can change (``ctx.redone``), its other flags standing likewise.
    """
    unchanged = unchanged or {}
    ctx = Context(run_id, year, config, rollups=rollups, resolved=resolved, only=only,
                  moved=None if only is None else moved)
    ctx.units = {i: (c, n) for i, c, n in conn.execute(select(Unit.id, Unit.code, Unit.name))}
    ctx.categories = {c: (zh, en) for c, zh, en in conn.execute(select(Category.code, Category.name_zh, Category.name_en))}
    frames: list[pl.DataFrame] = [pl.DataFrame(schema=FLAG_COLUMNS | {"rule_version": pl.Int64})]
    by_rule: dict[str, int] = {}
    for code, r in sorted(REGISTRY.items()):
        if code in unchanged:  # its flags are those the latest run stored: nothing to read or write
            by_rule[code] = unchanged[code]["raised"]
            ctx.skipped.extend(unchanged[code]["skipped"])
            continue
        found = r.func(conn, ctx)
        found = found if isinstance(found, pl.DataFrame) else drafts_frame(found, r.policy_ref)
        if year is not None:
            found = found.filter(pl.col("fiscal_year") == year)
        by_rule[code] = found.height
        frames.append(found.with_columns(pl.col("policy_ref").fill_null(r.policy_ref),
                                         rule_version=pl.lit(r.version, pl.Int64)))
    # one flag per id, the last rule's draft winning (as a dict of drafts did)
    drafts = pl.concat(frames).unique("id", keep="last", maintain_order=True)
    drafts = drafts.with_columns(digest(drafts))
    t = Flag.__table__
    known = pl.DataFrame(conn.execute(select(t.c.id, t.c.data_status, t.c.fiscal_year, t.c.rule_code, t.c.digest,
                                             t.c.unit_id, t.c.category_code)).all(),
                         schema={"id": pl.String, "data_status": pl.String, "fiscal_year": pl.Int64,
                                 "rule_code": pl.String, "digest": pl.String, "unit_id": pl.Int64,
                                 "category_code": pl.String}, orient="row")
    # a flag may exist under another year (a correction moved its record to a new year): matched by id
    existing = known if year is None else known.filter(pl.col("fiscal_year") == year)
    existing = existing.filter(~pl.col("rule_code").is_in(list(unchanged)))
    kept = 0
    if only is not None:  # by_unit rules' flags of other units stand, and count, as a full run would raise them
        narrow = pl.col("rule_code").is_in([c for c, r in REGISTRY.items() if r.by_unit and c not in unchanged])
        stand = existing.filter(narrow & ~pl.col("unit_id").is_in(only) & (pl.col("data_status") == "active"))
        for code, n in stand.group_by("rule_code").len().iter_rows():
            by_rule[code] += n
        kept = stand.height
        existing = existing.filter(~narrow | pl.col("unit_id").is_in(only))
    for code, keys in ctx.redone.items():  # flags outside what the rule re-evaluated stand, and count
        outside = existing.filter(pl.col("rule_code") == code).join(
            keys.select(pl.col("category_code").cast(pl.String), pl.col("fiscal_year").cast(pl.Int64)),
            on=["category_code", "fiscal_year"], how="anti")
        stand = outside.filter(pl.col("data_status") == "active").height
        by_rule[code] += stand
        kept += stand
        existing = existing.join(outside.select("id"), on="id", how="anti")
    known = known.drop("unit_id", "category_code")
    now = utcnow()
    drafts = drafts.with_columns(last_run_id=pl.lit(run_id, pl.Int64), data_status=pl.lit("active"),
                                 resolved_at=pl.lit(None, pl.Datetime("us", "UTC")))
    inserts = drafts.join(known, on="id", how="anti")
    was = known.select("id", pl.col("data_status").alias("was"), pl.col("digest").alias("had"))
    updates = drafts.join(was, on="id", how="inner").filter(
        (pl.col("was") == "resolved_by_data") | pl.col("had").is_null() | (pl.col("had") != pl.col("digest")))
    reactivated = updates.filter(pl.col("was") == "resolved_by_data").height
    if inserts.height:
        bulk_insert(conn, t, inserts.with_columns(
            state=pl.lit("open"), first_run_id=pl.lit(run_id, pl.Int64),
            created_at=pl.lit(now, pl.Datetime("us", "UTC"))).select(list(FLAG_SCHEMA)))
    if updates.height:
        _update_from(conn, t, updates.drop("was", "had"))
    gone = existing.join(drafts.select("id"), on="id", how="anti").filter(pl.col("data_status") == "active")["id"].to_list()
    for i in range(0, len(gone), 500):
        conn.execute(
            update(t).where(t.c.id.in_(gone[i : i + 500])).values(data_status="resolved_by_data", resolved_at=now)
        )
    return {"raised": drafts.height + kept + sum(u["raised"] for u in unchanged.values()), "new": inserts.height,
            "changed": updates.height, "resolved": len(gone), "reactivated": reactivated, "by_rule": by_rule,
            "skipped": ctx.skipped, "rules_not_rerun": sorted(unchanged)}


def _update_from(conn: Connection, t, rows: pl.DataFrame) -> None:
    """``UPDATE flag … FROM`` a temporary table holding ``rows`` (one statement, not one per flag)."""
    cols = [c for c in rows.columns if c != "id"]
    tmp = Table("flag_refresh", MetaData(), Column("id", String(64), primary_key=True),
                *(Column(c, t.c[c].type) for c in cols), prefixes=["TEMPORARY"])
    tmp.create(conn)
    try:
        bulk_insert(conn, tmp, rows)
        conn.execute(update(t).where(t.c.id == tmp.c.id).values({c: tmp.c[c] for c in cols}))
    finally:
        tmp.drop(conn)


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
