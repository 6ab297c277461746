"""API tokens: random secrets shown once, stored only as SHA-256 hashes, each with one role.

Roles: ``finance`` (imports, corrections), ``discipline`` (reviews, restricted notes) and
``admin`` (tokens, the audit log). Creating and revoking a token are writes, so both go to the
audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from ledger.store import audit
from ledger.store.models import ApiToken, utcnow

ROLES = ("finance", "discipline", "admin")
PREFIX = "sl_"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, *, name: str, role: str, actor: str = "cli") -> tuple[str, TokenInfo]:
    """Create a token; returns the secret (never stored, shown once) and its record."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip():
        raise ValueError("a token needs a name saying who holds it")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token_id = conn.execute(
        insert(ApiToken)
        .values(name=name, role=role, token_sha256=digest(secret), created_at=now)
        .returning(ApiToken.id)
    ).scalar_one()
    audit.record(conn, actor=actor, action="token.create", object_type="api_token", object_id=token_id,
                 details={"name": name, "role": role})
    return secret, TokenInfo(token_id, name, role, now, None)


def list_tokens(conn: Connection) -> list[TokenInfo]:
    """Every token, revoked ones included, oldest first (never the secret)."""
    rows = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.created_at, ApiToken.revoked_at).order_by(ApiToken.id)
    )
    return [TokenInfo(*r) for r in rows]


def revoke(conn: Connection, token_id: int, *, actor: str = "cli") -> bool:
    """Revoke a token by id; False when no live token has that id."""
    done = conn.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount
    if done:
        audit.record(conn, actor=actor, action="token.revoke", object_type="api_token", object_id=token_id)
    return bool(done)


def verify(conn: Connection, secret: str) -> TokenInfo | None:
    """The live token matching ``secret``, or None (unknown or revoked)."""
    if not secret.startswith(PREFIX):
        return None
    row = conn.execute(
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.created_at, ApiToken.revoked_at).where(
            ApiToken.token_sha256 == digest(secret)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return TokenInfo(*row)
