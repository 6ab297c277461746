"""Keep every label readable: no label on top of another, none cut off at the figure's edge.

``settle(fig, labels)`` runs after a chart is drawn (constrained layout included): it widens the axes'
data limits until every value label fits inside its axes, moves a label that lands on another one
(bar labels, rate labels, cap labels) further out along its offset, and labels every k-th year when the
year labels would touch. The tests check the result on the rendered figure by comparing the bounding boxes of all text.
"""

from __future__ import annotations

import math

from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text


class Thousands(ticker.Formatter):
    """Tick labels with thousands separators and as many decimals as the tick spacing needs: 12,500 · 0.25."""

    _ticks: tuple = ()

    def set_locs(self, locs):
        self._ticks = tuple(locs)

    def __call__(self, x, pos=None):
        locs = [v for v in self._ticks if math.isfinite(v)]
        step = min((abs(b - a) for a, b in zip(locs, locs[1:], strict=False) if b != a), default=1.0)
        places = max(0, min(4, -math.floor(math.log10(step)))) if step > 0 else 0
        text = f"{x:,.{places}f}"
        return "0" if text.lstrip("-").replace("0", "").replace(".", "").replace(",", "") == "" else text


def grouped(*axes) -> None:
    """Thousands separators on the value axes given (``ax.yaxis``, ``ax.xaxis``)."""
    for axis in axes:
        axis.set_major_formatter(Thousands())


def _box(text: Text, renderer):
    return text.get_window_extent(renderer) if text.get_visible() and text.get_text().strip() else None


def _overlap(a, b, pad: float = 1.0) -> bool:
    return a.x0 < b.x1 - pad and b.x0 < a.x1 - pad and a.y0 < b.y1 - pad and b.y0 < a.y1 - pad


def texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty text of the figure (titles, ticks, legends, labels)."""
    seen, out = set(), []
    for t in fig.findobj(Text):
        if id(t) not in seen and t.get_visible() and t.get_text().strip():
            seen.add(id(t))
            out.append(t)
    return out


def _fit(fig: Figure, labels: list[Annotation], renderer) -> bool:
    """Widen each axes' limits so its labels stay inside it; True when something changed."""
    changed = False
    for ann in labels:
        ax = ann.axes
        box, frame = _box(ann, renderer), ax.get_window_extent(renderer)
        if box is None:
            continue
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        sx = (x1 - x0) / max(frame.width, 1)
        sy = (y1 - y0) / max(frame.height, 1)
        if box.x1 > frame.x1 - 2:
            ax.set_xlim(x0, x1 + (box.x1 - frame.x1 + 6) * sx * 1.05)
            changed = True
        if box.x0 < frame.x0 + 2:
            ax.set_xlim(x0 - (frame.x0 - box.x0 + 6) * sx * 1.05, ax.get_xlim()[1])
            changed = True
        if box.y1 > frame.y1 - 2 and not ax.yaxis_inverted():
            ax.set_ylim(y0, y1 + (box.y1 - frame.y1 + 6) * sy * 1.05)
            changed = True
    return changed


def _nudge(labels: list[Annotation], fixed: list, renderer) -> bool:
    """Move a label that overlaps an earlier one (or a fixed text) further along its offset direction."""
    placed = list(fixed)
    moved = False
    for ann in labels:
        box = _box(ann, renderer)
        if box is None:
            continue
        dx, dy = ann.xyann
        for _ in range(12):
            hit = next((b for b in placed if _overlap(box, b)), None)
            if hit is None:
                break
            if abs(dx) > abs(dy):  # a label beside a horizontal bar: move it further out sideways
                step = (hit.x1 - box.x0 + 2) if dx >= 0 else -(box.x1 - hit.x0 + 2)
                dx += step * 72 / ann.figure.dpi
            else:  # a label above a bar or point: move it up
                dy += (hit.y1 - box.y0 + 2) * 72 / ann.figure.dpi
            ann.xyann = (dx, dy)
            moved = True
            box = _box(ann, renderer)
        placed.append(box)
    return moved


def _thin_ticks(fig: Figure, renderer) -> bool:
    """Label every k-th year when the year labels would touch (the ticks themselves all stay)."""
    thinned = False
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        boxes = [t.get_window_extent(renderer) for t in ticks]
        if len(ticks) > 1 and any(_overlap(a, b, pad=-3) for a, b in zip(boxes, boxes[1:], strict=False)):
            need = max(b.width for b in boxes) + 6
            room = ax.get_window_extent(renderer).width / len(ticks)
            k = max(2, math.ceil(need / max(room, 1)))
            for i, t in enumerate(ticks):
                t.set_visible(i % k == 0)
            thinned = True
    return thinned


def settle(fig: Figure, labels: list[Annotation]) -> Figure:
    """Make room for ``labels`` (value labels drawn with offsets) and move any that collide."""
    for _ in range(6):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        fitted, turned = _fit(fig, labels, renderer), _thin_ticks(fig, renderer)
        if fitted or turned:
            continue
        mine = {id(a) for a in labels}
        fixed = [b for t in texts(fig) if id(t) not in mine and (b := _box(t, renderer)) is not None]
        if not _nudge(labels, fixed, renderer):
            break
    return fig
