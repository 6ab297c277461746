"""Words of the portal's search, disclosure table, error pages and comparisons, Chinese first, English second.

Merged into the pages' ``_`` (``api.web.pages._base``), so templates look them up as ``_.key`` too.
"""

from __future__ import annotations

from ledger.read.published.phrasebook import ITEM_EN

_PAIRS = {
    "colon": ("：", ": "),
    "search": ("搜索", "Search"),
    "search_label": ("搜索单位、收款方、供应商、项目名称、摘要", "Search units, payees, suppliers, titles, descriptions"),
    "search_button": ("搜索", "Search"),
    "search_results": ("搜索结果", "Search results"),
    "search_none": ("没有找到包含该文字的记录。", "Nothing contains that text."),
    "search_short": ("少于三个字时逐条比对（不使用三字索引），结果相同。",
                     "Queries under three characters are matched by a scan instead of the trigram index; "
                     "the answers are the same."),
    "search_more": ("结果较多，仅显示前 {n} 条；请输入更长的文字。", "Only the first {n} hits are shown; type more."),
    "kind": ("类型", "Kind"),
    "text": ("内容", "Text"),
    "rows": ("笔数", "Rows"),
    "amount": ("金额", "Amount"),
    "disclosure": ("部门决算“三公”经费表", "Final accounts: the three public expenses"),
    "disclosure_city": ("“三公”经费表（全部单位合计）", "The three public expenses, all units"),
    "disclosure_city_partial": ("“三公”经费表（已报送单位合计，缺失不计为零）",
                                "The three public expenses, units that reported (missing is not zero)"),
    "item": ("项目", "Item"),
    "completion": ("完成预算", "Of budget"),
    "prior_actual": ("上年决算数", "Prior year actual"),
    "change_amount": ("增减金额", "Change"),
    "change_pct": ("增减幅度", "Change %"),
    "vs_prior": ("增减为本年决算数比上年决算数。", "Changes compare this year's actual with the prior year's."),
    "explanation": ("说明", "Explanation"),
    "units_reporting": ("有数据的单位", "Units with data"),
    "choose_year": ("选择年度", "Year"),
    "show": ("显示", "Show"),
    "error_title": ("出错了", "Something went wrong"),
    "not_found_title": ("页面不存在", "Page not found"),
    "not_found_text": ("没有这个页面或单位。可以搜索，或回到首页。", "There is no such page or unit. Search, or go back home."),
    "bad_request_title": ("请求有误", "Bad request"),
    "back_home": ("回到首页", "Back to the home page"),
    "lines": ("支出明细", "Line items"),
    "line_count": ("笔数", "Line items"),
    "page_sum": ("本页合计", "Sum of this page"),
    "yuan": ("元", "CNY"),
    "in_yuan": ("（元）", " (CNY)"),
    "date": ("日期", "Date"),
    "payee": ("收款方", "Payee"),
    "description": ("摘要", "Description"),
    "next_page": ("下一页", "Next page"),
    "csv_labelled": ("CSV 表格（中文表头，金额含元、万元）", "CSV (headers and categories named, amounts in yuan and 10k yuan)"),
    "csv_raw": ("CSV 原始字段（英文代码，金额为分）", "CSV with raw fields (codes, amounts in fen)"),
    "level": ("级次", "Level"),
    "region_col": ("区域", "Region"),
    "by_region": ("按区域", "By region"),
    "by_category": ("按类别", "By category"),
    "stage": ("预算阶段", "Budget stage"),
    "stage_original": ("年初预算", "Original budget"),
    "stage_adjusted": ("调整预算", "Adjusted budget"),
    "compare": ("对比", "Compare"),
    "compare_hint": ("选两个或更多单位并排对比；只选一个单位则按年度对比。",
                     "Pick two or more units to see them side by side, or one unit to see it year by year."),
    "compare_units": ("单位对比：三公经费决算数", "Units side by side: three public expenses, actual"),
    "compare_years": ("逐年对比：三公经费决算数", "Year by year: three public expenses, actual"),
    "compare_note": ("每格为决算数，下方为比上年增减幅度；条形为合计的相对大小。",
                     "Each cell is the actual amount with its change on the prior year below; bars compare totals."),
    "compare_link": ("逐年对比", "Year by year"),
    "compare_peers": ("与同级单位对比", "Against units of the same level"),
    "paren_open": ("（", " ("), "paren_close": ("）", ")"),
}

KIND_NAMES = {
    "unit": ("单位", "Unit"), "payee": ("收款方", "Payee"), "supplier": ("供应商", "Supplier"),
    "title": ("采购项目", "Procurement title"), "description": ("支出摘要", "Expense description"),
}



def texts(lang: str) -> dict[str, str]:
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in _PAIRS.items()}


def kind_name(kind: str, lang: str) -> str:
    return KIND_NAMES.get(kind, (kind, kind))[1 if lang == "en" else 0]


def item_name(code: str, name_zh: str, lang: str) -> str:
    return ITEM_EN.get(code, name_zh) if lang == "en" else name_zh
