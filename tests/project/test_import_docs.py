"""docs/import-formats.md and templates/ stay true to the code: every template's headers place every field of
its kind, every problem code is documented, and an empty template is refused as having no rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from importers.pipeline import Options
from importers.problems import MESSAGES
from importers.run import import_file
from importers.sheets.columns import KINDS, place

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = (ROOT / "docs" / "import-formats.md").read_text(encoding="utf-8")
OCDS_DOC = (ROOT / "docs" / "ocds-import.md").read_text(encoding="utf-8")
KIND_NAMES = ["expenses", "budgets", "procurement", "disclosure", "consumption"]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_template_places_every_field(kind):
    path = ROOT / "templates" / f"{kind}.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        headers = next(csv.reader(f))
    placement = place(headers, kind, None)
    assert placement.unplaced == [] and placement.missing == [] and placement.duplicates == []
    wanted = set(KINDS[kind]) - {"currency"}
    assert wanted <= set(placement.fields), wanted - set(placement.fields)
    assert f"templates/{kind}.csv" in DOC


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_problem_code_documented(code):
    assert f"`{code}`" in DOC or f"`{code}`" in OCDS_DOC


def test_empty_template_refused_as_no_rows(engine):
    result = import_file(engine, "expenses", ROOT / "templates" / "expenses.csv", Options())
    assert result.status == "refused"
    assert [p["code"] for p in result.report["problems"]["listed"]] == ["no-rows"]
