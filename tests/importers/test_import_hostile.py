"""Hostile and broken files are refused before parsing, with a report, and the store stays unchanged;
the CLI's exit codes and its one JSON document."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import root
from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from importers.sheets.safety import Limits
from ledger.store.db import reading
from ledger.store.models import ExpenseEntry, ImportBatch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import" / "expenses"


def refused(engine, path, limits=None, kind="expenses") -> list[str]:
    read = ReadOptions(limits=limits) if limits else ReadOptions()
    r = import_file(engine, kind, path, Options(submitted_by="t"), read)
    assert r.status == "refused"
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0
    return [p["code"] for p in r.report["problems"]["listed"]]


def _xlsx(path: Path) -> None:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("s")
    ws.write_row(0, 0, ["unit_code", "fiscal_year", "category", "amount"])
    ws.write_row(1, 0, ["A01", 2023, "reception", 1])
    wb.close()


def test_zip_bomb_refused_before_parsing(engine, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b"0" * (50 << 20) + b"</a>")
    assert refused(engine, bomb) == ["zip-bomb"]


def test_zip_size_cap(engine, tmp_path):
    book = tmp_path / "ok.xlsx"
    _xlsx(book)
    assert refused(engine, book, Limits(max_xlsx_uncompressed=1000)) == ["zip-bomb"]


def test_xml_entities_refused(engine, tmp_path):
    book = tmp_path / "ok.xlsx"
    _xlsx(book)
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1)
            dst.writestr(item, data)
    assert refused(engine, evil) == ["xml-entity"]


def test_not_a_workbook(engine, tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("unit_code,amount\n", encoding="utf-8")
    assert refused(engine, fake) == ["file-unreadable"]


def test_row_and_size_caps(engine, tmp_path):
    p = tmp_path / "rows.csv"
    p.write_text("unit_code,fiscal_year,category,amount\n" + "A01,2023,reception,1\n" * 5, encoding="utf-8")
    assert refused(engine, p, Limits(max_rows=3)) == ["too-many-rows"]
    assert refused(engine, p, Limits(max_text_bytes=10)) == ["file-too-large"]


def test_unsupported_suffix(engine, tmp_path):
    p = tmp_path / "x.pdf"
    p.write_bytes(b"%PDF")
    assert refused(engine, p) == ["file-unreadable"]


def test_cli_loads_refuses_and_prints_one_json_document(db_url, tmp_path):
    runner = CliRunner()
    good = FIXTURES / "basic.csv"
    r = runner.invoke(root, ["--database", db_url, "import", "expenses", str(good), "--json", "--by", "alice"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["files"][0]["status"] == "loaded" and doc["files"][0]["rows"]["loaded"] == 3
    again = runner.invoke(root, ["--database", db_url, "import", "expenses", str(good)])
    assert again.exit_code == 0 and "已作为批次 1 导入过，无需操作" in again.output
    again_en = runner.invoke(root, ["--database", db_url, "--lang", "en", "import", "expenses", str(good)])
    assert again_en.exit_code == 0 and "already loaded as batch 1; nothing to do" in again_en.output
    bad = runner.invoke(root, ["--database", db_url, "import", "expenses", str(FIXTURES / "bad_values.csv"), "--json"])
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    first = doc["files"][0]["problems"]["listed"][0]
    assert (doc["ok"], first["row"], first["column"], first["code"]) == (False, 2, "amount", "amount-invalid")
    assert first["message_zh"] == "“NaN”不是有效金额（可写 1234.56、1,234.56、1.2万，负数写 -5 或 (123.00)）"
    assert first["message_en"] == '"NaN" is not an amount (write 1234.56, 1,234.56, 1.2万, and -5 or (123.00) for a negative)'
    text = runner.invoke(root, ["--database", db_url, "import", "expenses", str(FIXTURES / "bad_values.csv")])
    assert text.exit_code == 1 and "bad_values.csv, 第 2 行, 列 amount：“NaN”不是有效金额" in text.output
    assert "下一步：按上面列出的位置改正文件后，重新运行同一命令" in text.output
    text = runner.invoke(root, ["--database", db_url, "--lang", "en", "import", "expenses", str(FIXTURES / "bad_values.csv")])
    assert text.exit_code == 1 and 'bad_values.csv, row 2, column amount: "NaN" is not an amount' in text.output
    assert "Next: correct the file where listed above and run the same command again" in text.output
    usage = runner.invoke(root, ["--database", db_url, "import", "nonsense", str(good)])
    assert usage.exit_code == 2
    two = runner.invoke(root, ["--database", db_url, "import", "expenses", str(good), str(good), "--supersedes", "1"])
    assert two.exit_code == 2


@pytest.mark.parametrize("name", ["empty.csv", "zero.xlsx", "truncated.json", "garbage.csv", "unknown_header.csv"])
def test_cli_dry_run_and_broken_files_write_nothing(db_url, name):
    r = CliRunner().invoke(root, ["--database", db_url, "import", "expenses", str(FIXTURES / name), "--dry-run"])
    assert r.exit_code == 1
    from ledger.store.db import make_engine

    engine = make_engine(db_url)
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ExpenseEntry)).scalar() == 0
    engine.dispose()


def test_csv_head_that_csv_module_rejects_is_reported(engine, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_bytes(b"unit_code,fiscal_year,category,amount\n" + b"x" * 200_000 + b"\n")
    assert refused(engine, wide) == ["file-unreadable"]
    bare_cr = tmp_path / "cr.csv"
    bare_cr.write_bytes(b"unit_code,fiscal_year,category,amount\nA01,20\r23,reception,1\n")
    assert refused(engine, bare_cr)  # a report, never an exception


def test_damaged_workbook_is_reported(engine, tmp_path):
    book = tmp_path / "ok.xlsx"
    _xlsx(book)
    data = book.read_bytes()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(data[:1] + b"\x00" + data[1:])  # one byte in: offsets and CRCs no longer agree
    assert refused(engine, broken) == ["file-unreadable"]
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # a corrupt deflate stream or CRC inside a member
    (tmp_path / "flipped.xlsx").write_bytes(bytes(flipped))
    assert refused(engine, tmp_path / "flipped.xlsx") == ["file-unreadable"]
