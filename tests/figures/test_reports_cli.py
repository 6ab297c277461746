"""The CLI over checks, flags and reports: one JSON document with --json, exit 1 when refused."""

import csv
import io
import json

from click.testing import CliRunner

from cli.main import root
from tests.conftest import ROOT
from tests.figures.test_reports import SEED_PROCUREMENT
from tests.ledgertext import load_ledger, load_procurement


def invoke(db_url, *args):
    return CliRunner().invoke(root, ["--database", db_url, *args])


def test_report_formats(engine, db_url):
    load_procurement(engine, SEED_PROCUREMENT)
    out = invoke(db_url, "report", "procurement", "--year", "2009", "--text")
    assert out.exit_code == 0 and out.output.startswith("2009年政府采购规模11.93亿元")
    data = json.loads(invoke(db_url, "report", "procurement", "--year", "2009", "--json").output)
    assert (data["growth_pct"], data["savings_rate_pct"]) == ("56.77", "11.76")
    rows = list(csv.reader(io.StringIO(invoke(db_url, "report", "procurement", "--year", "2009", "--csv").output)))
    assert rows[0][:3] == ["fiscal_year", "unit", "method"] and rows[-1][2] == "total" and rows[-1][6] == "119300000000"
    table = invoke(db_url, "report", "procurement", "--year", "2009").output
    assert "scale(万元)" in table and "119,300.00" in table
    assert invoke(db_url, "report", "nonsense", "--year", "2009").exit_code == 2


def test_check_flags_review_and_publish_from_the_cli(engine, db_url, monkeypatch, tmp_path):
    config = tmp_path / "thresholds.toml"
    config.write_text((ROOT / "sunshine.toml").read_text(encoding="utf-8"))
    monkeypatch.setenv("SUNSHINE_CONFIG", str(config))
    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """, submitted_by="clerk")
    run = json.loads(invoke(db_url, "check", "--json").output)
    assert run["flags"]["by_rule"]["budget_overrun"] == 1 and run["reused"] is False
    [flag] = json.loads(invoke(db_url, "flags", "list", "--json").output)["flags"]
    fid = flag["id"][:10]
    out = invoke(db_url, "flags", "review", fid, "--to", "explained", "--note", "x", "--by", "纪委")
    assert out.exit_code == 1 and "不能转为 explained；下一步可转为：under_review" in out.output
    out = invoke(db_url, "flags", "review", fid, "--to", "under_review", "--note", "核查", "--by", "clerk")
    assert out.exit_code == 1 and "clerk 导入了该风险标记所依据的数据，不能核查" in out.output
    assert invoke(db_url, "flags", "review", fid, "--to", "under_review", "--note", "核查", "--by", "纪委").exit_code == 0
    assert invoke(db_url, "flags", "review", fid, "--to", "explained", "--note", "临时接待任务", "--by", "纪委").exit_code == 0
    shown = json.loads(invoke(db_url, "flags", "show", fid, "--json").output)
    assert shown["state"] == "explained" and [r["note"] for r in shown["reviews"]] == [None, None]
    assert invoke(db_url, "flags", "publish", fid, "--by", "纪委").exit_code == 0
    shown = json.loads(invoke(db_url, "flags", "show", fid, "--json").output)
    assert [r["note"] for r in shown["reviews"]] == ["核查", "临时接待任务"]
    assert invoke(db_url, "flags", "show", "zzzzzzzz").exit_code == 1
    monkeypatch.setenv("SUNSHINE_CONFIG", str(tmp_path / "missing.toml"))
    out = invoke(db_url, "check")
    assert out.exit_code == 1 and "missing.toml not found" in out.output


def test_a_missing_threshold_stops_the_check_and_names_the_key(engine, db_url, monkeypatch, tmp_path):
    text = (ROOT / "sunshine.toml").read_text(encoding="utf-8").replace("window_days = 90", "")
    config = tmp_path / "thresholds.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SUNSHINE_CONFIG", str(config))
    out = invoke(db_url, "check", "--json")
    assert out.exit_code == 1
    assert json.loads(out.output)["error"] == f"{config}: [flags.split_purchase] has no 'window_days'"


def test_check_text_lists_a_screenful_of_misses_and_counts_the_rest(engine, db_url, monkeypatch, tmp_path):
    import cli.commands.check as check_cmd

    monkeypatch.setattr(check_cmd, "MAX_LISTED", 1)
    load_ledger(engine, """
        unit year category  budget actual
        U1   2008 reception 10000  10000
        U1   2009 reception 10000  9000
        U2   2008 reception 10000  10000
        U2   2009 reception 10000  9500
    """, submitted_by="clerk")
    assert invoke(db_url, "targets", "load", str(ROOT / "policies" / "changde-2009.toml")).exit_code == 0
    out = invoke(db_url, "check").output
    # Reception must fall to 8,000 元 (−20%): both units miss; one is listed, the other counted.
    assert out.count("  未达标  ") == 1
    assert "…… 另有 1 项未达标" in out and "决算数0.90万元 > 上限 0.80万元" in out
    out = invoke(db_url, "--lang", "en", "check").output
    assert out.count("  missed  ") == 1
    assert "… and 1 more missed" in out and "actual (final accounts) 0.90万元 > cap 0.80万元" in out
