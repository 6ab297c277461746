"""The bundled sample city: `sunshine check` finds what sample/city.py and sample/procurement.py plant.

Loaded exactly as a user would (scripts/load-sample), checked with the shipped policy and sunshine.toml.
"""

import json
import os
import subprocess

from click.testing import CliRunner

from cli.main import root
from sample.city import PLANTED
from sample.procurement import PLANTED_PROCUREMENT
from sample.units import district_units
from tests.conftest import ROOT


def test_sample_city_gives_met_missed_insufficient_and_every_flag(db_url, tmp_path):
    env = {**os.environ, "SUNSHINE_DATABASE_URL": db_url, "SUNSHINE": str(ROOT / ".venv" / "bin" / "sunshine")}
    env.pop("SUNSHINE_CONFIG", None)
    loaded = subprocess.run([str(ROOT / "scripts" / "load-sample"), str(tmp_path / "sample")], env=env,
                            capture_output=True, text=True, cwd=ROOT)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    runner = CliRunner()

    def cli(*args):
        out = runner.invoke(root, ["--database", db_url, *args])
        assert out.exit_code == 0, out.output
        return json.loads(out.output)

    cli("targets", "load", str(ROOT / "policies" / "changde-2009.toml"), "--json")
    run = cli("check", "--json")
    assert all(run["results"][s] > 0 for s in ("met", "missed", "insufficient_data")), run["results"]
    status = {(r["target_id"].removeprefix("changde-2009-"), r["unit_code"]): r["status"] for r in run["targets"]}
    assert status[("reception-cut-20", PLANTED["target_met_reception"]["unit"])] == "met"
    for case, target in [("target_missed_reception", "reception-cut-20"), ("target_missed_meeting", "meeting-zero-growth"),
                         ("target_missed_overseas_travel", "overseas-travel-cut-20-vs-3yr-mean"),
                         ("target_missed_vehicle_purchase_budget", "vehicle-purchase-budget-cut-25"),
                         ("target_missed_study_training", "study-training-cut-20"),
                         ("target_missed_official", "official-zero-growth")]:
        assert status[(target, PLANTED[case]["unit"])] == "missed", case
    assert status[("reception-cut-20", PLANTED["insufficient_new_unit"]["unit"])] == "insufficient_data"
    assert status[("overseas-travel-cut-20-vs-3yr-mean", PLANTED["insufficient_overseas_mean"]["unit"])] == \
        "insufficient_data"
    # the district units publish no meeting, study-tour or training rows: no data, never met
    for unit in district_units():
        for target in ("meeting-zero-growth", "study-training-cut-20"):
            assert status[(target, unit.code)] == "insufficient_data", (target, unit.code)
        assert status[("reception-cut-20", unit.code)] in ("met", "missed")

    flags = cli("flags", "list", "--json")["flags"]
    found = {(f["rule_code"], f["unit_code"], f["fiscal_year"]) for f in flags}
    planted = {**PLANTED, **PLANTED_PROCUREMENT}
    for rule in ("budget_overrun", "per_capita_excess", "duplicate_payment", "procurement_over_budget",
                 "single_source", "split_purchase", "supplier_concentration"):
        assert (rule, planted[rule]["unit"], planted[rule]["year"]) in found, rule
    assert ("target_missed", PLANTED["target_missed_reception"]["unit"], 2009) in found
    assert {f["rule_code"] for f in flags} - {"unit_cost_outlier"} == {
        "budget_overrun", "target_missed", "procurement_over_budget", "single_source", "split_purchase",
        "supplier_concentration", "duplicate_payment", "per_capita_excess"}
    # the sample's counts are random: unit costs far from their peers are real outliers, each explained
    for f in (f for f in flags if f["rule_code"] == "unit_cost_outlier"):
        fig = f["figures"]
        assert fig["unit_cost_fen"] > fig["fence_fen"] and fig["unit_cost_fen"] >= fig["peer_median_fen"] * 1.5
    # unchanged data: the second check reuses the run and writes nothing
    again = cli("check", "--json")
    assert (again["run_id"], again["reused"]) == (run["run_id"], True)
