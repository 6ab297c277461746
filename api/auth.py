"""Bearer tokens and role guards. Reads are public; writes and restricted reads need a role."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from ledger.review.tokens import TokenInfo, verify
from ledger.store.db import reading


def token_of(connection: ASGIConnection) -> TokenInfo | None:
    """The live token presented, if any; a presented but unknown or revoked token is refused."""
    if hasattr(connection.state, "token"):
        return connection.state.token
    header = connection.headers.get("authorization")
    info = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException("Use Authorization: Bearer <token>.", headers={"WWW-Authenticate": "Bearer"})
        with reading(connection.app.state.engine) as conn:
            info = verify(conn, secret.strip())
        if info is None:
            raise NotAuthorizedException("The token is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"})
    connection.state.token = info
    return info


def reveals_personal(connection: ASGIConnection) -> bool:
    """True when the caller may see natural persons' names (any live token: finance, discipline, admin).

    Everyone else reads them as 个人（已隐去） (``ledger.read.privacy``); a bad token is refused as everywhere."""
    return token_of(connection) is not None


def require(*roles: str):
    """A guard admitting tokens with one of ``roles``."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        info = token_of(connection)
        if info is None:
            raise NotAuthorizedException("A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
        if info.role not in roles:
            raise PermissionDeniedException(f"A {info.role} token may not do this; it needs the {' or '.join(roles)} role.")

    return guard
