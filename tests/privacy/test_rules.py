"""The [privacy] rules of sunshine.toml, one name at a time, and the bureau's lists overriding them."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.read.privacy.rules import PrivacyConfigError, load

RULES = load()


@pytest.mark.parametrize(("name", "kind", "rule"), [
    ("张三", None, "han_name"), ("欧阳娜娜", None, "han_name"), (" 李 四 ", None, None),  # a space is not a name
    ("Mr J Smith", None, "personal_title"), ("mrs. brown", None, "personal_title"),
    ("REDACTED PERSONAL DATA", None, "source_marker"), ("Ahmed Khan", "个人", "type_column"),
    ("黄山", "单位", None), ("王建国", "Organisation", None),
    ("阳光大酒店有限公司", None, None), ("教育局", None, None), ("王府井大饭店", None, None), ("张记小吃店", None, None),
    ("A D Simpson Ltd", None, None), ("Leeds City Council", None, None), ("Dr Foster Ltd", None, None),
    ("某酒店", None, None), ("A APPLEYARD", None, None), (None, None, None), ("", None, None),
])
def test_classify(name, kind, rule):
    assert RULES.classify(name, kind) == rule


def test_the_bureau_lists_win():
    rules = dataclasses.replace(RULES, always_personal=frozenset({"A APPLEYARD"}), never_personal=frozenset({"黄山"}))
    assert rules.classify("A APPLEYARD") == "always_personal"
    assert rules.classify("黄山", "个人") is None
    assert rules.fingerprint() != RULES.fingerprint()


def test_a_malformed_section_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[privacy]\nalways_personal = "张三"\n', encoding="utf-8")
    with pytest.raises(PrivacyConfigError, match=r"bad.toml: \[privacy\] always_personal must be a list"):
        load(path)
    path.write_text("[flags]\n", encoding="utf-8")
    assert load(path).classify("张三") == "han_name"  # no [privacy]: the shipped rules, never none
