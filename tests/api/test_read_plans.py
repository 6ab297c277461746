"""Cold reads (issue 15): every advertised filter and sort reads through an index, and a page's total is
exact where it is cheap and says so where it is capped. Behaviour only: no timings here (see
docs/benchmarks.md and bench/cold_reads.py for those)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from api.routes.routes_data import LISTED
from bench.cold_reads import explain, page_sql
from ledger.read import counts
from ledger.read.datasets import DATASETS
from ledger.read.types import Filters
from ledger.store.db import make_engine, reading
from tests.api_support import running, seed
from tests.conftest import BACKENDS

# One value per filter; the planner does not look at values (no sqlite_stat4), only at their shapes.
VALUES = {
    "unit": ["U1"], "unit_level": ["street"], "year": [2023], "year_from": 2022, "year_to": 2023,
    "category": ["reception"], "group": ["three_public"], "payee": ["某酒店"], "supplier": ["某公司"],
    "amount_min": 100, "amount_max": 100, "date_from": dt.date(2023, 1, 1), "date_to": dt.date(2023, 6, 30),
    "updated_since": dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "batch": [1], "stage": ["original"],
    "method": ["single_source"], "ocds_method": ["direct"], "level": ["street"], "parent": ["U1"],
    "rule": ["budget_overrun"], "state": ["open"], "target": ["t1"], "status": ["missed"], "kind": ["expenses"],
}
# Tables of a few hundred rows at most (one row per file loaded, per policy target): a scan is the plan.
SMALL = {"import-batches", "targets"}
CASES = [
    (name, label, filters, sort)
    for name in LISTED if name not in SMALL
    for label, filters, sort in (
        *[(f"sort={s}", Filters(), s) for key in sorted(DATASETS[name].sorts) for s in (key, f"-{key}")],
        *[(f"{f}=", Filters(**{f: VALUES[f]}), "id") for f in sorted(DATASETS[name].filters)],
    )
]


def _plan(conn, sql: str, params) -> list[tuple[int, str]]:
    """``(parent step, detail)`` of each step of EXPLAIN QUERY PLAN; parent 0 is the statement itself."""
    return [(r[1], r[3]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(params)).all()]


def _scans(plan: list[tuple[int, str]], table: str) -> list[str]:
    """Steps reading all of ``table``, in rowid order or along a whole index (``SCAN t [USING ...]``)."""
    return [d for _, d in plan if d.startswith("SCAN ") and d.split()[1] == table]


@pytest.fixture(scope="module")
def sqlite_engine(databases):
    url = databases.fresh("sqlite")
    seed(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    databases.drop(url)


@pytest.mark.parametrize("name, label, filters, sort", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_every_filter_and_sort_of_a_first_page_reads_through_an_index(sqlite_engine, name, label, filters, sort):
    with reading(sqlite_engine) as conn:
        sql, params = page_sql(conn, name, filters, sort)
        plan = _plan(conn, sql, params)
    sorted_after = [d for parent, d in plan if parent == 0 and "TEMP B-TREE FOR ORDER BY" in d]
    # A page may walk the table in the sort's own order and stop after limit+1 rows, or find its rows
    # by an index and sort those; never read the whole table (or a whole index) and then sort it.
    assert not (_scans(plan, DATASETS[name].id_expr.table.name) and sorted_after), plan
    if (name, label) == ("target-results", "target="):  # a check writes target by target (migration 0015_proccold)
        assert "USING INDEX ix_target_result_run_id_target_id_id" in str(plan) and not sorted_after, plan
    if sort.removeprefix("-") != "id":
        assert any(d.startswith(("SCAN ", "SEARCH ")) and "INDEX" in d for _, d in plan), plan


@pytest.mark.parametrize("name, label, filters, sort", [c for c in CASES if c[2].given()],
                         ids=[f"{c[0]}:{c[1]}" for c in CASES if c[2].given()])
def test_every_filter_is_counted_through_an_index(sqlite_engine, name, label, filters, sort):
    ds = DATASETS[name]
    with reading(sqlite_engine) as conn:
        compiled = counts.capped_count_statement(conn, ds, filters).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        values = [params[n] for n in compiled.positiontup]
        values = [v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else v
                  for v in values]
        plan = _plan(conn, compiled.string, values)
    assert not _scans(plan, ds.id_expr.table.name), plan


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, databases):
    url = databases.fresh(request.param)
    seed(url)
    with running(url) as client:
        yield client
    databases.drop(url)


def test_a_total_beyond_the_cap_is_the_cap_and_says_it_is_not_exact(api, monkeypatch):
    monkeypatch.setattr(counts, "COUNT_CAP", 2)
    response = api.get("/api/v1/expenses?amount_min=-5&amount_max=0.33")  # 3 live rows match
    body = response.json()
    assert [r["amount_fen"] for r in body["data"]] == [1, -500, 33]
    assert (body["total"], body["total_exact"]) == (2, False)
    assert (response.headers["X-Total-Count"], response.headers["X-Total-Exact"]) == ("2", "false")
    body = api.get("/api/v1/expenses?payee=某酒店").json()  # 2 match: at the cap, still exact
    assert (body["total"], body["total_exact"]) == (2, True)
    body = api.get("/api/v1/expenses?year=2023").json()  # counted from the rollup: exact past any cap
    assert (body["total"], body["total_exact"]) == (4, True)


def test_without_the_cap_totals_are_exact_and_skipped_totals_are_null(api):
    body = api.get("/api/v1/expenses?amount_min=-5&amount_max=0.33&limit=10").json()  # a URL of its own: not cached
    assert (body["total"], body["total_exact"]) == (3, True)
    body = api.get("/api/v1/expenses?count=false").json()
    assert (body["total"], body["total_exact"]) == (None, None)
    assert len(body["data"]) == 6


@pytest.mark.parametrize("filters", [Filters(year=[2023]), Filters(amount_min=0), Filters(payee=["某酒店"])],
                         ids=["rollup-count", "capped-count", "payee"])
def test_a_kept_page_plan_drops_a_batch_superseded_after_it_was_built(engine, filters):
    """Page plans are kept per shape (ledger.read.published.pages): the live condition is SQL in the plan
    (NOT EXISTS a superseding batch), never a list of batch ids baked in when the plan was built."""
    from ledger.read import queries
    from tests.tlog_support import publish_expenses

    old = publish_expenses(engine, [100, 200])
    for sort in ("id", "-amount"):
        with reading(engine) as conn:
            page = queries.list_rows(conn, "expenses", filters, sort=sort, limit=10)
        assert ([r["amount_fen"] for r in page.rows], page.total) == ([100, 200] if sort == "id" else [200, 100], 2)
    publish_expenses(engine, [300], supersedes=old, name="fixed.csv")
    for sort in ("id", "-amount"):
        with reading(engine) as conn:
            page = queries.list_rows(conn, "expenses", filters, sort=sort, limit=10)
        assert ([r["amount_fen"] for r in page.rows], page.total) == ([300], 1)


def test_a_page_filtered_by_time_opens_only_the_year_partitions_holding_a_match(engine, backend):
    """PostgreSQL's year partitions (migration 0011_partition): without ``year_scope`` a first page by id
    merges one index scan per partition and reads the years with no match whole (ledger.read.year_scope)."""
    if backend != "postgres":
        pytest.skip("year partitions are PostgreSQL's; SQLite keeps one table and the filters pass unchanged")
    from bench.cold_reads import explain
    from ledger.read import queries, year_scope
    from tests.tlog_support import publish_expenses

    batch = {year: publish_expenses(engine, [year, 1], year=year, name=f"{year}.csv") for year in (2021, 2022, 2023)}
    cases = [
        (Filters(date_to=dt.date(2022, 12, 31)), [2021, 2022], [1, 1, 2021, 2022]),
        (Filters(date_from=dt.date(2023, 1, 1)), [2023], [1, 2023]),
        (Filters(batch=[batch[2022]]), [2022], [1, 2022]),
        (Filters(date_from=dt.date(2030, 1, 1)), [0], []),  # no year holds a match: an empty page
        (Filters(category=["reception"]), [], [1, 1, 1, 2021, 2022, 2023]),  # matches every year: not probed
    ]
    for filters, years, amounts in cases:
        with reading(engine) as conn:
            assert year_scope.narrow(conn, DATASETS["expenses"], filters).year == years
            page = queries.list_rows(conn, "expenses", filters, sort="amount", limit=10)
            assert sorted(r["amount_fen"] for r in page.rows) == amounts
            assert page.total == len(amounts)
            plan = "\n".join(explain(conn, "expenses", year_scope.narrow(conn, DATASETS["expenses"], filters), "id"))
        opened = {y for y in (2021, 2022, 2023) if f"expense_entry_y{y}" in plan}
        assert opened == (set(years) - {0} if years else {2021, 2022, 2023}), plan


def test_a_match_in_the_default_partition_leaves_the_filters_as_they_were(engine, backend):
    if backend != "postgres":
        pytest.skip("year partitions are PostgreSQL's")
    from sqlalchemy import insert

    from ledger.read import queries, year_scope
    from ledger.store.db import writing
    from ledger.store.models import ExpenseEntry
    from tests.tlog_support import publish_expenses

    bid = publish_expenses(engine, [5], year=2023)
    with writing(engine) as conn:  # a year without its own partition: the default partition holds it
        conn.execute(insert(ExpenseEntry).values(batch_id=bid, unit_id=1, fiscal_year=1999, category_code="reception",
                                                 amount_fen=9, currency="CNY", entry_date=dt.date(1999, 5, 1)))
    year_scope._known.clear()
    filters = Filters(date_to=dt.date(2000, 1, 1))
    with reading(engine) as conn:
        assert year_scope.narrow(conn, DATASETS["expenses"], filters) == filters
        assert [r["amount_fen"] for r in queries.list_rows(conn, "expenses", filters).rows] == [9]


def test_a_large_load_leaves_sqlite_statistics_and_a_group_page_walks_the_id_order(engine, backend):
    """A database migrated empty (its ANALYZE saw no rows) then loaded: without statistics SQLite read a
    whole category through its index and sorted it (3 s at 1M entries); ``bulk_insert`` now analyzes."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL's bulk_insert analyzes too (ledger.store.bulk.tuning.analyze_if_grown); its plans are tested elsewhere")
    from tests.tlog_support import publish_expenses

    publish_expenses(engine, [1] * 12_000)
    with reading(engine) as conn:
        stats = conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_expense_entry_category_code'").scalar()
        sql, params = page_sql(conn, "expenses", Filters(group=["three_public"]), "id")
        plan = _plan(conn, sql, params)
    assert stats == "12000 12000"
    assert _scans(plan, "expense_entry") == ["SCAN expense_entry"], plan
    assert not any("TEMP B-TREE" in d for _, d in plan), plan


