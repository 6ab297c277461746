"""Engines and transactions.

SQLite runs in WAL mode with full fsync, foreign keys on and a busy timeout; a write takes the
database lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock half-way through.
Reads use a plain deferred ``BEGIN`` so they never block writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine, event

from ledger.config import database_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "sunshine_write"


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` (or the configured database) with our connection settings."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """A shared engine per URL, for long-lived processes (the API server)."""
    return make_engine(url)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # We emit BEGIN ourselves: pysqlite's implicit transactions cannot do BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        # Straight to the driver: this runs on every read request, and the full execute path costs ~8%.
        conn.connection.driver_connection.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN"
        )


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One all-or-nothing write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction: one consistent snapshot for everything read inside it."""
    with engine.connect() as conn, conn.begin():
        yield conn
