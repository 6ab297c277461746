"""What a reader of a chart file sees, checked on the rendered figure and on the SVG bytes."""

from __future__ import annotations

import html
import re

from matplotlib.figure import Figure
from matplotlib.text import Text

_COMMENT = re.compile(r"<!-- (.*?) -->", re.S)


def svg_texts(data: bytes) -> list[str]:
    """The strings drawn in an SVG whose glyphs are paths (matplotlib writes each one as a comment)."""
    found = [html.unescape(m).strip() for m in _COMMENT.findall(data.decode("utf-8"))]
    return [t for t in found if not t.startswith("Created with matplotlib")]


def needs_a_font(data: bytes) -> list[str]:
    """What in an SVG would be drawn with a font of the reader's machine: <text> elements, font declarations."""
    s = data.decode("utf-8")
    return re.findall(r"<text\b[^>]*>|font-family\s*[:=][^;\"]*|@font-face", s)


def overlapping_texts(fig: Figure, pad: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of visible texts whose bounding boxes overlap, and texts reaching past the figure's edge."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # tick labels exist for ticks outside the view too; only the ones an axis draws count
    tick_texts, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            slack = (hi - lo) * 1e-9
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_texts |= {id(tick.label1), id(tick.label2)}
                loc = tick.get_loc()
                if loc is not None and lo - slack <= loc <= hi + slack:
                    drawn |= {id(tick.label1), id(tick.label2)}
    boxes, seen = [], set()
    for t in fig.findobj(Text):
        if id(t) in tick_texts and id(t) not in drawn:
            continue
        if id(t) in seen or not t.get_visible() or not t.get_text().strip():
            continue
        seen.add(id(t))
        boxes.append((t.get_text(), t.get_window_extent(renderer)))
    edge = fig.bbox
    bad = [(a, "<figure edge>") for a, b in boxes
           if b.x0 < edge.x0 - pad or b.x1 > edge.x1 + pad or b.y0 < edge.y0 - pad or b.y1 > edge.y1 + pad]
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            if ba.x0 < bb.x1 - pad and bb.x0 < ba.x1 - pad and ba.y0 < bb.y1 - pad and bb.y0 < ba.y1 - pad:
                bad.append((a, b))
    return bad
