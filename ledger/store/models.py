"""The store's schema as SQLAlchemy 2 models.

Money is integer fen (``BigInteger``); never floats. Published rows (entries, budget lines,
procurement records, batches, audit log) are append-only: a correction is a new batch that
supersedes an older one, which stays queryable.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.base import Base, BigId, Timestamp, utcnow
from ledger.store.derived.batch_coverage import BatchCoverage
from ledger.store.derived.batch_names import BatchName
from ledger.store.derived.batch_totals import BatchTotal
from ledger.store.models_accounts import Account, AccountSession, ApiToken, AuditLog, FlagAssignment
from ledger.store.models_log import KeyValue, LogCheckpoint, LogLeaf, LogRowDigest
from ledger.store.models_procurement import ProcurementReplacement, ProcurementSummary

__all__ = ["Account", "AccountSession", "ApiToken", "AuditLog", "Base", "BatchCoverage", "BatchName", "BatchTotal", "BigId", "FlagAssignment", "KeyValue", "LogCheckpoint", "LogLeaf",
           "LogRowDigest", "ProcurementReplacement", "ProcurementSummary", "Timestamp", "utcnow"]  # and the tables below


class CategoryGroup(Base):
    """A named set of categories: 三公 (three_public), 四费 (four_fees), 公务用车 (vehicles)."""

    __tablename__ = "category_group"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class Category(Base):
    """An expense category; ``parent_code`` makes the published tree (三公经费合计 ⊃ 公务用车购置及运行维护费 ⊃ …)."""

    __tablename__ = "category"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    parent_code: Mapped[str | None] = mapped_column(String(40))  # seeded by migration 0003; no FK (data)


class CategoryGroupMember(Base):
    __tablename__ = "category_group_member"
    group_code: Mapped[str] = mapped_column(ForeignKey("category_group.code"), primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"), primary_key=True)


class ImportBatch(Base):
    """One import of one file: all its rows land together or not at all."""

    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # expenses | budgets | disclosure | procurement | ocds
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    encoding: Mapped[str | None] = mapped_column(String(40))
    sheet: Mapped[str | None] = mapped_column(String(200))
    amount_unit: Mapped[str | None] = mapped_column(String(10))
    submitted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    status: Mapped[str] = mapped_column(String(20), default="published")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_held: Mapped[int] = mapped_column(Integer, default=0)
    control_total_fen: Mapped[int | None] = mapped_column(BigInteger)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), unique=True)
    report_json: Mapped[str | None] = mapped_column(Text)


class Unit(Base):
    """A budget unit (预算单位): a department, bureau or subordinate body."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    level: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(100))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    kind: Mapped[str | None] = mapped_column(String(40))  # 单位性质: ledger.store.unit_terms.KINDS


