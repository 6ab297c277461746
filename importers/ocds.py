"""OCDS 1.1 as publishers ship it, read into procurement rows.

``read_ocds(path)`` returns an ``OcdsResult``: a polars frame with one row per ``ocid`` (columns
named as ``procurement_record``'s, plus ``unit_code`` and ``unit_name``), the problems found, the
layout detected and counts. It writes nothing; the import pipeline loads the frame.

- Layouts: release package, record package, bare record, a JSON array of packages (or releases),
  JSON Lines of releases. Detected from the first bytes (``importers.ocds_json``).
- Releases are compiled per ``ocid`` in date order with OCDS merge rules (objects merged, arrays of
  objects with ``id`` merged by id, other values replaced): the latest date wins. A record brings its
  embedded releases, or its ``compiledRelease`` when it only links to them.
- buyer → unit: code from ``buyer.id`` (else the buyer party's identifier, else procuringEntity),
  name from ``buyer.name``. ``tender.value`` → budget; contracts (all but cancelled ones) → contract
  amount, or the active awards when there is no contract value. ``procurementMethod`` → method;
  a Chinese method name in ``procurementMethodDetails`` is more precise and wins; a value outside
  the codelist is kept verbatim in ``method_raw`` and mapped to ``other``.
- Amounts keep their currency (upper-cased). An empty-string amount is missing, not zero. A release
  whose budget and contract are in different currencies is refused, so no row mixes them.
- Fiscal year: year of contract signature, else award date, else tender start, else release date.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from importers.ocds_json import JsonRefused, not_ocds_message, read_documents, releases_of, sniff
from importers.problems import Problem
from ledger.money import AmountError, parse_amount

# "limited" covers 竞争性谈判, 竞争性磋商 and 询价 alike, so alone it says too little: other (as importers.sheets.cells)
OCDS_METHODS = {"open": "open_tender", "selective": "invited_tender", "limited": "other", "direct": "single_source"}
CHINESE_METHODS = {"公开招标": "open_tender", "邀请招标": "invited_tender", "竞争性谈判": "competitive_negotiation",
                   "竞争性磋商": "competitive_consultation", "单一来源": "single_source", "询价": "rfq"}
DEAD_CONTRACT = {"cancelled"}
LIVE_AWARD = {"active", "", None}

SCHEMA = {
    "source_row": pl.Int32, "ocid": pl.String, "release_id": pl.String,
    "release_date": pl.Datetime("us", "UTC"), "project_code": pl.String,
    "unit_code": pl.String, "unit_name": pl.String, "fiscal_year": pl.Int32, "title": pl.String,
    "method": pl.String, "ocds_method": pl.String, "method_raw": pl.String,
    "budget_fen": pl.Int64, "contract_fen": pl.Int64, "currency": pl.String,
    "supplier_name": pl.String, "supplier_id": pl.String,
    "tender_date": pl.Date, "award_date": pl.Date, "contract_date": pl.Date,
}
# Messages for the codes only this reader raises are in the catalogue (ledger/i18n, problem.ocds-*).
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _problem(file, row, column, value, code, detail=None, severity="error") -> Problem:
    return Problem(file, None, row, column, None if value is None else str(value), code, severity, detail)


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
    name = path.name
    result = OcdsResult(frame=pl.DataFrame(schema=SCHEMA))
    releases: dict[str, list[tuple[dt.datetime, int, dict]]] = {}
    # Millions of small dicts that all live until the end: the cyclic GC would rescan them again and
    # again (it doubled the time on 100,000 releases) and can find no cycles in parsed JSON anyway.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(path, max_depth, name, result, releases)
    finally:
        if was_enabled:
            gc.enable()


def _read(path: Path, max_depth, name: str, result: OcdsResult, releases: dict) -> OcdsResult:
    seen: set[tuple[str, str]] = set()
    kinds: set[str] = set()
    try:
        layout, documents = read_documents(path, max_depth)
        for doc in documents:
            result.documents_read += 1
            kind, found = releases_of(doc)
            if kind is None:
                result.problems.append(_problem(name, doc.row, None, None, "ocds-not-ocds", not_ocds_message(doc)))
                continue
            kinds.add(kind)
            for where, release in found:
                result.releases_read += 1
                _collect(name, doc.row, where, release, releases, seen, result.problems)
                if isinstance(release, dict):
                    release.clear()  # what _slim did not keep (documents, items, bids …) is freed now
    except JsonRefused as exc:
        result.problems.append(_problem(name, None, exc.where, exc.value, exc.code, str(exc)))
        return result
    result.layout = {"array": "array", "jsonl": "jsonl"}.get(layout) or (kinds.pop() if len(kinds) == 1 else "mixed")
    if result.documents_read == 0 or (not releases and not result.problems):
        result.problems.append(_problem(name, None, None, None, "ocds-not-ocds", "no releases or records found"))
    rows = []
    for ocid, items in releases.items():
        items.sort(key=lambda t: (t[0], t[1]))
        compiled = items[0][2]
        for _, _, release in items[1:]:
            compiled = _merged(compiled, release)
        row = _row(name, ocid, items[-1], compiled, result.problems)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: r["source_row"])
    result.frame = pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)
    return result


def import_file(engine, path: str | Path, options, read=None):
    """Import an OCDS file as one batch (``sunshine import ocds FILE``): read, then the shared pipeline.

    A release already stored (same ``release_id`` and ``release_date``) is skipped by the pipeline,
    so re-importing a feed, or a package that overlaps an earlier one, adds nothing.
    """
    from importers.pipeline import FileMeta, Result, base_report, load_procurement
    from importers.problems import Problems
    from importers.reading import ReadOptions, fiscal_start
    from importers.sheets.safety import Limits, Refused, check_size
    from ledger.rules.fiscal import fiscal_year_expr

    path = Path(path)
    problems = Problems(path.name)
    meta = FileMeta(path, path.name, "ocds", "")
    limits = getattr(read, "limits", None) or Limits.from_env()
    try:
        check_size(path, limits.max_text_bytes)
        try:
            layout = sniff(path)
        except JsonRefused:
            layout = None  # read_ocds reports it
        if layout != "jsonl":  # one JSON document is held whole while it is read: the smaller cap
            check_size(path, limits.max_json_bytes)
        meta = FileMeta.of(path, "ocds", encoding="utf-8")
        result = read_ocds(path, max_depth=limits.max_json_depth)
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, {}, problems) | {"status": "refused"})
    problems.extend(result.problems)
    try:
        meta.fiscal_start = fiscal_start(read or ReadOptions())
    except Refused as e:
        problems.add(e.code, value=e.value, detail=e.detail)
        return Result("refused", None, base_report(meta, {}, problems) | {"status": "refused"})
    if meta.fiscal_start != 1 and result.frame.height:
        # the year of contract signature, else award, else tender start, else the release date, as read
        when = pl.coalesce("contract_date", "award_date", "tender_date", pl.col("release_date").dt.date())
        result.frame = result.frame.with_columns(fiscal_year_expr(when, meta.fiscal_start).alias("fiscal_year"))
    frame, newer = _against_ledger(engine, result.frame, problems)
    stats = {"read": result.releases_read, "detail": frame.height}
    ocds = {"ocds": {"layout": result.layout, "documents": result.documents_read,
                            "releases": result.releases_read, "compiled": result.frame.height,
                            "totals_by_currency": totals_by_currency(result.frame)}}
    if frame.height == 0 and newer and not problems.count("error"):
        # every release in the file is older than what the ledger holds: nothing to load, nothing wrong
        return Result("unchanged", min(newer), base_report(meta, stats, problems) | {"status": "unchanged"} | ocds)
    out = load_procurement(engine, frame, problems, meta, options, stats)
    out.report |= ocds
    return out


def _against_ledger(engine, frame: pl.DataFrame, problems) -> tuple[pl.DataFrame, set[int]]:
    """Latest date wins across imports too: a compiled release older than the one stored is held back.

    A newer one is loaded and the report names the batch holding the older row, which stays (records
    are never rewritten) until that batch is superseded with ``--supersedes``.
    """
    from sqlalchemy import select

    from ledger.store.batches import live
    from ledger.store.db import reading
    from ledger.store.models import ProcurementRecord as P

    if frame.height == 0:
        return frame, set()
    stored: dict[str, list[tuple]] = {}
    ocids = frame["ocid"].unique().to_list()
    with reading(engine) as conn:
        for i in range(0, len(ocids), 5000):
            q = select(P.ocid, P.release_id, P.release_date, P.batch_id).where(
                P.ocid.in_(ocids[i:i + 5000]), live(P.batch_id))
            for ocid, rid, when, batch in conn.execute(q):
                when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
                stored.setdefault(ocid, []).append((rid, when, batch))
    stale, batches = [], set()
    for row in frame.filter(pl.col("ocid").is_in(list(stored))).iter_rows(named=True):
        others = [s for s in stored[row["ocid"]] if (s[0], s[1]) != (row["release_id"], row["release_date"])]
        newer = [s for s in others if s[1] > row["release_date"]]
        if newer:
            stale.append(row["ocid"])
            batches.add(newer[0][2])
            problems.add("ocds-release-stale", row=row["source_row"], column="ocid", value=row["ocid"], severity="warning",
                         detail=f"release {newer[0][0]} of {newer[0][1].isoformat()} in batch {newer[0][2]}")
        elif others:
            problems.add("ocds-ocid-updated", row=row["source_row"], column="ocid", value=row["ocid"], severity="warning",
                         detail=f"release {others[0][0]} in batch {others[0][2]} (--supersedes {others[0][2]})")
    return (frame.filter(~pl.col("ocid").is_in(stale)) if stale else frame), batches


def totals_by_currency(frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Budget and contract totals in fen per currency: amounts in different currencies never add up."""
    out = frame.group_by("currency").agg(
        pl.col("budget_fen").sum().alias("budget_fen"), pl.col("contract_fen").sum().alias("contract_fen"),
        pl.len().alias("records"),
    ).sort("currency")
    return {r["currency"]: {k: r[k] for k in ("budget_fen", "contract_fen", "records")} for r in out.to_dicts()}


