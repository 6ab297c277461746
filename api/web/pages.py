"""Server-rendered public pages: home, a page per unit, flags, procurement and data.

Chinese by default; English under ``/en/…`` or with ``?lang=en``. Pages need no JavaScript and
print as shown. Handlers read through the ledger's queries in one read transaction, in a worker
thread (``sync_to_thread``), and hand plain dicts to the Jinja templates in ``api/templates``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
from litestar import Request, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import File, Template
from litestar.static_files import create_static_files_router
from sqlalchemy import Engine

from api import respond
from api.web import page_pin, portal_text
from api.web.page_blocks import (
    crumbs_for,
    disclosure_block,
    regions_block,
    unit_costs_block,
    unit_drill_block,
)
from api.web.page_text import rule_name, state_name, texts
from charts.labels import method_name, status_name
from charts.style import FONT_PATH, fmt_pct, fmt_wan
from ledger import i18n
from ledger.money import format_yuan
from ledger.read import figures as q
from ledger.store.db import get_engine, reading
from ledger.store.unit_terms import KINDS_EN, LEVELS_EN

STATIC_DIR = Path(__file__).parent.parent / "static"
TEMPLATE_DIR = Path(__file__).parent.parent / "templates"
CHART_BASE = "/api/v1/charts"
LATEST_FLAGS = 10
# Every page takes ?lang=en; other query parameters are declared per page (api.middleware.strict refuses the rest).
Lang = Annotated[str | None, QueryParameter(description="en for English (same as the /en/ prefix)")]
Year = Annotated[int | None, QueryParameter(description="Fiscal year of the disclosure table", ge=1900, le=2200)]
Stage = Annotated[str | None, QueryParameter(description="Budget stage: original or adjusted")]


def engine_for(request: Request) -> Engine:
    """The app's engine: ``app.state.engine`` if the factory set one, else one for ``state.database_url``."""
    state = request.app.state
    engine = state.get("engine") or state.get("db_engine")
    return engine if engine is not None else get_engine(state.get("database_url"))


@contextmanager
def page_reading(request: Request) -> Iterator[Any]:
    """A page's read transaction, pinned to the checkpoint its ``as_of`` names (``api.web.page_pin``)."""
    with reading(engine_for(request)) as conn, respond.pinned_to(request, conn):
        yield conn


def lang_of(request: Request) -> str:
    if request.url.path == "/en" or request.url.path.startswith("/en/"):
        return "en"
    return "en" if request.query_params.get("lang") == "en" else "zh"


def chart_url(name: str, fmt: str, lang: str, **params: Any) -> str:
    query = {k: v for k, v in params.items() if v is not None}
    if lang == "en":
        query["lang"] = "en"
    return f"{CHART_BASE}/{name}.{fmt}" + (f"?{urlencode(query)}" if query else "")


def _base(request: Request, conn, page: str, lang: str) -> dict[str, Any]:
    prefix = "/en" if lang == "en" else ""
    path = request.url.path
    if path == "/en" or path.startswith("/en/"):
        other = path[3:] or "/"
    elif lang == "en":  # English by ?lang=en: the switch drops the parameter
        other = path
    else:
        other = "/en" + (path if path != "/" else "")
    kept = respond.query_pairs(request, "lang")
    if kept:  # the switch keeps the page's state (year, query…)
        other += "?" + urlencode(kept)
    as_of = q.data_date(conn)
    return {
        "lang": lang, "_": {**texts(lang), **portal_text.texts(lang)}, "page": page, "prefix": prefix, "switch_url": other, "request_path": path,
        "as_of": as_of.isoformat() if as_of else None, "chart_url": chart_url,
        "checkpoint": page_pin.banner(request, lang),
        "wan": fmt_wan, "pct": fmt_pct,
    }