class UnitEvent(Base):
    """A correction to the unit register, appended and never rewritten: ``merge`` (a mistaken or absorbed
    unit counts as ``successor_id`` in coverage and aggregate totals) or ``retire`` (no longer expected to
    report from ``fiscal_year`` on). Read by ``ledger.store.unit_events``."""

    __tablename__ = "unit_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # merge | retire
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class BudgetLine(Base):
    __tablename__ = "budget_line"
    __table_args__ = (Index("ix_budget_line_unit_year_category", "unit_id", "fiscal_year", "category_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    stage: Mapped[str] = mapped_column(String(10), default="original")  # original | adjusted | execution
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class ExpenseEntry(Base):
    """An actual (决算) expense: a line item, or a disclosure table's figure for a category."""

    __tablename__ = "expense_entry"
    __table_args__ = (
        Index("ix_expense_entry_unit_year_category", "unit_id", "fiscal_year", "category_code"),
        Index("ix_expense_entry_unit_voucher", "unit_id", "voucher_no"),  # probable duplicates by 凭证号
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    entry_date: Mapped[dt.date | None] = mapped_column(Date)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payee: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    voucher_no: Mapped[str | None] = mapped_column(String(100))
    source_category: Mapped[str | None] = mapped_column(String(200))
    persons: Mapped[int | None] = mapped_column(Integer)  # 人次
    batches: Mapped[int | None] = mapped_column(Integer)  # 批次 / 团组数
    vehicles: Mapped[int | None] = mapped_column(Integer)  # 购置数 / 保有量
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    payee_type: Mapped[str | None] = mapped_column(String(40))  # 收款方类型 as filed: 个人 / 单位 … (ledger.read.privacy)
    days: Mapped[int | None] = mapped_column(Integer)  # 天数 / 会期天数: a meeting's days (cost per meeting day)


class ProcurementRecord(Base):
    __tablename__ = "procurement_record"
    __table_args__ = (Index("ix_procurement_record_unit_year", "unit_id", "fiscal_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)
    project_code: Mapped[str | None] = mapped_column(String(200))
    ocid: Mapped[str | None] = mapped_column(String(200), index=True)
    release_id: Mapped[str | None] = mapped_column(String(200))
    release_date: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int | None] = mapped_column(Integer, index=True)  # null: no date says the year
    title: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(40))  # open_tender … single_source | other
    ocds_method: Mapped[str | None] = mapped_column(String(20))  # open | selective | limited | direct
    method_raw: Mapped[str | None] = mapped_column(String(200))
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    contract_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))  # null: the record states no amount
    supplier_name: Mapped[str | None] = mapped_column(String(300), index=True)
    supplier_id: Mapped[str | None] = mapped_column(String(100))
    tender_date: Mapped[dt.date | None] = mapped_column(Date)
    award_date: Mapped[dt.date | None] = mapped_column(Date)
    contract_date: Mapped[dt.date | None] = mapped_column(Date)
    compiled_json: Mapped[str | None] = mapped_column(Text)  # OCDS: the compiled release the row was read from
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    supplier_type: Mapped[str | None] = mapped_column(String(40))  # 供应商类型 as filed (ledger.read.privacy)


class ConsumptionLine(Base):
    """Utility use (electricity kWh, fuel litres, water m³) for the 节电节油节水 targets."""

    __tablename__ = "consumption_line"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    resource: Mapped[str] = mapped_column(String(20))  # electricity | fuel | water
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    measure_unit: Mapped[str] = mapped_column(String(10))  # kWh | L | m3


class DataQualityFinding(Base):
    """Something a published file got wrong that we load as published and record, never 'fix'."""

    __tablename__ = "data_quality_finding"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    sheet: Mapped[str | None] = mapped_column(String(200))
    source_row: Mapped[int | None] = mapped_column(Integer)
    column_name: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    difference_fen: Mapped[int | None] = mapped_column(BigInteger)


class PolicyTarget(Base):
    """A reduction target from a policy document, e.g. 公务接待经费实际支出压减20%以上."""

    __tablename__ = "policy_target"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    source_document: Mapped[str] = mapped_column(Text)
    scope_kind: Mapped[str] = mapped_column(String(10))  # all | units | levels
    scope_values: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    measure: Mapped[str] = mapped_column(String(20))  # actual | budget | consumption
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("category_group.code"))
    resource: Mapped[str | None] = mapped_column(String(20))
    baseline: Mapped[str] = mapped_column(String(40))  # prior_year | mean_prior_years:N | fixed_year:YYYY
    change_pct: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    year_from: Mapped[int | None] = mapped_column(Integer)
    year_to: Mapped[int | None] = mapped_column(Integer)
    definition_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())


class CheckRun(Base):
    __tablename__ = "check_run"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # data + targets + config
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    summary_json: Mapped[str | None] = mapped_column(Text)


class TargetResult(Base):
    __tablename__ = "target_result"
    __table_args__ = (UniqueConstraint("run_id", "target_id", "unit_id", "fiscal_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("check_run.id"), index=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("policy_target.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # met | missed | insufficient_data | no_data
    baseline_fen: Mapped[int | None] = mapped_column(BigInteger)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    value_fen: Mapped[int | None] = mapped_column(BigInteger)
    excess_fen: Mapped[int | None] = mapped_column(BigInteger)
    excess_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    detail_json: Mapped[str | None] = mapped_column(Text)


class Flag(Base):
    """A red flag. Its id is a hash of rule and subject, so re-running finds the same flag."""

    __tablename__ = "flag"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(40), index=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    category_code: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(30), default="open")
    data_status: Mapped[str] = mapped_column(String(20), default="active")  # active | resolved_by_data
    figures_json: Mapped[str] = mapped_column(Text)
    threshold_json: Mapped[str | None] = mapped_column(Text)
    policy_ref: Mapped[str | None] = mapped_column(Text)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_run.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_run.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    digest: Mapped[str | None] = mapped_column(String(64))  # sha256 of what it says: unchanged flags are not rewritten


class FlagReview(Base):
    """One transition in the review workflow; the note stays restricted until published."""

    __tablename__ = "flag_review"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flag.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, server_default=func.now())
    published_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # public: released when the finding is published; internal: never leaves the workspace.
    visibility: Mapped[str] = mapped_column(String(10), default="public", server_default="public")
    # A random salt: the review leaf commits to SHA-256(salt ‖ note) while the note is restricted, so the
    # note cannot be rewritten before publication, and the leaf gives no clue to a short note's text.
    note_salt: Mapped[str | None] = mapped_column(String(32))


