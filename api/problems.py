"""The one place exceptions become RFC 9457 problem details (``application/problem+json``).

Every error the API sends has the same shape: ``type``, ``title``, ``status``, ``detail`` and,
for bad parameters, ``errors`` naming each parameter. A traceback never leaves the server.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from ledger.read.queries import NotFound, QueryError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("sunshine.api")


class ParameterError(msgspec.Struct):
    parameter: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ParameterError] = []


def problem(status: int, detail: str, *, path: str | None = None, errors: list[ParameterError] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    title = HTTPStatus(status).phrase
    slug = title.lower().replace(" ", "-").replace("'", "")
    body = Problem(type=f"https://sunshine-ledger.example/problems/{slug}", title=title, status=status, detail=detail,
                   instance=path, errors=errors or [])
    return Response(content=msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _validation_errors(exc: ValidationException) -> list[ParameterError]:
    missing = _MISSING.search(exc.detail or "")
    if missing:
        return [ParameterError(parameter=missing.group(2), message="is required", source=missing.group(1))]
    out = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            out.append(ParameterError(parameter=str(item.get("key", "")), message=str(item.get("message", "invalid")),
                                      source=item.get("source")))
    return out


def handle(request: Request, exc: Exception) -> Response:
    response = _handle(request, exc)
    from api.middleware.security_headers import headers_for
    from api.web.pages_portal import error_page, is_page

    if is_page(request.url.path) and response.status_code in (400, 404, 405, 500):
        detail = msgspec.json.decode(response.content).get("detail", "")
        response = error_page(request, response.status_code, detail, headers=dict(response.headers) or None)
    # Unmatched paths never reach the middleware: their errors carry the headers from here.
    for name, value in headers_for(request.url.path).items():
        response.headers.setdefault(name, value)
    return response


def _handle(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if isinstance(exc, QueryError):
        return problem(400, str(exc), path=path, errors=[ParameterError(exc.parameter, exc.message, "query")])
    if isinstance(exc, NotFound):
        return problem(404, str(exc), path=path)
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        named = ", ".join(f"{e.parameter}: {e.message}" for e in errors if e.parameter)
        return problem(400, f"Invalid parameter {named}" if named else "The request is not valid", path=path,
                       errors=errors)
    if isinstance(exc, HTTPException):
        detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else _default(exc.status_code)
        return problem(exc.status_code, detail, path=path, headers=exc.headers)
    log.exception("unhandled error on %s", path, exc_info=exc)
    return problem(500, "Something went wrong on our side; it has been logged.", path=path)


def _default(status: int) -> str:
    return {
        401: "A bearer token is required (Authorization: Bearer sl_…).",
        403: "This token's role may not do this.",
        404: "No such resource.",
        405: "Method not allowed here.",
        413: "The request body is too large.",
        429: "Too many requests; slow down.",
    }.get(status, HTTPStatus(status).phrase)


PROBLEM_RESPONSE: dict[str, Any] = {"media_type": MediaType.JSON}
