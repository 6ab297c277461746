"""Money in one place: the amount parser (scalar and vectorised) and the display formatters.

Amounts are stored as integer fen (1 元 = 100 fen; for other currencies, the minor unit).
``parse_amount`` is the exact reference; ``parse_amounts`` does the same work on a
polars string column for the import hot path, and the property tests keep the two identical.

Accepted: ``1234``, ``1,234.56``, ``1.2万``, ``3亿元``, ``¥12``, ``-5``, ``(123.00)`` and ``（123.00）``
as negatives, full-width digits and punctuation, surrounding spaces. Refused: ``NaN``, ``inf``,
``1e3``, ``1_000``, ``1.234,56`` and other ambiguous separators, more than two decimals once the
unit is applied (``1.2345`` 元; trailing zeros such as ``1.500`` are exact and allowed), and values
beyond 18 digits of fen. A lone dash (``-``, ``—``) or an empty cell is *missing*, not zero.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from ledger.amount_units import amount_unit

# Decimal places between one fen and one unit of each scale: 元 = 2, 万元 = 6, 亿元 = 10.
UNIT_EXPONENT = {"yuan": 2, "wan": 6, "yi": 10}
SUFFIX_UNIT = {"元": "yuan", "万": "wan", "万元": "wan", "亿": "yi", "亿元": "yi"}
MAX_FEN_DIGITS = 18  # stays inside a signed 64-bit integer

# Full-width and look-alike characters folded to ASCII before parsing.
_FOLD = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "，": ",", "．": ".", "（": "(", "）": ")", "－": "-", "−": "-", "＋": "+", "￥": "¥",
    "\u3000": " ", "\u00a0": " ",
}
_SPACE = " \t\r\n"
_MISSING = {"", "-", "—", "--", "——"}
_NUMBER = r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?"
_AMOUNT_RE = re.compile(r"^([-+]?)¥?([-+]?)" + _NUMBER + r"(万元|万|亿元|亿|元)?$")

ERRORS = {
    "amount-invalid": ("不是有效金额", "is not an amount"),
    "amount-precision": ("小数位数超过分", "has more than two decimals once the unit is applied"),
    "amount-too-large": ("金额过大", "is too large"),
}


class AmountError(ValueError):
    """A cell that is not an amount; ``code`` is one of ``ERRORS``."""

    def __init__(self, code: str, text: str):
        self.code = code
        self.text = text
        zh, en = ERRORS[code]
        super().__init__(f"{text!r} {en} ({code}; {zh})")


def _fold(text: str) -> str:
    return "".join(_FOLD.get(ch, ch) for ch in text).strip(_SPACE)


def parse_amount(text: str | None, unit: str = "yuan") -> int | None:
    """Parse one cell into integer fen; ``None`` when the cell is missing; ``AmountError`` otherwise.

    ``unit`` (yuan | wan | yi, or any spelling ``ledger.amount_units`` accepts) is the column's unit; a suffix in the cell (``万``, ``亿元``) overrides it.
    """
    if unit not in UNIT_EXPONENT:
        unit = amount_unit(unit)  # 万元, wan yuan, …; UnknownAmountUnit (a ValueError) otherwise
    if text is None:
        return None
    s = _fold(text)
    if s in _MISSING:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip(_SPACE)
    m = _AMOUNT_RE.match(s)
    if not m:
        raise AmountError("amount-invalid", text)
    sign1, sign2, whole, frac, suffix = m.groups()
    if (sign1 and sign2) or (negative and (sign1 or sign2)):
        raise AmountError("amount-invalid", text)
    if "-" in (sign1, sign2):
        negative = True
    exp = UNIT_EXPONENT[SUFFIX_UNIT[suffix]] if suffix else UNIT_EXPONENT[unit]
    frac = frac or ""
    if frac[exp:].strip("0"):
        raise AmountError("amount-precision", text)
    digits = whole.replace(",", "").lstrip("0") + frac[:exp].ljust(exp, "0")
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_FEN_DIGITS:
        raise AmountError("amount-too-large", text)
    fen = int(digits)
    return -fen if negative else fen


def parse_amounts(frame, source: str, unit: str = "yuan", out: str = "fen", err: str = "error"):
    """Vectorised ``parse_amount`` over the string column ``source`` of a polars (Lazy)Frame.

    Adds ``out`` (Int64 fen; null when missing or refused) and ``err`` (the refusal code; null when
    the cell parsed or was missing). Built as a chain of ``with_columns`` so every intermediate is
    computed once: one nested expression would repeat its subtrees and run a hundred times slower.
    """
    if unit not in UNIT_EXPONENT:
        unit = amount_unit(unit)  # 万元, wan yuan, …; UnknownAmountUnit (a ValueError) otherwise
    t = f"__amt_{out}_"
    c = lambda name: pl.col(t + name)  # noqa: E731 - short local alias keeps the chain readable
    s = pl.col(source).cast(pl.String).str.replace_many(list(_FOLD), list(_FOLD.values())).str.strip_chars(_SPACE)
    frame = frame.with_columns(s.alias(t + "s"))
    frame = frame.with_columns(
        (c("s").is_null() | c("s").is_in(list(_MISSING))).alias(t + "missing"),
        (c("s").str.starts_with("(") & c("s").str.ends_with(")")).alias(t + "paren"),
    )
    inner = pl.when(c("paren")).then(c("s").str.slice(1, c("s").str.len_chars() - 2).str.strip_chars(_SPACE))
    frame = frame.with_columns(inner.otherwise(c("s")).str.extract_groups(_AMOUNT_RE.pattern).alias(t + "g"))
    g = c("g").struct
    frame = frame.with_columns(
        g.field("1").alias(t + "s1"), g.field("2").alias(t + "s2"),
        g.field("3").str.replace_all(",", "", literal=True).str.strip_chars_start("0").alias(t + "whole"),
        g.field("4").fill_null("").alias(t + "frac"), g.field("5").alias(t + "suffix"),
    )
    frame = frame.with_columns(
        pl.when(c("suffix").is_in(["万", "万元"])).then(6)
        .when(c("suffix").is_in(["亿", "亿元"])).then(10)
        .when(c("suffix") == "元").then(2)
        .otherwise(UNIT_EXPONENT[unit]).alias(t + "exp"),
        (((c("s1") != "") & (c("s2") != "")) | (c("paren") & ((c("s1") != "") | (c("s2") != ""))))
        .fill_null(False).alias(t + "badsign"),
    )
    digits = pl.when(c("exp") == 2)
    excess = pl.when(c("exp") == 2)
    for i, e in enumerate((2, 6, 10)):
        kept = c("whole") + c("frac").str.slice(0, e).str.pad_end(e, "0")
        rest = c("frac").str.slice(e).str.strip_chars("0") != ""
        if i == 0:
            digits, excess = digits.then(kept), excess.then(rest)
        elif i == 1:
            digits, excess = digits.when(c("exp") == 6).then(kept), excess.when(c("exp") == 6).then(rest)
        else:
            digits, excess = digits.otherwise(kept), excess.otherwise(rest)
    frame = frame.with_columns(digits.str.strip_chars_start("0").alias(t + "digits"), excess.alias(t + "excess"))
    frame = frame.with_columns(
        pl.when(c("missing")).then(pl.lit(None, pl.String))
        .when(c("whole").is_null() | c("badsign")).then(pl.lit("amount-invalid"))
        .when(c("excess")).then(pl.lit("amount-precision"))
        .when(c("digits").str.len_chars() > MAX_FEN_DIGITS).then(pl.lit("amount-too-large"))
        .otherwise(pl.lit(None, pl.String)).alias(err)
    )
    value = pl.when(c("digits") == "").then(pl.lit("0")).otherwise(c("digits")).cast(pl.Int64, strict=False)
    negative = c("paren") | (c("s1") == "-") | (c("s2") == "-")
    frame = frame.with_columns(
        pl.when(c("missing") | pl.col(err).is_not_null()).then(pl.lit(None, pl.Int64))
        .when(negative).then(-value).otherwise(value).alias(out)
    )
    return frame.drop([n for n in frame.collect_schema().names() if n.startswith(t)])


def to_decimal(fen: int, unit: str = "yuan") -> Decimal:
    """The exact value of ``fen`` in ``unit`` (yuan | wan | yi)."""
    return Decimal(fen).scaleb(-UNIT_EXPONENT[unit])


def format_amount(fen: int | None, unit: str = "yuan", places: int = 2, grouping: bool = True) -> str:
    """``fen`` shown in ``unit`` with ``places`` decimals, rounded half up (四舍五入), e.g. ``1,234.57``."""
    if fen is None:
        return ""
    value = to_decimal(fen, unit).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f}" if grouping else f"{value:.{places}f}"


def format_yuan(fen: int | None, grouping: bool = True) -> str:
    """Exact 元 with two decimals: ``123456`` → ``1,234.56``."""
    return format_amount(fen, "yuan", 2, grouping)


def format_wan(fen: int | None, places: int = 2, grouping: bool = True) -> str:
    """万元 as published tables show them: ``123456789`` fen → ``123.46``."""
    return format_amount(fen, "wan", places, grouping)


def format_yi(fen: int | None, places: int = 2, grouping: bool = True) -> str:
    """亿元: ``119300000000`` fen → ``11.93``."""
    return format_amount(fen, "yi", places, grouping)


def _grouped(digits: pl.Expr) -> pl.Expr:
    """``"1234567"`` → ``"1,234,567"``: thousands separators on a string of digits."""
    return digits.str.reverse().str.extract_all(r"\d{1,3}").list.join(",").str.reverse()


def format_amount_expr(fen: pl.Expr, unit: str = "yuan", places: int = 2, grouping: bool = True) -> pl.Expr:
    """``format_amount`` over a polars integer column, exactly (integers only; null stays null).

    Rounded half away from zero like ``ROUND_HALF_UP``; a negative amount that rounds to zero keeps its
    sign (``-0.00``), as ``Decimal`` does.
    """
    shift = UNIT_EXPONENT[unit] - places
    mag = fen.abs()
    if shift > 0:
        d = 10**shift
        mag = (mag * 2 + d) // (2 * d)
    elif shift < 0:
        mag = mag * 10**-shift
    whole = (mag // 10**places).cast(pl.String)
    whole = _grouped(whole) if grouping else whole
    text = whole if places == 0 else pl.concat_str(whole, pl.lit("."), (mag % 10**places).cast(pl.String).str.zfill(places))
    return pl.when(fen.is_null()).then(None).when(fen < 0).then(pl.lit("-") + text).otherwise(text)
