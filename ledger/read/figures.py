"""Figures for the charts and public pages, as polars frames of integer fen.

Amounts are resolved figures (``ledger.store.published``), the same read the disclosure reports use.
Everything here reads live (not superseded) rows only and never selects a review note that has
not been published. Sums come from the ``rollup`` table kept current at import, so no query
scans raw expense rows. Uses SQLAlchemy and polars only: the ledger never imports the web or
plotting stacks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, case, func, select

from ledger.read import review_datasets, totals
from ledger.read.privacy import redactor as privacy
from ledger.store import published
from ledger.store.batches import current_pin, live, live_procurement
from ledger.store.models import (
    Category,
    CategoryGroup,
    CategoryGroupMember,
    CheckRun,
    Flag,
    FlagReview,
    ImportBatch,
    PolicyTarget,
    ProcurementRecord,
    Rollup,
    TargetResult,
    Unit,
)

AMOUNT_SCHEMA = {
    "unit_id": pl.Int64, "fiscal_year": pl.Int64, "category_code": pl.Utf8,
    "actual_fen": pl.Int64, "budget_fen": pl.Int64, "actual_basis": pl.Utf8, "budget_basis": pl.Utf8,
    "original_fen": pl.Int64, "execution_fen": pl.Int64,
}


def _frame(rows, schema: dict) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def data_date(conn: Connection) -> dt.date | None:
    """The day the newest live batch was published: the "data as of" date shown under charts."""
    value = conn.execute(select(func.max(ImportBatch.created_at)).where(live(ImportBatch.id))).scalar()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without type detection
        value = dt.datetime.fromisoformat(value)
    return value.date()


def data_stamp(conn: Connection) -> str:
    """A cheap fingerprint of everything the public views show; it changes whenever they may."""
    parts = [
        conn.execute(select(func.max(ImportBatch.id), func.count(ImportBatch.id))).one(),
        conn.execute(select(func.max(CheckRun.id))).one(),
        conn.execute(select(func.max(FlagReview.id), func.count(Flag.id)).select_from(Flag).outerjoin(
            FlagReview, FlagReview.flag_id == Flag.id)).one(),
        conn.execute(select(func.count(Unit.id), func.max(Unit.id))).one(),
    ]
    return "-".join(str(v) for row in parts for v in row)


def units(conn: Connection) -> pl.DataFrame:
    """Every unit: id, code, name, level, ordered by code."""
    rows = conn.execute(select(Unit.id, Unit.code, Unit.name, Unit.level).order_by(Unit.code)).all()
    return _frame(rows, {"id": pl.Int64, "code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8})


def unit_by_code(conn: Connection, code: str) -> dict | None:
    """One unit as a dict (id, code, name, level, kind), or None."""
    row = conn.execute(select(Unit.id, Unit.code, Unit.name, Unit.level, Unit.kind).where(Unit.code == code)).first()
    return None if row is None else dict(row._mapping)


def categories(conn: Connection) -> pl.DataFrame:
    """The category table: code, name_zh, name_en, sort_order."""
    rows = conn.execute(
        select(Category.code, Category.name_zh, Category.name_en, Category.sort_order).order_by(
            Category.sort_order, Category.code)
    ).all()
    return _frame(rows, {"code": pl.Utf8, "name_zh": pl.Utf8, "name_en": pl.Utf8, "sort_order": pl.Int64})


def group_categories(conn: Connection, group_code: str) -> list[str]:
    """Category codes in a group (e.g. ``three_public``), in display order."""
    rows = conn.execute(
        select(CategoryGroupMember.category_code)
        .join(Category, Category.code == CategoryGroupMember.category_code)
        .where(CategoryGroupMember.group_code == group_code)
        .order_by(Category.sort_order, Category.code)
    ).all()
    return [r[0] for r in rows]


def group_name(conn: Connection, group_code: str, lang: str = "zh") -> str | None:
    """A category group's name in Chinese (``zh``) or English, or None when there is no such group."""
    col = CategoryGroup.name_en if lang == "en" else CategoryGroup.name_zh
    return conn.execute(select(col).where(CategoryGroup.code == group_code)).scalar()


