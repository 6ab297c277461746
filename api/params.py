"""Query parameters shared by the list, download and aggregate endpoints, turned into ``Filters``.

Repeated parameters and comma-separated values both work: ``?year=2022&year=2023`` or
``?year=2022,2023``. Amounts are yuan (``amount_min=1000.50``), converted exactly to fen.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar.openapi.spec import Example
from litestar.params import QueryParameter

from ledger.read.queries import Filters, QueryError, parse_yuan


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


INT32_MAX = 2**31 - 1


def _ints(name: str, values: list[str] | None) -> list[int]:
    out = []
    for v in _split(values):
        try:
            n = int(v)
        except ValueError:
            raise QueryError(name, f"{v!r} is not a whole number") from None
        if not 0 <= n <= INT32_MAX:  # years and batch ids are 32-bit columns: PostgreSQL would raise, not match
            raise QueryError(name, f"{n} is out of range")
        out.append(n)
    return out


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# The cuts every dataset and the aggregate share; the aggregate takes only these.
UnitQ = Annotated[list[str] | None, QueryParameter(description="Unit code(s) (单位编码)", examples=[Example(summary="example", value=["440000001"])])]
UnitLevelQ = Annotated[list[str] | None, QueryParameter(description="Unit level(s)")]
RegionQ = Annotated[list[str] | None, QueryParameter(description="Region(s) of the units (区域), e.g. 东城区")]
YearQ = Annotated[list[str] | None, QueryParameter(description="Fiscal year(s), e.g. 2023 or 2022,2023", examples=[Example(summary="example", value=["2023"])])]
YearFromQ = Annotated[int | None, QueryParameter(description="First fiscal year", ge=1900, le=2200)]
YearToQ = Annotated[int | None, QueryParameter(description="Last fiscal year", ge=1900, le=2200)]
CategoryQ = Annotated[list[str] | None, QueryParameter(description="Category code(s), e.g. reception", examples=[Example(summary="example", value=["reception"])])]
# a tree size, or an ISO date with an optional time and offset (the calendar is checked when parsed: 400)
AS_OF_PATTERN = r"^([0-9]{1,18}|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?)$"
AsOfQ = Annotated[str | None, QueryParameter(
    description="Answer as of a signed checkpoint of the transparency log: its tree size (e.g. 12) or a date / "
    "datetime (2024-03-01, 2024-03-01T08:00:00+08:00: the latest checkpoint signed at or before it; a bare date is "
    "the end of that day, UTC). Corrections published after it are not applied; the answer carries the checkpoint "
    "(body field checkpoint, headers X-Checkpoint-Size and X-Checkpoint-Root). Unknown size: 404.",
    max_length=40, schema_extra={"pattern": AS_OF_PATTERN},  # documented; ledger.read.asof refuses in the catalogue's words
    examples=[Example(summary="a tree size", value="12"), Example(summary="a date", value="2024-03-01")])]
GroupQ = Annotated[list[str] | None, QueryParameter(description="Category group(s), e.g. three_public, four_fees", examples=[Example(summary="example", value=["three_public"])])]


def filters(
    unit: UnitQ = None,
    unit_level: UnitLevelQ = None,
    region: RegionQ = None,
    year: YearQ = None,
    year_from: YearFromQ = None,
    year_to: YearToQ = None,
    category: CategoryQ = None,
    group: GroupQ = None,
    stage: Annotated[list[str] | None, QueryParameter(description="Budget stage: original or adjusted")] = None,
    method: Annotated[list[str] | None, QueryParameter(description="Procurement method, e.g. single_source", examples=[Example(summary="example", value=["single_source"])])] = None,
    ocds_method: Annotated[list[str] | None, QueryParameter(description="OCDS method: open, selective, limited, direct")] = None,
    supplier: Annotated[list[str] | None, QueryParameter(description="Supplier name or credit code (payee for expenses)")] = None,
    payee: Annotated[list[str] | None, QueryParameter(description="Payee (收款方)")] = None,
    amount_min: Annotated[str | None, QueryParameter(description="Smallest amount in yuan, e.g. 1000.50", examples=[Example(summary="example", value="1000.50")])] = None,
    amount_max: Annotated[str | None, QueryParameter(description="Largest amount in yuan")] = None,
    date_from: Annotated[dt.date | None, QueryParameter(description="Earliest date (YYYY-MM-DD)")] = None,
    date_to: Annotated[dt.date | None, QueryParameter(description="Latest date (YYYY-MM-DD)")] = None,
    updated_since: Annotated[
        dt.datetime | None, QueryParameter(description="Only rows published at or after this time (ISO 8601), for incremental sync")
    ] = None,
    kind: Annotated[list[str] | None, QueryParameter(description="Import batch kind")] = None,
    batch: Annotated[list[str] | None, QueryParameter(description="Import batch id(s)")] = None,
    level: Annotated[list[str] | None, QueryParameter(description="Units: level")] = None,
    parent: Annotated[list[str] | None, QueryParameter(description="Units: parent unit code")] = None,
    rule: Annotated[list[str] | None, QueryParameter(description="Flags: rule code, e.g. budget_overrun")] = None,
    flag_state: Annotated[list[str] | None, QueryParameter(name="state", description="Flags: review state")] = None,
    target: Annotated[list[str] | None, QueryParameter(description="Target results: target id")] = None,
    status: Annotated[list[str] | None, QueryParameter(description="Target results: met, missed, insufficient_data or no_data")] = None,
) -> Filters:
    return Filters(
        unit=_split(unit), unit_level=_split(unit_level), region=_split(region), year=_ints("year", year), year_from=year_from,
        year_to=year_to, category=_split(category), group=_split(group), stage=_split(stage), method=_split(method),
        ocds_method=_split(ocds_method), supplier=_split(supplier), payee=_split(payee),
        amount_min=None if amount_min is None else parse_yuan("amount_min", amount_min),
        amount_max=None if amount_max is None else parse_yuan("amount_max", amount_max),
        date_from=date_from, date_to=date_to, updated_since=_utc(updated_since), kind=_split(kind),
        batch=_ints("batch", batch), level=_split(level), parent=_split(parent), rule=_split(rule),
        state=_split(flag_state), target=_split(target), status=_split(status),
    )


def aggregate_cuts(
    unit: UnitQ = None, unit_level: UnitLevelQ = None, region: RegionQ = None, year: YearQ = None,
    year_from: YearFromQ = None, year_to: YearToQ = None, category: CategoryQ = None, group: GroupQ = None,
) -> Filters:
    """The cuts ``/aggregate`` accepts: the rollup's dimensions, nothing a row list alone can filter by."""
    return Filters(unit=_split(unit), unit_level=_split(unit_level), region=_split(region), year=_ints("year", year),
                   year_from=year_from, year_to=year_to, category=_split(category), group=_split(group))
