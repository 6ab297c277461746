"""``sunshine import units``: new units land with level, parent and region; changes are held unless applied."""

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from importers.pipeline import Options
from importers.run import import_file
from ledger.log.verify import verify
from ledger.store.db import reading
from ledger.store.models import AuditLog, ImportBatch, Unit

HEAD = "单位编码,单位名称,上级单位编码,级次,地区\n"


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def load(engine, tmp_path, name, body, **opts):
    p = tmp_path / name
    p.write_text(HEAD + body, encoding="utf-8")
    return import_file(engine, "units", p, Options(submitted_by="clerk", role="finance", **opts))


def units(engine):
    parent = aliased(Unit)
    with reading(engine) as conn:
        return conn.execute(select(Unit.code, Unit.name, parent.code, Unit.level, Unit.region)
                            .outerjoin(parent, parent.id == Unit.parent_id).order_by(Unit.code)).all()


def audit(engine):
    with reading(engine) as conn:
        return [(a, json.loads(d)) for a, d in conn.execute(
            select(AuditLog.action, AuditLog.details_json).where(AuditLog.action.like("unit.%")).order_by(AuditLog.id))]


BODY = "C1,市财政局,,市级,市本级\nC2,市财政局机关服务中心,C1,city,市本级\nD1,东城区财政局,,区县级,东城区\n"


def test_new_units_land_with_parent_level_region_once(engine, tmp_path):
    r = load(engine, tmp_path, "u.csv", BODY)
    assert (r.status, r.report["units"]) == ("loaded", {"created": 3, "updated": 0, "held": 0, "unchanged": 0})
    assert [tuple(u) for u in units(engine)] == [("C1", "市财政局", None, "市级", "市本级"),
                                                  ("C2", "市财政局机关服务中心", "C1", "市级", "市本级"),
                                                  ("D1", "东城区财政局", None, "区县级", "东城区")]
    assert [a for a, _ in audit(engine)] == ["unit.create"] * 3
    again = load(engine, tmp_path, "u.csv", BODY)
    assert (again.status, again.batch_id) == ("unchanged", r.batch_id)
    with reading(engine) as conn:
        assert conn.execute(select(ImportBatch.kind)).scalars().all() == ["units"]
        leaf = json.loads(conn.execute(text("SELECT manifest FROM log_leaf")).scalar())
        assert (leaf["kind"], leaf["actor_role"], leaf["source_sha256"]) == ("units", "finance", r.report["sha256"])
        assert verify(conn).ok


def test_changed_attributes_are_held_then_applied_and_audited(engine, tmp_path):
    load(engine, tmp_path, "u.csv", BODY)
    changed = BODY.replace("D1,东城区财政局,,区县级", "D1,东城区财政局（新）,C1,乡镇级")
    held = load(engine, tmp_path, "u2.csv", changed)  # the parent is new information: added; the rest held
    assert (held.status, held.report["units"]) == ("loaded", {"created": 0, "updated": 1, "held": 2, "unchanged": 2})
    assert [(p["code"], p["column"]) for p in held.report["problems"]["listed"]] == [
        ("unit-changed", "unit_name"), ("unit-added", "parent_code"), ("unit-changed", "level")]
    assert units(engine)[2][1:] == ("东城区财政局", "C1", "区县级", "东城区")
    applied = load(engine, tmp_path, "u2.csv", changed, update_units=True)
    assert applied.status == "loaded" and applied.report["units"]["updated"] == 1
    assert units(engine)[2][1:] == ("东城区财政局（新）", "C1", "乡镇级", "东城区")
    assert audit(engine)[-2:] == [
        ("unit.update", {"batch_id": held.batch_id, "code": "D1", "changes": {"parent": {"from": None, "to": "C1"}}}),
        ("unit.update", {"batch_id": applied.batch_id, "code": "D1", "changes": {
            "name": {"from": "东城区财政局", "to": "东城区财政局（新）"}, "level": {"from": "区县级", "to": "乡镇级"}}})]


def test_units_named_by_expenses_get_missing_attributes_added(engine, tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("unit_code,unit_name,fiscal_year,category,amount\nC1,市财政局,2023,reception,1\n", encoding="utf-8")
    assert import_file(engine, "expenses", p, Options(submitted_by="clerk")).status == "loaded"
    r = load(engine, tmp_path, "u.csv", "C1,市财政局,,市级,市本级\n")
    assert r.status == "loaded" and [p["code"] for p in r.report["problems"]["listed"]] == ["unit-added"] * 2
    assert [tuple(u) for u in units(engine)] == [("C1", "市财政局", None, "市级", "市本级")]


@pytest.mark.parametrize(("body", "codes"), [
    ("C1,a,,市级,\nC1,b,,市级,\n", ["unit-code-repeated"]),
    ("C1,a,X9,市级,\n", ["parent-invalid"]),
    ("C1,a,C2,市级,\nC2,b,C1,市级,\n", ["parent-invalid", "parent-invalid"]),
    ("C1,,,市级,\n", ["value-missing"]),
])
def test_bad_registers_are_refused_and_write_nothing(engine, tmp_path, body, codes):
    r = load(engine, tmp_path, "bad.csv", body)
    assert r.status == "refused"
    assert [p["code"] for p in r.report["problems"]["listed"] if p["severity"] == "error"] == codes
    assert units(engine) == []