def amounts(conn: Connection, unit_id: int | None = None, category_codes: list[str] | None = None) -> pl.DataFrame:
    """Actual and budget per unit, year and category, in fen (CNY only), one figure each.

    Figures are resolved by ``ledger.store.published``: a category's published figure (a disclosure
    table's 合计, subtotal or part, a budgets file's line) where one exists, else the sum of its children
    or line items; ``actual_basis`` / ``budget_basis`` say ``published`` or ``derived``. The budget is the
    adjusted budget (调整预算) where one exists for that unit, year and category, else the original
    (年初预算); ``original_fen`` and ``execution_fen`` (执行数) are there too. A side with no figure is null,
    never zero.
    """
    rows = published.rollup_rows(conn, unit_ids=None if unit_id is None else [unit_id])
    # The budget in force is chosen per filed figure, before any node is summed: a 合计 derived from
    # one adjusted part alone would otherwise stand in for the whole original budget.
    filed = ["unit_id", "fiscal_year", "category_code"]
    adjusted = pl.col("measure") == "budget_adjusted"
    in_force = rows.filter(pl.col("measure").is_in(["budget_original", "budget_adjusted"])).filter(
        adjusted | ~adjusted.any().over(filed)).with_columns(measure=pl.lit("budget_in_force"))
    resolved = published.resolve(pl.concat([rows, in_force]), published.parents(conn))
    if category_codes is not None:
        resolved = resolved.filter(pl.col("category_code").is_in(category_codes))
    resolved = resolved.filter(pl.col("amount").is_not_null() & pl.col("measure").is_in(
        ["actual", "budget_original", "budget_in_force", "budget_execution"]))
    if resolved.height == 0:
        return pl.DataFrame(schema=AMOUNT_SCHEMA)
    keys = ["unit_id", "fiscal_year", "category_code"]

    def side(measure: str, name: str) -> pl.DataFrame:
        return resolved.filter(pl.col("measure") == measure).select(
            *keys, pl.col("amount").alias(f"{name}_fen"), pl.col("basis").alias(f"{name}_basis"))

    wide = resolved.select(keys).unique()
    for measure, name in (("actual", "actual"), ("budget_original", "original"), ("budget_in_force", "budget"),
                          ("budget_execution", "execution")):
        wide = wide.join(side(measure, name), on=keys, how="left")
    return wide.select(
        *keys,
        pl.col("actual_fen").cast(pl.Int64),
        pl.col("budget_fen").cast(pl.Int64),
        pl.col("actual_basis"),
        pl.col("budget_basis"),
        pl.col("original_fen").cast(pl.Int64).alias("original_fen"),
        pl.col("execution_fen").cast(pl.Int64).alias("execution_fen"),
    ).sort(keys)