class Rollup(Base):
    """Per-batch sums kept current at import, so aggregates never GROUP BY millions of rows."""

    __tablename__ = "rollup"
    __table_args__ = (
        UniqueConstraint("batch_id", "measure", "unit_id", "fiscal_year", "category_code", "currency"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    measure: Mapped[str] = mapped_column(String(20))  # actual | budget_original | budget_adjusted
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)


class ReceptionPersonsRollup(Base):
    """Per-batch reception sums over CNY entries stating 人次, kept at publish for ``per_capita_excess``."""

    __tablename__ = "reception_persons_rollup"
    __table_args__ = (UniqueConstraint("batch_id", "unit_id", "fiscal_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    persons: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)


class DuplicateCandidate(Base):
    """A payment key (unit, payee, amount, date) of a batch seen more than once when the batch was published;
    counted over the batch and every batch live then, so ``duplicate_payment`` reads these keys, not all entries."""

    __tablename__ = "duplicate_candidate"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    payee: Mapped[str] = mapped_column(String(300))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    entry_date: Mapped[dt.date] = mapped_column(Date)


class SearchText(Base):
    """A searchable text, once however many entries name it (migration 0013_search_text), so it is tokenised once:
    SQLite's FTS5 trigram table ``search_fts`` covers ``body``, PostgreSQL a pg_trgm GIN index; unique on both."""

    __tablename__ = "search_text"
    __table_args__ = (Index("ix_search_text_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class SearchEntry(Base):
    """A searchable text of a published batch (unit name, payee, description, supplier, title), once per
    unit and year with its row count and amount, so search reads no raw rows (``ledger.store.derived.search_index``, ``ledger.read.published.search``)."""

    __tablename__ = "search_entry"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))  # no index: nothing reads by it (0014)
    kind: Mapped[str] = mapped_column(String(20))  # unit | payee | description | supplier | title
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    text_id: Mapped[int] = mapped_column(ForeignKey("search_text.id"), index=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))  # the amount's currency (a UAH contract stays UAH)
    # set on an entry taking back a replaced procurement state: it counts while that row's batch is live too
    replaced_batch_id: Mapped[int | None] = mapped_column(BigId)


# Indexes behind the public lists' filters and sorts (0010; (batch_id, created_at) 0013, which with ix_sort_* serves
# the dates and updated_since (no created_at index: 0014, 0015); (run_id, status, id) 0017; EXPLAINed: test_read_plans).
READ_INDEXES = {
    "expense_entry": ["category_code", "payee", "amount_fen", ("batch_id", "created_at")],
    "budget_line": ["category_code", "stage", "amount_fen", ("batch_id", "created_at")],
    "procurement_record": ["method", "ocds_method", "supplier_id", "contract_fen", "contract_date",
                           ("batch_id", "created_at")],
    "unit": ["level", "parent_id", "created_at"],
    "flag": ["unit_id", "fiscal_year", "category_code", "state", "created_at"],
    "target_result": [("run_id", "status", "id"), ("run_id", "unit_id"), ("run_id", "fiscal_year"),
                      ("run_id", "target_id", "id")],
}
for _table, _columns in READ_INDEXES.items():
    for _cols in _columns:
        _cols = (_cols,) if isinstance(_cols, str) else _cols
        Index(f"ix_{_table}_{'_'.join(_cols)}", *(Base.metadata.tables[_table].c[c] for c in _cols))
