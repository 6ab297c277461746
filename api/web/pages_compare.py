"""Comparison pages: units side by side for a year, or one unit over the years.

``/compare?unit=A&unit=B&year=Y`` puts the 部门决算“三公”经费表 figures of each unit in columns;
``/compare?unit=A`` lists one unit's figures year by year. Figures come from
``ledger.read.published.reports.three_public``, the function behind the disclosure table and
``/api/v1/reports/three-public``. The unit pickers are a plain GET form: no JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.concurrency import sync_to_thread
from litestar.params import QueryParameter
from litestar.response import Template

from api.web import portal_text
from api.web.pages import Lang, _base, lang_of, page_reading
from api.web.pages_drill import Year
from charts.style import fmt_pct, fmt_wan
from ledger.read.published import portal
from ledger.read.published.reports import THREE_PUBLIC_ITEMS, three_public
from ledger.read.queries import QueryError

MAX_UNITS = 6
Units = Annotated[list[str] | None, QueryParameter(description=f"Unit codes (up to {MAX_UNITS})")]


@get(["/compare", "/en/compare"], include_in_schema=False, name="page-compare")
async def compare_page(request: Request, unit: Units = None, year: Year = None, lang: Lang = None) -> Template:
    return await sync_to_thread(_compare_page, request, unit or [], year)


def _items(lang: str) -> list[dict[str, Any]]:
    return [{"item": code, "name": portal_text.item_name(code, zh, lang),
             "sub": code in ("vehicle_purchase", "vehicle_operation")} for code, zh, _ in THREE_PUBLIC_ITEMS]


def _cell(item: dict | None) -> dict[str, Any]:
    fen = None if item is None else item["actual_fen"]
    budget = None if item is None else item["budget_fen"]
    change = None if item is None else item["change_fen"]
    return {"actual": fmt_wan(fen), "actual_fen": fen, "budget": fmt_wan(budget),
            "change_pct": "—" if item is None or item["change_pct"] is None else
            ("+" if change > 0 else "") + f"{item['change_pct']}%"}


def _compare_page(request: Request, codes: list[str], year: int | None) -> Template:
    lang = lang_of(request)
    codes = list(dict.fromkeys(c for raw in codes for c in raw.split(",") if c))
    if len(codes) > MAX_UNITS:
        raise QueryError("unit", f"compare at most {MAX_UNITS} units")
    with page_reading(request) as conn:
        ctx = _base(request, conn, "compare", lang)
        tree = portal.unit_tree(conn)
        known = {u["code"]: u for u in tree}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise QueryError("unit", f"no unit with code {unknown[0]!r}")
        years = portal.years_with_data(conn)
        year = year if year is not None else (years[0] if years else None)
        columns, rows, mode = [], [], "pick"
        if len(codes) >= 2 and year is not None:
            mode = "units"
            for code in codes:
                report = three_public(conn, year, code)
                items = {i["item"]: i for i in report["rows"][0]["items"]} if report["rows"] else {}
                columns.append({"code": code, "name": known[code]["name"], "items": items})
        elif len(codes) == 1:
            mode = "years"
            uyears = portal.years_with_data(conn, known[codes[0]]["id"])
            for y in sorted(uyears):
                report = three_public(conn, y, codes[0])
                items = {i["item"]: i for i in report["rows"][0]["items"]} if report["rows"] else {}
                columns.append({"code": str(y), "name": str(y), "items": items})
    items = _items(lang)
    for it in items:
        cells = [_cell(col["items"].get(it["item"])) for col in columns]
        top = max((c["actual_fen"] or 0 for c in cells), default=0)
        rows.append({**it, "cells": cells, "max": top})
    ctx.update(mode=mode, codes=codes, year=year, years=years, columns=columns, rows=rows,
               units=[{"code": u["code"], "name": u["name"]} for u in tree], pct=fmt_pct,
               picks=(codes + ["", ""])[:min(MAX_UNITS, max(2, len(codes) + 1))],
               title=" · ".join(known[c]["name"] for c in codes) or ctx["_"]["compare"])
    return Template(template_name="compare.html", context=ctx, media_type="text/html")


routes = [compare_page]
