"""Response shapes as msgspec structs, derived from the ledger's dataset descriptions.

Deriving them keeps the OpenAPI schema, the JSON and the CSV columns in step: a column added to
a dataset in ``ledger/read/queries.py`` shows up in all three.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from ledger.read.aggregate import DIMENSIONS, MEASURES
from ledger.read.queries import DATASETS, Dataset

_TYPES: dict[str, Any] = {
    "integer": int | None,
    "number": str | None,  # exact decimals travel as strings in JSON ("-5.00")
    "string": str | None,
    "date": dt.date | None,
    "datetime": dt.datetime | None,
    "object": Any,  # JSON documents whose shape belongs to the rule that wrote them
    "array": Any,
}


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.replace("-", "_").split("_"))


def row_struct(ds: Dataset) -> type[msgspec.Struct]:
    return msgspec.defstruct(f"{_camel(ds.name)}Row", [(n, _TYPES[t]) for n, t, _ in ds.output_fields()], kw_only=True)


class CitedCheckpoint(msgspec.Struct, kw_only=True):
    """The signed checkpoint an ``as_of`` answer is as of (``docs/verify_log.py checkpoint`` checks it)."""

    origin: str
    size: int
    root_hash: str
    time: str
    key_id: str
    public_key: str
    signature: str
    signed_text: str


def page_struct(ds: Dataset, row: type[msgspec.Struct]) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        f"{_camel(ds.name)}Page",
        [
            ("data", list[row]),
            ("next_cursor", str | None),
            ("next", str | None),
            ("total", int | None),
            ("total_exact", bool | None),
            ("limit", int),
            ("sort", str),
            ("license", str),
            ("source", str),
            ("checkpoint", CitedCheckpoint | None, None),  # only when read as_of a checkpoint
        ],
        kw_only=True,
    )


ROWS = {name: row_struct(ds) for name, ds in DATASETS.items()}
PAGES = {name: page_struct(ds, ROWS[name]) for name, ds in DATASETS.items()}

# amounts are null where a cell (or the summary) holds several currencies: see by_currency
_measure_fields: list[tuple[str, Any]] = []
for _m in MEASURES:
    _measure_fields += [(f"{_m}_fen", int | None), (f"{_m}_yuan", str | None), (f"{_m}_count", int)]
AggregateMeasures = msgspec.defstruct("AggregateMeasures", _measure_fields, kw_only=True)
_by_currency = ("by_currency", dict[str, AggregateMeasures] | None, None)  # type: ignore[valid-type]

AggregateCell = msgspec.defstruct(
    "AggregateCell", [(d, int | str | None, None) for d in DIMENSIONS] + _measure_fields + [_by_currency],
    kw_only=True,
)
AggregateSummary = msgspec.defstruct("AggregateSummary", [("num_cells", int), *_measure_fields, _by_currency],
                                     kw_only=True)


class Coverage(msgspec.Struct, kw_only=True):
    """How many of the expected units reported actual spending for a year (missing is not zero)."""

    fiscal_year: int
    reported: int
    expected: int
    missing: int
    complete: bool
    missing_units: list[str]  # codes, the first 100
    basis: str  # register (the unit register) | reporters (units that ever reported)


class AggregateResult(msgspec.Struct, kw_only=True):
    drilldown: list[str]
    cells: list[AggregateCell]  # type: ignore[valid-type]
    summary: AggregateSummary  # type: ignore[valid-type]
    coverage: list[Coverage]
    license: str
    source: str
    checkpoint: CitedCheckpoint | None = None  # only when read as_of a checkpoint


class Category(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    groups: list[str]
    parent: str | None = None  # the published tree: 合计 ⊃ 公务用车购置及运行维护费 ⊃ 购置费, …


class CategoryGroup(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    categories: list[str]


class Review(msgspec.Struct):
    id: int
    from_state: str
    to_state: str
    reviewer: str | None
    note: str | None
    restricted: bool
    created_at: dt.datetime | None
    published_at: dt.datetime | None


FlagRow = ROWS["flags"]


class FlagDetail(msgspec.Struct, kw_only=True):
    flag: FlagRow  # type: ignore[valid-type]
    reviews: list[Review]
    checkpoint: dict[str, Any] | None = None  # only with as_of: the signed checkpoint the answer is as of


class DownloadItem(msgspec.Struct):
    name: str
    title: str
    description: str
    url: str
    media_type: str


class DownloadList(msgspec.Struct, kw_only=True):
    datasets: list[DownloadItem]
    datapackage: str
    license: str
    checkpoint: dict[str, Any] | None = None  # only with as_of


class TokenCreated(msgspec.Struct):
    id: int
    name: str
    role: str
    token: str


class Health(msgspec.Struct):
    ok: bool
    version: str
    data_version: str

