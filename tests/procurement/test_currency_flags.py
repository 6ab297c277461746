"""Procurement flags per currency (issue 18 audit): a UAH or EUR procurement is never compared with a
元 threshold. Without thresholds of its own a currency is skipped, and the run records how many records
it did not judge; with them (``[flags.<rule>.currency.EUR]``) it is judged in euros.

The real files (Prozorro UAH, IMPIC EUR) hold 100 EUR contracts, all single-source, and 10 UAH contracts
with a supplier; 7 EUR and 10 UAH of them carry a date (the split-purchase window needs one).
"""

from __future__ import annotations

import copy
import json

from click.testing import CliRunner

from cli.main import root
from importers.pipeline import Options
from importers.procurement.ocds import import_file
from ledger.rules.flags import list_flags
from tests.conftest import REAL
from tests.ledgertext import CONFIG, run

PORTUGAL = REAL / "ocds" / "portugal_impic_release_package.json"
UKRAINE = sorted((REAL / "ocds" / "ukraine_records").glob("*.json"))
RULES = ("single_source", "split_purchase", "supplier_concentration")


def _load_real(engine):
    for path in [*UKRAINE, PORTUGAL]:
        assert import_file(engine, path, Options(submitted_by="test")).status == "loaded"


def _flags(engine):
    with engine.connect() as conn:
        return [f for f in list_flags(conn) if f["rule_code"] in RULES and f["data_status"] == "active"]


def test_real_foreign_procurement_raises_no_flag_and_says_what_it_did_not_judge(engine, db_url):
    _load_real(engine)
    summary = run(engine)
    assert {r: summary.flags["by_rule"][r] for r in RULES} == dict.fromkeys(RULES, 0)
    assert _flags(engine) == []
    assert summary.flags["skipped"] == [
        {"rule": "single_source", "currency": "EUR", "records": 100, "reason": "no-threshold-for-currency"},
        {"rule": "single_source", "currency": "UAH", "records": 10, "reason": "no-threshold-for-currency"},
        {"rule": "split_purchase", "currency": "EUR", "records": 7, "reason": "no-threshold-for-currency"},
        {"rule": "split_purchase", "currency": "UAH", "records": 10, "reason": "no-threshold-for-currency"},
        {"rule": "supplier_concentration", "currency": "EUR", "records": 100, "reason": "no-threshold-for-currency"},
        {"rule": "supplier_concentration", "currency": "UAH", "records": 10, "reason": "no-threshold-for-currency"},
    ]
    # the CLI says it, in Chinese by default, and its JSON carries it
    out = CliRunner().invoke(root, ["--database", db_url, "check"])
    assert out.exit_code == 0, out.output
    assert ("未判断：规则 single_source 没有 EUR 的阈值，100 条以 EUR 计的采购记录未与人民币阈值比较"
            "（可在 sunshine.toml 的 [flags.single_source.currency.EUR] 设定）") in out.output
    out = CliRunner().invoke(root, ["--database", db_url, "check", "--json"])
    assert len(json.loads(out.output)["flags"]["skipped"]) == 6


def test_a_currency_with_its_own_thresholds_is_judged_in_that_currency(engine):
    _load_real(engine)
    config = copy.deepcopy(CONFIG)
    config["single_source"]["currency"] = {"EUR": {"max_award": 100000, "min_unit_total": 100000}}
    summary = run(engine, config=config)
    assert summary.flags["by_rule"]["single_source"] == 10
    got = sorted((f["unit_code"], f["figures"]["kind"], f["figures"].get("contract_fen") or f["figures"]["total_fen"])
                 for f in _flags(engine))
    # five Portuguese single-source contracts above EUR 100,000.00, each the whole of its buyer's total
    assert got == [("501216324", "award", 10_622_736), ("501216324", "share", 10_622_736),
                   ("506192164", "award", 12_313_183), ("506192164", "share", 12_313_183),
                   ("506829197", "award", 10_927_193), ("506829197", "share", 10_927_193),
                   ("508184509", "award", 17_996_562), ("508184509", "share", 17_996_562),
                   ("600017613", "award", 10_399_000), ("600017613", "share", 10_399_000)]
    award = next(f for f in _flags(engine) if f["unit_code"] == "600017613" and f["figures"]["kind"] == "award")
    assert award["figures"]["currency"] == "EUR"
    assert award["threshold"] == {"currency": "EUR", "max_award": 100000}
    assert award["message_zh"] == (
        "Secretaria-Geral do Ministério da Justiça （年度未知）：采购项目“Empreitada de obras de beneficiação e "
        "conservação do interior do edifício sede do Ministério da Justiça”以单一来源方式授予Avelino Soares Madureira, "
        "Pinturas de Construção Civil，合同金额103,990.00 EUR，超过100,000.00 EUR")
    assert "万元" not in award["message_zh"] and "¥" not in award["message_en"]
    # UAH still has none: skipped, and the other rules skip EUR too
    assert [(s["rule"], s["currency"]) for s in summary.flags["skipped"]] == [
        ("single_source", "UAH"), ("split_purchase", "EUR"), ("split_purchase", "UAH"),
        ("supplier_concentration", "EUR"), ("supplier_concentration", "UAH")]
