"""Workspace accounts: argon2id hashes, lock-out, sessions, the CLI, and the audit log naming the account."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, text, update

from cli.main import root
from ledger.review import accounts
from ledger.store.db import reading, writing
from ledger.store.models import Account, AccountSession, AuditLog, Flag, FlagAssignment

PASSWORD = "correct horse battery"


def test_accounts_cli_create_list_disable(db_url):
    runner = CliRunner()
    made = runner.invoke(root, ["--database", db_url, "accounts", "create", "zhangsan", "--role", "finance",
                                "--name", "财政局 张三", "--json"], env={"SUNSHINE_ACCOUNT_PASSWORD": PASSWORD})
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["role"] == "finance"
    listed = json.loads(runner.invoke(root, ["--database", db_url, "accounts", "list", "--json"]).output)
    assert [(a["username"], a["display_name"], a["role"], a["disabled_at"]) for a in listed["accounts"]] == [
        ("zhangsan", "财政局 张三", "finance", None)]
    assert runner.invoke(root, ["--database", db_url, "accounts", "disable", "zhangsan"]).exit_code == 0
    again = runner.invoke(root, ["--database", db_url, "accounts", "disable", "zhangsan", "--json"])
    assert again.exit_code == 1 and json.loads(again.output)["ok"] is False
    short = runner.invoke(root, ["--database", db_url, "accounts", "create", "lisi", "--role", "admin", "--json"],
                          env={"SUNSHINE_ACCOUNT_PASSWORD": "short"})
    assert short.exit_code == 1 and json.loads(short.output)["error"] == "密码至少需要 10 个字符。"
    english = runner.invoke(root, ["--lang", "en", "--database", db_url, "accounts", "create", "lisi", "--role",
                                   "admin", "--json"], env={"SUNSHINE_ACCOUNT_PASSWORD": "short"})
    assert json.loads(english.output)["error"] == "A password needs at least 10 characters."


def test_password_is_an_argon2id_hash_and_lockout_after_five_failures(engine):
    with writing(engine) as conn:
        accounts.create(conn, username="wangwu", password=PASSWORD, role="discipline", actor="admin")
    with reading(engine) as conn:
        stored = conn.execute(select(Account.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    for _ in range(4):
        with writing(engine) as conn:
            assert accounts.authenticate(conn, "wangwu", "wrong password!") is None
    with writing(engine) as conn:  # a right password resets the count
        assert accounts.authenticate(conn, "WangWu ", PASSWORD).username == "wangwu"
    for _ in range(5):
        with writing(engine) as conn:
            assert accounts.authenticate(conn, "wangwu", "wrong password!") is None
    with writing(engine) as conn:  # locked: the right password is refused too
        assert accounts.authenticate(conn, "wangwu", PASSWORD) is None
    with writing(engine) as conn:
        conn.execute(update(Account).values(locked_until=None))
        assert accounts.authenticate(conn, "wangwu", PASSWORD) is not None
    with reading(engine) as conn:
        actions = [tuple(r) for r in conn.execute(
            select(AuditLog.actor, AuditLog.action).order_by(AuditLog.id))]
        reasons = [json.loads(d)["reason"] for d in conn.execute(
            select(AuditLog.details_json).where(AuditLog.action == "account.login_failed")).scalars()]
    assert actions[0] == ("admin", "account.create")
    assert len(actions) == 1 + 4 + 5 + 1  # no row for the logins that worked: sessions log those
    assert reasons == ["password"] * 9 + ["locked"]


def test_sessions_end_and_die_with_the_account(engine):
    with writing(engine) as conn:
        info = accounts.create(conn, username="zhaoliu", password=PASSWORD, role="admin")
        secret, session = accounts.start_session(conn, info)
    with reading(engine) as conn:
        assert accounts.session_of(conn, secret).account.username == "zhaoliu"
        assert accounts.session_of(conn, secret + "x") is None
        stored = conn.execute(select(AccountSession.id)).scalar_one()
    assert stored != secret and len(stored) == 64
    assert accounts.csrf_ok(session, session.csrf_token) and not accounts.csrf_ok(session, "forged")
    with writing(engine) as conn:
        assert accounts.end_session(conn, secret) is True
        assert accounts.session_of(conn, secret) is None
        again, _ = accounts.start_session(conn, info)
        assert accounts.disable(conn, "zhaoliu", actor="root")
        assert accounts.session_of(conn, again) is None


def test_accounts_sessions_and_assignments_are_never_deleted(engine):
    with writing(engine) as conn:
        info = accounts.create(conn, username="sunqi", password=PASSWORD, role="finance")
        accounts.start_session(conn, info)
        conn.execute(insert(Flag).values(id="f" * 64, rule_code="budget_overrun", rule_version=1, figures_json="{}",
                                         message_zh="x", message_en="x", evidence_json="{}"))
        conn.execute(insert(FlagAssignment).values(flag_id="f" * 64, assignee=None, assigned_by="sunqi"))
    for stmt in (delete(Account), delete(AccountSession), update(Account).values(role="admin"),
                 update(AccountSession).values(csrf_token="x"), delete(FlagAssignment),
                 update(FlagAssignment).values(assignee="sunqi")):
        with pytest.raises(Exception, match="never"):
            with writing(engine) as conn:
                conn.execute(stmt)
    with reading(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM account")).scalar_one() == 1
