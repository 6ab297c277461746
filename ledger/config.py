"""Settings read from the environment; one place so every entry point agrees."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "sunshine.sqlite3"


def database_url(override: str | None = None) -> str:
    """The database to use: ``override``, else ``SUNSHINE_DATABASE_URL``, else SQLite under ``var/``."""
    if override:
        return normalise_url(override)
    env = os.environ.get("SUNSHINE_DATABASE_URL")
    if env:
        return normalise_url(env)
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs through psycopg 3, the only PostgreSQL driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
