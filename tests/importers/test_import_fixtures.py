"""Every importer fixture: ``case.ext`` beside ``case.ext.expected.jsonl`` (what the ledger holds after the
import) or ``case.ext.errors.txt`` (the report of a refused file, with the store left unchanged).

Optional beside a case: ``case.ext.toml`` (a ``--columns`` mapping) and ``case.ext.args`` (one
``option=value`` per line: amount_unit, encoding, sheet). Regenerate the expected files only on
purpose: ``SUNSHINE_REGEN=1 .venv/bin/pytest tests/importers/test_import_fixtures.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, literal, select

from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.store.db import reading
from ledger.store.models import (
    BudgetLine,
    DataQualityFinding,
    ExpenseEntry,
    ImportBatch,
    ProcurementRecord,
    Unit,
)

HERE = Path(__file__).parent.parent / "fixtures" / "import"
REGEN = os.environ.get("SUNSHINE_REGEN") == "1"
SIDE = (".expected.jsonl", ".errors.txt", ".toml", ".args")
CASES = sorted(
    p for p in HERE.glob("*/*") if p.is_file() and not p.name.endswith(SIDE) and p.suffix != ".py"
)
TABLES = [("budget", BudgetLine), ("expense", ExpenseEntry), ("procurement", ProcurementRecord),
          ("finding", DataQualityFinding)]
SKIP = {"id", "batch_id", "unit_id", "created_at"}


def _value(v):
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def ledger_rows(engine) -> list[dict]:
    out = []
    with reading(engine) as conn:
        units = dict(conn.execute(select(Unit.id, Unit.code)).all())
        for name, model in TABLES:
            cols = [c for c in model.__table__.columns if c.name not in SKIP]
            for row in conn.execute(select(model.__table__.c.unit_id if name != "finding" else literal(None), *cols)):
                rec = {"table": name, "unit": units.get(row[0])} if name != "finding" else {"table": name}
                rec |= {c.name: _value(v) for c, v in zip(cols, row[1:], strict=True) if v is not None}
                out.append(rec)
    return sorted(out, key=lambda r: (r["table"], r.get("source_row") or 0, json.dumps(r, ensure_ascii=False)))


def problem_lines(report: dict) -> list[str]:
    lines = []
    for p in report["problems"]["listed"]:
        where = f"{p['sheet']}!" if p["sheet"] else ""
        lines.append(f"{where}{p['row'] or '-'} | {p['column'] or '-'} | {p['value'] or '-'} | {p['code']} | {p['severity']}"
                     + (f" | {p['detail']}" if p.get("detail") else ""))
    return lines


def run_case(engine, path: Path):
    kind = path.parent.name
    args = {}
    if (a := path.with_name(path.name + ".args")).exists():
        args = dict(line.split("=", 1) for line in a.read_text(encoding="utf-8").split("\n") if "=" in line)
    mapping = path.with_name(path.name + ".toml")
    read = ReadOptions(mapping=mapping if mapping.exists() else None, **args)
    return import_file(engine, kind, path, Options(submitted_by="test"), read)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_fixture(engine, path):
    result = run_case(engine, path)
    expected = path.with_name(path.name + ".expected.jsonl")
    errors = path.with_name(path.name + ".errors.txt")
    if REGEN:
        expected.unlink(missing_ok=True)
        errors.unlink(missing_ok=True)
        if result.status == "loaded":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ledger_rows(engine))
            expected.write_text(text + "".join(f"# {line}\n" for line in problem_lines(result.report)), encoding="utf-8")
        else:
            errors.write_text("".join(line + "\n" for line in problem_lines(result.report)), encoding="utf-8")
    if expected.exists():
        assert result.status == "loaded", problem_lines(result.report)
        lines = expected.read_text(encoding="utf-8").splitlines()
        assert ledger_rows(engine) == [json.loads(x) for x in lines if not x.startswith("#")]
        assert problem_lines(result.report) == [x[2:] for x in lines if x.startswith("# ")]
    else:
        assert errors.exists(), f"no expected output for {path.name}: run with SUNSHINE_REGEN=1"
        assert result.status == "refused"
        assert problem_lines(result.report) == errors.read_text(encoding="utf-8").splitlines()
        assert ledger_rows(engine) == []
        with reading(engine) as conn:
            assert conn.execute(select(func.count()).select_from(ImportBatch)).scalar() == 0
