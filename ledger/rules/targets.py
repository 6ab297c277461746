"""Reduction targets as data: TOML policy files, validated, loaded into ``policy_target`` and listed.

A policy file has a ``[policy]`` table (``id``, ``title``, ``source_document``) and ``[[targets]]``:

    [[targets]]
    id = "changde-2009-reception-cut"
    title = "公务接待经费实际支出压减20%以上"
    measure = "actual"            # actual (决算) | budget (年初预算) | consumption (节电节油节水)
    category = "reception"        # or group = "three_public", or resource = "electricity" for consumption
    baseline = "prior_year"       # prior_year | mean_prior_years:N | fixed_year:YYYY
    change_pct = -20              # 0 = zero growth; the cap is baseline × (1 + change_pct / 100)
    year_from = 2009              # effective years; year_to is optional (open-ended when absent)
    year_to = 2009
    scope = "all"                 # or units = ["U01", …] or levels = ["municipal", …]
    source_document = "…"         # optional; defaults to the policy's

Every problem in a file is collected (target, field, message) before anything is written, so a file
loads whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Connection, select

from ledger.store import audit
from ledger.store.models import Category, CategoryGroup, PolicyTarget, utcnow

MEASURES = {"actual", "budget", "consumption"}
RESOURCES = {"electricity": "kWh", "fuel": "L", "water": "m3"}
BASELINE_RE = re.compile(r"^(prior_year|mean_prior_years:([1-9][0-9]?)|fixed_year:([12][0-9]{3}))$")
_KEYS = {
    "id", "title", "source_document", "quote", "measure", "category", "group", "resource", "baseline",
    "change_pct", "year_from", "year_to", "scope", "units", "levels",
}


@dataclass(frozen=True)
class Target:
    """One target as stored; ``change_pct`` is exact (a ``Decimal`` with at most two decimals)."""

    id: str
    title: str
    source_document: str
    scope_kind: str  # all | units | levels
    scope_values: list[str]
    measure: str
    category_code: str | None
    group_code: str | None
    resource: str | None
    baseline: str
    change_pct: Decimal
    year_from: int | None
    year_to: int | None
    definition_sha256: str = ""

    def baseline_years(self, year: int) -> list[int]:
        """The years whose values make up the baseline of ``year``."""
        kind, _, arg = self.baseline.partition(":")
        if kind == "prior_year":
            return [year - 1]
        if kind == "mean_prior_years":
            return [year - k for k in range(int(arg), 0, -1)]
        return [int(arg)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["change_pct"] = str(self.change_pct)
        return d


@dataclass
class TargetProblem:
    """A problem in a policy file, as ``file: target id, field: message``."""

    file: str
    target: str | None
    field: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.target and f"target {self.target}", self.field) if x)
        return f"{self.file}: {where + ': ' if where else ''}{self.message} ({self.code})"


@dataclass
class LoadResult:
    file: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[TargetProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_policy(text: str, file: str, categories: set[str], groups: set[str]) -> tuple[list[Target], list[TargetProblem]]:
    """Parse and validate a policy file's text; returns the targets and every problem found."""
    problems: list[TargetProblem] = []

    def bad(target, fld, code, message):
        problems.append(TargetProblem(file, target, fld, code, message))

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        bad(None, None, "toml-invalid", f"not valid TOML: {exc}")
        return [], problems
    policy = data.get("policy", {})
    default_source = policy.get("source_document") or policy.get("title")
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        bad(None, "targets", "no-targets", "no [[targets]] tables")
        return [], problems
    targets: list[Target] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_targets, start=1):
        tid = raw.get("id")
        label = tid if isinstance(tid, str) and tid else f"#{i}"
        for key in sorted(set(raw) - _KEYS):
            bad(label, key, "unknown-field", f"unknown field {key!r}")
        if not isinstance(tid, str) or not re.fullmatch(r"[A-Za-z0-9._:-]{1,100}", tid or ""):
            bad(label, "id", "id-invalid", "id must be 1–100 letters, digits or . _ : -")
        elif tid in seen:
            bad(label, "id", "id-duplicate", "id used twice in this file")
        seen.add(tid if isinstance(tid, str) else label)
        for key in ("title",):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                bad(label, key, "missing", f"{key} is required")
        source = raw.get("source_document", default_source)
        if not isinstance(source, str) or not source.strip():
            bad(label, "source_document", "missing", "source_document is required (here or in [policy])")
        measure = raw.get("measure")
        if measure not in MEASURES:
            bad(label, "measure", "measure-invalid", f"measure must be one of {sorted(MEASURES)}, got {measure!r}")
        cat, grp, res = raw.get("category"), raw.get("group"), raw.get("resource")
        if measure == "consumption":
            if res not in RESOURCES or cat or grp:
                bad(label, "resource", "resource-invalid",
                    f"a consumption target names one resource of {sorted(RESOURCES)} and no category")
        elif (cat is None) == (grp is None) or res is not None:
            bad(label, "category", "category-missing", "name exactly one of category or group (and no resource)")
        elif cat is not None and cat not in categories:
            bad(label, "category", "category-unknown", f"unknown category {cat!r}; known: {sorted(categories)}")
        elif grp is not None and grp not in groups:
            bad(label, "group", "group-unknown", f"unknown group {grp!r}; known: {sorted(groups)}")
        baseline = raw.get("baseline")
        if not isinstance(baseline, str) or not BASELINE_RE.match(baseline):
            bad(label, "baseline", "baseline-invalid",
                f"baseline must be prior_year, mean_prior_years:N or fixed_year:YYYY, got {baseline!r}")
        change = _decimal(raw.get("change_pct"))
        if change is None or change < -100 or change > 1000 or change != change.quantize(Decimal("0.01")):
            bad(label, "change_pct", "change-invalid",
                f"change_pct must be a number from -100 to 1000 with at most two decimals, got {raw.get('change_pct')!r}")
        y0, y1 = raw.get("year_from"), raw.get("year_to")
        for key, y in (("year_from", y0), ("year_to", y1)):
            if y is not None and (isinstance(y, bool) or not isinstance(y, int) or not 1900 <= y <= 2200):
                bad(label, key, "year-invalid", f"{key} must be a year, got {y!r}")
        if isinstance(y0, int) and isinstance(y1, int) and y1 < y0:
            bad(label, "year_to", "year-invalid", "year_to is before year_from")
        if isinstance(baseline, str) and baseline.startswith("fixed_year:") and isinstance(y0, int):
            if int(baseline.split(":")[1]) >= y0:
                bad(label, "baseline", "baseline-invalid", "a fixed baseline year must come before year_from")
        scope_kind, scope_values = _scope(raw, label, bad)
        if problems:
            continue
        t = Target(
            id=tid, title=raw["title"].strip(), source_document=source.strip(), scope_kind=scope_kind,
            scope_values=scope_values, measure=measure, category_code=cat, group_code=grp, resource=res,
            baseline=baseline, change_pct=change.quantize(Decimal("0.01")), year_from=y0, year_to=y1,
        )
        targets.append(Target(**{**asdict(t), "definition_sha256": definition_sha256(t)}))
    return ([] if problems else targets), problems


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _scope(raw: dict, label: str, bad) -> tuple[str, list[str]]:
    units, levels, scope = raw.get("units"), raw.get("levels"), raw.get("scope", "all")
    given = [k for k, v in (("units", units), ("levels", levels)) if v is not None]
    if len(given) > 1 or (given and scope != "all" and "scope" in raw):
        bad(label, "scope", "scope-invalid", "give scope = \"all\", or units = [...], or levels = [...], not several")
        return "all", []
    if given:
        values = raw[given[0]]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            bad(label, given[0], "scope-invalid", f"{given[0]} must be a non-empty list of codes")
            return "all", []
        return given[0], sorted(set(values))
    if scope != "all":
        bad(label, "scope", "scope-invalid", f"scope must be \"all\" (or use units / levels), got {scope!r}")
    return "all", []


