"""A re-check writes only what changed (issue 15): unchanged data writes nothing; a correction to one
unit's batch rewrites exactly that unit's flags; rules whose inputs did not change are not run again,
and what they left is what running them would give."""

import copy

from sqlalchemy import text

from ledger.rules.registry import REGISTRY
from tests.ledgertext import CONFIG, load_ledger, load_policy, load_procurement, run, target_toml

PROCUREMENT_RULES = ["procurement_over_budget", "single_source", "split_purchase", "supplier_concentration"]


def _unit(u: int, extra: str = "") -> str:
    # two years, three categories: reception and meeting overrun their budgets, training does not
    return f"""
        unit year category  budget actual
        U{u}  2008 reception 1000   1200
        U{u}  2008 meeting   1000   1500
        U{u}  2008 training  1000   900
        U{u}  2009 reception 1000   1100
        U{u}  2009 meeting   1000   1300
        U{u}  2009 training  1000   {900 if not extra else 1400}
    """


def _flags(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r[0]: tuple(r) for r in conn.execute(text("SELECT * FROM flag ORDER BY id"))}


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_correction_to_one_unit_rewrites_only_its_flags(engine, tmp_path):
    ids = {u: load_ledger(engine, _unit(u)) for u in range(1, 5)}
    # reception 2009 above 90% of 2008 everywhere: four missed targets, whose evidence names the run's result
    load_policy(engine, tmp_path, target_toml("cut", measure="actual", category="reception", baseline="prior_year",
                                             change_pct=-10, year_from=2009))
    load_procurement(engine, """
        project unit year title method budget contract supplier date
        P1 U1 2009 桌子 open_tender 1000 1500 甲公司 2009-05-01
    """)
    first = run(engine)
    assert first.flags | {"by_rule": None} == {
        "raised": 21, "new": 21, "changed": 0, "resolved": 0, "reactivated": 0, "by_rule": None, "skipped": [],
        "rules_not_rerun": []}
    before = _flags(engine)
    assert len(before) == 21  # 4 units × (4 overruns + a missed target), and the procurement over its budget

    # unchanged data: the run is reused, nothing is written, the same results are reported
    runs, results = _count(engine, "check_run"), _count(engine, "target_result")
    again = run(engine)
    assert (again.reused, again.run_id, again.results, again.flags) == (True, first.run_id, first.results, first.flags)
    assert (_flags(engine), _count(engine, "check_run"), _count(engine, "target_result")) == (before, runs, results)

    # U2 corrects its batch: 2009 meeting now within budget, 2009 reception higher, 2009 training over
    load_ledger(engine, _unit(2, "training").replace("U2  2009 meeting   1000   1300", "U2  2009 meeting   1000   900")
                .replace("U2  2009 reception 1000   1100", "U2  2009 reception 1000   1150"), supersedes=ids[2])
    fixed = run(engine)
    assert not fixed.reused
    assert {k: fixed.flags[k] for k in ("raised", "new", "changed", "resolved", "reactivated")} == {
        "raised": 21, "new": 1, "changed": 4, "resolved": 1, "reactivated": 0}
    # the procurement rules read no expense batch: not run again, their counts carried over
    assert fixed.flags["rules_not_rerun"] == PROCUREMENT_RULES
    assert fixed.flags["by_rule"]["procurement_over_budget"] == 1
    after = _flags(engine)
    touched = {i for i in after if after[i] != before.get(i)}
    with engine.connect() as conn:
        u2 = set(conn.execute(text("SELECT f.id FROM flag f JOIN unit u ON u.id = f.unit_id WHERE u.code = 'U2'"))
                 .scalars())
    # U2's six flags: 2008's two overruns keep their figures but cite the new batch, 2009 reception's
    # overrun and missed target changed, meeting resolved, training new; no other unit's row moved (not even
    # last_run_id, nor a missed target's evidence: it still names the first run's result, which says the same)
    assert touched == u2 and len(u2) == 6

    # every rule run again from scratch (a threshold section changed in form only) finds nothing to write
    config = copy.deepcopy(CONFIG)
    for code in REGISTRY:
        config.setdefault(code, {})["note"] = "forces a full re-run"
    full = run(engine, config=config)
    assert (full.flags["new"], full.flags["changed"], full.flags["resolved"], full.flags["rules_not_rerun"]) == (
        0, 0, 0, [])
    assert _flags(engine) == after


