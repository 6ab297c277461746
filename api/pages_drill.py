"""Drill-down: region → unit → category → line items, with year and stage selectors and breadcrumbs.

Every state lives in the URL (``?year=``, ``?stage=``, ``?category=``, ``?payee=``, ``?cursor=``), so a view
can be shared and needs no JavaScript. Region and unit totals are read from the rollups
(``ledger.read.aggregate`` with the ``region`` and ``unit`` dimensions), line items from the expenses dataset
(``ledger.read.queries.list_rows``), the same reads as ``/api/v1/aggregate`` and ``/api/v1/expenses``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, get
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.pages import Lang, _base, engine_for, lang_of
from charts.style import fmt_wan
from ledger.money import format_yuan
from ledger.read import figures as q
from ledger.read import portal
from ledger.read.aggregate import aggregate
from ledger.read.queries import Filters, QueryError, list_rows
from ledger.store.db import reading

LINES_PER_PAGE = 100
STAGES = ("original", "adjusted")
Year = Annotated[int | None, QueryParameter(description="Fiscal year", ge=1900, le=2200)]
Stage = Annotated[str | None, QueryParameter(description="Budget stage: original (年初预算) or adjusted (调整预算)")]
NO_REGION = "—"


def _year(year: int | None, years: list[int]) -> int | None:
    return year if year is not None else (years[0] if years else None)


def _three_public(conn, drilldown: list[str], year: int, **cuts: list[str]) -> list[dict[str, Any]]:
    return aggregate(conn, drilldown, Filters(year=[year], group=["three_public"], **cuts)).cells


def regions_block(conn, year: int | None) -> dict[str, Any]:
    """三公 actual and budget per region for ``year``, with how many of each region's units report."""
    tree = portal.unit_tree(conn)
    years = portal.years_with_data(conn)
    year = _year(year, years)
    if year is None or not any(u["region"] for u in tree):
        return {"rows": [], "year": year}
    units_in: dict[Any, int] = {}
    for u in tree:
        units_in[u["region"]] = units_in.get(u["region"], 0) + 1
    reporting: dict[Any, int] = {}
    for c in _three_public(conn, ["region", "unit"], year):
        reporting[c["region"]] = reporting.get(c["region"], 0) + 1
    rows = []
    for c in _three_public(conn, ["region"], year):
        rows.append({"region": c["region"], "name": c["region"] or NO_REGION, "actual": fmt_wan(c["actual_fen"]),
                     "actual_fen": c["actual_fen"], "budget": fmt_wan(c["budget_original_fen"]),
                     "reporting": reporting.get(c["region"], 0), "units": units_in.get(c["region"], 0)})
    return {"rows": rows, "year": year}


@get(["/regions/{region:str}", "/en/regions/{region:str}"], include_in_schema=False, name="page-region")
async def region_page(request: Request, region: FromPath[str], lang: Lang = None, year: Year = None) -> Template:
    return await sync_to_thread(_region_page, request, region, year)


def _region_page(request: Request, region: str, year: int | None) -> Template:
    lang = lang_of(request)
    with reading(engine_for(request)) as conn:
        units = portal.unit_tree(conn, region)
        if not units:
            raise NotFoundException(f"no units in region {region!r}")
        ctx = _base(request, conn, "region", lang)
        years = portal.years_with_data(conn)
        year = _year(year, years)
        cells = {c["unit"]: c for c in _three_public(conn, ["unit"], year, region=[region])} if year else {}
        total = aggregate(conn, [], Filters(year=[year], group=["three_public"], region=[region])).summary \
            if year else None
    rows = [{**u, "actual": fmt_wan(cells.get(u["code"], {}).get("actual_fen")),
             "budget": fmt_wan(cells.get(u["code"], {}).get("budget_original_fen")),
             "actual_fen": cells.get(u["code"], {}).get("actual_fen"), "has_data": u["code"] in cells}
            for u in units]
    ctx.update(region=region, years=years, year=year, rows=rows, reporting=len(cells), unit_total=len(units),
               total_actual=fmt_wan(total["actual_fen"]) if cells else "—",
               total_actual_fen=total["actual_fen"] if cells else None,
               total_budget=fmt_wan(total["budget_original_fen"]) if cells else "—",
               crumbs=[(ctx["_"]["region"], f"{ctx['prefix']}/?year={year}" if year else f"{ctx['prefix']}/"),
                       (region, None)])
    return Template(template_name="region.html", context=ctx, media_type="text/html")


