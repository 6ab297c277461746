"""Which column is which: our field names, their Chinese and English headers, and user mappings.

Headers match ignoring case, spaces, ``_`` and ``-``, and full-width/half-width forms; a unit in
brackets (``金额(万元)``, ``预算数_合计（万元）``) sets that column's amount unit. A publisher whose
headers we do not know writes a mapping TOML (``--columns``)::

    [columns]            # our field = their header
    amount = "Net amount"
    [categories]         # their label = our category code ("*" catches the rest)
    "Car Allowances" = "transport"
    [options]
    currency = "GBP"     # ISO 4217; never summed with CNY
    date_format = "%d/%m/%Y"
    amount_unit = "万元" # 元 | 万元 | 亿元 (or yuan | wan | yi)
    ignore = ["Body"]    # their columns we leave out on purpose
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from importers.sheets.safety import Refused
from ledger.amount_units import UnknownAmountUnit, amount_unit, amount_unit_or_none

# field -> (type, aliases). Types: text, code, year, date, amount, count, category, stage, method, currency.
COMMON = {
    "unit_code": ("code", ["单位编码", "单位代码", "预算单位编码", "unit_code", "unit code"]),
    "unit_name": ("text", ["单位名称", "预算单位", "单位", "unit_name", "unit name", "unit"]),
    "fiscal_year": ("year", ["年度", "年份", "预算年度", "fiscal_year", "fiscal year", "year"]),
    "currency": ("currency", ["币种", "货币", "currency"]),
}
KINDS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "expenses": COMMON | {
        "date": ("date", ["日期", "支付日期", "支出日期", "date", "entry_date", "date paid"]),
        "category": ("category", ["类别", "支出类别", "费用类别", "经费类别", "category"]),
        "amount": ("amount", ["金额", "支出金额", "决算数", "amount"]),
        "payee": ("text", ["收款方", "收款人", "收款单位", "payee"]),
        "payee_type": ("text", ["收款方类型", "收款人类型", "收款方性质", "payee_type", "payee type"]),
        "description": ("text", ["摘要", "说明", "用途", "description"]),
        "voucher_no": ("code", ["凭证号", "凭证编号", "voucher_no", "voucher"]),
        "persons": ("count", ["人次", "人数", "persons"]),
        "batches": ("count", ["批次", "团组数", "batches"]),
        "days": ("count", ["天数", "会期天数", "会议天数", "会期", "days"]),
    },
    "budgets": COMMON | {
        "category": ("category", ["类别", "支出类别", "费用类别", "category"]),
        "stage": ("stage", ["阶段", "预算阶段", "预算类型", "stage"]),
        "amount": ("amount", ["金额", "预算金额", "预算数", "amount"]),
    },
    "procurement": COMMON | {
        "project_code": ("code", ["项目编号", "采购项目编号", "project_code", "project code"]),
        "title": ("text", ["项目名称", "采购项目名称", "title"]),
        "method": ("method", ["采购方式", "method", "procurement_method"]),
        "budget_amount": ("amount", ["预算金额", "采购预算", "budget_amount", "budget amount"]),
        "contract_amount": ("amount", ["合同金额", "中标金额", "成交金额", "contract_amount", "contract amount"]),
        "supplier_name": ("text", ["供应商名称", "供应商", "中标供应商", "supplier_name", "supplier"]),
        "supplier_id": ("code", ["统一社会信用代码", "供应商统一社会信用代码", "supplier_id"]),
        "supplier_type": ("text", ["供应商类型", "供应商性质", "supplier_type", "supplier type"]),
        "tender_date": ("date", ["招标日期", "公告日期", "tender_date"]),
        "award_date": ("date", ["中标日期", "成交日期", "award_date"]),
        "contract_date": ("date", ["合同日期", "合同签订日期", "签订日期", "contract_date"]),
    },
}
DISCLOSURE_ITEMS = [  # field suffix, 中文 item as published
    ("total", "合计"),
    ("overseas_travel", "因公出国(境)费"),
    ("vehicles", "公务用车购置及运行维护费"),
    ("vehicle_purchase", "公务用车购置费"),
    ("vehicle_operation", "公务用车运行维护费"),
    ("reception", "公务接待费"),
]
DISCLOSURE_STAGES = [  # field prefix, 中文 stage as published (预算数 budget, 调整预算数, 执行数, 决算数 final)
    ("budget", "预算数"), ("adjusted", "调整预算数"), ("execution", "执行数"), ("actual", "决算数"),
]
DISCLOSURE_COUNTS = {
    "overseas_groups": ["因公出国团组数", "因公出国(境)团组数", "团组数"],
    "overseas_persons": ["因公出国人次", "因公出国(境)人次"],
    "vehicles_purchased": ["公务用车购置数", "购置数", "购置车辆数"],
    "vehicles_held": ["公务用车保有量", "保有量"],
    "reception_batches": ["公务接待批次", "接待批次"],
    "reception_persons": ["公务接待人次", "接待人次"],
}
KINDS["disclosure"] = (
    {k: v for k, v in COMMON.items()}
    | {f"{m}_{item}": ("amount", [f"{zh}_{name}", f"{m}_{item}"])
       for m, zh in DISCLOSURE_STAGES for item, name in DISCLOSURE_ITEMS}
    | {k: ("count", [*v, k]) for k, v in DISCLOSURE_COUNTS.items()}
)
KINDS["units"] = {
    "unit_code": COMMON["unit_code"],
    "unit_name": COMMON["unit_name"],
    "parent_code": ("code", ["上级单位编码", "上级单位代码", "上级编码", "parent_code", "parent code", "parent"]),
    "level": ("text", ["级次", "单位级次", "级别", "层级", "level"]),
    "region": ("text", ["地区", "行政区划", "区域", "region"]),
    "kind": ("text", ["单位性质", "单位类型", "单位类别", "kind", "unit type", "unit kind"]),
}
KINDS["consumption"] = COMMON | {
    "date": ("date", ["日期", "抄表日期", "date"]),
    "resource": ("text", ["资源", "能源类别", "能源", "资源类别", "resource"]),
    "quantity": ("text", ["用量", "消耗量", "数量", "quantity", "amount used"]),
    "measure_unit": ("text", ["计量单位", "单位（计量）", "measure_unit", "measure unit", "uom"]),
}
KINDS["procurement-summary"] = COMMON | {  # published 政府采购情况表 (importers/procurement/summary.py)
    "period": ("text", ["期间", "统计期间", "月份", "季度", "period", "month"]),
    "method": ("text", ["采购方式", "采购组织形式", "method", "procurement_method"]),
    "item_kind": ("text", ["采购类别", "品目类别", "采购品目", "项目类别", "类别", "item_kind", "category"]),
    "projects": ("text", ["项目数", "采购项目数", "项目数量", "项数", "projects", "project count"]),
    "budget_amount": ("amount", ["采购预算", "采购预算金额", "预算金额", "budget_amount", "budget"]),
    "contract_amount": ("amount", ["合同金额", "采购合同金额", "中标金额", "成交金额", "采购规模", "contract_amount",
                                   "contract"]),
    "savings_amount": ("amount", ["节约金额", "节约资金", "节支金额", "节约预算资金", "savings_amount", "savings"]),
}
REQUIRED = {
    "consumption": ["unit_code", "resource", "quantity"],
    "units": ["unit_code", "unit_name"],
    "expenses": ["unit_code", "fiscal_year", "category", "amount"],
    "budgets": ["unit_code", "fiscal_year", "category", "amount"],
    "procurement": ["unit_code", "fiscal_year", "method"],
    "disclosure": ["unit_code", "fiscal_year"],
    "procurement-summary": ["fiscal_year"],
}
_UNIT_SUFFIX = re.compile(r"^(.+?)\(([^()]+)\)$")  # a last bracket naming a unit: 金额(万元), amount(10k yuan)


def norm(header: str) -> str:
    """The form headers are compared in: NFKC, lower case, no spaces, underscores or dashes."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", header).lower())