def definition_sha256(t: Target) -> str:
    """A hash of what the target means (not when it was loaded), so checks notice a changed target."""
    d = t.to_dict()
    d.pop("definition_sha256", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def load_policy_file(conn: Connection, path: str | Path, *, actor: str = "cli") -> LoadResult:
    """Validate a policy file and, when it has no problems, add or update its targets.

    A target whose definition is unchanged is left alone; a changed one is updated in place and the
    audit log keeps the old and new definition hashes. Targets absent from the file are kept.
    """
    path = Path(path)
    result = LoadResult(file=path.name)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        result.problems.append(TargetProblem(path.name, None, None, "file-unreadable", str(exc)))
        return result
    categories = set(conn.execute(select(Category.code)).scalars())
    groups = set(conn.execute(select(CategoryGroup.code)).scalars())
    targets, result.problems = parse_policy(text, path.name, categories, groups)
    if result.problems:
        return result
    existing = dict(conn.execute(select(PolicyTarget.id, PolicyTarget.definition_sha256)).all())
    table = PolicyTarget.__table__
    for t in targets:
        values = _row(t)
        if t.id not in existing:
            conn.execute(table.insert().values(**values, loaded_at=utcnow()))
            result.added.append(t.id)
        elif existing[t.id] != t.definition_sha256:
            conn.execute(table.update().where(table.c.id == t.id).values(**values, loaded_at=utcnow()))
            result.updated.append(t.id)
        else:
            result.unchanged.append(t.id)
    if result.added or result.updated:
        audit.record(
            conn, actor=actor, action="targets.load", object_type="policy_file", object_id=path.name,
            details={"added": result.added, "updated": result.updated,
                     "previous": {tid: existing[tid] for tid in result.updated}},
        )
    return result


def _row(t: Target) -> dict:
    return {
        "id": t.id, "title": t.title, "source_document": t.source_document, "scope_kind": t.scope_kind,
        "scope_values": json.dumps(t.scope_values, ensure_ascii=False), "measure": t.measure,
        "category_code": t.category_code, "group_code": t.group_code, "resource": t.resource,
        "baseline": t.baseline, "change_pct": t.change_pct, "year_from": t.year_from, "year_to": t.year_to,
        "definition_sha256": t.definition_sha256,
    }


def list_targets(conn: Connection) -> list[Target]:
    """Every loaded target, ordered by id."""
    table = PolicyTarget.__table__
    rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
    return [
        Target(
            id=r["id"], title=r["title"], source_document=r["source_document"], scope_kind=r["scope_kind"],
            scope_values=json.loads(r["scope_values"] or "[]"), measure=r["measure"],
            category_code=r["category_code"], group_code=r["group_code"], resource=r["resource"],
            baseline=r["baseline"], change_pct=Decimal(str(r["change_pct"])).quantize(Decimal("0.01")),
            year_from=r["year_from"], year_to=r["year_to"], definition_sha256=r["definition_sha256"],
        )
        for r in rows
    ]
