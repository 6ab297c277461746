"""The discipline commission's workspace: the queue of flags, a case file per flag, state changes with
notes (internal, or for publication), a preview of what the public will see, and publication.

Every review is recorded as the signed-in account (``ledger.review.workflow``): the reviewer is the
account's username, so the rule that whoever imported a flag's data may not review it holds against
the account, not a name typed on a command line.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.middleware.http_cache import after_write
from api.web.page_text import rule_name, state_name
from api.workspace import case as cases
from api.workspace import session as ws
from api.workspace.text import figure_name
from charts.style import fmt_wan
from ledger.money import format_yuan
from ledger.review import assignments
from ledger.review.workflow import STATES, ReviewRefused, publish_finding, record_review
from ledger.store.db import reading, writing

Lang = Annotated[str | None, QueryParameter(description="en for English")]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
DISCIPLINE = [ws.signed_in("discipline")]


def _names(lang: str) -> dict[str, Any]:
    return {"rule_name": lambda c: rule_name(c, lang), "state_name": lambda c: state_name(c, lang),
            "figure_name": lambda k: figure_name(k, lang),
            "wan": fmt_wan, "yuan": lambda fen: format_yuan(fen) if isinstance(fen, int) else "—"}


@get("/review", sync_to_thread=True, include_in_schema=False, guards=DISCIPLINE)
def queue_page(request: Request, lang: Lang = None,
               rule: Annotated[str | None, QueryParameter(description="Rule code", max_length=40)] = None,
               flag_state: Annotated[str | None, QueryParameter(name="state", description="Review state",
                                                                max_length=30)] = None,
               unit: Annotated[str | None, QueryParameter(description="Unit code", max_length=100)] = None,
               year: Annotated[int | None, QueryParameter(description="Fiscal year", ge=1900, le=2200)] = None,
               assignee: Annotated[str | None, QueryParameter(description="Account, or - for nobody",
                                                              max_length=100)] = None,
               ) -> Template:
    with reading(request.app.state.engine) as conn:
        flags = cases.queue(conn, rule=rule or None, state=flag_state or None, unit=unit or None, year=year,
                            assignee=assignee or None)
        options = cases.choices(conn)
    return ws.render(request, "queue.html", "review", flags=flags, options=options, states=STATES,
                     chosen={"rule": rule, "state": flag_state, "unit": unit, "year": year, "assignee": assignee},
                     **_names(ws.lang_of(request)))


def _case_page(request: Request, flag_id: str, *, error: str | None = None, status_code: int = 200,
               form: dict | None = None) -> Template:
    with reading(request.app.state.engine) as conn:
        found = cases.case(conn, flag_id)
    if found is None:
        raise NotFoundException(f"no flag {flag_id}")
    return ws.render(request, "case.html", "review", status_code=status_code, c=found, error=error,
                     form=form or {}, **_names(ws.lang_of(request)))


@get("/review/{flag_id:str}", sync_to_thread=True, include_in_schema=False, guards=DISCIPLINE)
def case_page(request: Request, flag_id: FromPath[str], lang: Lang = None) -> Template:
    return _case_page(request, flag_id)


def _back(request: Request, flag_id: str) -> Redirect:
    return Redirect(f"/workspace/review/{flag_id}" + ws.q(ws.lang_of(request)), status_code=303)


@post("/review/{flag_id:str}/state", sync_to_thread=True, include_in_schema=False, guards=DISCIPLINE,
      status_code=303)
def change_state(request: Request, flag_id: FromPath[str], data: Form, lang: Lang = None) -> Any:
    session = ws.check_csrf(request, data)
    account = session.account
    visibility = "internal" if data.get("visibility") == "internal" else "public"
    try:
        with writing(request.app.state.engine) as conn:
            record_review(conn, flag_id, str(data.get("to_state") or ""), note=str(data.get("note") or ""),
                          reviewer=account.username, role=account.role, visibility=visibility)
    except ReviewRefused as exc:
        kept = {"note": str(data.get("note") or ""), "visibility": visibility}
        return _case_page(request, flag_id, error=exc.text(ws.lang_of(request)), status_code=409, form=kept)
    after_write(request)
    return _back(request, flag_id)


@post("/review/{flag_id:str}/publish", sync_to_thread=True, include_in_schema=False, guards=DISCIPLINE,
      status_code=303)
def publish(request: Request, flag_id: FromPath[str], data: Form, lang: Lang = None) -> Any:
    session = ws.check_csrf(request, data)
    try:
        with writing(request.app.state.engine) as conn:
            publish_finding(conn, flag_id, reviewer=session.account.username, role=session.account.role)
    except ReviewRefused as exc:
        return _case_page(request, flag_id, error=exc.text(ws.lang_of(request)), status_code=409)
    after_write(request)
    return _back(request, flag_id)


@post("/review/{flag_id:str}/assign", sync_to_thread=True, include_in_schema=False, guards=DISCIPLINE,
      status_code=303)
def assign(request: Request, flag_id: FromPath[str], data: Form, lang: Lang = None) -> Any:
    session = ws.check_csrf(request, data)
    assignee = str(data.get("assignee") or "") or None
    try:
        with writing(request.app.state.engine) as conn:
            assignments.assign(conn, flag_id, assignee, actor=session.account.username, role=session.account.role)
    except ReviewRefused as exc:
        return _case_page(request, flag_id, error=exc.text(ws.lang_of(request)), status_code=409)
    except ValueError as exc:
        return _case_page(request, flag_id, error=str(exc), status_code=422)
    return _back(request, flag_id)


routes = [queue_page, case_page, change_state, publish, assign]
