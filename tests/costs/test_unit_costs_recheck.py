"""After a few units' batches, ``unit_cost_outlier`` judges only the categories and years those batches
touch (whole peer groups, and the histories that follow them) and leaves its other flags as they stand:
what it stores is what a full run stores (issue 15). Both databases."""

import copy

from sqlalchemy import text, update

from ledger.rules import flag_rules_costs
from ledger.rules.flags import list_flags
from ledger.rules.registry import REGISTRY
from ledger.store.db import writing
from ledger.store.models import Unit
from tests.ledgertext import CONFIG, load_ledger, run

HEAD = "unit  year  category         actual   batches  persons  vehicles\n"
# reception per batch in 2023 and 2024: 1,000, 1,200, 1,100, 900, 1,050 and 5,000 元 (U6 above its peers'
# fence both years); a vehicle's running cost of 4,000 元 at U2, 1,000 elsewhere; C1 alone at its level, held against
# its own history, one batch for 2021–2022, one a year after
COST = {"U1": 1000, "U2": 1200, "U3": 1100, "U4": 900, "U5": 1050, "U6": 5000}
C1 = {2021: 1000, 2022: 1100, 2023: 1200, 2024: 2000}


def _unit(code: str, y2023: int | None = None) -> str:
    cost = COST[code]
    return HEAD + "".join([
        f"{code} 2023 reception {(y2023 or cost) * 10} 10 - -\n",
        f"{code} 2024 reception {cost * 10} 10 - -\n",
        f"{code} 2024 vehicle_operation {(4000 if code == 'U2' else 1000) * 2} - - 2\n",
    ])


def _c1(*years: int, **cost: int) -> str:
    return HEAD + "".join(f"C1 {y} overseas_travel {cost.get(f'y{y}', C1[y])} - 1 -\n" for y in years)


def _flags(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r[0]: tuple(r) for r in conn.execute(text("SELECT * FROM flag ORDER BY id"))}


def _full(engine, note: str):
    config = copy.deepcopy(CONFIG)
    for code in REGISTRY:
        config.setdefault(code, {})["note"] = note  # every rule run again from scratch
    return config


def test_a_run_after_one_units_batch_judges_its_peer_groups_as_a_full_run_does(engine, monkeypatch):
    ids = {code: load_ledger(engine, _unit(code)) for code in COST}
    c1 = {y: load_ledger(engine, _c1(*ys)) for y, ys in ((2021, (2021, 2022)), (2023, (2023,)), (2024, (2024,)))}
    with writing(engine) as conn:
        conn.execute(update(Unit).where(Unit.code.like("U%")).values(level="county_dept"))
        conn.execute(update(Unit).where(Unit.code == "C1").values(level="city_dept"))
    config = _full(engine, "first")
    run(engine, config=config)
    with engine.connect() as conn:
        first = {(f["unit_code"], f["fiscal_year"], f["figures"]["metric"]) for f in
                 list_flags(conn, rule_code="unit_cost_outlier", data_status="active")}
    assert first == {("U6", 2023, "per_reception_batch"), ("U6", 2024, "per_reception_batch"),
                     ("U2", 2024, "per_vehicle_held"), ("C1", 2024, "per_overseas_traveller")}
    keys = []
    monkeypatch.setattr(flag_rules_costs, "_redo", lambda conn, ctx, _f=flag_rules_costs._redo: keys.append(
        _f(conn, ctx)) or keys[-1])

    # U3's 2023 reception goes to 30,000 元 a batch: its group's fence rises above U6, U3 is flagged instead
    load_ledger(engine, _unit("U3", 30000), supersedes=ids["U3"])
    part = run(engine, config=config)
    assert sorted(keys[-1].iter_rows()) == [("reception", y) for y in range(2023, 2028)] + [
        ("vehicle_operation", y) for y in range(2024, 2028)]
    assert (part.flags["new"], part.flags["resolved"]) == (1, 1)
    after = _flags(engine)
    full = run(engine, config=_full(engine, "second"))
    assert keys[-1] is None  # no batch moved since: every flag judged
    assert (full.flags["new"], full.flags["changed"], full.flags["resolved"]) == (0, 0, 0)
    assert (full.flags["raised"], full.flags["by_rule"]) == (part.flags["raised"], part.flags["by_rule"])
    assert _flags(engine) == after

    # C1's 2023 goes to 1,600: its 2023 is above 150% of 2021–2022's median, its 2024 still above 150% of
    # 2021–2023's (1,100: 2021 is outside the years the batch touches, read for the history all the same)
    load_ledger(engine, _c1(2023, y2023=1600), supersedes=c1[2023])
    part = run(engine, config=_full(engine, "second"))
    assert sorted(keys[-1].iter_rows()) == [("overseas_travel", y) for y in range(2023, 2027)]
    assert (part.flags["new"], part.flags["resolved"]) == (1, 0)
    after = _flags(engine)
    full = run(engine, config=_full(engine, "third"))
    assert (full.flags["new"], full.flags["changed"], full.flags["resolved"]) == (0, 0, 0)
    assert (full.flags["raised"], full.flags["by_rule"]) == (part.flags["raised"], part.flags["by_rule"])
    assert _flags(engine) == after
    with engine.connect() as conn:
        assert {(f["unit_code"], f["fiscal_year"]) for f in list_flags(conn, rule_code="unit_cost_outlier",
                                                                       data_status="active")} == {
            ("U3", 2023), ("U6", 2024), ("U2", 2024), ("C1", 2023), ("C1", 2024)}


def test_a_batch_of_categories_without_unit_costs_judges_nothing_again(engine, monkeypatch):
    for code in COST:
        load_ledger(engine, _unit(code))
    with writing(engine) as conn:
        conn.execute(update(Unit).where(Unit.code.like("U%")).values(level="county_dept"))
    run(engine)
    before = _flags(engine)
    keys = []
    monkeypatch.setattr(flag_rules_costs, "_redo", lambda conn, ctx, _f=flag_rules_costs._redo: keys.append(
        _f(conn, ctx)) or keys[-1])
    load_ledger(engine, HEAD + "U4 2024 training 500 - - -\n")
    part = run(engine)
    assert keys[-1].height == 0 and part.flags["by_rule"]["unit_cost_outlier"] == 3
    assert _flags(engine) == before
    full = run(engine, config=_full(engine, "again"))
    assert (full.flags["new"], full.flags["changed"], full.flags["resolved"]) == (0, 0, 0)
    assert (full.flags["raised"], full.flags["by_rule"]) == (part.flags["raised"], part.flags["by_rule"])
