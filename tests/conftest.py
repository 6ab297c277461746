"""Every store test runs on SQLite, and on PostgreSQL when SUNSHINE_TEST_POSTGRES_URL is set.

Each test gets a freshly migrated database of its own: a copy of a migrated SQLite file, or a
PostgreSQL database cloned from a migrated template. PostgreSQL databases are created by this run
and dropped at its end, so whatever earlier runs left behind never matters.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ledger.config import normalise_url
from ledger.store import migrate
from ledger.store.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REAL = ROOT / "tests" / "fixtures" / "real"
PG_URL = os.environ.get("SUNSHINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
RUN_ID = uuid.uuid4().hex[:8]
# The apps (and servers) tests build start cold: warming is tested on its own (tests/api/startup).
os.environ["SUNSHINE_WARM"] = "0"


def _pg_admin():
    url = make_url(normalise_url(PG_URL))
    return psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        dbname=url.database, autocommit=True,
    )


def _pg_url(dbname: str) -> str:
    return make_url(normalise_url(PG_URL)).set(database=dbname).render_as_string(hide_password=False)


class Databases:
    """Hands out fresh migrated databases per backend, built from one migrated template each."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_created: list[str] = []

    def fresh(self, backend: str) -> str:
        if backend == "sqlite":
            if self.sqlite_template is None:
                self.sqlite_template = self.tmp / "template.sqlite3"
                migrate.upgrade(f"sqlite:///{self.sqlite_template}")
            path = self.tmp / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
            shutil.copyfile(self.sqlite_template, path)
            return f"sqlite:///{path}"
        if self.pg_template is None:
            self.pg_template = f"sunshine_{RUN_ID}_tpl"
            with _pg_admin() as admin:
                admin.execute(f'CREATE DATABASE "{self.pg_template}"')
            self.pg_created.append(self.pg_template)
            migrate.upgrade(_pg_url(self.pg_template))
        name = f"sunshine_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
        self.pg_created.append(name)
        return _pg_url(name)

    def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            name = make_url(url).database
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.pg_created.remove(name)

    def close(self) -> None:
        if self.pg_created:
            with _pg_admin() as admin:
                for name in reversed(self.pg_created):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(databases, backend) -> str:
    """A freshly migrated, empty database of its own for this test."""
    url = databases.fresh(backend)
    yield url
    databases.drop(url)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def empty_db_url(databases, backend, tmp_path) -> str:
    """An empty, never-migrated database, for migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"sunshine_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    databases.pg_created.append(name)
    url = _pg_url(name)
    yield url
    databases.drop(url)


@pytest.fixture(autouse=True)
def _chinese_by_default(monkeypatch):
    """Messages are Chinese unless a test asks for English: the machine's locale never decides a test."""
    from ledger.i18n import set_language

    monkeypatch.delenv("SUNSHINE_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    set_language(None)
    yield
    set_language(None)
