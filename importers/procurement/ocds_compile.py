"""One contracting process (ocid): its releases merged into one compiled release, then one row.

- Merge (the subset of the OCDS merge rules that figures depend on, as ocdsmerge does): releases in
  date order (undated first), objects merged, arrays of objects with ``id`` merged by id, other
  values replaced, ``null`` removes. The latest release wins field by field.
- A record's ``compiledRelease`` is the publisher's own compilation and is used as it is.
- Row: buyer → unit (``buyer.id``, else the buyer party's identifier, else ``procuringEntity``; a
  buyer with only a name gets ``name-<digest>`` and a warning), ``tender.value`` → budget, contracts
  (all but cancelled, one per id) → contract amount, else the active awards (one per id).
- Fiscal year: the year of contract signature, else award, else tender start; none of them →
  unknown (null), never the publication date. Dates before 1900 or after 2200 are not dates
  (``24.12.10`` read as year 24 is the mistake this guards against).
- Amounts keep their currency; a record with no amount states no currency (null).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation

from importers.problems import Problem
from ledger.money import AmountError, parse_amount

# "limited" covers 竞争性谈判, 竞争性磋商 and 询价 alike, so alone it says too little: other (as importers.sheets.cells)
OCDS_METHODS = {"open": "open_tender", "selective": "invited_tender", "limited": "other", "direct": "single_source"}
CHINESE_METHODS = {"公开招标": "open_tender", "邀请招标": "invited_tender", "竞争性谈判": "competitive_negotiation",
                   "竞争性磋商": "competitive_consultation", "单一来源": "single_source", "询价": "rfq"}
DEAD_CONTRACT = {"cancelled"}
LIVE_AWARD = {"active", "", None}
FIRST_YEAR, LAST_YEAR = 1900, 2200
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def problem(file, row, column, value, code, detail=None, severity="error") -> Problem:
    return Problem(file, None, row, column, None if value is None else str(value), code, severity, detail)


def derived_id(what: str, value) -> str:
    """A stable identifier for something published without one: ``what-<16 hex digits>`` of its content."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return f"{what}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def merged(base: dict, new: dict) -> dict:
    """OCDS merge (the subset figures need) into a new dict: objects merge, arrays of objects with ids
    merge by id, anything else is replaced, ``null`` removes. Inputs are never changed."""
    out = dict(base)
    for key, value in new.items():
        old = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = merged(old, value)
        elif isinstance(value, list) and isinstance(old, list) and value and all(
            isinstance(x, dict) and "id" in x for x in value + old
        ):
            by_id = {str(x["id"]): x for x in old}
            for item in value:
                k = str(item["id"])
                by_id[k] = merged(by_id[k], item) if k in by_id else item
            out[key] = list(by_id.values())
        else:
            out[key] = value
    return out


def _by_id(items: list[dict]) -> list[dict]:
    """One object per id (the last one wins): a contract repeated across releases is one contract."""
    out: dict[str, dict] = {}
    for n, item in enumerate(items):
        key = text_of(item.get("id"))
        out[key if key is not None else f"#{n}"] = item
    return list(out.values())


