"""Drill-down: region → unit → category → line items, with year and stage selectors and breadcrumbs.

Every state lives in the URL (``?year=``, ``?stage=``, ``?category=``, ``?payee=``, ``?cursor=``), so a view
can be shared and needs no JavaScript. Region and unit totals are read from the rollups
(``ledger.read.aggregate`` with the ``region`` and ``unit`` dimensions), line items from the expenses dataset
(``ledger.read.queries.list_rows``), the same reads as ``/api/v1/aggregate`` and ``/api/v1/expenses``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.auth import reveals_personal
from api.web.page_blocks import _three_public, _year, crumbs_for
from api.web.pages import Lang, _base, lang_of, page_reading
from charts.style import fmt_wan
from ledger.money import format_yuan
from ledger.read import figures as q
from ledger.read.aggregate import aggregate
from ledger.read.published import portal
from ledger.read.queries import Filters, QueryError, list_rows

LINES_PER_PAGE = 100
Year = Annotated[int | None, QueryParameter(description="Fiscal year", ge=1900, le=2200)]
Stage = Annotated[str | None, QueryParameter(description="Budget stage: original (年初预算) or adjusted (调整预算)")]


@get(["/regions/{region:str}", "/en/regions/{region:str}"], include_in_schema=False, name="page-region")
async def region_page(request: Request, region: FromPath[str], lang: Lang = None, year: Year = None) -> Template:
    return await sync_to_thread(_group_page, request, "region", region, year)


@get(["/levels/{level:str}", "/en/levels/{level:str}"], include_in_schema=False, name="page-level")
async def level_page(request: Request, level: FromPath[str], lang: Lang = None, year: Year = None) -> Template:
    return await sync_to_thread(_group_page, request, "level", level, year)


def _group_page(request: Request, by: str, value: str, year: int | None) -> Template:
    """All units of one region or one level of the unit tree, with their 三公 figures and the group's total."""
    lang = lang_of(request)
    cut = {"region": [value]} if by == "region" else {"unit_level": [value]}
    with page_reading(request) as conn:
        units = [u for u in portal.unit_tree(conn) if u[by] == value]
        if not units:
            raise NotFoundException(f"no units with {by} {value!r}")
        ctx = _base(request, conn, "region", lang)
        years = portal.years_with_data(conn)
        year = _year(year, years)
        cells = {c["unit"]: c for c in _three_public(conn, ["unit"], year, **cut)} if year else {}
        total = aggregate(conn, [], Filters(year=[year], group=["three_public"], **cut)).summary if year else None
    rows = [{**u, "actual": fmt_wan(cells.get(u["code"], {}).get("actual_fen")),
             "budget": fmt_wan(cells.get(u["code"], {}).get("budget_original_fen")),
             "actual_fen": cells.get(u["code"], {}).get("actual_fen"), "has_data": u["code"] in cells}
            for u in units]
    ctx.update(region=value, by=by, years=years, year=year, rows=rows, reporting=len(cells), unit_total=len(units),
               total_actual=fmt_wan(total["actual_fen"]) if cells else "—",
               total_actual_fen=total["actual_fen"] if cells else None,
               total_budget=fmt_wan(total["budget_original_fen"]) if cells else "—",
               crumbs=[(ctx["_"]["region"], f"{ctx['prefix']}/?year={year}" if year else f"{ctx['prefix']}/"),
                       (value, None)])
    return Template(template_name="region.html", context=ctx, media_type="text/html")


@get(["/units/{code:str}/lines", "/en/units/{code:str}/lines"], include_in_schema=False, name="page-lines")
async def lines_page(
    request: Request, code: FromPath[str], lang: Lang = None, year: Year = None,
    category: Annotated[str | None, QueryParameter(description="Category code")] = None,
    payee: Annotated[str | None, QueryParameter(description="Payee (收款方), exactly")] = None,
    cursor: Annotated[str | None, QueryParameter(description="Next page")] = None,
) -> Template:
    return await sync_to_thread(_lines_page, request, code, year, category, payee, cursor)


def _lines_page(request: Request, code: str, year: int | None, category: str | None, payee: str | None,
                cursor: str | None) -> Template:
    lang = lang_of(request)
    with page_reading(request) as conn:
        detail = portal.unit_detail(conn, code)
        if detail is None:
            raise NotFoundException(f"no unit with code {code!r}")
        ctx = _base(request, conn, "lines", lang)
        years = portal.years_with_data(conn, detail["id"])
        year = _year(year, years)
        names = dict(q.categories(conn).select("code", "name_en" if lang == "en" else "name_zh").iter_rows())
        if category is not None and category not in names:
            raise QueryError("category", f"unknown category {category!r}")
        filters = Filters(unit=[code], year=[year] if year else [], category=[category] if category else [],
                          payee=[payee] if payee else [])
        page = list_rows(conn, "expenses", filters, sort="date", cursor=cursor, limit=LINES_PER_PAGE, count=True,
                         reveal=reveals_personal(request), lang=lang)
    query = [(k, v) for k, v in (("unit", code), ("year", year), ("category", category), ("payee", payee)) if v]
    state = [(k, v) for k, v in query if k != "unit"]
    rows = [{"date": r["entry_date"] or "", "category": names.get(r["category_code"], r["category_code"]),
             "payee": r["payee"] or "", "description": r["description"] or "", "voucher": r["voucher_no"] or "",
             "amount": format_yuan(r["amount_fen"]), "amount_fen": r["amount_fen"]} for r in page.rows]
    what = " · ".join(x for x in (names.get(category) if category else None, payee, str(year) if year else None) if x)
    ctx.update(
        unit=detail, years=years, year=year, category=category, payee=payee, rows=rows,
        total=page.total if page.total_exact is not False else f"{page.total}+",  # capped: more than COUNT_CAP lines
        page_sum=format_yuan(sum(r["amount_fen"] for r in page.rows)), what=what,
        next_url=f"?{urlencode([*state, ('cursor', page.next_cursor)])}" if page.next_cursor else None,
        year_links=[(y, "?" + urlencode([("year", y), *[(k, v) for k, v in state if k != "year"]])) for y in years],
        categories=[(c, n) for c, n in names.items()],
        csv_zh=f"/api/v1/downloads/expenses.csv?{urlencode([*query, ('labels', 'zh')])}",
        csv_raw=f"/api/v1/downloads/expenses.csv?{urlencode(query)}",
        crumbs=crumbs_for(ctx, detail, year, what or ctx["_"]["lines"]),
    )
    return Template(template_name="lines.html", context=ctx, media_type="text/html")


routes = [region_page, level_page, lines_page]
