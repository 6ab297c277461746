"""Sign-in, sessions, CSRF, lock-out and the admin page, over HTTP (the app as served)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from ledger.store.db import reading
from ledger.store.models import AccountSession, AuditLog
from tests.workspace.support import USERS, client, csrf_of, make_accounts, sign_in


def test_a_clerk_signs_in_is_sent_to_imports_and_signs_out(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        first = c.get("/workspace/finance", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/workspace/login?next=/workspace/finance"
        done = sign_in(c, "finance")
        assert done.status_code == 303 and done.headers["location"] == "/workspace/finance"
        cookie = [h for h in done.headers.get_list("set-cookie") if h.startswith("sunshine_session=")][0]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/workspace" in cookie
        assert "Secure" not in cookie  # plain http on 127.0.0.1
        page = c.get("/workspace/finance")
        assert page.status_code == 200 and "张三" in page.text and page.headers["cache-control"] == "no-store"
        assert c.get("/workspace/admin").status_code == 403  # a clerk is no admin
        assert c.post("/workspace/logout", data={"csrf": "forged"}).status_code == 403
        out = c.post("/workspace/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303
        assert c.get("/workspace/finance", follow_redirects=False).status_code == 303
    with reading(engine) as conn:
        ended = conn.execute(select(AccountSession.ended_at)).scalar_one()
        actions = conn.execute(select(AuditLog.actor, AuditLog.action).where(AuditLog.actor == "zhang.san")
                               .order_by(AuditLog.id)).all()
    assert ended is not None
    assert [tuple(a) for a in actions] == [("zhang.san", "account.login"), ("zhang.san", "account.logout")]


def test_cookie_is_secure_behind_https(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        form = c.get("/workspace/login")
        done = c.post("/workspace/login", headers={"X-Forwarded-Proto": "https"}, follow_redirects=False,
                      data={"csrf": csrf_of(form.text), "username": "li.si", "password": "纪委 password 2"})
    assert done.headers["location"] == "/workspace/review"
    assert "Secure" in [h for h in done.headers.get_list("set-cookie") if h.startswith("sunshine_session=")][0]


def test_login_needs_its_csrf_token_and_locks_after_five_failures(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        c.get("/workspace/login")
        forged = c.post("/workspace/login", data={"csrf": "x", "username": "zhang.san", "password": "财政 password 1"})
        assert forged.status_code == 403
        for _ in range(5):
            assert sign_in(c, "finance", password="wrong wrong wrong").status_code == 401
        locked = sign_in(c, "finance")
        assert locked.status_code == 401 and "锁定" in locked.text
    with reading(engine) as conn:
        details = [json.loads(d) for d in conn.execute(select(AuditLog.details_json)
                   .where(AuditLog.action == "account.login_failed").order_by(AuditLog.id)).scalars()]
    assert [d["reason"] for d in details] == ["password"] * 5 + ["locked"]
    assert details[4]["locked"] is True


def test_next_never_leaves_the_workspace(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        form = c.get("/workspace/login?next=//evil.example/x")
        assert "evil" not in form.text
        done = c.post("/workspace/login?next=//evil.example/x", follow_redirects=False,
                      data={"csrf": csrf_of(form.text), "username": "wang.wu", "password": "admin password 3"})
    assert done.headers["location"] == "/workspace/admin"


def test_an_admin_creates_and_disables_accounts(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        sign_in(c, "admin")
        page = c.get("/workspace/admin?lang=en")
        assert "Create an account" in page.text
        token = csrf_of(page.text)
        assert c.post("/workspace/admin/accounts", data={"username": "zhao", "password": "long enough 1",
                                                         "role": "finance"}).status_code == 403  # no token
        short = c.post("/workspace/admin/accounts", data={"csrf": token, "username": "zhao", "password": "short",
                                                          "role": "finance", "display_name": "赵六"})
        assert short.status_code == 422 and "密码至少需要 10 个字符" in short.text and 'value="赵六"' in short.text
        short_en = c.post("/workspace/admin/accounts?lang=en", data={"csrf": token, "username": "zhao",
                                                                     "password": "short", "role": "finance"})
        assert short_en.status_code == 422 and "A password needs at least 10 characters." in short_en.text
        bad_role = c.post("/workspace/admin/accounts", data={"csrf": token, "username": "zhao",
                                                             "password": "long enough 1", "role": "boss"})
        assert bad_role.status_code == 422 and "而不是“boss”" in bad_role.text
        made = c.post("/workspace/admin/accounts", data={"csrf": token, "username": "zhao", "display_name": "赵六",
                                                         "password": "long enough 1", "role": "finance"})
        assert made.status_code == 200 and "账户 zhao 已创建" in made.text
        own = c.post("/workspace/admin/accounts/wang.wu/disable", data={"csrf": token})
        assert own.status_code == 422 and "不能停用您当前登录所用的账户" in own.text
        nobody = c.post("/workspace/admin/accounts/nobody/disable?lang=en", data={"csrf": token})
        assert nobody.status_code == 404 and "No active account is named nobody." in nobody.text
        gone = c.post("/workspace/admin/accounts/zhang.san/disable", data={"csrf": token}, follow_redirects=False)
        assert gone.status_code == 303
        log = c.get("/workspace/admin").text
        assert re.findall(r'data-action="([\w.]+)"', log)[:3] == ["account.disable", "account.create", "account.login"]
    with client(db_url) as c:
        assert sign_in(c, "finance").status_code == 401  # disabled
    with reading(engine) as conn:
        acts = conn.execute(select(AuditLog.actor, AuditLog.action, AuditLog.object_id)
                            .where(AuditLog.actor == USERS["admin"][0], AuditLog.action.like("account.%"))
                            .order_by(AuditLog.id)).all()
    assert [(a, b) for a, b, _ in acts] == [("wang.wu", "account.login"), ("wang.wu", "account.create"),
                                            ("wang.wu", "account.disable")]


def test_one_address_spraying_passwords_over_accounts_is_stopped(engine, db_url):
    make_accounts(engine)
    with client(db_url) as c:
        for i in range(20):  # a few guesses on each account: no account reaches its own lock-out
            role = ("finance", "discipline", "admin")[i % 3]
            assert sign_in(c, role, password=f"guess {i} guess").status_code == 401
        assert sign_in(c, "admin").status_code == 429  # the right password, from that address, waits
    with reading(engine) as conn:
        failures = conn.execute(select(AuditLog.id).where(AuditLog.action == "account.login_failed")).all()
    assert len(failures) == 20
