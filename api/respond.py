"""Turning a ledger answer into a response in the format asked for, with cache validators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
import msgspec
from litestar import Request, Response
from sqlalchemy import Connection

from api.formats import FORMATS, csv_chunks, ndjson_chunks, rows_as_tuples
from api.middleware.http_cache import add_headers
from ledger.read import asof
from ledger.read.queries import Dataset, Page
from ledger.store.batches import pinned
from ledger.store.db import reading


def meta(request: Request) -> dict[str, Any]:
    """Licence and source; and, for an ``as_of`` read, the signed checkpoint the answer is as of."""
    s = request.app.state.settings
    out: dict[str, Any] = {"license": s.data_license, "source": s.data_source}
    cp = checkpoint_of(request)
    if cp is not None:
        out["checkpoint"] = cp
    return out


def checkpoint_of(request: Request) -> dict | None:
    """The checkpoint ``read`` pinned this request to (None when it asked for the current data)."""
    return getattr(request.state, "checkpoint", None)


def checkpoint_headers(request: Request) -> dict[str, str]:
    cp = checkpoint_of(request)
    return {} if cp is None else {"X-Checkpoint-Size": str(cp["size"]), "X-Checkpoint-Root": cp["root_hash"]}


@contextmanager
def pinned_to(request: Request, conn: Connection) -> Iterator[None]:
    """Pin the reads in this block to the request's ``as_of`` checkpoint (``ledger.read.asof``), if it gave one."""
    cp, pin = asof.resolve(conn, request.query_params.get(asof.PARAMETER))
    if cp is not None:
        request.state.checkpoint = cp
    with pinned(pin):
        yield


def query_pairs(request: Request, leave_out: str) -> list[tuple[str, str]]:
    """The request's query parameters in the order the client sent them, without ``leave_out``.

    Litestar's ``query_params`` groups them in a dict whose order follows the hash seed, so links
    built from it differed between processes (and so between cached copies of the same answer).
    """
    raw = request.scope.get("query_string", b"").decode("utf-8", "replace")
    return [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != leave_out]


def next_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    pairs = query_pairs(request, "cursor")
    return f"{request.scope['path']}?{urlencode([*pairs, ('cursor', cursor)])}"


@contextmanager
def read(request: Request) -> Iterator[Connection]:
    """A read transaction for a handler's ``blocking`` function.

    Inline SQLite reads all run on the event loop's thread, one at a time, so they share one
    connection kept by the app instead of checking one out of the pool per request; each read is
    still its own transaction (its own snapshot), committed at the end. Otherwise
    ``ledger.store.db.reading``. An ``as_of`` parameter pins every read inside to that checkpoint.
    """
    state = request.app.state
    if not state.inline_reads:
        with reading(state.engine) as conn, pinned_to(request, conn):
            yield conn
        return
    conn = state.get("read_connection")
    if conn is None or conn.closed or conn.invalidated:
        conn = state.read_connection = state.engine.connect()
    with conn.begin(), pinned_to(request, conn):
        yield conn


async def blocking(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a database read: inline on SQLite, on a worker thread otherwise.

    A SQLite read of a page or a rollup takes about a millisecond and never waits on the network
    (WAL readers do not wait for writers), so handing it to a thread costs more than it saves. A
    PostgreSQL read waits on the server: it goes to a thread so the event loop keeps serving.
    """
    if request.app.state.inline_reads:
        return fn(*args)
    return await anyio.to_thread.run_sync(partial(fn, *args))


_json = msgspec.json.Encoder()


def reply(request: Request, content: Any, status: int = 200, headers: dict[str, str] | None = None,
          media_type: str = "application/json") -> Response:
    body = content if isinstance(content, bytes) else _json.encode(content)
    headers = {**checkpoint_headers(request), **(headers or {})} or None
    response = Response(content=body, status_code=status, headers=headers, media_type=media_type)
    add_headers(response, request, body)
    return response


def table(request: Request, fmt: str, fields: list[tuple[str, str]], rows: list[tuple], json_body: Any,
          headers: dict[str, str] | None = None) -> Response:
    """JSON (``json_body``) or the same rows as CSV or NDJSON."""
    if fmt == "json":
        return reply(request, json_body, headers=headers)
    names = [n for n, _ in fields]
    chunks = csv_chunks(fields, [rows]) if fmt == "csv" else ndjson_chunks(names, [rows])
    return reply(request, b"".join(chunks), headers=headers, media_type=FORMATS[fmt])


def page(request: Request, ds: Dataset, result: Page, fmt: str) -> Response:
    nxt = next_url(request, result.next_cursor)
    headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
    if result.total is not None:
        headers["X-Total-Count"] = str(result.total)
        headers["X-Total-Exact"] = "true" if result.total_exact else "false"
    fields = [(n, t) for n, t, _ in ds.output_fields()]
    body = None
    if fmt == "json":
        body = {"data": result.rows, "next_cursor": result.next_cursor, "next": nxt, "total": result.total,
                "total_exact": result.total_exact, "limit": result.limit, "sort": result.sort, **meta(request)}
        return table(request, fmt, fields, [], body, headers)
    return table(request, fmt, fields, rows_as_tuples(result.rows, [n for n, _ in fields]), body, headers)
