"""Charts from the ledger: read frames through the ledger's queries, hand them to ``charts.figures``.

``CHARTS`` names every chart the CLI writes and the API serves; ``make(conn, name, ...)`` returns
a Figure and ``render_chart`` the PNG or SVG bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from matplotlib.figure import Figure
from sqlalchemy import Connection

from charts import figures
from charts.labels import method_name, t
from charts.style import OKABE_ITO, RENDER_LOCK, caption_text, render
from ledger.read import figures as q
from ledger.read import totals
from ledger.read.figures import chart_sources
from ledger.store import published, unit_events

DEFAULT_SUBJECT = "three_public"


class ChartError(ValueError):
    """A chart request that cannot be met (unknown chart, unit or category); the message says why."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Request:
    """What to draw: chart name plus the optional year, unit code, category or group, and language."""

    name: str
    lang: str = "zh"
    year: int | None = None
    unit: str | None = None
    category: str | None = None


def _unit(conn: Connection, code: str | None) -> dict | None:
    if code is None:
        return None
    unit = q.unit_by_code(conn, code)
    if unit is None:
        raise ChartError("unit", f"no unit with code {code!r}")
    return unit


def _subject(lang: str, unit: dict | None) -> str:
    return unit["name"] if unit else t(lang, "region")


def _category_scope(conn: Connection, code: str | None, lang: str) -> tuple[list[str], str, str | None, str | None]:
    """Category codes, display name, and the target's category_code / group_code to match caps against."""
    code = code or DEFAULT_SUBJECT
    members = q.group_categories(conn, code)
    if members:
        # a group that is all of a node's children (三公 → 合计) reads the node's figure, published or derived
        name = t(lang, "three_public") if code == "three_public" else (q.group_name(conn, code, lang) or code)
        return published.collapse(members, published.parents(conn)), name, None, code
    cats = q.categories(conn)
    row = cats.filter(pl.col("code") == code)
    if not row.height:
        raise ChartError("category", f"no category or group {code!r}")
    return [code], row[f"name_{'en' if lang == 'en' else 'zh'}"][0], code, None


def _caption(conn: Connection, lang: str, unit: dict | None, codes: list[str] | None = None,
             procurement: bool = False) -> str:
    """Who published the chart's figures (the unit, else the region's units) and the batches they came in."""
    if codes:  # a node of the published tree (三公合计, 公务用车…) stands for its children's rows too
        kids = published.children_of(published.parents(conn))
        codes, todo = list(codes), list(codes)
        while todo:
            more = [c for c in kids.get(todo.pop(), []) if c not in codes]
            codes += more
            todo += more
    src = chart_sources(conn, unit["id"] if unit else None, codes, procurement=procurement)
    publisher = unit["name"] if unit else t(lang, "units_of_region")
    return caption_text(lang, src.as_of or q.data_date(conn), publisher=publisher, batches=src.batches,
                        count=src.count)


def _names(conn: Connection, lang: str) -> dict[str, str]:
    col = "name_en" if lang == "en" else "name_zh"
    return dict(q.categories(conn).select("code", col).iter_rows())


def trend(conn: Connection, r: Request) -> Figure:
    unit = _unit(conn, r.unit)
    codes, what, cat, group = _category_scope(conn, r.category, r.lang)
    a = q.amounts(conn, unit["id"] if unit else None, codes)
    per_year = a.group_by("fiscal_year").agg(
        # a year with no actual filed is missing (no bar, "—"), never a 0.00 bar
        pl.when(pl.col("actual_fen").count() > 0).then(pl.col("actual_fen").sum()).alias("actual_fen"),
        pl.when(pl.col("budget_fen").count() > 0).then(pl.col("budget_fen").sum()).alias("budget_fen"),
    )
    res = q.latest_target_results(conn, unit["id"] if unit else None)
    res = res.filter(pl.col("status").is_in(["met", "missed"]) & pl.col("cap_fen").is_not_null())
    res = res.filter(pl.col("category_code") == cat) if cat else res.filter(pl.col("group_code") == group)
    # Region cap: each target's caps summed over units; where targets overlap, the strictest counts.
    caps = (res.group_by("fiscal_year", "target_id").agg(pl.col("cap_fen").sum())
            .group_by("fiscal_year").agg(pl.col("cap_fen").min()))
    frame = per_year.join(caps, on="fiscal_year", how="left")
    if r.year is not None:
        frame = frame.filter(pl.col("fiscal_year") <= r.year)
    title = t(r.lang, "trend", subject=_subject(r.lang, unit), what=what)
    measures = sorted(set(res["measure"].to_list())) if "measure" in res.columns else []
    # the cap line says which measure it caps: 决算数 for an actual-spending target, 预算数 for a budget one
    cap_label = t(r.lang, f"cap_{measures[0]}") if len(measures) == 1 and measures[0] in ("actual", "budget") else None
    note = "" if unit else coverage_note(conn, r.lang, frame["fiscal_year"].to_list())
    return figures.trend(frame, title=title, cap=_with_note(_caption(conn, r.lang, unit, codes), note), lang=r.lang,
                         cap_label=cap_label)


