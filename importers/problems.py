"""Problems found in a file, collected into a report rather than raised.

A problem is ``(file, sheet, row, column, value, code, severity)``; ``row`` is the row number the
clerk sees in a spreadsheet (header = row 1 unless title rows sit above it). Severities:

- ``error``: the file is refused and nothing is written;
- ``warning``: loaded, but the report says so (e.g. duplicates the user confirmed);
- ``finding``: a published table that does not add up; loaded as published and stored as a
  ``data_quality_finding``.

Messages are rendered from ``MESSAGES`` by code, in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger.money import ERRORS as AMOUNT_ERRORS

# code -> (中文, English); ``{value}`` and ``{detail}`` are filled in.
MESSAGES: dict[str, tuple[str, str]] = {
    **{code: (f"“{{value}}”{zh}", f'"{{value}}" {en}') for code, (zh, en) in AMOUNT_ERRORS.items()},
    "amount-missing": ("缺少金额", "the amount is missing"),
    "value-missing": ("缺少必填值", "a required value is missing"),
    "year-invalid": ("“{value}”不是年度", '"{value}" is not a year'),
    "date-invalid": ("“{value}”不是日期", '"{value}" is not a date (use YYYY-MM-DD)'),
    "date-year-mismatch": ("日期与年度不一致", 'the date "{value}" is outside the fiscal year'),
    "count-invalid": ("“{value}”不是非负整数", '"{value}" is not a whole number'),
    "category-unknown": ("未知类别“{value}”", 'unknown category "{value}"'),
    "method-unknown": ("未知采购方式“{value}”", 'unknown procurement method "{value}"'),
    "stage-unknown": ("未知预算阶段“{value}”", 'unknown budget stage "{value}" (original or adjusted)'),
    "currency-invalid": ("“{value}”不是币种代码", '"{value}" is not a three-letter currency code'),
    "text-too-long": ("文本过长", "the text is too long"),
    "column-missing": ("缺少必需列 {value}", "required column {value} is missing"),
    "column-unplaced": ("无法识别的列“{value}”", 'column "{value}" could not be placed'),
    "column-duplicate": ("列“{value}”出现多次", 'column "{value}" appears more than once'),
    "header-not-found": ("找不到表头", "no header row found{detail}"),
    "config-invalid": ("配置文件有误：{detail}", "the configuration is not valid: {detail}"),
    "resource-unknown": ("未知资源“{value}”（电、油、水）", 'unknown resource "{value}" (electricity, fuel or water)'),
    "measure-unit-invalid": ("计量单位“{value}”不适用：{detail}", 'measure unit "{value}" does not fit: {detail}'),
    "quantity-invalid": ("“{value}”不是有效用量（非负数，至多三位小数）",
                         '"{value}" is not a quantity (a non-negative number with at most three decimals)'),
    "file-empty": ("文件为空", "the file is empty"),
    "no-rows": ("没有数据行", "the file has no data rows"),
    "file-unreadable": ("无法读取文件", "the file cannot be read: {detail}"),
    "encoding-unknown": ("无法识别文件编码", "the encoding could not be recognised; use --encoding{detail}"),
    "encoding-uncertain": ("编码判断把握不大，按 {value} 读取（{detail}）；如文字有乱码，请用 --encoding 指定编码重新导入",
                           "the encoding is a guess: read as {value} ({detail}); if text looks garbled, import "
                           "again with --encoding"),
    "file-too-large": ("文件过大", "the file is too large: {detail}"),
    "too-many-rows": ("行数过多", "too many rows: {detail}"),
    "zip-bomb": ("压缩文件异常", "refused before parsing: {detail}"),
    "xml-entity": ("拒绝含 DTD/实体的 XML", "XML with a DTD or entities is refused ({detail})"),
    "json-invalid": ("JSON 无效", "not valid JSON: {detail}"),
    "json-too-deep": ("JSON 嵌套过深", "JSON nested too deep"),
    "json-duplicate-key": ("JSON 键重复", 'duplicate key "{value}"'),
    "json-not-rows": ("JSON 不是行的数组", "JSON must be an array of flat objects (or JSON Lines)"),
    "total-mismatch": ("合计与明细不符", "the stated total {value} differs from the detail by {detail}"),
    "row-duplicate": ("与第 {detail} 行完全重复", "duplicates row {detail}"),
    "probable-duplicate": ("疑似已导入", "probably already in the ledger ({detail}); held back"),
    "already-imported": ("已导入", "already in the ledger ({detail}); skipped"),
    "amount-changed": ("账本中同一项目金额不同：{detail}。如本文件是更正，请用 --supersedes 替代原批次",
                       "the ledger holds this item with another amount: {detail}. If this file corrects that batch, "
                       "import it with --supersedes"),
    "magnitude-implausible": ("金额与本单位上年相差千倍以上（{detail}），疑为金额单位（元/万元/亿元）有误；"
                              "核实后用 --amount-unit 注明单位重新导入",
                              "the amount is 1,000× or more off the unit's previous year ({detail}): probably the "
                              "wrong amount unit (元/万元/亿元); state the unit with --amount-unit and import again"),
    "unit-name-conflict": ("单位 {detail} 名称不一致：{value}", "unit {detail} has more than one name in this file: {value} (the first is kept)"),
    "disclosure-sum": ("表内合计不符", "{detail}"),
    "source-mismatch": ("明细与公开表不符（以公开表为准）", "{detail}"),
    "supersedes-invalid": ("无法替代该批次", "cannot supersede: {detail}"),
    "sheet-not-found": ("找不到工作表", 'no sheet named "{value}"'),
    "sheet-skipped": ("跳过工作表", "sheet skipped: {detail}"),
    "unit-code-repeated": ("单位编码在第 {detail} 行已出现", "unit code {value} already appears in row {detail}"),
    "parent-invalid": ("上级单位无效：{detail}", "parent unit {value} is not valid: {detail}"),
    "level-unknown": ("未知级次“{value}”（按原样保存）", 'unknown level "{value}" (kept as written)'),
    "unit-added": ("补充单位信息：{detail}", "unit information added where the ledger had none: {detail}"),
    "unit-changed": ("单位信息变更：{detail}", "unit differs from the ledger: {detail}"),
    "text-nul": ("文本含有 NUL 控制字符", "the text holds a NUL character (\\x00), which cannot be stored"),
    "store-full": ("数据库存储空间已满，未写入任何内容", "the database is out of space; nothing was written ({detail})"),
}

SCHEMA = {
    "file": pl.String, "sheet": pl.String, "row": pl.Int64, "column": pl.String,
    "value": pl.String, "code": pl.String, "severity": pl.String, "detail": pl.String,
}
MAX_LISTED = 1000  # problems listed in a report; counts by code are always complete


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    code: str
    severity: str = "error"
    detail: str | None = None

    def message(self) -> tuple[str, str]:
        return render(self.code, self.value, self.detail)


def render(code: str, value, detail) -> tuple[str, str]:
    zh, en = MESSAGES.get(code, (code, code))
    v = "" if value is None else str(value)
    d = "" if detail is None else str(detail)
    return zh.format(value=v, detail=d), en.format(value=v, detail=d)


class Problems:
    """Problems of one file, held as polars frames so a million bad cells cost no Python loop."""

    def __init__(self, file: str):
        self.file = file
        self._frames: list[pl.DataFrame] = []

    def add(self, code: str, *, sheet=None, row=None, column=None, value=None, severity="error", detail=None):
        self._frames.append(
            pl.DataFrame(
                [[self.file, sheet, row, column, None if value is None else str(value), code, severity,
                  None if detail is None else str(detail)]],
                schema=SCHEMA, orient="row",
            )
        )

    def extend(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.code, sheet=p.sheet, row=p.row, column=p.column, value=p.value, severity=p.severity,
                     detail=p.detail)

    def add_frame(self, frame: pl.DataFrame) -> None:
        """Add problems given as a frame with (some of) the ``SCHEMA`` columns."""
        if frame.height:
            cols = [
                (pl.col(c) if c in frame.columns else pl.lit(self.file if c == "file" else None)).cast(t).alias(c)
                for c, t in SCHEMA.items()
            ]
            self._frames.append(frame.select(cols))

    def frame(self) -> pl.DataFrame:
        if not self._frames:
            return pl.DataFrame(schema=SCHEMA)
        whole = pl.concat(self._frames)
        self._frames = [whole]
        return whole

    def count(self, severity: str = "error") -> int:
        return sum(int((f["severity"] == severity).sum()) for f in self._frames)

    def report(self, limit: int = MAX_LISTED) -> dict:
        f = self.frame()
        counts = f.group_by("severity", "code").len().sort("severity", "code")
        listed = f.sort("severity", "sheet", "row", nulls_last=True).head(limit)
        items = []
        for r in listed.iter_rows(named=True):
            zh, en = render(r["code"], r["value"], r["detail"])
            items.append({k: r[k] for k in ("file", "sheet", "row", "column", "value", "code", "severity", "detail")}
                         | {"message_zh": zh, "message_en": en})
        return {
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "findings": self.count("finding"),
            "by_code": {f"{s}:{c}": n for s, c, n in counts.iter_rows()},
            "listed": items,
            "truncated": f.height > limit,
        }


def describe(p: dict) -> str:
    """One line as a clerk reads it: ``file, sheet 2023, row 14, column 金额: message (code)``."""
    where = [p["file"]]
    if p.get("sheet"):
        where.append(f"sheet {p['sheet']}")
    if p.get("row") is not None:
        where.append(f"row {p['row']}")
    if p.get("column"):
        where.append(f"column {p['column']}")
    return f"{', '.join(where)}: {p['message_en']} / {p['message_zh']} ({p['code']})"
