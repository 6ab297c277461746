"""The words of the explanatory paragraph, in Chinese and English (``report_text`` walks the report once for both).

Only words and money formats live here; which figures are said, in what order and under which rules (a missing
year is "no figure", never zero; a zero base has no percentage; other currencies are never added to yuan) is
the walker's, so the two languages cannot drift apart.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ledger.money import format_wan, format_yi, format_yuan

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


def pct1(p: Decimal) -> str:
    """A change in percent to one place, half up: ``12.0``."""
    return str(abs(p).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


class Zh:
    """公开说明 as Chinese departments write it: 万元 (亿元 at the 中央本级 scale)."""

    count_words = {
        "overseas_travel": (("overseas_groups", "组团{}个"), ("overseas_persons", "{}人次")),
        "vehicle_purchase": (("vehicles_purchased", "购置车辆{}辆"),),
        "vehicle_operation": (("vehicles_held", "年末保有量{}辆"),),
        "reception": (("reception_batches", "接待{}批次"), ("reception_persons", "{}人次")),
    }
    three_public, four_fees = "“三公”经费", "“四费”"
    vehicles_not_split = "（未分列购置费和运行维护费）"

    @staticmethod
    def small(fen: int) -> str:
        return f"{format_wan(fen, grouping=False)}万元"

    @staticmethod
    def big(fen: int) -> str:
        return f"{format_yi(fen, grouping=False)}亿元"

    @staticmethod
    def change(diff: int, money_text: str, pct: str | None) -> str:
        if diff == 0:
            return "与上年持平"
        word, trend = ("增加", "增长") if diff > 0 else ("减少", "下降")
        head = f"比上年{word}{money_text}"
        return head + "（上年为零，增幅无法计算）" if pct is None else f"{head}，{trend}{pct}%"

    no_prior = "上年无数据"

    @staticmethod
    def item_name(item: dict) -> str:
        return item["name_zh"]

    @staticmethod
    def no_final(name: str) -> str:
        return f"{name}无决算数据"

    @staticmethod
    def spent(name: str, money_text: str, change: str, counts: list[str]) -> str:
        return f"{name}支出{money_text}，{change}" + ("，" + "、".join(counts) if counts else "")

    @staticmethod
    def of_which(parts: list[str]) -> str:
        return f"（其中：{'；'.join(parts)}）"

    @staticmethod
    def paragraph(unit: str, year: int, first: str, rest: list[str]) -> str:
        return f"{unit}{year}年{first}。其中：{'；'.join(rest)}。"

    @staticmethod
    def no_data(year: int) -> str:
        return f"{year}年无数据。"

    @staticmethod
    def coverage(cov: dict, listed: list[str], more: bool) -> str:
        return (f"{cov['fiscal_year']}年应报送单位{cov['expected']}个，已报送{cov['reported']}个，"
                f"未报送{cov['missing']}个（缺失，不计为零）：{'、'.join(listed)}{'等' if more else ''}。")

    @staticmethod
    def who(unit: str | None) -> str:
        return f"{unit} " if unit else ""

    @staticmethod
    def no_yuan(who: str, year: int) -> str:
        return f"{who}{year}年无以人民币计的政府采购。"

    @staticmethod
    def scale(who: str, year: int, money_text: str, records: int, change: str) -> str:
        return f"{who}{year}年政府采购规模{money_text}（合同金额合计，{records}项），{change}"

    @staticmethod
    def savings(budget: str, saved: str, rate: str) -> str:
        return f"；采购预算{budget}，节约预算资金{saved}，资金节约率{rate}%（节约率＝节约资金÷采购预算）"

    @staticmethod
    def methods(rows: list[tuple[str, str, str, str]]) -> str:
        return "。按采购方式：" + "，".join(f"{name_zh}{m}（{share}%）" for _, name_zh, m, share in rows)

    end = "。"

    @staticmethod
    def other_currency(cur: str, block: dict, alone: bool) -> str:
        s = (f"{'' if alone else '另有'}以{cur}计的采购{block['records']}项，合同金额合计{format_yuan(block['scale_fen'])} "
             f"{cur}，采购预算{format_yuan(block['budget_total_fen'])} {cur}")
        if block["savings_rate_pct"] is not None:
            s += f"，资金节约率{block['savings_rate_pct']}%"
        return s + "（不与人民币相加）。"


class En:
    """The same paragraph in English: exact yuan (``CNY 20,500.00``), millions of yuan at the 亿元 scale."""

    count_words = {
        "overseas_travel": (("overseas_groups", "{} delegation(s)"), ("overseas_persons", "{} person-trips")),
        "vehicle_purchase": (("vehicles_purchased", "{} vehicle(s) bought"),),
        "vehicle_operation": (("vehicles_held", "{} vehicle(s) held at year end"),),
        "reception": (("reception_batches", "{} reception(s)"), ("reception_persons", "{} guest visits")),
    }
    three_public, four_fees = "the “three public expenses” were", "the “four fees” were"
    vehicles_not_split = " (purchase and operation not shown apart)"

    @staticmethod
    def small(fen: int) -> str:
        return f"CNY {format_yuan(fen)}"

    @staticmethod
    def big(fen: int) -> str:
        value = Decimal(fen).scaleb(-8).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"CNY {value:,.2f} million"

    @staticmethod
    def change(diff: int, money_text: str, pct: str | None) -> str:
        if diff == 0:
            return "unchanged from the year before"
        word = "up" if diff > 0 else "down"
        if pct is None:
            return f"{word} {money_text} on the year before (which was zero, so no percentage)"
        return f"{word} {money_text} ({pct}%) on the year before"

    no_prior = "no figure for the year before"

    @staticmethod
    def item_name(item: dict) -> str:
        return ITEM_EN.get(item["item"], item["name_zh"])

    @staticmethod
    def no_final(name: str) -> str:
        return f"{name}: no final account"

    @staticmethod
    def spent(name: str, money_text: str, change: str, counts: list[str]) -> str:
        return f"{name} {money_text}, {change}" + (", " + ", ".join(counts) if counts else "")

    @staticmethod
    def of_which(parts: list[str]) -> str:
        return f" (of which: {'; '.join(parts)})"

    @staticmethod
    def paragraph(unit: str, year: int, first: str, rest: list[str]) -> str:
        return f"{unit}, {year}: {first}. Of these: {'; '.join(rest)}."

    @staticmethod
    def no_data(year: int) -> str:
        return f"No data for {year}."

    @staticmethod
    def coverage(cov: dict, listed: list[str], more: bool) -> str:
        return (f"{cov['fiscal_year']}: {cov['expected']} units are expected to report, {cov['reported']} have, "
                f"{cov['missing']} have not (missing, not counted as zero): {', '.join(listed)}"
                f"{' and others' if more else ''}.")

    @staticmethod
    def who(unit: str | None) -> str:
        return f"{unit}, " if unit else ""

    @staticmethod
    def no_yuan(who: str, year: int) -> str:
        return f"{who}{year}: no procurement in yuan. "

    @staticmethod
    def scale(who: str, year: int, money_text: str, records: int, change: str) -> str:
        return (f"{who}{year}: government procurement of {money_text} (contract values, "
                f"{records} records), {change}")

    @staticmethod
    def savings(budget: str, saved: str, rate: str) -> str:
        return (f"; procurement budgets {budget}, saved {saved}, a savings "
                f"rate of {rate}% (savings ÷ procurement budget)")

    @staticmethod
    def methods(rows: list[tuple[str, str, str, str]]) -> str:
        return ". By method: " + ", ".join(f"{METHODS_EN.get(code, code)} {m} ({share}%)" for code, _, m, share in rows)

    end = ". "

    @staticmethod
    def other_currency(cur: str, block: dict, alone: bool) -> str:
        s = (f"In {cur}: {block['records']} records, contract values {format_yuan(block['scale_fen'])} {cur}, "
             f"budgets {format_yuan(block['budget_total_fen'])} {cur}")
        if block["savings_rate_pct"] is not None:
            s += f", a savings rate of {block['savings_rate_pct']}%"
        return s + " (never added to yuan). "


PHRASES = {"zh": Zh, "en": En}
