"""Allowed hosts: refuse requests whose Host header names a host we do not serve.

Litestar's own check compares the Host header with its port, so ``127.0.0.1:8000`` would need
every port listed; this one ignores the port and answers in the problem-details shape.
"""

from __future__ import annotations

import msgspec

from api.problems import PROBLEM_JSON, Problem


class AllowedHosts:
    def __init__(self, app, hosts: list[str]):
        self.app = app
        self.any = "*" in hosts
        self.exact = {h.lower() for h in hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in hosts if h.startswith("*."))

    def allowed(self, host: str) -> bool:
        name = host.lower()
        if name.startswith("["):  # [::1]:8000
            name = name[1 : name.find("]")] if "]" in name else name
        else:
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    async def __call__(self, scope, receive, send):
        if self.any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if self.allowed(host):
            await self.app(scope, receive, send)
            return
        body = msgspec.json.encode(Problem(
            type="https://sunshine-ledger.example/problems/bad-request", title="Bad Request", status=400,
            detail="This server does not answer for that Host header (see SUNSHINE_ALLOWED_HOSTS).",
            instance=scope.get("path")))
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
