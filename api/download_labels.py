"""Downloads people can open: ``?labels=zh|en`` gives human headers, category and method names, and every
amount in 元 and 万元 beside the exact fen.

Without ``labels`` a download keeps its machine columns (codes, ``*_fen`` and ``*_yuan``) unchanged, so
scripts and the datapackage schema keep working. With it, every column is still there and in the same
order; a named column follows each code column, and a ``*_wan`` column (万元, exact to six decimals) follows
each ``*_yuan``. Nothing is rounded: 万元 with six decimals is the fen amount exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from ledger.read.published.reports import METHODS_ZH
from ledger.read.queries import QueryError

LANGS = ("zh", "en")
# column → (中文, English)
HEADERS = {
    "id": ("编号", "ID"), "batch_id": ("导入批次", "Import batch"), "source_row": ("源文件行号", "Source row"),
    "unit_code": ("单位编码", "Unit code"), "unit_name": ("单位名称", "Unit name"), "unit_level": ("单位级次", "Unit level"),
    "unit_kind": ("单位性质", "Unit kind"),
    "fiscal_year": ("年度", "Fiscal year"), "entry_date": ("日期", "Date"), "category_code": ("类别代码", "Category code"),
    "currency": ("币种", "Currency"), "payee": ("收款方", "Payee"), "description": ("摘要", "Description"),
    "payee_type": ("收款方类型", "Payee type"), "supplier_type": ("供应商类型", "Supplier type"),
    "voucher_no": ("凭证号", "Voucher no."), "persons": ("人次", "Persons"), "batches": ("批次/团组数", "Batches or groups"),
    "vehicles": ("车辆数", "Vehicles"), "days": ("天数", "Days"), "created_at": ("发布时间", "Published at"), "stage": ("预算阶段", "Budget stage"),
    "project_code": ("项目编号", "Project code"), "ocid": ("OCDS 编号", "OCID"), "title": ("项目名称", "Title"),
    "method": ("采购方式代码", "Method code"), "ocds_method": ("OCDS 采购方式", "OCDS method"),
    "supplier_name": ("供应商名称", "Supplier"), "supplier_id": ("统一社会信用代码", "Supplier ID"),
    "tender_date": ("招标日期", "Tender date"), "award_date": ("中标日期", "Award date"),
    "contract_date": ("合同日期", "Contract date"), "code": ("单位编码", "Unit code"), "name": ("单位名称", "Unit name"),
    "level": ("级次", "Level"), "region": ("区域", "Region"), "parent_code": ("上级单位编码", "Parent unit code"),
    "rule_code": ("规则代码", "Rule code"), "state": ("核查状态", "Review state"), "message_zh": ("说明（中文）", "Message (Chinese)"),
    "message_en": ("说明（英文）", "Message (English)"), "status": ("状态", "Status"), "target_id": ("目标编号", "Target id"),
    "kind": ("类型", "Kind"), "published_decision": ("已公开的处理结果", "Published decision"),
    "published_note": ("已公开的处理意见", "Published note"), "published_at": ("公开时间", "Published at"), "file_name": ("文件名", "File name"), "submitted_by": ("提交人", "Submitted by"),
}
MONEY = {
    "amount": ("金额", "Amount"), "budget": ("预算金额", "Budget amount"), "contract": ("合同金额", "Contract amount"),
    "control_total": ("控制总额", "Control total"), "baseline": ("基数", "Baseline"), "cap": ("上限", "Cap"),
    "value": ("实际值", "Value"), "excess": ("超出额", "Excess"),
}
UNITS = {"fen": ("（分）", " (fen)"), "yuan": ("（元）", " (yuan)"), "wan": ("（万元）", " (10k yuan)")}
NAMED = {"category_code": ("类别", "Category"), "method": ("采购方式", "Method"), "stage": ("预算阶段名称", "Budget stage name")}
STAGES = {"original": ("年初预算", "Original"), "adjusted": ("调整预算", "Adjusted")}
METHODS_EN = {"open_tender": "Open tender", "invited_tender": "Invited tender",
              "competitive_negotiation": "Competitive negotiation", "competitive_consultation": "Competitive consultation",
              "single_source": "Single source", "rfq": "Request for quotation", "other": "Other"}
_WAN = Decimal(1_000_000)


def check(labels: str | None) -> str | None:
    if labels is not None and labels not in LANGS:
        raise QueryError("labels", "use zh or en")
    return labels


def header(name: str, lang: str) -> str:
    i = 1 if lang == "en" else 0
    for suffix, words in UNITS.items():
        base = name.removesuffix(f"_{suffix}")
        if base != name and base in MONEY:
            return MONEY[base][i] + words[i]
    if name in NAMED and name not in HEADERS:
        return NAMED[name][i]
    return HEADERS.get(name, (name, name))[i]


def labelled(fields: list[tuple[str, str]], chunks: Iterable[Iterable[tuple]], lang: str,
             categories: dict[str, tuple[str, str]]) -> tuple[list[tuple[str, str]], Iterator[list[tuple]]]:
    """Human ``(header, type)`` fields and the rows with named and 万元 columns added."""
    i = 1 if lang == "en" else 0
    plan: list[tuple[int, Any]] = []  # (source index, how to make an added value or None to copy)
    out: list[tuple[str, str]] = []
    for idx, (name, typ) in enumerate(fields):
        out.append((header(name, lang), typ))
        plan.append((idx, None))
        if name == "category_code":
            out.append((NAMED[name][i], "string"))
            plan.append((idx, lambda v: categories.get(v, (v, v))[i] if v else None))
        elif name == "method":
            out.append((NAMED[name][i], "string"))
            plan.append((idx, lambda v: (METHODS_EN if i else METHODS_ZH).get(v, v) if v else None))
        elif name == "stage":
            out.append((NAMED[name][i], "string"))
            plan.append((idx, lambda v: STAGES.get(v, (v, v))[i] if v else None))
        elif name.endswith("_yuan") and f"{name.removesuffix('_yuan')}_fen" in dict(fields):
            fen_idx = [n for n, _ in fields].index(f"{name.removesuffix('_yuan')}_fen")
            out.append((header(name.removesuffix("_yuan") + "_wan", lang), "number"))
            plan.append((fen_idx, lambda v: None if v is None else str((Decimal(v) / _WAN).quantize(Decimal("0.000001")))))

    def rows() -> Iterator[list[tuple]]:
        for chunk in chunks:
            yield [tuple(row[s] if f is None else f(row[s]) for s, f in plan) for row in chunk]

    return out, rows()
