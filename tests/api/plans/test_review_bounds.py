"""Target results: an id-ordered page starts at its target's or status's first result (``page_bound``).

The bound is a condition every match meets, so the pages are the plain query's: checked here page by page,
both directions, against the results written, with an older full run and a newer one-year run beside the
latest full run (neither may show), for each filter combination the bound reads.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import insert, update

from ledger.read import queries
from ledger.read.datasets import DATASETS
from ledger.read.types import Filters
from ledger.store import batches
from ledger.store.db import reading, writing
from ledger.store.models import CheckRun, PolicyTarget, TargetResult

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TARGETS = ("a-cut", "b-cut", "c-cut")
STATUSES = ("no_data", "met", "missed", "insufficient_data")
UNITS = ("U1", "U2", "U3")
YEARS = (2022, 2023)


def _seed(engine) -> list[tuple[int, str, str, str, int]]:
    """Three runs; the latest full run's results (id, target, status, unit, year), written target by target."""
    latest = []
    with writing(engine) as conn:
        bid = batches.create_batch(conn, kind="expenses", file_name="u.csv", sha256="a" * 64, submitted_by="clerk")
        units = batches.ensure_units(conn, [(u, u) for u in UNITS], bid)
        for tid in TARGETS:
            conn.execute(insert(PolicyTarget).values(
                id=tid, title=tid, source_document="doc", scope_kind="all", scope_values="[]", measure="actual",
                category_code="reception", baseline="prior_year", change_pct=-5, definition_sha256="2" * 64,
                loaded_at=T0))
        statuses = itertools.cycle(STATUSES[:3] + STATUSES[1:2])  # met twice a cycle; insufficient_data never
        for n, year in enumerate((None, None, 2023)):  # an older full run, the latest, then a one-year run
            run = conn.execute(insert(CheckRun).values(started_at=T0 + dt.timedelta(hours=n), fingerprint=str(n) * 64,
                                                       fiscal_year=year).returning(CheckRun.id)).scalar_one()
            for tid, unit, fy in itertools.product(TARGETS[:2] if n == 2 else TARGETS, UNITS, YEARS):
                status = next(statuses) if tid != "b-cut" else "no_data"
                rid = conn.execute(insert(TargetResult).values(
                    run_id=run, target_id=tid, unit_id=units[unit], fiscal_year=fy, status=status)
                    .returning(TargetResult.id)).scalar_one()
                if n == 1:
                    latest.append((rid, tid, status, unit, fy))
        conn.execute(update(CheckRun).values(finished_at=T0))
    return latest


CASES = [
    Filters(target=["b-cut"]), Filters(target=["c-cut", "a-cut"]), Filters(target=["nope"]),
    Filters(target=["nope", "c-cut"]), Filters(status=["met"]), Filters(status=["missed", "no_data"]),
    Filters(status=["insufficient_data"]), Filters(target=["a-cut"], status=["missed"]),
    Filters(target=["c-cut"], status=["met"], unit=["U2"]), Filters(status=["met"], year=[2023]),
    Filters(status=["no_data"], year_to=2022), Filters(target=["a-cut", "b-cut"], unit_level=["nope"]), Filters(),
]


@pytest.mark.parametrize("filters", CASES, ids=[str({n: getattr(f, n) for n in sorted(f.given())}) for f in CASES])
def test_target_result_pages_are_the_plain_querys(engine, filters):
    latest = _seed(engine)
    level = {"U1": None, "U2": None, "U3": None}
    want = [rid for rid, tid, status, unit, fy in latest
            if (not filters.target or tid in filters.target) and (not filters.status or status in filters.status)
            and (not filters.unit or unit in filters.unit) and (not filters.year or fy in filters.year)
            and (filters.year_to is None or fy <= filters.year_to)
            and (not filters.unit_level or level[unit] in filters.unit_level)]
    for sort in ("id", "-id"):
        got, cursor = [], None
        while True:
            with reading(engine) as conn:
                page = queries.list_rows(conn, "target-results", filters, sort=sort, limit=2, cursor=cursor)
            got += [r["id"] for r in page.rows]
            assert (page.total, page.total_exact) == (len(want), True)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert got == (want if sort == "id" else want[::-1]), sort


@pytest.mark.parametrize("label, filters", [("target=", Filters(target=["b-cut"])), ("status=", Filters(status=["met"])),
                                            ("two statuses", Filters(status=["met", "missed"]))])
def test_target_result_pages_start_from_an_index(engine, label, filters):
    """The bound is read from (run_id, target_id, id) or (run_id, status, id); SQLite's page still reads
    through an index and never sorts a scan of the table."""
    _seed(engine)
    ds = DATASETS["target-results"]
    for desc in (False, True):
        stmt = queries.page_statement(ds, filters, "id", ds.sorts["id"], desc, None, None, None, 100)
        with reading(engine) as conn:
            compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            sql = str(compiled)
            assert ("max(" if desc else "min(") in sql and ("<= (SELECT" if desc else ">= (SELECT") in sql, sql
            if conn.dialect.name == "sqlite":
                plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()]
                index = "ix_target_result_run_id_target_id_id" if filters.target else "ix_target_result_run_id_status_id"
                assert any(index in d and "COVERING" in d for d in plan), plan
                assert not any(d.startswith("SCAN target_result") for d in plan), plan
                assert not any("TEMP B-TREE" in d for d in plan), plan


def test_too_many_values_give_no_bound(engine):
    many = Filters(target=[f"t{i}" for i in range(21)] + ["a-cut"])
    latest = _seed(engine)
    ds = DATASETS["target-results"]
    assert ds.page_bound(ds, many, False) is None
    with reading(engine) as conn:
        page = queries.list_rows(conn, "target-results", many, limit=100)
    assert [r["id"] for r in page.rows] == [rid for rid, tid, *_ in latest if tid == "a-cut"]
