"""A page's SQL built once per shape and run on the driver's own cursor.

A page request differs from the last one of the same shape (dataset, filters given and how many
values each has, sort, direction, cursor or not) only in its values. So the statement is built
from the dataset's description once per shape, with named bind parameters, compiled once for the
dialect (``render_postcompile`` turns each list into that many placeholders), and kept. A request
then binds its values and runs the SQL string on the DBAPI cursor inside the caller's
transaction, converting only the columns whose type needs it (SQLite hands back dates and times
as text) with the same processors SQLAlchemy would use. No statement objects are built and no
result rows are wrapped per request.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Date, DateTime, and_, bindparam, literal_column, or_, select

from ledger.read.types import Dataset, Filters
from ledger.store.batches import current_pin

MAX_PLANS = 512
_plans: dict[tuple, Plan] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Plan:
    sql: str
    order: tuple[str, ...] | None  # positional parameter names (qmark), or None for named parameters
    constants: dict[str, Any]  # parameters fixed in the statement, already processed
    expanding: dict[str, int]  # list parameter → how many placeholders it was compiled with
    binders: dict[str, Callable[[Any], Any]]  # request parameter → the driver-side conversion
    results: tuple[Callable[[Any], Any] | None, ...]  # per selected column

    def run(self, conn: Connection, values: dict[str, Any]) -> list[tuple]:
        params = dict(self.constants)
        for name, value in values.items():
            proc = self.binders.get(name)
            if name in self.expanding:
                for i, v in enumerate(value, 1):
                    params[f"{name}_{i}"] = proc(v) if proc else v
            else:
                params[name] = proc(value) if proc else value
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(self.sql, [params[n] for n in self.order] if self.order is not None else params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        procs = [(i, p) for i, p in enumerate(self.results) if p is not None]
        if not procs:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for i, p in procs:
                row[i] = p(row[i])
            out.append(row)
        return out


@lru_cache(maxsize=4096)
def _sqlite_utc(text: str | None) -> dt.datetime | None:
    # SQLite keeps UTC timestamps as naive text. Rows of one batch share their publication time,
    # so a page converts a handful of distinct strings: remembering them saves the parsing.
    return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _result_processor(type_, dialect) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and isinstance(type_, DateTime):
        return _sqlite_utc
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def shape(filters: Filters) -> tuple:
    """What the SQL depends on besides values: the filters given and the length of each list."""
    return tuple(
        (name, len(value) if isinstance(value, list) else None)
        for name in sorted(filters.given())
        for value in (getattr(filters, name),)
    )


def _pinned() -> frozenset[int] | None:
    """Part of a plan's identity: a pinned read (``as_of``) bakes the checkpoint's live batches into its SQL."""
    pin = current_pin()
    return None if pin is None else pin.live


def plan(conn: Connection, ds: Dataset, filters: Filters, key: str, sort_expr, desc: bool, after: bool,
         sparse: bool = False) -> Plan:
    """The kept plan for this shape, built on first use. ``sparse``: few rows match (``queries._sparse``), so
    the id order is written ``id + 0``, which no index gives: SQLite searches the filter's index and sorts."""
    dialect = conn.dialect
    ident = (dialect.name, ds.name, shape(filters), key, desc, after, _pinned(), sparse)
    found = _plans.get(ident)
    if found is not None:
        return found
    built = _build(conn, ds, filters, key, sort_expr + literal_column("0") if sparse else sort_expr, desc, after)
    with _lock:
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        _plans[ident] = built
    return built


def _build(conn: Connection, ds: Dataset, filters: Filters, key: str, sort_expr, desc: bool, after: bool) -> Plan:
    dialect = conn.dialect
    conds = []
    expanding: dict[str, int] = {}
    for name in sorted(filters.given()):
        value = getattr(filters, name)
        if isinstance(value, list):
            expanding[f"f_{name}"] = len(value)
            conds.append(ds.filters[name](bindparam(f"f_{name}", value=value, expanding=True)))
        else:
            conds.append(ds.filters[name](bindparam(f"f_{name}", value=value)))
    if ds.always is not None:
        conds.append(ds.always())
    if after:
        last = bindparam("c_id", value=0, type_=ds.id_expr.type)
        if key == "id":
            conds.append(ds.id_expr < last if desc else ds.id_expr > last)
        else:
            v = bindparam("c_value", value=None, type_=Date() if key == "date" else sort_expr.type)
            beyond = (sort_expr < v) if desc else (sort_expr > v)
            conds.append(or_(beyond, and_(sort_expr == v, (ds.id_expr < last) if desc else (ds.id_expr > last))))
    order = [sort_expr.desc(), ds.id_expr.desc()] if desc else [sort_expr, ds.id_expr]
    if key == "id":
        order = order[:1]
    cols = [c.expr for c in ds.columns] + ([] if key == "id" else [sort_expr])
    stmt = (select(*cols).select_from(ds.base()).where(*conds).order_by(*order)
            .limit(bindparam("c_limit", value=1, literal_execute=False)))
    mine = {"c_id", "c_value", "c_limit", *(f"f_{n}" for n in filters.given())}
    return compile_plan(dialect, stmt, mine, expanding)


def cached(conn: Connection, ident: tuple, build: Callable[[], tuple[Any, set[str], dict[str, int]]]) -> Plan:
    """The kept plan for ``ident``; ``build()`` gives (statement, its request parameters, list lengths)."""
    ident = (conn.dialect.name, *ident, _pinned())
    found = _plans.get(ident)
    if found is None:
        found = compile_plan(conn.dialect, *build())
        with _lock:
            if len(_plans) >= MAX_PLANS:
                _plans.clear()
            _plans[ident] = found
    return found


def compile_plan(dialect, stmt, mine: set[str], expanding: dict[str, int]) -> Plan:
    """Compile ``stmt`` once; ``mine`` names the parameters each request binds, the rest are fixed."""
    cols = list(stmt.selected_columns)
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    binders: dict[str, Callable] = {}
    for name, bind in compiled.binds.items():
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            binders[name] = proc
    constants = {}
    for name, value in compiled.construct_params().items():
        base = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[0] in expanding else name
        if base in mine:
            continue
        proc = binders.get(name)
        constants[name] = proc(value) if proc and value is not None else value
    results = tuple(_result_processor(c.type, dialect) for c in cols)
    order_names = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return Plan(compiled.string, order_names, constants, expanding, binders, results)
