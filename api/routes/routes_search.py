"""``/api/v1/search``: units, payees, suppliers, procurement titles and descriptions by a text fragment."""

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.openapi.spec import Example
from litestar.params import QueryParameter

from api import params, respond
from api.auth import reveals_personal
from api.formats import negotiate
from ledger.read.published import search as ledger_search

FIELDS = [("kind", "string"), ("text", "string"), ("unit_code", "string"), ("unit_name", "string"),
          ("fiscal_year", "integer"), ("row_count", "integer"), ("amount_fen", "integer"), ("amount_yuan", "number"),
          ("currency", "string"), ("href", "string")]
# What each kind's hit links to in the API: the rows behind it.
_FILTER = {"payee": "payee", "supplier": "supplier"}
_DATASET = {"unit": "units", "payee": "expenses", "description": "expenses", "supplier": "procurement",
            "title": "procurement"}


def href(hit: dict[str, Any]) -> str:
    """The API list that holds the rows behind a hit (filtered by unit, year and, for names, the name)."""
    query: list[tuple[str, Any]] = [("unit", hit["unit_code"])]
    if hit["fiscal_year"] is not None:
        query.append(("year", hit["fiscal_year"]))
    if hit["kind"] in _FILTER:
        query.append((_FILTER[hit["kind"]], hit["text"]))
    return f"/api/v1/{_DATASET[hit['kind']]}?{urlencode(query)}"


_KIND_ONE = "|".join(ledger_search.KINDS)
_KIND_PATTERN = f"^({_KIND_ONE})(,({_KIND_ONE}))*$"


def _search(request: Request, q: str, kinds: list[str], limit: int) -> ledger_search.SearchResult:
    reveal = reveals_personal(request)
    with respond.read(request) as conn:
        return ledger_search.search(conn, q, kinds, limit, reveal=reveal)


@get("/search", tags=["data"], summary="Search units, payees, suppliers, procurement titles and descriptions")
async def search(
    request: Request,
    q: Annotated[str, QueryParameter(description="Text to find, Chinese or not (case-insensitive for Latin letters)",
                                     examples=[Example(summary="a payee", value="大酒店")])],
    kind: Annotated[list[str] | None, QueryParameter(
        description=f"Only these kinds: {', '.join(ledger_search.KINDS)} (repeat the key or separate with commas)",
        schema_extra={"oneOf": [{"type": "array", "items": {"type": "string", "pattern": _KIND_PATTERN}},
                                {"type": "null"}]})] = None,
    limit: Annotated[int, QueryParameter(description=f"Hits (max {ledger_search.MAX_LIMIT})", ge=1,
                                         le=ledger_search.MAX_LIMIT)] = 20,
    format: Annotated[str | None, QueryParameter(description="json (default), csv or ndjson")] = None,
    as_of: params.AsOfQ = None,
) -> Response[dict[str, Any]]:
    """One hit per kind, text, unit and year, with the number of rows and their amount (fen and exact yuan;
    none for units). ``amount_fen`` is in hundredths of ``currency``; ``amount_yuan`` only for CNY. Three or more characters use the trigram index; shorter queries scan the distinct texts
    (``method`` says which). Superseded batches are left out. Units first, then payees, suppliers, titles and
    descriptions, largest amounts first."""
    fmt = negotiate(request, format)
    result = await respond.blocking(request, _search, request, q, params._split(kind), limit)
    pin = f"&as_of={respond.checkpoint_of(request)['size']}" if respond.checkpoint_of(request) else ""
    hits = [{**h, "href": href(h) + pin} for h in result.hits]
    body = {"query": result.query, "method": result.method, "data": hits, "more": result.more,
            **respond.meta(request)}
    rows = [tuple(h.get(n) for n, _ in FIELDS) for h in hits]
    return respond.table(request, fmt, FIELDS, rows, body)


routes = [search]