def row_of(name: str, ocid: str, when: dt.datetime | None, last: dict, compiled: dict,
           problems: list[Problem]) -> dict | None:
    """The procurement row of one compiled release, or None when a problem refuses it."""
    row_no, where = last["_row"], last["_where"]
    col = (lambda p: f"{where}.{p}".lstrip(".")) if where else (lambda p: p)
    bad = len([p for p in problems if p.severity == "error"])
    tender = _obj(compiled.get("tender"))
    buyer = _obj(compiled.get("buyer"))
    parties = [p for p in compiled.get("parties") or [] if isinstance(p, dict)]
    buyer_party = next((p for p in parties if "buyer" in (p.get("roles") or [])), {})
    procuring = _obj(tender.get("procuringEntity"))
    unit_code = text_of(buyer.get("id")) or identifier(buyer_party) or text_of(procuring.get("id"))
    unit_name = text_of(buyer.get("name")) or text_of(buyer_party.get("name")) or text_of(procuring.get("name"))
    if not unit_code and unit_name:
        unit_code = derived_id("name", unit_name)
        problems.append(problem(name, row_no, col("buyer.id"), unit_name, "ocds-id-derived",
                                f"{ocid}: {unit_code}", severity="warning"))
    elif not unit_code:
        problems.append(problem(name, row_no, col("buyer"), None, "ocds-buyer-missing",
                                f"{ocid}: no buyer id or name, buyer party or procuring entity"))
    budget = _money(name, row_no, col("tender.value"), tender.get("value"), problems)
    contracts = _by_id([c for c in compiled.get("contracts") or [] if isinstance(c, dict)])
    contracts = [c for c in contracts if c.get("status") not in DEAD_CONTRACT]
    awards = _by_id([a for a in compiled.get("awards") or [] if isinstance(a, dict)])
    awards = [a for a in awards if a.get("status") in LIVE_AWARD]
    contract_values = [_money(name, row_no, col(f"contracts[{i}].value"), c.get("value"), problems)
                       for i, c in enumerate(contracts)]
    contract_values = [v for v in contract_values if v is not None]
    if not contract_values:
        contract_values = [v for v in (_money(name, row_no, col(f"awards[{i}].value"), a.get("value"), problems)
                                       for i, a in enumerate(awards)) if v is not None]
    currencies = {c for _, c in ([budget] if budget else []) + contract_values}
    if len(currencies) > 1:
        problems.append(problem(name, row_no, col("tender.value.currency"), ", ".join(sorted(currencies)),
                                "ocds-currency-mixed", ocid))
    if len([p for p in problems if p.severity == "error"]) > bad:
        return None
    raw_method = text_of(tender.get("procurementMethod"))
    details = text_of(tender.get("procurementMethodDetails"))
    suppliers, supplier_ids = [], []
    party_ids = {str(p.get("id")): p for p in parties}
    for a in awards:
        for s in a.get("suppliers") or []:
            if isinstance(s, dict) and text_of(s.get("name")) and s["name"].strip() not in suppliers:
                suppliers.append(s["name"].strip())
                ident = identifier(party_ids.get(str(s.get("id")), {})) or text_of(s.get("id"))
                supplier_ids.append(ident or derived_id("name", s["name"].strip()))
    tender_date = date(_obj(tender.get("tenderPeriod")).get("startDate")) or date(tender.get("datePublished"))
    award_date = min((d for d in (date(a.get("date")) for a in awards) if d), default=None)
    contract_date = min((d for d in (date(c.get("dateSigned")) for c in contracts) if d), default=None)
    known = contract_date or award_date or tender_date
    return {
        "source_row": last["_order"], "ocid": ocid, "release_id": text_of(last.get("id")),
        "release_date": when.astimezone(dt.UTC) if when else None,
        "project_code": text_of(tender.get("id")) or ocid,
        "unit_code": unit_code, "unit_name": unit_name, "fiscal_year": known.year if known else None,
        "title": text_of(tender.get("title")) or text_of(tender.get("description")),
        "method": CHINESE_METHODS.get(details or "") or OCDS_METHODS.get(raw_method or "") or "other",
        "ocds_method": raw_method if raw_method in OCDS_METHODS else None, "method_raw": raw_method,
        "budget_fen": budget[0] if budget else None,
        "contract_fen": sum(v for v, _ in contract_values) if contract_values else None,
        "currency": currencies.pop() if currencies else None,
        "supplier_name": "; ".join(suppliers) or None, "supplier_id": ";".join(supplier_ids)[:100] or None,
        "tender_date": tender_date, "award_date": award_date, "contract_date": contract_date,
        "compiled_json": json.dumps({k: v for k, v in compiled.items() if not k.startswith("_")},
                                    ensure_ascii=False, sort_keys=True, default=str),
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
        problems.append(problem(name, row, f"{column}.amount", amount, code))
        return None
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not _CURRENCY.match(code):
        problems.append(problem(name, row, f"{column}.currency", text_of(currency), "currency-invalid"))
        return None
    return fen, code


def identifier(party: dict) -> str | None:
    ident = _obj(party.get("identifier"))
    return text_of(ident.get("id")) or text_of(party.get("id"))


def _obj(v) -> dict:
    return v if isinstance(v, dict) else {}


def text_of(v) -> str | None:
    """A scalar JSON value as trimmed text; None for a missing, blank or nested value."""
    if v is None or isinstance(v, dict | list):
        return None
    s = str(v).strip()
    return s or None


def timestamp(v) -> dt.datetime | None:
    """An ISO 8601 date-time (UTC when it names no zone); None when it is not one or not plausible."""
    if not isinstance(v, str) or not _DATE.match(v.strip()):
        return None
    try:
        when = dt.datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def date(v) -> dt.date | None:
    """The calendar date an ISO 8601 value starts with, as published; None when absent or implausible."""
    m = _DATE.match(v.strip()) if isinstance(v, str) else None
    if not m or not FIRST_YEAR <= int(m[1]) <= LAST_YEAR:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
