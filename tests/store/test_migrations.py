"""Migrations on both databases: up, down, up again, and no drift from the models."""

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import DatabaseError

from ledger.log.verify import verify
from ledger.read import queries
from ledger.read.types import Filters
from ledger.store import migrate
from ledger.store.db import make_engine, reading, writing
from ledger.store.derived import batch_coverage, batch_names, batch_totals
from ledger.store.models import BatchCoverage, BatchName, BatchTotal, ExpenseEntry
from ledger.store.upkeep import partitions


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


# PostgreSQL: expense_entry and budget_line partitioned by fiscal year (migration 0011_partition).
PG_ONLY = "year partitions are PostgreSQL's (migration 0011_partition); SQLite has none and keeps one table"


def _where_rows_are(conn, table):
    return dict(conn.execute(text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")).all())


def _verified(conn):
    report = verify(conn)
    return report.rows_checked, report.batches_checked, [(p.code, p.table, p.row_id) for p in report.problems]


def _api_reads(url):
    from tests.api_support import running

    paths = ["/api/v1/expenses?limit=100", "/api/v1/expenses?year=2022", "/api/v1/expenses?sort=-amount",
             "/api/v1/expenses?year=2023&sort=date", "/api/v1/budgets", "/api/v1/budgets?year=2023&stage=adjusted",
             "/api/v1/aggregate?by=year", "/api/v1/aggregate?year=2023&by=category"]
    with running(url) as client:
        return {p: client.get(p).json() for p in paths}


# Columns of revisions after 0011_partition that today's code reads: added while the database stands at an
# older revision (so the code can seed it), dropped again before upgrading (so those revisions add them).
LATER_COLUMNS = [("unit", "kind", "VARCHAR(40)"), ("flag", "digest", "VARCHAR(64)"), ("flag_review", "note_salt", "VARCHAR(32)")]


# 0013_search_text (PostgreSQL): the texts in their own table, named by id; taken back into the entries' bodies.
LATER_SEARCH_TEXT = (["CREATE TABLE search_text (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
                      "CREATE UNIQUE INDEX uq_search_text_body ON search_text (md5(body))",
                      "ALTER TABLE search_entry ADD COLUMN text_id BIGINT",
                      "ALTER TABLE search_entry ALTER COLUMN body DROP NOT NULL"],
                     ["UPDATE search_entry e SET body = t.body FROM search_text t WHERE t.id = e.text_id AND e.body IS NULL",
                      "ALTER TABLE search_entry ALTER COLUMN body SET NOT NULL",
                      "ALTER TABLE search_entry DROP COLUMN text_id", "DROP TABLE search_text"])


def _later_columns(url: str, add: bool) -> None:
    """Also the tables of later revisions (``batch_total``, 0013; ``batch_coverage``, 0014; ``batch_name``, 0016): made
    and filled from ``rollup`` (the rows) as those revisions do, then dropped, so the upgrade fills them again from
    what the old revisions wrote."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table, column, kind in LATER_COLUMNS:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}" if add else
                              f"ALTER TABLE {table} DROP COLUMN {column}"))
        if add:
            for sql in LATER_SEARCH_TEXT[0]:
                conn.execute(text(sql))
            BatchTotal.__table__.create(conn)
            conn.execute(insert(BatchTotal).from_select(batch_totals.COLUMNS, batch_totals.from_rollup()))
            BatchCoverage.__table__.create(conn)
            if rows := batch_coverage.from_rollup(conn):
                conn.execute(insert(BatchCoverage), rows)
            BatchName.__table__.create(conn)
            for q in batch_names.from_rows():
                conn.execute(insert(BatchName).from_select(batch_names.COLUMNS, q))
        else:
            BatchName.__table__.drop(conn)
            BatchCoverage.__table__.drop(conn)
            BatchTotal.__table__.drop(conn)
            for sql in LATER_SEARCH_TEXT[1]:
                conn.execute(text(sql))
    engine.dispose()


def test_the_migration_partitions_by_year_and_keeps_rows_ids_and_reads(empty_db_url, backend, monkeypatch, tmp_path):
    if backend != "postgres":
        pytest.skip(PG_ONLY)
    from tests.api_support import seed
    from tests.tlog_support import publish_expenses

    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    migrate.upgrade(empty_db_url, "0011_unitcosts")
    _later_columns(empty_db_url, add=True)
    seed(empty_db_url)
    engine = make_engine(empty_db_url)
    publish_expenses(engine, [100, 250], year=2021, name="2021.csv")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT * FROM expense_entry ORDER BY id")).all()
        checked = _verified(conn)  # the seed writes flags and reviews past the log: verify names them, before and after
    reads = _api_reads(empty_db_url)
    engine.dispose()
    _later_columns(empty_db_url, add=False)
    migrate.upgrade(empty_db_url)
    with engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT relname, relkind FROM pg_class WHERE relname IN "
                                       "('expense_entry', 'budget_line', 'procurement_record')")).all())
        assert kinds == {"expense_entry": "p", "budget_line": "p", "procurement_record": "r"}
        assert conn.execute(text("SELECT * FROM expense_entry ORDER BY id")).all() == before
        assert _where_rows_are(conn, "expense_entry") == {"expense_entry_y2021": 2, "expense_entry_y2022": 2,
                                                          "expense_entry_y2023": 5}
        assert _where_rows_are(conn, "budget_line") == {"budget_line_y2021": 1, "budget_line_y2023": 4}
        assert _verified(conn) == checked
    assert _api_reads(empty_db_url) == reads
    new = publish_expenses(engine, [7], year=2024, name="2024.csv")  # a new year: its partition is made on the way in
    with engine.connect() as conn:
        assert conn.execute(text("SELECT tableoid::regclass::text, id > :m FROM expense_entry WHERE batch_id = :b"),
                            {"m": before[-1].id, "b": new}).one() == ("expense_entry_y2024", True)
        after_new = _verified(conn)
    assert (after_new[0] - checked[0], after_new[1] - checked[1], after_new[2]) == (2, 1, checked[2])  # 1 entry + 1 budget line
    engine.dispose()
    migrate.downgrade(empty_db_url, "0011_unitcosts")
    _later_columns(empty_db_url, add=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'expense_entry'")).scalar() == "r"
        assert len(conn.execute(text("SELECT * FROM expense_entry")).all()) == len(before) + 1
        assert _where_rows_are(conn, "expense_entry") == {"expense_entry": len(before) + 1}
        assert _verified(conn) == after_new
    engine.dispose()
    _later_columns(empty_db_url, add=False)
    migrate.upgrade(empty_db_url)
    assert migrate.check_drift(empty_db_url) == []


def test_a_year_without_a_partition_lands_in_the_default_one_and_stays_there(engine, backend):
    if backend != "postgres":
        pytest.skip(PG_ONLY)
    from tests.tlog_support import publish_expenses

    bid = publish_expenses(engine, [5])
    with writing(engine) as conn:  # a row written without bulk_insert: no partition is made for it
        conn.execute(insert(ExpenseEntry).values(batch_id=bid, unit_id=1, fiscal_year=1999, category_code="reception",
                                                 amount_fen=9, currency="CNY"))
    with writing(engine) as conn:
        assert partitions.ensure_years(conn, "expense_entry", [1999, 2030]) == [2030]
        assert _where_rows_are(conn, "expense_entry") == {"expense_entry_y2023": 1, "expense_entry_default": 1}
        listed = {p["partition"]: (p["fiscal_year"], p["rows"]) for p in partitions.partitions(conn, "expense_entry", True)}
    assert listed == {"expense_entry_y2023": (2023, 1), "expense_entry_y2030": (2030, 0),
                      "expense_entry_default": (None, 1)}
    with reading(engine) as conn:
        page = queries.list_rows(conn, "expenses", Filters(year=[1999]), limit=10)
    assert [r["amount_fen"] for r in page.rows] == [9]


@pytest.mark.parametrize("sql", ["UPDATE expense_entry_y2023 SET amount_fen = 0", "DELETE FROM expense_entry_y2023",
                                 "TRUNCATE expense_entry_y2023", "TRUNCATE expense_entry_default",
                                 "TRUNCATE budget_line_y2023", "DELETE FROM budget_line WHERE fiscal_year = 2023"])
def test_each_partition_refuses_rewrites_in_the_partitioned_tables_name(engine, backend, sql):
    if backend != "postgres":
        pytest.skip(PG_ONLY)
    from tests.tlog_support import publish_expenses

    publish_expenses(engine, [100, 200])
    table = sql.split()[1 if sql.startswith(("UPDATE", "TRUNCATE")) else 2].rsplit("_y", 1)[0].removesuffix("_default")
    with pytest.raises(DatabaseError, match=f"{table} is append-only"), writing(engine) as conn:
        conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(amount_fen), count(*) FROM expense_entry")).one() == (300, 2)


def test_a_year_filtered_read_scans_only_that_years_partition(engine, backend):
    if backend != "postgres":
        pytest.skip(PG_ONLY)
    from bench.cold_reads import explain
    from tests.tlog_support import publish_expenses

    for year in (2021, 2022, 2023):
        publish_expenses(engine, [year], year=year, name=f"{year}.csv")
    with reading(engine) as conn:
        assert verify(conn).ok
        for name, table in (("expenses", "expense_entry"), ("budgets", "budget_line")):
            plan = "\n".join(explain(conn, name, Filters(year=[2022]), "-amount"))
            scanned = {p for p in (f"{table}_y2021", f"{table}_y2022", f"{table}_y2023", f"{table}_default") if p in plan}
            assert scanned == {f"{table}_y2022"}, plan


def test_db_partitions_lists_and_creates_years_ahead(db_url, backend):
    import json
    import subprocess
    import sys
    from pathlib import Path

    sunshine = [str(Path(sys.executable).parent / "sunshine"), "--database", db_url, "db", "partitions", "--json"]
    made = json.loads(subprocess.run([*sunshine, "--year", "2031", "--exact"], capture_output=True, text=True).stdout)
    if backend != "postgres":
        assert made == {"partitioned": [], "created": {}, "partitions": []}
        return
    assert made["created"] == {"expense_entry": [2031], "budget_line": [2031]}
    assert [(p["partition"], p["fiscal_year"], p["rows"]) for p in made["partitions"]] == [
        ("expense_entry_y2031", 2031, 0), ("expense_entry_default", None, 0),
        ("budget_line_y2031", 2031, 0), ("budget_line_default", None, 0)]
    again = json.loads(subprocess.run([*sunshine, "--year", "2031"], capture_output=True, text=True).stdout)
    assert again["created"] == {"expense_entry": [], "budget_line": []}


def test_0013_fills_batch_totals_from_the_rollups_as_an_import_writes_them(empty_db_url, monkeypatch, tmp_path):
    """An import writes ``batch_total`` from the rows it summed; downgrading past 0013 and upgrading again
    refills it from ``rollup`` with the same rows, and verify agrees with both."""
    from tests.import_support import expenses_csv, sunshine
    from tests.tlog_support import publish_expenses

    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    migrate.upgrade(empty_db_url)
    assert sunshine(empty_db_url, "import", "expenses", expenses_csv(tmp_path / "e.csv", 300, "a")).returncode == 0
    engine = make_engine(empty_db_url)
    publish_expenses(engine, [100, 250], year=2021, name="2021.csv")  # the SQL path: no frames

    def kept():
        with reading(engine) as conn:
            return conn.execute(text("SELECT batch_id, measure, fiscal_year, category_code, currency, amount_fen, "
                                     "row_count FROM batch_total ORDER BY 1, 2, 3, 4, 5")).all()

    at_publish = kept()
    with reading(engine) as conn:
        assert at_publish == sorted(conn.execute(batch_totals.from_rollup()).all())
        assert sum(r.row_count for r in at_publish if r.measure == "actual") == 302
        assert verify(conn).ok
    engine.dispose()
    migrate.downgrade(empty_db_url, "0012_unit_kind")
    assert "batch_total" not in inspect(engine).get_table_names()
    migrate.upgrade(empty_db_url)
    assert kept() == at_publish
    with reading(engine) as conn:
        assert verify(conn).ok
    engine.dispose()


def test_0014_fills_batch_coverage_from_the_rollups_as_an_import_writes_it(empty_db_url, monkeypatch, tmp_path):
    """An import writes ``batch_coverage`` from the rows it summed, the SQL path from the stored rollup;
    downgrading past 0014 and upgrading again refills it with the same rows, and verify agrees with both."""
    from tests.import_support import expenses_csv, sunshine
    from tests.tlog_support import publish_expenses

    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    migrate.upgrade(empty_db_url)
    assert sunshine(empty_db_url, "import", "expenses", expenses_csv(tmp_path / "e.csv", 300, "a")).returncode == 0
    engine = make_engine(empty_db_url)
    publish_expenses(engine, [100, 250], year=2021, name="2021.csv")  # the SQL path: no frames

    def kept():
        with reading(engine) as conn:
            return [(b, m, y, n, tuple(batch_coverage.unpack(ids))) for b, m, y, n, ids in conn.execute(text(
                "SELECT batch_id, measure, fiscal_year, unit_count, unit_ids FROM batch_coverage ORDER BY 1, 2, 3"))]

    at_publish = kept()
    with reading(engine) as conn:
        pairs = conn.execute(text("SELECT DISTINCT batch_id, measure, fiscal_year, unit_id FROM rollup")).all()
        assert verify(conn).ok
    assert [(b, m, y, ids) for b, m, y, _, ids in at_publish] == [
        (b, m, y, tuple(sorted(u for b2, m2, y2, u in pairs if (b2, m2, y2) == (b, m, y))))
        for b, m, y in sorted({p[:3] for p in pairs})]
    assert all(n == len(ids) for *_, n, ids in at_publish) and len(at_publish) >= 2
    engine.dispose()
    migrate.downgrade(empty_db_url, "0014_entry_indexes")
    assert "batch_coverage" not in inspect(engine).get_table_names()
    migrate.upgrade(empty_db_url)
    assert kept() == at_publish
    with reading(engine) as conn:
        assert verify(conn).ok
    engine.dispose()


def test_0016_fills_batch_names_from_the_rows_as_an_import_writes_them(empty_db_url, monkeypatch, tmp_path):
    """An import writes ``batch_name`` from its frames, the SQL path by a GROUP BY over the batch's rows; downgrading
    past 0016 and upgrading again refills it with the same rows (superseded batches too), and verify agrees."""
    from tests.import_support import expenses_csv, sunshine
    from tests.tlog_support import publish_expenses

    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    migrate.upgrade(empty_db_url)
    assert sunshine(empty_db_url, "import", "expenses", expenses_csv(tmp_path / "e.csv", 300, "a")).returncode == 0
    engine = make_engine(empty_db_url)
    first = publish_expenses(engine, [100, 250], year=2021, name="2021.csv")  # the SQL path: no frames
    publish_expenses(engine, [100, 260], year=2021, name="2021b.csv", supersedes=first)

    def kept():
        with reading(engine) as conn:
            return conn.execute(text("SELECT batch_id, dataset, name, kind, row_count FROM batch_name "
                                     "ORDER BY 1, 2, 3, 4")).all()

    at_publish = kept()
    with reading(engine) as conn:
        grouped = conn.execute(text("SELECT batch_id, payee, count(*) FROM expense_entry WHERE payee IS NOT NULL "
                                    "GROUP BY batch_id, payee ORDER BY 1, 2")).all()
        assert verify(conn).ok
    assert [(b, n, c) for b, _, n, _, c in at_publish] == [tuple(r) for r in grouped]
    assert {b for b, *_ in at_publish} == {1, first, first + 1} and sum(r.row_count for r in at_publish) == 304
    engine.dispose()
    migrate.downgrade(empty_db_url, "0015_proccold")
    assert "batch_name" not in inspect(engine).get_table_names()
    migrate.upgrade(empty_db_url)
    assert kept() == at_publish
    with reading(engine) as conn:
        assert verify(conn).ok
    engine.dispose()
