"""Every target shape evaluated with exact figures in fen, on SQLite and PostgreSQL."""

from decimal import Decimal

from sqlalchemy import func, select, text

from ledger.rules.checks import target_results
from ledger.store.models import CheckRun, TargetResult
from tests.ledgertext import load_consumption, load_ledger, load_policy, results, run, target_toml


def test_prior_year_cut_boundary_zero_baseline_and_missing_year(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "reception-cut-20", measure="actual", category="reception", baseline="prior_year", change_pct=-20,
        year_from=2009, year_to=2009))
    load_ledger(engine, """
        unit year category  budget actual
        U1   2008 reception -      10000
        U1   2009 reception -      8000
        U2   2008 reception -      10000
        U2   2009 reception -      8000.01
        U3   2008 reception -      0
        U3   2009 reception -      1
        U4   2009 reception -      500
        U5   2008 reception -      0
        U5   2009 reception -      0
        U6   2008 reception -      700
        U6   2009 reception 100    -
        U7   2008 meeting   -      500
        U7   2009 reception -      1
        U8   2008 reception -      0
        U8   2009 meeting   -      20
        U9   2008 meeting   -      0
        U9   2009 meeting   -      0
    """)
    summary = run(engine)
    assert summary.results == {"met": 2, "missed": 2, "insufficient_data": 5, "no_data": 0}
    assert results(engine) == [
        ("reception-cut-20", "U1", 2009, "met", 1000000, 800000, 800000, 0, "0.00"),
        # one fen over the cap is a miss: no rounding before the comparison
        ("reception-cut-20", "U2", 2009, "missed", 1000000, 800000, 800001, 1, "0.00"),
        # a published zero baseline: any spending misses, and the percentage is undefined
        ("reception-cut-20", "U3", 2009, "missed", 0, 0, 100, 100, None),
        ("reception-cut-20", "U4", 2009, "insufficient_data", None, None, 50000, None, None),
        # zero baseline, zero spending, both published: met
        ("reception-cut-20", "U5", 2009, "met", 0, 0, 0, 0, "0.00"),
        # no actual rows in 2009 (only a budget line): the year itself is missing
        ("reception-cut-20", "U6", 2009, "insufficient_data", 70000, None, None, None, None),
        # entries in 2008, but none for reception: no baseline, not a zero one
        ("reception-cut-20", "U7", 2009, "insufficient_data", None, None, 100, None, None),
        # a published zero in 2008, but no reception entry in 2009: not a zero, so not met
        ("reception-cut-20", "U8", 2009, "insufficient_data", 0, None, None, None, None),
        # no reception entry in either year (only meetings): never met
        ("reception-cut-20", "U9", 2009, "insufficient_data", None, None, None, None, None),
    ]
    with engine.connect() as conn:
        rows = {r["unit_code"]: r for r in target_results(conn)}
    assert {u: rows[u]["missing_years"] for u in ("U1", "U3", "U4", "U6", "U7", "U8", "U9")} == {
        "U1": [], "U3": [], "U4": [2008], "U6": [2009], "U7": [2008], "U8": [2009], "U9": [2008, 2009]}
    assert rows["U2"]["growth_pct"] == Decimal("-20.00")
    assert rows["U3"]["growth_pct"] is None
    assert rows["U5"]["growth_pct"] is None


