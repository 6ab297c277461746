"""Encoding with evidence: when GB18030 and Windows-1252 both decode a file, the evidence decides and the report says why."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.store.db import reading
from ledger.store.models import ExpenseEntry, ImportBatch
from tests.import_support import sunshine

HEADER = "unit_code,unit_name,fiscal_year,category,amount,payee\n"


def load(engine, path, encoding=None):
    return import_file(engine, "expenses", path, Options(submitted_by="clerk"), ReadOptions(encoding=encoding))


def stored(engine) -> list[tuple]:
    with reading(engine) as conn:
        return conn.execute(select(ImportBatch.encoding, ExpenseEntry.payee,
                                   ExpenseEntry.amount_fen).join(ImportBatch, ImportBatch.id == ExpenseEntry.batch_id)
                            .order_by(ExpenseEntry.id)).all()


def test_windows_1252_buchler_is_not_stored_as_gb18030(db_url, engine, tmp_path):
    p = tmp_path / "leeds.csv"
    p.write_bytes((HEADER + "U01,Finance,2023,reception,100.00,Büchler GmbH\n").encode("cp1252"))
    assert p.read_bytes().decode("gb18030").endswith("B點hler GmbH\n")  # both decode strictly
    run = sunshine(db_url, "import", "expenses", p, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)["files"][0]
    assert report["encoding"] == "windows-1252"
    ev = report["encoding_evidence"]
    assert (ev["encoding"], ev["confidence"]) == ("windows-1252", "high")
    assert ev["reason"].startswith("GB18030 and Windows-1252 both decode it strictly; windows-1252 reads with less mess")
    assert ev["scores"]["windows-1252"]["mess"] == 0.0 and ev["scores"]["gb18030"]["cjk"] == 0.0
    assert report["problems"]["listed"] == []
    assert stored(engine) == [("windows-1252", "Büchler GmbH", 10000)]


def test_text_report_names_the_encoding_and_why(db_url, tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes("单位编码,单位名称,年度,类别,金额\nU01,市财政局,2023,公务接待费,100.00\n".encode("gb18030"))
    run = sunshine(db_url, "import", "expenses", p)
    assert run.returncode == 0
    assert ("encoding gb18030 (GB18030 and Windows-1252 both decode it strictly; only gb18030 reads as plausible "
            "text (gb18030: mess 0.0") in run.stdout


@pytest.mark.parametrize("codec, reason", [
    ("gb18030", "GB18030 and Windows-1252 both decode it strictly; only gb18030 reads as plausible text"),
    ("utf-8", "the whole file is valid UTF-8"),
    ("utf-8-sig", "utf-8-sig byte-order mark"),
    ("utf-16", "utf-16 byte-order mark"),
    ("utf-16-le", "UTF-16 without a byte-order mark (NUL in every other byte)"),
])
def test_chinese_files_still_work(engine, tmp_path, codec, reason):
    p = tmp_path / "c.csv"
    p.write_bytes("单位编码,单位名称,年度,类别,金额,收款方\nU01,市财政局,2023,公务接待费,100.00,北京饭店\n".encode(codec))
    if codec == "utf-16-le":
        assert not p.read_bytes().startswith(b"\xff\xfe")
    r = load(engine, p)
    assert r.status == "loaded"
    assert r.report["encoding_evidence"]["reason"].startswith(reason)
    assert r.report["encoding_evidence"]["confidence"] in ("certain", "high")
    assert r.report["problems"]["listed"] == []
    assert [row[1:] for row in stored(engine)] == [("北京饭店", 10000)]


def test_a_low_confidence_choice_warns_naming_encoding(engine, tmp_path):
    p = tmp_path / "short.csv"
    p.write_bytes(HEADER.encode() + b"U01,x,2023,reception,1,\xc4\xe3\n")  # 你 in GB18030, Äã in Windows-1252
    r = load(engine, p)
    assert r.status == "loaded"
    assert r.report["encoding_evidence"]["confidence"] == "low"
    [w] = r.report["problems"]["listed"]
    assert (w["code"], w["severity"], w["value"]) == ("encoding-uncertain", "warning", "gb18030")
    assert w["message_en"].startswith("the encoding is a guess: read as gb18030 (GB18030 and Windows-1252 both "
                                      "decode it strictly; equal mess, CJK density decides")
    assert w["message_en"].endswith("if text looks garbled, import again with --encoding")
    assert "请用 --encoding 指定编码重新导入" in w["message_zh"]
    # the clerk who knows better says so: no guess, no warning
    q = tmp_path / "short-1252.csv"
    q.write_bytes(p.read_bytes().replace(b"U01", b"U02"))
    r2 = load(engine, q, encoding="windows-1252")
    assert r2.report["encoding_evidence"] == {"encoding": "windows-1252", "reason": "given with --encoding",
                                              "confidence": "certain"}
    assert r2.report["problems"]["listed"] == []
    assert [row[1] for row in stored(engine)] == ["你", "Äã"]
