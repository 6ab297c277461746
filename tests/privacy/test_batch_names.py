"""The names hidden from free texts come from each batch's names kept at publish (``batch_name``), and are
exactly those the GROUP BY over every stored row gave before (issue 15): payees with and without a type
column, suppliers with and without one, a name only in procurement, one name filed with two types, a
superseded batch's names, a real council file; a batch published later in the same process; verify and
the append-only triggers; a person named in a flag message stays hidden after a second import.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import Connection, func, select, text

from api.app import create_app
from importers.pipeline import Options
from importers.run import ReadOptions, import_file
from ledger.log.verify import verify
from ledger.read.privacy import redactor
from ledger.review import tokens
from ledger.store.db import reading, writing
from ledger.store.models import ExpenseEntry, ProcurementRecord
from tests.ledgertext import run
from tests.privacy.test_redaction import EXPENSES, LABEL, PROCUREMENT
from tests.store.test_tamper import drop_triggers, first_problem, log_key  # noqa: F401 (log_key: autouse)
from tests.tlog_support import publish_expenses

LEEDS = Path(__file__).parent.parent / "fixtures" / "real" / "council_spend" / "leeds_2010-12.csv"
# suppliers with a type column: a person only in procurement (李娜), a firm, 黄山 filed as a person here
# (a unit in the expenses), a Latin sole trader
TYPED_PROCUREMENT = """项目编号,单位编码,单位名称,年度,项目名称,采购方式,预算金额,合同金额,供应商名称,供应商类型,统一社会信用代码,招标日期,中标日期,合同日期
CG-7,EDU,教育局,2023,课程设计,询价,9000.00,8800.00,李娜,个人,,,,2023-07-01
CG-8,EDU,教育局,2023,印刷服务,询价,7000.00,6900.00,某印务有限公司,单位,,,,2023-07-02
CG-9,HLTH,卫生健康局,2023,摄影服务,询价,5000.00,4900.00,黄山,个人,,,,2023-07-03
CG-10,HLTH,卫生健康局,2023,翻译服务,询价,3000.00,2900.00,J D MUMFORD,,,,,2023-07-04
"""
# a correction of the expenses: 李四's line dropped (his name stays in the superseded batch), 赵六 paid twice
CORRECTED = EXPENSES.replace("EDU,教育局,2023,2023-04-02,因公出国(境)费,28000.50,李四,,出国培训费用,V4\n", "") + (
    "EDU,教育局,2023,2023-08-01,会议费,880.00,赵六,,赵六讲课费,V10\n"
    "EDU,教育局,2023,2023-08-01,会议费,880.00,赵六,,赵六讲课费,V11\n")


def _old_stored_names(conn: Connection) -> list[tuple]:
    """What ``stored_names`` answered before ``batch_name``: a GROUP BY over every row, superseded included."""
    out = []
    for dataset, t, col, kind in (("expenses", ExpenseEntry.__table__, "payee", "payee_type"),
                                  ("procurement", ProcurementRecord.__table__, "supplier_name", "supplier_type")):
        q = select(t.c[col], t.c[kind], func.count()).where(t.c[col].is_not(None)).group_by(t.c[col], t.c[kind])
        out += [(dataset, n, k, int(c)) for n, k, c in conn.execute(q)]
    return out


def _key(row: tuple) -> tuple:
    return tuple("" if v is None else str(v) for v in row)


def _hidden(conn: Connection, rules) -> frozenset[str]:
    redactor._names_cache.clear()  # what a new process reads
    return redactor._hidden_names(conn, rules)


def _load(engine, tmp_path: Path, name: str, body: str, kind: str, **options) -> int:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    result = import_file(engine, kind, path, Options(submitted_by="test", **options))
    assert result.status == "loaded", result.report["problems"]
    return result.batch_id


def test_the_kept_names_are_what_every_row_gave_before(engine, tmp_path):
    first = _load(engine, tmp_path, "e.csv", EXPENSES, "expenses")
    _load(engine, tmp_path, "p.csv", PROCUREMENT, "procurement")
    _load(engine, tmp_path, "p2.csv", TYPED_PROCUREMENT, "procurement")
    _load(engine, tmp_path, "e2.csv", CORRECTED, "expenses", supersedes=first)
    leeds = import_file(engine, "expenses", LEEDS, Options(submitted_by="test"), ReadOptions(mapping=LEEDS.with_suffix(".toml")))
    assert leeds.status == "loaded"
    publish_expenses(engine, [500, 700])  # published without frames: the GROUP BY over its rows
    rules = redactor.current_rules()
    with reading(engine) as conn:
        old = _old_stored_names(conn)
        assert sorted(redactor.stored_names(conn), key=_key) == sorted(old, key=_key)
        assert len(old) == 2410 and sum(r[3] for r in old) == 10303 + 9 + 2 + 4 + 10 + 2  # Leeds, then ours
        hidden = _hidden(conn, rules)
        assert hidden == {n for _, n, k, _ in old if rules.classify(n, k)}
        assert len(hidden) == 95 + 5 + 1 + 2 + 1  # Leeds (its own test), EXPENSES, PROCUREMENT, TYPED, 赵六
        assert {"张三", "李四", "赵六", "欧阳娜娜", "Ahmed Khan", "Mr J Smith", "王建国", "李娜", "黄山", "J D MUMFORD",
                "REDACTED PERSONAL DATA", "A APPLEYARD", "Alison Hunt"} <= hidden
        assert not {"阳光大酒店有限公司", "某印务有限公司", "某酒店", "A D Simpson Ltd"} & hidden
        # the rules are applied when read: other rules, other names, the same from both
        other = dataclasses.replace(rules, always_personal=frozenset({"某酒店"}), never_personal=frozenset({"张三"}))
        assert _hidden(conn, other) == {n for _, n, k, _ in old if other.classify(n, k)} == hidden - {"张三"} | {"某酒店"}
        assert verify(conn).ok


def test_a_batch_published_since_adds_its_names_however_numbered(engine, tmp_path):
    _load(engine, tmp_path, "e.csv", EXPENSES, "expenses")
    rules = redactor.current_rules()
    with reading(engine) as conn:
        before = _hidden(conn, rules)
    assert "李娜" not in before
    late = _load(engine, tmp_path, "p2.csv", TYPED_PROCUREMENT, "procurement")
    with reading(engine) as conn:
        after = redactor._hidden_names(conn, rules)  # the names of `late` only are read and added
        assert after == before | {"李娜", "黄山", "J D MUMFORD"} == _hidden(conn, rules)
    newer = publish_expenses(engine, [100])
    with reading(engine) as conn:
        # a process that saw `newer` before `late` committed (two imports out of id order): the newest batch is
        # the same, the count tells
        key = (str(conn.engine.url), rules.fingerprint())
        ids = frozenset(conn.execute(text("SELECT id FROM import_batch")).scalars()) - {late}
        redactor._names_cache[key] = ((len(ids), newer, ids), before)
        assert max(ids) == newer and redactor._hidden_names(conn, rules) == after
        # a batch gone from the store (a restored backup): read again from nothing
        redactor._names_cache[key] = ((0, 10**9, ids | {10**9}), frozenset({"幽灵"}))
        assert redactor._hidden_names(conn, rules) == after


def test_a_changed_or_deleted_kept_name_is_named_and_the_triggers_refuse_it(engine, db_url):
    from sqlalchemy.exc import DatabaseError

    a = publish_expenses(engine, [100, 200, 300], unit="U1")
    b = publish_expenses(engine, [10_000], unit="U2", name="second.csv")
    for sql in ("UPDATE batch_name SET kind = '单位'", "DELETE FROM batch_name"):
        with pytest.raises(DatabaseError), writing(engine) as conn:
            conn.execute(text(sql))
    drop_triggers(engine, "batch_name")
    with writing(engine) as conn:  # a person filed as a firm here would show their name in flag texts
        conn.execute(text("UPDATE batch_name SET kind = '单位' WHERE batch_id = :b"), {"b": b})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_name", b)
    assert p["message"] == (f"batch names of batch {b} (expenses, name sha256 05147b76fcfa…, type '单位') count 1 rows "
                            "but its rows have None")  # the name by its hash (sha256 of 某酒店)
    with writing(engine) as conn:
        conn.execute(text("UPDATE batch_name SET kind = NULL WHERE batch_id = :b"), {"b": b})
        conn.execute(text("DELETE FROM batch_name WHERE batch_id = :a"), {"a": a})
    p = first_problem(db_url)
    assert (p["code"], p["table"], p["batch_id"]) == ("rollup-changed", "batch_name", a)
    assert p["message"].endswith("type None) count None rows but its rows have 3")


def test_a_person_in_a_flag_message_stays_hidden_after_a_second_import(engine, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_VERSION_TTL", "0")  # the responses cached per data version: see the import at once
    _load(engine, tmp_path, "e.csv", EXPENSES, "expenses")
    run(engine)
    with writing(engine) as conn:
        secret = tokens.create(conn, name="财务甲", role="finance")[0]
    finance = {"Authorization": f"Bearer {secret}"}

    def messages(client, **kw) -> list[tuple[str, str]]:
        rows = client.get("/api/v1/flags", params={"rule": "duplicate_payment", "sort": "id"}, **kw).json()["data"]
        return [(r["figures"]["payee"], r["message_zh"] + r["message_en"]) for r in rows]

    with TestClient(create_app(db_url), base_url="http://127.0.0.1") as client:
        first = messages(client)  # the hidden names now kept by this process
        assert [p for p, _ in first] == [LABEL] and "张三" not in first[0][1] and LABEL in first[0][1]
        _load(engine, tmp_path, "e2.csv", EXPENSES.splitlines()[0] + "\n" + CORRECTED.split("V9\n")[1],
              "expenses")  # a second batch: 赵六 paid twice, a name this process has not seen
        run(engine)
        public, private = messages(client), messages(client, headers=finance)
    assert sorted(p for p, _ in private) == ["张三", "赵六"] and all(p in m for p, m in private)
    assert [p for p, _ in public] == [LABEL] * 2
    assert all(LABEL in m and "张三" not in m and "赵六" not in m for _, m in public)
