"""Bulk downloads: every public dataset as CSV streamed from the database, and a datapackage.json."""

from typing import Annotated

import anyio
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from api import download_labels, params, respond, schemas
from api.auth import reveals_personal
from api.formats import FORMATS, CsvWriter
from api.middleware.http_cache import add_headers
from api.middleware.streams import GuardedStream, chunks_in_threads, take_slot
from api.routes.routes_data import FILTERS
from ledger.read import downloads
from ledger.read.figures import categories
from ledger.read.queries import DATASETS, Filters, NotFound
from ledger.store.db import reading

BASE = "/api/v1/downloads"


def _public():
    return [ds for ds in DATASETS.values() if ds.public]


async def _as_of_suffix(request: Request) -> str:
    if request.query_params.get("as_of") is None:
        return ""
    await respond.blocking(request, _resolve, request)
    cp = respond.checkpoint_of(request)
    return f"?as_of={cp['size']}"


def _resolve(request: Request) -> None:
    with respond.read(request):  # resolves as_of (404 when there is no such checkpoint) and records it
        pass


def _checkpoint(request: Request) -> dict:
    cp = respond.checkpoint_of(request)
    return {} if cp is None else {"checkpoint": cp}


@get("/downloads", tags=["downloads"], summary="Every dataset as a CSV download")
async def list_downloads(request: Request, as_of: params.AsOfQ = None) -> Response[schemas.DownloadList]:
    """With ``as_of``: every link carries the resolved checkpoint's size and the answer names the checkpoint."""
    suffix = await _as_of_suffix(request)
    items = [
        {"name": ds.name, "title": ds.title, "description": ds.description, "url": f"{BASE}/{ds.name}.csv{suffix}",
         "media_type": "text/csv"}
        for ds in _public()
    ]
    return respond.reply(request, {"datasets": items, "datapackage": f"{BASE}/datapackage.json{suffix}",
                                   "license": request.app.state.settings.data_license, **_checkpoint(request)})


@get("/downloads/datapackage.json", tags=["downloads"],
     summary="Frictionless data package describing every download")
async def datapackage(request: Request, as_of: params.AsOfQ = None) -> Response[dict]:
    """With ``as_of``: each resource's path carries the resolved checkpoint's size (``expenses.csv?as_of=2``),
    so the package describes the data as of that checkpoint, which it names (``checkpoint``)."""
    settings = request.app.state.settings
    suffix = await _as_of_suffix(request)
    resources = []
    for ds in _public():
        resources.append({
            "name": ds.name,
            "title": ds.title,
            "description": ds.description,
            # Relative to this descriptor (Frictionless): never built from the Host header, which the
            # response cache does not key on.
            "path": f"{ds.name}.csv{suffix}",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8-sig",
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
            "schema": {
                "fields": [{"name": n, "type": t, "description": d} for n, t, d in ds.output_fields()],
                "primaryKey": ["id"],
                "missingValues": [""],
            },
        })
    body = {
        "profile": "tabular-data-package",
        "name": "sunshine-ledger",
        "title": "Sunshine Ledger (阳光账本): public spending and the three public expenses",
        "description": "Live (not superseded) rows. Money is integer fen with an exact yuan column beside it. Text "
        "cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR) carry a leading ' "
        "(OWASP CSV injection guidance).",
        "licenses": [{"name": settings.data_license}],
        "sources": [{"title": settings.data_source}],
        "resources": resources,
        **_checkpoint(request),
    }
    return respond.reply(request, body)


@get("/downloads/{file_name:str}", dependencies=FILTERS, tags=["downloads"],
     summary="One dataset as CSV (UTF-8 with BOM), streamed", media_type="text/csv",
     responses={})
async def download(
    request: Request,
    filters: NamedDependency[Filters],
    file_name: Annotated[str, PathParameter(description="<dataset>.csv, e.g. expenses.csv")],
    labels: Annotated[str | None, QueryParameter(
        description="zh or en: human headers, category and method names, amounts in 元 and 万元 beside fen")] = None,
    as_of: params.AsOfQ = None,
) -> GuardedStream:
    name = file_name.removesuffix(".csv")
    ds = DATASETS.get(name)
    if ds is None or not ds.public or not file_name.endswith(".csv"):
        raise NotFound(f"no download named {file_name}; see {BASE}")
    engine, settings = request.app.state.engine, request.app.state.settings

    fields = [(n, t) for n, t, _ in ds.output_fields()]
    lang = download_labels.check(labels)

    reveal = reveals_personal(request)

    def start() -> tuple[downloads.Download, dict | None]:
        with reading(engine) as conn, respond.pinned_to(request, conn):
            names = {c: (zh, en) for c, zh, en, _ in categories(conn).iter_rows()} if lang else None
            return downloads.plan(conn, name, filters, reveal=reveal, lang=lang or "zh"), names

    plan, names = await anyio.to_thread.run_sync(start)  # a bad filter is a 400 before any byte is sent
    out_fields = download_labels.labelled(fields, [], lang, names)[0] if lang else fields
    writer = CsvWriter(out_fields)
    header: list[bytes] = [writer.header()]

    def fetch() -> bytes | None:
        if header:
            return header.pop()
        if plan.done:
            return None
        with reading(engine) as conn:  # one short transaction per chunk, closed before the bytes are sent
            rows = downloads.next_chunk(conn, plan, settings.stream_chunk_rows)
        if lang and rows:
            rows = next(iter(download_labels.labelled(fields, [rows], lang, names)[1]))
        return writer.rows(rows)

    take_slot(request)
    response = GuardedStream(
        # status_code set so add_headers sees a 200 and adds ETag and Cache-Control.
        chunks_in_threads(fetch), status_code=200, media_type=FORMATS["csv"],
        headers={"Content-Disposition": f'attachment; filename="{file_name}"', **respond.checkpoint_headers(request)},
    )
    add_headers(response, request)
    return response


routes = [list_downloads, datapackage, download]