def test_missing_data_is_decided_per_measure_and_per_group(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "vehicle-budget", measure="budget", category="vehicle_purchase", baseline="prior_year", change_pct=-25,
        year_from=2009, year_to=2009) + target_toml(
        "study-training", measure="actual", group="study_training", baseline="prior_year", change_pct=-20,
        year_from=2009, year_to=2009))
    load_ledger(engine, """
        unit year category         budget actual
        A    2008 vehicle_purchase 0      -
        A    2009 vehicle_purchase 0      -
        A    2008 training         -      1000
        A    2009 study_tour       -      700
        A    2009 training         -      100
        B    2008 reception        100    -
        B    2009 vehicle_purchase 100    -
        B    2008 reception        -      100
        B    2009 reception        -      100
    """)
    run(engine)
    assert results(engine) == [
        # a group has data when any member has a row: 2008 = training 1000, 2009 = 700 + 100
        ("study-training", "A", 2009, "met", 100000, 80000, 80000, 0, "0.00"),
        # entries in both years, but none in the group: no data, not a zero
        ("study-training", "B", 2009, "insufficient_data", None, None, None, None, None),
        # budget lines of 0.00 are a published zero budget
        ("vehicle-budget", "A", 2009, "met", 0, 0, 0, 0, "0.00"),
        # a 2008 budget without a vehicle-purchase line is no baseline (not a zero one)
        ("vehicle-budget", "B", 2009, "insufficient_data", None, None, 10000, None, None),
    ]
    with engine.connect() as conn:
        missing = {(r["target_id"], r["unit_code"]): r["missing_years"] for r in target_results(conn)}
    assert missing == {("study-training", "A"): [], ("study-training", "B"): [2008, 2009],
                       ("vehicle-budget", "A"): [], ("vehicle-budget", "B"): [2008]}


def test_mean_of_three_prior_years_exact_to_the_fen(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "overseas", measure="actual", category="overseas_travel", baseline="mean_prior_years:3", change_pct=-20,
        year_from=2009, year_to=2009))
    load_ledger(engine, """
        unit year category        budget actual
        A    2006 overseas_travel -      30000
        A    2007 overseas_travel -      20000
        A    2008 overseas_travel -      10001
        A    2009 overseas_travel -      16000.26
        B    2006 overseas_travel -      30000
        B    2007 overseas_travel -      20000
        B    2008 overseas_travel -      10001
        B    2009 overseas_travel -      16000.27
        C    2007 overseas_travel -      20000
        C    2008 overseas_travel -      10000
        C    2009 overseas_travel -      1
    """)
    run(engine)
    # cap = 80% × (30000 + 20000 + 10001) / 3 元 = 16000.2666… 元, floor 1600026 fen
    assert results(engine) == [
        ("overseas", "A", 2009, "met", 2000033, 1600026, 1600026, 0, "0.00"),
        ("overseas", "B", 2009, "missed", 2000033, 1600026, 1600027, 1, "0.00"),
        ("overseas", "C", 2009, "insufficient_data", None, None, 100, None, None),
    ]
    with engine.connect() as conn:
        c = [r for r in target_results(conn) if r["unit_code"] == "C"][0]
    assert c["missing_years"] == [2006] and c["baseline_years"] == [2006, 2007, 2008]


def test_fixed_year_baseline_over_several_years(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "fixed", measure="actual", category="reception", baseline="fixed_year:2005", change_pct=-10,
        year_from=2008, year_to=2009))
    load_ledger(engine, """
        unit year category  budget actual
        A    2005 reception -      1000
        A    2008 reception -      900
        A    2009 reception -      900.01
    """)
    run(engine)
    assert results(engine) == [
        ("fixed", "A", 2008, "met", 100000, 90000, 90000, 0, "0.00"),
        ("fixed", "A", 2009, "missed", 100000, 90000, 90001, 1, "0.00"),
    ]


def test_budget_measure_group_and_percent_excess(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "vehicle-budget", measure="budget", category="vehicle_purchase", baseline="prior_year", change_pct=-25,
        year_from=2009, year_to=2009) + target_toml(
        "official", measure="actual", group="official", baseline="prior_year", change_pct=0,
        year_from=2009, year_to=2009))
    load_ledger(engine, """
        unit year category         budget    actual
        A    2008 vehicle_purchase 200000    190000
        A    2009 vehicle_purchase 150000    160000
        B    2008 vehicle_purchase 200000    -
        B    2009 vehicle_purchase 160000    -
        A    2008 reception        -         10000
        A    2009 reception        -         5000
        A    2008 other            -         99999
        A    2009 other            -         1
    """)
    run(engine)
    assert results(engine) == [
        # official spending excludes "other": 2008 = 190000 + 10000, 2009 = 160000 + 5000
        ("official", "A", 2009, "met", 20000000, 20000000, 16500000, 0, "0.00"),
        ("vehicle-budget", "A", 2009, "met", 20000000, 15000000, 15000000, 0, "0.00"),
        # 160000 against a cap of 150000: 10000 over, 6.67% of the cap
        ("vehicle-budget", "B", 2009, "missed", 20000000, 15000000, 16000000, 1000000, "6.67"),
    ]