def composition(conn: Connection, r: Request) -> Figure:
    unit = _unit(conn, r.unit)
    codes = q.group_categories(conn, "three_public")
    names = _names(conn, r.lang)
    tree = published.parents(conn)
    # a subtotal (or 合计) published without its split is a segment of its own where no part was published
    nodes = sorted({tree.get(c) for c in codes} - set(codes) - {None})
    a = q.amounts(conn, unit["id"] if unit else None, codes + nodes).filter(pl.col("actual_fen").is_not_null())
    kids = a.select("unit_id", "fiscal_year", pl.col("category_code").replace_strict(
        tree, default=None, return_dtype=pl.Utf8).alias("node")).drop_nulls().unique()
    a = a.join(kids, left_on=["unit_id", "fiscal_year", "category_code"],
               right_on=["unit_id", "fiscal_year", "node"], how="anti")
    frame = a.group_by("fiscal_year", "category_code").agg(pl.col("actual_fen").sum())
    order = {c: i for i, c in enumerate([*codes, *nodes])}
    frame = frame.with_columns(
        pl.col("category_code").replace_strict(names, default=pl.col("category_code")).alias("label"),
        pl.col("category_code").replace_strict(order, default=99).alias("_o"),
    ).with_columns(
        pl.col("_o").map_elements(lambda i: OKABE_ITO[i % len(OKABE_ITO)], return_dtype=pl.Utf8).alias("colour"),
    ).sort("_o", "fiscal_year")
    if r.year is not None:
        frame = frame.filter(pl.col("fiscal_year") <= r.year)
    title = t(r.lang, "composition", subject=_subject(r.lang, unit))
    return figures.composition(frame, title=title, cap=_caption(conn, r.lang, unit, codes), lang=r.lang)


def headline_year(conn: Connection, latest: int) -> int:
    """The latest complete year up to ``latest`` (every expected unit reported), else ``latest``."""
    cov = {y: c for y, c in totals.coverage(conn, ("actual",)).items() if y <= latest}
    return totals.latest_complete_year(cov) or latest


def coverage_note(conn: Connection, lang: str, years: list[int]) -> str:
    """"2024年2/40个单位已报送" for each of ``years`` not every expected unit reported ("" when all did)."""
    cov = totals.coverage(conn, ("actual",), years=sorted(set(years)))
    return ("; " if lang == "en" else "；").join(t(lang, "coverage", year=y, reported=c["reported"], expected=c["expected"])
                    for y, c in cov.items() if c["expected"] and not c["complete"])


def _with_note(caption: str, note: str) -> str:
    return f"{caption}\n{note}" if note else caption


def ranking_frame(conn: Connection, year: int | None, category: str | None, lang: str) -> tuple[pl.DataFrame, int | None, str]:
    """Per unit: prior and current year actual for the category or group; the year defaults to the latest."""
    codes, what, _, _ = _category_scope(conn, category, lang)
    a = q.amounts(conn, None, codes).filter(pl.col("actual_fen").is_not_null())
    if a.height == 0:
        return pl.DataFrame(schema={"label": pl.Utf8, "prior_fen": pl.Int64, "current_fen": pl.Int64}), year, what
    year = year or headline_year(conn, int(a["fiscal_year"].max()))
    # a merged unit counts as its successor (sunshine units merge)
    successor = unit_events.read(conn).successor
    per = a.with_columns(pl.col("unit_id").replace(successor)).group_by("unit_id", "fiscal_year").agg(
        pl.col("actual_fen").sum())
    cur = per.filter(pl.col("fiscal_year") == year).select("unit_id", pl.col("actual_fen").alias("current_fen"))
    pri = per.filter(pl.col("fiscal_year") == year - 1).select("unit_id", pl.col("actual_fen").alias("prior_fen"))
    units = q.units(conn).select(pl.col("id").alias("unit_id"), pl.col("name").alias("label"))
    frame = cur.join(pri, on="unit_id", how="full", coalesce=True)
    # an expected unit with neither year is missing too: listed as not reported, never left out as if zero
    missing = totals.coverage(conn, ("actual",), years=[year]).get(year, {}).get("missing_units", [])
    ids = q.units(conn).filter(pl.col("code").is_in(missing))["id"].to_list()
    gone = pl.DataFrame({"unit_id": [i for i in ids if i not in set(frame["unit_id"].to_list())]},
                        schema={"unit_id": pl.Int64})
    frame = pl.concat([frame, gone], how="diagonal").join(units, on="unit_id")
    return frame.select("label", "prior_fen", "current_fen"), year, what


