"""The vocabulary of the read path: filters, dataset descriptions, errors, money formatting.

See ``ledger.read.queries`` for the reads themselves and ``ledger.read.datasets`` for the datasets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement


class QueryError(ValueError):
    """A request the read path cannot answer, naming the parameter at fault."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class NotFound(LookupError):
    """The thing asked for does not exist."""


def yuan(fen: int | None) -> str | None:
    """Integer fen as an exact decimal yuan string (``-500`` → ``"-5.00"``)."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


INT64_MAX = 2**63 - 1


def bounded(parameter: str, value: int) -> int:
    """``value`` if a 64-bit column can hold it, else a ``QueryError`` naming the parameter."""
    if not -INT64_MAX <= value <= INT64_MAX:
        raise QueryError(parameter, f"{value} is out of range")
    return value


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp in UTC: SQLite hands back naive UTC, PostgreSQL the session's zone."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_yuan(parameter: str, text: str) -> int:
    """A yuan amount from a query string (``"1234.5"``) as exact integer fen."""
    try:
        value = Decimal(text.strip()) * 100
    except (InvalidOperation, AttributeError):
        raise QueryError(parameter, f"{text!r} is not an amount in yuan (e.g. 1234.56)") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise QueryError(parameter, f"{text!r} has more than two decimal places or is not finite")
    return bounded(parameter, int(value))


@dataclass
class Filters:
    """Everything a list or download can be filtered by; ``None`` or empty means no filter."""

    unit: list[str] = field(default_factory=list)  # unit codes
    unit_level: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)  # the units' region (区域)
    year: list[int] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    category: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    method: list[str] = field(default_factory=list)
    ocds_method: list[str] = field(default_factory=list)
    supplier: list[str] = field(default_factory=list)  # supplier name or credit code
    payee: list[str] = field(default_factory=list)
    amount_min: int | None = None  # fen
    amount_max: int | None = None  # fen
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    updated_since: dt.datetime | None = None
    kind: list[str] = field(default_factory=list)
    batch: list[int] = field(default_factory=list)
    level: list[str] = field(default_factory=list)  # units: their own level
    parent: list[str] = field(default_factory=list)  # units: parent unit code
    rule: list[str] = field(default_factory=list)  # flags: rule code
    state: list[str] = field(default_factory=list)  # flags: review state
    target: list[str] = field(default_factory=list)  # target results: target id
    status: list[str] = field(default_factory=list)  # target results: met | missed | insufficient_data | no_data

    def given(self) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) not in (None, [], ())}


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any
    type: str  # Frictionless type: integer | number | string | date | datetime
    description: str = ""
    money: bool = False  # integer fen; rows also carry ``<name minus _fen>_yuan``
    json: bool = False  # stored as JSON text; lists and JSON output parse it


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    base: Callable[[], Any]  # a select_from target
    id_expr: Any
    always: Callable[[], ColumnElement] | None  # a condition every read applies (live rows only)
    filters: dict[str, Callable[[Any], ColumnElement]]
    sorts: dict[str, Any]
    rollup_measure: str | None = None  # total counts come from the rollup when filters allow
    public: bool = True  # listed in downloads and readable without a token
    # (dataset, filters, descending) → a condition every match meets that lets an id-ordered page start at
    # its first match (PostgreSQL walks the primary key from the table's start otherwise); None: none
    page_bound: Callable[[Any, Any, bool], ColumnElement | None] | None = None

    def output_fields(self) -> list[tuple[str, str, str]]:
        """``(name, frictionless type, description)`` of every output column, yuan companions included."""
        out = []
        for c in self.columns:
            out.append((c.name, c.type, c.description))
            if c.money:
                out.append((c.name.removesuffix("_fen") + "_yuan", "number", f"{c.description} in yuan (exact)"))
        return out


def is_in(col):
    """A filter that keeps rows whose ``col`` is one of the given values."""
    return lambda values: col.in_(values)
