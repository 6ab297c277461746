"""``sunshine import units FILE``: the unit register (单位编码, 名称, 上级单位, 级次, 地区, 单位性质) as reference data.

Units the ledger has not seen are created with their parent, level, region and kind. An existing unit is
never rewritten silently: an attribute the ledger lacks (a unit first named by an expense file has no
level, parent, region or kind) is added and reported (``unit-added``); an attribute that differs from the
ledger is reported (``unit-changed``) and held back unless ``Options.update_units``
(``--update-units``) is given. Every unit created or changed gets its own audit entry with the
values before and after. The file is one batch (its sha256 goes into the transparency log like any
other import); the same file again is a no-op. Parent codes must name a unit in the file or the
ledger, and the parent chain must not loop. A kind (单位性质) must be one of ``ledger.store.unit_terms``'s
four, in any of their spellings (行政 → 行政单位, 参公 → 参照公务员法管理事业单位, …): any other is an error
naming the cell, since peer groups for unit costs are built on it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import aliased

from importers.pipeline import FileMeta, Options, Result, base_report, guard_store_full
from importers.problems import Problems
from importers.reading import ReadOptions, record_encoding, report_placement
from importers.sheets.columns import Mapping, place
from importers.sheets.columns import header_matcher as matcher
from importers.sheets.safety import Refused
from importers.sheets.sources import ROW, open_file
from ledger.log import events
from ledger.store import audit
from ledger.store.batches import create_batch, find_published, insert_ignoring_conflicts, lock_file
from ledger.store.db import reading, writing
from ledger.store.models import Unit, utcnow
from ledger.store.unit_terms import kind_of

FIELDS = ("unit_code", "unit_name", "parent_code", "level", "region", "kind")
ATTRS = {"unit_name": "name", "parent_code": "parent", "level": "level", "region": "region",
         "kind": "kind"}  # file field -> ledger
MAX_LEN = {"unit_code": 64, "unit_name": 300, "parent_code": 64, "level": 40, "region": 100, "kind": 40}
LEVELS = {"省级": "省级", "province": "省级", "provincial": "省级",
          "市级": "市级", "市本级": "市级", "city": "市级", "municipal": "市级",
          "区县级": "区县级", "区级": "区县级", "县级": "区县级", "区(县)级": "区县级", "district": "区县级", "county": "区县级",
          "乡镇级": "乡镇级", "乡级": "乡镇级", "镇级": "乡镇级", "township": "乡镇级"}


def import_units(engine: Engine, path: Path, options: Options, read: ReadOptions | None = None) -> Result:
    """Import a unit register; returns the result with its report (nothing written unless loaded)."""
    read = read or ReadOptions()
    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, "units", "")
    stats = {"read": 0, "detail": 0, "blank": 0, "total_rows": 0}
    try:
        meta = FileMeta.of(path, "units")
        mapping = Mapping.load(read.mapping, "units") if read.mapping else None
        frames = []
        with tempfile.TemporaryDirectory(prefix="sunshine-read-") as workdir:
            opened = open_file(path, matcher("units", mapping), encoding=read.encoding, sheet=read.sheet,
                               limits=read.limits, workdir=Path(workdir))
            record_encoding(meta, opened, problems)
            meta.sheets = [s.name for s in opened.sheets if s.name]
            for name, why in opened.skipped:
                problems.add("sheet-skipped", sheet=name, severity="warning", detail=why)
            if not opened.sheets:
                problems.add("header-not-found", detail="in-any-sheet")
            for sheet in opened.sheets:
                placement = place(sheet.headers, "units", mapping)
                if not report_placement(problems, sheet, placement, "units"):
                    continue
                for raw in sheet.chunks():
                    stats["read"] += raw.height
                    if stats["read"] > read.limits.max_rows:
                        raise Refused("too-many-rows", f"more than {read.limits.max_rows:,}")
                    frames.append(_normalise(raw, placement.fields, sheet.name))
        rows = pl.concat(frames) if frames else pl.DataFrame()
        stats["blank"] = rows.filter(pl.col("blank")).height if rows.height else 0
        rows = rows.filter(~pl.col("blank")).to_dicts() if rows.height else []
        stats["detail"] = len(rows)
        return guard_store_full(problems, meta, stats, lambda: _load(engine, rows, problems, meta, options, stats))
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, stats, problems) | {"status": "refused"})


def _normalise(raw: pl.DataFrame, fields: dict[str, str], sheet: str | None) -> pl.DataFrame:
    def cell(f):
        if f not in fields:
            return pl.lit(None, pl.String).alias(f)
        text = pl.col(fields[f]).cast(pl.String).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).alias(f)

    out = raw.select([cell(f) for f in FIELDS] + [pl.col(ROW).alias("row")])
    lowered = pl.col("level").str.to_lowercase()
    levels = {k.lower(): v for k, v in LEVELS.items()}
    return out.with_columns(
        pl.when(lowered.is_in(list(levels))).then(lowered.replace(levels)).otherwise(pl.col("level")).alias("level"),
        pl.col("level").alias("level_raw"),
        pl.col("kind").map_elements(kind_of, return_dtype=pl.String).alias("kind"),
        pl.col("kind").alias("kind_raw"),
        pl.lit(sheet, pl.String).alias("sheet"),
        pl.all_horizontal([pl.col(f).is_null() for f in FIELDS]).alias("blank"),
    )


def _check_rows(rows: list[dict], problems: Problems) -> dict[str, dict]:
    """Per-row checks; returns the usable rows by code (first occurrence wins; repeats are errors)."""
    by_code: dict[str, dict] = {}
    for r in rows:
        at = {"sheet": r["sheet"], "row": r["row"]}
        for f in ("unit_code", "unit_name"):
            if r[f] is None:
                problems.add("value-missing", column=f, **at)
        for f, cap in MAX_LEN.items():
            if r[f] is not None and "\x00" in r[f]:
                problems.add("text-nul", column=f, value=r[f].replace("\x00", "\\x00")[:80], **at)
            elif r[f] is not None and len(r[f]) > cap:
                problems.add("text-too-long", column=f, value=r[f][:80], **at)
        if r["level"] is not None and r["level"] not in LEVELS.values():
            problems.add("level-unknown", column="level", value=r["level_raw"], severity="warning", **at)
        if r["kind_raw"] is not None and r["kind"] is None:
            problems.add("kind-unknown", column="kind", value=r["kind_raw"], **at)
        if r["unit_code"] is None:
            continue
        if r["unit_code"] in by_code:
            problems.add("unit-code-repeated", column="unit_code", value=r["unit_code"],
                         detail=str(by_code[r["unit_code"]]["row"]), **at)
            continue
        by_code[r["unit_code"]] = r
    return by_code


def _ledger_units(conn) -> dict[str, dict]:
    parent = aliased(Unit)
    q = select(Unit.id, Unit.code, Unit.name, parent.code, Unit.level, Unit.region, Unit.kind).outerjoin(
        parent, parent.id == Unit.parent_id)
    return {code: {"id": i, "name": n, "parent": p, "level": lv, "region": rg, "kind": k}
            for i, code, n, p, lv, rg, k in conn.execute(q).all()}


def _load(engine, rows: list[dict], problems: Problems, meta: FileMeta, options: Options, stats: dict) -> Result:
    by_code = _check_rows(rows, problems)
    if not rows and not problems.count("error"):
        problems.add("no-rows")
    if problems.count("error"):
        return Result("refused", None, base_report(meta, stats, problems) | {"status": "refused"})
    with (reading if options.dry_run else writing)(engine) as conn:
        if not options.dry_run:
            if conn.dialect.name == "postgresql":  # no unit appears beside us while we compare and write
                conn.exec_driver_sql("LOCK TABLE unit IN SHARE ROW EXCLUSIVE MODE")
            lock_file(conn, "units", meta.sha256)
        # The same file again is a no-op, unless it comes back to apply the changes it had held.
        existing = None if options.update_units else find_published(conn, "units", meta.sha256)
        if existing is not None:
            report = base_report(meta, stats, problems) | {"status": "unchanged", "batch_id": existing}
            return Result("unchanged", existing, report)
        ledger = _ledger_units(conn)
        plan = _plan(by_code, ledger, problems, options.update_units)
        parents = {c: u["parent"] for c, u in ledger.items()} | {
            c: r["parent_code"] for c, r in by_code.items() if c not in ledger}
        for code, change in plan["updates"].items():
            if "parent" in change:
                parents[code] = change["parent"][1]
        _check_parents(by_code, ledger, parents, problems)
        summary = {"created": len(plan["new"]), "updated": len(plan["updates"]), "held": plan["held"],
                   "unchanged": len(by_code) - len(plan["new"]) - len(plan["updates"])}
        report = base_report(meta, stats, problems) | {"status": "loaded", "units": summary, "unit_changes": plan["log"]}
        if problems.count("error"):
            return Result("refused", None, report | {"status": "refused", "ok": False})
        if not plan["new"] and not plan["updates"]:
            return Result("unchanged", None, report | {"status": "unchanged"})
        if options.dry_run:
            return Result("dry-run", None, report | {"status": "dry-run"})
        batch_id = _write(conn, meta, options, by_code, ledger, plan, parents, report, stats)
        return Result("loaded", batch_id, report | {"batch_id": batch_id})


def _plan(by_code: dict[str, dict], ledger: dict[str, dict], problems: Problems, apply_changes: bool) -> dict:
    new, updates, log, held = [], {}, [], 0
    for code, r in by_code.items():
        if code not in ledger:
            new.append(code)
            continue
        now, change = ledger[code], {}
        for field_name, attr in ATTRS.items():
            given, was = r[field_name], now[attr]
            if given is None or given == was:
                continue  # the file does not say, or says what the ledger holds
            at = {"sheet": r["sheet"], "row": r["row"], "column": field_name, "value": given}
            detail = f"{code} {attr}: {was!r} → {given!r}"
            if was is None:
                problems.add("unit-added", severity="warning", detail=detail, **at)
                change[attr] = (was, given)
            elif apply_changes:
                problems.add("unit-changed", severity="warning", detail=detail + " (applied)", **at)
                change[attr] = (was, given)
            else:
                problems.add("unit-changed", severity="warning", detail=detail + " (held: --update-units applies it)", **at)
                held += 1
            log.append({"unit_code": code, "row": r["row"], "field": attr, "from": was, "to": given,
                        "applied": attr in change})
        if change:
            updates[code] = change
    return {"new": new, "updates": updates, "log": log, "held": held}


def _check_parents(by_code, ledger, parents: dict[str, str | None], problems: Problems) -> None:
    for code, r in by_code.items():
        parent = parents.get(code)
        if parent is None:
            continue
        at = {"sheet": r["sheet"], "row": r["row"], "column": "parent_code", "value": parent}
        if parent not in parents:
            problems.add("parent-invalid", detail="no such unit in the file or the ledger", **at)
            continue
        seen, cur = {code}, parent
        while cur is not None:
            if cur in seen:
                problems.add("parent-invalid", detail=f"the chain of parents of {code} loops", **at)
                break
            seen.add(cur)
            cur = parents.get(cur)


def _write(conn, meta, options, by_code, ledger, plan, parents, report, stats) -> int:
    summary = report["units"]
    batch_id = create_batch(
        conn, kind="units", file_name=meta.name, sha256=meta.sha256, submitted_by=options.submitted_by,
        encoding=meta.encoding, sheet=", ".join(s for s in meta.sheets if s) or None,
        rows_read=stats["read"], rows_loaded=0, rows_skipped=stats["blank"] + summary["unchanged"],
        rows_held=summary["held"], report=report | {"batch_id": "(this batch)"},
    )
    now = utcnow()
    insert_ignoring_conflicts(conn, Unit.__table__, [
        {"code": c, "name": by_code[c]["unit_name"], "level": by_code[c]["level"], "region": by_code[c]["region"],
         "kind": by_code[c]["kind"], "batch_id": batch_id, "created_at": now} for c in plan["new"]], "code")
    ids = {code: i for code, i in conn.execute(select(Unit.code, Unit.id)).all()}
    for code in plan["new"]:
        if parents.get(code):
            conn.execute(update(Unit).where(Unit.id == ids[code]).values(parent_id=ids[parents[code]]))
        r = by_code[code]
        audit.record(conn, actor=options.submitted_by, role=options.role, action="unit.create", object_type="unit",
                     object_id=ids[code], details={"batch_id": batch_id, "code": code, "name": r["unit_name"],
                                                   "parent": r["parent_code"], "level": r["level"], "region": r["region"],
                                                   "kind": r["kind"]})
    for code, change in plan["updates"].items():
        values = {{"parent": "parent_id"}.get(a, a): (ids[new] if a == "parent" else new) for a, (_, new) in change.items()}
        conn.execute(update(Unit).where(Unit.id == ids[code]).values(**values))
        audit.record(conn, actor=options.submitted_by, role=options.role, action="unit.update", object_type="unit",
                     object_id=ids[code], details={"batch_id": batch_id, "code": code,
                                                   "changes": {a: {"from": o, "to": n} for a, (o, n) in change.items()}})
    events.batch_published(conn, batch_id, role=options.role)
    audit.record(conn, actor=options.submitted_by, role=options.role, action="import.publish",
                 object_type="import_batch", object_id=batch_id,
                 details={"kind": "units", "file": meta.name, "sha256": meta.sha256, "units": summary})
    return batch_id
