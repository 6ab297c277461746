"""Every public dataset described once: columns with Frictionless types, filters and sort orders.

Only live rows are read: a row whose batch a correction superseded drops out (``always``).
Flags, targets, target results and the audit log are described in ``ledger.read.review_datasets``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    TypeDecorator,
    case,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal

from ledger.read import review_datasets
from ledger.read.types import Column, Dataset, is_in
from ledger.store.base import Timestamp
from ledger.store.batches import current_pin, known_units, live, live_procurement, logged
from ledger.store.models import (
    BudgetLine,
    CategoryGroupMember,
    ExpenseEntry,
    ImportBatch,
    ProcurementRecord,
    Unit,
)

_u = Unit.__table__.alias("u")
_e = ExpenseEntry.__table__
_b = BudgetLine.__table__
_p = ProcurementRecord.__table__
_ib = ImportBatch.__table__


def _categories_in_groups(groups: list[str]):
    return select(CategoryGroupMember.category_code).where(CategoryGroupMember.group_code.in_(groups))


def _since(table):
    """``updated_since`` on a table of published rows: ``created_at >= v``, bounded per batch through the
    ``(batch_id, created_at)`` index of migration 0013 (the plain ``created_at`` index went in 0014).

    SQLite: and ``id >=`` the least id of a row created since then, so the page walks ids from the first
    such row rather than from the table's first row. Exact: the bound is the least id the filter keeps.
    Taken per batch whose newest row is that new: a batch written wholly since ``v`` gives its first id
    (``ORDER BY batch_id, id``: the ``batch_id`` index in id order, one step, once the index has
    statistics, which migration 0013 and every large import leave; without them SQLite may sort the
    batch's entries instead); the batch being written at ``v`` its least id among the entries from ``v``
    on (``_first_since``: a few index steps, not a read of every such entry).

    PostgreSQL: and ``batch_id IN`` the batches whose newest row is that new (one backward step of the
    index per batch), so each such batch's rows since ``v`` are one range of that index. Its indexes on
    ``batch_id`` are not in id order, so the id bound above would sort a whole batch there."""
    t, b = table.alias("since_row"), _ib.alias("since_batch")

    def condition(v):
        v = type_coerce(v, _At())

        def of_batch(*columns):
            return select(*columns).where(t.c.batch_id == b.c.id).correlate(b)
        oldest = of_batch(func.min(t.c.created_at)).scalar_subquery()
        newest = of_batch(func.max(t.c.created_at)).scalar_subquery()
        first = of_batch(t.c.id).order_by(t.c.batch_id, t.c.id).limit(1).scalar_subquery()
        first_since = _first_since(table, b, v)
        bound = (select(func.min(case((oldest >= v, first), else_=first_since))).select_from(b).where(newest >= v)
                 .scalar_subquery())
        return (table.c.created_at >= v) & _Only("sqlite", table.c.id >= bound) & _Only(
            "postgresql", table.c.batch_id.in_(batches_since(table, v)))
    return condition


def batches_since(table, v):
    """The ids of the batches whose newest row of ``table`` was created at ``v`` or later (``_since``'s
    PostgreSQL bound): one backward step of the ``(batch_id, created_at)`` index per batch."""
    t, b = table.alias("since_row"), _ib.alias("since_batch")
    newest = select(func.max(t.c.created_at)).where(t.c.batch_id == b.c.id).correlate(b).scalar_subquery()
    return select(b.c.id).where(newest >= type_coerce(v, _At()))


def since_in_batches(table, v, batch_ids):
    """``updated_since`` on PostgreSQL with ``batches_since`` already asked: the same rows."""
    return (table.c.created_at >= type_coerce(v, _At())) & table.c.batch_id.in_(batch_ids)


def _first_since(table, b, v):
    """The least id among batch ``b``'s rows created at ``v`` or later, exactly, in a few index steps.

    A batch's rows carry few distinct ``created_at`` values (one per second of its load: 261 for a 5M-row
    file), and the ``(batch_id, created_at)`` index keeps each value's rows in id order. So: step through
    the distinct values from ``v`` on (a recursive CTE, one seek each) and take the least of each value's
    first id. ``min(id)`` over all of those rows read every index entry from ``v`` on instead: 0.2 CPU-s
    for a time in the middle of a 5M-row batch, against 1 ms.
    """
    start, step, first = table.alias("since_start"), table.alias("since_step"), table.alias("since_first")
    seen = (select(func.min(start.c.created_at).label("at")).where(start.c.batch_id == b.c.id, start.c.created_at >= v)
            .correlate(b).cte("since_times", recursive=True, nesting=True))
    later = select(func.min(step.c.created_at)).where(step.c.batch_id == b.c.id, step.c.created_at > seen.c.at).correlate(b, seen)
    seen = seen.union_all(select(later.scalar_subquery()).where(seen.c.at.is_not(None)))
    first_id = select(func.min(first.c.id)).where(first.c.batch_id == b.c.id, first.c.created_at == seen.c.at).correlate(b, seen)
    return select(func.min(first_id.scalar_subquery())).select_from(seen).scalar_subquery()


class _At(TypeDecorator):
    """``updated_since``'s bound. SQLite keeps times as text: a row written by ``CURRENT_TIMESTAMP`` (the
    server default the bulk path leaves to it) reads ``2024-01-02 03:04:05``, which sorts before the bound
    ``2024-01-02 03:04:05.000000`` SQLAlchemy writes for that very second, so the row was left out. A
    bound on the second is written to the second: it sorts at or before every row of that second."""

    impl = Timestamp
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else Timestamp)

    def process_bind_param(self, value, dialect):
        if dialect.name != "sqlite" or not isinstance(value, dt.datetime):
            return value
        return value.strftime("%Y-%m-%d %H:%M:%S") + (f".{value.microsecond:06d}" if value.microsecond else "")


def _since_plain(column):
    return lambda v: column >= type_coerce(v, _At())


class _Only(ColumnElement):
    """A condition one database is given and the others not (``1 = 1``): each plans the other's
    per-batch bound of ``updated_since`` badly (see ``_since``)."""

    inherit_cache = True
    type = NullType()
    _traverse_internals = [("dialect", InternalTraversal.dp_string), ("clause", InternalTraversal.dp_clauseelement)]

    def __init__(self, dialect: str, clause):
        self.dialect, self.clause = dialect, clause


@compiles(_Only)
def _only(element, compiler, **kw):
    return compiler.process(element.clause, **kw) if compiler.dialect.name == element.dialect else "1 = 1"


def _common_unit_filters(year_col, unit_alias=_u) -> dict[str, Callable]:
    return {
        "unit": is_in(unit_alias.c.code),
        "unit_level": is_in(unit_alias.c.level),
        "year": is_in(year_col),
        "year_from": lambda v: year_col >= v,
        "year_to": lambda v: year_col <= v,
    }


# Sort expressions are written without bound parameters so that the expression indexes of migration
# 0010 (``ix_sort_*``) match them on SQLite and PostgreSQL alike: undated rows sort as 0001-01-01,
# procurement without a contract amount as -2**62.
NO_DATE = "'0001-01-01'"
NO_AMOUNT = str(-(2**62))


def _date_sort(col):
    return func.coalesce(col, literal_column(NO_DATE, Date), type_=Date)


# The date filters are written on the sort's expression so that its index (``ix_sort_*_date``) serves
# filter and sort alike (migration 0014 dropped the plain ``entry_date`` index). An undated row is
# 0001-01-01 there, so each keeps above it: undated rows stay out, as with ``entry_date >= v``.
# Each is one range, as ``entry_date >= v`` was: SQLite takes two bounds for a narrow range and sorts
# the half of the table a first page by id walked past (4 s at 1M for ``?date_to=``), and of two lower
# bounds it may range over the weaker.
def _dated_from(col, v):
    v = type_coerce(v, Date())
    return _date_sort(col) >= case((v > literal_column(NO_DATE, Date), v), else_=literal_column("'0001-01-02'", Date))


def _dated_to(col, v):
    return (_date_sort(col) <= v) & (_date_sort(col) != literal_column(NO_DATE, Date))


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
        Column("payee_type", _e.c.payee_type, "string", "Payee type as filed (收款方类型: 个人, 单位 …), if any"),
        Column("description", _e.c.description, "string", "Description (摘要)"),
        Column("voucher_no", _e.c.voucher_no, "string", "Voucher number (凭证号)"),
        Column("persons", _e.c.persons, "integer", "Persons (人次)"),
        Column("batches", _e.c.batches, "integer", "Batches or delegations (批次/团组数)"),
        Column("vehicles", _e.c.vehicles, "integer", "Vehicles (购置数/保有量)"),
        Column("days", _e.c.days, "integer", "Days a meeting lasted (天数), if stated"),
        Column("created_at", _e.c.created_at, "datetime", "When the row was published"),
    ),
    base=lambda: _e.join(_u, _u.c.id == _e.c.unit_id),
    id_expr=_e.c.id,
    always=lambda: live(_e.c.batch_id),
    filters={
        **_common_unit_filters(_e.c.fiscal_year),
        "category": is_in(_e.c.category_code),
        "group": lambda v: _e.c.category_code.in_(_categories_in_groups(v)),
        "payee": is_in(_e.c.payee),
        "supplier": is_in(_e.c.payee),
        "amount_min": lambda v: _e.c.amount_fen >= v,
        "amount_max": lambda v: _e.c.amount_fen <= v,
        "date_from": lambda v: _dated_from(_e.c.entry_date, v),
        "date_to": lambda v: _dated_to(_e.c.entry_date, v),
        "updated_since": _since(_e),
        "batch": is_in(_e.c.batch_id),
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
        "category": is_in(_b.c.category_code),
        "group": lambda v: _b.c.category_code.in_(_categories_in_groups(v)),
        "stage": is_in(_b.c.stage),
        "amount_min": lambda v: _b.c.amount_fen >= v,
        "amount_max": lambda v: _b.c.amount_fen <= v,
        "updated_since": _since(_b),
        "batch": is_in(_b.c.batch_id),
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
        Column("supplier_type", _p.c.supplier_type, "string", "Supplier type as filed (供应商类型), if any"),
        Column("tender_date", _p.c.tender_date, "date", "Tender date (招标日期)"),
        Column("award_date", _p.c.award_date, "date", "Award date (中标日期)"),
        Column("contract_date", _p.c.contract_date, "date", "Contract date (合同日期)"),
        Column("created_at", _p.c.created_at, "datetime", "When the row was published"),
    ),
    base=lambda: _p.join(_u, _u.c.id == _p.c.unit_id),
    id_expr=_p.c.id,
    always=lambda: live_procurement(_p),
    filters={
        **_common_unit_filters(_p.c.fiscal_year),
        "method": is_in(_p.c.method),
        "ocds_method": is_in(_p.c.ocds_method),
        "supplier": lambda v: or_(_p.c.supplier_name.in_(v), _p.c.supplier_id.in_(v)),
        "amount_min": lambda v: _p.c.contract_fen >= v,
        "amount_max": lambda v: _p.c.contract_fen <= v,
        "date_from": lambda v: _p.c.contract_date >= v,
        "date_to": lambda v: _p.c.contract_date <= v,
        "updated_since": _since(_p),
        "batch": is_in(_p.c.batch_id),
    },
    sorts={
        "id": _p.c.id,
        "fiscal_year": _p.c.fiscal_year,
        "amount": func.coalesce(_p.c.contract_fen, literal_column(NO_AMOUNT, BigInteger), type_=BigInteger),
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
        Column("unit_kind", _unit.c.kind, "string",
               "Unit kind (单位性质): 行政单位, 参照公务员法管理事业单位, 事业单位 or 其他; empty when not stated"),
        Column("parent_code", _parent.c.code, "string", "Parent unit code"),
        Column("created_at", _unit.c.created_at, "datetime", "When the unit was first seen"),
    ),
    base=lambda: _unit.outerjoin(_parent, _parent.c.id == _unit.c.parent_id),
    id_expr=_unit.c.id,
    always=lambda: known_units(_unit),
    filters={
        "unit": is_in(_unit.c.code),
        "level": is_in(_unit.c.level),
        "unit_level": is_in(_unit.c.level),
        "parent": is_in(_parent.c.code),
        "updated_since": _since_plain(_unit.c.created_at),
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
    always=lambda: logged(_ib.c.id),
    filters={
        "kind": is_in(_ib.c.kind),
        "batch": is_in(_ib.c.id),
        "updated_since": _since_plain(_ib.c.created_at),
    },
    sorts={"id": _ib.c.id},
)

class _Datasets(dict):
    """Datasets by name; under ``pinned`` (``as_of``) the flags, targets and target results as of the checkpoint
    (the spending datasets need nothing: their ``always`` is ``live``, which the pin already changes)."""

    def __getitem__(self, name: str) -> Dataset:
        ds = super().__getitem__(name)
        pin = current_pin()
        return ds if pin is None else review_datasets.as_of(ds, pin)


DATASETS: dict[str, Dataset] = _Datasets({
    d.name: d for d in (EXPENSES, BUDGETS, PROCUREMENT, UNITS, BATCHES, *review_datasets.DATASETS)
})

# Flags, targets, target results and the audit log register themselves beside these.
