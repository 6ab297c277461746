"""Policy files: the Changde 2009 targets load as DOMAIN.md lists them; bad files load nothing."""

import json
from decimal import Decimal

from click.testing import CliRunner

from cli.main import root
from ledger.rules.targets import list_targets, load_policy_file
from ledger.store.db import writing
from ledger.store.models import AuditLog
from tests.conftest import ROOT
from tests.ledgertext import load_policy, target_toml

CHANGDE = ROOT / "policies" / "changde-2009.toml"


def test_changde_2009_encodes_every_target_of_seed_000(engine):
    with writing(engine) as conn:
        result = load_policy_file(conn, CHANGDE)
    assert result.ok and len(result.added) == 9
    with engine.connect() as conn:
        got = {t.id: (t.measure, t.category_code or t.group_code or t.resource, t.baseline, t.change_pct,
                      t.year_from, t.year_to) for t in list_targets(conn)}
    assert got == {
        "changde-2009-official-zero-growth": ("actual", "official", "prior_year", Decimal("0.00"), 2009, 2009),
        "changde-2009-reception-cut-20": ("actual", "reception", "prior_year", Decimal("-20.00"), 2009, 2009),
        "changde-2009-vehicle-purchase-budget-cut-25": ("budget", "vehicle_purchase", "prior_year", Decimal("-25.00"), 2009, 2009),
        "changde-2009-meeting-zero-growth": ("actual", "meeting", "prior_year", Decimal("0.00"), 2009, 2009),
        "changde-2009-overseas-travel-cut-20-vs-3yr-mean": ("actual", "overseas_travel", "mean_prior_years:3", Decimal("-20.00"), 2009, 2009),
        "changde-2009-study-training-cut-20": ("actual", "study_training", "prior_year", Decimal("-20.00"), 2009, 2009),
        "changde-2009-electricity-cut-5": ("consumption", "electricity", "prior_year", Decimal("-5.00"), 2009, 2009),
        "changde-2009-fuel-cut-5": ("consumption", "fuel", "prior_year", Decimal("-5.00"), 2009, 2009),
        "changde-2009-water-cut-5": ("consumption", "water", "prior_year", Decimal("-5.00"), 2009, 2009),
    }
    with writing(engine) as conn:
        again = load_policy_file(conn, CHANGDE)
    assert (again.added, again.updated, len(again.unchanged)) == ([], [], 9)


def test_every_problem_is_reported_and_nothing_loads(engine, tmp_path):
    text = (
        target_toml("ok", measure="actual", category="reception", baseline="prior_year", change_pct=-20)
        + target_toml("ok", measure="spent", category="reception", baseline="prior_year", change_pct=-20)
        + target_toml("b", measure="actual", category="gifts", baseline="last_year", change_pct="x", year_from=2010,
                      year_to=2009)
        + target_toml("c", measure="consumption", category="reception", baseline="fixed_year:2012", change_pct=-5,
                      year_from=2010, units=["A"], levels=["county"], colour="red")
    )
    r = load_policy(engine, tmp_path, text)
    assert [(p.target, p.field, p.code) for p in r.problems] == [
        ("ok", "id", "id-duplicate"),
        ("ok", "measure", "measure-invalid"),
        ("b", "category", "category-unknown"),
        ("b", "baseline", "baseline-invalid"),
        ("b", "change_pct", "change-invalid"),
        ("b", "year_to", "year-invalid"),
        ("c", "colour", "unknown-field"),
        ("c", "resource", "resource-invalid"),
        ("c", "baseline", "baseline-invalid"),
        ("c", "scope", "scope-invalid"),
    ]
    assert str(r.problems[2]) == ("policy.toml: target b, category: unknown category 'gifts'; known: "
                                  "['meeting', 'other', 'overseas_travel', 'reception', 'study_tour', 'three_public', "
                                  "'training', 'transport', 'vehicle_operation', 'vehicle_purchase', 'vehicles'] "
                                  "(category-unknown)")
    with engine.connect() as conn:
        assert list_targets(conn) == []


def test_a_changed_target_is_updated_and_audited(engine, tmp_path):
    load_policy(engine, tmp_path, target_toml("t", measure="actual", category="meeting", baseline="prior_year",
                                              change_pct=0))
    r = load_policy(engine, tmp_path, target_toml("t", measure="actual", category="meeting", baseline="prior_year",
                                                  change_pct=-10))
    assert r.updated == ["t"]
    with engine.connect() as conn:
        [t] = list_targets(conn)
        audits = conn.execute(AuditLog.__table__.select().where(AuditLog.action == "targets.load")).all()
    assert t.change_pct == Decimal("-10.00") and len(audits) == 2


def test_cli_load_and_list(db_url, tmp_path):
    runner = CliRunner()
    out = runner.invoke(root, ["--database", db_url, "targets", "load", str(CHANGDE), "--json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["added"]) == 9
    out = runner.invoke(root, ["--database", db_url, "targets", "list", "--json"])
    targets = json.loads(out.output)["targets"]
    assert targets[0]["id"] == "changde-2009-electricity-cut-5" and targets[0]["change_pct"] == "-5.00"
    bad = tmp_path / "bad.toml"
    bad.write_text(target_toml("x", measure="actual", category="nope", baseline="prior_year", change_pct=0))
    out = runner.invoke(root, ["--database", db_url, "targets", "load", str(bad)])
    assert out.exit_code == 1 and "unknown category 'nope'" in out.output