def latest_target_results(conn: Connection, unit_id: int | None = None) -> pl.DataFrame:
    """Each (target, unit, year)'s result from the newest check run that evaluated it.

    Columns: target_id, title, category_code, group_code, change_pct, unit_id, fiscal_year, status,
    baseline_fen, cap_fen, value_fen, excess_fen, measure. For a ``consumption`` target the four
    amounts are thousandths of the resource's unit (kWh, L, m³), not fen.
    """
    newest = (
        select(
            TargetResult.target_id, TargetResult.unit_id, TargetResult.fiscal_year,
            func.max(TargetResult.run_id).label("run_id"),
        )
        .group_by(TargetResult.target_id, TargetResult.unit_id, TargetResult.fiscal_year)
    )
    if (pin := current_pin()) is not None:  # as of a checkpoint: the runs started before it
        newest = newest.where(TargetResult.run_id.in_(select(CheckRun.id).where(CheckRun.started_at < pin.time)))
    newest = newest.subquery()
    q = (
        select(
            TargetResult.target_id, PolicyTarget.title, PolicyTarget.category_code, PolicyTarget.group_code,
            PolicyTarget.change_pct, TargetResult.unit_id, TargetResult.fiscal_year, TargetResult.status,
            TargetResult.baseline_fen, TargetResult.cap_fen, TargetResult.value_fen, TargetResult.excess_fen,
            PolicyTarget.measure,
        )
        .join(newest, (newest.c.target_id == TargetResult.target_id) & (newest.c.unit_id == TargetResult.unit_id)
              & (newest.c.fiscal_year == TargetResult.fiscal_year) & (newest.c.run_id == TargetResult.run_id))
        .join(PolicyTarget, PolicyTarget.id == TargetResult.target_id)
        .order_by(TargetResult.fiscal_year, TargetResult.target_id, TargetResult.unit_id)
    )
    if unit_id is not None:
        q = q.where(TargetResult.unit_id == unit_id)
    rows = [(*r[:4], None if r[4] is None else float(r[4]), *r[5:]) for r in conn.execute(q).all()]
    return _frame(rows, {
        "target_id": pl.Utf8, "title": pl.Utf8, "category_code": pl.Utf8, "group_code": pl.Utf8,
        "change_pct": pl.Float64, "unit_id": pl.Int64, "fiscal_year": pl.Int64, "status": pl.Utf8,
        "baseline_fen": pl.Int64, "cap_fen": pl.Int64, "value_fen": pl.Int64, "excess_fen": pl.Int64,
        "measure": pl.Utf8,
    })


def procurement_by_year(conn: Connection, unit_id: int | None = None, currency: str = "CNY") -> pl.DataFrame:
    """Procurement scale and savings per year, in minor units (fen) of ``currency``.

    ``contract_fen`` sums every live record's contract amount (the scale); savings use only records
    with both amounts: ``savings_fen = budget − contract`` over ``savings_base_fen`` (their budget),
    the seed's definition of the savings rate.
    """
    both = ProcurementRecord.budget_fen.is_not(None) & ProcurementRecord.contract_fen.is_not(None)
    q = (
        select(
            ProcurementRecord.fiscal_year,
            func.count(),
            func.sum(ProcurementRecord.budget_fen),
            func.sum(ProcurementRecord.contract_fen),
            func.sum(case((both, ProcurementRecord.budget_fen), else_=0)),
            func.sum(case((both, ProcurementRecord.budget_fen - ProcurementRecord.contract_fen), else_=0)),
        )
        .where(live_procurement(), ProcurementRecord.currency == currency)
        .group_by(ProcurementRecord.fiscal_year)
        .order_by(ProcurementRecord.fiscal_year)
    )
    if unit_id is not None:
        q = q.where(ProcurementRecord.unit_id == unit_id)
    return _frame(conn.execute(q).all(), {
        "fiscal_year": pl.Int64, "records": pl.Int64, "budget_fen": pl.Int64, "contract_fen": pl.Int64,
        "savings_base_fen": pl.Int64, "savings_fen": pl.Int64,
    })


def procurement_currencies(conn: Connection) -> list[str]:
    """Currencies of the procurement counted now, CNY first; records stating no amount have none."""
    found = conn.execute(select(ProcurementRecord.currency).where(
        live_procurement(), ProcurementRecord.currency.is_not(None)).distinct()).scalars().all()
    return sorted(found, key=lambda c: (c != "CNY", c))


def procurement_methods(conn: Connection, year: int | None = None, unit_id: int | None = None,
                        currency: str = "CNY") -> pl.DataFrame:
    """Records and contract value (in ``currency``) per procurement method, largest value first."""
    q = (
        select(ProcurementRecord.method, func.count(), func.coalesce(func.sum(ProcurementRecord.contract_fen), 0))
        .where(live_procurement(), ProcurementRecord.currency == currency)
        .group_by(ProcurementRecord.method)
    )
    if year is not None:
        q = q.where(ProcurementRecord.fiscal_year == year)
    if unit_id is not None:
        q = q.where(ProcurementRecord.unit_id == unit_id)
    frame = _frame(conn.execute(q).all(), {"method": pl.Utf8, "records": pl.Int64, "contract_fen": pl.Int64})
    return frame.sort(["contract_fen", "method"], descending=[True, False])


