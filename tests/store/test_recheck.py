"""A target result altered in the store (met ↔ missed) is named by ``sunshine verify``: the results are
recomputed from the figures, not only hashed (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, text

from ledger.rules.recheck import recheck
from ledger.store.db import reading, writing
from ledger.store.models import TargetResult, Unit
from tests.ledgertext import CONFIG, load_ledger, load_policy, run, target_toml
from tests.store.test_tamper import drop_triggers

SUNSHINE = str(Path(sys.executable).parent / "sunshine")
LEDGER = """
    unit year category  budget actual
    U1   2022 reception 100000 100000
    U1   2023 reception 100000  90000
    U2   2022 reception 100000 100000
    U2   2023 reception 100000 120000
"""


def _setup(engine, tmp_path):
    load_ledger(engine, LEDGER)
    load_policy(engine, tmp_path, target_toml("zero-growth", measure="actual", category="reception",
                                              baseline="prior_year", change_pct=0))
    run(engine)


def _result(engine, unit: str) -> int:
    with reading(engine) as conn:
        return conn.execute(select(TargetResult.id).join(Unit, Unit.id == TargetResult.unit_id)
                            .where(Unit.code == unit, TargetResult.fiscal_year == 2023)).scalar_one()


def test_untouched_results_match_the_figures(engine, tmp_path):
    _setup(engine, tmp_path)
    with reading(engine) as conn:
        r = recheck(conn, CONFIG)
    assert (r.state, r.checked, r.problems) == ("matches", 4, [])  # 2 units × 2022 (no baseline) and 2023


def test_a_missed_target_turned_met_is_named(engine, tmp_path):
    _setup(engine, tmp_path)
    row = _result(engine, "U2")  # U2 spent 1,200.00 against a cap of 1,000.00: missed
    drop_triggers(engine, "target_result")
    with writing(engine) as conn:
        conn.execute(text("UPDATE target_result SET status = 'met', excess_fen = 0 WHERE id = :i"), {"i": row})
    with reading(engine) as conn:
        r = recheck(conn, CONFIG)
    assert r.state == "differs"
    assert r.problems == [{
        "code": "target-result-changed", "row_id": row,
        "message": "target zero-growth, unit U2, 2023: status 'met' (figures give 'missed'), "
                   "excess_fen 0 (figures give 2000000)",
    }]


def test_a_deleted_result_is_named_and_a_stale_run_is_not_a_mismatch(engine, tmp_path):
    _setup(engine, tmp_path)
    row = _result(engine, "U1")
    drop_triggers(engine, "target_result")
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM target_result WHERE id = :i"), {"i": row})
    with reading(engine) as conn:
        r = recheck(conn, CONFIG)
    assert [(p["code"], p["message"]) for p in r.problems] == [
        ("target-result-deleted", "target zero-growth, unit U1, 2023: the figures give met, but run 1 holds no result")]
    load_ledger(engine, "unit year category budget actual\nU3 2023 reception 1 1\n")
    with reading(engine) as conn:
        assert recheck(conn, CONFIG).state == "stale"  # new data since the run: nothing to compare


def test_verify_names_an_altered_result(engine, db_url, tmp_path):
    load_ledger(engine, LEDGER)
    policy = tmp_path / "p.toml"
    policy.write_text(target_toml("zero-growth", measure="actual", category="reception", baseline="prior_year",
                                  change_pct=0), encoding="utf-8")

    def sunshine(*args):
        return subprocess.run([SUNSHINE, "--database", db_url, *args], capture_output=True, text=True)

    assert sunshine("targets", "load", str(policy)).returncode == 0
    assert sunshine("check").returncode == 0
    ok = json.loads(sunshine("verify", "--json").stdout)
    assert ok["ok"] is True and ok["target_results"]["state"] == "matches"
    row = _result(engine, "U2")
    drop_triggers(engine, "target_result")
    with writing(engine) as conn:
        conn.execute(text("UPDATE target_result SET status = 'met' WHERE id = :i"), {"i": row})
    bad = sunshine("verify", "--json")
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    assert doc["target_results"]["state"] == "differs"
    assert (doc["first_problem"]["code"], doc["first_problem"]["table"], doc["first_problem"]["row_id"]) == (
        "target-result-changed", "target_result", row)
