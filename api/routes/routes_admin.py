"""Restricted endpoints: the audit log and the redaction report (admin), uploads (finance) and reviews (discipline)."""

from typing import Any

from litestar import Request, Response, get

from api import respond, schemas
from api.auth import require
from api.formats import negotiate
from api.routes.routes_data import Cursor, Format, Limit
from ledger.read import queries
from ledger.read.privacy.report import redactions
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


@get("/redactions", guards=[require("admin")], sync_to_thread=True, tags=["admin"],
     summary="What the privacy rules hide from the public, per rule and dataset, with the names (admin token)",
     security=[{"bearer": []}])
def list_redactions(request: Request) -> Response[dict[str, Any]]:
    """Rows, distinct names and amounts (fen) shown as 个人（已隐去） in every public output, in total and per
    rule of ``[privacy]`` in ``sunshine.toml``; ``names`` lists each hidden name with its rule."""
    with reading(request.app.state.engine) as conn:
        return respond.reply(request, redactions(conn, names=True))


routes: list = [audit_log, list_redactions]
