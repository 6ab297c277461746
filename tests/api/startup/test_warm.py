"""A new worker warms its process caches at start-up (``api.warm``, ``SUNSHINE_WARM``): after it, the first
flags page and aggregate compute neither the hidden names nor the coverage again; a failing warm-up, an empty
or an unmigrated database still serve; the setting turns it off.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api import warm
from api.app import create_app
from api.settings import Settings
from ledger.read import totals
from ledger.read.privacy import redactor
from tests.ledgertext import run
from tests.privacy.test_batch_names import _load
from tests.privacy.test_redaction import EXPENSES, LABEL
from tests.store.test_tamper import log_key  # noqa: F401 (autouse)


def _cold() -> None:
    """The caches as a new process has them."""
    for kept in (redactor._names_cache, redactor._decisions, totals._kept, totals._kept_units, totals._kept_coverage):
        kept.clear()


def _app(url: str, on: bool):
    return create_app(url, dataclasses.replace(Settings.from_env(url), warm=on, rate_limit=0))


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    """How often the hidden names are classified and the coverage worked out (the work warming saves)."""
    calls = {"decided": 0, "coverage": 0}
    decided, coverage = redactor._decided, totals._coverage

    def _decided(*args):
        calls["decided"] += 1
        return decided(*args)

    def _coverage(*args):
        calls["coverage"] += 1
        return coverage(*args)

    monkeypatch.setattr(redactor, "_decided", _decided)
    monkeypatch.setattr(totals, "_coverage", _coverage)
    return calls


def _first_requests(client) -> None:
    flags = client.get("/api/v1/flags")
    assert flags.status_code == 200 and flags.json()["data"]
    assert all("张三" not in r["message_zh"] for r in flags.json()["data"])
    assert any(LABEL in r["message_zh"] for r in flags.json()["data"])
    aggregate = client.get("/api/v1/aggregate")
    assert aggregate.status_code == 200
    assert [(c["fiscal_year"], c["reported"], c["expected"]) for c in aggregate.json()["coverage"]] == [(2023, 2, 2)]


def _ledger(engine, tmp_path: Path) -> None:
    _load(engine, tmp_path, "e.csv", EXPENSES, "expenses")
    run(engine)  # flags, one naming a person (张三)


def test_after_start_up_the_first_requests_compute_nothing_again(engine, db_url, tmp_path, counted, caplog):
    _ledger(engine, tmp_path)
    _cold()
    caplog.set_level(logging.INFO, logger="sunshine.api")
    with TestClient(_app(db_url, True), base_url="http://127.0.0.1") as client:
        assert counted["decided"] > 0 and counted["coverage"] == 2  # the years of the answer, and every year
        names = dict(redactor._names_cache)
        assert len(names) == 1 and "张三" in next(iter(names.values()))[1]
        coverage = dict(totals._kept_coverage)
        counted.update(decided=0, coverage=0)
        _first_requests(client)
        assert counted == {"decided": 0, "coverage": 0}
        assert redactor._names_cache == names and all(totals._kept_coverage[k] is v for k, v in coverage.items())
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("warm-up")]
    assert len(lines) == 1 and lines[0].startswith("warm-up: totals and coverage of 1 year(s), ")


def test_without_warming_the_first_requests_pay(engine, db_url, tmp_path, counted):
    _ledger(engine, tmp_path)
    _cold()
    with TestClient(_app(db_url, False), base_url="http://127.0.0.1") as client:
        assert counted == {"decided": 0, "coverage": 0} and not redactor._names_cache
        _first_requests(client)
        assert counted["decided"] > 0 and counted["coverage"] == 2


def test_a_failing_warm_up_still_serves(engine, db_url, tmp_path, monkeypatch, caplog):
    _ledger(engine, tmp_path)

    def broken(engine):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(warm, "caches", broken)
    caplog.set_level(logging.INFO, logger="sunshine.api")
    with TestClient(_app(db_url, True), base_url="http://127.0.0.1") as client:
        _first_requests(client)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("warm-up")]
    assert len(lines) == 1 and lines[0].startswith("warm-up skipped after ")
    assert lines[0].endswith("RuntimeError: disk on fire")


def test_an_empty_or_unmigrated_database_starts(db_url, tmp_path, caplog):
    _cold()
    caplog.set_level(logging.INFO, logger="sunshine.api")
    with TestClient(_app(db_url, True), base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/aggregate").json()["coverage"] == []
    new = f"sqlite:///{tmp_path / 'new.sqlite3'}"  # no tables at all
    with TestClient(_app(new, True), base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/health").status_code == 500
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("warm-up")]
    assert lines[0].startswith("warm-up: totals and coverage of 0 year(s), 0 hidden name(s) in ")
    assert lines[1].startswith("warm-up skipped after ") and "OperationalError" in lines[1]


def test_the_setting(monkeypatch):
    monkeypatch.delenv("SUNSHINE_WARM", raising=False)
    assert Settings.from_env().warm is True  # ``sunshine serve``
    monkeypatch.setenv("SUNSHINE_WARM", "0")
    assert Settings.from_env().warm is False
    assert Settings().warm is False  # an app built from explicit settings warms only when asked
