"""Sign in and out: ``/workspace/login`` (GET the form, POST the password) and ``/workspace/logout``."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from api.workspace import session as ws
from ledger.review import accounts
from ledger.store.db import writing

Lang = Annotated[str | None, QueryParameter(description="en for English")]
Next = Annotated[str | None, QueryParameter(description="The workspace page to go to after signing in")]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class Failures:
    """Failed sign-ins per client address in a sliding window, in process: the account lock-out stops
    guessing one account's password; this stops one address trying a few passwords on every account."""

    def __init__(self, limit: int = 20, window_s: float = 15 * 60):
        self.limit, self.window, self.seen = limit, window_s, {}

    def blocked(self, client: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.seen.get(client, []) if now - t < self.window]
        self.seen[client] = recent
        return len(recent) >= self.limit

    def failed(self, client: str) -> None:
        if len(self.seen) > 100_000:
            self.seen.clear()  # bound memory under address churn
        self.seen.setdefault(client, []).append(time.monotonic())


def _failures(request: Request) -> Failures:
    state = request.app.state
    if not hasattr(state, "login_failures"):
        state.login_failures = Failures()
    return state.login_failures


def _safe_next(target: str | None) -> str | None:
    # Only our own workspace pages: never another host (//evil.example) or a scheme.
    if target and target.startswith("/workspace/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _form(request: Request, token: str, failed: bool, username: str = "", status_code: int = 200) -> Template:
    response = ws.render(request, "login.html", "login", status_code=status_code, login_csrf=token, failed=failed,
                         next=_safe_next(request.query_params.get("next")), username=username)
    response.cookies.append(ws.cookie(request, ws.LOGIN_CSRF, token, 3600))
    return response


@get("/", sync_to_thread=True, include_in_schema=False, guards=[ws.signed_in()])
def home(request: Request, lang: Lang = None) -> Redirect:
    return Redirect(ws.HOME[ws.current(request).account.role] + ws.q(ws.lang_of(request)), status_code=303)


@get("/login", sync_to_thread=False, include_in_schema=False)
def login_form(request: Request, lang: Lang = None, next: Next = None) -> Template:
    return _form(request, ws.new_login_token(), failed=False)


@post("/login", sync_to_thread=True, include_in_schema=False, status_code=303)
def login(request: Request, data: Form, lang: Lang = None, next: Next = None) -> Any:
    ws.check_login_csrf(request, data)
    username, password = str(data.get("username") or ""), str(data.get("password") or "")
    client = request.client.host if request.client else "unknown"
    if _failures(request).blocked(client):
        return _form(request, ws.new_login_token(), failed=True, username=username[:100], status_code=429)
    with writing(request.app.state.engine) as conn:
        account = accounts.authenticate(conn, username, password) if username and password else None
        secret = accounts.start_session(conn, account)[0] if account else None
    if account is None:
        _failures(request).failed(client)
        return _form(request, ws.new_login_token(), failed=True, username=username[:100], status_code=401)
    target = _safe_next(next) or ws.HOME[account.role] + ws.q(ws.lang_of(request))
    response = Redirect(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.cookies.append(ws.cookie(request, ws.COOKIE, secret, accounts.SESSION_HOURS * 3600))
    response.cookies.append(ws.cookie(request, ws.LOGIN_CSRF, "", 0))
    return response


@post("/logout", sync_to_thread=True, include_in_schema=False, status_code=303)
def logout(request: Request, data: Form, lang: Lang = None) -> Redirect:
    if ws.current(request) is not None:
        ws.check_csrf(request, data)
        with writing(request.app.state.engine) as conn:
            accounts.end_session(conn, request.cookies.get(ws.COOKIE))
    response = Redirect("/workspace/login" + ws.q(ws.lang_of(request)), status_code=303,
                        headers={"Cache-Control": "no-store"})
    response.cookies.append(ws.cookie(request, ws.COOKIE, "", 0))
    return response


routes = [home, login_form, login, logout]
