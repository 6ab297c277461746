"""The real Leeds file: the council hid 692 payments to persons itself; we show them with our label, amounts exact.

Sole traders it named without a title are found by two configurable rules (``[privacy]`` in sunshine.toml):
``initials_surname`` (62 payments to 47 names such as ``A APPLEYARD``, ``J D MUMFORD``) and ``latin_given_names``
(60 payments to 47 names such as ``Alison Hunt``, ``JOHN HAYES``), counted straight from the CSV below.
Known false positives on this file: ``M OPL`` (initials rule) and ``Richard Ellis`` (a firm's name).
"""

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


def _by_rule_from_csv() -> dict[str, tuple[int, int, int]]:
    """Rows, names and pence per rule, classifying the CSV's supplier names directly (no database)."""
    from ledger.read.privacy.rules import load

    rules, out = load(), {}
    with LEEDS.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            name = (r.get("Supplier name") or "").strip()
            rule = rules.classify(name)
            if rule:
                rows, names, pence = out.get(rule, (0, set(), 0))
                out[rule] = (rows + 1, names | {name}, pence + int(Decimal(r["Net amount"].strip()) * 100))
    return {k: (rows, len(names), pence) for k, (rows, names, pence) in out.items()}


def test_leeds_source_redactions_counted_and_shown_with_the_label(engine, db_url):
    result = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"),
                         ReadOptions(mapping=LEEDS.with_suffix(".toml")))
    assert result.status == "loaded", result.report["problems"]
    assert _marked_pence() == (692, 102634137)
    with reading(engine) as conn:
        data = redactions(conn, names=True)
        e = data["datasets"]["expenses"]
        assert (e["rows"], e["names"], e["amount_fen"], e["rows_checked"]) == (814, 95, 157997625, 10303)
        assert e["by_rule"]["source_marker"] == {"rows": 692, "names": 1, "amount_fen": 102634137}
        assert e["by_rule"]["initials_surname"] == {"rows": 62, "names": 47, "amount_fen": 39759236}
        assert e["by_rule"]["given_name"] == {"rows": 60, "names": 47, "amount_fen": 15604252}
        assert _by_rule_from_csv() == {"source_marker": (692, 1, 102634137), "initials_surname": (62, 47, 39759236),
                                       "given_name": (60, 47, 15604252)}
        found = {n["name"]: n["rule"] for n in data["names"]}
        assert found[MARKER] == "source_marker"
        assert (found["A APPLEYARD"], found["J D MUMFORD"], found["T W Buxey T/A Sorted"]) == ("initials_surname",) * 3
        assert (found["Alison Hunt"], found["JOHN HAYES"], found["John M Parker"]) == ("given_name",) * 3
        # firms that start like a person stay named: an organisational word comes first
        for firm in ("J K ELECTRIC", "E P S Supplies", "Michael Page International", "JOSEPH ROWNTREE FOUNDATION",
                     "Easy Hire T/A D&R Cars", "VICTORIA HOUSE"):
            assert firm not in found
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
        assert csv_text.count("个人（已隐去）") == 814
        assert "A D Simpson Ltd" in csv_text  # organisations stay named
        for name in ("A APPLEYARD", "Alison Hunt", "JOHN HAYES", "Buxey"):
            assert name not in csv_text
        found = c.get("/api/v1/search", params={"q": "Appleyard"}).json()["data"]
        assert [h["text"] for h in found] == ["Appleyard Jaguar Bradford"]  # the dealer; the person is not found