def ranking(conn: Connection, r: Request) -> Figure:
    frame, year, what = ranking_frame(conn, r.year, r.category, r.lang)
    title = t(r.lang, "ranking", year=year or "—", what=what)
    codes = _category_scope(conn, r.category, r.lang)[0]
    cap = _with_note(_caption(conn, r.lang, None, codes), coverage_note(conn, r.lang, [year] if year else []))
    return figures.ranked_change(frame, title=title, cap=cap, lang=r.lang)


def compliance(conn: Connection, r: Request) -> Figure:
    unit = _unit(conn, r.unit)
    res = q.latest_target_results(conn, unit["id"] if unit else None)
    if r.year is not None:
        res = res.filter(pl.col("fiscal_year") <= r.year)
    counts = res.group_by("unit_id", "fiscal_year").agg(
        (pl.col("status") == "met").sum().cast(pl.Int64).alias("met"),
        (pl.col("status") == "missed").sum().cast(pl.Int64).alias("missed"),
        (pl.col("status") == "insufficient_data").sum().cast(pl.Int64).alias("insufficient"),
    )
    units = q.units(conn).select(pl.col("id").alias("unit_id"), pl.col("name").alias("label"))
    frame = counts.join(units, on="unit_id").drop("unit_id")
    return figures.compliance_heatmap(frame, title=t(r.lang, "compliance"), cap=_caption(conn, r.lang, unit),
                                      lang=r.lang)


def procurement(conn: Connection, r: Request) -> Figure:
    unit = _unit(conn, r.unit)
    frame = q.procurement_by_year(conn, unit["id"] if unit else None)
    if r.year is not None:
        frame = frame.filter(pl.col("fiscal_year") <= r.year)
    title = t(r.lang, "procurement", subject=_subject(r.lang, unit))
    return figures.procurement_years(frame, title=title, cap=_caption(conn, r.lang, unit, procurement=True),
                                     lang=r.lang)


def methods(conn: Connection, r: Request) -> Figure:
    unit = _unit(conn, r.unit)
    frame = q.procurement_methods(conn, r.year, unit["id"] if unit else None)
    frame = frame.with_columns(pl.col("method").map_elements(lambda m: method_name(m, r.lang),
                                                             return_dtype=pl.Utf8).alias("label"))
    title = t(r.lang, "methods", subject=_subject(r.lang, unit), year=r.year or t(r.lang, "all_years"))
    return figures.method_mix(frame, title=title, cap=_caption(conn, r.lang, unit, procurement=True), lang=r.lang)


CHARTS = {
    "trend": trend,
    "composition": composition,
    "ranking": ranking,
    "compliance": compliance,
    "procurement": procurement,
    "methods": methods,
}
FORMATS = ("png", "svg")


def make(conn: Connection, request: Request) -> Figure:
    """The Figure for ``request``; raises ChartError for an unknown chart, unit or category."""
    if request.name not in CHARTS:
        raise ChartError("chart", f"unknown chart {request.name!r}; use {', '.join(CHARTS)}")
    if request.lang not in ("zh", "en"):
        raise ChartError("lang", "lang must be zh or en")
    return CHARTS[request.name](conn, request)


def render_chart(conn: Connection, request: Request, fmt: str) -> bytes:
    """PNG or SVG bytes for ``request``, built and saved under the render lock (matplotlib is not thread-safe)."""
    if fmt not in FORMATS:
        raise ChartError("format", "format must be png or svg")
    with RENDER_LOCK:
        return render(make(conn, request), fmt)
