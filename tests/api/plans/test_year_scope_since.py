"""``updated_since`` and PostgreSQL's year probes (``ledger.read.year_scope``): the batches written since are
asked once, and each year's probe is given their ids (planned inside every probe they cost 25 ms at 1M)."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import event

from ledger.read.datasets import DATASETS
from ledger.read.types import Filters
from ledger.store.db import reading

DAY = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3, 4, 5)]


def test_updated_since_opens_only_the_years_written_since_and_keeps_exactly_those_rows(engine, backend):
    from sqlalchemy import update

    from ledger.read import queries, year_scope
    from ledger.store.models import ExpenseEntry
    from tests.tlog_support import publish_expenses, unguard_entries

    # 2021's rows were written on day 0, 2022's on days 0 and 2 (a batch written over two times), 2023's on day 3.
    batch = {year: publish_expenses(engine, [year * 10 + i for i in range(4)], year=year, name=f"{year}.csv")
             for year in (2021, 2022, 2023)}
    with engine.begin() as conn:  # drop the append-only guard for the test's own times
        unguard_entries(conn)
        e = ExpenseEntry.__table__
        conn.execute(update(e).where(e.c.batch_id == batch[2022], e.c.amount_fen >= 20222).values(created_at=DAY[2]))
        conn.execute(update(e).where(e.c.batch_id == batch[2023]).values(created_at=DAY[3]))
    year_scope._known.clear()
    cases = [  # since, the years probed open on PostgreSQL ([]: all, the filters unchanged), amounts kept
        (DAY[0], [], [20210, 20211, 20212, 20213, 20220, 20221, 20222, 20223, 20230, 20231, 20232, 20233]),
        (DAY[1], [2022, 2023], [20222, 20223, 20230, 20231, 20232, 20233]),
        (DAY[2], [2022, 2023], [20222, 20223, 20230, 20231, 20232, 20233]),
        (DAY[2] + dt.timedelta(seconds=1), [2023], [20230, 20231, 20232, 20233]),
        (DAY[4], [0], []),  # nothing written since: an empty page
    ]
    for since, years, amounts in cases:
        filters = Filters(updated_since=since)
        statements: list[str] = []
        seen = functools.partial(_keep, statements)
        with reading(engine) as conn:
            event.listen(conn, "before_cursor_execute", seen)
            narrowed = year_scope.narrow(conn, DATASETS["expenses"], filters)
            event.remove(conn, "before_cursor_execute", seen)
            page = queries.list_rows(conn, "expenses", filters, sort="amount", limit=20)
        assert [r["amount_fen"] for r in page.rows] == amounts, since
        assert page.total == len(amounts), since
        if backend == "sqlite":
            assert narrowed == filters and not statements  # one table: nothing to probe
            continue
        assert narrowed.year == years, since
        probes = [s for s in statements if "fiscal_year" in s]  # one statement asks every year
        assert len(probes) == 1 and "max(" not in probes[0].lower(), probes  # the batches are ids, not subqueries


def _keep(statements, conn, cursor, statement, *_):
    statements.append(statement)
