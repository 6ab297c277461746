"""Shared by the workspace tests: accounts made through the ledger and a signed-in HTTP client."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from api.app import create_app
from ledger.review import accounts
from ledger.store.db import writing

PASSWORDS = {"finance": "财政 password 1", "discipline": "纪委 password 2", "admin": "admin password 3"}
USERS = {"finance": ("zhang.san", "张三"), "discipline": ("li.si", "李四"), "admin": ("wang.wu", "王五")}


def make_accounts(engine) -> None:
    with writing(engine) as conn:
        for role, (username, name) in USERS.items():
            accounts.create(conn, username=username, password=PASSWORDS[role], role=role, display_name=name,
                            actor="setup")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def client(db_url: str) -> TestClient:
    return TestClient(create_app(db_url), base_url="http://127.0.0.1")


def sign_in(c: TestClient, role: str, password: str | None = None):
    """Sign in as the account of ``role``; returns the POST's response (303 on success)."""
    form = c.get("/workspace/login")
    return c.post("/workspace/login", data={"csrf": csrf_of(form.text), "username": USERS[role][0],
                                            "password": password or PASSWORDS[role]}, follow_redirects=False)
