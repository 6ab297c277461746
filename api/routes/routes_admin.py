"""Restricted endpoints: the audit log and the redaction report (admin), unit merges and retirements (admin or finance)."""

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody

from api import respond, schemas
from api.auth import require, token_of
from api.formats import negotiate
from api.middleware.http_cache import after_write
from api.routes.routes_data import Cursor, Format, Limit
from ledger.read import queries
from ledger.read.privacy.report import redactions
from ledger.store.db import reading, writing

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


class MergeIn(msgspec.Struct):
    into: str  # the unit code the merged unit counts as from now on
    note: str | None = None


class RetireIn(msgspec.Struct):
    year: int  # the first fiscal year the unit no longer reports
    note: str | None = None


class UnitEvent(msgspec.Struct):
    """A correction to the unit register, as ``sunshine units merge | retire --json`` prints it."""

    id: int
    kind: str  # merge | retire
    unit_code: str
    successor_code: str | None
    fiscal_year: int | None
    actor: str
    note: str | None


def _unit_event(request: Request, action) -> Response[UnitEvent]:
    from ledger.log import events
    from ledger.store.unit_events import UnitEventError

    token = token_of(request)
    try:
        with writing(request.app.state.engine) as conn:
            event = action(conn, token)
            events.unit_event_recorded(conn, event["id"], role=token.role)  # a leaf, in the same transaction
    except UnitEventError as exc:
        raise HTTPException(status_code=404 if exc.code == "unit-not-found" else 409, detail=str(exc)) from None
    after_write(request)
    return Response(content=UnitEvent(**event), status_code=201, headers={"Cache-Control": "no-store"})


@post("/units/{code:str}/merge", guards=[require("admin", "finance")], tags=["writes"], security=[{"bearer": []}],
      summary="Merge a mistaken or absorbed unit into another (admin or finance token)", sync_to_thread=True,
      status_code=201)
def merge_unit(request: Request, code: FromPath[str], data: JSONBody[MergeIn]) -> Response[UnitEvent]:
    """From now on unit ``code`` counts as ``into`` in coverage and aggregate totals; rows keep their own code in
    lists and downloads. Appended to the unit events with the token's name; 404 for an unknown code, 409 when the
    merge cannot be made (already merged, into itself, a circle)."""
    from ledger.store import unit_events

    return _unit_event(request, lambda conn, t: unit_events.merge(conn, code, data.into, actor=t.name, role=t.role,
                                                                  note=data.note))


@post("/units/{code:str}/retire", guards=[require("admin", "finance")], tags=["writes"], security=[{"bearer": []}],
      summary="Retire a unit from a fiscal year on (admin or finance token)", sync_to_thread=True, status_code=201)
def retire_unit(request: Request, code: FromPath[str], data: JSONBody[RetireIn]) -> Response[UnitEvent]:
    """Unit ``code`` is no longer expected to report from ``year`` on (coverage stops counting it missing)."""
    from ledger.store import unit_events

    return _unit_event(request, lambda conn, t: unit_events.retire(conn, code, data.year, actor=t.name, role=t.role,
                                                                   note=data.note))


routes: list = [list_redactions, audit_log, merge_unit, retire_unit]
