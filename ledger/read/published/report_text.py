"""Words and tables from report figures: the explanatory paragraph (--text) and flat rows (--csv).

Generated from the report dict only, so the published sentences and the data cannot drift apart.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ledger.money import format_wan, format_yi, format_yuan
from ledger.read.published.report_text_en import report_text_en

COUNT_WORDS = {
    "overseas_travel": (("overseas_groups", "组团{}个"), ("overseas_persons", "{}人次")),
    "vehicle_purchase": (("vehicles_purchased", "购置车辆{}辆"),),
    "vehicle_operation": (("vehicles_held", "年末保有量{}辆"),),
    "reception": (("reception_batches", "接待{}批次"), ("reception_persons", "{}人次")),
}


def _pct1(p: Decimal) -> str:
    return str(abs(p).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def change_phrase(actual: int, prior: int | None, money=lambda f: f"{format_wan(f, grouping=False)}万元") -> str:
    """比上年增加/减少…, 增长/下降…% — or why the change cannot be stated."""
    if prior is None:
        return "上年无数据"
    diff = actual - prior
    if diff == 0:
        return "与上年持平"
    word, trend = ("增加", "增长") if diff > 0 else ("减少", "下降")
    head = f"比上年{word}{money(abs(diff))}"
    if prior == 0:
        return head + "（上年为零，增幅无法计算）"
    p = Decimal(abs(diff)) * 100 / Decimal(abs(prior))
    return f"{head}，{trend}{_pct1(p)}%"


def _wan(f: int) -> str:
    return f"{format_wan(f, grouping=False)}万元"


def _yi(f: int) -> str:
    return f"{format_yi(f, grouping=False)}亿元"


def item_sentence(item: dict, counts: dict | None = None, name: str | None = None, money=_wan) -> str:
    """``公务接待费支出2.05万元，比上年减少0.28万元，下降12.0%`` (+ counts when known)."""
    if item["actual_fen"] is None:
        return f"{name or item['name_zh']}无决算数据"
    name = name or item["name_zh"]
    s = f"{name}支出{money(item['actual_fen'])}，{change_phrase(item['actual_fen'], item['prior_actual_fen'], money)}"
    words = [w.format(counts[k]) for k, w in COUNT_WORDS.get(item["item"], ()) if counts and counts.get(k) is not None]
    return s + ("，" + "、".join(words) if words else "")


def _table_text(report: dict) -> str:
    paras = []
    rows = list(report["rows"]) + ([report["total"]] if report.get("total") else [])
    for row in rows:
        counts = row.get("counts") if report["report"] == "three-public" else None
        items = {i["item"]: i for i in row["items"]}
        head = f"{row['unit_name']}{row['fiscal_year']}年"
        # 亿元 when the table is at that scale (中央本级), as published; else 万元
        money = _yi if max((abs(i["actual_fen"] or 0) for i in row["items"]), default=0) >= 10**10 else _wan
        if report["report"] == "three-public":
            first = item_sentence(items["total"], counts, "“三公”经费", money)
            rest = [item_sentence(items[k], counts, money=money) for k in ("overseas_travel", "vehicles", "reception")]
            if items["vehicle_purchase"]["actual_fen"] is None and items["vehicle_operation"]["actual_fen"] is None:
                if items["vehicles"]["actual_fen"] is not None:
                    rest[1] += "（未分列购置费和运行维护费）"
            else:
                sub = [item_sentence(items[k], counts, money=money) for k in ("vehicle_purchase", "vehicle_operation")]
                rest[1] += f"（其中：{'；'.join(sub)}）"
        else:
            first = item_sentence(items["total"], None, "“四费”", money)
            rest = [item_sentence(items[k], money=money) for k in ("reception", "meeting", "study_tour", "transport")]
        paras.append(f"{head}{first}。其中：{'；'.join(rest)}。")
    note = coverage_sentence(report.get("coverage"))
    if note:
        paras.insert(0, note)
    return "\n".join(paras) if paras else f"{report['fiscal_year']}年无数据。"


def coverage_sentence(cov: dict | None) -> str | None:
    """``2024年应报送单位40个，已报送2个，未报送38个（缺失，不计为零）：U002、U003…`` when a year is incomplete."""
    if not cov or cov["complete"] or not cov["expected"]:
        return None
    listed = "、".join(cov["missing_units"][:10]) + ("等" if cov["missing"] > 10 else "")
    return (f"{cov['fiscal_year']}年应报送单位{cov['expected']}个，已报送{cov['reported']}个，"
            f"未报送{cov['missing']}个（缺失，不计为零）：{listed}。")


def _procurement_text(r: dict) -> str:
    big = max(r["scale_fen"], r["budget_total_fen"]) >= 10**10

    def money(f):
        return f"{format_yi(f, grouping=False)}亿元" if big else f"{format_wan(f, grouping=False)}万元"

    who = f"{r['unit']} " if r["unit"] else ""
    others = {c: b for c, b in (r.get("by_currency") or {}).items() if c not in ("CNY", "none")}
    if others and not r["records"]:
        return f"{who}{r['fiscal_year']}年无以人民币计的政府采购。" + _other_currencies(others, "")
    s = f"{who}{r['fiscal_year']}年政府采购规模{money(r['scale_fen'])}（合同金额合计，{r['records']}项）"
    s += "，" + change_phrase(r["scale_fen"], r["prior_scale_fen"], money)
    if r["savings_rate_pct"] is not None:
        s += (f"；采购预算{money(r['budget_total_fen'])}，节约预算资金{money(r['savings_fen'])}，"
              f"资金节约率{r['savings_rate_pct']}%（节约率＝节约资金÷采购预算）")
    methods = [f"{m['name_zh']}{money(m['scale_fen'])}（{m['share_pct']}%）" for m in r["by_method"]]
    if methods:
        s += "。按采购方式：" + "，".join(methods)
    return s + "。" + _other_currencies(others, "另有")


def _other_currencies(others: dict, lead: str) -> str:
    """One sentence per other currency, in its own unit: never added to the CNY figures."""
    out = ""
    for cur, block in others.items():
        out += (f"{lead}以{cur}计的采购{block['records']}项，合同金额合计{format_yuan(block['scale_fen'])} {cur}"
                f"，采购预算{format_yuan(block['budget_total_fen'])} {cur}")
        if block["savings_rate_pct"] is not None:
            out += f"，资金节约率{block['savings_rate_pct']}%"
        out += "（不与人民币相加）。"
    return out


def report_text(report: dict, lang: str = "zh") -> str:
    """The explanatory paragraph(s) for a report from ``ledger.read.published.reports``, in ``lang``."""
    if lang == "en":
        return report_text_en(report)
    return _procurement_text(report) if report["report"] == "procurement" else _table_text(report)


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
