"""Writes over HTTP: uploads (finance) and flag reviews (discipline). Each goes to the audit log
through the ledger function it calls; the token's name is the actor and its role the role."""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from api import schemas
from api.auth import require, token_of
from api.middleware.http_cache import after_write
from ledger.amount_units import accepted_spellings
from ledger.read import queries
from ledger.store.db import writing

IMPORT_KINDS = ("expenses", "budgets", "disclosure", "procurement", "ocds", "consumption")


@dataclass
class ImportForm:
    file: UploadFile


class ImportReport(msgspec.Struct):
    """The same document ``sunshine import --json`` prints."""

    ok: bool
    files: list[dict[str, Any]]


def _run_import(engine, kind: str, path: Path, token, dry_run: bool, supersedes: int | None,
                encoding: str | None, sheet: str | None, amount_unit: str | None, new_units: bool = False):
    try:
        from importers.pipeline import Options
        from importers.run import ReadOptions, import_file
    except ModuleNotFoundError:
        raise HTTPException(status_code=503, detail="The importers are not installed in this build.") from None
    options = Options(submitted_by=token.name, role=token.role, dry_run=dry_run, supersedes=supersedes,
                      new_units=new_units)
    read = ReadOptions(encoding=encoding, sheet=sheet, amount_unit=amount_unit)
    if kind == "ocds":
        from importers.procurement.ocds import import_file as import_ocds

        return import_ocds(engine, path, options, read)
    return import_file(engine, kind, path, options, read)


@post("/imports", guards=[require("finance")], tags=["writes"], security=[{"bearer": []}], status_code=200,
      summary="Upload a file to import (finance token); dry_run checks without writing")
async def create_import(
    request: Request,
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    kind: Annotated[str, QueryParameter(description=f"One of {', '.join(IMPORT_KINDS)}")],
    dry_run: Annotated[bool, QueryParameter(description="Check and report without writing")] = False,
    supersedes: Annotated[int | None, QueryParameter(description="Id of the batch this file corrects")] = None,
    encoding: Annotated[str | None, QueryParameter(description="Force an encoding, e.g. gb18030")] = None,
    sheet: Annotated[str | None, QueryParameter(description="Sheet to read from a workbook")] = None,
    amount_unit: Annotated[str | None, QueryParameter(
        description="元, 万元 or 亿元 (also yuan, wan, yi) when the file does not say",
        schema_extra={"oneOf": [{"type": "string", "enum": accepted_spellings()}, {"type": "null"}]})] = None,
    new_units: Annotated[bool, QueryParameter(
        description="Admit unit codes the loaded unit register does not know (else refused: unit-unknown)")] = False,
) -> Response[ImportReport]:
    """Returns the import report (the same as ``sunshine import --json``): 200 when loaded, unchanged or a dry
    run; 422 with the report under ``files`` when the file was refused."""
    if kind not in IMPORT_KINDS:
        from ledger.read.queries import QueryError

        raise QueryError("kind", f"use one of {', '.join(IMPORT_KINDS)}")
    if amount_unit is not None:
        from ledger.amount_units import UnknownAmountUnit
        from ledger.amount_units import amount_unit as unit_code
        from ledger.read.queries import QueryError

        try:
            amount_unit = unit_code(amount_unit)
        except UnknownAmountUnit as e:
            raise QueryError("amount_unit", str(e)) from None
    token = token_of(request)
    name = Path(data.file.filename or "upload").name[:200].replace("\x00", "")
    if name in ("", ".", ".."):  # Path("..").name is "..": it would name the temporary folder's parent
        name = "upload"
    with tempfile.TemporaryDirectory(prefix="sunshine-upload-") as tmp:
        path = Path(tmp) / name
        with path.open("wb") as out:
            while chunk := await data.file.read(1 << 20):
                out.write(chunk)
        result = await anyio.to_thread.run_sync(
            _run_import, request.app.state.engine, kind, path, token, dry_run, supersedes, encoding, sheet, amount_unit,
            new_units)
    after_write(request)
    files = [result.report | {"status": result.status, "batch_id": result.batch_id}]
    if not result.ok:
        body = {"type": "https://sunshine-ledger.example/problems/import-refused", "title": "Unprocessable Content",
                "status": 422, "detail": f"{name} was refused; nothing was written. See files[0] for every problem.",
                "instance": request.url.path, "ok": False, "files": files}
        return Response(content=body, status_code=422, media_type="application/problem+json")
    return Response(content=ImportReport(ok=True, files=files), headers={"Cache-Control": "no-store"})


class ReviewIn(msgspec.Struct):
    to_state: str
    note: str


class Published(msgspec.Struct):
    flag_id: str
    published: int


def _review(engine, flag_id: str, body: ReviewIn, token):
    from ledger.review.workflow import ReviewRefused, record_review

    with writing(engine) as conn:
        queries.get_row(conn, "flags", flag_id)
        try:
            entry = record_review(conn, flag_id, body.to_state, note=body.note, reviewer=token.name, role=token.role)
        except ReviewRefused as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
    return entry


@post("/flags/{flag_id:str}/reviews", guards=[require("discipline")], tags=["writes"], security=[{"bearer": []}],
      summary="Move a flag through the review workflow (discipline token)", sync_to_thread=True, status_code=201)
def create_review(request: Request, flag_id: FromPath[str], data: JSONBody[ReviewIn]) -> Response[schemas.Review]:
    """open → under_review → explained | rectification_ordered | referred | dismissed → closed. The note stays
    restricted until the finding is published (POST …/publish). 409 names the allowed next states."""
    entry = _review(request.app.state.engine, flag_id, data, token_of(request))
    after_write(request)
    review = schemas.Review(id=entry.id, from_state=entry.from_state, to_state=entry.to_state, reviewer=entry.reviewer,
                            note=entry.note, restricted=True, created_at=entry.created_at, published_at=None)
    return Response(content=review, status_code=201, headers={"Cache-Control": "no-store"})


@post("/flags/{flag_id:str}/publish", guards=[require("discipline")], tags=["writes"], security=[{"bearer": []}],
      summary="Publish a flag's finding and review notes (discipline token)", sync_to_thread=True, status_code=200)
def publish(request: Request, flag_id: FromPath[str]) -> Response[Published]:
    from ledger.review.workflow import ReviewRefused, publish_finding

    token = token_of(request)
    with writing(request.app.state.engine) as conn:
        queries.get_row(conn, "flags", flag_id)
        try:
            n = publish_finding(conn, flag_id, reviewer=token.name, role=token.role)
        except ReviewRefused as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
    after_write(request)
    return Response(content=Published(flag_id=flag_id, published=n), headers={"Cache-Control": "no-store"})


routes = [create_import, create_review, publish]
