"""Words on the charts, in Chinese (default) and English. Category names come from the ledger."""

from __future__ import annotations

LANGS = ("zh", "en")

TEXT = {
    "zh": {
        "wan": "万元",
        "year": "年度",
        "budget": "预算数",
        "actual": "决算数（实际支出）",
        "cap": "压减目标上限",
        "cap_actual": "压减目标上限（决算数）",
        "cap_budget": "压减目标上限（预算数）",
        "trend": "{subject}：{what}预算与实际支出",
        "composition": "{subject}：三公经费构成",
        "ranking": "{year}年各单位{what}较上年变化",
        "change_axis": "较上年变化（万元）",
        "undefined": "上年为零，增长率无定义",
        "missing": "未报送（缺失，不计为零）",
        "no_prior": "上年无数据",
        "coverage": "{year}年{reported}/{expected}个单位已报送",
        "compliance": "压减目标达标情况（单位 × 年度）",
        "met": "全部达标",
        "missed": "有未达标",
        "insufficient": "数据不足",
        "none": "未评估",
        "procurement": "{subject}：政府采购规模与节约率",
        "scale": "合同金额（采购规模）",
        "savings_rate": "节约率（节约额 ÷ 预算金额）",
        "rate_axis": "节约率（%）",
        "methods": "{subject}：采购方式构成（{year}）",
        "methods_axis": "合同金额（万元）",
        "all_years": "全部年度",
        "region": "全区",
        "units_of_region": "全区各单位",
        "no_data": "暂无数据",
        "three_public": "三公经费",
        "records": "{n} 项",
    },
    "en": {
        "wan": "10k CNY (万元)",
        "year": "Fiscal year",
        "budget": "Budget",
        "actual": "Actual spending",
        "cap": "Target cap",
        "cap_actual": "Target cap (actual)",
        "cap_budget": "Target cap (budget)",
        "trend": "{subject}: {what}, budget and actual",
        "composition": "{subject}: three public expenses by category",
        "ranking": "{year}: change in {what} against the prior year, by unit",
        "change_axis": "Change on prior year (10k CNY)",
        "undefined": "prior year zero: growth undefined",
        "missing": "not reported (missing, not counted as zero)",
        "no_prior": "no data for the prior year",
        "coverage": "{year}: {reported} of {expected} units reported",
        "compliance": "Reduction targets met, units × years",
        "met": "all met",
        "missed": "some missed",
        "insufficient": "insufficient data",
        "none": "not evaluated",
        "procurement": "{subject}: procurement scale and savings rate",
        "scale": "Contract amount (scale)",
        "savings_rate": "Savings rate (savings ÷ budget)",
        "rate_axis": "Savings rate (%)",
        "methods": "{subject}: procurement methods ({year})",
        "methods_axis": "Contract amount (10k CNY)",
        "all_years": "all years",
        "region": "Whole region",
        "units_of_region": "the region's units",
        "no_data": "No data yet",
        "three_public": "three public expenses",
        "records": "{n} awards",
    },
}

METHODS = {
    "open_tender": ("公开招标", "Open tender"),
    "invited_tender": ("邀请招标", "Invited tender"),
    "competitive_negotiation": ("竞争性谈判", "Competitive negotiation"),
    "competitive_consultation": ("竞争性磋商", "Competitive consultation"),
    "single_source": ("单一来源", "Single source"),
    "rfq": ("询价", "Request for quotation"),
    "other": ("其他", "Other"),
}

STATUSES = {
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "insufficient_data": ("数据不足", "insufficient data"),
    "no_data": ("无数据", "no data"),
}


def t(lang: str, key: str, **kw) -> str:
    """The text for ``key`` in ``lang`` (Chinese when the language is unknown)."""
    text = TEXT.get(lang, TEXT["zh"])[key]
    return text.format(**kw) if kw else text


def method_name(code: str, lang: str) -> str:
    zh, en = METHODS.get(code, (code, code))
    return en if lang == "en" else zh


def status_name(code: str, lang: str) -> str:
    zh, en = STATUSES.get(code, (code, code))
    return en if lang == "en" else zh