def public_flags(conn: Connection, unit_id: int | None = None, limit: int | None = None, *,
                 reveal: bool = False) -> pl.DataFrame:
    """Flags with their public fields only, newest first, with the latest *published* review decision.

    Review notes are restricted until published; an unpublished review contributes nothing here.
    Natural persons' names in the messages read as 个人（已隐去） unless ``reveal`` (``ledger.read.privacy``).
    """
    pin = current_pin()  # as of a checkpoint: flags raised by then, in the state their logged reviews left them
    published = select(FlagReview.flag_id, func.max(FlagReview.id).label("review_id")).where(
        FlagReview.published_at.is_not(None))
    if pin is not None:
        published = published.where(FlagReview.id.in_(review_datasets.logged_reviews("publish", pin.size)))
    published = published.group_by(FlagReview.flag_id).subquery()
    state = Flag.state if pin is None else review_datasets.state_as_of(pin.size, Flag.__table__)
    q = (
        select(
            Flag.id, Flag.rule_code, Flag.unit_id, Unit.code, Unit.name, Flag.fiscal_year, Flag.category_code,
            state, Flag.data_status, Flag.message_zh, Flag.message_en, Flag.created_at,
            FlagReview.to_state, FlagReview.note, FlagReview.published_at,
        )
        .outerjoin(Unit, Unit.id == Flag.unit_id)
        .outerjoin(published, published.c.flag_id == Flag.id)
        .outerjoin(FlagReview, FlagReview.id == published.c.review_id)
        .order_by(Flag.created_at.desc(), Flag.id)
    )
    if unit_id is not None:
        q = q.where(Flag.unit_id == unit_id)
    if pin is not None:
        q = q.where(Flag.created_at < pin.time)
    if limit is not None:
        q = q.limit(limit)
    zh, en = privacy.for_reader(conn, reveal=reveal), privacy.for_reader(conn, reveal=reveal, lang="en")
    rows = [(*r[:9], zh.text(r[9]), en.text(r[10]), _iso(r[11]), r[12], r[13], _iso(r[14])) for r in conn.execute(q)]
    return _frame(rows, {
        "id": pl.Utf8, "rule_code": pl.Utf8, "unit_id": pl.Int64, "unit_code": pl.Utf8, "unit_name": pl.Utf8,
        "fiscal_year": pl.Int64, "category_code": pl.Utf8, "state": pl.Utf8, "data_status": pl.Utf8,
        "message_zh": pl.Utf8, "message_en": pl.Utf8, "created_at": pl.Utf8,
        "published_state": pl.Utf8, "published_note": pl.Utf8, "published_at": pl.Utf8,
    })


