"""Per-client rate limiting of public reads: a fixed window per client address, in process.

Over the limit a client gets 429 problem details with ``Retry-After``. Writes are not limited
here: they need a token. Each worker process counts on its own, so with N workers a client may
make up to N times the limit; put a shared limiter in the proxy for a hard cap.
"""

from __future__ import annotations

import math
import time

import msgspec

from api.problems import PROBLEM_JSON, Problem

EXEMPT = ("/api/v1/schema",)


class RateLimit:
    def __init__(self, app, limit: int, window_s: int):
        self.app, self.limit, self.window = app, limit, window_s
        self.counts: dict[str, tuple[int, int]] = {}

    async def __call__(self, scope, receive, send):
        if self.limit <= 0 or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        window = int(now // self.window)
        start, count = self.counts.get(client, (window, 0))
        if start != window:
            if len(self.counts) > 100_000:
                self.counts.clear()  # bound memory under address churn
            start, count = window, 0
        count += 1
        self.counts[client] = (start, count)
        if count > self.limit:
            retry = max(1, math.ceil((window + 1) * self.window - now))
            body = msgspec.json.encode(Problem(
                type="https://sunshine-ledger.example/problems/too-many-requests", title="Too Many Requests",
                status=429, detail=f"More than {self.limit} requests in {self.window} s; retry after {retry} s.",
                instance=scope["path"]))
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", PROBLEM_JSON.encode()), (b"retry-after", str(retry).encode()),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
