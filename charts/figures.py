"""The six charts as pure functions: polars frames of integer fen in, a matplotlib Figure out.

Nothing here reads the database; ``charts.build`` fetches the frames through the ledger's queries.
Every amount label is ``fmt_wan`` text (exact to the fen, rounded for display), so the SVG carries
the figures a reader sees, and tests can assert them.
"""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from charts.labels import t
from charts.layout import grouped, settle
from charts.style import (
    BLUE,
    GREEN,
    GREY,
    OKABE_ITO,
    ORANGE,
    SKY,
    VERMILLION,
    caption,
    fmt_pct,
    fmt_wan,
    new_figure,
    wan,
)


def _empty(fig: Figure, ax, lang: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, t(lang, "no_data"), ha="center", va="center", fontsize=14, transform=ax.transAxes)


def _finish(fig: Figure, ax, title: str, cap: str, labels=()) -> Figure:
    ax.set_title(title, loc="left", fontsize=12)
    caption(fig, cap)
    return settle(fig, list(labels))


def trend(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh", cap_label: str | None = None) -> Figure:
    """Budget and actual per year as paired bars, with the target cap drawn as a step line.

    ``frame``: fiscal_year, budget_fen, actual_fen, cap_fen (each nullable).
    """
    fig = new_figure()
    ax = fig.add_subplot()
    if frame.height == 0:
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    frame = frame.sort("fiscal_year")
    years = frame["fiscal_year"].to_list()
    x = list(range(len(years)))
    w = 0.38
    budget = [wan(v) or 0 for v in frame["budget_fen"].to_list()]
    actual = [wan(v) or 0 for v in frame["actual_fen"].to_list()]
    ax.bar([i - w / 2 for i in x], budget, w, color=SKY, label=t(lang, "budget"))
    bars = ax.bar([i + w / 2 for i in x], actual, w, color=BLUE, label=t(lang, "actual"))
    labels = list(ax.bar_label(bars, labels=[fmt_wan(v) for v in frame["actual_fen"].to_list()], fontsize=8,
                               padding=2))
    caps = frame["cap_fen"].to_list() if "cap_fen" in frame.columns else []
    drawn = False
    for i, c in zip(x, caps, strict=False):
        if c is None:
            continue
        # The cap spans the year's pair of bars, so it reads against both budget and actual.
        ax.hlines(wan(c), i - w * 1.1, i + w * 1.1, colors=VERMILLION, linestyles="--", linewidth=1.8,
                  label=None if drawn else (cap_label or t(lang, "cap")))
        # its figure sits above the line over the pair; ``settle`` lifts it clear of the bar labels
        labels.append(ax.annotate(fmt_wan(c), (i, wan(c)), textcoords="offset points", xytext=(0, 2), ha="center",
                                  va="bottom", fontsize=7, color=VERMILLION,
                                  bbox={"boxstyle": "round,pad=0.1", "facecolor": "#FFFFFF", "edgecolor": "none"}))
        drawn = True
    ax.set_xticks(x, [str(y) for y in years])
    ax.set_xlabel(t(lang, "year"))
    ax.set_ylabel(t(lang, "wan"))
    grouped(ax.yaxis)
    ax.margins(y=0.15)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _finish(fig, ax, title, cap, labels)


def composition(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh") -> Figure:
    """Stacked actual spending per year by category, total on top of each bar.

    ``frame``: fiscal_year, label (category name), actual_fen, and optionally colour, so a category
    keeps its colour from one unit's chart to the next.
    """
    fig = new_figure()
    ax = fig.add_subplot()
    frame = frame.filter(pl.col("actual_fen").is_not_null())
    if frame.height == 0:
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    years = sorted(frame["fiscal_year"].unique().to_list())
    labels = list(dict.fromkeys(frame["label"].to_list()))
    colours = dict(frame.select("label", "colour").iter_rows()) if "colour" in frame.columns else {}
    bottom = [0.0] * len(years)
    for i, label in enumerate(labels):
        part = dict(frame.filter(pl.col("label") == label).select("fiscal_year", "actual_fen").iter_rows())
        values = [wan(part.get(y)) or 0.0 for y in years]
        ax.bar(range(len(years)), values, 0.6, bottom=bottom, label=label,
               color=colours.get(label) or OKABE_ITO[i % len(OKABE_ITO)])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    totals = frame.group_by("fiscal_year").agg(pl.col("actual_fen").sum())
    total_by_year = dict(totals.iter_rows())
    labels = [ax.annotate(fmt_wan(total_by_year[y]), (i, bottom[i]), textcoords="offset points", xytext=(0, 3),
                          ha="center", fontsize=8) for i, y in enumerate(years)]
    ax.set_xticks(range(len(years)), [str(y) for y in years])
    ax.set_xlabel(t(lang, "year"))
    ax.set_ylabel(t(lang, "wan"))
    grouped(ax.yaxis)
    ax.margins(y=0.12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _finish(fig, ax, title, cap, labels)


def ranked_change(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh") -> Figure:
    """Units ranked by change against the prior year, horizontal bars, biggest rise on top.

    ``frame``: label (unit name), prior_fen, current_fen. Missing is not zero: a unit with no figure
    this year is labelled "未报送（缺失，不计为零）" and one with no prior-year figure "上年无数据", both
    without a bar (never a −100% or a +∞), below the ranked units. A prior year of zero leaves the
    percentage undefined (said so).
    """
    frame = frame.with_columns(
        (pl.col("current_fen") - pl.col("prior_fen")).alias("change_fen")
    ).sort(["change_fen", "label"], descending=[False, True], nulls_last=False)
    fig = new_figure(8.0, max(3.0, 1.2 + 0.38 * frame.height))
    ax = fig.add_subplot()
    if frame.height == 0:
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    changes = frame["change_fen"].to_list()
    colours = [VERMILLION if (c or 0) > 0 else BLUE for c in changes]
    ax.barh(range(frame.height), [wan(c or 0) for c in changes], color=colours)
    labels = []
    for i, (c, prior, cur) in enumerate(zip(changes, frame["prior_fen"].to_list(), frame["current_fen"].to_list(),
                                            strict=True)):
        if cur is None:
            text = t(lang, "missing")
        elif prior is None:
            text = t(lang, "no_prior")
        else:
            pct = fmt_pct(c, prior, none=t(lang, "undefined"))
            sign = "+" if c > 0 else ""
            text = f"{sign}{fmt_wan(c)}（{pct}）" if lang == "zh" else f"{sign}{fmt_wan(c)} ({pct})"
        # every label starts right of the bar or of the zero line, never towards the unit names on the left
        labels.append(ax.annotate(text, (max(wan(c or 0), 0), i), textcoords="offset points", xytext=(4, 0),
                                  ha="left", va="center", fontsize=8))
    ax.set_yticks(range(frame.height), frame["label"].to_list())
    ax.set_ylim(-0.5, frame.height - 0.5)  # no blank band above or below the bars
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel(t(lang, "change_axis"))
    grouped(ax.xaxis)
    ax.margins(x=0.05)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, cap, labels)


def compliance_heatmap(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh") -> Figure:
    """Units × years: colour by outcome, the cell text says met/evaluated so colour is never the only cue.

    ``frame``: label (unit name), fiscal_year, met, missed, insufficient (counts of target results).
    """
    units = list(dict.fromkeys(frame.sort("label")["label"].to_list())) if frame.height else []
    years = sorted(frame["fiscal_year"].unique().to_list()) if frame.height else []
    fig = new_figure(max(6.0, 2.5 + 0.9 * len(years)), max(3.0, 1.4 + 0.42 * len(units)))
    ax = fig.add_subplot()
    if frame.height == 0:
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    cells = {(r["label"], r["fiscal_year"]): r for r in frame.iter_rows(named=True)}
    for yi, unit in enumerate(units):
        for xi, year in enumerate(years):
            r = cells.get((unit, year))
            if r is None:
                colour, text = "#FFFFFF", "·"
            else:
                evaluated = r["met"] + r["missed"]
                colour = VERMILLION if r["missed"] else (GREEN if r["met"] else GREY)
                text = f"{r['met']}/{evaluated}" if evaluated else "?"
                if r["missed"]:
                    text = "× " + text
                elif r["met"]:
                    text = "✓ " + text
            ax.add_patch(Rectangle((xi, yi), 1, 1, facecolor=colour, edgecolor="#FFFFFF", linewidth=2))
            ax.text(xi + 0.5, yi + 0.5, text, ha="center", va="center", fontsize=9,
                    color="#FFFFFF" if colour in (VERMILLION, GREEN) else "#000000")
    ax.set_xlim(0, len(years))
    ax.set_ylim(len(units), 0)
    ax.set_xticks([i + 0.5 for i in range(len(years))], [str(y) for y in years])
    ax.set_yticks([i + 0.5 for i in range(len(units))], units)
    ax.set_xlabel(t(lang, "year"))
    ax.grid(False)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Patch(color=GREEN, label=t(lang, "met")), Patch(color=VERMILLION, label=t(lang, "missed")),
               Patch(color=GREY, label=t(lang, "insufficient"))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _finish(fig, ax, title, cap)


def procurement_years(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh") -> Figure:
    """Contract amount per year as bars (万元) and the savings rate as a line on its own axis (%).

    ``frame``: fiscal_year, contract_fen, savings_fen, savings_base_fen.
    """
    fig = new_figure(8.0, 5.4)
    if frame.height == 0:
        ax = fig.add_subplot()
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    # Scale and savings rate in two panels over one year axis: the rate labels can never sit on the bar labels.
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    fig.get_layout_engine().set(hspace=0.06)
    frame = frame.sort("fiscal_year")
    x = list(range(frame.height))
    bars = ax.bar(x, [wan(v) or 0 for v in frame["contract_fen"].to_list()], 0.6, color=BLUE,
                  label=t(lang, "scale"))
    labels = list(ax.bar_label(bars, labels=[fmt_wan(v) for v in frame["contract_fen"].to_list()], fontsize=8,
                               padding=2))
    ax.set_ylabel(t(lang, "wan"))
    grouped(ax.yaxis)
    ax.margins(y=0.15)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    savings, bases = frame["savings_fen"].to_list(), frame["savings_base_fen"].to_list()
    pts = [(i, s / b * 100, s, b) for i, s, b in zip(x, savings, bases, strict=True) if b]
    if pts:
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], color=ORANGE, marker="o", label=t(lang, "savings_rate"))
        labels += [ax2.annotate(fmt_pct(s, b), (i, r), textcoords="offset points", xytext=(0, 5), ha="center",
                                va="bottom", fontsize=8, color="#6B4500") for i, r, s, b in pts]
        low, high = min(0, min(p[1] for p in pts)), max(p[1] for p in pts)
        ax2.set_ylim(low, max(high * 1.35, 1))
        ax2.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax2.set_ylabel(t(lang, "rate_axis"))
    grouped(ax2.yaxis)
    ax2.set_xticks(x, [str(y) for y in frame["fiscal_year"].to_list()])
    ax2.set_xlabel(t(lang, "year"))
    return _finish(fig, ax, title, cap, labels)


def method_mix(frame: pl.DataFrame, *, title: str, cap: str, lang: str = "zh") -> Figure:
    """Contract value by procurement method, largest first, each with its share and number of awards.

    ``frame``: label (method name), records, contract_fen.
    """
    frame = frame.sort("contract_fen", descending=True)
    fig = new_figure(8.0, max(3.0, 1.4 + 0.45 * frame.height))
    ax = fig.add_subplot()
    if frame.height == 0:
        _empty(fig, ax, lang)
        return _finish(fig, ax, title, cap)
    total = int(frame["contract_fen"].sum())
    values = frame["contract_fen"].to_list()
    colours = [VERMILLION if lbl in ("单一来源", "Single source") else BLUE for lbl in frame["label"].to_list()]
    ax.barh(range(frame.height), [wan(v) for v in values], color=colours)
    labels = [ax.annotate(f"{fmt_wan(v)} · {fmt_pct(v, total)} · {t(lang, 'records', n=n)}", (max(wan(v), 0), i),
                          textcoords="offset points", xytext=(4, 0), va="center", fontsize=8)
              for i, (v, n) in enumerate(zip(values, frame["records"].to_list(), strict=True))]
    ax.set_yticks(range(frame.height), frame["label"].to_list())
    ax.set_ylim(frame.height - 0.5, -0.5)
    ax.set_xlabel(t(lang, "methods_axis"))
    grouped(ax.xaxis)
    ax.margins(x=0.05)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, cap, labels)
