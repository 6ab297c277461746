"""The finance bureau's workspace: upload → dry run drawn as a grid → confirm; the batch timeline.

The import is the CLI's and the API's (``importers.run.import_file`` / ``importers.ocds.import_file``
through ``importers.pipeline``): all-or-nothing, with the signed-in account as ``submitted_by``. A
correction names the batch it supersedes; the old batch stays, marked superseded, on the timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from api.routes.routes_write import IMPORT_KINDS
from api.workspace import grid, staging
from api.workspace import session as ws
from ledger.amount_units import UnknownAmountUnit, amount_unit
from ledger.store.db import reading
from ledger.store.models import ImportBatch

Lang = Annotated[str | None, QueryParameter(description="en for English")]
FINANCE = [ws.signed_in("finance")]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
KIND_NAMES = {"expenses": ("支出明细", "Expense lines"), "budgets": ("预算", "Budgets"),
              "disclosure": ("三公经费公开表", "Disclosure table"), "procurement": ("政府采购", "Procurement"),
              "ocds": ("OCDS 采购数据", "OCDS releases"), "consumption": ("能耗（水电油）", "Consumption")}
UNITS = (("yuan", "元"), ("wan", "万元"), ("yi", "亿元"))


def run_import(engine, kind: str, path: Path, account, *, dry_run: bool, supersedes: int | None,
               unit: str | None):
    """The same call the API makes, acting as ``account``."""
    from importers.pipeline import Options
    from importers.run import ReadOptions, import_file

    options = Options(submitted_by=account.username, role=account.role, dry_run=dry_run, supersedes=supersedes)
    read = ReadOptions(amount_unit=unit)
    if kind == "ocds":
        from importers.ocds import import_file as import_ocds

        return import_ocds(engine, path, options, read)
    return import_file(engine, kind, path, options, read)


def timeline(conn) -> list[dict]:
    """Every batch, newest first, with what it corrects and what corrected it."""
    rows = conn.execute(select(ImportBatch.id, ImportBatch.kind, ImportBatch.file_name, ImportBatch.submitted_by,
                               ImportBatch.created_at, ImportBatch.status, ImportBatch.rows_loaded,
                               ImportBatch.supersedes_id).order_by(ImportBatch.id.desc())).all()
    by_old = {r.supersedes_id: r.id for r in rows if r.supersedes_id is not None}
    return [{"id": r.id, "kind": r.kind, "file": r.file_name, "by": r.submitted_by,
             # superseded is what a later batch says (``ledger.store.batches.live``), whatever the status column holds
             "at": r.created_at.strftime("%Y-%m-%d %H:%M"), "rows": r.rows_loaded,
             "status": "superseded" if r.id in by_old else r.status,
             "corrects": r.supersedes_id, "superseded_by": by_old.get(r.id)} for r in rows]


def _form(request: Request) -> dict:
    """What the upload form needs, and the timeline."""
    lang = ws.lang_of(request)
    with reading(request.app.state.engine) as conn:
        batches = timeline(conn)
    kinds = [(k, KIND_NAMES[k][1 if lang == "en" else 0]) for k in IMPORT_KINDS]
    return {"batches": batches, "kinds": kinds, "units": UNITS,
            "live": [b for b in batches if b["status"] == "published"]}


def _page(request: Request, status_code: int = 200, **extra) -> Template:
    return ws.render(request, "finance.html", "finance", status_code=status_code, **_form(request), **extra)


@get("/finance", sync_to_thread=True, include_in_schema=False, guards=FINANCE)
def finance_page(request: Request, lang: Lang = None,
                 supersedes: Annotated[int | None, QueryParameter(description="Batch to correct", ge=1,
                                                                  le=2**31 - 1)] = None,
                 batch: Annotated[int | None, QueryParameter(description="The batch just loaded", ge=1,
                                                             le=2**31 - 1)] = None) -> Template:
    chosen_kind = None
    if supersedes is not None:
        with reading(request.app.state.engine) as conn:
            chosen_kind = conn.execute(select(ImportBatch.kind).where(ImportBatch.id == supersedes)).scalar()
    return _page(request, chosen={"supersedes": supersedes, "kind": chosen_kind}, loaded=batch)


def _options(data: dict) -> tuple[str | None, int | None, str | None, str | None]:
    """kind, supersedes, unit and the first thing wrong with them."""
    kind = str(data.get("kind") or "")
    if kind not in IMPORT_KINDS:
        return None, None, None, f"kind: use one of {', '.join(IMPORT_KINDS)}"
    raw = str(data.get("supersedes") or "").strip()
    if raw and not (raw.isdigit() and 0 < int(raw) < 2**31):
        return kind, None, None, f"supersedes: {raw!r} is not a batch id"
    unit = str(data.get("amount_unit") or "").strip() or None
    if unit is not None:
        try:
            unit = amount_unit(unit)
        except UnknownAmountUnit as exc:
            return kind, None, None, f"amount_unit: {exc}"
    return kind, int(raw) if raw else None, unit, None


def _check_page(request, result, path: Path, kind: str, stage_id: str | None, meta: dict,
                status_code: int = 200) -> Template:
    lang = ws.lang_of(request)
    report = result.report
    listed = report.get("problems", {}).get("listed", [])
    drawn = grid.build(path, kind, listed, lang)
    return ws.render(request, "check.html", "finance", status_code=status_code, report=report,
                     status=result.status, problems=listed, grid=drawn, stage=stage_id, meta=meta,
                     kind_name=KIND_NAMES[kind][1 if lang == "en" else 0], message=grid.message,
                     chosen={"kind": kind, "supersedes": meta.get("supersedes")}, **_form(request))


@post("/finance/check", sync_to_thread=True, include_in_schema=False, guards=FINANCE, status_code=200)
def check(request: Request, data: Upload, lang: Lang = None) -> Template:
    """Stage the upload and dry-run it: nothing is written."""
    session = ws.check_csrf(request, data)
    upload = data.get("file")
    kind, supersedes, unit, wrong = _options(data)
    if wrong or upload is None or not hasattr(upload, "file"):
        return _page(request, status_code=400, error=wrong or "file: choose a file to upload")
    meta = {"account_id": session.account.id, "kind": kind, "supersedes": supersedes, "amount_unit": unit}
    stage_id, path = staging.stage(upload.file, upload.filename, meta)
    result = run_import(request.app.state.engine, kind, path, session.account, dry_run=True, supersedes=supersedes,
                        unit=unit)
    page = _check_page(request, result, path, kind, stage_id if result.ok else None, meta | {"name": path.name},
                       status_code=200 if result.ok else 422)
    if not result.ok:  # the grid has read the file already; a refused file is not kept
        staging.drop(stage_id)
    return page


@post("/finance/confirm", sync_to_thread=True, include_in_schema=False, guards=FINANCE, status_code=303)
def confirm(request: Request, data: Form, lang: Lang = None) -> Any:
    """Import the staged file for real: one batch, or nothing."""
    session = ws.check_csrf(request, data)
    stage_id = str(data.get("stage") or "")
    staged = staging.load(stage_id, session.account.id)
    if staged is None:
        return _page(request, status_code=410, error=ws.context(request, "finance")["_"]["stage_gone"])
    path, meta = staged
    result = run_import(request.app.state.engine, meta["kind"], path, session.account, dry_run=False,
                        supersedes=meta["supersedes"], unit=meta["amount_unit"])
    if not result.ok:
        page = _check_page(request, result, path, meta["kind"], None, meta, status_code=422)
        staging.drop(stage_id)
        return page
    staging.drop(stage_id)
    if result.status != "loaded":  # the same file again: nothing new was written
        return _page(request, unchanged=result.batch_id)
    return Redirect(f"/workspace/finance?batch={result.batch_id}" + ws.q(ws.lang_of(request), "&"), status_code=303)


routes = [finance_page, check, confirm]
