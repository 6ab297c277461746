"""A page's ``total``: exact from the rollups when the filters allow, else a count capped at ``COUNT_CAP``.

An exact ``count(*)`` of a filter over millions of rows reads every matching row (or index entry)
on every cache miss: at national scale that is most of the time a page takes. So a page's total is
counted exactly only where it is cheap: expenses filtered on nothing but unit, level, year,
category or group are counted from the rollup kept at import. Any other filter is counted up to
``COUNT_CAP`` + 1 rows and no further: when more match, the page says ``total_exact: false`` and
``total`` is the cap, a lower bound ("more than 10,000"). ``total_count`` stays exact, for callers
that need the figure whatever it costs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, literal, select

from ledger.read import totals as queries_totals
from ledger.read.datasets import DATASETS, _categories_in_groups, _u
from ledger.read.published import pages as queries_pages
from ledger.read.types import Dataset, Filters, QueryError
from ledger.store.batches import current_pin
from ledger.store.models import ProcurementReplacement, Rollup

COUNT_CAP = 10_000
_LIVE_BY_BATCH = {"expenses", "budgets", "procurement"}  # ``always`` is ``live(batch_id)`` (procurement: and not replaced)
_JOINED_FILTERS = {"unit", "unit_level", "parent"}  # filters on a joined table; the rest are on the dataset's own
_ROLLUP_FILTERS = {"unit", "unit_level", "year", "year_from", "year_to", "category", "group"}


def _where(ds: Dataset, filters: Filters) -> list:
    conds = []
    for name in sorted(filters.given()):
        build = ds.filters.get(name)
        if build is None:
            raise QueryError(name, f"{ds.name} cannot be filtered by {name}")
        conds.append(build(getattr(filters, name)))
    if ds.always is not None:
        conds.append(ds.always())
    return conds


def total_count(conn: Connection, dataset: str, filters: Filters | None = None) -> int:
    """How many live rows of ``dataset`` match ``filters``, exactly (rollups when they can answer)."""
    ds = DATASETS[dataset]
    filters = filters or Filters()
    got = _from_rollup(conn, ds, filters)
    if got is not None:
        return got
    return int(conn.execute(select(func.count()).select_from(ds.base()).where(*_where(ds, filters))).scalar_one())


def page_total(conn: Connection, ds: Dataset, filters: Filters) -> tuple[int, bool]:
    """``(total, exact)``: exact from the rollup, else counted up to ``COUNT_CAP`` (``exact`` False beyond)."""
    got = _from_rollup(conn, ds, filters)
    if got is not None:
        return got, True
    n = int(conn.execute(capped_count_statement(conn, ds, filters)).scalar_one())
    return (COUNT_CAP, False) if n > COUNT_CAP else (n, True)


def capped_count_statement(conn: Connection, ds: Dataset, filters: Filters):
    """``SELECT count(*)`` of at most ``COUNT_CAP`` + 1 matching rows."""
    conds = _where(ds, filters)
    if ds.name in _LIVE_BY_BATCH and current_pin() is None and not queries_totals.any_superseded(conn) and not (
            ds.name == "procurement" and conn.execute(select(exists().select_from(ProcurementReplacement))).scalar()):
        # Not pinned (pinned: later batches drop out), no batch superseded (and, for procurement, no record
        # replaced by a newer state of its process): every row is live, and the count can stay in an index.
        conds = conds[:-1]
    # Every row has its one unit (a foreign key, NOT NULL or an outer join), so unless a filter names
    # the unit the join adds nothing to the count but a row lookup each.
    base = ds.base() if filters.given() & _JOINED_FILTERS else ds.id_expr.table
    some = select(literal(1).label("one")).select_from(base).where(*conds).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(some)


def _from_rollup(conn: Connection, ds: Dataset, filters: Filters) -> int | None:
    given = filters.given()
    if not ds.rollup_measure or not given <= _ROLLUP_FILTERS:
        return None
    if given <= _ROLLUP_FILTERS - {"unit", "unit_level"}:
        # No unit named: the per-batch totals kept in process answer without reading rollup rows.
        cats = set(conn.execute(_categories_in_groups(filters.group)).scalars()) if filters.group else None
        return sum(
            count for measure, year, cat, _, _, count in queries_totals.live_totals(conn)
            if measure == ds.rollup_measure and (not filters.year or year in filters.year)
            and (filters.year_from is None or year >= filters.year_from)
            and (filters.year_to is None or year <= filters.year_to)
            and (not filters.category or cat in filters.category) and (cats is None or cat in cats)
        )
    # A unit named: its rollup rows, found by the rollup's (batch, measure, unit) index. The SQL
    # is built once per shape (ledger.read.published.pages) and run on the driver's cursor.
    ids = queries_totals.live_ids(conn)
    values: dict[str, Any] = {"ids": ids or [-1], "measure": ds.rollup_measure}
    values.update({f"f_{n}": getattr(filters, n) for n in given})
    ident = ("count", ds.name, queries_pages.shape(filters), len(values["ids"]))
    plan = queries_pages.cached(conn, ident, lambda: _rollup_count(ds, filters, values))
    return int(plan.run(conn, values)[0][0] or 0)


def _rollup_count(ds: Dataset, filters: Filters, values: dict[str, Any]):
    r = Rollup.__table__

    def p(name: str):
        value = values[name]
        return bindparam(name, value=value, expanding=isinstance(value, list))

    rconds = [r.c.batch_id.in_(p("ids")), r.c.measure == p("measure")]
    if filters.unit or filters.unit_level:
        unit_conds = []
        if filters.unit:
            unit_conds.append(_u.c.code.in_(p("f_unit")))
        if filters.unit_level:
            unit_conds.append(_u.c.level.in_(p("f_unit_level")))
        rconds.append(r.c.unit_id.in_(select(_u.c.id).where(*unit_conds)))
    if filters.year:
        rconds.append(r.c.fiscal_year.in_(p("f_year")))
    if filters.year_from is not None:
        rconds.append(r.c.fiscal_year >= p("f_year_from"))
    if filters.year_to is not None:
        rconds.append(r.c.fiscal_year <= p("f_year_to"))
    if filters.category:
        rconds.append(r.c.category_code.in_(p("f_category")))
    if filters.group:
        rconds.append(r.c.category_code.in_(_categories_in_groups(p("f_group"))))
    stmt = select(func.sum(r.c.row_count)).where(*rconds)
    expanding = {k: len(v) for k, v in values.items() if isinstance(v, list)}
    return stmt, set(values), expanding
