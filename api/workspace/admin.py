"""The admin's page: accounts listed, created and disabled (never deleted), and the latest entries of
the audit log. Each change is audited with the admin's username as the actor."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from api.workspace import session as ws
from ledger.i18n import t
from ledger.review import accounts
from ledger.review.tokens import ROLES
from ledger.store.db import reading, writing
from ledger.store.models import AuditLog

Lang = Annotated[str | None, QueryParameter(description="en for English")]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
ADMIN = [ws.signed_in("admin")]
AUDIT_ROWS = 100  # the latest entries; the whole log is /api/v1/audit-log with an admin token


def _page(request: Request, *, message: str | None = None, error: str | None = None, status_code: int = 200,
          form: dict | None = None) -> Template:
    with reading(request.app.state.engine) as conn:
        rows = accounts.list_accounts(conn)
        log = conn.execute(select(AuditLog.created_at, AuditLog.actor, AuditLog.role, AuditLog.action,
                                  AuditLog.object_type, AuditLog.object_id)
                           .order_by(AuditLog.id.desc()).limit(AUDIT_ROWS)).all()
    return ws.render(request, "admin.html", "admin", status_code=status_code, accounts=rows, roles=ROLES, log=log,
                     message=message, error=error, form=form or {}, min_password=accounts.MIN_PASSWORD)


@get("/admin", sync_to_thread=True, include_in_schema=False, guards=ADMIN)
def admin_page(request: Request, lang: Lang = None) -> Template:
    return _page(request)


@post("/admin/accounts", sync_to_thread=True, include_in_schema=False, guards=ADMIN, status_code=200)
def create_account(request: Request, data: Form, lang: Lang = None) -> Template:
    session = ws.check_csrf(request, data)
    _ = ws.context(request, "admin")["_"]
    try:
        with writing(request.app.state.engine) as conn:
            made = accounts.create(conn, username=str(data.get("username") or ""),
                                   password=str(data.get("password") or ""), role=str(data.get("role") or ""),
                                   display_name=str(data.get("display_name") or "") or None,
                                   actor=session.account.username)
    except accounts.AccountRefused as exc:
        kept = {k: str(data.get(k) or "") for k in ("username", "display_name", "role")}
        return _page(request, error=exc.text(ws.lang_of(request)), status_code=422, form=kept)
    return _page(request, message=_["account_created"].format(name=made.username))


@post("/admin/accounts/{username:str}/disable", sync_to_thread=True, include_in_schema=False, guards=ADMIN,
      status_code=303)
def disable_account(request: Request, username: FromPath[str], data: Form, lang: Lang = None) -> Any:
    session = ws.check_csrf(request, data)
    if username == session.account.username:  # an admin cannot lock every admin out by mistake
        return _page(request, error=t("account.refused.self", ws.lang_of(request)), status_code=422)
    with writing(request.app.state.engine) as conn:
        done = accounts.disable(conn, username, actor=session.account.username)
    if not done:
        return _page(request, error=t("account.refused.unknown", ws.lang_of(request), username=username),
                     status_code=404)
    return Redirect("/workspace/admin" + ws.q(ws.lang_of(request)), status_code=303)


routes = [admin_page, create_account, disable_account]
