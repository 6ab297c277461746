"""Streamed downloads that a slow, stalled or vanished client cannot turn into a denial of service.

Three bounds, all configuration (``api.settings``):

- **number**: at most ``stream_max`` downloads run at once per worker; the next gets 503 with
  ``Retry-After`` instead of queueing on the database pool;
- **stall**: a chunk the client does not take within ``stream_stall_s`` seconds ends the download
  (the connection is closed, the rest is not sent);
- **time**: a download still running after ``stream_timeout_s`` seconds ends the same way.

The chunks come from ``ledger.read.downloads`` (or the log's canonical rows), each read on a worker
thread in a transaction of its own, so between chunks — and above all while a client is not
reading — the download holds no database connection and no transaction.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.response import Stream

log = logging.getLogger("sunshine.api")


class Slots:
    """A count of running downloads with a ceiling (per worker process)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.limit > 0 and self.used >= self.limit:
                return False
            self.used += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.used = max(0, self.used - 1)


def take_slot(request: Request) -> None:
    """Reserve a download slot, or answer 503 with ``Retry-After`` when every slot is taken."""
    if not request.app.state.streams.acquire():
        raise HTTPException(status_code=503, detail="Too many downloads are running; try again shortly.",
                            headers={"Retry-After": "5"})


async def chunks_in_threads(fetch: Callable[[], bytes | None]) -> AsyncIterator[bytes]:
    """Call ``fetch`` on a worker thread until it returns None, yielding what it returns."""
    while True:
        piece = await anyio.to_thread.run_sync(fetch)
        if piece is None:
            return
        if piece:
            yield piece


ABORT = "sunshine.abort"


class KeepTransport:
    """Outermost ASGI wrapper: notes the server's transport in the scope (``remember_transport``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        remember_transport(scope, send)
        await self.app(scope, receive, send)


def remember_transport(scope, send) -> None:
    """Keep a way to drop the connection at once (uvicorn's transport), for a download cut off mid-way.

    Closing politely would first flush what the server already buffered, which a stalled client
    never takes; aborting frees the socket now. Under another server this finds nothing and the
    connection is closed the polite way.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        scope[ABORT] = partial(_reset, transport)


def _reset(transport) -> None:
    # Without SO_LINGER 0 the kernel would still deliver its whole send buffer (megabytes) to the
    # client after the close; with it the close is a reset and the socket is gone at once.
    sock = transport.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    transport.abort()


class _Guarded:
    """Sends an inner ASGI streaming response with the stall and total-time bounds, then frees the slot."""

    def __init__(self, inner: Any, iterator: Any, slots: Slots, stall_s: float, total_s: float, path: str,
                 abort: Callable[[], None] | None):
        self.inner, self.iterator, self.slots, self.abort = inner, iterator, slots, abort
        self.stall_s, self.total_s, self.path = stall_s, total_s, path
        self.released = False

    def _release(self) -> None:
        if not self.released:
            self.released = True
            self.slots.release()

    def __del__(self) -> None:  # a response built but never sent must not keep its slot
        self._release()

    async def __call__(self, scope, receive, send) -> None:
        why = None
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self.total_s) as whole:

                async def timed_send(message) -> None:
                    nonlocal why
                    if message["type"] != "http.response.body":
                        await send(message)
                        return
                    with anyio.move_on_after(self.stall_s) as step:
                        await send(message)
                    if step.cancelled_caught:
                        why = f"the client took nothing for {self.stall_s:g} s"
                        whole.cancel()
                        await anyio.lowlevel.checkpoint()

                await self.inner(scope, receive, timed_send)
            if whole.cancelled_caught and why is None:
                why = f"it ran over {self.total_s:g} s"
        finally:
            self._release()
            with anyio.CancelScope(shield=True):
                close = getattr(self.iterator, "aclose", None)
                if close is not None:
                    await close()
        if why is not None:
            log.warning("download %s stopped: %s", self.path, why)
            if self.abort is not None:
                self.abort()
            # Else returning without the final body event makes the server close the connection.


class GuardedStream(Stream):
    """A ``Stream`` whose sending is bounded (stall, total time) and which frees its download slot."""

    def to_asgi_response(self, app, request: Request, **kwargs):  # type: ignore[override]
        inner = super().to_asgi_response(app, request, **kwargs)
        s = request.app.state.settings
        return _Guarded(inner, inner.iterator, request.app.state.streams, s.stream_stall_s, s.stream_timeout_s,
                        request.scope["path"], request.scope.get(ABORT))