def _figures(kf: dict, lang: str) -> list[dict[str, Any]]:
    """Key figures as (id, label, shown text, exact fen) for templates and browser tests."""
    _ = texts(lang)
    change = None
    prior_cov = kf.get("prior_coverage")
    prior_partial = prior_cov is not None and not prior_cov["complete"]  # a partial prior year is no baseline
    if kf["three_public_actual_fen"] is not None and kf["three_public_prior_fen"] is not None and not prior_partial:
        change = kf["three_public_actual_fen"] - kf["three_public_prior_fen"]
    rows = [
        ("three_public_actual", _["three_public_actual"], kf["three_public_actual_fen"], "wan"),
        ("three_public_budget", _["three_public_budget"], kf["three_public_budget_fen"], "wan"),
        ("three_public_prior", _["three_public_prior"], kf["three_public_prior_fen"], "wan"),
        ("three_public_change", _["change"], change, "change"),
        ("four_fees_actual", _["four_fees_actual"], kf["four_fees_actual_fen"], "wan"),
        ("procurement_contract", _["procurement_scale"], kf["procurement_contract_fen"], "wan"),
        ("procurement_savings_rate", _["savings_rate"], kf["procurement_savings_fen"], "rate"),
    ]
    out = []
    for fid, label, fen, kind in rows:
        if kind == "rate":
            shown = fmt_pct(fen, kf["procurement_savings_base_fen"])
        elif kind == "change":
            pct = fmt_pct(fen, kf["three_public_prior_fen"], none="—")
            brackets = ("（", "）") if lang == "zh" else (" (", ")")
            shown = "—" if fen is None else f"{'+' if fen > 0 else ''}{fmt_wan(fen)} {_['wan']}{brackets[0]}{pct}{brackets[1]}"
            if prior_partial and kf["three_public_prior_fen"] is not None:
                shown = _["prior_incomplete"].format(**prior_cov)
            elif kf["three_public_prior_fen"] is None and kf["three_public_actual_fen"] is not None:
                shown = _["no_prior"]
        else:
            shown = f"{fmt_wan(fen)} {_['wan']}" if fen is not None else "—"
        out.append({"id": fid, "label": label, "shown": shown, "fen": fen})
    return out


def coverage_note(kf: dict, lang: str) -> dict[str, Any] | None:
    """Which year the region's key figures are for and why, with its coverage ("38/40个单位已报送")."""
    cov, latest = kf.get("coverage"), kf.get("latest_coverage")
    if cov is None:
        return None
    _ = texts(lang)
    if kf["latest_year"] != kf["year"] and latest is not None:
        why = _["headline_why"].format(latest=kf["latest_year"], year=kf["year"], reported=latest["reported"],
                                       expected=latest["expected"])
    elif not cov["complete"]:
        why = _["headline_incomplete"].format(**cov, year=kf["year"])
    else:
        why = None
    return {"line": _["coverage"].format(**cov, year=kf["year"]), "why": why, "complete": cov["complete"],
            "reported": cov["reported"], "expected": cov["expected"]}


def _flags(frame: pl.DataFrame, lang: str) -> list[dict[str, Any]]:
    rows = []
    for f in frame.iter_rows(named=True):
        rows.append({
            "id": f["id"], "unit_code": f["unit_code"], "unit_name": f["unit_name"], "year": f["fiscal_year"],
            "rule": rule_name(f["rule_code"], lang),
            "message": f["message_en"] if lang == "en" else f["message_zh"],
            # The state is public (as in the API); a review's note shows only once it is published.
            "state": state_name("resolved_by_data" if f["data_status"] == "resolved_by_data" else f["state"], lang),
            "note": f["published_note"], "published_at": (f["published_at"] or "")[:10],
        })
    return rows


def _target_amount(value: int | None, measure: str) -> str:
    """Money targets in 万元; consumption targets are stored in thousandths of kWh, L or m³."""
    if measure != "consumption":
        return fmt_wan(value)
    return "—" if value is None else f"{value / 1000:,.3f}"


def _unit_rows(conn, lang: str, year: int | None = None) -> list[dict[str, Any]]:
    """Each unit's 三公 actual in the headline year and the year before; missing is said, never drawn as zero."""
    from charts.build import ranking_frame

    _ = texts(lang)
    units = q.units(conn)
    frame, year, _what = ranking_frame(conn, year, None, lang)
    by_name = {r["label"]: r for r in frame.iter_rows(named=True)}
    rows = []
    for u in units.iter_rows(named=True):
        r = by_name.get(u["name"], {})
        cur, prior = r.get("current_fen"), r.get("prior_fen")
        if cur is None:
            change = _["missing_unit"] if u["name"] in by_name or prior is not None else "—"
        elif prior is None:
            change = _["no_prior"]
        else:
            change = fmt_pct(cur - prior, prior)
        rows.append({"code": u["code"], "name": u["name"], "current": fmt_wan(cur), "prior": fmt_wan(prior),
                     "change": change, "missing": cur is None and u["name"] in by_name})
    return rows


