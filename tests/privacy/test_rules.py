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
    ("某酒店", None, None), (None, None, None), ("", None, None),
    # sole traders named without a title (Leeds): initials and a surname, or a given name and a surname
    ("A APPLEYARD", None, "initials_surname"), ("J. D. Mumford", None, "initials_surname"),
    ("Alison Hunt", None, "given_name"), ("JOHN HAYES", None, "given_name"), ("John M Parker", None, "given_name"),
    ("T W Buxey T/A Sorted", None, "initials_surname"), ("Greg Vinnicombe T/A Useful Conversations", None, None),
    ("Easy Hire T/A D&R Cars", None, None), ("J K ELECTRIC", None, None), ("Michael Page International", None, None),
    ("Chris North Photography", None, None), ("Agricola House", None, None), ("A", None, None),
    ("Alison Hunt", "单位", None),  # the file's own type column still decides first
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


def test_the_sole_trader_rules_are_configuration(tmp_path):
    off = dataclasses.replace(RULES, initials_surname=False, latin_given_names=frozenset(), trading_as=())
    assert [off.classify(n) for n in ("A APPLEYARD", "Alison Hunt", "T W Buxey T/A Sorted")] == [None, None, None]
    bad = tmp_path / "bad.toml"
    bad.write_text('[flags]\n[privacy]\ninitials_surname = "yes"\n', encoding="utf-8")
    with pytest.raises(PrivacyConfigError, match="initials_surname must be true or false"):
        load(bad)


def test_rules_replaced_after_use_are_hashed_and_matched_afresh():
    before = RULES.fingerprint()
    assert RULES.classify("张三丰") == "han_name"
    more = dataclasses.replace(RULES, org_words_zh=(*RULES.org_words_zh, "三丰", "丰"))
    assert more.fingerprint() != before and RULES.fingerprint() == before
    assert more.classify("张三丰") is None  # a word inside the name, and a one-character word at its end
    assert dataclasses.replace(RULES, org_words_zh=("丰",)).classify("张丰三") == "han_name"  # 丰 not at the end
    assert dataclasses.replace(RULES, org_words_zh=("丰",)).classify("张三丰") is None