def test_a_replaced_procurement_record_is_neither_listed_nor_counted(engine):
    """A newer state of a contracting process replaces the older row (procurement_replacement); with no
    batch superseded the capped count used to drop the whole live condition, replacement links included."""
    from sqlalchemy import insert

    from ledger.read import queries
    from ledger.store.db import writing
    from ledger.store.models import ProcurementRecord, ProcurementReplacement
    from tests.tlog_support import publish_expenses

    bid = publish_expenses(engine, [1])
    with writing(engine) as conn:
        ids = [conn.execute(insert(ProcurementRecord).values(
            batch_id=bid, unit_id=1, fiscal_year=2023, ocid="ocds-1", method="single_source", contract_fen=fen,
            currency="CNY").returning(ProcurementRecord.id)).scalar_one() for fen in (100, 150)]
        conn.execute(insert(ProcurementReplacement).values(replaced_id=ids[0], replacement_id=ids[1], ocid="ocds-1",
                                                           batch_id=bid))
    for filters in (Filters(), Filters(method=["single_source"]), Filters(amount_min=0)):
        with reading(engine) as conn:
            page = queries.list_rows(conn, "procurement", filters)
            plan = " ".join(explain(conn, "procurement", filters, "id"))
        assert ([r["contract_fen"] for r in page.rows], page.total) == ([150], 1)
        if engine.dialect.name == "sqlite":  # probed per row through the link's index, never listed whole
            assert "ix_procurement_replacement_replaced_id" in plan and "LIST SUBQUERY" not in plan, plan


