"""Amount units as a clerk types them: 元, 万元, 亿元, yuan, wan, yi and the English words.

Every place that takes a unit (``sunshine import --amount-unit``, ``POST /api/v1/imports?amount_unit=``,
a mapping's ``[options] amount_unit``, a header such as ``金额(万元)``) goes through ``amount_unit``, which
returns the canonical code (``yuan`` | ``wan`` | ``yi``) or raises ``UnknownAmountUnit``.
Matching ignores case, spaces, ``_`` and ``-``, full-width forms and a leading 人民币 / RMB / CNY.
"""

from __future__ import annotations

import unicodedata

CODES = ("yuan", "wan", "yi")
NAMES_ZH = {"yuan": "元", "wan": "万元", "yi": "亿元"}

_SPELLINGS = {
    "yuan": ["元", "yuan", "yuan renminbi", "cny", "rmb", "¥", "1 yuan"],
    "wan": ["万元", "万", "wan", "wan yuan", "ten thousand yuan", "ten thousand",
            "10 thousand yuan", "10,000 yuan", "10000 yuan", "10k yuan", "10k", "10,000", "10000",
            "tens of thousands of yuan", "in 10,000 yuan", "in ten thousand yuan"],
    "yi": ["亿元", "亿", "yi", "yi yuan", "hundred million yuan", "hundred million", "one hundred million yuan",
           "100 million yuan", "100 million", "100m yuan", "100,000,000 yuan", "100000000 yuan", "100,000,000",
           "100000000", "hundreds of millions of yuan", "in 100 million yuan"],
}
_PREFIXES = ("人民币", "rmb", "cny")


def _key(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = s.strip("()（）[]【】")
    return "".join(s.replace("_", " ").replace("-", " ").split())


_TABLE = {_key(s): code for code, spellings in _SPELLINGS.items() for s in spellings}


class UnknownAmountUnit(ValueError):
    """Not a spelling of 元, 万元 or 亿元; the message names the accepted ones in both languages."""

    def __init__(self, text: object):
        self.text = text
        super().__init__(f"unknown amount unit {text!r}: use 元, 万元 or 亿元 (yuan, wan, yi) / "
                         f"金额单位“{text}”无法识别，请用 元、万元 或 亿元")


def amount_unit(text: object) -> str:
    """The canonical unit code (``yuan`` | ``wan`` | ``yi``) for any accepted spelling."""
    if not isinstance(text, str):
        raise UnknownAmountUnit(text)
    key = _key(text)
    if key in _TABLE:
        return _TABLE[key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in _TABLE:
            return _TABLE[key[len(prefix):]]
    raise UnknownAmountUnit(text)


def amount_unit_or_none(text: object) -> str | None:
    """``amount_unit`` or None for a value that names no unit (blank or unknown)."""
    try:
        return amount_unit(text)
    except UnknownAmountUnit:
        return None


def accepted_spellings() -> list[str]:
    """Every spelling, for help texts and tests."""
    return [s for spellings in _SPELLINGS.values() for s in spellings]
