"""JSON, CSV and NDJSON from the same rows.

CSV is UTF-8 with a BOM (so Excel shows Chinese) and neutralises formula injection as OWASP
describes, for text cells only: a payee ``=HYPERLINK("x")`` becomes ``'=HYPERLINK("x")``,
while an amount of ``-5.00`` stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from litestar import Request

from ledger.read.queries import QueryError

FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_json = msgspec.json.Encoder()


def negotiate(request: Request, format: str | None) -> str:
    """``?format=`` wins; else the Accept header; else JSON."""
    if format:
        if format not in FORMATS:
            raise QueryError("format", f"use one of {', '.join(FORMATS)}")
        return format
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    if "ndjson" in accept or "jsonlines" in accept:
        return "ndjson"
    return "json"


def safe_text(value: str) -> str:
    """OWASP CSV injection: prefix a cell that a spreadsheet would run as a formula with a quote."""
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any, is_text: bool) -> Any:
    if value is None:
        return ""
    if is_text:
        return safe_text(value if isinstance(value, str) else _json.encode(value).decode())
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return safe_text(_json.encode(value).decode())
    return value


def csv_chunks(fields: list[tuple[str, str]], chunks: Iterable[Iterable[tuple]]) -> Iterator[bytes]:
    """CSV bytes: a BOM and header first, then one piece per chunk of row tuples."""
    text = [t in ("string", "object", "array") for _, t in fields]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([name for name, _ in fields])
    yield (BOM + buf.getvalue()).encode()
    for chunk in chunks:
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cell(v, t) for v, t in zip(row, text, strict=True)] for row in chunk)
        yield buf.getvalue().encode()


def ndjson_chunks(names: list[str], chunks: Iterable[Iterable[tuple]]) -> Iterator[bytes]:
    for chunk in chunks:
        yield b"".join(_json.encode(dict(zip(names, row, strict=True))) + b"\n" for row in chunk)


def rows_as_tuples(rows: list[dict[str, Any]], names: list[str]) -> list[tuple]:
    return [tuple(r.get(n) for n in names) for r in rows]