def _render(template: str, context: dict[str, Any]) -> Template:
    return Template(template_name=template, context=context, media_type="text/html")


# Handlers are async and push the database work to a worker thread themselves: Litestar wraps a
# ``sync_to_thread=True`` handler once per path, so one with two paths (``/x`` and ``/en/x``)
# would be wrapped twice and return an un-awaited coroutine.


@get(["/", "/en"], include_in_schema=False, name="page-home")
async def home(request: Request, lang: Lang = None, year: Year = None) -> Template:
    return await sync_to_thread(_home, request, year)


def _home(request: Request, year: int | None = None) -> Template:

    lang = lang_of(request)
    with page_reading(request) as conn:
        ctx = _base(request, conn, "home", lang)
        kf = q.key_figures(conn)
        ctx.update(kf=kf, figures=_figures(kf, lang), units=_unit_rows(conn, lang, kf["year"]),
                   coverage=coverage_note(kf, lang),
                   flags=_flags(q.public_flags(conn, limit=LATEST_FLAGS), lang),
                   disclosure=disclosure_block(conn, lang, year, None), regions=regions_block(conn, year))
    return _render("home.html", ctx)


@get(["/units/{code:str}", "/en/units/{code:str}"], include_in_schema=False, name="page-unit")
async def unit_page(request: Request, code: FromPath[str], lang: Lang = None, year: Year = None,
                    stage: Stage = None) -> Template:
    return await sync_to_thread(_unit_page, request, code, year, stage)


def _unit_page(request: Request, code: str, year: int | None = None, stage: str | None = None) -> Template:

    lang = lang_of(request)
    with page_reading(request) as conn:
        unit = q.unit_by_code(conn, code)
        if unit is None:
            raise NotFoundException(f"no unit with code {code!r}")
        ctx = _base(request, conn, "unit", lang)
        kf = q.key_figures(conn, unit["id"])
        names = dict(q.categories(conn).select("code", "name_en" if lang == "en" else "name_zh").iter_rows())
        amounts = q.amounts(conn, unit["id"]).sort("fiscal_year", "category_code", descending=[True, False])
        lines = [{"year": r["fiscal_year"], "category": names.get(r["category_code"], r["category_code"]),
                  "budget": fmt_wan(r["budget_fen"]), "actual": fmt_wan(r["actual_fen"]),
                  "budget_derived": r["budget_basis"] == "derived", "actual_derived": r["actual_basis"] == "derived",
                  "original": fmt_wan(r["original_fen"]), "execution": fmt_wan(r["execution_fen"]),
                  "over": r["budget_fen"] is not None and (r["actual_fen"] or 0) > r["budget_fen"]}
                 for r in amounts.iter_rows(named=True)]
        targets = [{**r, "status_name": status_name(r["status"], lang),
                    "measure_name": i18n.t(f"measure.{r['measure']}", lang),
                    **{k: _target_amount(r[f"{k}_fen"], r["measure"]) for k in ("baseline", "cap", "value")}}
                   for r in q.latest_target_results(conn, unit["id"]).sort("fiscal_year", descending=True)
                   .iter_rows(named=True)]
        # one trend chart per category or group a money target covers for this unit, so its cap line shows
        scoped = {(r["category_code"] or r["group_code"], r["title"]) for r in targets
                  if r["measure"] != "consumption" and (r["category_code"] or r["group_code"])}
        target_charts = [{"category": code, "title": f"{names.get(code, code)}：{title}"}
                         for code, title in sorted(scoped)]
        show = {"original": any(r["budget_fen"] != r["original_fen"] for r in amounts.iter_rows(named=True)),
                "execution": amounts["execution_fen"].is_not_null().any()}
        ctx.update(unit=unit, kf=kf, figures=_figures(kf, lang), lines=lines, targets=targets, show=show,
                   unit_kind_name=KINDS_EN.get(unit["kind"], unit["kind"]) if lang == "en" else unit["kind"],
                   level_name=lambda level: LEVELS_EN.get(level, level) if lang == "en" else level,
                   target_charts=target_charts,
                   flags=_flags(q.public_flags(conn, unit["id"]), lang),
                   disclosure=disclosure_block(conn, lang, year, unit),
                   unit_costs=unit_costs_block(conn, lang, unit["code"], ctx["_"]))
        drill = unit_drill_block(conn, lang, unit, year, stage)
        ctx.update(drill=drill, crumbs=crumbs_for(ctx, drill["detail"], drill["year"]))
    return _render("unit.html", ctx)


