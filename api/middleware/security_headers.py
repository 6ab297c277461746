"""Security headers: ``nosniff`` on every response; a strict Content-Security-Policy, no framing and a
referrer policy on the public pages (not on ``/api/``, whose schema UI is its own page).

The pages use no JavaScript, no inline styles and nothing from other origins, so ``default-src 'self'``
holds; chart images come from our own ``/api/v1/charts``.
"""

from __future__ import annotations

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; font-src 'self'; script-src 'none'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
ALWAYS = [(b"x-content-type-options", b"nosniff")]
PAGES = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
         (b"referrer-policy", b"strict-origin-when-cross-origin")]


def headers_for(path: str) -> dict[str, str]:
    """The same headers as a dict, for responses made outside the middleware (errors of unmatched paths)."""
    pairs = ALWAYS if path.startswith("/api/") else ALWAYS + PAGES
    return {k.decode(): v.decode() for k, v in pairs}


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = ALWAYS if scope["path"].startswith("/api/") else ALWAYS + PAGES

        async def sending(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in extra if k not in names)]
            await send(message)

        await self.app(scope, receive, sending)
