"""One look for every chart: the CJK font, the palette, money in 万元, the caption, PNG/SVG output.

Importing this module configures matplotlib once for the process: the Agg backend, Noto Sans CJK SC
registered from the installed ``mplfonts`` package, labels as literal text (``text.parse_math`` off,
so a unit named ``$\\foo{$`` is drawn, not parsed), and SVG text kept as ``<text>`` elements.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import ROUND_HALF_UP, Decimal
from importlib.resources import files

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ledger.money import format_wan

# Only the OFL-licensed Noto font from the mplfonts wheel; the wheel's other fonts are not used.
FONT_FILE = "NotoSansCJKsc-Regular.otf"
FONT_PATH = str(files("mplfonts") / "fonts" / FONT_FILE)

# Okabe–Ito: distinguishable with the common colour-vision deficiencies and in greyscale print.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, BLACK = OKABE_ITO
GREY = "#BBBBBB"

FEN_PER_WAN = 1_000_000  # 1 万元 = 10,000 元 = 1,000,000 fen

# Matplotlib is not thread-safe; the API renders in worker threads, one figure at a time
# (build and save both hold this lock; re-entrant so ``render`` can be called inside a build).
RENDER_LOCK = threading.RLock()


def _configure() -> str:
    font_manager.fontManager.addfont(FONT_PATH)
    family = font_manager.FontProperties(fname=FONT_PATH).get_name()
    matplotlib.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "text.parse_math": False,
        "text.usetex": False,
        "svg.fonttype": "path",  # glyphs as paths: the SVG needs no font on the reader's machine
        "svg.hashsalt": "sunshine-ledger",
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#DDDDDD",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 10,
    })
    return family


FONT_FAMILY = _configure()


def wan(fen: int | None) -> float | None:
    """Fen to 万元 as a float, for plotting positions only (labels use ``fmt_wan``)."""
    return None if fen is None else fen / FEN_PER_WAN


def fmt_wan(fen: int | None, none: str = "—") -> str:
    """Fen as 万元 with two decimals and thousands separators, rounded half up: ``1,234.57``."""
    return none if fen is None else format_wan(fen)


def fmt_pct(numerator: int | None, denominator: int | None, none: str = "—") -> str:
    """A percentage with two decimals; undefined (shown as ``none``) when the denominator is 0 or missing."""
    if numerator is None or not denominator:
        return none
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:+.2f}%" if numerator < 0 else f"{value:.2f}%"


def new_figure(width: float = 8.0, height: float = 4.6) -> Figure:
    """A figure not tied to pyplot (no global state, safe to render in a worker thread)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def caption(fig: Figure, text: str) -> None:
    """The source and data date line under a chart."""
    fig.supxlabel(text, fontsize=8, color="#444444", x=0.01, ha="left")


def caption_text(lang: str, as_of: dt.date | None, source: str | None = None, *, publisher: str | None = None,
                 batches: list[tuple[int, str]] = (), count: int = 0) -> str:
    """The caption: who published the figures, the import batches (id and file) they came in, the data date."""
    date = as_of.isoformat() if as_of else ("无数据" if lang == "zh" else "no data")
    files = [f"#{i} {_short(name)}" for i, name in batches]
    more = count - len(files)
    if lang == "en":
        if source or not files:
            return f"Source: {source or 'Sunshine Ledger open data'} · data as of {date}"
        listed = ", ".join(files) + (f" and {more} more" if more > 0 else "")
        return f"Source: published by {publisher}; import batch{'es' if count > 1 else ''} {listed} · data as of {date}"
    if source or not files:
        return f"数据来源：{source or '阳光账本公开数据'} · 数据截至 {date}"
    listed = "、".join(files) + (f" 等 {count} 批" if more > 0 else "")
    return f"数据来源：{publisher}公开数据，导入批次 {listed} · 数据截至 {date}"


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown chart format {fmt!r}: use png or svg")
    buf = io.BytesIO()
    with RENDER_LOCK:
        metadata = {"Date": None} if fmt == "svg" else {"Software": "Sunshine Ledger"}
        fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()
