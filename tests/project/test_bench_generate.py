"""The benchmark generator is deterministic and writes the agreed headers (tiny scale, no timings)."""

from __future__ import annotations

import csv
import hashlib

from bench.generate import (
    BUDGET_HEADER,
    EXPENSE_HEADER,
    PROCUREMENT_HEADER,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    generate,
)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_and_agreed_headers(tmp_path):
    first = generate("tiny", tmp_path / "a", seed=11)
    second = generate("tiny", tmp_path / "b", seed=11)
    other = generate("tiny", tmp_path / "c", seed=12)
    for kind in first:
        assert _digest(first[kind]) == _digest(second[kind]), kind
    assert _digest(first["expenses"]) != _digest(other["expenses"])

    headers = {kind: path.read_text(encoding="utf-8").splitlines()[0].split(",") for kind, path in first.items()}
    assert headers == {
        "expenses": EXPENSE_HEADER,
        "expenses_extra": EXPENSE_HEADER,
        "budgets": BUDGET_HEADER,
        "procurement": PROCUREMENT_HEADER,
    }
    assert EXPENSE_HEADER == [
        "unit_code", "unit_name", "fiscal_year", "date", "category", "amount",
        "payee", "description", "voucher_no", "persons", "batches",
    ]

    with first["expenses"].open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2000
    assert len({r["voucher_no"] for r in rows}) == 2000
    assert {r["fiscal_year"] for r in rows} == {"2020", "2021", "2022", "2023", "2024"}
    assert all(len(r["amount"].split(".")[1]) == 2 for r in rows)
    with first["expenses_extra"].open(encoding="utf-8") as f:
        extra = {r["voucher_no"] for r in csv.DictReader(f)}
    assert not extra & {r["voucher_no"] for r in rows}

    with first["procurement"].open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 300
    for record in records:
        code = record["supplier_id"]
        values = [USCC_ALPHABET.index(ch) for ch in code]
        assert len(code) == 18
        assert (31 - sum(v * w for v, w in zip(values[:17], USCC_WEIGHTS, strict=True)) % 31) % 31 == values[17]