def _iso(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def key_figures(conn: Connection, unit_id: int | None = None) -> dict:
    """The headline figures of the region (or one unit) for its latest year with actual spending.

    For the region that is the latest *complete* year (``ledger.read.totals.coverage``: every expected
    unit reported), or the latest year when none is complete; ``latest_year`` is the newest year with
    data, ``coverage`` / ``latest_coverage`` / ``prior_coverage`` the coverage of the headline year, the
    newest year and the year before the headline (None for one unit).

    Keys: year, latest_year, coverage, latest_coverage, prior_coverage, three_public_actual_fen, three_public_prior_fen, three_public_budget_fen,
    four_fees_actual_fen, procurement_contract_fen, procurement_savings_fen,
    procurement_savings_base_fen, procurement_records, targets_met, targets_missed,
    targets_insufficient, flags, flags_open. Amounts are fen; a side with no data is None.
    """
    tree = published.parents(conn)
    # the published 合计 where there is one (a group that is all of a node's children reads the node)
    three = published.collapse(group_categories(conn, "three_public"), tree)
    four = published.collapse(group_categories(conn, "four_fees"), tree)
    a = amounts(conn, unit_id, sorted(set(three) | set(four)))
    actual = a.filter(pl.col("actual_fen").is_not_null())
    latest = int(actual["fiscal_year"].max()) if actual.height else None
    # the region's headline is its latest complete year: one where 2 of 40 units have reported is not a total
    cov = {} if unit_id is not None else totals.coverage(conn, ("actual",))
    complete = totals.latest_complete_year({y: c for y, c in cov.items() if latest is not None and y <= latest})
    year = complete if complete is not None else latest

    def total(codes: list[str], y: int | None, column: str) -> int | None:
        part = a.filter(pl.col("category_code").is_in(codes) & (pl.col("fiscal_year") == y)
                        & pl.col(column).is_not_null())
        return int(part[column].sum()) if part.height else None

    proc = procurement_by_year(conn, unit_id).filter(pl.col("fiscal_year") == year)
    res = latest_target_results(conn, unit_id).filter(pl.col("fiscal_year") == year)
    flags = public_flags(conn, unit_id)
    status = res["status"].to_list()
    prior_cov = cov.get(year - 1) if year is not None else None
    return {
        "year": year,
        "latest_year": latest,
        "coverage": cov.get(year) if year is not None else None,
        "latest_coverage": cov.get(latest) if latest is not None else None,
        "prior_coverage": prior_cov,
        "three_public_actual_fen": total(three, year, "actual_fen"),
        "three_public_prior_fen": None if year is None else total(three, year - 1, "actual_fen"),
        # 预算数 as the 三公 table on the same page reads it: the original budget (调整预算 is its own column)
        "three_public_budget_fen": total(three, year, "original_fen"),
        "four_fees_actual_fen": total(four, year, "actual_fen"),
        "procurement_contract_fen": int(proc["contract_fen"][0] or 0) if proc.height else None,
        "procurement_savings_fen": int(proc["savings_fen"][0] or 0) if proc.height else None,
        "procurement_savings_base_fen": int(proc["savings_base_fen"][0] or 0) if proc.height else None,
        "procurement_records": int(proc["records"][0]) if proc.height else 0,
        "targets_met": status.count("met"),
        "targets_missed": status.count("missed"),
        "targets_insufficient": status.count("insufficient_data"),
        "flags": flags.height,
        "flags_open": flags.filter(pl.col("data_status") == "active").height,
    }


# Which published files a chart rests on: the live import batches behind it, so a caption can name the publisher
# and the batches (a reader fetches the very file at /api/v1/import-batches/{id}).

def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without type detection
        value = dt.datetime.fromisoformat(value)
    return value.date()


@dataclass(frozen=True)
class Sources:
    """The first few batches (id, file name) behind a figure, how many there are in all, and the newest date."""

    batches: list[tuple[int, str]]
    count: int
    as_of: dt.date | None


def chart_sources(conn: Connection, unit_id: int | None = None, categories: list[str] | None = None, *,
                  procurement: bool = False, limit: int = 2) -> Sources:
    """Live batches holding the rows a chart draws: spending and budget rollups (optionally for ``categories``),
    or procurement records; for one unit or the whole region. The newest batches are listed first."""
    table = ProcurementRecord.__table__ if procurement else Rollup.__table__
    ids = select(table.c.batch_id).where(live(table.c.batch_id))
    if unit_id is not None:
        ids = ids.where(table.c.unit_id == unit_id)
    if categories and not procurement:
        ids = ids.where(table.c.category_code.in_(categories))
    ids = ids.distinct().subquery()
    b = ImportBatch.__table__
    count, newest = conn.execute(select(func.count(), func.max(b.c.created_at)).where(b.c.id.in_(select(ids)))).one()
    rows = conn.execute(select(b.c.id, b.c.file_name).where(b.c.id.in_(select(ids)))
                        .order_by(b.c.id.desc()).limit(limit)).all()
    return Sources([(int(i), str(name)) for i, name in rows], int(count or 0), _as_date(newest))
