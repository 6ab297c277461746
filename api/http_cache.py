"""ETag, Last-Modified, 304s and Cache-Control for public reads.

Published rows are append-only, so ``ledger.queries.data_version`` (newest batch, audit entry,
check run, review, unit) identifies what every public read returns; with the URL and the Accept
header it makes a validator without running the read itself.
"""

from __future__ import annotations

import hashlib
from email.utils import format_datetime, parsedate_to_datetime

from litestar import Request, Response

from api.auth import token_of
from ledger.db import reading
from ledger.queries import data_version

PUBLIC_PREFIX = "/api/v1/"
NO_CACHE = ("/api/v1/schema", "/api/v1/audit", "/api/v1/imports", "/api/v1/tokens")


def _cacheable(request: Request) -> bool:
    path = request.url.path
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
    with reading(request.app.state.engine) as conn:
        version, last = data_version(conn)
    key = f"{version}|{request.url.path}|{request.url.query}|{request.headers.get('accept', '')}"
    etag = 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'
    request.state.etag = etag
    request.state.last_modified = last
    headers = _headers(request)
    inm = request.headers.get("if-none-match")
    if inm is not None:
        if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
            return Response(content=b"", status_code=304, headers=headers)
        return None
    ims = request.headers.get("if-modified-since")
    if ims and last is not None:
        try:
            if last.replace(microsecond=0) <= parsedate_to_datetime(ims):
                return Response(content=b"", status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    return None


def _headers(request: Request) -> dict[str, str]:
    headers = {
        "ETag": request.state.etag,
        "Cache-Control": f"public, max-age={request.app.state.settings.cache_max_age_s}",
        "Vary": "Accept, Accept-Encoding",
    }
    if request.state.last_modified is not None:
        headers["Last-Modified"] = format_datetime(request.state.last_modified, usegmt=True)
    return headers


def add_headers(response: Response, request: Request) -> None:
    """Called from the handler helpers: successful public reads carry the validators."""
    if getattr(request.state, "etag", None) and response.status_code == 200:
        for k, v in _headers(request).items():
            response.headers.setdefault(k, v)
    elif "cache-control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
