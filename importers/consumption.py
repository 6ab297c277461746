"""``sunshine import consumption FILE``: utility use (electricity kWh, fuel litres, water m³) for the
节电/节油/节水 targets.

One row per unit, year (or date) and resource::

    单位编码,单位名称,年度,资源,用量,计量单位
    U01,市财政局,2023,用电,125000.5,千瓦时

``resource`` is electricity (电, 用电, 电力, 节电), fuel (油, 用油, 燃油, 汽油, 柴油, 节油) or water (水, 用水,
节水); ``measure_unit`` kWh (千瓦时, 度; 万千瓦时/万度 ×10,000), L (升, 公升) or m3 (m³, 立方米; 吨 for
water only): the resource's own unit when the column is absent. Quantities take up to three
decimals (stored exactly, ``Numeric(18, 3)``). A year comes from 年度, else from the date under the
ledger's fiscal year (``[fiscal_year] start_month``). Several rows of one unit, year and resource
(monthly readings) add up.

Against the ledger, per unit, year and resource (the superseded batch left out): the same total is
already there (held back as a probable duplicate; nothing new loads no batch), or another total is
(``amount-changed``: the file is refused and names ``--supersedes N``). One batch or nothing; the
rows are in the transparency log like every other batch's.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select

from importers.pipeline import FileMeta, Options, Result, base_report, guard_store_full
from importers.problems import Problems
from importers.reading import ReadOptions, fiscal_start, record_encoding, report_placement
from importers.sheets.cells import cell_text
from importers.sheets.columns import Mapping, norm, place
from importers.sheets.columns import header_matcher as matcher
from importers.sheets.safety import Refused
from importers.sheets.sources import ROW, open_file
from ledger.log import events
from ledger.rules.fiscal import fiscal_year
from ledger.store import audit
from ledger.store.batches import bulk_insert, create_batch, ensure_units, find_published, live, lock_file
from ledger.store.db import reading, writing
from ledger.store.models import ConsumptionLine, Unit

RESOURCES = {
    "electricity": ["electricity", "power", "电", "用电", "电力", "节电", "电量", "用电量"],
    "fuel": ["fuel", "petrol", "diesel", "gasoline", "油", "用油", "燃油", "汽油", "柴油", "节油", "油耗", "用油量"],
    "water": ["water", "水", "用水", "节水", "用水量"],
}
RESOURCE_OF = {norm(a): r for r, aliases in RESOURCES.items() for a in aliases}
UNIT_OF = {"electricity": "kWh", "fuel": "L", "water": "m3"}
MEASURE_UNITS = {  # label -> (unit, factor); 吨 of water is a cubic metre, 吨 of fuel is not a litre
    "kwh": ("kWh", 1), "千瓦时": ("kWh", 1), "度": ("kWh", 1), "千瓦·时": ("kWh", 1),
    "万千瓦时": ("kWh", 10000), "万度": ("kWh", 10000), "mwh": ("kWh", 1000),
    "l": ("L", 1), "升": ("L", 1), "公升": ("L", 1), "litre": ("L", 1), "liter": ("L", 1), "litres": ("L", 1),
    "m3": ("m3", 1), "m³": ("m3", 1), "立方米": ("m3", 1), "立方": ("m3", 1), "吨": ("m3", 1),
}
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]{1,3})?$")
MAX_MILLI = 10**18 - 1  # Numeric(18, 3)


def import_consumption(engine: Engine, path: Path, options: Options, read: ReadOptions | None = None) -> Result:
    """Import a consumption file as one batch; returns the result with its report."""
    read = read or ReadOptions()
    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, "consumption", "")
    stats = {"read": 0, "detail": 0, "blank": 0, "total_rows": 0}
    try:
        meta = FileMeta.of(path, "consumption")
        meta.fiscal_start = fiscal_start(read)
        mapping = Mapping.load(read.mapping, "consumption") if read.mapping else None
        rows: list[dict] = []
        with tempfile.TemporaryDirectory(prefix="sunshine-read-") as workdir:
            opened = open_file(path, matcher("consumption", mapping), encoding=read.encoding, sheet=read.sheet,
                               limits=read.limits, workdir=Path(workdir))
            record_encoding(meta, opened, problems)
            meta.sheets = [s.name for s in opened.sheets if s.name]
            for name, why in opened.skipped:
                problems.add("sheet-skipped", sheet=name, severity="warning", detail=why)
            if not opened.sheets:
                problems.add("header-not-found", detail=" in any sheet")
            for sheet in opened.sheets:
                placement = place(sheet.headers, "consumption", mapping)
                if not ("fiscal_year" in placement.fields or "date" in placement.fields):
                    placement.missing.append("fiscal_year")
                if not report_placement(problems, sheet, placement, "consumption"):
                    continue
                for raw in sheet.chunks():
                    stats["read"] += raw.height
                    if stats["read"] > read.limits.max_rows:
                        raise Refused("too-many-rows", f"more than {read.limits.max_rows:,}")
                    rows += _rows(raw, placement.fields, sheet.name, meta.fiscal_start, problems, stats)
        stats["detail"] = len(rows)
        return guard_store_full(problems, meta, stats, lambda: _load(engine, rows, problems, meta, options, stats))
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, stats, problems) | {"status": "refused"})


def _rows(raw: pl.DataFrame, fields: dict[str, str], sheet, start: int, problems: Problems, stats: dict) -> list[dict]:
    out = []
    for r in raw.iter_rows(named=True):
        cells = {f: cell_text(r.get(h)) for f, h in fields.items() if h}
        if not any(cell_text(v) for k, v in r.items() if k != ROW):
            stats["blank"] += 1
            continue
        row = r[ROW]

        def bad(field, code, detail=None, cells=cells, row=row):
            problems.add(code, sheet=sheet, row=row, column=fields.get(field, field), value=cells.get(field),
                         detail=detail)

        for f in ("unit_code", "resource", "quantity"):
            if cells.get(f) is None:
                bad(f, "value-missing")
        year = None
        if cells.get("fiscal_year"):
            y = re.sub(r"(\.0+|年)$", "", cells["fiscal_year"])
            year = int(y) if re.fullmatch(r"[0-9]{4}", y) and 1900 <= int(y) <= 2100 else None
            if year is None:
                bad("fiscal_year", "year-invalid")
        elif cells.get("date"):
            try:
                d = dt.date.fromisoformat(cells["date"].replace("/", "-"))
                year = fiscal_year(d, start)
            except ValueError:
                bad("date", "date-invalid")
        else:
            bad("fiscal_year", "value-missing")
        resource = RESOURCE_OF.get(norm(cells["resource"])) if cells.get("resource") else None
        if cells.get("resource") and resource is None:
            bad("resource", "resource-unknown")
        label = cells.get("measure_unit")
        unit, factor = (UNIT_OF.get(resource), 1) if label is None else MEASURE_UNITS.get(norm(label), (None, 1))
        if resource and label is not None and unit != UNIT_OF[resource]:
            bad("measure_unit", "measure-unit-invalid", f"{resource} is measured in {UNIT_OF[resource]}")
            unit = None
        milli = None
        q = cells.get("quantity")
        if q is not None:
            q = q.replace(",", "")
            if QUANTITY.match(q) and (value := int(Decimal(q) * 1000 * factor)) <= MAX_MILLI:
                milli = value
            else:
                bad("quantity", "quantity-invalid")
        if None in (cells.get("unit_code"), year, resource, unit, milli):
            continue
        out.append({"sheet": sheet, "source_row": row, "unit_code": cells["unit_code"],
                    "unit_name": cells.get("unit_name"), "fiscal_year": year, "resource": resource,
                    "milli": milli, "measure_unit": unit, "date": cells.get("date")})
    return out


def _ledger_totals(conn, keys: set[tuple], exclude: int | None) -> dict[tuple, tuple[int, int]]:
    """(unit code, year, resource) → (thousandths, lowest live batch) already in the ledger."""
    c = ConsumptionLine.__table__
    codes = sorted({k[0] for k in keys})
    out = {}
    for i in range(0, len(codes), 5000):
        q = (select(Unit.code, c.c.fiscal_year, c.c.resource, func.sum(c.c.quantity), func.min(c.c.batch_id))
             .join(Unit, Unit.id == c.c.unit_id).where(Unit.code.in_(codes[i:i + 5000]), live(c.c.batch_id))
             .group_by(Unit.code, c.c.fiscal_year, c.c.resource))
        if exclude is not None:
            q = q.where(c.c.batch_id != exclude)
        for code, year, resource, total, batch in conn.execute(q):
            if (code, year, resource) in keys:
                out[(code, year, resource)] = (int(round(Decimal(str(total)) * 1000)), batch)
    return out


def _show(milli: int, unit: str) -> str:
    return f"{Decimal(milli).scaleb(-3).normalize():f} {unit}"


def _load(engine, rows: list[dict], problems: Problems, meta: FileMeta, options: Options, stats: dict) -> Result:
    same = {}
    for r in rows:
        key = (r["unit_code"], r["fiscal_year"], r["resource"], r["date"], r["milli"])
        if key in same and not options.allow_duplicates:
            problems.add("row-duplicate", sheet=r["sheet"], row=r["source_row"], detail=str(same[key]))
        same.setdefault(key, r["source_row"])
    if not rows and not problems.count("error"):
        problems.add("no-rows")
    with (reading if options.dry_run else writing)(engine) as conn:
        if not options.dry_run:
            lock_file(conn, "consumption", meta.sha256)
        existing = find_published(conn, "consumption", meta.sha256)
        if existing is not None and options.supersedes is None:
            return Result("unchanged", existing, base_report(meta, stats, problems) | {"status": "unchanged",
                                                                                       "batch_id": existing})
        if options.supersedes is not None:
            from importers.pipeline import _check_supersedes

            _check_supersedes(conn, meta, options.supersedes, problems)
        totals: dict[tuple, dict] = {}
        for r in rows:
            t = totals.setdefault((r["unit_code"], r["fiscal_year"], r["resource"]),
                                  {"milli": 0, "first": r, "unit": r["measure_unit"]})
            t["milli"] += r["milli"]
        ledger = _ledger_totals(conn, set(totals), options.supersedes)
        held, changed = set(), []
        for key, t in totals.items():
            if key not in ledger:
                continue
            old, batch = ledger[key]
            first = t["first"]
            if old == t["milli"]:
                held.add(key)
                problems.add("probable-duplicate", sheet=first["sheet"], row=first["source_row"], severity="warning",
                             detail=f"batch {batch}")
                continue
            changed.append({"sheet": first["sheet"], "row": first["source_row"], "batch": batch,
                            "key": {"unit_code": key[0], "fiscal_year": str(key[1]), "resource": key[2]},
                            "old": _show(old, t["unit"]), "new": _show(t["milli"], t["unit"])})
            problems.add("amount-changed", sheet=first["sheet"], row=first["source_row"], column="quantity",
                         value=_show(t["milli"], t["unit"]),
                         severity="warning" if options.allow_duplicates else "error",
                         detail=f"unit_code {key[0]}, fiscal_year {key[1]}, resource {key[2]}: {_show(old, t['unit'])} "
                                f"(batch {batch}) → {_show(t['milli'], t['unit'])}; --supersedes {batch}")
        keep = [r for r in rows if (r["unit_code"], r["fiscal_year"], r["resource"]) not in held
                and (options.allow_duplicates or not any(c["key"]["unit_code"] == r["unit_code"]
                                                         and c["key"]["fiscal_year"] == str(r["fiscal_year"])
                                                         and c["key"]["resource"] == r["resource"] for c in changed))]
        quantities: dict[str, str] = {}
        for unit in sorted({r["measure_unit"] for r in keep}):
            quantities[unit] = _show(sum(r["milli"] for r in keep if r["measure_unit"] == unit), unit)
        report = base_report(meta, stats, problems) | {"status": "loaded", "quantities": quantities}
        report["rows"] |= {"loaded": len(keep), "held": len(rows) - len(keep), "skipped_existing": 0}
        if changed:
            report["changed_rows"] = changed
        if problems.count("error"):
            return Result("refused", None, report | {"status": "refused", "ok": False})
        if not keep:
            return Result("unchanged", None, report | {"status": "unchanged"})
        if options.dry_run:
            return Result("dry-run", None, report | {"status": "dry-run"})
        batch_id = _write(conn, meta, options, keep, report, stats)
        return Result("loaded", batch_id, report | {"batch_id": batch_id})


def _write(conn, meta: FileMeta, options: Options, keep: list[dict], report: dict, stats: dict) -> int:
    rows = report["rows"]
    batch_id = create_batch(
        conn, kind="consumption", file_name=meta.name, sha256=meta.sha256, submitted_by=options.submitted_by,
        encoding=meta.encoding, sheet=", ".join(s for s in meta.sheets if s) or None, rows_read=stats["read"],
        rows_loaded=rows["loaded"], rows_skipped=stats["blank"], rows_held=rows["held"],
        supersedes_id=options.supersedes, report=report | {"batch_id": "(this batch)"},
    )
    names = {}
    for r in keep:
        names.setdefault(r["unit_code"], r["unit_name"])
    ids = ensure_units(conn, names.items(), batch_id)
    frame = pl.DataFrame(
        [(batch_id, r["source_row"], ids[r["unit_code"]], r["fiscal_year"], r["resource"],
          f"{Decimal(r['milli']).scaleb(-3):f}", r["measure_unit"]) for r in keep],
        schema={"batch_id": pl.Int64, "source_row": pl.Int64, "unit_id": pl.Int64, "fiscal_year": pl.Int64,
                "resource": pl.String, "quantity": pl.String, "measure_unit": pl.String}, orient="row")
    bulk_insert(conn, ConsumptionLine.__table__, frame)
    events.batch_published(conn, batch_id, role=options.role)
    audit.record(conn, actor=options.submitted_by, role=options.role, action="import.publish",
                 object_type="import_batch", object_id=batch_id,
                 details={"kind": "consumption", "file": meta.name, "sha256": meta.sha256, "rows": rows,
                          "supersedes": options.supersedes})
    return batch_id
