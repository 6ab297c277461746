"""``sunshine import procurement-summary FILE``: published procurement summary tables (政府采购情况表).

Cities publish procurement as a table, not as records: one line per method, per 货物/工程/服务, per
month or quarter, with the project count, the budget, the contract amount and the savings::

    单位名称,年度,期间,采购方式,采购类别,项目数,采购预算(万元),合同金额(万元),节约金额(万元)
    阳光市财政局,2023,全年,公开招标,货物,473,12000.50,11000.25,1000.25

Lines are stored as published (``procurement_summary``): a method outside the six of the law
(预选竞价, 网上商城直接采购 …) is kept verbatim in ``method_raw`` (``method`` other), the item kind
is goods, works or services, the period its own text. A line whose method, kind or period says
合计/小计/总计 is the table's own total: it is counted as such (``total_rows``), not stored, so
nothing is added twice. A table without 单位编码 names its unit by 单位名称 (code ``name-<digest>``,
as OCDS buyers without an id). One batch or nothing; the rows are in the transparency log.

The import report gives, per currency, the project count, budget, contract and savings (published,
else budget − contract) and both savings rates, named: ``savings_rate_of_budget_pct`` (节约率 =
节约金额 ÷ 采购预算, the usual one) and ``savings_rate_of_contract_pct`` (÷ 合同金额, as some cities
publish it).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from importers.pipeline import FileMeta, Options, Result, base_report, guard_store_full
from importers.problems import Problems
from importers.procurement.ocds_compile import CHINESE_METHODS, derived_id
from importers.reading import ReadOptions, record_encoding, report_placement
from importers.sheets.cells import cell_text
from importers.sheets.columns import Mapping, place
from importers.sheets.columns import header_matcher as matcher
from importers.sheets.safety import Refused
from importers.sheets.sources import ROW, open_file
from ledger.log import events
from ledger.money import AmountError, parse_amount
from ledger.store import audit
from ledger.store.batches import bulk_insert, create_batch, ensure_units, find_published, lock_file
from ledger.store.db import reading, writing
from ledger.store.models import ProcurementSummary

KIND = "procurement-summary"
ITEM_KINDS = {"货物": "goods", "货物类": "goods", "goods": "goods", "工程": "works", "工程类": "works",
              "works": "works", "服务": "services", "服务类": "services", "services": "services"}
TOTAL = re.compile(r"^(合计|小计|总计|共计|total|subtotal)$", re.IGNORECASE)
AMOUNTS = {"budget_amount": "budget_fen", "contract_amount": "contract_fen", "savings_amount": "savings_fen"}


def import_summary(engine: Engine, path: Path, options: Options, read: ReadOptions | None = None) -> Result:
    """Import a procurement summary table as one batch; returns the result with its report."""
    read = read or ReadOptions()
    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, KIND, "")
    stats = {"read": 0, "detail": 0, "blank": 0, "total_rows": 0}
    try:
        meta = FileMeta.of(path, KIND)
        mapping = Mapping.load(read.mapping, KIND) if read.mapping else None
        rows: list[dict] = []
        with tempfile.TemporaryDirectory(prefix="sunshine-read-") as workdir:
            opened = open_file(path, matcher(KIND, mapping), encoding=read.encoding, sheet=read.sheet,
                               limits=read.limits, workdir=Path(workdir))
            record_encoding(meta, opened, problems)
            meta.sheets = [s.name for s in opened.sheets if s.name]
            if not opened.sheets:
                problems.add("header-not-found", detail=" in any sheet")
            for sheet in opened.sheets:
                placement = place(sheet.headers, KIND, mapping)
                if not ("unit_code" in placement.fields or "unit_name" in placement.fields):
                    placement.missing.append("unit_name")
                if not report_placement(problems, sheet, placement, KIND):
                    continue
                units = {f: placement.units.get(f) or read.amount_unit or (mapping and mapping.amount_unit) or "yuan"
                         for f in AMOUNTS}
                for raw in sheet.chunks():
                    stats["read"] += raw.height
                    if stats["read"] > read.limits.max_rows:
                        raise Refused("too-many-rows", f"more than {read.limits.max_rows:,}")
                    rows += _rows(raw, placement.fields, units, sheet.name, problems, stats)
        stats["detail"] = len(rows)
        return guard_store_full(problems, meta, stats, lambda: _load(engine, rows, problems, meta, options, stats))
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, stats, problems) | {"status": "refused"})


def _rows(raw: pl.DataFrame, fields: dict[str, str], units: dict, sheet, problems: Problems, stats: dict) -> list[dict]:
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

        if any(TOTAL.match(cells.get(f) or "") for f in ("method", "item_kind", "period", "unit_name")):
            stats["total_rows"] += 1  # the table's own total: the lines it sums are stored
            continue
        year = None
        y = re.sub(r"(\.0+|年)$", "", cells.get("fiscal_year") or "")
        if re.fullmatch(r"[0-9]{4}", y) and 1900 <= int(y) <= 2200:
            year = int(y)
        else:
            bad("fiscal_year", "year-invalid" if y else "value-missing")
        code = cells.get("unit_code") or (derived_id("name", cells["unit_name"]) if cells.get("unit_name") else None)
        if code is None:
            bad("unit_name", "value-missing")
        projects = None
        if cells.get("projects"):
            p = re.sub(r"(\.0+|项|个)$", "", cells["projects"].replace(",", ""))
            projects = int(p) if p.isdigit() else None
            if projects is None:
                bad("projects", "count-invalid")
        amounts = {}
        for field, column in AMOUNTS.items():
            try:
                amounts[column] = parse_amount(cells.get(field), units[field])
            except AmountError as exc:
                bad(field, exc.code)
                amounts[column] = None
        kind_raw = cells.get("item_kind")
        item_kind = ITEM_KINDS.get((kind_raw or "").lower()) if kind_raw else None
        if kind_raw and item_kind is None:
            bad("item_kind", "category-unknown", "货物, 工程 or 服务 (goods, works, services)")
        currency = (cells.get("currency") or "CNY").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            bad("currency", "currency-invalid")
        method_raw = cells.get("method")
        out.append({"sheet": sheet, "source_row": row, "unit_code": code, "unit_name": cells.get("unit_name") or code,
                    "fiscal_year": year, "period": cells.get("period"),
                    "method": (CHINESE_METHODS.get(method_raw) or "other") if method_raw else None,
                    "method_raw": method_raw, "item_kind": item_kind, "projects": projects, **amounts,
                    "currency": currency})
    return out


def totals(rows: list[dict]) -> dict[str, dict]:
    """Per currency: projects, budget, contract, savings (published, else budget − contract) and both rates."""
    out: dict[str, dict] = {}
    for r in rows:
        t = out.setdefault(r["currency"], {"lines": 0, "projects": 0, "budget_fen": 0, "contract_fen": 0,
                                           "savings_fen": 0, "savings_base_budget_fen": 0,
                                           "savings_base_contract_fen": 0})
        t["lines"] += 1
        t["projects"] += r["projects"] or 0
        t["budget_fen"] += r["budget_fen"] or 0
        t["contract_fen"] += r["contract_fen"] or 0
        saved = r["savings_fen"]
        if saved is None and r["budget_fen"] is not None and r["contract_fen"] is not None:
            saved = r["budget_fen"] - r["contract_fen"]
        if saved is not None:
            t["savings_fen"] += saved
            if r["budget_fen"] is not None:
                t["savings_base_budget_fen"] += r["budget_fen"]
            if r["contract_fen"] is not None:
                t["savings_base_contract_fen"] += r["contract_fen"]
    for t in out.values():
        t["savings_rate_of_budget_pct"] = _pct(t["savings_fen"], t["savings_base_budget_fen"])
        t["savings_rate_of_contract_pct"] = _pct(t["savings_fen"], t["savings_base_contract_fen"])
    return out


def _pct(num: int, den: int) -> str | None:
    """Percent to two places, rounded half up, exactly (integers only)."""
    if not den:
        return None
    hundredths = (abs(num) * 10000 * 2 + den) // (2 * den)
    sign = "-" if num < 0 else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def _load(engine, rows: list[dict], problems: Problems, meta: FileMeta, options: Options, stats: dict) -> Result:
    if not rows and not problems.count("error"):
        problems.add("no-rows")
    report = base_report(meta, stats, problems) | {"summary_by_currency": totals(rows)}
    report["rows"] |= {"loaded": len(rows), "held": 0, "skipped_existing": 0}
    with (reading if options.dry_run else writing)(engine) as conn:
        if not options.dry_run:
            lock_file(conn, KIND, meta.sha256)
        existing = find_published(conn, KIND, meta.sha256)
        if existing is not None and options.supersedes is None:
            return Result("unchanged", existing, report | {"status": "unchanged", "batch_id": existing})
        if options.supersedes is not None:
            from importers.pipeline import _check_supersedes

            _check_supersedes(conn, meta, options.supersedes, problems)
        if problems.count("error"):
            return Result("refused", None, base_report(meta, stats, problems) | {"status": "refused"})
        if options.dry_run:
            return Result("dry-run", None, report | {"status": "dry-run"})
        batch_id = create_batch(
            conn, kind=KIND, file_name=meta.name, sha256=meta.sha256, submitted_by=options.submitted_by,
            encoding=meta.encoding, sheet=", ".join(s for s in meta.sheets if s) or None, rows_read=stats["read"],
            rows_loaded=len(rows), rows_skipped=stats["blank"] + stats["total_rows"], rows_held=0,
            supersedes_id=options.supersedes, report=report | {"status": "loaded", "batch_id": "(this batch)"},
        )
        names: dict[str, str] = {}
        for r in rows:
            names.setdefault(r["unit_code"], r["unit_name"])
        ids = ensure_units(conn, names.items(), batch_id)
        columns = ["source_row", "fiscal_year", "period", "method", "method_raw", "item_kind", "projects",
                   "budget_fen", "contract_fen", "savings_fen", "currency"]
        frame = pl.DataFrame(
            [(batch_id, ids[r["unit_code"]], *(r[c] for c in columns)) for r in rows],
            schema={"batch_id": pl.Int64, "unit_id": pl.Int64, "source_row": pl.Int64, "fiscal_year": pl.Int64,
                    "period": pl.String, "method": pl.String, "method_raw": pl.String, "item_kind": pl.String,
                    "projects": pl.Int64, "budget_fen": pl.Int64, "contract_fen": pl.Int64, "savings_fen": pl.Int64,
                    "currency": pl.String}, orient="row")
        bulk_insert(conn, ProcurementSummary.__table__, frame)
        events.batch_published(conn, batch_id, role=options.role)
        audit.record(conn, actor=options.submitted_by, role=options.role, action="import.publish",
                     object_type="import_batch", object_id=batch_id,
                     details={"kind": KIND, "file": meta.name, "sha256": meta.sha256, "rows": report["rows"],
                              "supersedes": options.supersedes})
        return Result("loaded", batch_id, report | {"status": "loaded", "batch_id": batch_id})
