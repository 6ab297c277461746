"""The dry-run report drawn over the file itself: the rows as a grid, each problem at its row and column.

The file is opened the way the importer opens it (``importers.sheets.sources.open_file`` with the kind's
header matcher), so the row numbers are the spreadsheet's (header = its own row) and the columns are
the file's own headers, exactly as the problems name them. The first ``FIRST_ROWS`` rows of each
sheet are drawn, and every row with a problem up to ``MAX_PROBLEM_ROWS``. JSON (OCDS) files have no
grid: their problems are listed as a table.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from importers.sheets.columns import header_matcher
from importers.sheets.safety import Limits, Refused
from importers.sheets.sources import ROW, open_file

FIRST_ROWS = 50
MAX_PROBLEM_ROWS = 300
GRID_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")


def message(p: dict, lang: str) -> str:
    return p.get("message_en") if lang == "en" else p.get("message_zh")


def build(path: Path, kind: str, problems: list[dict], lang: str, encoding: str | None = None) -> dict:
    """``{"sheets": [...], "file_problems": [...]}`` for the template; problems of no row go to file_problems."""
    placed: dict[tuple, list[dict]] = defaultdict(list)
    file_problems = []
    for p in problems:
        if p.get("row") is None:
            file_problems.append(p)
        else:
            placed[(p.get("sheet"), p["row"])].append(p)
    if kind == "ocds" or path.suffix.lower() not in GRID_SUFFIXES:
        return {"sheets": [], "file_problems": problems, "unplaced": []}
    try:
        with tempfile.TemporaryDirectory(prefix="sunshine-grid-") as workdir:
            opened = open_file(path, header_matcher(kind, None), encoding=encoding, sheet=None, limits=Limits(),
                               workdir=Path(workdir))
            sheets = [_sheet(s, placed, lang) for s in opened.sheets]
    except (Refused, OSError, ValueError):
        return {"sheets": [], "file_problems": problems, "unplaced": []}
    drawn = {(s["name"], r["n"]) for s in sheets for r in s["rows"]}
    unplaced = [p for key, ps in placed.items() if key not in drawn for p in ps]
    return {"sheets": sheets, "file_problems": file_problems, "unplaced": unplaced}


def _sheet(sheet, placed: dict, lang: str) -> dict:
    wanted = sorted(r for (s, r) in placed if s == sheet.name)[:MAX_PROBLEM_ROWS]
    last = max([sheet.header_row + FIRST_ROWS, *wanted])
    wanted_set = set(wanted)
    index = {h: i for i, h in enumerate(sheet.headers)}
    rows, more = [], False
    for chunk in sheet.chunks():
        for record in chunk.iter_rows(named=True):
            n = record[ROW]
            if n > last:
                more = True
                break
            if n > sheet.header_row + FIRST_ROWS and n not in wanted_set:
                more = True
                continue
            rows.append(_row(n, [record.get(h) for h in sheet.headers], placed.get((sheet.name, n), []), index,
                             lang))
        else:
            continue
        break
    return {"name": sheet.name, "header_row": sheet.header_row, "headers": sheet.headers, "rows": rows,
            "more": more, "first_rows": FIRST_ROWS}


def _row(n: int, values: list, problems: list[dict], index: dict, lang: str) -> dict:
    cells = [{"v": "" if v is None else str(v), "cls": "", "title": ""} for v in values]
    notes = []
    for p in problems:
        text = message(p, lang)
        i = index.get(p.get("column"))
        if i is not None:
            cell = cells[i]
            cell["cls"] = "bad" if p.get("severity") == "error" or cell["cls"] == "bad" else "warn"
            cell["title"] = (cell["title"] + "\n" if cell["title"] else "") + text
        notes.append({"column": p.get("column"), "text": text, "other": message(p, "zh" if lang == "en" else "en"),
                      "severity": p.get("severity")})
    return {"n": n, "cells": cells, "problems": notes,
            "bad": any(p.get("severity") == "error" for p in problems)}
