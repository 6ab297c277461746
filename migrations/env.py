"""Alembic environment: the URL comes from ledger.config, the metadata from ledger.store.models."""

from alembic import context

from ledger.store.db import make_engine
from ledger.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        # render_as_batch lets ALTERs work on SQLite by table rebuild.
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
