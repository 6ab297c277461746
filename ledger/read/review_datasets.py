"""Read path for targets, target results, red flags, their reviews and the audit log.

Flags are public, but a review's note is restricted until it is published: ``flag_reviews``
returns notes only when the caller may see them (``include_restricted``) or once published.
The audit log is for admins only (``public=False``), so it never appears in downloads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import BigInteger, Connection, cast, func, select, union_all

from ledger.read.types import Column, Dataset, NotFound, is_in, utc
from ledger.store.batches import Pin, current_pin
from ledger.store.models import (
    AuditLog,
    CheckRun,
    Flag,
    FlagReview,
    LogLeaf,
    PolicyTarget,
    TargetResult,
    Unit,
)

_f = Flag.__table__
_fu = Unit.__table__.alias("fu")
_t = PolicyTarget.__table__
_tr = TargetResult.__table__
_tu = Unit.__table__.alias("tu")
_tt = PolicyTarget.__table__.alias("tt")
_a = AuditLog.__table__
_fr = FlagReview.__table__
_pub = FlagReview.__table__.alias("pub")


def _published(col, size: int | None = None):
    """The flag's latest published review's ``col`` (restricted reviews are never read here).

    With ``size``: the latest whose publication is among the first ``size`` leaves of the log."""
    q = select(col).where(_pub.c.flag_id == _f.c.id, _pub.c.published_at.is_not(None))
    if size is not None:
        q = q.where(_pub.c.id.in_(logged_reviews("publish", size)))
    return q.order_by(_pub.c.published_at.desc(), _pub.c.id.desc()).limit(1).scalar_subquery()


def logged_reviews(event: str, size: int):
    """Ids of the reviews (``review``) or publications (``publish``) among the first ``size`` leaves."""
    return select(cast(LogLeaf.ref_id, BigInteger)).where(LogLeaf.event == event, LogLeaf.leaf_index < size)


def state_as_of(size: int, flag=_f):
    """A flag's review state at a checkpoint: the state its first review logged after it started from.

    Every review is a leaf written with it, so the reviews among the first ``size`` leaves are exactly
    those made by then; a flag with no later review is still in its current state."""
    later = FlagReview.__table__.alias("later_review")
    first = (select(later.c.from_state).where(later.c.flag_id == flag.c.id,
                                              later.c.id.not_in(logged_reviews("review", size)))
             .order_by(later.c.id).limit(1).scalar_subquery())
    return func.coalesce(first, flag.c.state)

FLAGS = Dataset(
    name="flags",
    title="Red flags (预警)",
    description="Overruns, missed targets and procurement red flags raised by the checks, with their review state.",
    columns=(
        Column("id", _f.c.id, "string", "Flag id (hash of rule and subject; stable across runs)"),
        Column("rule_code", _f.c.rule_code, "string", "Rule, e.g. budget_overrun, single_source"),
        Column("rule_version", _f.c.rule_version, "integer", "Rule version"),
        Column("unit_code", _fu.c.code, "string", "Unit code"),
        Column("unit_name", _fu.c.name, "string", "Unit name"),
        Column("fiscal_year", _f.c.fiscal_year, "integer", "Fiscal year"),
        Column("category_code", _f.c.category_code, "string", "Category"),
        Column("state", _f.c.state, "string", "Review state"),
        Column("data_status", _f.c.data_status, "string", "active, or resolved_by_data after a correction"),
        Column("figures", _f.c.figures_json, "object", "The figures behind the flag, in fen", json=True),
        Column("threshold", _f.c.threshold_json, "object", "Thresholds applied", json=True),
        Column("policy_ref", _f.c.policy_ref, "string", "Policy text the flag refers to"),
        Column("message_zh", _f.c.message_zh, "string", "Message (中文)"),
        Column("message_en", _f.c.message_en, "string", "Message (English)"),
        Column("evidence", _f.c.evidence_json, "object", "Batches and rows the flag rests on", json=True),
        Column("created_at", _f.c.created_at, "datetime", "When first raised"),
        Column("resolved_at", _f.c.resolved_at, "datetime", "When resolved"),
        Column("published_decision", _published(_pub.c.to_state), "string",
               "The latest published review decision (explained, rectification_ordered, referred, dismissed…)"),
        Column("published_note", _published(_pub.c.note), "string", "Its note, once published"),
        Column("published_at", _published(_pub.c.published_at), "datetime", "When that finding was published"),
    ),
    base=lambda: _f.outerjoin(_fu, _fu.c.id == _f.c.unit_id),
    id_expr=_f.c.id,
    always=None,
    filters={
        "unit": is_in(_fu.c.code),
        "unit_level": is_in(_fu.c.level),
        "year": is_in(_f.c.fiscal_year),
        "year_from": lambda v: _f.c.fiscal_year >= v,
        "year_to": lambda v: _f.c.fiscal_year <= v,
        "category": is_in(_f.c.category_code),
        "rule": is_in(_f.c.rule_code),
        "state": is_in(_f.c.state),
        "updated_since": lambda v: _f.c.created_at >= v,
    },
    sorts={"id": _f.c.id},
)

TARGETS = Dataset(
    name="targets",
    title="Reduction targets (压减目标)",
    description="Targets from policy documents: scope, measure, category or group, baseline and required change.",
    columns=(
        Column("id", _t.c.id, "string", "Target id"),
        Column("title", _t.c.title, "string", "Policy wording"),
        Column("source_document", _t.c.source_document, "string", "Policy document"),
        Column("scope_kind", _t.c.scope_kind, "string", "all, units or levels"),
        Column("scope_values", _t.c.scope_values, "array", "Units or levels in scope", json=True),
        Column("measure", _t.c.measure, "string", "actual, budget or consumption"),
        Column("category_code", _t.c.category_code, "string", "Category"),
        Column("group_code", _t.c.group_code, "string", "Category group"),
        Column("resource", _t.c.resource, "string", "Utility resource"),
        Column("baseline", _t.c.baseline, "string", "prior_year, mean_prior_years:N or fixed_year:YYYY"),
        Column("change_pct", _t.c.change_pct, "number", "Required change in percent (-20 = a 20% cut)"),
        Column("year_from", _t.c.year_from, "integer", "First year in effect"),
        Column("year_to", _t.c.year_to, "integer", "Last year in effect"),
        Column("loaded_at", _t.c.loaded_at, "datetime", "When loaded"),
    ),
    base=lambda: _t,
    id_expr=_t.c.id,
    always=None,
    filters={"category": is_in(_t.c.category_code), "group": is_in(_t.c.group_code), "updated_since": lambda v: _t.c.loaded_at >= v},
    sorts={"id": _t.c.id},
)


def _latest_run(before=None):
    """The newest run over all years, else the newest of any year (as ``ledger.rules.checks.latest_run_id``);
    with ``before``, among the runs started before that time."""
    full = select(func.max(CheckRun.id)).where(CheckRun.fiscal_year.is_(None))
    any_run = select(func.max(CheckRun.id))
    if before is not None:
        full, any_run = full.where(CheckRun.started_at < before), any_run.where(CheckRun.started_at < before)
    return func.coalesce(full.scalar_subquery(), any_run.scalar_subquery())


_BOUND_VALUES = 20  # more targets or statuses than this: no bound (one index probe each)


def _first_match(ds: Dataset, filters, desc: bool):
    """``id >=`` the first id (``<=`` the last, descending) of the run's results for the page's target or
    status, read from (run_id, target_id, id) or (run_id, status, id): one index probe per value.

    Every row the page can show meets the run and that filter, so it meets the bound, and the page is the
    plain query's: without it PostgreSQL walks the primary key from the table's start and filters, taking
    the matches to be spread over the id order, when a check writes them target by target (5M: 800,000 rows
    before the fifth target's first). No match: the bound is NULL, as empty as the plain page."""
    col, values = (_tr.c.target_id, filters.target) if filters.target else (_tr.c.status, filters.status)
    if not values or len(values) > _BOUND_VALUES:
        return None
    agg = func.max if desc else func.min
    probes = [select(agg(_tr.c.id).label("edge")).where(ds.always(), col == v) for v in values]
    if len(probes) == 1:
        edge = probes[0].correlate(None).scalar_subquery()
    else:
        each = union_all(*probes).subquery("edges")
        edge = select(agg(each.c.edge)).correlate(None).scalar_subquery()
    return _tr.c.id <= edge if desc else _tr.c.id >= edge


TARGET_RESULTS = Dataset(
    name="target-results",
    title="Target results (目标完成情况)",
    description="Each target per unit and year from the latest check run: met, missed, insufficient_data or no_data.",
    columns=(
        Column("id", _tr.c.id, "integer", "Row id"),
        Column("run_id", _tr.c.run_id, "integer", "Check run"),
        Column("target_id", _tr.c.target_id, "string", "Target"),
        Column("title", _tt.c.title, "string", "Policy wording of the target"),
        Column("measure", _tt.c.measure, "string", "actual, budget or consumption"),
        Column("unit_code", _tu.c.code, "string", "Unit code"),
        Column("unit_name", _tu.c.name, "string", "Unit name"),
        Column("fiscal_year", _tr.c.fiscal_year, "integer", "Fiscal year"),
        Column("status", _tr.c.status, "string", "met, missed, insufficient_data or no_data"),
        Column("baseline_fen", _tr.c.baseline_fen, "integer", "Baseline: fen (thousandths of the measure unit for consumption targets)"),
        Column("cap_fen", _tr.c.cap_fen, "integer", "Cap: fen (thousandths of the measure unit for consumption targets)"),
        Column("value_fen", _tr.c.value_fen, "integer", "Value: fen (thousandths of the measure unit for consumption targets)"),
        Column("excess_fen", _tr.c.excess_fen, "integer", "Excess over the cap: fen (thousandths of the measure unit for consumption targets)"),
        Column("excess_pct", _tr.c.excess_pct, "number", "Excess in percent of the cap"),
        Column("detail", _tr.c.detail_json, "object", "How the value was computed", json=True),
    ),
    base=lambda: _tr.join(_tu, _tu.c.id == _tr.c.unit_id).join(_tt, _tt.c.id == _tr.c.target_id),
    id_expr=_tr.c.id,
    always=lambda: _tr.c.run_id == _latest_run(),  # only the latest check run is current
    filters={
        "unit": is_in(_tu.c.code),
        "unit_level": is_in(_tu.c.level),
        "year": is_in(_tr.c.fiscal_year),
        "year_from": lambda v: _tr.c.fiscal_year >= v,
        "year_to": lambda v: _tr.c.fiscal_year <= v,
        "target": is_in(_tr.c.target_id),
        "status": is_in(_tr.c.status),
    },
    sorts={"id": _tr.c.id},
    page_bound=_first_match,
)

AUDIT = Dataset(
    name="audit-log",
    title="Audit log",
    description="Every write: who, in what role, did what to which object.",
    columns=(
        Column("id", _a.c.id, "integer", "Entry id"),
        Column("created_at", _a.c.created_at, "datetime", "When"),
        Column("actor", _a.c.actor, "string", "Who"),
        Column("role", _a.c.role, "string", "In which role"),
        Column("action", _a.c.action, "string", "What"),
        Column("object_type", _a.c.object_type, "string", "Object type"),
        Column("object_id", _a.c.object_id, "string", "Object id"),
        Column("details", _a.c.details_json, "object", "Details", json=True),
    ),
    base=lambda: _a,
    id_expr=_a.c.id,
    always=None,
    filters={"updated_since": lambda v: _a.c.created_at >= v},
    sorts={"id": _a.c.id},
    public=False,
)

DATASETS = (FLAGS, TARGETS, TARGET_RESULTS, AUDIT)  # joined to the spending datasets in ``datasets``


def as_of(ds: Dataset, pin: Pin) -> Dataset:
    """``ds`` as a checkpoint saw it. Flags, targets and check runs are not leaves of the log: a flag
    counts when raised before the checkpoint's time, its state and published finding as its logged
    reviews and publications had them; targets loaded and the latest check run started before it."""
    if ds is FLAGS:
        state = state_as_of(pin.size)
        swap = {"state": state, "published_decision": _published(_pub.c.to_state, pin.size),
                "published_note": _published(_pub.c.note, pin.size),
                "published_at": _published(_pub.c.published_at, pin.size)}
        return replace(ds, columns=tuple(replace(c, expr=swap.get(c.name, c.expr)) for c in ds.columns),
                       always=lambda: _f.c.created_at < pin.time, filters={**ds.filters, "state": is_in(state)})
    if ds is TARGETS:
        return replace(ds, always=lambda: _t.c.loaded_at < pin.time)
    if ds is TARGET_RESULTS:
        return replace(ds, always=lambda: _tr.c.run_id == _latest_run(pin.time))
    return ds


def flag_reviews(conn: Connection, flag_id: str, *, include_restricted: bool = False) -> list[dict[str, Any]]:
    """A flag's review history, oldest first; unpublished notes only with ``include_restricted``.

    Under ``pinned`` (``as_of``): the flag only if raised before the checkpoint's time, the reviews logged
    among its leaves, and a publication only if its ``publish`` leaf is among them too."""
    pin = current_pin()
    exists = select(_f.c.id).where(_f.c.id == flag_id, *([_f.c.created_at < pin.time] if pin else []))
    if conn.execute(exists).first() is None:
        raise NotFound(f"no flag with id {flag_id}")
    q = select(_fr.c.id, _fr.c.from_state, _fr.c.to_state, _fr.c.reviewer, _fr.c.note, _fr.c.created_at,
               _fr.c.published_at).where(_fr.c.flag_id == flag_id).order_by(_fr.c.id)
    published_by_then = None
    if pin is not None:
        q = q.where(_fr.c.id.in_(logged_reviews("review", pin.size)))
        published_by_then = set(conn.execute(logged_reviews("publish", pin.size)).scalars())
    out = []
    for rid, frm, to, reviewer, note, created, published in conn.execute(q):
        if published_by_then is not None and rid not in published_by_then:
            published = None  # published after the checkpoint: restricted as of then
        visible = include_restricted or published is not None
        out.append(
            {
                "id": rid,
                "from_state": frm,
                "to_state": to,
                "reviewer": reviewer if visible else None,
                "note": note if visible else None,
                "restricted": published is None,
                "created_at": utc(created),
                "published_at": utc(published),
            }
        )
    return out