def split_unit(header: str) -> tuple[str, str | None]:
    n = norm(header)
    m = _UNIT_SUFFIX.match(n)
    unit = amount_unit_or_none(m.group(2)) if m else None
    return (m.group(1), unit) if unit else (n, None)


def alias_table(kind: str) -> dict[str, str]:
    return {norm(a): name for name, (_, aliases) in KINDS[kind].items() for a in [name, *aliases]}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # our field -> their header
    categories: dict[str, str] = field(default_factory=dict)  # their label -> our code
    currency: str | None = None
    date_format: str | None = None
    amount_unit: str | None = None
    ignore: list[str] = field(default_factory=list)
    source: str | None = None

    @classmethod
    def load(cls, path: Path, kind: str) -> Mapping:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise Refused("file-unreadable", f"mapping {path.name}: {e}") from None
        columns = {str(k): str(v) for k, v in data.get("columns", {}).items()}
        unknown = sorted(set(columns) - set(KINDS[kind]) - {"date"})
        if unknown:
            raise Refused("file-unreadable", f"mapping {path.name}: no field {', '.join(unknown)} in {kind}")
        opts = data.get("options", {})
        unit = opts.get("amount_unit")
        if unit is not None:
            try:
                unit = amount_unit(unit)
            except UnknownAmountUnit:
                raise Refused("file-unreadable", f"mapping {path.name}: amount_unit must be 元, 万元 or 亿元 "
                                                 f"(yuan, wan, yi), got {unit!r}") from None
        return cls(
            columns=columns,
            categories={str(k): str(v) for k, v in data.get("categories", {}).items()},
            currency=opts.get("currency"),
            date_format=opts.get("date_format"),
            amount_unit=unit,
            ignore=[str(x) for x in opts.get("ignore", [])],
            source=path.name,
        )


