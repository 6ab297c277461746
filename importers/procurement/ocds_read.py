"""OCDS 1.1 as publishers ship it, read into one procurement row per contracting process (ocid).

``read_ocds(path)`` returns an ``OcdsResult``: a polars frame with one row per ``ocid`` (columns
named as ``procurement_record``'s, plus ``unit_code`` and ``unit_name``), the problems found, the
layout detected and counts. It writes nothing; ``importers.procurement.ocds`` loads the frame.

- Layouts: release package, record package, bare record, a JSON array of packages (or releases),
  JSON Lines of releases, in any mix. Detected from the first bytes (``ocds_json``).
- Identity is the ocid: every release of one ocid, in whatever document of the file, is compiled
  into one row (``ocds_compile``); a record's ``compiledRelease`` is used when it has one.
- A release without ``ocid`` or ``id`` gets a derived one (``ocid-…`` / ``release-…``, a digest of
  its content) and a warning; a release without a date sorts first and gives no year.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from importers.problems import Problem
from importers.procurement.ocds_compile import derived_id, merged, problem, row_of, timestamp
from importers.procurement.ocds_compile import text_of as _text
from importers.procurement.ocds_json import JsonRefused, not_ocds_message, read_documents, releases_of

SCHEMA = {
    "source_row": pl.Int32, "ocid": pl.String, "release_id": pl.String,
    "release_date": pl.Datetime("us", "UTC"), "project_code": pl.String,
    "unit_code": pl.String, "unit_name": pl.String, "fiscal_year": pl.Int32, "title": pl.String,
    "method": pl.String, "ocds_method": pl.String, "method_raw": pl.String,
    "budget_fen": pl.Int64, "contract_fen": pl.Int64, "currency": pl.String,
    "supplier_name": pl.String, "supplier_id": pl.String,
    "tender_date": pl.Date, "award_date": pl.Date, "contract_date": pl.Date, "compiled_json": pl.String,
}
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass
class OcdsResult:
    frame: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    layout: str | None = None  # release_package | record_package | record | array | jsonl | release
    releases_read: int = 0
    documents_read: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def read_ocds(path: str | Path, max_depth: int | None = None) -> OcdsResult:
    """Read an OCDS file into one compiled procurement row per ocid, with every problem found."""
    path = Path(path)
    result = OcdsResult(frame=pl.DataFrame(schema=SCHEMA))
    # Millions of small dicts that all live until the end: the cyclic GC would rescan them again and
    # again (it doubled the time on 100,000 releases) and can find no cycles in parsed JSON anyway.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(path, max_depth, path.name, result, {})
    finally:
        if was_enabled:
            gc.enable()


def _read(path: Path, max_depth, name: str, result: OcdsResult, releases: dict) -> OcdsResult:
    seen: set[tuple[str, str, str]] = set()
    kinds: set[str] = set()
    try:
        layout, documents = read_documents(path, max_depth)
        for doc in documents:
            result.documents_read += 1
            kind, found = releases_of(doc)
            if kind is None:
                result.problems.append(problem(name, doc.row, None, None, "ocds-not-ocds", not_ocds_message(doc)))
                continue
            kinds.add(kind)
            for where, release in found:
                result.releases_read += 1
                _collect(name, doc.row, where, release, releases, seen, result.problems)
                if isinstance(release, dict):
                    release.clear()  # what _slim did not keep (documents, items, bids …) is freed now
    except JsonRefused as exc:
        result.problems.append(problem(name, None, exc.where, exc.value, exc.code, str(exc)))
        return result
    result.layout = {"array": "array", "jsonl": "jsonl"}.get(layout) or (kinds.pop() if len(kinds) == 1 else "mixed")
    if result.documents_read == 0 or (not releases and not result.problems):
        result.problems.append(problem(name, None, None, None, "ocds-not-ocds", "no releases or records found"))
    rows = []
    for ocid, items in releases.items():
        items.sort(key=lambda t: (t[0] or _EARLIEST, t[1]))
        compiled = items[0][2]
        for _, _, release in items[1:]:
            compiled = merged(compiled, release)
        when, _, last = items[-1]
        row = row_of(name, ocid, when, last, compiled, result.problems)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: r["source_row"])
    result.frame = pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)
    return result


def _collect(name, row, where, release, releases, seen, problems) -> None:
    if not isinstance(release, dict):
        problems.append(problem(name, row, where, None, "ocds-release-invalid"))
        return
    at = (lambda p: f"{where}.{p}".lstrip(".")) if where else (lambda p: p)
    ocid, rid, date_text = release.get("ocid"), release.get("id"), release.get("date")
    if isinstance(ocid, str) and ocid.strip():
        ocid = ocid.strip()
    elif ocid is None and {"tender", "buyer", "awards", "contracts"} & release.keys():
        ocid = derived_id("ocid", release)
        problems.append(problem(name, row, at("ocid"), None, "ocds-id-derived", ocid, severity="warning"))
    else:
        problems.append(problem(name, row, at("ocid"), _text(ocid), "ocds-ocid-missing"))
        return
    if rid is None or (isinstance(rid, str) and not rid.strip()):
        rid = derived_id("release", release)
        problems.append(problem(name, row, at("id"), None, "ocds-id-derived", rid, severity="warning"))
    if date_text is None or (isinstance(date_text, str) and not date_text.strip()):
        when = None  # planning-only records often have none: the year stays unknown
        problems.append(problem(name, row, at("date"), None, "ocds-date-missing", ocid, severity="warning"))
    else:
        when = timestamp(date_text)
        if when is None:
            problems.append(problem(name, row, at("date"), _text(date_text), "ocds-date-invalid"))
            return
    key = (ocid, str(rid), when.isoformat() if when else "")
    if key in seen:
        return  # the same release twice in one file (packages overlap): one copy is enough
    seen.add(key)
    order = len(seen)
    slim = _slim(release) | {"id": rid, "_where": where, "_row": row, "_order": order}
    releases.setdefault(ocid, []).append((when, order, slim))


# What a release keeps while the file is read: only what becomes a row, so a big feed fits in memory.
_KEEP = {"ocid": None, "id": None, "date": None, "tag": None, "buyer": None,
         "parties": {"id", "name", "roles", "identifier"},
         "tender": {"id", "title", "description", "value", "procurementMethod", "procurementMethodDetails",
                    "tenderPeriod", "datePublished", "procuringEntity", "status"},
         "awards": {"id", "status", "date", "value", "suppliers"},
         "contracts": {"id", "awardID", "status", "dateSigned", "value"}}


def _slim(release: dict) -> dict:
    out = {}
    for key, fields in _KEEP.items():
        if key not in release:
            continue
        value = release[key]
        if fields is None or value is None:
            out[key] = value
        elif isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k in fields}
        elif isinstance(value, list):
            out[key] = [{k: v for k, v in x.items() if k in fields} if isinstance(x, dict) else x for x in value]
        else:
            out[key] = value
    return out
