"""The one read path: lists with filters and keyset pagination, and bulk iterators for downloads.

The API, the charts and the CLI all read through here (aggregates live in
``ledger.queries_aggregate``). Every dataset is described once (``DATASETS``): its columns with
their Frictionless types, the filters it understands and the orders it can be sorted by. Only live
rows are shown: a row whose batch was superseded by a correction drops out.

Pages are keyset-paginated: the order always ends with the row id, and the cursor is an opaque
token holding the last row's sort value and id, so a page never skips or repeats rows while
imports land. Money is integer fen; each amount also comes as an exact decimal yuan string.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Engine,
    and_,
    func,
    literal,
    or_,
    select,
)

from ledger.batches import live
from ledger.models import (
    AuditLog,
    BudgetLine,
    Category,
    CategoryGroup,
    CategoryGroupMember,
    CheckRun,
    ExpenseEntry,
    FlagReview,
    ImportBatch,
    ProcurementRecord,
    Rollup,
    Unit,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STREAM_CHUNK_ROWS = 5000


class QueryError(ValueError):
    """A request the read path cannot answer, naming the parameter at fault."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class NotFound(LookupError):
    """The thing asked for does not exist."""


def yuan(fen: int | None) -> str | None:
    """Integer fen as an exact decimal yuan string (``-500`` → ``"-5.00"``)."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


INT64_MAX = 2**63 - 1


def bounded(parameter: str, value: int) -> int:
    """``value`` if a 64-bit column can hold it, else a ``QueryError`` naming the parameter."""
    if not -INT64_MAX <= value <= INT64_MAX:
        raise QueryError(parameter, f"{value} is out of range")
    return value


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp in UTC: SQLite hands back naive UTC, PostgreSQL the session's zone."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_yuan(parameter: str, text: str) -> int:
    """A yuan amount from a query string (``"1234.5"``) as exact integer fen."""
    try:
        value = Decimal(text.strip()) * 100
    except (InvalidOperation, AttributeError):
        raise QueryError(parameter, f"{text!r} is not an amount in yuan (e.g. 1234.56)") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise QueryError(parameter, f"{text!r} has more than two decimal places or is not finite")
    return bounded(parameter, int(value))


@dataclass
class Filters:
    """Everything a list or download can be filtered by; ``None`` or empty means no filter."""

    unit: list[str] = field(default_factory=list)  # unit codes
    unit_level: list[str] = field(default_factory=list)
    year: list[int] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    category: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    method: list[str] = field(default_factory=list)
    ocds_method: list[str] = field(default_factory=list)
    supplier: list[str] = field(default_factory=list)  # supplier name or credit code
    payee: list[str] = field(default_factory=list)
    amount_min: int | None = None  # fen
    amount_max: int | None = None  # fen
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    updated_since: dt.datetime | None = None
    kind: list[str] = field(default_factory=list)
    batch: list[int] = field(default_factory=list)
    level: list[str] = field(default_factory=list)  # units: their own level
    parent: list[str] = field(default_factory=list)  # units: parent unit code
    rule: list[str] = field(default_factory=list)  # flags: rule code
    state: list[str] = field(default_factory=list)  # flags: review state
    target: list[str] = field(default_factory=list)  # target results: target id
    status: list[str] = field(default_factory=list)  # target results: met | missed | insufficient_data

    def given(self) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) not in (None, [], ())}


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any
    type: str  # Frictionless type: integer | number | string | date | datetime
    description: str = ""
    money: bool = False  # integer fen; rows also carry ``<name minus _fen>_yuan``
    json: bool = False  # stored as JSON text; lists and JSON output parse it


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    base: Callable[[], Any]  # a select_from target
    id_expr: Any
    always: Callable[[], ColumnElement] | None  # a condition every read applies (live rows only)
    filters: dict[str, Callable[[Any], ColumnElement]]
    sorts: dict[str, Any]
    rollup_measure: str | None = None  # total counts come from the rollup when filters allow
    public: bool = True  # listed in downloads and readable without a token

    def output_fields(self) -> list[tuple[str, str, str]]:
        """``(name, frictionless type, description)`` of every output column, yuan companions included."""
        out = []
        for c in self.columns:
            out.append((c.name, c.type, c.description))
            if c.money:
                out.append((c.name.removesuffix("_fen") + "_yuan", "number", f"{c.description} in yuan (exact)"))
        return out


_u = Unit.__table__.alias("u")
_e = ExpenseEntry.__table__
_b = BudgetLine.__table__
_p = ProcurementRecord.__table__
_ib = ImportBatch.__table__


def _in(col):
    return lambda values: col.in_(values)


def _categories_in_groups(groups: list[str]):
    return select(CategoryGroupMember.category_code).where(CategoryGroupMember.group_code.in_(groups))


def _common_unit_filters(year_col, unit_alias=_u) -> dict[str, Callable]:
    return {
        "unit": _in(unit_alias.c.code),
        "unit_level": _in(unit_alias.c.level),
        "year": _in(year_col),
        "year_from": lambda v: year_col >= v,
        "year_to": lambda v: year_col <= v,
    }


def _date_sort(col):
    return func.coalesce(col, literal(dt.date(1, 1, 1), Date))


EXPENSES = Dataset(
    name="expenses",
    title="Actual expenses (决算支出)",
    description="Actual spending by unit, year and category: line items, or a disclosure table's figure per category.",
    columns=(
        Column("id", _e.c.id, "integer", "Row id (stable)"),
        Column("batch_id", _e.c.batch_id, "integer", "Import batch the row came from"),
        Column("source_row", _e.c.source_row, "integer", "Row number in the source file"),
        Column("unit_code", _u.c.code, "string", "Budget unit code (单位编码)"),
        Column("unit_name", _u.c.name, "string", "Budget unit name (单位名称)"),
        Column("unit_level", _u.c.level, "string", "Unit level"),
        Column("fiscal_year", _e.c.fiscal_year, "integer", "Fiscal year (年度)"),
        Column("entry_date", _e.c.entry_date, "date", "Date (日期)"),
        Column("category_code", _e.c.category_code, "string", "Expense category (类别)"),
        Column("amount_fen", _e.c.amount_fen, "integer", "Amount in fen (分)", money=True),
        Column("currency", _e.c.currency, "string", "Currency"),
        Column("payee", _e.c.payee, "string", "Payee (收款方)"),
        Column("description", _e.c.description, "string", "Description (摘要)"),
        Column("voucher_no", _e.c.voucher_no, "string", "Voucher number (凭证号)"),
        Column("persons", _e.c.persons, "integer", "Persons (人次)"),
        Column("batches", _e.c.batches, "integer", "Batches or delegations (批次/团组数)"),
        Column("vehicles", _e.c.vehicles, "integer", "Vehicles (购置数/保有量)"),
        Column("created_at", _e.c.created_at, "datetime", "When the row was published"),
    ),
    base=lambda: _e.join(_u, _u.c.id == _e.c.unit_id),
    id_expr=_e.c.id,
    always=lambda: live(_e.c.batch_id),
    filters={
        **_common_unit_filters(_e.c.fiscal_year),
        "category": _in(_e.c.category_code),
        "group": lambda v: _e.c.category_code.in_(_categories_in_groups(v)),
        "payee": _in(_e.c.payee),
        "supplier": _in(_e.c.payee),
        "amount_min": lambda v: _e.c.amount_fen >= v,
        "amount_max": lambda v: _e.c.amount_fen <= v,
        "date_from": lambda v: _e.c.entry_date >= v,
        "date_to": lambda v: _e.c.entry_date <= v,
        "updated_since": lambda v: _e.c.created_at >= v,
        "batch": _in(_e.c.batch_id),
    },
    sorts={"id": _e.c.id, "fiscal_year": _e.c.fiscal_year, "amount": _e.c.amount_fen, "date": _date_sort(_e.c.entry_date)},
    rollup_measure="actual",
)

BUDGETS = Dataset(
    name="budgets",
    title="Budget lines (预算)",
    description="Budgeted amounts by unit, year, category and stage (original 年初预算 or adjusted 调整预算).",
    columns=(
        Column("id", _b.c.id, "integer", "Row id (stable)"),
        Column("batch_id", _b.c.batch_id, "integer", "Import batch the row came from"),
        Column("source_row", _b.c.source_row, "integer", "Row number in the source file"),
        Column("unit_code", _u.c.code, "string", "Budget unit code (单位编码)"),
        Column("unit_name", _u.c.name, "string", "Budget unit name (单位名称)"),
        Column("unit_level", _u.c.level, "string", "Unit level"),
        Column("fiscal_year", _b.c.fiscal_year, "integer", "Fiscal year (年度)"),
        Column("category_code", _b.c.category_code, "string", "Expense category (类别)"),
        Column("stage", _b.c.stage, "string", "original or adjusted (阶段)"),
        Column("amount_fen", _b.c.amount_fen, "integer", "Amount in fen (分)", money=True),
        Column("currency", _b.c.currency, "string", "Currency"),
        Column("created_at", _b.c.created_at, "datetime", "When the row was published"),
    ),
    base=lambda: _b.join(_u, _u.c.id == _b.c.unit_id),
    id_expr=_b.c.id,
    always=lambda: live(_b.c.batch_id),
    filters={
        **_common_unit_filters(_b.c.fiscal_year),
        "category": _in(_b.c.category_code),
        "group": lambda v: _b.c.category_code.in_(_categories_in_groups(v)),
        "stage": _in(_b.c.stage),
        "amount_min": lambda v: _b.c.amount_fen >= v,
        "amount_max": lambda v: _b.c.amount_fen <= v,
        "updated_since": lambda v: _b.c.created_at >= v,
        "batch": _in(_b.c.batch_id),
    },
    sorts={"id": _b.c.id, "fiscal_year": _b.c.fiscal_year, "amount": _b.c.amount_fen},
)

PROCUREMENT = Dataset(
    name="procurement",
    title="Government procurement (政府采购)",
    description="Procurement projects with budget and contract amounts, method and supplier.",
    columns=(
        Column("id", _p.c.id, "integer", "Row id (stable)"),
        Column("batch_id", _p.c.batch_id, "integer", "Import batch the row came from"),
        Column("source_row", _p.c.source_row, "integer", "Row number in the source file"),
        Column("project_code", _p.c.project_code, "string", "Project code (项目编号)"),
        Column("ocid", _p.c.ocid, "string", "OCDS contracting process id"),
        Column("unit_code", _u.c.code, "string", "Buyer unit code (单位编码)"),
        Column("unit_name", _u.c.name, "string", "Buyer unit name (单位名称)"),
        Column("unit_level", _u.c.level, "string", "Unit level"),
        Column("fiscal_year", _p.c.fiscal_year, "integer", "Fiscal year (年度)"),
        Column("title", _p.c.title, "string", "Project title (项目名称)"),
        Column("method", _p.c.method, "string", "Procurement method (采购方式)"),
        Column("ocds_method", _p.c.ocds_method, "string", "OCDS procurementMethod"),
        Column("budget_fen", _p.c.budget_fen, "integer", "Budget amount in fen (预算金额)", money=True),
        Column("contract_fen", _p.c.contract_fen, "integer", "Contract amount in fen (合同金额)", money=True),
        Column("currency", _p.c.currency, "string", "Currency"),
        Column("supplier_name", _p.c.supplier_name, "string", "Supplier (供应商名称)"),
        Column("supplier_id", _p.c.supplier_id, "string", "Supplier credit code (统一社会信用代码)"),
        Column("tender_date", _p.c.tender_date, "date", "Tender date (招标日期)"),
        Column("award_date", _p.c.award_date, "date", "Award date (中标日期)"),
        Column("contract_date", _p.c.contract_date, "date", "Contract date (合同日期)"),
        Column("created_at", _p.c.created_at, "datetime", "When the row was published"),
    ),
    base=lambda: _p.join(_u, _u.c.id == _p.c.unit_id),
    id_expr=_p.c.id,
    always=lambda: live(_p.c.batch_id),
    filters={
        **_common_unit_filters(_p.c.fiscal_year),
        "method": _in(_p.c.method),
        "ocds_method": _in(_p.c.ocds_method),
        "supplier": lambda v: or_(_p.c.supplier_name.in_(v), _p.c.supplier_id.in_(v)),
        "amount_min": lambda v: _p.c.contract_fen >= v,
        "amount_max": lambda v: _p.c.contract_fen <= v,
        "date_from": lambda v: _p.c.contract_date >= v,
        "date_to": lambda v: _p.c.contract_date <= v,
        "updated_since": lambda v: _p.c.created_at >= v,
        "batch": _in(_p.c.batch_id),
    },
    sorts={
        "id": _p.c.id,
        "fiscal_year": _p.c.fiscal_year,
        "amount": func.coalesce(_p.c.contract_fen, -(2**62)),
        "date": _date_sort(_p.c.contract_date),
    },
)

_parent = Unit.__table__.alias("parent")
_unit = Unit.__table__
UNITS = Dataset(
    name="units",
    title="Budget units (预算单位)",
    description="Departments, bureaus and subordinate bodies that hold budgets.",
    columns=(
        Column("id", _unit.c.id, "integer", "Unit id"),
        Column("code", _unit.c.code, "string", "Unit code (单位编码)"),
        Column("name", _unit.c.name, "string", "Unit name (单位名称)"),
        Column("level", _unit.c.level, "string", "Unit level"),
        Column("region", _unit.c.region, "string", "Region"),
        Column("parent_code", _parent.c.code, "string", "Parent unit code"),
        Column("created_at", _unit.c.created_at, "datetime", "When the unit was first seen"),
    ),
    base=lambda: _unit.outerjoin(_parent, _parent.c.id == _unit.c.parent_id),
    id_expr=_unit.c.id,
    always=None,
    filters={
        "unit": _in(_unit.c.code),
        "level": _in(_unit.c.level),
        "unit_level": _in(_unit.c.level),
        "parent": _in(_parent.c.code),
        "updated_since": lambda v: _unit.c.created_at >= v,
    },
    sorts={"id": _unit.c.id, "code": _unit.c.code},
)

BATCHES = Dataset(
    name="import-batches",
    title="Import batches (provenance)",
    description="Every file loaded: who submitted it, its sha256, row counts, and which batch it corrects.",
    columns=(
        Column("id", _ib.c.id, "integer", "Batch id"),
        Column("kind", _ib.c.kind, "string", "expenses, budgets, disclosure, procurement or ocds"),
        Column("file_name", _ib.c.file_name, "string", "File name as uploaded"),
        Column("sha256", _ib.c.sha256, "string", "SHA-256 of the file"),
        Column("encoding", _ib.c.encoding, "string", "Detected encoding"),
        Column("sheet", _ib.c.sheet, "string", "Sheet read"),
        Column("amount_unit", _ib.c.amount_unit, "string", "Amount unit of the file (元 or 万元)"),
        Column("submitted_by", _ib.c.submitted_by, "string", "Who submitted it"),
        Column("created_at", _ib.c.created_at, "datetime", "When it was published"),
        Column("status", _ib.c.status, "string", "Status"),
        Column("rows_read", _ib.c.rows_read, "integer", "Rows read"),
        Column("rows_loaded", _ib.c.rows_loaded, "integer", "Rows loaded"),
        Column("rows_skipped", _ib.c.rows_skipped, "integer", "Rows skipped (blank, totals)"),
        Column("rows_held", _ib.c.rows_held, "integer", "Rows held back with errors"),
        Column("control_total_fen", _ib.c.control_total_fen, "integer", "Control total in fen", money=True),
        Column("supersedes_id", _ib.c.supersedes_id, "integer", "Batch this one corrects"),
    ),
    base=lambda: _ib,
    id_expr=_ib.c.id,
    always=None,
    filters={
        "kind": _in(_ib.c.kind),
        "batch": _in(_ib.c.id),
        "updated_since": lambda v: _ib.c.created_at >= v,
    },
    sorts={"id": _ib.c.id},
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (EXPENSES, BUDGETS, PROCUREMENT, UNITS, BATCHES)}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None
    limit: int
    sort: str


def _where(ds: Dataset, filters: Filters) -> list[ColumnElement]:
    conds = []
    for name in sorted(filters.given()):
        build = ds.filters.get(name)
        if build is None:
            raise QueryError(name, f"{ds.name} cannot be filtered by {name}")
        conds.append(build(getattr(filters, name)))
    if ds.always is not None:
        conds.append(ds.always())
    return conds


def _row(ds: Dataset, values) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col, value in zip(ds.columns, values, strict=True):
        if value is not None:
            if col.json:
                value = json.loads(value)
            elif isinstance(value, Decimal):
                value = str(value)  # exact; never a float
            elif isinstance(value, dt.datetime):
                value = utc(value)
        out[col.name] = value
        if col.money:
            out[col.name.removesuffix("_fen") + "_yuan"] = yuan(value)
    return out


def encode_cursor(sort: str, value: Any, row_id: int) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        got_sort, value, row_id = json.loads(raw)
        if not isinstance(row_id, int | str) or isinstance(row_id, bool):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise QueryError("cursor", "not a cursor this API issued; start again without it") from None
    if got_sort != sort:
        raise QueryError("cursor", f"the cursor belongs to sort={got_sort}, not sort={sort}")
    if isinstance(row_id, int):
        bounded("cursor", row_id)
    return value, row_id


def _parse_sort(ds: Dataset, sort: str) -> tuple[str, Any, bool]:
    key = sort.removeprefix("-")
    if key not in ds.sorts:
        raise QueryError("sort", f"{ds.name} can be sorted by {', '.join(sorted(ds.sorts))} (prefix - for descending)")
    return key, ds.sorts[key], sort.startswith("-")


def list_rows(
    conn: Connection,
    dataset: str,
    filters: Filters | None = None,
    *,
    sort: str = "id",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    count: bool = True,
) -> Page:
    """One page of a dataset, filtered, in a stable order (``sort`` then id), with the total count."""
    ds = DATASETS[dataset]
    filters = filters or Filters()
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"must be between 1 and {MAX_LIMIT}")
    key, sort_expr, desc = _parse_sort(ds, sort)
    conds = _where(ds, filters)
    page_conds = list(conds)
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        try:
            if key == "date":
                value = dt.date.fromisoformat(value)
            elif key != "id" and key != "code":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError
                bounded("cursor", value)
            elif key == "code" and not isinstance(value, str):
                raise ValueError
        except (TypeError, ValueError):
            raise QueryError("cursor", "not a cursor this API issued; start again without it") from None
        if key == "id":
            page_conds.append(ds.id_expr < last_id if desc else ds.id_expr > last_id)
        else:
            v = literal(value, Date) if key == "date" else value
            after = (sort_expr < v) if desc else (sort_expr > v)
            page_conds.append(or_(after, and_(sort_expr == v, (ds.id_expr < last_id) if desc else (ds.id_expr > last_id))))
    order = [sort_expr.desc(), ds.id_expr.desc()] if desc else [sort_expr, ds.id_expr]
    if key == "id":
        order = order[:1]
    cols = [c.expr for c in ds.columns]
    extra = [] if key == "id" else [sort_expr]
    stmt = select(*cols, *extra).select_from(ds.base()).where(*page_conds).order_by(*order).limit(limit + 1)
    fetched = conn.execute(stmt).all()
    more = len(fetched) > limit
    fetched = fetched[:limit]
    rows = [_row(ds, r[: len(cols)]) for r in fetched]
    next_cursor = None
    if more and fetched:
        last = fetched[-1]
        sort_value = last[len(cols)] if extra else rows[-1]["id"]
        next_cursor = encode_cursor(sort, sort_value, rows[-1]["id"])
    total = _count(conn, ds, filters, conds) if count else None
    return Page(rows=rows, next_cursor=next_cursor, total=total, limit=limit, sort=sort)


_ROLLUP_FILTERS = {"unit", "unit_level", "year", "year_from", "year_to", "category", "group"}


def _count(conn: Connection, ds: Dataset, filters: Filters, conds: list) -> int:
    given = filters.given()
    if ds.rollup_measure and given <= _ROLLUP_FILTERS:
        # Counts over millions of entries come from the rollup kept at import: no table scan.
        r = Rollup.__table__
        rconds = [r.c.measure == ds.rollup_measure, live(r.c.batch_id)]
        if given & {"unit", "unit_level"}:
            unit_conds = []
            if filters.unit:
                unit_conds.append(_u.c.code.in_(filters.unit))
            if filters.unit_level:
                unit_conds.append(_u.c.level.in_(filters.unit_level))
            rconds.append(r.c.unit_id.in_(select(_u.c.id).where(*unit_conds)))
        if filters.year:
            rconds.append(r.c.fiscal_year.in_(filters.year))
        if filters.year_from is not None:
            rconds.append(r.c.fiscal_year >= filters.year_from)
        if filters.year_to is not None:
            rconds.append(r.c.fiscal_year <= filters.year_to)
        if filters.category:
            rconds.append(r.c.category_code.in_(filters.category))
        if filters.group:
            rconds.append(r.c.category_code.in_(_categories_in_groups(filters.group)))
        return int(conn.execute(select(func.coalesce(func.sum(r.c.row_count), 0)).where(*rconds)).scalar_one())
    return int(conn.execute(select(func.count()).select_from(ds.base()).where(*conds)).scalar_one())


def get_row(conn: Connection, dataset: str, row_id: int) -> dict[str, Any]:
    """One row of a dataset by id (superseded rows included: provenance links must keep working)."""
    ds = DATASETS[dataset]
    if isinstance(row_id, int) and not -INT64_MAX <= row_id <= INT64_MAX:
        raise NotFound(f"no {dataset} row with id {row_id}")
    got = conn.execute(select(*[c.expr for c in ds.columns]).select_from(ds.base()).where(ds.id_expr == row_id)).first()
    if got is None:
        raise NotFound(f"no {dataset} row with id {row_id}")
    return _row(ds, got)


def iter_rows(engine: Engine, dataset: str, filters: Filters | None = None) -> Iterator[list[tuple]]:
    """Every live row of a dataset in id order, in chunks of tuples, streamed from the database.

    Tuples follow ``DATASETS[dataset].output_fields()``. The connection stays open while the
    caller iterates, so one snapshot serves the whole download.
    """
    ds = DATASETS[dataset]
    conds = _where(ds, filters or Filters())
    money = [c.money for c in ds.columns]
    stmt = select(*[c.expr for c in ds.columns]).select_from(ds.base()).where(*conds).order_by(ds.id_expr)
    with engine.connect() as conn, conn.begin():
        result = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK_ROWS).execute(stmt)
        for chunk in result.partitions(STREAM_CHUNK_ROWS):
            out = []
            for r in chunk:
                row: list[Any] = []
                for value, m in zip(r, money, strict=True):
                    row.append(value)
                    if m:
                        row.append(yuan(value))
                out.append(tuple(row))
            yield out


def categories(conn: Connection) -> list[dict[str, Any]]:
    """Expense categories with the groups each belongs to (三公, 四费, …), in display order."""
    groups: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        groups.setdefault(c, []).append(g)
    rows = conn.execute(
        select(Category.code, Category.name_zh, Category.name_en, Category.sort_order).order_by(
            Category.sort_order, Category.code
        )
    ).all()
    return [
        {"code": code, "name_zh": zh, "name_en": en, "groups": sorted(groups.get(code, []))} for code, zh, en, _ in rows
    ]


def category_groups(conn: Connection) -> list[dict[str, Any]]:
    """Category groups with their member categories."""
    members: dict[str, list[str]] = {}
    for g, c in conn.execute(select(CategoryGroupMember.group_code, CategoryGroupMember.category_code)):
        members.setdefault(g, []).append(c)
    rows = conn.execute(select(CategoryGroup.code, CategoryGroup.name_zh, CategoryGroup.name_en).order_by(CategoryGroup.code))
    return [{"code": c, "name_zh": zh, "name_en": en, "categories": sorted(members.get(c, []))} for c, zh, en in rows]


def data_version(conn: Connection) -> tuple[str, dt.datetime | None]:
    """A token that changes whenever anything public changes, and the time of the last change.

    Used for ETags and Last-Modified: published rows are append-only, so the newest batch, audit
    entry, check run and review identify the state of everything the public can read.
    """
    ids = conn.execute(
        select(
            select(func.max(ImportBatch.id)).scalar_subquery(),
            select(func.max(AuditLog.id)).scalar_subquery(),
            select(func.max(CheckRun.id)).scalar_subquery(),
            select(func.max(FlagReview.id)).scalar_subquery(),
            select(func.max(Unit.id)).scalar_subquery(),
            select(func.max(ImportBatch.created_at)).scalar_subquery(),
            select(func.max(AuditLog.created_at)).scalar_subquery(),
        )
    ).one()
    stamps = [t for t in ids[5:] if t is not None]
    last = max((t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in stamps), default=None)
    return "-".join("0" if i is None else str(i) for i in ids[:5]), last


# Flags, targets and the audit log register their datasets here, beside the ones above.
from ledger import queries_review  # noqa: E402,F401
