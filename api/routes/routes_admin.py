"""Restricted endpoints: the audit log (admin), uploads (finance) and reviews (discipline)."""

from litestar import Request, Response, get

from api import respond, schemas
from api.auth import require
from api.formats import negotiate
from api.routes.routes_data import Cursor, Format, Limit
from ledger.read import queries
from ledger.store.db import reading

AuditPage = schemas.PAGES["audit-log"]


@get("/audit-log", guards=[require("admin")], sync_to_thread=True, tags=["admin"],
     summary="The audit log: every write (admin token)", security=[{"bearer": []}])
def audit_log(
    request: Request,
    cursor: Cursor = None,
    limit: Limit = queries.DEFAULT_LIMIT,
    format: Format = None,
) -> Response[AuditPage]:  # type: ignore[valid-type]
    fmt = negotiate(request, format)
    with reading(request.app.state.engine) as conn:
        result = queries.list_rows(conn, "audit-log", None, cursor=cursor, limit=limit)
    return respond.page(request, queries.DATASETS["audit-log"], result, fmt)


routes: list = [audit_log]
