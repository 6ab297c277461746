"""Blocks of the unit and home pages shared with the portal pages: the disclosure table, regions with
coverage, a unit's categories with year and stage, breadcrumbs. Plain functions of a connection, so
``api.web.pages`` and the portal page modules both use them without importing each other.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from api.web import portal_text
from charts.style import fmt_wan
from ledger.money import format_yuan
from ledger.read import figures as q
from ledger.read import totals
from ledger.read.aggregate import aggregate
from ledger.read.published import portal, report_text
from ledger.read.queries import Filters, QueryError
from ledger.rules.flag_rules_costs import unit_cost_table
from ledger.rules.thresholds import ConfigError, load_flag_config

STAGES = ("original", "adjusted")


def unit_costs_block(conn, lang: str, unit_code: str, words: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of the unit page's unit-cost table: each cost beside its peer median and fence, newest year first.

    Empty when the thresholds cannot be read (no configuration): the page says nothing rather than guess.
    """
    try:
        rows = unit_cost_table(conn, load_flag_config(), unit_code=unit_code)
    except ConfigError:
        return []
    en = lang == "en"
    out = []
    for r in rows:
        median = r.get("peer_median_fen", r.get("history_median_fen"))
        basis = words[f"basis_{r['basis']}"].format(n=r["peer_group_size"], years=r.get("history_years"),
                                                    group=r["peer_group_en" if en else "peer_group_zh"])
        out.append({"year": r["fiscal_year"], "metric": r["metric"], "name": r["metric_en" if en else "metric_zh"],
                    "cost_fen": r["unit_cost_fen"], "cost": format_yuan(r["unit_cost_fen"]),
                    "count": f"{r['count']} {r['count_unit_en']}" if en else f"{r['count']}{r['count_unit_zh']}",
                    "basis": basis, "median_fen": median, "median": "" if median is None else format_yuan(median),
                    "fence_fen": r.get("fence_fen"),
                    "fence": "" if r.get("fence_fen") is None else format_yuan(r["fence_fen"]), "flagged": r["flagged"]})
    return out
NO_REGION = "—"


def disclosure_block(conn, lang: str, year: int | None, unit: dict | None) -> dict[str, Any]:
    """Context for ``_disclosure.html``: the year's table (latest year by default), the year links, the 说明."""
    years = portal.years_with_data(conn, unit["id"] if unit else None)
    cov = totals.coverage(conn) if unit is None else {}
    if year is None:  # the region's latest complete year (every expected unit reported), as the key figures
        year = (totals.latest_complete_year({y: c for y, c in cov.items() if y <= years[0]}) or years[0]) \
            if years else None
    block: dict[str, Any] = {"years": years, "year": year, "rows": [], "text": None, "units_reporting": 0,
                             "unit_count": portal.unit_count(conn), "unit": unit}
    if year is None:
        return block
    if year in cov:  # reported of expected units (the register, or units that ever reported)
        block["unit_count"] = cov[year]["expected"]
    d = portal.disclosure(conn, year, unit["code"] if unit else None)
    row = d["row"]
    block["units_reporting"] = cov[year]["reported"] if year in cov else d["units_reporting"]
    if row is None:
        return block
    for i in row["items"]:
        change = i["change_fen"]
        block["rows"].append({
            "item": i["item"], "name": portal_text.item_name(i["item"], i["name_zh"], lang),
            "sub": i["item"] in ("vehicle_purchase", "vehicle_operation"),
            "budget": fmt_wan(i["budget_fen"]), "actual": fmt_wan(i["actual_fen"]),
            "completion": "—" if i["completion_pct"] is None else f"{i['completion_pct']}%",
            "prior": fmt_wan(i["prior_actual_fen"]),
            "change": "—" if change is None else ("+" if change > 0 else "") + fmt_wan(change),
            "change_pct": "—" if i["change_pct"] is None else ("+" if change > 0 else "") + f"{i['change_pct']}%",
            "actual_fen": i["actual_fen"], "budget_fen": i["budget_fen"], "change_fen": change,
        })
    block["text"] = report_text.report_text(d["report"], lang)
    return block


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
        actual = c["actual_fen"] if c.get("actual_count") else None  # no actual filed: missing, not 0.00
        rows.append({"region": c["region"], "name": c["region"] or NO_REGION, "actual": fmt_wan(actual),
                     "actual_fen": actual, "budget": fmt_wan(c["budget_original_fen"]),
                     "reporting": reporting.get(c["region"], 0), "units": units_in.get(c["region"], 0)})
    return {"rows": rows, "year": year}


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
