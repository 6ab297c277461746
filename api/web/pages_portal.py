"""Portal pages and parts: search, the disclosure table block, and HTML error pages.

The search page reads ``ledger.read.published.search`` as ``/api/v1/search`` does; the disclosure block reads
``ledger.read.published.reports.three_public`` and writes its 说明 with ``ledger.read.published.report_text``, the same
functions behind ``sunshine report three-public`` and ``/api/v1/reports/three-public``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.params import QueryParameter
from litestar.response import Template

from api.auth import reveals_personal
from api.web import portal_text
from api.web.page_text import texts
from api.web.pages import Lang, _base, lang_of, page_reading
from charts.style import fmt_pct, fmt_wan
from ledger.money import format_yuan
from ledger.read.published import search as ledger_search

SEARCH_LIMIT = 50
Year = Annotated[int | None, QueryParameter(description="Fiscal year", ge=1900, le=2200)]


def _hit_link(hit: dict[str, Any], prefix: str) -> str:
    """Where a hit leads on the site: the unit, or its line items of that year filtered by the name."""
    code = hit["unit_code"]
    if code is None:
        return f"{prefix}/"
    if hit["kind"] == "unit":
        return f"{prefix}/units/{code}"
    if hit["kind"] in ("payee", "description"):
        query = [("year", hit["fiscal_year"])] + ([("payee", hit["text"])] if hit["kind"] == "payee" else [])
        return f"{prefix}/units/{code}/lines?{urlencode(query)}"
    return f"{prefix}/procurement"


@get(["/search", "/en/search"], include_in_schema=False, name="page-search")
async def search_page(
    request: Request,
    q: Annotated[str | None, QueryParameter(description="Text to find")] = None,
    kind: Annotated[list[str] | None, QueryParameter(description="Only these kinds")] = None,
    lang: Lang = None,
) -> Template:
    return await sync_to_thread(_search_page, request, q, kind)


def _search_page(request: Request, q: str | None, kind: list[str] | None) -> Template:
    lang = lang_of(request)
    with page_reading(request) as conn:
        ctx = _base(request, conn, "search", lang)
        result = None
        if q and q.strip():
            result = ledger_search.search(conn, q, kind or None, SEARCH_LIMIT, reveal=reveals_personal(request))
    hits = []
    for h in result.hits if result else []:
        hits.append({**h, "kind_name": portal_text.kind_name(h["kind"], lang), "href": _hit_link(h, ctx["prefix"]),
                     "amount": _hit_amount(h)})
    ctx.update(q=q or "", result=result, hits=hits, limit=SEARCH_LIMIT)
    return Template(template_name="search.html", context=ctx, media_type="text/html")


def _hit_amount(h: dict) -> str:
    """万元 for yuan; any other currency in its own units, never read as yuan."""
    if h["amount_fen"] is None:
        return ""
    if h.get("currency") in (None, "CNY"):
        return fmt_wan(h["amount_fen"])
    return f"{format_yuan(h['amount_fen'])} {h['currency']}"


# Error pages: a person following a link gets HTML in the page's language, never a JSON body.

def _error_context(request: Request, status: int, detail: str) -> dict[str, Any]:
    lang = lang_of(request) if request.url.path else "zh"
    prefix = "/en" if lang == "en" else ""
    words = {**texts(lang), **portal_text.texts(lang)}
    title = {404: words["not_found_title"], 400: words["bad_request_title"]}.get(status, words["error_title"])
    return {"lang": lang, "_": words, "page": "error", "prefix": prefix, "switch_url": ("/" if lang == "en" else "/en"),
            "as_of": None, "status": status, "title": title, "detail": detail, "q": "",
            "phrase": HTTPStatus(status).phrase, "wan": fmt_wan, "pct": fmt_pct}


def is_page(path: str) -> bool:
    """Paths people open in a browser (everything but the API, static files and the font)."""
    return not path.startswith(("/api/", "/static/", "/fonts/")) and path != "/api"


def error_page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    engine = request.app.template_engine
    html = engine.get_template("error.html").render(**_error_context(request, status, detail))
    return Response(content=html, status_code=status, media_type="text/html", headers=headers)


routes = [search_page]
