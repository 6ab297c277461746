"""The unit register's form in the log (issue 18): leaves written before the unit kind existed (form 1,
no ``units_v``) still verify after the upgrade; leaves from then on (form 2) commit to ``kind`` too, so a
kind changed behind the log's back is named. Both databases."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text, update

from ledger.log import register
from ledger.log.verify import verify
from ledger.store.db import reading, writing
from ledger.store.models import LogLeaf, Unit
from tests.tlog_support import publish_expenses


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def manifests(engine):
    with reading(engine) as conn:
        return [json.loads(m) for m in conn.execute(select(LogLeaf.manifest).order_by(LogLeaf.leaf_index)).scalars()]


def problems(engine):
    with reading(engine) as conn:
        report = verify(conn)
    return [(p.code, p.table, p.row_id, p.message) for p in report.problems]


def set_kind(engine, code, kind):
    with writing(engine) as conn:  # outside any import: the log is not told
        conn.execute(update(Unit).where(Unit.code == code).values(kind=kind))


def test_a_ledger_logged_in_the_old_form_still_verifies_and_new_leaves_commit_to_kind(engine, monkeypatch):
    with monkeypatch.context() as old:
        old.setattr(register, "UNIT_FORM", "1")  # what the code wrote before unit.kind existed
        publish_expenses(engine, [100, 200], unit="U1")
        publish_expenses(engine, [300], unit="U2", name="second.csv")
    first = manifests(engine)
    assert [("units_v" in m, m["unit_count"]) for m in first] == [(False, "1"), (False, "2")]
    with reading(engine) as conn:  # form 1 is the six columns, exactly as before
        lines = b"".join(x + b"\n" for x in register.unit_lines(conn, "1")[1])
        assert first[-1]["units_sha256"] == hashlib.sha256(lines).hexdigest()
        assert lines.decode().splitlines()[0] == '["unit","1","U1","市财政局",null,null,null]'
    assert problems(engine) == []
    # form 1 never committed to kind: stating it now (as import units does) is no tampering
    set_kind(engine, "U1", "行政单位")
    assert problems(engine) == []
    publish_expenses(engine, [400], unit="U2", name="third.csv")
    newest = manifests(engine)[-1]
    assert (newest["units_v"], newest["unit_count"]) == ("2", "2")
    with reading(engine) as conn:
        assert register.unit_lines(conn)[1][0].decode() == '["unit","1","U1","市财政局",null,null,null,"行政单位"]'
    assert problems(engine) == []
    # from here on the kind is committed: a change behind the log's back is named, with the unit
    set_kind(engine, "U1", "事业单位")
    with reading(engine) as conn:
        u1 = conn.execute(select(Unit.id).where(Unit.code == "U1")).scalar_one()
        leaf = conn.execute(text("SELECT max(leaf_index) FROM log_leaf")).scalar()
    assert problems(engine) == [("unit-changed", "unit", u1, f"unit {u1} (now code U1) no longer matches leaf {leaf}")]
    set_kind(engine, "U1", "行政单位")
    assert problems(engine) == []


def test_a_kind_stated_on_a_unit_of_no_kind_after_a_form_2_leaf_is_named(engine):
    publish_expenses(engine, [100], unit="U1")
    publish_expenses(engine, [200], unit="U2", name="second.csv")
    assert manifests(engine)[-1]["units_v"] == "2" and problems(engine) == []
    set_kind(engine, "U2", "参照公务员法管理事业单位")
    [(code, table, row_id, message)] = problems(engine)
    assert (code, table) == ("unit-changed", "unit") and "(now code U2)" in message


def test_a_leaf_of_a_form_this_code_does_not_know_is_reported(engine, monkeypatch):
    monkeypatch.setattr(register, "UNIT_FORM", "9")
    monkeypatch.setitem(register.UNIT_FORMS, "9", register.UNIT_FORMS["2"])
    publish_expenses(engine, [100], unit="U1")
    monkeypatch.delitem(register.UNIT_FORMS, "9")
    [(code, table, _, message)] = problems(engine)
    assert (code, table) == ("units-form-unknown", "unit")
    assert message == "leaf 0 commits to the unit register in form '9', which this code does not know"
