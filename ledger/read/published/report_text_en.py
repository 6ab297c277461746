"""The explanatory paragraph in English, from the same report dict as the Chinese one (``report_text``).

Same figures, same order, same rules: a missing year is "no figure", never zero; a zero base has no
percentage; counts follow the item they belong to; other currencies are never added to yuan. Amounts are
exact yuan (``CNY 20,500.00``), or millions of yuan when the table is at the 亿元 scale (中央本级).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ledger.money import format_yuan

ITEM_EN = {
    "total": "Total", "overseas_travel": "Overseas travel", "vehicles": "Official vehicles (purchase and operation)",
    "vehicle_purchase": "Vehicle purchase", "vehicle_operation": "Vehicle operation", "reception": "Official reception",
    "meeting": "Meetings", "study_tour": "Study tours", "transport": "Official transport",
}

METHODS_EN = {
    "open_tender": "open tender", "invited_tender": "invited tender", "competitive_negotiation": "competitive negotiation",
    "competitive_consultation": "competitive consultation", "single_source": "single source",
    "rfq": "request for quotation", "other": "other",
}

COUNT_WORDS = {
    "overseas_travel": (("overseas_groups", "{} delegation(s)"), ("overseas_persons", "{} person-trips")),
    "vehicle_purchase": (("vehicles_purchased", "{} vehicle(s) bought"),),
    "vehicle_operation": (("vehicles_held", "{} vehicle(s) held at year end"),),
    "reception": (("reception_batches", "{} reception(s)"), ("reception_persons", "{} guest visits")),
}


def yuan(fen: int) -> str:
    return f"CNY {format_yuan(fen)}"


def millions(fen: int) -> str:
    value = Decimal(fen).scaleb(-8).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"CNY {value:,.2f} million"


def change_phrase(actual: int, prior: int | None, money=yuan) -> str:
    """``down CNY 2,800.00 (12.0%) on the year before`` — or why the change cannot be stated."""
    if prior is None:
        return "no figure for the year before"
    diff = actual - prior
    if diff == 0:
        return "unchanged from the year before"
    word = "up" if diff > 0 else "down"
    if prior == 0:
        return f"{word} {money(abs(diff))} on the year before (which was zero, so no percentage)"
    p = (Decimal(abs(diff)) * 100 / Decimal(abs(prior))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{word} {money(abs(diff))} ({p}%) on the year before"


def item_sentence(item: dict, counts: dict | None = None, name: str | None = None, money=yuan) -> str:
    name = name or ITEM_EN.get(item["item"], item["name_zh"])
    if item["actual_fen"] is None:
        return f"{name}: no final account"
    s = f"{name} {money(item['actual_fen'])}, {change_phrase(item['actual_fen'], item['prior_actual_fen'], money)}"
    words = [w.format(counts[k]) for k, w in COUNT_WORDS.get(item["item"], ()) if counts and counts.get(k) is not None]
    return s + (", " + ", ".join(words) if words else "")


def coverage_sentence(cov: dict | None) -> str | None:
    if not cov or cov["complete"] or not cov["expected"]:
        return None
    listed = ", ".join(cov["missing_units"][:10]) + (" and others" if cov["missing"] > 10 else "")
    return (f"{cov['fiscal_year']}: {cov['expected']} units are expected to report, {cov['reported']} have, "
            f"{cov['missing']} have not (missing, not counted as zero): {listed}.")


def _table_text(report: dict) -> str:
    paras = []
    for row in list(report["rows"]) + ([report["total"]] if report.get("total") else []):
        counts = row.get("counts") if report["report"] == "three-public" else None
        items = {i["item"]: i for i in row["items"]}
        money = millions if max((abs(i["actual_fen"] or 0) for i in row["items"]), default=0) >= 10**10 else yuan
        if report["report"] == "three-public":
            first = item_sentence(items["total"], counts, "the “three public expenses” were", money)
            rest = [item_sentence(items[k], counts, money=money) for k in ("overseas_travel", "vehicles", "reception")]
            if items["vehicle_purchase"]["actual_fen"] is None and items["vehicle_operation"]["actual_fen"] is None:
                if items["vehicles"]["actual_fen"] is not None:
                    rest[1] += " (purchase and operation not shown apart)"
            else:
                sub = [item_sentence(items[k], counts, money=money) for k in ("vehicle_purchase", "vehicle_operation")]
                rest[1] += f" (of which: {'; '.join(sub)})"
        else:
            first = item_sentence(items["total"], None, "the “four fees” were", money)
            rest = [item_sentence(items[k], money=money) for k in ("reception", "meeting", "study_tour", "transport")]
        paras.append(f"{row['unit_name']}, {row['fiscal_year']}: {first}. Of these: {'; '.join(rest)}.")
    note = coverage_sentence(report.get("coverage"))
    if note:
        paras.insert(0, note)
    return "\n".join(paras) if paras else f"No data for {report['fiscal_year']}."


def _procurement_text(r: dict) -> str:
    money = millions if max(r["scale_fen"], r["budget_total_fen"]) >= 10**10 else yuan
    who = f"{r['unit']}, " if r["unit"] else ""
    others = {c: b for c, b in (r.get("by_currency") or {}).items() if c not in ("CNY", "none")}
    if others and not r["records"]:
        return f"{who}{r['fiscal_year']}: no procurement in yuan. " + _other_currencies(others)
    s = (f"{who}{r['fiscal_year']}: government procurement of {money(r['scale_fen'])} (contract values, "
         f"{r['records']} records), {change_phrase(r['scale_fen'], r['prior_scale_fen'], money)}")
    if r["savings_rate_pct"] is not None:
        s += (f"; procurement budgets {money(r['budget_total_fen'])}, saved {money(r['savings_fen'])}, a savings "
              f"rate of {r['savings_rate_pct']}% (savings ÷ procurement budget)")
    methods = [f"{METHODS_EN.get(m['method'], m['method'])} {money(m['scale_fen'])} ({m['share_pct']}%)" for m in r["by_method"]]
    if methods:
        s += ". By method: " + ", ".join(methods)
    return s + ". " + _other_currencies(others)


def _other_currencies(others: dict) -> str:
    out = ""
    for cur, block in others.items():
        out += (f"In {cur}: {block['records']} records, contract values {format_yuan(block['scale_fen'])} {cur}, "
                f"budgets {format_yuan(block['budget_total_fen'])} {cur}")
        if block["savings_rate_pct"] is not None:
            out += f", a savings rate of {block['savings_rate_pct']}%"
        out += " (never added to yuan). "
    return out.rstrip()


def report_text_en(report: dict) -> str:
    """The English explanatory paragraph(s) for a report from ``ledger.read.published.reports``."""
    return (_procurement_text(report) if report["report"] == "procurement" else _table_text(report)).rstrip()
