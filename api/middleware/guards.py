"""The outermost HTTP manners (issue 14): refuse NUL bytes, answer HEAD, send the browser security headers.

- A NUL byte (``%00``) anywhere in the path or the query string is a 400 problem naming where it
  was, before any handler or database sees it: PostgreSQL text cannot hold NUL, and it used to turn
  a filter into a 500, or a download into a 200 cut off mid-file.
- ``HEAD`` is answered for every ``GET`` route: the request runs as a GET and only the status and
  headers are sent; a streamed download is stopped right after its headers.
- Every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy`` and a ``Content-Security-Policy`` (not on the interactive API docs, whose
  renderer loads its scripts from a CDN).
"""

from __future__ import annotations

import msgspec

from api.problems import PROBLEM_JSON, Problem

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
DOCS_PREFIX = "/api/v1/schema"


def _bad_request(detail: str, path: str, parameter: str) -> bytes:
    from api.problems import ParameterError

    return msgspec.json.encode(Problem(
        type="https://sunshine-ledger.example/problems/bad-request", title="Bad Request", status=400, detail=detail,
        instance=path.replace("\x00", "\\u0000"), errors=[ParameterError(parameter, "contains a NUL byte", "query")]))


class Guards:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, query = scope.get("path", ""), scope.get("query_string", b"")
        csp = not path.startswith(DOCS_PREFIX)

        async def send_secured(message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in have]
                if csp and b"content-security-policy" not in have:
                    extra.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        where = "path" if "\x00" in path else "query" if (b"\x00" in query or b"%00" in query.lower()) else None
        if where is not None:
            parameter = where
            if where == "query":
                for pair in query.split(b"&"):
                    if b"\x00" in pair or b"%00" in pair.lower():
                        parameter = pair.split(b"=", 1)[0].decode("latin-1", "replace").replace("%00", "") or "query"
                        break
            body = _bad_request(f"The {where} contains a NUL byte (%00), which no value here may hold.", path, parameter)
            await send_secured({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store")]})
            await send_secured({"type": "http.response.body", "body": body})
            return

        if scope["method"] != "HEAD":
            await self.app(scope, receive, send_secured)
            return
        await self._head(scope, receive, send_secured)

    async def _head(self, scope, receive, send) -> None:
        """Run a HEAD as the GET it mirrors; send its status and headers and an empty body."""
        done = False

        async def send_head(message) -> None:
            nonlocal done
            if done:
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                done = True  # the server then reports the client as gone, which stops a stream
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_head)
