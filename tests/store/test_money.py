"""The one amount parser: exact cases, refusals, and properties (vectorised == scalar, round trips)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.money import (
    AmountError,
    format_amount,
    format_wan,
    format_yi,
    format_yuan,
    parse_amount,
    parse_amounts,
)

GOOD = [
    ("1234", "yuan", 123400),
    ("1,234.56", "yuan", 123456),
    ("1,234,567.8", "yuan", 123456780),
    (" 1616.23 ", "yuan", 161623),
    ("1.2万", "yuan", 1200000),
    ("1.2万元", "wan", 1200000),
    ("3亿元", "yuan", 30000000000),
    ("12元", "wan", 1200),
    ("(123.00)", "yuan", -12300),
    ("（123.00）", "yuan", -12300),
    ("１２３", "yuan", 12300),
    ("１，２３４．５", "yuan", 123450),
    ("¥12.5", "yuan", 1250),
    ("￥12.5", "yuan", 1250),
    ("-¥5", "yuan", -500),
    ("¥-5", "yuan", -500),
    ("-0.01", "yuan", -1),
    ("+7", "yuan", 700),
    ("1.500", "yuan", 150),
    ("12.3456", "wan", 123456 * 100),
    ("0.0000000001", "yi", 1),
    ("007", "yuan", 700),
]
MISSING = [None, "", "  ", "-", "—", "\u3000"]
BAD = [
    ("NaN", "amount-invalid"), ("nan", "amount-invalid"), ("inf", "amount-invalid"),
    ("-Infinity", "amount-invalid"), ("1e3", "amount-invalid"), ("1_000", "amount-invalid"),
    ("1.234,56", "amount-invalid"), ("1,23", "amount-invalid"), ("1,2345", "amount-invalid"),
    ("1 234", "amount-invalid"), ("1.2.3", "amount-invalid"), ("1,2O3.00", "amount-invalid"),
    ("abc", "amount-invalid"), ("(-5)", "amount-invalid"), ("--5", "amount-invalid"), ("()", "amount-invalid"),
    (".5", "amount-invalid"), ("5.", "amount-invalid"), ("١٢٣", "amount-invalid"), ("¥", "amount-invalid"),
    ("1.234", "amount-precision"), ("0.001", "amount-precision"), ("1.0000001万", "amount-precision"),
    ("1" * 17, "amount-too-large"),
]


def vector(values, unit="yuan"):
    out = parse_amounts(pl.DataFrame({"v": values}, schema={"v": pl.String}), "v", unit, "fen", "err")
    return out["fen"].to_list(), out["err"].to_list()


@pytest.mark.parametrize(("text", "unit", "fen"), GOOD)
def test_good(text, unit, fen):
    assert parse_amount(text, unit) == fen
    assert vector([text], unit) == ([fen], [None])


@pytest.mark.parametrize("text", MISSING)
def test_missing_is_not_zero(text):
    assert parse_amount(text) is None
    assert vector([text]) == ([None], [None])


@pytest.mark.parametrize(("text", "code"), BAD)
def test_refused(text, code):
    with pytest.raises(AmountError) as e:
        parse_amount(text)
    assert e.value.code == code
    assert vector([text]) == ([None], [code])


def test_unknown_unit():
    with pytest.raises(ValueError):
        parse_amount("1", "dollars")


def test_formatting():
    assert format_yuan(123456) == "1,234.56"
    assert format_yuan(-5) == "-0.05"
    assert format_wan(123456789) == "123.46"
    assert format_wan(123450000) == "123.45"
    assert format_wan(50) == "0.00"
    assert format_wan(5000) == "0.01"  # half up
    assert format_yi(119300000000) == "11.93"
    assert format_amount(123456, grouping=False) == "1234.56"
    assert format_yuan(None) == ""


ALPHABET = "0123456789,.-+()（）万亿元¥￥ １２３，．eEnNaIif_"
fen_values = st.integers(min_value=-(10**17), max_value=10**17)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=14), min_size=1, max_size=30), st.sampled_from(["yuan", "wan", "yi"]))
def test_vectorised_equals_scalar(texts, unit):
    expected_fen, expected_err = [], []
    for t in texts:
        try:
            expected_fen.append(parse_amount(t, unit))
            expected_err.append(None)
        except AmountError as e:
            expected_fen.append(None)
            expected_err.append(e.code)
    assert vector(texts, unit) == (expected_fen, expected_err)


@settings(max_examples=300, deadline=None)
@given(fen_values)
def test_round_trip_yuan(fen):
    assert parse_amount(format_yuan(fen)) == fen
    assert parse_amount(format_yuan(fen, grouping=False)) == fen
    assert vector([format_yuan(fen)]) == ([fen], [None])


@settings(max_examples=200, deadline=None)
@given(fen_values, st.sampled_from(["yuan", "wan", "yi"]))
def test_round_trip_exact_places(fen, unit):
    places = {"yuan": 2, "wan": 6, "yi": 10}[unit]
    text = format_amount(fen, unit, places)
    assert parse_amount(text, unit) == fen
    assert vector([text], unit) == ([fen], [None])


@settings(max_examples=200, deadline=None)
@given(fen_values)
def test_parentheses_and_full_width_negate(fen):
    plain = format_yuan(abs(fen))
    full = plain.translate(str.maketrans("0123456789,.", "０１２３４５６７８９，．"))
    assert parse_amount(f"({plain})") == -abs(fen)
    assert parse_amount(f"（{full}）") == -abs(fen)
