"""Import templates as a clerk meets them: CSV with BOM and Chinese headers, XLSX with drop-downs, an example
sheet and a notes sheet; the example rows import with exact figures; ``sunshine template`` writes them."""

from __future__ import annotations

import re
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import root
from importers.pipeline import Options
from importers.run import import_file
from importers.sheets.columns import KINDS as FIELDS
from importers.sheets.columns import place
from importers.templates import KINDS, TEMPLATES, csv_bytes, xlsx_bytes
from ledger.store.db import reading
from ledger.store.models import BudgetLine, ExpenseEntry, ProcurementRecord, Unit
from tests.conftest import ROOT


@pytest.mark.parametrize("kind", KINDS)
def test_csv_has_bom_chinese_headers_and_places_every_field(kind):
    data = csv_bytes(kind)
    assert data.startswith(b"\xef\xbb\xbf")
    headers = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert all(re.search(r"[\u4e00-\u9fff]", h) for h in headers)
    placement = place(headers, kind, None)
    assert placement.unplaced == [] and placement.missing == [] and placement.duplicates == []
    assert set(FIELDS[kind]) - {"currency"} == set(placement.fields)
    assert (ROOT / "templates" / f"{kind}.csv").read_bytes() == data, "run: sunshine template all --out templates"
    assert (ROOT / "templates" / f"{kind}.xlsx").read_bytes() == xlsx_bytes(kind)


def _load(engine, tmp_path, kind, name, body: bytes):
    p = tmp_path / name
    p.write_bytes(body)
    r = import_file(engine, kind, p, Options(submitted_by="clerk"))
    assert r.status == "loaded", r.report["problems"]
    return r


def _sum(engine, column, *where):
    with reading(engine) as conn:
        return conn.execute(select(func.sum(column)).where(*where)).scalar()


def test_example_rows_import_with_exact_figures(engine, tmp_path):
    _load(engine, tmp_path, "units", "units.csv", csv_bytes("units", example=True))
    _load(engine, tmp_path, "expenses", "expenses.csv", csv_bytes("expenses", example=True))
    _load(engine, tmp_path, "budgets", "budgets.csv", csv_bytes("budgets", example=True))
    _load(engine, tmp_path, "procurement", "procurement.csv", csv_bytes("procurement", example=True))
    c = _load(engine, tmp_path, "consumption", "consumption.csv", csv_bytes("consumption", example=True))
    assert c.report["rows"]["loaded"] == 1
    d = _load(engine, tmp_path, "disclosure", "disclosure.csv", csv_bytes("disclosure", example=True))
    # the example table adds up (no disclosure-sum); its 公务接待费 决算数 5.00 万元 differs from the one expense
    # line of 1,234.56 元 loaded before, which the ledger reports as a source-mismatch (the table's figure stands)
    assert d.report["problems"]["by_code"] == {"finding:source-mismatch": 1}
    with reading(engine) as conn:
        assert conn.execute(select(Unit.code, Unit.name, Unit.level)).all() == [("101001", "阳光市人民政府办公室", "市级")]
        e = conn.execute(select(ExpenseEntry.amount_fen, ExpenseEntry.persons, ExpenseEntry.voucher_no)
                         .where(ExpenseEntry.category_code == "reception")).all()
        p = conn.execute(select(ProcurementRecord.method, ProcurementRecord.budget_fen,
                                ProcurementRecord.contract_fen)).all()
    assert sorted(e) == [(123_456, 12, "2024-03-015"), (5_000_000, 150, None)]  # the disclosure's 公务接待费 5.00 万元
    assert p == [("open_tender", 120_000_000, 108_500_000)]
    # 会议费 年初预算 5.00 万元 from budgets.csv; the disclosure table's leaves 10.00 + 5.00 + 10.00 + 5.00 万元
    leaves = ["overseas_travel", "vehicle_purchase", "vehicle_operation", "reception"]
    assert _sum(engine, BudgetLine.amount_fen, BudgetLine.category_code == "meeting") == 5_000_000
    assert _sum(engine, BudgetLine.amount_fen, BudgetLine.category_code.in_(leaves)) == 30_000_000
    assert _sum(engine, ExpenseEntry.amount_fen, ExpenseEntry.category_code.in_(leaves[:3])) == 22_500_000


def test_xlsx_has_dropdowns_example_and_notes(tmp_path):
    path = tmp_path / "budgets.xlsx"
    path.write_bytes(xlsx_bytes("budgets"))
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        data = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert re.findall(r'<sheet name="([^"]+)"', book) == ["填写", "示例（不导入）", "填写说明"]
    lists = re.findall(r'<dataValidation type="list"[^>]*sqref="([^"]+)"[^>]*>.*?<formula1>"([^<]*)"</formula1>',
                       data, re.S)
    assert lists == [("D2:D5001", "因公出国(境)费,公务用车购置费,公务用车运行维护费,公务接待费,会议费,学习考察费,交通费,培训费,其他"),
                     ("E2:E5001", "年初预算,调整预算")]
    assert re.search(r'<dataValidation type="whole"[^>]*sqref="C2:C5001"', data)
    for text in ("单位编码", "金额(万元)", "5.00", "填写要求", "单位：万元，最多六位小数", "sunshine import budgets"):
        assert text in strings, text


def test_filled_xlsx_imports_only_its_data_sheet(engine, tmp_path):
    row = [c.example for c in TEMPLATES["budgets"]]
    p = tmp_path / "预算.xlsx"
    p.write_bytes(xlsx_bytes("budgets", rows=[row]))
    r = import_file(engine, "budgets", p, Options(submitted_by="clerk"))
    assert r.status == "loaded" and r.report["rows"]["loaded"] == 1
    skipped = [x["sheet"] for x in r.report["problems"]["listed"] if x["code"] == "sheet-skipped"]
    assert sorted(skipped) == ["填写说明", "示例（不导入）"]
    assert _sum(engine, BudgetLine.amount_fen) == 5_000_000
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(xlsx_bytes("budgets"))
    refused = import_file(engine, "budgets", blank, Options(submitted_by="clerk"))
    assert refused.status == "refused"
    assert "no-rows" in {x["code"] for x in refused.report["problems"]["listed"]}


def test_sunshine_template_writes_both_files(tmp_path, db_url, engine):
    out = CliRunner().invoke(root, ["--database", db_url, "template", "budgets", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["budgets.csv", "budgets.xlsx"]
    assert (tmp_path / "budgets.csv").read_bytes() == csv_bytes("budgets")
    assert "下一步" in out.output
    assert CliRunner().invoke(root, ["template", "budgets", "--format", "pdf", "--out", str(tmp_path)]).exit_code == 2
    assert CliRunner().invoke(root, ["template", "nonsense"]).exit_code == 2
