"""Words on the public pages, Chinese first, English second. Templates look them up as ``_.key``."""

from __future__ import annotations

from ledger.review.workflow import STATE_ZH

_PAIRS = {
    "site": ("阳光账本", "Sunshine Ledger"),
    "tagline": ("公共支出与“三公”经费公开", "Public spending and the three public expenses, in the open"),
    "home": ("首页", "Home"),
    "flags": ("风险标记", "Red flags"),
    "unit_costs": ("单位成本与同级比较", "Unit costs against peers"),
    "unit_costs_note": ("单位成本 = 标明数量的支出 ÷ 数量；同级同类单位（同一级次、同一单位性质、同一年度；未填单位性质的单位"
                        "自成一组）按四分位距围栏比较：上限 = Q3 + k × 四分位距；同级同类单位不足时与本单位往年中位数比较。",
                        "Unit cost = spending that states a count ÷ the count; compared with units of the same level and "
                        "kind in the same year (units of no stated kind form their own group) by a fence: Q3 + k × IQR; "
                        "with too few peers, against the unit's own previous years."),
    "unit_cost": ("单位成本（元）", "Unit cost (CNY)"),
    "cost_metric": ("项目", "Measure"),
    "cost_count": ("数量", "Count"),
    "peer_group": ("比较对象", "Compared with"),
    "peer_median": ("中位数（元）", "Median (CNY)"),
    "fence": ("上限（元）", "Fence (CNY)"),
    "unit_kind": ("单位性质", "Unit kind"),
    "basis_peers": ("同级同类（{group}）{n}个单位", "{n} units of the same level and kind ({group})"),
    "basis_history": ("本单位前{years}年（同级同类（{group}）仅{n}个）",
                      "its previous {years} years (only {n} units of the same level and kind, {group})"),
    "basis_none": ("同级与往年数据均不足，不作比较", "too few peers and years: not judged"),
    "above_fence": ("超出上限", "above the fence"),
    "procurement": ("政府采购", "Procurement"),
    "data": ("数据下载", "Data"),
    "switch": ("English", "中文"),
    "region": ("全区", "Whole region"),
    "key_figures": ("关键数据", "Key figures"),
    "year": ("年度", "Year"),
    "units": ("预算单位", "Budget units"),
    "unit": ("单位", "Unit"),
    "three_public_actual": ("三公经费决算数", "Three public expenses, actual"),
    "chart_trend": ("三公经费预算与决算", "Three public expenses: budget and actual"),
    "chart_composition": ("三公经费构成", "Composition of the three public expenses"),
    "three_public_budget": ("三公经费预算数", "Three public expenses, budget"),
    "three_public_prior": ("上年三公经费决算数", "Three public expenses, prior year"),
    "change": ("较上年变化", "Change on prior year"),
    "four_fees_actual": ("四费决算数", "Four fees, actual"),
    "procurement_scale": ("政府采购规模（合同金额）", "Procurement scale (contract amount)"),
    "savings_rate": ("采购节约率", "Procurement savings rate"),
    "savings_rate_def": ("节约率 = （预算金额 − 合同金额）÷ 预算金额", "Savings rate = (budget − contract) ÷ budget"),
    "targets": ("压减目标", "Reduction targets"),
    "targets_met": ("达标", "met"),
    "targets_missed": ("未达标", "missed"),
    "targets_insufficient": ("数据不足", "insufficient data"),
    "flags_count": ("风险标记", "Red flags"),
    "latest_flags": ("最新风险标记", "Latest red flags"),
    "all_flags": ("全部风险标记", "All red flags"),
    "charts": ("图表", "Charts"),
    "wan": ("万元", "10k CNY"),
    "in_currency": ("（以{currency}计，非人民币，不与人民币相加）", " (in {currency}: never added to CNY)"),
    "year_unknown": ("年度未知", "year unknown"),
    "in_wan": ("（万元）", " (10k CNY)"),
    "category": ("类别", "Category"),
    "derived": ("推算", "derived"),
    "coverage": ("{year}年：{reported}/{expected}个单位已报送", "{year}: {reported} of {expected} units reported"),
    "headline_why": ("{latest}年仅{reported}/{expected}个单位报送，尚不完整；关键数据取最近完整年度{year}年。",
                     "Only {reported} of {expected} units have reported for {latest}, so the key figures are for "
                     "{year}, the latest complete year."),
    "headline_incomplete": ("{year}年仅{reported}/{expected}个单位报送，数据不完整（缺失不计为零）。",
                            "Only {reported} of {expected} units have reported for {year}: the figures are incomplete "
                            "(missing is not counted as zero)."),
    "prior_incomplete": ("上年仅{reported}/{expected}个单位报送，不计算变化", "prior year incomplete "
                         "({reported} of {expected} units): no change shown"),
    "missing_unit": ("未报送（缺失，不计为零）", "not reported (missing, not counted as zero)"),
    "no_prior": ("上年无数据", "no data for the prior year"),
    "original_budget": ("年初预算数", "Original budget"),
    "execution": ("执行数", "Execution"),
    "derived_note": ("“推算”：未公布该项，按下级分项或明细相加；其余为公布数。",
                     "“derived”: not published; the sum of its parts or line items. Every other figure is as published."),
    "budget": ("预算数", "Budget"),
    "actual": ("决算数", "Actual"),
    "no_data": ("暂无数据", "No data yet"),
    "no_flags": ("暂无风险标记", "No red flags"),
    "rule": ("规则", "Rule"),
    "message": ("说明", "Description"),
    "state": ("核查状态", "Review state"),
    "published_decision": ("已公开的处理意见", "Published decision"),
    "target": ("目标", "Target"),
    "status": ("结果", "Result"),
    "baseline": ("基数", "Baseline"),
    "cap": ("上限", "Cap"),
    "value": ("数值", "Value"),
    "measure": ("口径", "Measure"),
    "downloads": ("下载", "Downloads"),
    "data_as_of": ("数据截至", "Data as of"),
    "records": ("项目数", "Awards"),
    "budget_amount": ("预算金额", "Budget amount"),
    "contract_amount": ("合同金额", "Contract amount"),
    "savings": ("节约额", "Savings"),
    "method": ("采购方式", "Method"),
    "share": ("占比", "Share"),
    "by_year": ("分年度", "By year"),
    "by_method": ("按采购方式", "By method"),
    "api": ("开放接口（API）", "Open API"),
    "cite": ("引用方式", "How to cite"),
    "datasets": ("数据集", "Datasets"),
    "licence_note": ("数据可自由下载、使用和转载，请注明来源。", "The data may be downloaded, used and republished freely; please name the source."),
    "png": ("PNG 图片", "PNG image"),
    "svg": ("SVG 矢量图", "SVG vector"),
    "csv": ("CSV 表格", "CSV table"),
    "not_found": ("未找到该单位", "No such unit"),
    "print": ("本页可直接打印", "This page prints as shown"),
}

