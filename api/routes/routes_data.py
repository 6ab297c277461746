"""Public reads: one list endpoint per dataset, single rows, categories, the aggregate and reports.

Handlers parse parameters, call ``ledger.read.queries*`` and shape the answer; no SQL here.
"""

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Example
from litestar.params import FromPath, PathParameter, QueryParameter

from api import params, respond, schemas
from api.auth import reveals_personal
from api.formats import negotiate
from ledger.read import aggregate as queries_aggregate
from ledger.read import queries
from ledger.read.queries import DATASETS, Filters
from ledger.read.review_datasets import flag_reviews
from ledger.store.db import reading

FILTERS = {"filters": Provide(params.filters, sync_to_thread=False)}
CUTS = {"filters": Provide(params.aggregate_cuts, sync_to_thread=False)}
Format = Annotated[str | None, QueryParameter(description="json (default), csv or ndjson; or use the Accept header")]
Limit = Annotated[int, QueryParameter(description=f"Rows per page (max {queries.MAX_LIMIT})", ge=1, le=queries.MAX_LIMIT)]
Cursor = Annotated[str | None, QueryParameter(description="Opaque cursor from the previous page's next_cursor")]
Count = Annotated[bool, QueryParameter(description="Include the total count (false skips it)")]
AsOf = params.AsOfQ  # read by api.respond.read, which pins the handler's reads to that checkpoint

LISTED = ("units", "expenses", "budgets", "procurement", "import-batches", "flags", "targets", "target-results")
SUMMARIES = {
    "units": "Budget units",
    "expenses": "Actual expenses (line items and disclosure figures)",
    "budgets": "Budget lines, original and adjusted",
    "procurement": "Government procurement records",
    "import-batches": "Import batches: the provenance of every row",
    "flags": "Red flags (public fields; review notes only once published)",
    "targets": "Reduction targets from policy documents",
    "target-results": "Target results from the latest check run",
}


def _list_handler(name: str):
    ds = DATASETS[name]
    sorts = ", ".join(sorted(ds.sorts))

    def read(request: Request, filters: Filters, sort: str, cursor: str | None, limit: int, count: bool) -> queries.Page:
        with respond.read(request) as conn:
            return queries.list_rows(conn, name, filters, sort=sort, cursor=cursor, limit=limit, count=count,
                                     reveal=reveals_personal(request))

    async def handler(
        request: Request,
        filters: NamedDependency[Filters],
        sort: Annotated[str, QueryParameter(description=f"Order: {sorts}; prefix - for descending. Ties break on id")] = "id",
        cursor: Cursor = None,
        limit: Limit = queries.DEFAULT_LIMIT,
        count: Count = True,
        format: Format = None,
        as_of: AsOf = None,
    ) -> Any:
        fmt = negotiate(request, format)
        result = await respond.blocking(request, read, request, filters, sort, cursor, limit, count)
        return respond.page(request, ds, result, fmt)

    handler.__annotations__["return"] = Response[schemas.PAGES[name]]
    handler.__name__ = f"list_{name.replace('-', '_')}"
    return get(
        f"/{name}", dependencies=FILTERS, summary=SUMMARIES[name], tags=["data"],
        description=f"{ds.description} Filters that do not apply to {name} are refused with 400. "
        f"Filters: {', '.join(sorted(ds.filters))}.",
    )(handler)


def _row_handler(name: str, id_type: type):
    ds = DATASETS[name]

    def read(request: Request, row_id: Any) -> dict[str, Any]:
        with respond.read(request) as conn:
            return queries.get_row(conn, name, row_id, reveal=reveals_personal(request))

    async def handler(request: Request, row_id: Any, as_of: AsOf = None) -> Any:
        return respond.reply(request, await respond.blocking(request, read, request, row_id))

    handler.__annotations__.update({"row_id": FromPath[id_type], "return": Response[schemas.ROWS[name]]})
    handler.__name__ = f"get_{name.replace('-', '_')}"
    return get(f"/{name}/{{row_id:{id_type.__name__}}}", tags=["data"],
               summary=f"One row of {name} by id", description=ds.description)(handler)


def _categories(request: Request) -> list[dict]:
    with respond.read(request) as conn:  # reference data: the same at every checkpoint, but as_of is checked
        return queries.categories(conn)


@get("/categories", tags=["data"], summary="Expense categories and their groups")
async def list_categories(request: Request, as_of: AsOf = None) -> Response[list[schemas.Category]]:
    """With ``as_of`` the checkpoint is resolved like every public read (404 when there is none) and named
    in the ``X-Checkpoint-Size`` / ``X-Checkpoint-Root`` headers; the answer stays a list."""
    return respond.reply(request, await respond.blocking(request, _categories, request))


@get("/category-groups", sync_to_thread=True, tags=["data"], summary="Category groups (三公, 四费, …)")
def list_category_groups(request: Request) -> Response[list[schemas.CategoryGroup]]:
    with reading(request.app.state.engine) as conn:
        return respond.reply(request, queries.category_groups(conn))


def _flag(request: Request, flag_id: str) -> dict[str, Any]:
    from api.auth import token_of

    token = token_of(request)
    restricted = token is not None and token.role == "discipline"
    with respond.read(request) as conn:
        flag = queries.get_row(conn, "flags", flag_id, reveal=token is not None)
        reviews = flag_reviews(conn, flag_id, include_restricted=restricted)
    cp = respond.checkpoint_of(request)
    return {"flag": flag, "reviews": reviews, **({"checkpoint": cp} if cp is not None else {})}