def _collect(name, row, where, release, releases, seen, problems) -> None:
    if not isinstance(release, dict):
        problems.append(_problem(name, row, where, None, "ocds-release-invalid"))
        return
    ocid, rid, date_text = release.get("ocid"), release.get("id"), release.get("date")
    if not isinstance(ocid, str) or not ocid.strip():
        problems.append(_problem(name, row, f"{where}.ocid".lstrip("."), _text(ocid), "ocds-ocid-missing"))
        return
    when = _datetime(date_text)
    if when is None:
        problems.append(_problem(name, row, f"{where}.date".lstrip("."), _text(date_text), "ocds-date-invalid"))
        return
    key = (str(rid), when.isoformat())
    if (ocid, *key) in seen:
        return  # the same release twice in one file (packages overlap): one copy is enough
    seen.add((ocid, *key))
    order = len(seen)
    slim = _slim(release) | {"_where": where, "_row": row, "_order": order}
    releases.setdefault(ocid, []).append((when, order, slim))


# What a release keeps while the file is read: only what becomes a row, so a big feed fits in memory.
_KEEP = {"ocid": None, "id": None, "date": None, "buyer": None,
         "parties": {"id", "name", "roles", "identifier"},
         "tender": {"id", "title", "description", "value", "procurementMethod", "procurementMethodDetails",
                    "tenderPeriod", "datePublished", "procuringEntity"},
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


def _merged(base: dict, new: dict) -> dict:
    """OCDS merge (simplified) into a new dict: objects merge, arrays of objects with ids merge by id,
    anything else is replaced, ``null`` removes. Inputs are never changed, so nothing is deep-copied."""
    out = dict(base)
    for key, value in new.items():
        old = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = _merged(old, value)
        elif isinstance(value, list) and isinstance(old, list) and value and all(
            isinstance(x, dict) and "id" in x for x in value + old
        ):
            by_id = {str(x["id"]): x for x in old}
            for item in value:
                k = str(item["id"])
                by_id[k] = _merged(by_id[k], item) if k in by_id else item
            out[key] = list(by_id.values())
        else:
            out[key] = value
    return out


def _row(name: str, ocid: str, latest, compiled: dict, problems: list[Problem]) -> dict | None:
    when, _, last = latest
    row_no, where = last["_row"], last["_where"]
    col = (lambda p: f"{where}.{p}".lstrip(".")) if where else (lambda p: p)
    bad = len(problems)
    tender = _obj(compiled.get("tender"))
    buyer = _obj(compiled.get("buyer"))
    parties = [p for p in compiled.get("parties") or [] if isinstance(p, dict)]
    buyer_party = next((p for p in parties if "buyer" in (p.get("roles") or [])), {})
    procuring = _obj(tender.get("procuringEntity"))
    unit_code = _text(buyer.get("id")) or _identifier(buyer_party) or _text(procuring.get("id"))
    unit_name = _text(buyer.get("name")) or _text(buyer_party.get("name")) or _text(procuring.get("name"))
    if not unit_code:
        problems.append(_problem(name, row_no, col("buyer"), None, "ocds-buyer-missing",
                                f"{ocid}: no buyer id, buyer party identifier or procuring entity"))
    budget = _money(name, row_no, col("tender.value"), tender.get("value"), problems)
    contracts = [c for c in compiled.get("contracts") or [] if isinstance(c, dict)
                 and c.get("status") not in DEAD_CONTRACT]
    awards = [a for a in compiled.get("awards") or [] if isinstance(a, dict) and a.get("status") in LIVE_AWARD]
    contract_values = [_money(name, row_no, col(f"contracts[{i}].value"), c.get("value"), problems)
                       for i, c in enumerate(contracts)]
    contract_values = [v for v in contract_values if v is not None]
    if not contract_values:
        contract_values = [v for v in (_money(name, row_no, col(f"awards[{i}].value"), a.get("value"), problems)
                                       for i, a in enumerate(awards)) if v is not None]
    currencies = {c for _, c in ([budget] if budget else []) + contract_values}
    if len(currencies) > 1:
        problems.append(_problem(name, row_no, col("tender.value.currency"), ", ".join(sorted(currencies)),
                                 "ocds-currency-mixed", ocid))
    if len(problems) > bad:
        return None
    raw_method = _text(tender.get("procurementMethod"))
    details = _text(tender.get("procurementMethodDetails"))
    ocds_method = raw_method if raw_method in OCDS_METHODS else None
    method = CHINESE_METHODS.get(details or "") or OCDS_METHODS.get(raw_method or "") or "other"
    suppliers, supplier_ids = [], []
    party_ids = {str(p.get("id")): p for p in parties}
    for a in awards:
        for s in a.get("suppliers") or []:
            if isinstance(s, dict) and _text(s.get("name")) and s["name"].strip() not in suppliers:
                suppliers.append(s["name"].strip())
                ident = _identifier(party_ids.get(str(s.get("id")), {})) or _text(s.get("id"))
                if ident:
                    supplier_ids.append(ident)
    tender_date = _date(_obj(tender.get("tenderPeriod")).get("startDate")) or _date(tender.get("datePublished"))
    award_date = min((d for d in (_date(a.get("date")) for a in awards) if d), default=None)
    contract_date = min((d for d in (_date(c.get("dateSigned")) for c in contracts) if d), default=None)
    year = (contract_date or award_date or tender_date or when.date()).year
    return {
        "source_row": last["_order"], "ocid": ocid, "release_id": _text(last.get("id")),
        "release_date": when.astimezone(dt.UTC).replace(tzinfo=dt.UTC), "project_code": _text(tender.get("id")) or ocid,
        "unit_code": unit_code, "unit_name": unit_name, "fiscal_year": year,
        "title": _text(tender.get("title")) or _text(tender.get("description")),
        "method": method, "ocds_method": ocds_method, "method_raw": raw_method,
        "budget_fen": budget[0] if budget else None,
        "contract_fen": sum(v for v, _ in contract_values) if contract_values else None,
        "currency": (currencies.pop() if currencies else "CNY"),
        "supplier_name": "; ".join(suppliers) or None, "supplier_id": ";".join(supplier_ids)[:100] or None,
        "tender_date": tender_date, "award_date": award_date, "contract_date": contract_date,
    }


def _money(name, row, column, value, problems) -> tuple[int, str] | None:
    """``(fen, CURRENCY)`` from an OCDS Value; ``None`` when the amount is missing (``""`` included)."""
    if not isinstance(value, dict):
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return None
    try:
        if isinstance(amount, bool):
            raise AmountError("amount-invalid", str(amount))
        if isinstance(amount, int | Decimal):
            scaled = Decimal(amount) * 100
            if scaled != scaled.to_integral_value():
                raise AmountError("amount-precision", str(amount))
            fen = int(scaled)
        elif isinstance(amount, str):
            fen = parse_amount(amount)
        else:
            raise AmountError("amount-invalid", str(amount))
    except (AmountError, InvalidOperation) as exc:
        code = getattr(exc, "code", "amount-invalid")
        problems.append(_problem(name, row, f"{column}.amount", amount, code))
        return None
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not _CURRENCY.match(code):
        problems.append(_problem(name, row, f"{column}.currency", _text(currency), "currency-invalid"))
        return None
    return fen, code


def _identifier(party: dict) -> str | None:
    ident = _obj(party.get("identifier"))
    return _text(ident.get("id")) or _text(party.get("id"))


def _obj(v) -> dict:
    return v if isinstance(v, dict) else {}


def _text(v) -> str | None:
    if v is None or isinstance(v, dict | list):
        return None
    s = str(v).strip()
    return s or None


def _datetime(v) -> dt.datetime | None:
    if not isinstance(v, str):
        return None
    try:
        when = dt.datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _date(v) -> dt.date | None:
    m = _DATE.match(v) if isinstance(v, str) else None
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