def test_consumption_targets_in_thousandths(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "power", measure="consumption", resource="electricity", baseline="prior_year", change_pct=-5,
        year_from=2009, year_to=2009))
    load_consumption(engine, """
        unit year resource    quantity
        A    2008 electricity 10000
        A    2009 electricity 9500
        B    2008 electricity 10000
        B    2009 electricity 9500.001
        C    2009 water       10
    """)
    run(engine)
    assert results(engine) == [
        ("power", "A", 2009, "met", 10000000, 9500000, 9500000, 0, "0.00"),
        ("power", "B", 2009, "missed", 10000000, 9500000, 9500001, 1, "0.00"),
        # C reports water but no electricity: insufficient, not a zero consumption
        ("power", "C", 2009, "insufficient_data", None, None, None, None, None),
    ]
    with engine.connect() as conn:
        assert {r["measure_unit"] for r in target_results(conn)} == {"kWh"}


def test_scope_by_units_and_levels_and_year_option(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "only-a", measure="actual", category="meeting", baseline="prior_year", change_pct=0, units=["A"],
        year_from=2008) + target_toml(
        "county", measure="actual", category="meeting", baseline="prior_year", change_pct=0, levels=["county"],
        year_from=2008))
    load_ledger(engine, """
        unit year category budget actual
        A    2007 meeting  -      100
        A    2008 meeting  -      100
        A    2009 meeting  -      101
        B    2008 meeting  -      100
        B    2009 meeting  -      99
    """)
    with engine.begin() as conn:
        conn.execute(text("UPDATE unit SET level = 'county' WHERE code = 'B'"))
    run(engine)
    assert [r[:4] for r in results(engine)] == [
        ("county", "B", 2008, "insufficient_data"),
        ("county", "B", 2009, "met"),
        ("only-a", "A", 2008, "met"),
        ("only-a", "A", 2009, "missed"),
    ]
    summary = run(engine, year=2009)
    assert summary.fiscal_year == 2009 and summary.results == {"met": 1, "missed": 1, "insufficient_data": 0, "no_data": 0}
    assert [r[:4] for r in results(engine, year=2009)] == [("county", "B", 2009, "met"), ("only-a", "A", 2009, "missed")]
    # without a year, the latest run over all years is the one read
    assert len(results(engine)) == 4


def test_rerun_on_unchanged_data_changes_nothing_and_a_correction_reruns(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml(
        "meet", measure="actual", category="meeting", baseline="prior_year", change_pct=0, year_from=2009))
    first = load_ledger(engine, """
        unit year category budget actual
        A    2008 meeting  -      100
        A    2009 meeting  -      101
    """)
    s1 = run(engine)
    s2 = run(engine)
    assert (s2.run_id, s2.reused, s2.results) == (s1.run_id, True, s1.results)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CheckRun)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(TargetResult)).scalar() == 1
    load_ledger(engine, """
        unit year category budget actual
        A    2008 meeting  -      100
        A    2009 meeting  -      100
    """, supersedes=first)
    s3 = run(engine)
    assert not s3.reused and s3.run_id != s1.run_id
    assert results(engine) == [("meet", "A", 2009, "met", 10000, 10000, 10000, 0, "0.00")]
    # the earlier run's results are kept
    assert results(engine, run_id=s1.run_id)[0][3] == "missed"