def test_a_run_of_one_year_is_never_the_basis_for_skipping_in_a_run_of_all(engine):
    load_procurement(engine, """
        project unit year title method budget contract supplier date
        P1 U1 2009 桌子 open_tender 1000 1500 甲公司 2009-05-01
    """)
    run(engine)
    load_ledger(engine, _unit(1))
    assert run(engine, year=2009).flags["rules_not_rerun"] == []  # the latest run covered every year
    s = run(engine)
    assert s.flags["rules_not_rerun"] == []  # the latest run covered 2009 only
    assert (s.flags["raised"], s.flags["new"], s.flags["changed"]) == (5, 2, 0)


def _results(engine, run_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, target_id, unit_id, fiscal_year, status, baseline_fen, cap_fen, value_fen, excess_fen, "
            "excess_pct, detail_json FROM target_result WHERE run_id = :r ORDER BY id"), {"r": run_id})]


def test_a_run_after_one_units_batch_stores_what_a_full_run_stores(engine, tmp_path, monkeypatch):
    from ledger.rules.bulk import changed

    ids = {u: load_ledger(engine, _unit(u)) for u in range(1, 6)}
    # U5's meeting lines stop after 2008: the meeting target has a unit to evaluate in 2009 (U1–U4) and a
    # no_data target (water, never loaded) every unit gets; a levels scope names no unit at all
    policy = "".join([
        target_toml("cut", measure="actual", category="reception", baseline="prior_year", change_pct=-10,
                    year_from=2009),
        target_toml("flat", measure="actual", category="meeting", baseline="prior_year", change_pct=0),
        target_toml("plan", measure="budget", category="training", baseline="prior_year", change_pct=0),
        target_toml("water", measure="consumption", resource="water", baseline="prior_year", change_pct=-5,
                    year_from=2009),
        target_toml("nobody", measure="actual", category="reception", baseline="prior_year", change_pct=0,
                    levels=["provincial"]),
    ])
    load_policy(engine, tmp_path, policy)
    first = run(engine)
    assert first.results["no_data"] == 5 and first.results["missed"] > 0
    calls = []
    monkeypatch.setattr(changed, "copy_results", lambda *a, _f=changed.copy_results: calls.append(a[2].units) or _f(*a))

    # U3 corrects its batch: 2009 reception down (the miss goes), meeting up, training over its budget
    load_ledger(engine, _unit(3, "training").replace("U3  2009 reception 1000   1100", "U3  2009 reception 1000   700")
                .replace("U3  2009 meeting   1000   1300", "U3  2009 meeting   1000   1600"), supersedes=ids[3])
    part = run(engine)
    with engine.connect() as conn:
        u3 = conn.execute(text("SELECT id FROM unit WHERE code = 'U3'")).scalar_one()
    assert calls == [[u3]]  # only U3 was evaluated
    assert part.flags["new"] + part.flags["changed"] + part.flags["resolved"] > 0
    flags_after = _flags(engine)

    # the same data evaluated in full (a threshold section changed in form only): the same results, in the
    # same order (ids one run's worth apart), the same counts, and no flag to write
    config = copy.deepcopy(CONFIG)
    for code in REGISTRY:
        config.setdefault(code, {})["note"] = "forces a full re-run"
    full = run(engine, config=config)
    assert len(calls) == 1 and not full.reused
    got, want = _results(engine, part.run_id), _results(engine, full.run_id)
    assert len(got) == len(want) == sum(part.results.values())
    assert [r[1:] for r in got] == [r[1:] for r in want]
    assert {w[0] - g[0] for g, w in zip(got, want, strict=True)} == {len(got)}
    assert full.results == part.results
    assert (full.flags["new"], full.flags["changed"], full.flags["resolved"]) == (0, 0, 0)
    assert (full.flags["raised"], full.flags["by_rule"]) == (part.flags["raised"], part.flags["by_rule"])
    assert _flags(engine) == flags_after
