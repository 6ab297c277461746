"""Who may act and what they did: API tokens, named accounts of the workspaces (finance, discipline,
admin), their sign-in sessions, and the audit log of every write.

An account is never deleted: disabling it keeps every audit entry that names it meaningful. A
session is stored server-side by the SHA-256 of its cookie secret, with its own CSRF token.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId, Timestamp, utcnow


class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # finance | discipline | admin
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AccountSession(Base):
    __tablename__ = "account_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's secret
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class FlagAssignment(Base):
    """Who a flag is assigned to for review; the latest row per flag holds (``assignee`` None: nobody).
    Append-only, so every hand-over stays on record."""

    __tablename__ = "flag_assignment"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flag.id"), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100))
    assigned_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # finance | discipline | admin
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class AuditLog(Base):
    """Append-only record of every write: who, in what role, did what to which object."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    details_json: Mapped[str | None] = mapped_column(Text)
