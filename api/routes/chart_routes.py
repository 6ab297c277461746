"""Charts over HTTP: ``GET /api/v1/charts/{name}.{png|svg}?year=&unit=&category=&lang=``.

Rendering runs in a worker thread (``sync_to_thread``), never on the event loop, and one figure
at a time (matplotlib is not thread-safe). Rendered bytes are cached in memory, keyed by the
request and the ledger's data stamp, so a new import or review makes fresh charts; the same key
is the ETag, so a browser revalidates with a 304 and no rendering.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, Parameter

from api import params, respond
from api.web.pages import engine_for
from charts.build import CHARTS, FORMATS, ChartError, render_chart
from charts.build import Request as ChartRequest
from ledger.read import figures as q
from ledger.store.db import reading

MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
CACHE_ENTRIES = 256
CACHE_CONTROL = "public, max-age=300"


class ChartCache:
    """A small LRU of rendered charts; thread-safe because handlers run in a thread pool."""

    def __init__(self, size: int = CACHE_ENTRIES):
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._items[key] = data
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


CACHE = ChartCache()


@get(
    "/api/v1/charts/{filename:str}",
    summary="A chart as PNG or SVG",
    description=(
        "Charts: " + ", ".join(f"`{n}`" for n in CHARTS) + ". The file name is `NAME.png` or `NAME.svg`, "
        "e.g. `/api/v1/charts/trend.svg?unit=EDU&category=reception&lang=en`. Text in the SVG is real "
        "text (font Noto Sans CJK SC). Amounts in 万元; the caption names the source and the data date."
    ),
    tags=["charts"],
    name="chart",
)
async def chart(
    request: Request,
    filename: FromPath[str],
    year: int | None = Parameter(default=None, ge=1900, le=2200, description="Fiscal year (the latest shown)"),
    unit: str | None = Parameter(default=None, max_length=64, description="Unit code; the whole region if absent"),
    category: str | None = Parameter(default=None, max_length=40,
                                     description="Category or group code (trend and ranking); default three_public"),
    lang: str = Parameter(default="zh", pattern="^(zh|en)$", description="zh (default) or en"),
    as_of: params.AsOfQ = None,
) -> Response[bytes]:
    # Explicitly off the event loop, the same way as the pages (see api/web/pages.py for why not
    # ``sync_to_thread=True`` there).
    return await sync_to_thread(_chart, request, filename, year, unit, category, lang)


def _chart(request: Request, filename: str, year: int | None, unit: str | None, category: str | None,
           lang: str) -> Response[bytes]:
    name, _, fmt = filename.rpartition(".")
    if fmt not in FORMATS or name not in CHARTS:
        raise NotFoundException(f"no chart {filename!r}: use one of {', '.join(CHARTS)} with .png or .svg")
    with reading(engine_for(request)) as conn, respond.pinned_to(request, conn):
        stamp = q.data_stamp(conn)
        cp = respond.checkpoint_of(request)
        pin = None if cp is None else (cp["size"], cp["root_hash"])
        key = hashlib.sha256(repr((stamp, name, fmt, year, unit, category, lang, pin)).encode()).hexdigest()[:32]
        etag = f'"{key}"'
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, **respond.checkpoint_headers(request)}
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=304, headers=headers, media_type=MEDIA[fmt])
        data = CACHE.get(key)
        if data is None:
            try:
                data = render_chart(conn, ChartRequest(name, lang=lang, year=year, unit=unit, category=category), fmt)
            except ChartError as e:
                if e.parameter in ("unit", "category"):
                    raise NotFoundException(str(e)) from e
                raise ValidationException(str(e)) from e
            CACHE.put(key, data)
    return Response(data, media_type=MEDIA[fmt], headers=headers)


routes = [chart]
