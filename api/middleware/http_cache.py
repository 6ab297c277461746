"""ETag, Last-Modified, 304s, Cache-Control and a response cache for public reads.

Published rows are append-only, so ``ledger.read.queries.data_version`` (newest batch, audit entry,
check run, review, unit) identifies what every public read returns; with the URL and the Accept
header it makes a validator without running the read itself. The same key indexes an in-process
cache of finished responses, so a hot page or aggregate is read from the database once per data
version. The version itself is re-read at most every ``SUNSHINE_VERSION_TTL`` seconds (default
1) and at once after a write made through this process.

A miss runs once: while one request computes an answer, others asking for the same key wait for it
(up to ``FLIGHT_WAIT_S``) and are served from the cache. Without that, on PostgreSQL (reads run on
threads) every connection asking for a cold aggregate at once ran the same seconds-long read side by
side, and at 5M rows all of them passed wrk's 5 s timeout together (docs/benchmarks.md, mixed traffic).
The waiters are released as soon as the answer is built, not when it has been sent: a download is
streamed and never cached, and a slow reader of one must not hold back the next request for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from email.utils import format_datetime, parsedate_to_datetime

from litestar import Request, Response

from api.auth import token_of
from ledger.read.queries import data_version
from ledger.store.db import reading

PUBLIC_PREFIX = "/api/v1/"
NO_CACHE = ("/api/v1/schema", "/api/v1/audit", "/api/v1/imports", "/api/v1/tokens", "/api/v1/health")
MAX_ENTRIES = 1024
MAX_BODY = 4 * 1024 * 1024
FLIGHT_WAIT_S = 30.0  # a request waits this long for another computing the same answer, then computes it itself
FLIGHT = "sunshine.flight"  # scope key: the cache key this request is computing for others
# headers that belong to a cached answer, served again with it (the checkpoint an as_of answer is from)
KEPT_HEADERS = ("Link", "X-Total-Count", "X-Total-Exact", "X-Coverage", "X-Checkpoint-Size", "X-Checkpoint-Root")


class Versions:
    """The data version, re-read at most every ``ttl`` seconds; ``forget()`` after a write.

    ``value`` is ``(version, last modified)``; ``http_date`` is that time as an HTTP date,
    formatted once per version rather than once per request.
    """

    def __init__(self, ttl: float):
        self.ttl, self.value, self.at, self.http_date = ttl, None, 0.0, None

    def get(self, engine):
        now = time.monotonic()
        if self.value is None or now - self.at > self.ttl:
            with reading(engine) as conn:
                value = data_version(conn)
            if value != self.value:
                self.http_date = None if value[1] is None else format_datetime(value[1], usegmt=True)
            self.value, self.at = value, now
        return self.value

    def forget(self) -> None:
        self.value = None


class Responses:
    """Finished public responses by ETag (LRU)."""

    def __init__(self):
        self.items: OrderedDict[str, tuple[bytes, int, str, dict]] = OrderedDict()
        self.lock = threading.Lock()
        self.flights: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}  # keys being computed now

    def get(self, etag: str):
        with self.lock:
            hit = self.items.get(etag)
            if hit is not None:
                self.items.move_to_end(etag)
            return hit

    def put(self, etag: str, value) -> None:
        with self.lock:
            self.items[etag] = value
            while len(self.items) > MAX_ENTRIES:
                self.items.popitem(last=False)

    async def wait_or_take(self, etag: str, scope: dict):
        """The cached answer once another request computing it is done; None when this request must compute
        it (it is then the flight others wait for, until ``land``)."""
        with self.lock:
            flight = self.flights.get(etag)
            if flight is None:
                self.flights[etag] = (asyncio.get_running_loop(), asyncio.Event())
                scope[FLIGHT] = etag
                return None
        try:
            await asyncio.wait_for(flight[1].wait(), FLIGHT_WAIT_S)
        except TimeoutError:
            return None
        return self.get(etag)

    def land(self, scope: dict) -> None:
        """Release the requests waiting for this one's answer: called once the answer is built (from any
        thread), before its body is sent, so a streamed download never holds others back while it is read."""
        with self.lock:
            flight = self.flights.pop(scope.pop(FLIGHT, None), None)
        if flight is not None:
            loop, event = flight
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is gone (shutdown): nobody is left waiting on it
                pass


class Landing:
    """Outermost: whatever became of a request that computed a cache miss (answered, failed, cut off),
    release the requests waiting for it."""

    def __init__(self, app, responses: Responses):
        self.app, self.responses = app, responses

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        finally:
            if FLIGHT in scope:
                self.responses.land(scope)


def _cacheable(request: Request) -> bool:
    path = request.scope["path"]
    return (
        request.method in ("GET", "HEAD")
        and path.startswith(PUBLIC_PREFIX)
        and not path.startswith(NO_CACHE)
        and "authorization" not in request.headers
    )


async def before_request(request: Request) -> Response | None:
    if "authorization" in request.headers:
        token_of(request)  # a presented token must be valid, on reads too: a revoked one is refused
    if not _cacheable(request):
        return None
    state = request.app.state
    version, last = state.versions.get(state.engine)
    scope = request.scope
    # The Host is part of the key too: nothing cached may depend on a header an attacker chooses.
    key = f"{version}|{request.headers.get('host', '')}|{scope['path']}|{scope['query_string'].decode('latin-1')}|{request.headers.get('accept', '')}"
    etag = 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'
    request.state.etag = etag
    request.state.last_modified = last
    request.state.http_date = state.versions.http_date
    headers = _headers(request)
    inm = request.headers.get("if-none-match")
    if inm is not None:
        if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
            return Response(content=b"", status_code=304, headers=headers)
    else:
        ims = request.headers.get("if-modified-since")
        if ims and last is not None:
            try:
                if last.replace(microsecond=0) <= parsedate_to_datetime(ims):
                    return Response(content=b"", status_code=304, headers=headers)
            except (TypeError, ValueError):
                pass
    hit = None
    if state.settings.response_cache:
        hit = state.responses.get(etag) or await state.responses.wait_or_take(etag, request.scope)
    if hit is not None:
        body, status, media_type, extra = hit
        return Response(content=body, status_code=status, media_type=media_type, headers={**extra, **headers})
    return None


def _headers(request: Request) -> dict[str, str]:
    headers = {
        "ETag": request.state.etag,
        "Cache-Control": f"public, max-age={request.app.state.settings.cache_max_age_s}",
        "Vary": "Accept, Accept-Encoding",
    }
    if request.state.http_date is not None:
        headers["Last-Modified"] = request.state.http_date
    return headers


def add_headers(response: Response, request: Request, body: bytes | None = None) -> None:
    """Successful public reads carry the validators (and, given their bytes, are cached); others no-store."""
    if getattr(request.state, "etag", None) and response.status_code == 200:
        for k, v in _headers(request).items():
            response.headers.setdefault(k, v)
        if body is not None and len(body) <= MAX_BODY and request.app.state.settings.response_cache:
            extra = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
            request.app.state.responses.put(request.state.etag, (body, 200, response.media_type, extra))
    elif "cache-control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    request.app.state.responses.land(request.scope)  # cached or not (a stream, an error), the waiters may go on


def after_write(request: Request) -> None:
    """A write through this process changes the data at once for its next read."""
    request.app.state.versions.forget()