def test_the_date_filters_read_the_date_sorts_index_and_leave_undated_rows_out(engine):
    """``date_from`` / ``date_to`` are written on the date sort's expression (migration 0014 dropped the plain
    ``entry_date`` index): ``ix_sort_expense_entry_date`` serves the filter, its count and the sort, on both
    databases, and the answers are those of ``entry_date >= v`` / ``<= v``: an undated row (0001-01-01 in
    that expression) is in neither."""
    from sqlalchemy import insert

    from ledger.read import queries
    from ledger.store.db import writing
    from ledger.store.models import ExpenseEntry
    from tests.tlog_support import publish_expenses

    bid = publish_expenses(engine, [1], year=2023)  # dated 2023-03-01
    dates = [None, dt.date(2023, 1, 1), dt.date(2023, 6, 30), dt.date(2023, 7, 1), None, dt.date(2023, 12, 31)]
    with writing(engine) as conn:
        for n, day in enumerate(dates, 2):
            conn.execute(insert(ExpenseEntry).values(batch_id=bid, unit_id=1, fiscal_year=2023, category_code="reception",
                                                     amount_fen=n, currency="CNY", entry_date=day))
    with reading(engine) as conn:
        every = [(r["amount_fen"], r["entry_date"]) for r in queries.list_rows(conn, "expenses", limit=100).rows]
    pg = engine.dialect.name == "postgresql"
    for filters in (Filters(date_from=dt.date(2023, 1, 1)), Filters(date_from=dt.date(2023, 6, 30)),
                    Filters(date_to=dt.date(2023, 6, 30)), Filters(date_to=dt.date(2022, 12, 31)),
                    Filters(date_from=dt.date(1, 1, 1)), Filters(date_to=dt.date(9999, 12, 31))):
        low, high = filters.date_from or dt.date.min, filters.date_to or dt.date.max
        want = sorted(a for a, d in every if d is not None and low <= dt.date.fromisoformat(str(d)) <= high)
        with reading(engine) as conn:
            page = queries.list_rows(conn, "expenses", filters, sort="date", limit=100)
            assert sorted(r["amount_fen"] for r in page.rows) == want, filters
            assert page.total == len(want), filters
            if pg:  # a handful of rows: make PostgreSQL show the index it would take at scale
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plans = ["\n".join(explain(conn, "expenses", filters, sort)) for sort in ("date", "-date")]
            compiled = counts.capped_count_statement(conn, DATASETS["expenses"], filters).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            params = compiled.params if pg else tuple(compiled.params[n] for n in compiled.positiontup)
            plans.append("\n".join(str(r[-1]) for r in conn.exec_driver_sql(
                ("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + compiled.string, params).all()))
        for plan in plans:
            if pg:  # the partitions' copies of the index, searched on the expression
                assert re.search(r"Index Cond: \(+COALESCE\(entry_date, '0001-01-01'::date\)", plan), plan
                assert "Seq Scan" not in plan, plan
            else:
                bound = "<expr><?" if filters.date_to else "<expr>>?"  # one range each, as on entry_date before
                assert f"USING INDEX ix_sort_expense_entry_date ({bound})" in plan, plan


def test_a_range_filter_with_few_matches_searches_its_index_and_answers_the_same(engine):
    """SQLite (no histograms) walked the table by id for a first page with ``amount_min``, all of it when few rows
    match (5M: 0.5 CPU-s). At most ``SPARSE_MAX`` counted, the filter's index is searched and the matches sorted:
    the rows, their order and the cursors are those of the id walk (``count=False`` keeps that walk)."""
    from ledger.read import queries
    from ledger.read.published import pages
    from tests.tlog_support import publish_expenses

    publish_expenses(engine, [-5, 1, 7, 50], year=2023, name="2023.csv")
    publish_expenses(engine, [300, 9000, 2, 50], year=2024, name="2024.csv")
    with reading(engine) as conn:
        every = [(r["amount_fen"], r["fiscal_year"]) for r in queries.list_rows(conn, "expenses", limit=100).rows]
    cases = [(Filters(amount_min=50), lambda a, y: a >= 50), (Filters(amount_max=1), lambda a, y: a <= 1),
             (Filters(year_from=2024), lambda a, y: y >= 2024), (Filters(year_to=2023), lambda a, y: y <= 2023),
             (Filters(date_from=dt.date(2023, 1, 1)), lambda a, y: True), (Filters(amount_min=10**9), lambda a, y: False)]
    for filters, keep in cases:
        want = [a for a, y in every if keep(a, y)]
        for sort in ("id", "-id"):
            got = {}
            for count in (True, False):
                amounts, cursor = [], None
                while True:
                    with reading(engine) as conn:
                        page = queries.list_rows(conn, "expenses", filters, sort=sort, limit=2, cursor=cursor, count=count)
                    amounts, cursor = amounts + [r["amount_fen"] for r in page.rows], page.next_cursor
                    if not cursor:
                        break
                got[count] = amounts
            assert got[True] == got[False] == (want if sort == "id" else want[::-1]), (filters, sort)
    with reading(engine) as conn:
        decide = [queries._sparse(conn, f, key, total, exact) for f, key, total, exact in [
            (Filters(amount_min=50), "id", queries.SPARSE_MAX, True), (Filters(amount_min=50), "id", queries.SPARSE_MAX + 1, True),
            (Filters(amount_min=50), "id", queries.COUNT_CAP, False), (Filters(amount_min=50), "amount", 3, True),
            (Filters(payee=["某酒店"]), "id", 3, True)]]
    assert decide == [engine.dialect.name == "sqlite", False, False, False, False]
    if engine.dialect.name == "sqlite":
        assert any(k[1] == "expenses" and k[-1] is True for k in pages._plans)
        with reading(engine) as conn:
            ds = DATASETS["expenses"]
            sparse = pages.plan(conn, ds, Filters(amount_min=50), "id", ds.sorts["id"], False, False, sparse=True)
            plan = " ".join(d for _, d in _plan(conn, sparse.sql, [(50 if n == "f_amount_min" else 101 if n == "c_limit"
                                                                     else sparse.constants[n]) for n in sparse.order]))
        assert "SEARCH expense_entry USING INDEX ix_expense_entry_amount_fen" in plan and "TEMP B-TREE FOR ORDER" in plan, plan