@dataclass
class Placement:
    fields: dict[str, str]  # our field -> their header (as in the file)
    units: dict[str, str | None]  # our amount field -> unit from its header, if any
    unplaced: list[str]
    missing: list[str]
    duplicates: list[str]


def place(headers: list[str], kind: str, mapping: Mapping | None) -> Placement:
    """Match a sheet's headers to our fields (mapping first, then known aliases)."""
    aliases = alias_table(kind)
    fields: dict[str, str] = {}
    units: dict[str, str | None] = {}
    used: set[str] = set()
    duplicates: list[str] = []
    by_norm = {}
    for h in headers:
        by_norm.setdefault(split_unit(h)[0], h)
        by_norm.setdefault(norm(h), h)
    if mapping:
        for ours, theirs in mapping.columns.items():
            h = theirs if theirs in headers else by_norm.get(split_unit(theirs)[0])
            if h is not None:
                fields[ours] = h
                units[ours] = split_unit(h)[1]
                used.add(h)
    for h in headers:
        if h in used:
            continue
        base, unit = split_unit(h)
        ours = aliases.get(base) or aliases.get(norm(h))
        if ours is None:
            continue
        if ours in fields:
            duplicates.append(h)
            continue
        fields[ours] = h
        units[ours] = unit
        used.add(h)
    if kind == "expenses" and "date" in fields and "fiscal_year" not in fields:
        fields["fiscal_year"] = ""  # derived from the date; see importers.kinds
    ignored = {norm(x) for x in (mapping.ignore if mapping else [])}
    unplaced = [h for h in headers if h not in used and norm(h) not in ignored and h not in duplicates]
    missing = [f for f in REQUIRED[kind] if f not in fields]
    return Placement(fields, units, unplaced, missing, duplicates)


def header_matcher(kind: str, mapping: Mapping | None):
    """A predicate telling a header row from a title row: at least two cells we can place."""
    known = set(alias_table(kind))
    if mapping:
        known |= {split_unit(v)[0] for v in mapping.columns.values()}

    def one(cell: str) -> bool:
        return split_unit(str(cell))[0] in known or norm(str(cell)) in known

    def is_header(cells: list[str]) -> bool:
        return sum(1 for c in cells if one(c)) >= 2

    is_header.known = one  # for two-row headers (see importers.sheets.sources.header_block)
    return is_header
