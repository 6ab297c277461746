"""The HTTP manners around every route: guards (NUL bytes, HEAD, security headers), host checks, the
response cache, rate limits, slow-header and slow-reader bounds, strict parameters.

Imports nothing from ``api.routes`` or ``api.web``: routes and pages sit on top of it.
"""
