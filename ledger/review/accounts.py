"""Named accounts for the web workspaces, their passwords (argon2id) and server-side sessions.

Roles are those of the API tokens: ``finance`` (imports), ``discipline`` (reviews), ``admin``
(accounts). An account is disabled, never deleted. After ``MAX_FAILURES`` wrong passwords in a row
the account is locked for ``LOCK_MINUTES``; a right password during the lock is refused too.
A session is a random cookie secret stored only as its SHA-256, with its own CSRF token. Every
change goes to the audit log naming the account that made it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, insert, select, update

from ledger.i18n import t
from ledger.review import tokens
from ledger.review.tokens import ROLES
from ledger.store import audit
from ledger.store.models import Account, AccountSession, ApiToken, utcnow

MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_HOURS = 8
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone")


class AccountRefused(ValueError):
    """An account change the rules do not allow; the message (from the catalogue) says why.

    ``str(exc)`` is in the language in force (the CLI's); ``text(lang)`` in a page's language.
    """

    def __init__(self, msgid: str, **fields):
        self.msgid, self.fields = msgid, fields
        super().__init__(t(msgid, **fields))

    def text(self, lang: str) -> str:
        return t(self.msgid, lang, **self.fields)


@dataclass(frozen=True)
class AccountInfo:
    id: int
    username: str
    display_name: str
    role: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    locked_until: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class Session:
    account: AccountInfo
    csrf_token: str
    expires_at: dt.datetime


_COLUMNS = (Account.id, Account.username, Account.display_name, Account.role, Account.created_at,
            Account.disabled_at, Account.locked_until)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def _info(row) -> AccountInfo:
    return AccountInfo(row.id, row.username, row.display_name, row.role, _aware(row.created_at),
                       _aware(row.disabled_at), _aware(row.locked_until))


def create(conn: Connection, *, username: str, password: str, role: str, display_name: str | None = None,
           actor: str = "cli") -> AccountInfo:
    """Create an account; ``AccountRefused`` for a bad name, role, short password or a name in use."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountRefused("account.refused.username")
    if role not in ROLES:
        raise AccountRefused("account.refused.role", roles=", ".join(ROLES), role=role)
    if len(password) < MIN_PASSWORD:
        raise AccountRefused("account.refused.password", min=MIN_PASSWORD)
    if conn.execute(select(Account.id).where(Account.username == username)).first():
        raise AccountRefused("account.refused.taken", username=username)
    now = utcnow()
    account_id = conn.execute(insert(Account).values(
        username=username, display_name=(display_name or username).strip(), role=role,
        password_hash=_hasher.hash(password), failed_logins=0, created_at=now,
    ).returning(Account.id)).scalar_one()
    audit.record(conn, actor=actor, action="account.create", object_type="account", object_id=account_id,
                 details={"username": username, "role": role})
    return AccountInfo(account_id, username, (display_name or username).strip(), role, now, None)


def list_accounts(conn: Connection) -> list[AccountInfo]:
    """Every account, disabled ones included, oldest first (never the hash)."""
    return [_info(r) for r in conn.execute(select(*_COLUMNS).order_by(Account.id))]


def get(conn: Connection, username: str) -> AccountInfo | None:
    row = conn.execute(select(*_COLUMNS).where(Account.username == username.strip().lower())).first()
    return _info(row) if row else None


def disable(conn: Connection, username: str, *, actor: str = "cli") -> bool:
    """Disable an account, end its sessions and revoke the API tokens made for it (``token create
    --account``: named by its username); False when no active account has that name."""
    row = conn.execute(select(Account.id).where(Account.username == username.strip().lower(),
                                                Account.disabled_at.is_(None))).first()
    if row is None:
        return False
    now = utcnow()
    conn.execute(update(Account).where(Account.id == row.id).values(disabled_at=now))
    conn.execute(update(AccountSession).where(AccountSession.account_id == row.id,
                                              AccountSession.ended_at.is_(None)).values(ended_at=now))
    audit.record(conn, actor=actor, action="account.disable", object_type="account", object_id=row.id,
                 details={"username": username.strip().lower()})
    for token_id in conn.execute(select(ApiToken.id).where(ApiToken.name == username.strip().lower(),
                                                           ApiToken.revoked_at.is_(None))).scalars().all():
        tokens.revoke(conn, token_id, actor=actor)
    return True


def authenticate(conn: Connection, username: str, password: str) -> AccountInfo | None:
    """The account when the password is right and the account neither disabled nor locked, else None.

    Each failure counts; the ``MAX_FAILURES``-th in a row locks the account for ``LOCK_MINUTES``.
    Both outcomes go to the audit log (a failure with the name typed, never the password).
    """
    name = username.strip().lower()
    row = conn.execute(select(*_COLUMNS, Account.password_hash, Account.failed_logins)
                       .where(Account.username == name)).first()
    if row is None:
        _check(_DUMMY, password)
        audit.record(conn, actor=name[:200] or "?", action="account.login_failed", details={"reason": "unknown"})
        return None
    now = utcnow()
    locked = _aware(row.locked_until)
    if row.disabled_at is not None or (locked is not None and locked > now):
        _check(_DUMMY, password)
        reason = "disabled" if row.disabled_at is not None else "locked"
        audit.record(conn, actor=name, role=row.role, action="account.login_failed", object_type="account",
                     object_id=row.id, details={"reason": reason})
        return None
    if not _check(row.password_hash, password):
        failures = row.failed_logins + 1
        values: dict = {"failed_logins": failures}
        if failures >= MAX_FAILURES:
            values = {"failed_logins": 0, "locked_until": now + dt.timedelta(minutes=LOCK_MINUTES)}
        conn.execute(update(Account).where(Account.id == row.id).values(**values))
        audit.record(conn, actor=name, role=row.role, action="account.login_failed", object_type="account",
                     object_id=row.id, details={"reason": "password", "failures": failures,
                                                "locked": failures >= MAX_FAILURES})
        return None
    values = {"failed_logins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(update(Account).where(Account.id == row.id).values(**values))
    return _info(row)


def _check(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(conn: Connection, account: AccountInfo) -> tuple[str, Session]:
    """A new session for ``account``: the cookie secret (never stored) and the session."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + dt.timedelta(hours=SESSION_HOURS)
    conn.execute(insert(AccountSession).values(id=_digest(secret), account_id=account.id, csrf_token=csrf,
                                               created_at=now, expires_at=expires))
    audit.record(conn, actor=account.username, role=account.role, action="account.login", object_type="account",
                 object_id=account.id)
    return secret, Session(account, csrf, expires)


def session_of(conn: Connection, secret: str | None) -> Session | None:
    """The live session for a cookie secret: not ended, not expired, its account not disabled."""
    if not secret:
        return None
    row = conn.execute(
        select(*_COLUMNS, AccountSession.csrf_token, AccountSession.expires_at)
        .join(AccountSession, AccountSession.account_id == Account.id)
        .where(AccountSession.id == _digest(secret), AccountSession.ended_at.is_(None), Account.disabled_at.is_(None))
    ).first()
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    return Session(_info(row), row.csrf_token, _aware(row.expires_at))


def end_session(conn: Connection, secret: str | None) -> bool:
    """Sign out: the session ends (kept, with its end time). False when there was none."""
    session = session_of(conn, secret)
    if session is None:
        return False
    conn.execute(update(AccountSession).where(AccountSession.id == _digest(secret)).values(ended_at=utcnow()))
    audit.record(conn, actor=session.account.username, role=session.account.role, action="account.logout",
                 object_type="account", object_id=session.account.id)
    return True


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Whether a form carried this session's CSRF token (compared in constant time)."""
    return bool(presented) and hmac.compare_digest(session.csrf_token.encode(), str(presented).encode())
