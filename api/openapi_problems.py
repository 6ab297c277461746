"""The error answers in the OpenAPI document, as the server really sends them (issue 14, item 9).

Every error is an RFC 9457 problem document (``application/problem+json``, ``api.problems.Problem``).
Litestar documents only a generic 400 as ``application/json``; this adds, on every operation, the
statuses the operation can answer and their one shape: 400 for a bad parameter, 404 for an unknown
thing, 429 on rate-limited public reads, 401 and 403 for writes and the audit log, 409 for a review
the workflow refuses, 413 and 422 for uploads, 503 for a download when every slot is taken.
The list endpoints share one set of filter parameters; each advertises only those its dataset accepts.
"""

from __future__ import annotations

from dataclasses import fields

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema

from ledger.read.queries import DATASETS, INT64_MAX, Filters

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Schema(
            type=OpenAPIType.OBJECT, required=["parameter", "message"],
            properties={"parameter": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING),
                        "source": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)])})),
    },
)
WHY = {
    "400": "A parameter is not valid; `errors` names it",
    "401": "A bearer token is required, or the one given is not valid",
    "403": "This token's role may not do this",
    "404": "No such resource",
    "405": "Method not allowed here",
    "409": "The review workflow refuses this step",
    "413": "The request body is too large",
    "422": "The file was refused; nothing was written",
    "429": "Too many requests from this client; see Retry-After",
    "503": "Too many downloads are running; see Retry-After",
}


def _statuses(path: str, method: str, restricted: bool = False) -> list[str]:
    out = ["400", "404"]
    write = method != "get"
    if write or restricted or path.startswith("/api/v1/audit"):
        out += ["401", "403"]
    if not write and not path.startswith("/api/v1/schema"):
        out.append("429")
    if path.startswith("/api/v1/flags/") and write:
        out.append("409")
    if path == "/api/v1/imports":
        out += ["413", "422"]
    if path.startswith(("/api/v1/downloads/{", "/api/v1/log/batches/")):
        out.append("503")
    return out


def _prune_filters(path: str, op) -> None:
    """A list endpoint advertises only the filters its dataset accepts (the rest answer 400)."""
    name = path.removeprefix("/api/v1/")
    ds = DATASETS.get(name)
    if ds is None or not op.parameters:
        return
    shared = {f.name for f in fields(Filters)}
    op.parameters = [p for p in op.parameters
                     if getattr(p, "param_in", None) != "query" or p.name not in shared or p.name in ds.filters]


INTS = r"^ *[0-9]{1,9} *( *, *[0-9]{1,9} *)*$"  # what ``api.params`` parses as whole numbers (32-bit columns)
PATTERNS = {"year": INTS, "batch": INTS, "amount_min": r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$",
            "amount_max": r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"}


def _tighten(path: str, op) -> None:
    """Say in the schema what the parsers accept, so a value the schema allows is never refused."""
    if path.startswith("/api/v1/log/") or path.startswith("/api/v1/flags/"):
        for p in op.parameters or []:  # path parameters too: ids are 64-bit
            for sub in [p.schema, *(p.schema.one_of or [])] if isinstance(p.schema, Schema) else []:
                if isinstance(sub, Schema) and sub.type == OpenAPIType.INTEGER and sub.maximum is None:
                    sub.maximum = INT64_MAX
    ds = DATASETS.get(path.removeprefix("/api/v1/"))
    sorts = list(ds.sorts) if ds is not None else []
    for p in op.parameters or []:
        if getattr(p, "param_in", None) != "query" or not isinstance(p.schema, Schema):
            continue
        for sub in [p.schema, *(p.schema.one_of or [])]:
            if isinstance(sub, Schema) and sub.type == OpenAPIType.INTEGER and sub.maximum is None:
                sub.maximum = INT64_MAX  # the store's integers are 64-bit: larger is a 400, so say so
        if p.name == "sort" and sorts:
            names = [*sorts, *(f"-{s}" for s in sorts)]
            p.schema = Schema(one_of=[Schema(type=OpenAPIType.STRING, enum=names), Schema(type=OpenAPIType.NULL)])
        if p.name == "kind" and path == "/api/v1/imports":
            from api.routes.routes_write import IMPORT_KINDS

            p.schema = Schema(type=OpenAPIType.STRING, enum=list(IMPORT_KINDS))
        if p.name == "format":
            ok = op.responses.get("200") if op.responses else None
            if isinstance(ok, OpenAPIResponse) and ok.content is not None:  # the same rows as CSV or NDJSON
                for media in ("text/csv", "application/x-ndjson"):
                    ok.content.setdefault(media, OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)))
            p.schema = Schema(one_of=[Schema(type=OpenAPIType.STRING, enum=["json", "csv", "ndjson"]),
                                      Schema(type=OpenAPIType.NULL)])
        elif p.name in PATTERNS:
            for sub in [p.schema, *(p.schema.one_of or [])]:
                if not isinstance(sub, Schema):
                    continue
                if sub.type == OpenAPIType.STRING:
                    sub.pattern = PATTERNS[p.name]
                elif sub.type == OpenAPIType.ARRAY and isinstance(sub.items, Schema):
                    sub.items.pattern = PATTERNS[p.name]


def document_problems(app: Litestar) -> None:
    """Add the problem responses to every operation of the app's OpenAPI document (built once, here),
    and drop from each list endpoint the shared filters its dataset does not accept."""
    schema = app.openapi_schema
    if schema.components.schemas is None:
        schema.components.schemas = {}
    schema.components.schemas["Problem"] = PROBLEM
    ref = Reference(ref="#/components/schemas/Problem")
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            op = getattr(item, method, None)
            if op is None:
                continue
            responses = dict(op.responses or {})
            for status in _statuses(path, method, bool(op.security)):  # a bearer token: 401, 403
                existing = responses.get(status)
                description = WHY[status] if not isinstance(existing, OpenAPIResponse) or status in WHY else existing.description
                responses[status] = OpenAPIResponse(
                    description=description, content={"application/problem+json": OpenAPIMediaType(schema=ref)})
            op.responses = responses
            if method == "get":
                _prune_filters(path, op)
            _tighten(path, op)