RULES = {
    "budget_overrun": ("超预算支出", "Budget overrun"),
    "target_missed": ("未完成压减目标", "Target missed"),
    "procurement_over_budget": ("采购合同超预算", "Contract above budget"),
    "single_source": ("单一来源采购", "Single-source award"),
    "split_purchase": ("疑似拆分采购", "Possible split purchase"),
    "supplier_concentration": ("供应商集中", "Supplier concentration"),
    "duplicate_payment": ("疑似重复支付", "Possible duplicate payment"),
    "per_capita_excess": ("人均接待超标准", "Reception per person above standard"),
    "unit_cost_outlier": ("单位成本高于同类", "Unit cost above peers"),
}

# Chinese names are the review workflow's own (ledger.review.STATE_ZH); English ones are ours.
STATES = {
    **{code: (zh, code.replace("_", " ")) for code, zh in STATE_ZH.items()},
    "resolved_by_data": ("数据更正后消除", "resolved by corrected data"),
}


def texts(lang: str) -> dict[str, str]:
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in _PAIRS.items()}


def rule_name(code: str, lang: str) -> str:
    return RULES.get(code, (code, code))[1 if lang == "en" else 0]


def state_name(code: str | None, lang: str) -> str:
    return STATES.get(code or "open", (code, code))[1 if lang == "en" else 0]
