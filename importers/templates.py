"""Blank import templates a clerk fills in: CSV (UTF-8 with BOM, Chinese headers) and XLSX.

The XLSX has three sheets: ``填写`` (the headers, drop-down lists for categories, stages, methods and levels,
whole-number checks for years and counts, text cells for codes and dates so Excel keeps leading zeros and
never turns 2024-03-01 into a serial number), ``示例（不导入）`` (the headers and one example row) and
``填写说明`` (every column: required or not, what to write, the example, the same in English). The importer
skips the example and notes sheets by name, so the filled-in workbook imports as it is.

``sunshine template KIND`` writes ``KIND.csv`` and ``KIND.xlsx``; the files in ``templates/`` are its output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from importers.sheets.columns import DISCLOSURE_ITEMS, DISCLOSURE_STAGES, REQUIRED
from importers.sheets.sources import TEMPLATE_SHEETS
from ledger.store.unit_terms import KINDS_EN

DATA_SHEET = "填写"
EXAMPLE_SHEET, NOTES_SHEET = TEMPLATE_SHEETS  # importers.sheets.sources skips these by name: never imported
ROWS = 5000  # rows of the data sheet that carry the drop-downs and checks

# The categories seeded by migration 0001 (a region may add its own; pass them to ``write_xlsx``).
CATEGORIES = ["因公出国(境)费", "公务用车购置费", "公务用车运行维护费", "公务接待费", "会议费", "学习考察费",
              "交通费", "培训费", "其他"]
STAGES = ["年初预算", "调整预算"]
METHODS = ["公开招标", "邀请招标", "竞争性谈判", "竞争性磋商", "单一来源", "询价"]
LEVELS = ["省级", "市级", "区县级", "乡镇级"]
UNIT_KINDS = list(KINDS_EN)
RESOURCES = ["电", "油", "水"]
MEASURE_UNITS = ["千瓦时", "度", "升", "立方米", "吨"]
FIXED = dt.datetime(2026, 1, 1)  # workbook timestamps, so the same template is the same bytes


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    example: str
    zh: str
    en: str
    kind: str = "text"  # text | code | year | date | amount | count | quantity | category | stage | method | level
    #                     | unit_kind | resource | measure


def _common(example_code="101001", example_name="阳光市人民政府办公室") -> list[Column]:
    return [
        Column("单位编码", "unit_code", example_code, "单位名录中的单位编码（先导入单位名录）",
               "the unit's code in the unit register (import the register first)", "code"),
        Column("单位名称", "unit_name", example_name, "单位全称", "the unit's full name"),
        Column("年度", "fiscal_year", "2024", "四位数年份，如 2024", "the fiscal year, four digits", "year"),
    ]


_DATE_ZH = "写成 YYYY-MM-DD，如 2024-03-01（也可 2024/03/01、2024年3月1日）"
_DATE_EN = "YYYY-MM-DD, e.g. 2024-03-01 (2024/03/01 and 2024年3月1日 also work)"

TEMPLATES: dict[str, list[Column]] = {
    "units": [
        Column("单位编码", "unit_code", "101001", "本单位编码，唯一", "the unit's code, unique", "code"),
        Column("单位名称", "unit_name", "阳光市人民政府办公室", "单位全称", "the unit's full name"),
        Column("上级单位编码", "parent_code", "", "上级单位的编码；没有上级则留空",
               "the parent unit's code; blank for none", "code"),
        Column("级次", "level", "市级", "从下拉列表选：省级、市级、区县级、乡镇级",
               "pick from the list: province, city, district/county, township", "level"),
        Column("地区", "region", "市本级", "所在地区或行政区划", "region or administrative area"),
        Column("单位性质", "kind", "行政单位", "从下拉列表选：行政单位、参照公务员法管理事业单位（参公）、事业单位、其他；可留空",
               "pick from the list: administrative unit, public institution managed as civil service (参公), "
               "public institution, other; may be blank", "unit_kind"),
    ],
    "expenses": [
        *_common(),
        Column("日期", "date", "2024-03-01", _DATE_ZH, _DATE_EN, "date"),
        Column("类别", "category", "公务接待费", "从下拉列表选支出类别（也可写类别编码，如 reception）",
               "pick the category from the list (or write its code, e.g. reception)", "category"),
        Column("金额(元)", "amount", "1234.56", "单位：元，最多两位小数；负数（冲销）写 -5 或 (5.00)",
               "in 元 (yuan), at most two decimals; a reversal as -5 or (5.00)", "amount"),
        Column("收款方", "payee", "阳光宾馆", "收款单位或个人", "who was paid"),
        Column("收款方类型", "payee_type", "单位", "单位 或 个人（个人姓名公开时隐去）；可留空",
               "单位 (organisation) or 个人 (person: the name is hidden on publication); may be blank"),
        Column("摘要", "description", "接待省财政厅调研组", "用途", "what it was for"),
        Column("凭证号", "voucher_no", "2024-03-015", "会计凭证号（用于识别重复导入）",
               "the accounting voucher number (recognises rows imported twice)", "code"),
        Column("人次", "persons", "12", "接待或出行人次，非负整数", "persons served or travelling, a whole number",
               "count"),
        Column("批次", "batches", "1", "接待批次或团组数，非负整数", "reception batches or groups, a whole number",
               "count"),
        Column("天数", "days", "", "会议天数（会议费填写），非负整数；可留空", "a meeting's days (for 会议费), a whole number; may be blank",
               "count"),
    ],
    "budgets": [
        *_common(),
        Column("类别", "category", "会议费", "从下拉列表选支出类别", "pick the category from the list", "category"),
        Column("阶段", "stage", "年初预算", "年初预算 或 调整预算（留空为年初预算）",
               "original (年初预算) or adjusted (调整预算); blank is original", "stage"),
        Column("金额(万元)", "amount", "5.00", "单位：万元，最多六位小数", "in 万元 (10,000 yuan), at most six decimals",
               "amount"),
    ],
    "procurement": [
        Column("项目编号", "project_code", "YGCG-2024-001", "采购项目编号", "the procurement project number", "code"),
        *_common(),
        Column("项目名称", "title", "办公设备采购", "采购项目名称", "the project's title"),
        Column("采购方式", "method", "公开招标", "从下拉列表选采购方式", "pick the procurement method from the list",
               "method"),
        Column("预算金额(万元)", "budget_amount", "120.00", "单位：万元", "in 万元 (10,000 yuan)", "amount"),
        Column("合同金额(万元)", "contract_amount", "108.50", "单位：万元；中标或成交金额",
               "in 万元; the awarded or contracted amount", "amount"),
        Column("供应商名称", "supplier_name", "阳光办公设备有限公司", "中标或成交供应商", "the winning supplier"),
        Column("统一社会信用代码", "supplier_id", "91430700MA4L00000X", "供应商的 18 位统一社会信用代码",
               "the supplier's 18-character unified social credit code", "code"),
        Column("供应商类型", "supplier_type", "单位", "单位 或 个人（个人姓名公开时隐去）；可留空",
               "单位 (organisation) or 个人 (person: the name is hidden on publication); may be blank"),
        Column("招标日期", "tender_date", "2024-04-01", _DATE_ZH, _DATE_EN, "date"),
        Column("中标日期", "award_date", "2024-04-20", _DATE_ZH, _DATE_EN, "date"),
        Column("合同日期", "contract_date", "2024-05-06", _DATE_ZH, _DATE_EN, "date"),
    ],
    "consumption": [
        *_common(),
        Column("日期", "date", "2024-12-31", _DATE_ZH + "；没有年度列时用来定年度", _DATE_EN + "; gives the year when 年度 is blank",
               "date"),
        Column("资源", "resource", "电", "从下拉列表选：电、油、水", "pick from the list: electricity, fuel, water", "resource"),
        Column("用量", "quantity", "12500", "非负数，至多三位小数", "a non-negative number, at most three decimals",
               "quantity"),
        Column("计量单位", "measure_unit", "千瓦时", "电：千瓦时/度；油：升；水：立方米/吨",
               "electricity kWh (千瓦时, 度), fuel L (升), water m3 (立方米, 吨)", "measure"),
    ],
}

# 部门决算“三公”经费表: the published tree for each stage (预算数, 调整预算数, 执行数, 决算数); the example fills
# 预算数 and 决算数 and adds up (合计 = 出国 + 用车 + 接待, 用车 = 购置 + 运行), the other stages stay blank
_ITEMS = DISCLOSURE_ITEMS
_STAGE_EN = {"budget": "budget", "adjusted": "adjusted budget", "execution": "execution (mid-year)",
             "actual": "final accounts"}
_EXAMPLE = {"budget": ["30.00", "10.00", "15.00", "5.00", "10.00", "5.00"],
            "actual": ["27.50", "8.00", "14.50", "4.50", "10.00", "5.00"]}
_COUNTS = [("overseas_groups", "因公出国团组数", "2"), ("overseas_persons", "因公出国人次", "6"),
           ("vehicles_purchased", "公务用车购置数", "1"), ("vehicles_held", "公务用车保有量", "8"),
           ("reception_batches", "公务接待批次", "20"), ("reception_persons", "公务接待人次", "150")]
TEMPLATES["disclosure"] = [
    *_common(),
    *[Column(f"{zh_m}_{name}(万元)", f"{m}_{item}", _EXAMPLE.get(m, [""] * len(_ITEMS))[i],
             f"{zh_m}，单位：万元；没有公布的留空（空白不是零）",
             f"{_STAGE_EN[m]}, in 万元; leave blank when not published (blank is not zero)", "amount")
      for m, zh_m in DISCLOSURE_STAGES for i, (item, name) in enumerate(_ITEMS)],
    *[Column(h, f, ex, "非负整数；没有公布的留空", "a whole number; blank when not published", "count")
      for f, h, ex in _COUNTS],
]
KINDS = tuple(TEMPLATES)


def csv_bytes(kind: str, example: bool = False) -> bytes:
    """The CSV template: UTF-8 with BOM (Excel on Chinese Windows opens it right), Chinese headers;
    ``example`` adds the example row (for the docs and tests, not for the clerk's blank form)."""
    cols = TEMPLATES[kind]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([c.header for c in cols])
    if example:
        w.writerow([c.example for c in cols])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(kind: str, categories: list[str] | None = None, rows: list[list[str]] | None = None) -> bytes:
    """The XLSX template: data sheet with drop-downs and checks, an example sheet, a notes sheet.
    ``rows`` pre-fills the data sheet (text cells), e.g. to hand a unit its own register lines."""
    import xlsxwriter

    cols = TEMPLATES[kind]
    lists = {"category": categories or CATEGORIES, "stage": STAGES, "method": METHODS, "level": LEVELS,
             "unit_kind": UNIT_KINDS, "resource": RESOURCES, "measure": MEASURE_UNITS}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"title": f"阳光账本导入模板：{kind}", "created": FIXED, "author": "Sunshine Ledger"})
    head = wb.add_format({"bold": True, "bg_color": "#FFF2CC", "border": 1, "text_wrap": True, "valign": "top"})
    need = wb.add_format({"bold": True, "bg_color": "#F8CBAD", "border": 1, "text_wrap": True, "valign": "top"})
    text = wb.add_format({"num_format": "@"})
    money = wb.add_format({"num_format": "#,##0.00"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    required = set(REQUIRED.get(kind, []))

    data, example = wb.add_worksheet(DATA_SHEET), wb.add_worksheet(EXAMPLE_SHEET)
    for ws in (data, example):
        ws.freeze_panes(1, 0)
        for j, c in enumerate(cols):
            fmt = text if c.kind in ("code", "date", "text", "category", "stage", "method", "level", "unit_kind",
                                     "resource", "measure") else (
                money if c.kind == "amount" else None)
            ws.set_column(j, j, max(12, len(c.header) * 2 + 2), fmt)
            ws.write_string(0, j, c.header, need if c.field in required else head)
    for i, row in enumerate(rows or [], start=1):
        for j, value in enumerate(row):
            if value:
                data.write_string(i, j, value)
    for j, c in enumerate(cols):
        if c.example:
            example.write_string(1, j, c.example)
        rule = {"validate": "any"}
        if c.kind in lists:
            rule = {"validate": "list", "source": lists[c.kind], "error_title": "请从列表中选择",
                    "error_message": "请从下拉列表中选择 / pick a value from the list"}
        elif c.kind == "year":
            rule = {"validate": "integer", "criteria": "between", "minimum": 1900, "maximum": 2100,
                    "error_title": "年度", "error_message": "四位数年份 / a four-digit year"}
        elif c.kind == "count":
            rule = {"validate": "integer", "criteria": ">=", "value": 0,
                    "error_title": "非负整数", "error_message": "非负整数 / a whole number, 0 or more"}
        rule |= {"input_title": c.header[:32], "input_message": f"{c.zh}\n{c.en}"[:255]}
        data.data_validation(1, j, ROWS, j, rule)

    notes = wb.add_worksheet(NOTES_SHEET)
    notes.set_column(0, 0, 26, wrap)
    notes.set_column(1, 1, 8, wrap)
    notes.set_column(2, 2, 48, wrap)
    notes.set_column(3, 3, 22, wrap)
    notes.set_column(4, 4, 48, wrap)
    intro = [
        f"在“{DATA_SHEET}”表中每行填写一条记录；“{EXAMPLE_SHEET}”表是示例，不会导入。红色表头为必填列。",
        f"Fill one record per row in the sheet {DATA_SHEET}; the sheet {EXAMPLE_SHEET} is an example and is never "
        "imported. Red headers are required.",
        f"导入 / import: sunshine import {kind} 文件.xlsx --dry-run  （先检查，再去掉 --dry-run 正式导入）",
        "金额单位以列名为准（元 / 万元）；空白表示未公布，不是零。 Amounts are in the unit the header names; "
        "blank means not published, never zero.",
    ]
    for i, line in enumerate(intro):
        notes.write_string(i, 0, line)
    notes.write_row(len(intro) + 1, 0, ["列名 Column", "必填", "填写要求", "示例 Example", "Note"], head)
    for i, c in enumerate(cols, start=len(intro) + 2):
        allowed = f"；可选：{'、'.join(lists[c.kind])}" if c.kind in lists else ""
        notes.write_row(i, 0, [c.header, "是" if c.field in required else "", c.zh + allowed, c.example, c.en])
    wb.close()
    return buf.getvalue()


def write(kind: str, out: Path, formats: tuple[str, ...] = ("csv", "xlsx"),
          categories: list[str] | None = None) -> list[Path]:
    """Write ``KIND.csv`` and/or ``KIND.xlsx`` into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / f"{kind}.{fmt}"
        path.write_bytes(csv_bytes(kind) if fmt == "csv" else xlsx_bytes(kind, categories))
        written.append(path)
    return written
