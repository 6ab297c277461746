"""Problems found in a file, collected into a report rather than raised.

A problem is ``(file, sheet, row, column, value, code, severity)``; ``row`` is the row number the
clerk sees in a spreadsheet (header = row 1 unless title rows sit above it). Severities:

- ``error``: the file is refused and nothing is written;
- ``warning``: loaded, but the report says so (e.g. duplicates the user confirmed);
- ``finding``: a published table that does not add up; loaded as published and stored as a
  ``data_quality_finding``.

Messages are rendered by code from the catalogue (``ledger.i18n``), in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger.i18n import both, catalogue, has, language, t

# code -> (中文, English) message templates, from the one catalogue (ledger/i18n/*.po, ids ``problem.<code>``);
# ``{value}`` and ``{detail}`` are filled in.
MESSAGES: dict[str, tuple[str, str]] = {
    msgid.removeprefix("problem."): (text, catalogue("en")[msgid])
    for msgid, text in catalogue("zh").items() if msgid.startswith("problem.") and msgid != "problem.line"
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
    """``(中文, English)`` for a problem; a ``detail`` that is a catalogue key (``detail.<key>``) is translated too."""
    zh, en = MESSAGES.get(code, (code, code))
    v = "" if value is None else str(value)
    d = "" if detail is None else str(detail)
    d_zh, d_en = both(f"detail.{d}") if d and has(f"detail.{d}") else (d, d)
    return zh.format(value=v, detail=d_zh), en.format(value=v, detail=d_en)


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


def describe(p: dict, lang: str | None = None) -> str:
    """One line as a clerk reads it, in the language in force:
    ``文件, 工作表 2023, 第 14 行, 列 金额：message（code）`` / ``file, sheet 2023, row 14, column 金额: message (code)``."""
    where = [p["file"]]
    if p.get("sheet"):
        where.append(t("where.sheet", lang, sheet=p["sheet"]))
    if p.get("row") is not None:
        where.append(t("where.row", lang, row=p["row"]))
    if p.get("column"):
        where.append(t("where.column", lang, column=p["column"]))
    message = p["message_en"] if (lang or language()) == "en" else p["message_zh"]
    return t("problem.line", lang, where=", ".join(where), message=message, code=p["code"])
