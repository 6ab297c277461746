"""initial schema: every table, and the categories and groups of shared/DOMAIN.md

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:51:29.473448
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


CATEGORIES = [
    # code, 中文, English, sort order
    ("overseas_travel", "因公出国(境)费", "Overseas travel", 10),
    ("vehicle_purchase", "公务用车购置费", "Official vehicle purchase", 20),
    ("vehicle_operation", "公务用车运行维护费", "Official vehicle operation", 30),
    ("reception", "公务接待费", "Official reception", 40),
    ("meeting", "会议费", "Meetings", 50),
    ("study_tour", "学习考察费", "Study tours", 60),
    ("transport", "交通费", "Transport", 70),
    ("training", "培训费", "Training", 80),
    ("other", "其他", "Other", 90),
]

GROUPS = [
    (
        "three_public",
        "三公经费",
        "Three public expenses",
        ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"],
    ),
    (
        "vehicles",
        "公务用车购置及运行维护费",
        "Official vehicles (purchase and operation)",
        ["vehicle_purchase", "vehicle_operation"],
    ),
    (
        "four_fees",
        "四费",
        "Four fees (reception, meetings, study tours, transport)",
        ["reception", "meeting", "study_tour", "transport"],
    ),
    ("study_training", "考察培训费", "Study tours and training", ["study_tour", "training"]),
    (
        "official",
        "公务支出",
        "Official spending (all categories above)",
        [
            "overseas_travel",
            "vehicle_purchase",
            "vehicle_operation",
            "reception",
            "meeting",
            "study_tour",
            "transport",
            "training",
        ],
    ),
]


def seed_categories() -> None:
    category = sa.table(
        "category", sa.column("code"), sa.column("name_zh"), sa.column("name_en"), sa.column("sort_order")
    )
    group = sa.table("category_group", sa.column("code"), sa.column("name_zh"), sa.column("name_en"))
    member = sa.table("category_group_member", sa.column("group_code"), sa.column("category_code"))
    op.bulk_insert(
        category, [dict(code=c, name_zh=zh, name_en=en, sort_order=o) for c, zh, en, o in CATEGORIES]
    )
    op.bulk_insert(group, [dict(code=g, name_zh=zh, name_en=en) for g, zh, en, _ in GROUPS])
    op.bulk_insert(member, [dict(group_code=g, category_code=c) for g, _, _, cs in GROUPS for c in cs])


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_token_token_sha256")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("details_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "category",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_category")),
        sa.UniqueConstraint("name_zh", name=op.f("uq_category_name_zh")),
    )
    op.create_table(
        "category_group",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_category_group")),
    )
    op.create_table(
        "check_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_run")),
    )
    with op.batch_alter_table("check_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_run_fingerprint"), ["fingerprint"], unique=False)

    op.create_table(
        "import_batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=40), nullable=True),
        sa.Column("sheet", sa.String(length=200), nullable=True),
        sa.Column("amount_unit", sa.String(length=10), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_held", sa.Integer(), nullable=False),
        sa.Column("control_total_fen", sa.BigInteger(), nullable=True),
        sa.Column("supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("report_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["import_batch.id"], name=op.f("fk_import_batch_supersedes_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_import_batch_supersedes_id")),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batch_sha256"), ["sha256"], unique=False)

    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ledger_meta")),
    )
    op.create_table(
        "log_checkpoint",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoint")),
    )
    op.create_table(
        "log_row_digest",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("chunk_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("digests", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_log_row_digest_batch_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("batch_id", "table_name", "chunk_no", name=op.f("pk_log_row_digest")),
    )
    op.create_table(
        "log_leaf",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("ref_id", sa.String(length=100), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_log_leaf")),
    )
    op.create_table(
        "category_group_member",
        sa.Column("group_code", sa.String(length=40), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_category_group_member_category_code_category")
        ),
        sa.ForeignKeyConstraint(
            ["group_code"],
            ["category_group.code"],
            name=op.f("fk_category_group_member_group_code_category_group"),
        ),
        sa.PrimaryKeyConstraint("group_code", "category_code", name=op.f("pk_category_group_member")),
    )
    op.create_table(
        "data_quality_finding",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sheet", sa.String(length=200), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("column_name", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("difference_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_data_quality_finding_batch_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_quality_finding")),
    )
    with op.batch_alter_table("data_quality_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_quality_finding_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "policy_target",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source_document", sa.Text(), nullable=False),
        sa.Column("scope_kind", sa.String(length=10), nullable=False),
        sa.Column("scope_values", sa.Text(), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("group_code", sa.String(length=40), nullable=True),
        sa.Column("resource", sa.String(length=20), nullable=True),
        sa.Column("baseline", sa.String(length=40), nullable=False),
        sa.Column("change_pct", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("year_from", sa.Integer(), nullable=True),
        sa.Column("year_to", sa.Integer(), nullable=True),
        sa.Column("definition_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_policy_target_category_code_category")
        ),
        sa.ForeignKeyConstraint(
            ["group_code"], ["category_group.code"], name=op.f("fk_policy_target_group_code_category_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_target")),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_unit_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("code", name=op.f("uq_unit_code")),
    )
    op.create_table(
        "budget_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_budget_line_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_budget_line_category_code_category")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_budget_line_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_line")),
    )
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_line_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_line_fiscal_year"), ["fiscal_year"], unique=False)
        batch_op.create_index(
            "ix_budget_line_unit_year_category", ["unit_id", "fiscal_year", "category_code"], unique=False
        )

    op.create_table(
        "consumption_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("measure_unit", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_consumption_line_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_consumption_line_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumption_line")),
    )
    with op.batch_alter_table("consumption_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consumption_line_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "expense_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=True),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payee", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("voucher_no", sa.String(length=100), nullable=True),
        sa.Column("source_category", sa.String(length=200), nullable=True),
        sa.Column("persons", sa.Integer(), nullable=True),
        sa.Column("batches", sa.Integer(), nullable=True),
        sa.Column("vehicles", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_expense_entry_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_expense_entry_category_code_category")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_expense_entry_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expense_entry")),
    )
    with op.batch_alter_table("expense_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expense_entry_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expense_entry_fiscal_year"), ["fiscal_year"], unique=False)
        batch_op.create_index(
            "ix_expense_entry_unit_year_category", ["unit_id", "fiscal_year", "category_code"], unique=False
        )
        batch_op.create_index("ix_expense_entry_unit_voucher", ["unit_id", "voucher_no"], unique=False)

    op.create_table(
        "flag",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("figures_json", sa.Text(), nullable=False),
        sa.Column("threshold_json", sa.Text(), nullable=True),
        sa.Column("policy_ref", sa.Text(), nullable=True),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("first_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("last_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_run_id"], ["check_run.id"], name=op.f("fk_flag_first_run_id_check_run")
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"], ["check_run.id"], name=op.f("fk_flag_last_run_id_check_run")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_flag_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_rule_code"), ["rule_code"], unique=False)

    op.create_table(
        "procurement_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("project_code", sa.String(length=200), nullable=True),
        sa.Column("ocid", sa.String(length=200), nullable=True),
        sa.Column("release_id", sa.String(length=200), nullable=True),
        sa.Column("release_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("ocds_method", sa.String(length=20), nullable=True),
        sa.Column("method_raw", sa.String(length=200), nullable=True),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("contract_fen", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("supplier_name", sa.String(length=300), nullable=True),
        sa.Column("supplier_id", sa.String(length=100), nullable=True),
        sa.Column("tender_date", sa.Date(), nullable=True),
        sa.Column("award_date", sa.Date(), nullable=True),
        sa.Column("contract_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_procurement_record_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_procurement_record_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_record")),
    )
    with op.batch_alter_table("procurement_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procurement_record_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_procurement_record_fiscal_year"), ["fiscal_year"], unique=False)
        batch_op.create_index(batch_op.f("ix_procurement_record_ocid"), ["ocid"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_procurement_record_supplier_name"), ["supplier_name"], unique=False
        )
        batch_op.create_index("ix_procurement_record_unit_year", ["unit_id", "fiscal_year"], unique=False)

    op.create_table(
        "rollup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_rollup_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_rollup_category_code_category")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_rollup_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup")),
        sa.UniqueConstraint(
            "batch_id",
            "measure",
            "unit_id",
            "fiscal_year",
            "category_code",
            "currency",
            name=op.f("uq_rollup_batch_id_measure_unit_id_fiscal_year_category_code_currency"),
        ),
    )
    op.create_table(
        "reception_persons_rollup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("persons", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_reception_persons_rollup_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_reception_persons_rollup_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_persons_rollup")),
        sa.UniqueConstraint(
            "batch_id", "unit_id", "fiscal_year", name=op.f("uq_reception_persons_rollup_batch_id_unit_id_fiscal_year")
        ),
    )
    op.create_table(
        "duplicate_candidate",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payee", sa.String(length=300), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_duplicate_candidate_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_duplicate_candidate_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_candidate")),
    )
    with op.batch_alter_table("duplicate_candidate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duplicate_candidate_batch_id"), ["batch_id"], unique=False)
    op.create_table(
        "target_result",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("baseline_fen", sa.BigInteger(), nullable=True),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("value_fen", sa.BigInteger(), nullable=True),
        sa.Column("excess_fen", sa.BigInteger(), nullable=True),
        sa.Column("excess_pct", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("detail_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["check_run.id"], name=op.f("fk_target_result_run_id_check_run")),
        sa.ForeignKeyConstraint(
            ["target_id"], ["policy_target.id"], name=op.f("fk_target_result_target_id_policy_target")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_target_result_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_result")),
        sa.UniqueConstraint(
            "run_id",
            "target_id",
            "unit_id",
            "fiscal_year",
            name=op.f("uq_target_result_run_id_target_id_unit_id_fiscal_year"),
        ),
    )
    with op.batch_alter_table("target_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_target_result_run_id"), ["run_id"], unique=False)

    op.create_table(
        "flag_review",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=False),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"], name=op.f("fk_flag_review_flag_id_flag")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_review")),
    )
    with op.batch_alter_table("flag_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_review_flag_id"), ["flag_id"], unique=False)

    seed_categories()


def downgrade() -> None:
    with op.batch_alter_table("flag_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_review_flag_id"))

    op.drop_table("flag_review")
    with op.batch_alter_table("target_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_result_run_id"))

    op.drop_table("target_result")
    with op.batch_alter_table("duplicate_candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_candidate_batch_id"))

    op.drop_table("duplicate_candidate")
    op.drop_table("reception_persons_rollup")
    op.drop_table("rollup")
    with op.batch_alter_table("procurement_record", schema=None) as batch_op:
        batch_op.drop_index("ix_procurement_record_unit_year")
        batch_op.drop_index(batch_op.f("ix_procurement_record_supplier_name"))
        batch_op.drop_index(batch_op.f("ix_procurement_record_ocid"))
        batch_op.drop_index(batch_op.f("ix_procurement_record_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_procurement_record_batch_id"))

    op.drop_table("procurement_record")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_rule_code"))

    op.drop_table("flag")
    with op.batch_alter_table("expense_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_expense_entry_unit_voucher")
        batch_op.drop_index("ix_expense_entry_unit_year_category")
        batch_op.drop_index(batch_op.f("ix_expense_entry_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_expense_entry_batch_id"))

    op.drop_table("expense_entry")
    with op.batch_alter_table("consumption_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consumption_line_batch_id"))

    op.drop_table("consumption_line")
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_line_unit_year_category")
        batch_op.drop_index(batch_op.f("ix_budget_line_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_budget_line_batch_id"))

    op.drop_table("budget_line")
    op.drop_table("unit")
    op.drop_table("policy_target")
    with op.batch_alter_table("data_quality_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_quality_finding_batch_id"))

    op.drop_table("data_quality_finding")
    op.drop_table("category_group_member")
    op.drop_table("log_row_digest")
    op.drop_table("log_leaf")
    op.drop_table("log_checkpoint")
    op.drop_table("ledger_meta")
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batch_sha256"))

    op.drop_table("import_batch")
    with op.batch_alter_table("check_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_run_fingerprint"))

    op.drop_table("check_run")
    op.drop_table("category_group")
    op.drop_table("category")
    op.drop_table("audit_log")
    op.drop_table("api_token")
