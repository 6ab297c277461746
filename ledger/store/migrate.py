"""Run alembic migrations programmatically, so the CLI and the tests share one path."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ledger.config import database_url
from ledger.store.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None, revision: str) -> None:
    """Take the database at ``url`` down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def check_drift(url: str | None = None) -> list:
    """Differences between the models and the migrated database (empty when they agree)."""
    from alembic.autogenerate import compare_metadata

    from ledger.store.derived.search_index import is_index_object
    from ledger.store.models import Base
    from ledger.store.upkeep.partitions import PARTITIONED, partitions

    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:  # PostgreSQL's year partitions (0011_partition) are not models
        parts = {p["partition"] for t in PARTITIONED for p in partitions(conn, t)}

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if (name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)) in parts:
            return False
        # The FTS5 tables are not models; the pg_trgm GIN index exists on PostgreSQL only.
        # The sort expressions' indexes (``ix_sort_*``, migration 0010) are not models either.
        if type_ == "index" and (name or "").startswith("ix_sort_"):
            return False
        return not is_index_object(name, type_) and not (sqlite and name == "ix_search_text_body_trgm")

    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
            with warnings.catch_warnings():  # SQLite cannot reflect the ix_sort_* expression indexes; they are skipped above
                warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index ix_sort_")
                return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
