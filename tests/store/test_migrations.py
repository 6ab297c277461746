"""Migrations on both databases: up, down, up again, and no drift from the models."""

from sqlalchemy import inspect, text

from ledger.store import migrate
from ledger.store.db import make_engine


def test_upgrade_downgrade_upgrade_has_no_drift(empty_db_url):
    migrate.upgrade(empty_db_url)
    assert migrate.current_revision(empty_db_url) == migrate.head_revision()
    assert migrate.check_drift(empty_db_url) == []
    migrate.downgrade(empty_db_url, "base")
    assert migrate.current_revision(empty_db_url) is None
    engine = make_engine(empty_db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(empty_db_url)
    assert migrate.check_drift(empty_db_url) == []


def test_initial_revision_seeds_the_categories_of_the_domain(engine):
    with engine.connect() as conn:
        cats = dict(conn.execute(text("SELECT code, name_zh FROM category")).all())
        three = conn.execute(
            text("SELECT category_code FROM category_group_member WHERE group_code = 'three_public' ORDER BY 1")
        ).scalars().all()
    assert cats["reception"] == "公务接待费"
    assert cats["overseas_travel"] == "因公出国(境)费"
    assert len(cats) == 11  # 9 categories and the two published aggregates of 0003
    assert three == ["overseas_travel", "reception", "vehicle_operation", "vehicle_purchase"]


def test_constraint_names_come_from_the_convention(engine):
    fks = inspect(engine).get_foreign_keys("expense_entry")
    assert {fk["name"] for fk in fks} >= {"fk_expense_entry_unit_id_unit", "fk_expense_entry_batch_id_import_batch"}