@get("/flags/{flag_id:str}", tags=["data"], summary="A red flag with its review history")
async def get_flag(request: Request, flag_id: FromPath[str], as_of: AsOf = None) -> Response[schemas.FlagDetail]:
    """Review notes appear once published; a discipline token sees restricted notes too. With ``as_of``:
    the flag as that checkpoint saw it (404 if raised after it), its reviews logged by then, a note shown
    only if its publication was logged by then, and ``checkpoint`` in the answer."""
    return respond.reply(request, await respond.blocking(request, _flag, request, flag_id))


def _aggregate_fields(drilldown: list[str]) -> list[tuple[str, str]]:
    fields = [(d, "string") for d in drilldown]
    for m in queries_aggregate.MEASURES:
        fields += [(f"{m}_fen", "integer"), (f"{m}_yuan", "number"), (f"{m}_count", "integer")]
    return fields


def _aggregate_response(request: Request, result: queries_aggregate.Aggregate, fmt: str) -> Response:
    fields = _aggregate_fields(result.drilldown)
    rows = [tuple(c.get(n) for n, _ in fields) for c in result.cells]
    body = {"drilldown": result.drilldown, "cells": result.cells, "summary": result.summary,
            "coverage": result.coverage, **respond.meta(request)}
    # CSV and NDJSON carry the coverage in a header: "2023=40/40, 2024=2/40" (reported/expected units)
    shown = ", ".join(f"{c['fiscal_year']}={c['reported']}/{c['expected']}" for c in result.coverage[:50])
    return respond.table(request, fmt, fields, rows, body, headers={"X-Coverage": shown} if shown else None)


def _aggregate(request: Request, dims: list[str], filters: Filters) -> queries_aggregate.Aggregate:
    with respond.read(request) as conn:
        return queries_aggregate.aggregate(conn, dims, filters)


# each value is dimensions separated by commas, so the schema states exactly what is accepted
DRILLDOWN_PATTERN = rf"^[\s,]*(?:(?:{'|'.join(queries_aggregate.DIMENSIONS)})\s*(?:,[\s,]*|$))*$"


@get("/aggregate", dependencies=CUTS, tags=["aggregate"],
     summary="Sums and counts, budget and actual side by side, drilled down by any dimensions")
async def aggregate(
    request: Request,
    filters: NamedDependency[Filters],
    drilldown: Annotated[
        list[str] | None,
        QueryParameter(description=f"Dimensions to group by: {', '.join(queries_aggregate.DIMENSIONS)} "
                  "(repeat or comma-separate)", examples=[Example(summary="per unit and year", value=["unit,year"])],
                  schema_extra={"oneOf": [{"type": "array", "items": {"type": "string", "pattern": DRILLDOWN_PATTERN}},
                                          {"type": "null"}]}),
    ] = None,
    format: Format = None,
    as_of: AsOf = None,
) -> Response[schemas.AggregateResult]:
    """Served from the rollup kept at import. Cuts are the filters unit, unit_level, year, year_from, year_to,
    category and group. Measures per cell: actual, budget_original and budget_adjusted, each as fen, exact yuan
    string and row count; the summary sums every cell. ``coverage`` says per year how many of the expected units
    reported actual spending (missing is not zero); a merged unit counts as its successor."""
    fmt = negotiate(request, format)
    dims = params._split(drilldown)
    result = await respond.blocking(request, _aggregate, request, dims, filters)
    return _aggregate_response(request, result, fmt)


REPORT_KINDS = ("three-public", "four-fees", "procurement")
_TEXT_COLUMNS = {"unit", "unit_code", "unit_name", "item", "name_zh", "method", "basis_budget", "basis_adjusted",
                 "basis_execution", "basis_final"}


@get("/reports/{kind:str}", sync_to_thread=True, tags=["reports"],
     summary="Disclosure reports: 部门决算“三公”经费表 (three-public), 四费公开 (four-fees), procurement")
def report(
    request: Request,
    kind: Annotated[str, PathParameter(description="three-public, four-fees or procurement")],
    year: Annotated[int, QueryParameter(description="Fiscal year", ge=1900, le=2200,
                                   examples=[Example(summary="a year", value=2023)])],
    unit: Annotated[str | None, QueryParameter(description="One unit's code; all units when absent")] = None,
    format: Format = None,
    as_of: AsOf = None,
) -> Response[dict[str, Any]]:
    """From ``ledger.read.published.reports``: money in fen, percentages as exact decimal strings (null when undefined), and
    ``text``, the explanatory paragraph (``text_en`` in English). CSV gives one row per unit and item (per method for procurement)."""
    from ledger.read.published import report_text, reports

    if kind not in REPORT_KINDS:
        raise queries.NotFound(f"no report {kind!r}; reports are {', '.join(REPORT_KINDS)}")
    fmt = negotiate(request, format)
    with respond.read(request) as conn:
        result = reports.report(conn, kind, year, unit)
    header, rows = report_text.report_table(result)
    fields = [(h, "string" if h in _TEXT_COLUMNS else "number") for h in header]
    body = {**result, "text": report_text.report_text(result), "text_en": report_text.report_text(result, "en"),
            **respond.meta(request)}
    return respond.table(request, fmt, fields, [tuple(r) for r in rows], body)


routes = [
    *(_list_handler(n) for n in LISTED),
    _row_handler("expenses", int), _row_handler("budgets", int), _row_handler("procurement", int),
    _row_handler("import-batches", int), _row_handler("target-results", int), _row_handler("targets", str),
    list_categories, list_category_groups, get_flag, aggregate, report,
]
