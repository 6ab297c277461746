"""The OCDS importer: every layout publishers ship, compiled per ocid, real files, refusals.

Fixture cases sit in tests/fixtures/ocds: ``case.json`` next to ``case.json.expected.jsonl`` (the
compiled rows) or ``case.json.errors.txt`` (``row, column, code`` per problem). Regenerate them
only on purpose: ``SUNSHINE_REGENERATE=1 pytest tests/procurement/test_import_ocds.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from importers.ocds import import_file, read_ocds, totals_by_currency
from importers.ocds_json import sniff
from importers.pipeline import Options
from ledger.store.db import reading
from ledger.store.models import ImportBatch, ProcurementRecord
from tests.conftest import FIXTURES, REAL

CASES = FIXTURES / "ocds"
REGENERATE = os.environ.get("SUNSHINE_REGENERATE") == "1"
PORTUGAL = REAL / "ocds" / "portugal_impic_release_package.json"
UKRAINE = sorted((REAL / "ocds" / "ukraine_records").glob("*.json"))


def _rows(frame) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, default=str, sort_keys=True) + "\n" for r in frame.to_dicts())


def _errors(problems) -> str:
    return "".join(f"{p.row}, {p.column}, {p.code}\n" for p in problems)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.suffix in (".json", ".jsonl") and ".expected" not in p.name))
def test_fixture_case(case):
    result = read_ocds(CASES / case)
    got, suffix = (_errors(result.problems), ".errors.txt") if result.problems else (_rows(result.frame), ".expected.jsonl")
    expected = CASES / f"{case}{suffix}"
    if REGENERATE:
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no {expected.name}; regenerate with SUNSHINE_REGENERATE=1 and review it"
    assert got == expected.read_text(encoding="utf-8")


def test_layouts_are_sniffed_from_the_first_bytes():
    assert sniff(CASES / "releases.jsonl") == "jsonl"
    assert sniff(CASES / "array_of_packages.json") == "array"
    assert sniff(CASES / "release_package.json") == "object"
    assert read_ocds(CASES / "record_package.json").layout == "record_package"
    assert read_ocds(UKRAINE[0]).layout == "record"
    assert read_ocds(PORTUGAL).layout == "array"


def test_compiled_release_latest_wins_and_money_rules():
    frame = read_ocds(CASES / "release_package.json").frame
    one, two, three = frame.to_dicts()
    # two releases of one ocid: the tender from the first, the award and contract from the second
    assert (one["release_id"], one["budget_fen"], one["contract_fen"]) == ("1-award", 10_000_050, 9_500_000)
    assert (one["currency"], one["method"], one["supplier_id"]) == ("CNY", "open_tender", "91430700MA4L000001")
    # an empty-string amount is missing, not zero; only the active award counts; outside the codelist -> other
    assert (two["budget_fen"], two["contract_fen"], two["method"], two["method_raw"]) == (None, 123_456, "other", "framework")
    assert (three["currency"], three["method"]) == ("USD", "rfq")
    assert totals_by_currency(frame) == {"CNY": {"budget_fen": 10_000_050, "contract_fen": 9_623_456, "records": 2},
                                         "USD": {"budget_fen": 200_000, "contract_fen": 180_000, "records": 1}}


def test_real_files_read_exactly():
    portugal = read_ocds(PORTUGAL)
    assert (portugal.releases_read, portugal.frame.height, portugal.problems) == (100, 100, [])
    assert totals_by_currency(portugal.frame) == {"EUR": {"budget_fen": 161_306_448, "contract_fen": 161_306_448,
                                                          "records": 100}}
    assert set(portugal.frame["method"]) == {"single_source"}


def _load(engine, path: Path):
    return import_file(engine, path, Options(submitted_by="test"))


def _db_totals(engine) -> dict:
    with reading(engine) as conn:
        rows = conn.execute(select(ProcurementRecord.currency, func.count(), func.sum(ProcurementRecord.budget_fen),
                                   func.sum(ProcurementRecord.contract_fen)).group_by(ProcurementRecord.currency)).all()
    return {c: (n, int(b or 0), int(k or 0)) for c, n, b, k in rows}


def test_real_portugal_and_ukraine_import(engine):
    result = _load(engine, PORTUGAL)
    assert result.status == "loaded", result.report["problems"]
    for path in UKRAINE:
        assert _load(engine, path).status == "loaded"
    # EUR and UAH stay apart: exact totals per currency, never one sum
    assert _db_totals(engine) == {"EUR": (100, 161_306_448, 161_306_448), "UAH": (11, 142_643_149, 140_166_579)}
    again = _load(engine, PORTUGAL)
    assert again.status == "unchanged"
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 12


def test_release_already_imported_is_a_no_op(engine, tmp_path):
    assert _load(engine, CASES / "releases.jsonl").status == "loaded"
    # the same releases in another layout (other bytes): every compiled row is already stored
    result = _load(engine, CASES / "array_of_packages.json")
    assert result.status == "unchanged" and result.report["rows"]["loaded"] == 0
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ProcurementRecord)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 1


@pytest.mark.parametrize("case, code", [
    ("not_ocds.json", "ocds-not-ocds"), ("truncated.json", "json-truncated"), ("duplicate_key.json", "json-duplicate-key"),
    ("too_deep.json", "json-too-deep"), ("currency_mixed.json", "ocds-currency-mixed"), ("bad_date.json", "ocds-date-invalid"),
])
def test_refused_files_leave_the_store_unchanged(engine, case, code):
    result = _load(engine, CASES / case)
    assert result.status == "refused"
    assert f"error:{code}" in result.report["problems"]["by_code"]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0


def test_empty_file_is_refused(engine, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    result = _load(engine, empty)
    assert result.status == "refused"
    assert "error:file-empty" in result.report["problems"]["by_code"]


def test_size_caps_depend_on_the_layout(engine, monkeypatch):
    # a whole JSON document is held while it is read, so it gets the smaller cap; JSON Lines stream
    monkeypatch.setenv("SUNSHINE_IMPORT_MAX_JSON_BYTES", "100")
    assert "error:file-too-large" in _load(engine, CASES / "release_package.json").report["problems"]["by_code"]
    assert _load(engine, CASES / "releases.jsonl").status == "loaded"


def test_latest_release_wins_across_imports(engine, tmp_path):
    assert _load(engine, CASES / "releases.jsonl").status == "loaded"  # ocds-ygtest-5 compiled at release 5-2
    update = {"ocid": "ocds-ygtest-5", "id": "5-3", "date": "2009-03-05T00:00:00+08:00", "tag": ["contract"],
              "contracts": [{"id": "C5", "status": "active", "dateSigned": "2009-03-01",
                             "value": {"amount": 275, "currency": "CNY"}}]}
    newer = tmp_path / "newer.jsonl"
    newer.write_bytes((CASES / "releases.jsonl").read_bytes() + (json.dumps(update) + "\n").encode())
    loaded = _load(engine, newer)
    assert (loaded.status, loaded.report["rows"]["loaded"]) == ("loaded", 1)
    assert "warning:ocds-ocid-updated" in loaded.report["problems"]["by_code"]
    # an older compiled state arriving later is held back, not loaded beside the newer one
    stale = _load(engine, CASES / "array_of_packages.json")
    assert (stale.status, stale.batch_id) == ("unchanged", loaded.batch_id)
    assert "warning:ocds-release-stale" in stale.report["problems"]["by_code"]
    with reading(engine) as conn:
        rows = conn.execute(select(ProcurementRecord.release_id, ProcurementRecord.contract_fen)
                            .order_by(ProcurementRecord.id)).all()
    assert [tuple(r) for r in rows] == [("5-2", 28_000), ("5-3", 27_500)]


def test_json_lines_with_lines_longer_than_the_sniffed_bytes(tmp_path):
    record = json.loads(max(UKRAINE, key=lambda p: p.stat().st_size).read_text())  # 440 KB of one record
    lines = tmp_path / "long.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in record["releases"] * 2) + "\n" + json.dumps(record["compiledRelease"] | {"id": "x"}) + "\n")
    assert sniff(lines) == "jsonl"
    result = read_ocds(lines)
    assert (result.layout, result.releases_read, result.frame.height, result.problems) == ("jsonl", 3, 1, [])