@get(["/flags", "/en/flags"], include_in_schema=False, name="page-flags")
async def flags_page(request: Request, lang: Lang = None) -> Template:
    return await sync_to_thread(_flags_page, request)


def _flags_page(request: Request) -> Template:
    lang = lang_of(request)
    with page_reading(request) as conn:
        ctx = _base(request, conn, "flags", lang)
        ctx.update(flags=_flags(q.public_flags(conn), lang))
    return _render("flags.html", ctx)


@get(["/procurement", "/en/procurement"], include_in_schema=False, name="page-procurement")
async def procurement_page(request: Request, lang: Lang = None) -> Template:
    return await sync_to_thread(_procurement_page, request)


def _procurement_page(request: Request) -> Template:
    lang = lang_of(request)
    with page_reading(request) as conn:
        ctx = _base(request, conn, "procurement", lang)
        years = [{**r, "rate": fmt_pct(r["savings_fen"], r["savings_base_fen"])}
                 for r in q.procurement_by_year(conn).sort("fiscal_year", descending=True, nulls_last=True).iter_rows(named=True)]
        m = q.procurement_methods(conn)
        total = int(m["contract_fen"].sum()) if m.height else 0
        methods = [{**r, "name": method_name(r["method"], lang), "share": fmt_pct(r["contract_fen"], total)}
                   for r in m.iter_rows(named=True)]
        # other currencies: their own tables, in their own units, never added to CNY
        others = [{"currency": c, "years": [{**r, "rate": fmt_pct(r["savings_fen"], r["savings_base_fen"])}
                                            for r in q.procurement_by_year(conn, currency=c)
                                            .sort("fiscal_year", descending=True, nulls_last=True).iter_rows(named=True)]}
                  for c in q.procurement_currencies(conn) if c != "CNY"]
        ctx.update(years=years, methods=methods, others=others, yuan=format_yuan)
    return _render("procurement.html", ctx)


DATASETS = [
    ("expenses", "支出明细", "Expense line items"),
    ("budgets", "预算", "Budgets"),
    ("procurement", "政府采购", "Procurement"),
    ("units", "预算单位", "Budget units"),
    ("flags", "风险标记（公开字段）", "Red flags (public fields)"),
    ("targets", "压减目标", "Reduction targets"),
    ("target-results", "压减目标结果", "Target results"),
    ("import-batches", "导入批次（数据来源）", "Import batches (provenance)"),
]


@get(["/data", "/en/data"], include_in_schema=False, name="page-data")
async def data_page(request: Request, lang: Lang = None) -> Template:
    return await sync_to_thread(_data_page, request)


def _data_page(request: Request) -> Template:
    lang = lang_of(request)
    with page_reading(request) as conn:
        ctx = _base(request, conn, "data", lang)
    ctx.update(datasets=[{"code": c, "name": en if lang == "en" else zh} for c, zh, en in DATASETS],
               site_url=str(request.base_url).rstrip("/"))
    return _render("data.html", ctx)


@get("/fonts/NotoSansCJKsc-Regular.otf", include_in_schema=False, name="page-font",
     cache_control=CacheControlHeader(max_age=31_536_000, public=True))
async def cjk_font() -> File:
    """The pages' web font, for readers whose system has no Chinese font (OFL; see charts/README.md).

    Only this one file is served, never the rest of the mplfonts folder, whose other fonts have no clear licence.
    """
    return File(FONT_PATH, media_type="font/otf", content_disposition_type="inline")


routes = [
    home, cjk_font, unit_page, flags_page, procurement_page, data_page,
    create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False,
                               name="page-static"),
]
