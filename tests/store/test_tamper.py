"""The red team's tamper matrix (issue 14): a rogue administrator with the database password drops
the append-only triggers and rewrites history; ``sunshine verify`` must fail and name what changed.

The unit register's form (issue 18): leaves written before the unit kind existed (form 1, no
``units_v``) still verify after the upgrade; leaves from then on (form 2) commit to ``kind`` too, so a
kind changed behind the log's back is named.

One published ledger per test: two expense batches (units U1 and U2), a flag reviewed
open → under_review → explained by 纪委甲 and published, and an exported checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import String, func, insert, select, text, update

from ledger.log import register
from ledger.log.verify import verify
from ledger.review import workflow
from ledger.store.db import reading, writing
from ledger.store.models import CheckRun, ExpenseEntry, Flag, FlagReview, LogLeaf, Unit, UnitEvent
from tests.tlog_support import publish_expenses

SUNSHINE = str(Path(sys.executable).parent / "sunshine")
NOTE = "单位已说明，接待经审批"


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def sunshine(db_url, *args):
    return subprocess.run([SUNSHINE, "--database", db_url, *map(str, args)], capture_output=True, text=True)


def drop_triggers(engine, *tables):
    """What a rogue administrator with the database password does first."""
    with writing(engine) as conn:
        for t in tables:
            if conn.dialect.name == "sqlite":
                conn.execute(text(f"DROP TRIGGER IF EXISTS append_only_{t}_update"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS append_only_{t}_delete"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS append_only_{t} ON {t}"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS append_only_{t}_truncate ON {t}"))


@pytest.fixture
def ledger(engine, db_url, tmp_path):
    a = publish_expenses(engine, [100, 200, 300], unit="U1")
    b = publish_expenses(engine, [10_000, 20_000, 30_000], unit="U2", name="second.csv")
    with writing(engine) as conn:
        run = conn.execute(insert(CheckRun).values(fingerprint="f" * 64).returning(CheckRun.id)).scalar_one()
        unit = conn.execute(select(Unit.id).where(Unit.code == "U2")).scalar_one()
        conn.execute(insert(Flag).values(
            id="flag1", rule_code="budget_overrun", rule_version=1, unit_id=unit, fiscal_year=2023,
            category_code="reception", state="open", figures_json="{}", message_zh="超预算", message_en="Over budget",
            evidence_json=json.dumps({"batch_ids": [b]}), first_run_id=run, last_run_id=run))
        workflow.record_review(conn, "flag1", "under_review", note="核查凭证", reviewer="纪委甲")
        workflow.record_review(conn, "flag1", "explained", note=NOTE, reviewer="纪委甲")
        assert workflow.publish_finding(conn, "flag1", reviewer="纪委甲") == 2
    exported = tmp_path / "cp.json"
    assert sunshine(db_url, "checkpoint", "export", exported).returncode == 0
    ok = sunshine(db_url, "verify", "--checkpoint", exported, "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    return {"a": a, "b": b, "checkpoint": exported}


def first_problem(db_url, *args) -> dict:
    r = sunshine(db_url, "verify", *args, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    return json.loads(r.stdout)["first_problem"]


def _row(engine, batch, source_row):
    with reading(engine) as conn:
        return conn.execute(select(ExpenseEntry.id).where(ExpenseEntry.batch_id == batch,
                                                          ExpenseEntry.source_row == source_row)).scalar_one()


def test_amount_edit_is_named(engine, db_url, ledger):
    target = _row(engine, ledger["b"], 3)
    drop_triggers(engine, "expense_entry")
    with writing(engine) as conn:
        conn.execute(text("UPDATE expense_entry SET amount_fen = 2 WHERE id = :i"), {"i": target})
    p = first_problem(db_url, "--checkpoint", ledger["checkpoint"])
    assert (p["code"], p["table"], p["row_id"], p["batch_id"]) == ("row-changed", "expense_entry", target, ledger["b"])


def test_deleted_row_is_named(engine, db_url, ledger):
    target = _row(engine, ledger["a"], 2)
    drop_triggers(engine, "expense_entry")
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM expense_entry WHERE id = :i"), {"i": target})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"], p["batch_id"]) == ("row-deleted", "expense_entry", target, ledger["a"])


def test_inserted_row_is_named(engine, db_url, ledger):
    with writing(engine) as conn:
        unit = conn.execute(select(Unit.id).where(Unit.code == "U2")).scalar_one()
        new = conn.execute(insert(ExpenseEntry).values(
            batch_id=ledger["b"], unit_id=unit, fiscal_year=2023, category_code="reception", amount_fen=999_999,
        ).returning(ExpenseEntry.id)).scalar_one()
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"], p["batch_id"]) == ("row-added", "expense_entry", new, ledger["b"])


@pytest.mark.parametrize("with_checkpoint", [False, True])
def test_a_whole_deleted_batch_is_named(engine, db_url, ledger, with_checkpoint):
    b = ledger["b"]
    tables = ["expense_entry", "budget_line", "log_row_digest", "rollup", "batch_total", "batch_coverage", "batch_name",
              "reception_persons_rollup", "duplicate_candidate", "search_entry", "import_batch", "unit", "flag", "flag_review", "audit_log"]
    drop_triggers(engine, *tables)
    with writing(engine) as conn:  # rows, digests, rollups, search texts, the batch row
        for t in ["expense_entry", "budget_line", "log_row_digest", "rollup", "batch_total", "batch_coverage",
                  "batch_name", "reception_persons_rollup", "duplicate_candidate", "search_entry"]:
            conn.execute(text(f"DELETE FROM {t} WHERE batch_id = :b"), {"b": b})
        conn.execute(text("UPDATE unit SET batch_id = NULL WHERE batch_id = :b"), {"b": b})
        conn.execute(text("DELETE FROM import_batch WHERE id = :b"), {"b": b})
    args = ("--checkpoint", ledger["checkpoint"]) if with_checkpoint else ()
    p = first_problem(db_url, *args)
    assert (p["code"], p["batch_id"]) == ("batch-deleted", b)
    # leaves: 0 batch a, 1 batch b, 2-3 reviews, 4-5 publications; batch b had 3 expense rows and 1 budget line
    assert p["message"] == f"batch {b} (4 rows) is in leaf 1 but no longer in the store"


def test_edited_review_is_named(engine, db_url, ledger):
    drop_triggers(engine, "flag_review")
    with writing(engine) as conn:
        first = conn.execute(select(FlagReview.id).order_by(FlagReview.id).limit(1)).scalar_one()
        conn.execute(text("UPDATE flag_review SET reviewer = '纪委乙', to_state = 'dismissed' WHERE id = :i"), {"i": first})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"]) == ("review-changed", "flag_review", first)
    assert "to_state, reviewer" in p["message"]


def test_edited_published_note_is_named(engine, db_url, ledger):
    drop_triggers(engine, "flag_review")
    with writing(engine) as conn:
        last = conn.execute(select(FlagReview.id).order_by(FlagReview.id.desc()).limit(1)).scalar_one()
        conn.execute(text("UPDATE flag_review SET note = '无问题' WHERE id = :i"), {"i": last})
    problems = json.loads(sunshine(db_url, "verify", "--json").stdout)["problems"]
    # both leaves bind the note: the review's salted commitment, then the publication's hash
    assert [(p["code"], p["row_id"]) for p in problems] == [("review-changed", last), ("publication-changed", last)]
    assert "note_commitment" in problems[0]["message"] and "note_sha256" in problems[1]["message"]


def test_unpublishing_a_note_is_named(engine, db_url, ledger):
    drop_triggers(engine, "flag_review")
    with writing(engine) as conn:
        last = conn.execute(select(FlagReview.id).order_by(FlagReview.id.desc()).limit(1)).scalar_one()
        conn.execute(text("UPDATE flag_review SET published_at = NULL WHERE id = :i"), {"i": last})
    p = first_problem(db_url)
    assert (p["code"], p["row_id"]) == ("publication-deleted", last)


def test_edited_rollup_is_named(engine, db_url, ledger):
    drop_triggers(engine, "rollup")
    with writing(engine) as conn:
        conn.execute(text("UPDATE rollup SET amount_fen = amount_fen / 2"))
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "rollup", ledger["a"])
    assert "is (300, 3) but the rows sum to (600, 3)" in p["message"]


def test_edited_batch_total_is_named(engine, db_url, ledger):
    """The rollup summed over units is kept per batch (``batch_total``): verify recomputes it and names the batch."""
    drop_triggers(engine, "batch_total")
    with writing(engine) as conn:
        conn.execute(text("UPDATE batch_total SET amount_fen = amount_fen + 1 WHERE batch_id = :b"), {"b": ledger["b"]})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_total", ledger["b"])
    assert "(actual, 2023, reception, CNY) is (60001, 3) but its rollup sums to (60000, 3)" in p["message"]


def test_a_deleted_batch_total_is_named(engine, db_url, ledger):
    drop_triggers(engine, "batch_total")
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM batch_total WHERE batch_id = :b"), {"b": ledger["a"]})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_total", ledger["a"])
    assert "is None but its rollup sums to (600, 3)" in p["message"]


def test_a_unit_dropped_from_batch_coverage_is_named(engine, db_url, ledger):
    """The units each batch reported are kept per measure and year (``batch_coverage``) for coverage: verify
    works them out again from the rollup and names the batch (a unit hidden from coverage, here U2)."""
    from ledger.store.derived import batch_coverage

    drop_triggers(engine, "batch_coverage")
    with writing(engine) as conn:
        u2 = conn.execute(select(Unit.id).where(Unit.code == "U2")).scalar_one()
        conn.execute(text("UPDATE batch_coverage SET unit_count = 0, unit_ids = :e WHERE batch_id = :b"),
                     {"b": ledger["b"], "e": batch_coverage.pack([])})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_coverage", ledger["b"])
    assert p["message"] == (f"batch coverage of batch {ledger['b']} (actual, 2023) lists 0 units but its rollup has 1 "
                            f"(units missing: [{u2}], extra: [])")


def test_a_deleted_batch_coverage_is_named(engine, db_url, ledger):
    drop_triggers(engine, "batch_coverage")
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM batch_coverage WHERE batch_id = :b"), {"b": ledger["a"]})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_coverage", ledger["a"])
    assert "lists None units but its rollup has 1" in p["message"]


def test_swapped_unit_codes_are_named(engine, db_url, ledger):
    drop_triggers(engine, "unit")
    with writing(engine) as conn:
        u1 = conn.execute(select(Unit.id).where(Unit.code == "U1")).scalar_one()
        conn.execute(text("UPDATE unit SET code = 'tmp' WHERE code = 'U1'"))
        conn.execute(text("UPDATE unit SET code = 'U1' WHERE code = 'U2'"))
        conn.execute(text("UPDATE unit SET code = 'U2' WHERE code = 'tmp'"))
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"]) == ("unit-changed", "unit", u1)
    assert "now code U2" in p["message"]


def test_rollback_to_an_older_backup_is_named(engine, db_url, tmp_path):
    publish_expenses(engine, [100, 200, 300], unit="U1")
    dump = tmp_path / "old.backup"
    assert sunshine(db_url, "backup", dump).returncode == 0
    publish_expenses(engine, [10_000], unit="U2", name="second.csv")
    exported = tmp_path / "cp.json"
    assert sunshine(db_url, "checkpoint", "export", exported).returncode == 0
    engine.dispose()
    r = sunshine(db_url, "restore", dump, "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sunshine(db_url, "verify").returncode == 0  # on its own, the old store is self-consistent
    p = first_problem(db_url, "--checkpoint", exported)
    assert p["code"] == "log-shrank"
    assert p["message"] == "the exported checkpoint has 2 leaves but the log now has 1"


def test_the_append_only_triggers_refuse_these_rewrites(engine, ledger):
    from sqlalchemy.exc import DatabaseError

    for sql in ("UPDATE rollup SET amount_fen = 1", "DELETE FROM rollup", "UPDATE batch_total SET amount_fen = 1",
                "DELETE FROM batch_total", "UPDATE batch_coverage SET unit_count = 0", "DELETE FROM batch_coverage", "DELETE FROM unit",
                "UPDATE batch_name SET kind = '单位'", "DELETE FROM batch_name",
                "UPDATE unit SET code = 'X' WHERE code = 'U1'", "DELETE FROM flag", "DELETE FROM category_group_member",
                "UPDATE category SET name_zh = '招待费' WHERE code = 'reception'"):
        with pytest.raises(DatabaseError), writing(engine) as conn:
            conn.execute(text(sql))
    with writing(engine) as conn:  # what --update-units does stays allowed
        conn.execute(text("UPDATE unit SET name = '市财政局（新）' WHERE code = 'U1'"))


def _merge(db_url):
    done = sunshine(db_url, "units", "merge", "U1", "U2", "--by", "财政甲", "--note", "并入", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["event"]["id"]


def test_a_unit_merge_is_a_leaf_and_verifies(engine, db_url, ledger):
    event = _merge(db_url)
    with reading(engine) as conn:
        leaf = conn.execute(select(LogLeaf.event, LogLeaf.ref_id, LogLeaf.manifest)
                            .order_by(LogLeaf.leaf_index.desc()).limit(1)).one()
        ids = dict(conn.execute(select(Unit.code, Unit.id)).all())
    manifest = json.loads(leaf.manifest)
    assert (leaf.event, leaf.ref_id) == ("unit", str(event))
    assert {k: manifest[k] for k in ("kind", "unit_id", "successor_id", "fiscal_year", "actor")} == {
        "kind": "merge", "unit_id": str(ids["U1"]), "successor_id": str(ids["U2"]), "fiscal_year": None,
        "actor": "财政甲"}
    assert json.loads(sunshine(db_url, "verify", "--json").stdout)["ok"] is True


def test_a_merge_slipped_in_behind_the_log_is_named(engine, db_url, ledger):
    with writing(engine) as conn:  # no trigger stops an insert: only the log can tell
        u1, u2 = (conn.execute(select(Unit.id).where(Unit.code == c)).scalar_one() for c in ("U1", "U2"))
        slipped = conn.execute(insert(UnitEvent).values(kind="merge", unit_id=u1, successor_id=u2, actor="?")
                               .returning(UnitEvent.id)).scalar_one()
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"]) == ("unit-event-not-logged", "unit_event", slipped)


def test_an_edited_or_deleted_merge_is_named(engine, db_url, ledger):
    event = _merge(db_url)
    drop_triggers(engine, "unit_event")
    with writing(engine) as conn:
        conn.execute(text("UPDATE unit_event SET actor = '别人', note = '从未合并' WHERE id = :i"), {"i": event})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"]) == ("unit-event-changed", "unit_event", event)
    assert "actor, note_sha256" in p["message"]
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM unit_event WHERE id = :i"), {"i": event})
    codes = [x["code"] for x in json.loads(sunshine(db_url, "verify", "--json").stdout)["problems"]]
    assert "unit-event-deleted" in codes


def test_a_restricted_note_rewritten_before_publication_is_named(engine, db_url, ledger):
    with writing(engine) as conn:
        made = workflow.record_review(conn, "flag1", "closed", note="发现虚报接待人数", reviewer="纪委甲",
                                      visibility="internal")
        salt, leaf = conn.execute(select(FlagReview.note_salt, LogLeaf.manifest).join(
            LogLeaf, LogLeaf.ref_id == func.cast(FlagReview.id, String)).where(
            FlagReview.id == made.id, LogLeaf.event == "review")).one()
    manifest = json.loads(leaf)
    assert "发现虚报" not in leaf and len(salt) == 32  # the leaf binds the note without showing it
    assert manifest["note_commitment"] == hashlib.sha256(f"{salt}\n发现虚报接待人数".encode()).hexdigest()
    assert manifest["visibility"] == "internal"
    drop_triggers(engine, "flag_review")
    with writing(engine) as conn:
        conn.execute(text("UPDATE flag_review SET note = '无问题', visibility = 'public' WHERE id = :i"),
                     {"i": made.id})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["row_id"]) == ("review-changed", "flag_review", made.id)
    assert "note_commitment, visibility" in p["message"]


def manifests(engine):
    with reading(engine) as conn:
        return [json.loads(m) for m in conn.execute(select(LogLeaf.manifest).order_by(LogLeaf.leaf_index)).scalars()]


def problems(engine):
    with reading(engine) as conn:
        report = verify(conn)
    return [(p.code, p.table, p.row_id, p.message) for p in report.problems]


def set_kind(engine, code, kind):
    with writing(engine) as conn:  # outside any import: the log is not told
        conn.execute(update(Unit).where(Unit.code == code).values(kind=kind))


def test_a_ledger_logged_in_the_old_form_still_verifies_and_new_leaves_commit_to_kind(engine, monkeypatch):
    with monkeypatch.context() as old:
        old.setattr(register, "UNIT_FORM", "1")  # what the code wrote before unit.kind existed
        publish_expenses(engine, [100, 200], unit="U1")
        publish_expenses(engine, [300], unit="U2", name="second.csv")
    first = manifests(engine)
    assert [("units_v" in m, m["unit_count"]) for m in first] == [(False, "1"), (False, "2")]
    with reading(engine) as conn:  # form 1 is the six columns, exactly as before
        lines = b"".join(x + b"\n" for x in register.unit_lines(conn, "1")[1])
        assert first[-1]["units_sha256"] == hashlib.sha256(lines).hexdigest()
        assert lines.decode().splitlines()[0] == '["unit","1","U1","市财政局",null,null,null]'
    assert problems(engine) == []
    # form 1 never committed to kind: stating it now (as import units does) is no tampering
    set_kind(engine, "U1", "行政单位")
    assert problems(engine) == []
    publish_expenses(engine, [400], unit="U2", name="third.csv")
    newest = manifests(engine)[-1]
    assert (newest["units_v"], newest["unit_count"]) == ("2", "2")
    with reading(engine) as conn:
        assert register.unit_lines(conn)[1][0].decode() == '["unit","1","U1","市财政局",null,null,null,"行政单位"]'
    assert problems(engine) == []
    # from here on the kind is committed: a change behind the log's back is named, with the unit
    set_kind(engine, "U1", "事业单位")
    with reading(engine) as conn:
        u1 = conn.execute(select(Unit.id).where(Unit.code == "U1")).scalar_one()
        leaf = conn.execute(text("SELECT max(leaf_index) FROM log_leaf")).scalar()
    assert problems(engine) == [("unit-changed", "unit", u1, f"unit {u1} (now code U1) no longer matches leaf {leaf}")]
    set_kind(engine, "U1", "行政单位")
    assert problems(engine) == []


def test_a_kind_stated_on_a_unit_of_no_kind_after_a_form_2_leaf_is_named(engine):
    publish_expenses(engine, [100], unit="U1")
    publish_expenses(engine, [200], unit="U2", name="second.csv")
    assert manifests(engine)[-1]["units_v"] == "2" and problems(engine) == []
    set_kind(engine, "U2", "参照公务员法管理事业单位")
    [(code, table, row_id, message)] = problems(engine)
    assert (code, table) == ("unit-changed", "unit") and "(now code U2)" in message


def test_a_leaf_of_a_form_this_code_does_not_know_is_reported(engine, monkeypatch):
    monkeypatch.setattr(register, "UNIT_FORM", "9")
    monkeypatch.setitem(register.UNIT_FORMS, "9", register.UNIT_FORMS["2"])
    publish_expenses(engine, [100], unit="U1")
    monkeypatch.delitem(register.UNIT_FORMS, "9")
    [(code, table, _, message)] = problems(engine)
    assert (code, table) == ("units-form-unknown", "unit")
    assert message == "leaf 0 commits to the unit register in form '9', which this code does not know"