def unit_drill_block(conn, lang: str, unit: dict, year: int | None, stage: str | None) -> dict[str, Any]:
    """Categories of one unit and year: budget of the chosen stage, actual, and links to the line items."""
    if stage is not None and stage not in STAGES:
        raise QueryError("stage", f"use {' or '.join(STAGES)}")
    stage = stage or "original"
    detail = portal.unit_detail(conn, unit["code"]) or {**unit, "parents": [], "region": None}
    years = portal.years_with_data(conn, unit["id"])
    year = _year(year, years)
    names = dict(q.categories(conn).select("code", "name_en" if lang == "en" else "name_zh").iter_rows())
    rows = []
    for c in sorted(portal.category_amounts(conn, unit["id"], year) if year else [], key=lambda c: c["category_code"]):
        budget = c[f"budget_{stage}_fen"]
        rows.append({"code": c["category_code"], "name": names.get(c["category_code"], c["category_code"]),
                     "budget": fmt_wan(budget), "budget_fen": budget, "actual": fmt_wan(c["actual_fen"]),
                     "actual_fen": c["actual_fen"], "rows": c["actual_rows"],
                     "href": f"lines?{urlencode({'year': year, 'category': c['category_code']})}"})
    peers = [u["code"] for u in portal.unit_tree(conn) if u["level"] == detail.get("level") and u["code"] != unit["code"]]
    peer_href = None
    if detail.get("level") and peers:
        peer_href = "compare?" + urlencode([("unit", c) for c in [unit["code"], *peers][:6]] + [("year", year)])
    return {"detail": detail, "years": years, "year": year, "stage": stage, "stages": STAGES, "rows": rows,
            "peer_href": peer_href}


def crumbs_for(ctx: dict[str, Any], detail: dict[str, Any], year: int | None, last: str | None = None) -> list:
    """全市 › region › parent units › unit (› last): each link keeps the year."""
    p, yq = ctx["prefix"], (f"?year={year}" if year else "")
    out = [(ctx["_"]["region"], f"{p}/{yq}")]
    if detail.get("region"):
        out.append((detail["region"], f"{p}/regions/{quote(detail['region'], safe='')}{yq}"))
    out += [(u["name"], f"{p}/units/{quote(u['code'], safe='')}{yq}") for u in detail.get("parents", [])]
    out.append((detail["name"], f"{p}/units/{quote(detail['code'], safe='')}{yq}" if last else None))
    if last:
        out.append((last, None))
    return out


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
    with reading(engine_for(request)) as conn:
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
        page = list_rows(conn, "expenses", filters, sort="date", cursor=cursor, limit=LINES_PER_PAGE, count=True)
    query = [(k, v) for k, v in (("unit", code), ("year", year), ("category", category), ("payee", payee)) if v]
    state = [(k, v) for k, v in query if k != "unit"]
    rows = [{"date": r["entry_date"] or "", "category": names.get(r["category_code"], r["category_code"]),
             "payee": r["payee"] or "", "description": r["description"] or "", "voucher": r["voucher_no"] or "",
             "amount": format_yuan(r["amount_fen"]), "amount_fen": r["amount_fen"]} for r in page.rows]
    what = " · ".join(x for x in (names.get(category) if category else None, payee, str(year) if year else None) if x)
    ctx.update(
        unit=detail, years=years, year=year, category=category, payee=payee, rows=rows, total=page.total,
        page_sum=format_yuan(sum(r["amount_fen"] for r in page.rows)), what=what,
        next_url=f"?{urlencode([*state, ('cursor', page.next_cursor)])}" if page.next_cursor else None,
        year_links=[(y, "?" + urlencode([("year", y), *[(k, v) for k, v in state if k != "year"]])) for y in years],
        categories=[(c, n) for c, n in names.items()],
        csv_zh=f"/api/v1/downloads/expenses.csv?{urlencode([*query, ('labels', 'zh')])}",
        csv_raw=f"/api/v1/downloads/expenses.csv?{urlencode(query)}",
        crumbs=crumbs_for(ctx, detail, year, what or ctx["_"]["lines"]),
    )
    return Template(template_name="lines.html", context=ctx, media_type="text/html")


routes = [region_page, lines_page]
