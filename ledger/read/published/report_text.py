"""Words and tables from report figures: the explanatory paragraph (--text) and flat rows (--csv).

Generated from the report dict only, so the published sentences and the data cannot drift apart. One walker
says both languages (the words are in ``phrasebook``), so the Chinese and English paragraphs cannot drift either.
"""

from __future__ import annotations

from decimal import Decimal

from ledger.read.published.phrasebook import PHRASES, Zh, pct1

BIG = 10**10  # fen: from 1亿元 up, a table is said in 亿元 (millions of yuan in English), as 中央本级 publishes it


def change_phrase(actual: int, prior: int | None, money=Zh.small, p=Zh) -> str:
    """比上年增加/减少…, 增长/下降…% — or why the change cannot be stated."""
    if prior is None:
        return p.no_prior
    diff = actual - prior
    pct = None if diff == 0 or prior == 0 else pct1(Decimal(abs(diff)) * 100 / Decimal(abs(prior)))
    return p.change(diff, money(abs(diff)), pct)


def item_sentence(item: dict, counts: dict | None = None, name: str | None = None, money=Zh.small, p=Zh) -> str:
    """``公务接待费支出2.05万元，比上年减少0.28万元，下降12.0%`` (+ counts when known)."""
    name = name or p.item_name(item)
    if item["actual_fen"] is None:
        return p.no_final(name)
    words = [w.format(counts[k]) for k, w in p.count_words.get(item["item"], ()) if counts and counts.get(k) is not None]
    return p.spent(name, money(item["actual_fen"]), change_phrase(item["actual_fen"], item["prior_actual_fen"], money, p),
                   words)


def _table_text(report: dict, p) -> str:
    paras = []
    for row in list(report["rows"]) + ([report["total"]] if report.get("total") else []):
        counts = row.get("counts") if report["report"] == "three-public" else None
        items = {i["item"]: i for i in row["items"]}
        money = p.big if max((abs(i["actual_fen"] or 0) for i in row["items"]), default=0) >= BIG else p.small
        if report["report"] == "three-public":
            first = item_sentence(items["total"], counts, p.three_public, money, p)
            rest = [item_sentence(items[k], counts, None, money, p) for k in ("overseas_travel", "vehicles", "reception")]
            if items["vehicle_purchase"]["actual_fen"] is None and items["vehicle_operation"]["actual_fen"] is None:
                if items["vehicles"]["actual_fen"] is not None:
                    rest[1] += p.vehicles_not_split
            else:
                rest[1] += p.of_which([item_sentence(items[k], counts, None, money, p)
                                       for k in ("vehicle_purchase", "vehicle_operation")])
        else:
            first = item_sentence(items["total"], None, p.four_fees, money, p)
            rest = [item_sentence(items[k], None, None, money, p) for k in ("reception", "meeting", "study_tour", "transport")]
        paras.append(p.paragraph(row["unit_name"], row["fiscal_year"], first, rest))
    note = coverage_sentence(report.get("coverage"), p)
    if note:
        paras.insert(0, note)
    return "\n".join(paras) if paras else p.no_data(report["fiscal_year"])


def coverage_sentence(cov: dict | None, p=Zh) -> str | None:
    """``2024年应报送单位40个，已报送2个，未报送38个（缺失，不计为零）：U002、U003…`` when a year is incomplete."""
    if not cov or cov["complete"] or not cov["expected"]:
        return None
    return p.coverage(cov, cov["missing_units"][:10], cov["missing"] > 10)


def _procurement_text(r: dict, p) -> str:
    money = p.big if max(r["scale_fen"], r["budget_total_fen"]) >= BIG else p.small
    who = p.who(r["unit"])
    others = {c: b for c, b in (r.get("by_currency") or {}).items() if c not in ("CNY", "none")}
    if others and not r["records"]:
        return p.no_yuan(who, r["fiscal_year"]) + "".join(p.other_currency(c, b, True) for c, b in others.items())
    s = p.scale(who, r["fiscal_year"], money(r["scale_fen"]), r["records"],
                change_phrase(r["scale_fen"], r["prior_scale_fen"], money, p))
    if r["savings_rate_pct"] is not None:
        s += p.savings(money(r["budget_total_fen"]), money(r["savings_fen"]), r["savings_rate_pct"])
    if r["by_method"]:
        s += p.methods([(m["method"], m["name_zh"], money(m["scale_fen"]), m["share_pct"]) for m in r["by_method"]])
    # other currencies are said in their own unit and never added to the yuan figures
    return s + p.end + "".join(p.other_currency(c, b, False) for c, b in others.items())


def report_text(report: dict, lang: str = "zh") -> str:
    """The explanatory paragraph(s) for a report from ``ledger.read.published.reports``, in ``lang`` (zh or en)."""
    p = PHRASES.get(lang, Zh)
    text = _procurement_text(report, p) if report["report"] == "procurement" else _table_text(report, p)
    return text.rstrip()


def report_table(report: dict) -> tuple[list[str], list[list]]:
    """Flat rows for CSV: one per unit and item (tables) or per method plus a total (procurement). Money in fen."""
    if report["report"] == "procurement":
        keys = ["records", "records_without_budget", "scale_fen", "budget_total_fen", "savings_fen", "savings_rate_pct"]
        header = ["fiscal_year", "unit", "method", "name_zh", *keys, "share_pct", "prior_scale_fen", "growth_fen",
                  "growth_pct"]
        rows = [[report["fiscal_year"], report["unit"], m["method"], m["name_zh"], *(m[k] for k in keys),
                 m["share_pct"], None, None, None] for m in report["by_method"]]
        rows.append([report["fiscal_year"], report["unit"], "total", "合计", *(report[k] for k in keys), "100.00",
                     report["prior_scale_fen"], report["growth_fen"], report["growth_pct"]])
        return header, rows
    keys = ["budget_fen", "actual_fen", "completion_pct", "prior_actual_fen", "change_fen", "change_pct",
            "adjusted_fen", "execution_fen"]
    stages = ["budget", "adjusted", "execution", "final"]  # basis_<stage>: published | derived | empty
    counts = ["overseas_groups", "overseas_persons", "vehicles_purchased", "vehicles_held", "reception_batches",
              "reception_persons"] if report["report"] == "three-public" else []
    header = ["fiscal_year", "unit_code", "unit_name", "item", "name_zh", *keys, *(f"basis_{s}" for s in stages),
              *counts]
    rows = []
    for row in list(report["rows"]) + ([report["total"]] if report.get("total") else []):
        c = row.get("counts") or {}
        for i in row["items"]:
            rows.append([row["fiscal_year"], row["unit_code"], row["unit_name"], i["item"], i["name_zh"],
                         *(i[k] for k in keys), *(i["basis"][s] for s in stages),
                         *(c.get(k) if i["item"] == "total" else None for k in counts)])
    return header, rows


def coverage_line(cov: dict) -> str:
    """``覆盖：2024年 2/40 个单位已报送（不完整；依据：reporters）``: the line above a report table."""
    state = "完整" if cov["complete"] else f"不完整，未报送{cov['missing']}个，缺失不计为零"
    return f"覆盖：{cov['fiscal_year']}年 {cov['reported']}/{cov['expected']} 个单位已报送（{state}；依据：{cov['basis']}）"
