"""Every rule a check can raise has a name a reader can read, in both languages (never the bare code)."""

import ledger.rules.checks  # noqa: F401  (registers every rule)
from api.web.page_text import RULES, rule_name
from ledger.rules.registry import REGISTRY


def test_every_registered_rule_has_a_chinese_and_an_english_name():
    assert set(REGISTRY) <= set(RULES)
    for code in REGISTRY:
        zh, en = rule_name(code, "zh"), rule_name(code, "en")
        assert zh != code and en != code
    assert rule_name("unit_cost_outlier", "zh") == "单位成本高于同类"
    assert rule_name("unit_cost_outlier", "en") == "Unit cost above peers"
