"""Who is signed in: the session cookie, role guards, CSRF checks and the pages' shared context.

The cookie holds a random secret; the database holds only its SHA-256 (``ledger.review.accounts``).
It is HttpOnly, SameSite=Strict, path ``/workspace``, and Secure when the request came over https
(directly or through a proxy saying ``X-Forwarded-Proto: https``). Every POST form carries the
session's CSRF token; the sign-in form, before there is a session, a token also set as a cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from api.workspace.text import texts
from ledger.review import accounts
from ledger.store.db import reading

COOKIE = "sunshine_session"
LOGIN_CSRF = "sunshine_login_csrf"
PATH = "/workspace"
HOME = {"finance": "/workspace/finance", "discipline": "/workspace/review", "admin": "/workspace/admin"}


def lang_of(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def cookie(request: Request, key: str, value: str, max_age: int | None) -> Cookie:
    return Cookie(key=key, value=value, path=PATH, httponly=True, samesite="strict", secure=secure(request),
                  max_age=max_age)


def current(connection: ASGIConnection) -> accounts.Session | None:
    """The live session of this request (read once), or None."""
    if "session" not in connection.state:
        secret = connection.cookies.get(COOKIE)
        session = None
        if secret:
            with reading(connection.app.state.engine) as conn:
                session = accounts.session_of(conn, secret)
        connection.state.session = session
    return connection.state.session


def signed_in(*roles: str):
    """A guard: a live session whose account has one of ``roles`` (none given: any role)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        session = current(connection)
        if session is None:
            raise NotAuthorizedException("sign in")
        if roles and session.account.role not in roles:
            raise PermissionDeniedException("forbidden")

    return guard


def check_csrf(request: Request, form: dict) -> accounts.Session:
    """The session, when the form carried its CSRF token; else 403."""
    session = current(request)
    if session is None:
        raise NotAuthorizedException("sign in")
    if not accounts.csrf_ok(session, form.get("csrf")):
        raise PermissionDeniedException("csrf")
    return session


def check_login_csrf(request: Request, form: dict) -> None:
    presented, expected = str(form.get("csrf") or ""), request.cookies.get(LOGIN_CSRF) or ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise PermissionDeniedException("csrf")


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def q(lang: str, sep: str = "?") -> str:
    """The query string keeping the language on links and form actions."""
    return f"{sep}lang=en" if lang == "en" else ""


def context(request: Request, page: str, **extra: Any) -> dict[str, Any]:
    lang = lang_of(request)
    session = current(request)
    path = request.url.path
    return {"lang": lang, "_": texts(lang), "page": page, "session": session,
            "account": session.account if session else None, "csrf": session.csrf_token if session else None,
            "q": q(lang), "qa": q(lang, "&"), "switch_url": path + ("" if lang == "en" else "?lang=en"),
            **extra}


def render(request: Request, template: str, page: str, status_code: int = 200, **extra: Any) -> Template:
    return Template(template_name=f"workspace/{template}", context=context(request, page, **extra),
                    status_code=status_code, headers={"Cache-Control": "no-store"})


def _to_login(request: Request, _exc: Exception) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = "&lang=en" if lang_of(request) == "en" else ""
    return Redirect(f"/workspace/login?next={quote(back, safe='/')}{lang}", status_code=303,
                    headers={"Cache-Control": "no-store"})


def _forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    _ = texts(lang_of(request))
    message = _["csrf"] if exc.detail == "csrf" else _["forbidden"]
    return render(request, "message.html", "", status_code=403, message=message)


EXCEPTION_HANDLERS = {NotAuthorizedException: _to_login, PermissionDeniedException: _forbidden}


async def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
