"""The real Leeds file: the council hid 692 payments to persons itself; we show them with our label, amounts exact."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.read import queries
from ledger.read.privacy.report import redactions
from ledger.store.db import reading

LEEDS = Path(__file__).parent.parent / "fixtures" / "real" / "council_spend" / "leeds_2010-12.csv"
MARKER = "REDACTED PERSONAL DATA"


def _marked_pence() -> tuple[int, int]:
    """Rows and pence the source itself marked, summed straight from the CSV."""
    with LEEDS.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if (r.get("Supplier name") or "").strip() == MARKER]
    return len(rows), int(sum(Decimal(r["Net amount"].strip()) * 100 for r in rows))


def test_leeds_source_redactions_counted_and_shown_with_the_label(engine, db_url):
    result = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"),
                         ReadOptions(mapping=LEEDS.with_suffix(".toml")))
    assert result.status == "loaded", result.report["problems"]
    assert _marked_pence() == (692, 102634137)
    with reading(engine) as conn:
        data = redactions(conn, names=True)
        e = data["datasets"]["expenses"]
        assert (e["rows"], e["names"], e["amount_fen"], e["rows_checked"]) == (692, 1, 102634137, 10303)
        assert e["by_rule"]["source_marker"] == {"rows": 692, "names": 1, "amount_fen": 102634137}
        assert [(n["name"], n["rule"]) for n in data["names"]] == [(MARKER, "source_marker")]
        # every amount is still there: the public rows sum to the same total as the restricted ones
        public = private = 0
        for chunk in queries.iter_rows(engine, "expenses"):
            public += sum(r[9] for r in chunk)
        for chunk in queries.iter_rows(engine, "expenses", reveal=True):
            private += sum(r[9] for r in chunk)
        assert public == private == 7717900924  # pence, as tests/importers/test_import_real.py sums by category
    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as c:
        csv_text = c.get("/api/v1/downloads/expenses.csv").text
        assert MARKER not in csv_text
        assert csv_text.count("个人（已隐去）") == 692
        assert "A D Simpson Ltd" in csv_text  # organisations stay named
