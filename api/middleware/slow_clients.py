"""Slow-header connections are timed out (issue 14, item 9): uvicorn itself never does.

A client that opens a connection and sends its request headers a byte at a time (slowloris) would
hold a socket and a protocol object for as long as it likes. ``SlowHeaders`` is uvicorn's
httptools protocol with one timer more: from the moment a connection opens, or a new request on a
kept-alive connection begins, its headers must be complete within ``SUNSHINE_HEADER_TIMEOUT``
seconds (default 10), else the connection is closed. ``sunshine serve`` runs with it; behind a
proxy, the proxy's own header timeout (nginx ``client_header_timeout``) does the same job earlier.
"""

from __future__ import annotations

import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class SlowHeaders(HttpToolsProtocol):
    header_timeout_s = float(os.environ.get("SUNSHINE_HEADER_TIMEOUT") or 10.0)
    _header_timer = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)
