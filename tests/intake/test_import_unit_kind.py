"""``sunshine import units``: the unit's kind (单位性质) — read under its Chinese and English headers,
written the ways clerks write it and stored in one canonical form, added, held or applied like the
other attributes, and refused with the cell named when it is none of the four kinds."""

import json

import pytest
from sqlalchemy import select

from importers.pipeline import Options
from importers.problems import describe
from importers.run import import_file
from ledger.log.verify import verify
from ledger.store.db import reading
from ledger.store.models import AuditLog, Unit


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def load(engine, tmp_path, name, text, **opts):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return import_file(engine, "units", p, Options(submitted_by="clerk", role="finance", **opts))


def kinds(engine):
    with reading(engine) as conn:
        return dict(conn.execute(select(Unit.code, Unit.kind).order_by(Unit.code)).all())


SPELLED = ("单位编码,单位名称,级次,单位性质\nA1,市财政局,市级,行政\nA2,市档案馆,市级,参公\nA3,市第一中学,市级,全额拨款事业单位\n"
           "A4,市科学技术协会,市级,其它\nA5,市体育中心,市级,public institution\nA6,市审计局,市级, 行政单位 \n"
           "A7,市机关事务中心,市级,\n")


def test_kinds_are_stored_in_their_canonical_form_and_audited(engine, tmp_path):
    r = load(engine, tmp_path, "u.csv", SPELLED)
    assert (r.status, r.report["units"]["created"], r.report["problems"]["errors"]) == ("loaded", 7, 0)
    assert kinds(engine) == {"A1": "行政单位", "A2": "参照公务员法管理事业单位", "A3": "事业单位", "A4": "其他",
                             "A5": "事业单位", "A6": "行政单位", "A7": None}
    with reading(engine) as conn:
        created = [json.loads(d) for d in conn.execute(
            select(AuditLog.details_json).where(AuditLog.action == "unit.create").order_by(AuditLog.id)).scalars()]
        assert [(d["code"], d["kind"]) for d in created][:2] == [("A1", "行政单位"), ("A2", "参照公务员法管理事业单位")]
        assert verify(conn).ok


@pytest.mark.parametrize("header", ["单位类型", "单位类别", "kind", "Unit Type", "单位性质"])
def test_every_header_of_the_kind_is_read(engine, tmp_path, header):
    r = load(engine, tmp_path, "u.csv", f"单位编码,单位名称,{header}\nB1,区财政局,administrative\n")
    assert r.status == "loaded"
    assert kinds(engine) == {"B1": "行政单位"}


def test_a_kind_is_added_when_missing_and_a_different_one_held_until_applied(engine, tmp_path):
    assert load(engine, tmp_path, "u.csv", "单位编码,单位名称,级次\nC1,市财政局,市级\nC2,市档案馆,市级\n").status == "loaded"
    body = "单位编码,单位名称,级次,单位性质\nC1,市财政局,市级,行政单位\nC2,市档案馆,市级,事业单位\n"
    added = load(engine, tmp_path, "u2.csv", body)
    assert [(p["code"], p["row"], p["column"], p["value"]) for p in added.report["problems"]["listed"]] == [
        ("unit-added", 2, "kind", "行政单位"), ("unit-added", 3, "kind", "事业单位")]
    assert kinds(engine) == {"C1": "行政单位", "C2": "事业单位"}
    changed = body.replace("C2,市档案馆,市级,事业单位", "C2,市档案馆,市级,参公")
    held = load(engine, tmp_path, "u3.csv", changed)
    assert (held.status, held.report["units"]["held"]) == ("unchanged", 1)
    [p] = held.report["problems"]["listed"]
    assert (p["code"], p["column"], p["detail"]) == (
        "unit-changed", "kind", "C2 kind: '事业单位' → '参照公务员法管理事业单位' (held: --update-units applies it)")
    assert kinds(engine)["C2"] == "事业单位"
    applied = load(engine, tmp_path, "u3.csv", changed, update_units=True)
    assert applied.status == "loaded" and kinds(engine)["C2"] == "参照公务员法管理事业单位"
    with reading(engine) as conn:
        last = json.loads(conn.execute(select(AuditLog.details_json).where(AuditLog.action == "unit.update")
                                       .order_by(AuditLog.id.desc()).limit(1)).scalar())
        assert last["changes"] == {"kind": {"from": "事业单位", "to": "参照公务员法管理事业单位"}}
        assert verify(conn).ok


def test_an_unknown_kind_is_refused_naming_file_row_column_and_value(engine, tmp_path):
    r = load(engine, tmp_path, "register.csv", "单位编码,单位名称,单位性质\nD1,区财政局,行政单位\nD2,区城投公司,国有企业\n")
    assert r.status == "refused"
    [p] = r.report["problems"]["listed"]
    assert (p["file"], p["row"], p["column"], p["value"], p["code"], p["severity"]) == (
        "register.csv", 3, "kind", "国有企业", "kind-unknown", "error")
    assert p["message_zh"] == "未知单位性质“国有企业”：应为行政单位、参照公务员法管理事业单位（参公）、事业单位或其他（可留空）"
    assert p["message_en"].startswith('unknown unit kind "国有企业": one of 行政单位 (administrative)')
    assert describe(p, "en").startswith("register.csv, row 3, column kind: unknown unit kind")
    assert kinds(engine) == {}


def test_units_list_shows_each_units_level_and_kind(engine, tmp_path, db_url):
    from tests.import_support import sunshine

    assert load(engine, tmp_path, "u.csv", SPELLED).status == "loaded"
    listed = json.loads(sunshine(db_url, "units", "list", "--json").stdout)["units"]
    assert [(u["code"], u["kind"]) for u in listed][:3] == [("A1", "行政单位"), ("A2", "参照公务员法管理事业单位"),
                                                           ("A3", "事业单位")]
    zh = sunshine(db_url, "units", "list", lang="zh").stdout.splitlines()
    assert zh[0] == "A1\t市财政局\t市级·行政单位\tactive"
    assert zh[6] == "A7\t市机关事务中心\t市级·未填单位性质\tactive"
    en = sunshine(db_url, "units", "list").stdout.splitlines()
    assert en[0] == "A1\t市财政局\tcity · administrative unit\tactive"
