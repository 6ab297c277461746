"""``sunshine token`` and ``sunshine serve`` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from cli.main import root

SUNSHINE = Path(sys.executable).parent / "sunshine"


def test_token_create_list_revoke(db_url):
    runner = CliRunner()
    made = runner.invoke(root, ["--database", db_url, "token", "create", "--role", "finance", "--name", "财政局 张三", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["token"].startswith("sl_") and created["role"] == "finance"
    listed = json.loads(runner.invoke(root, ["--database", db_url, "token", "list", "--json"]).output)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed["tokens"]] == [("财政局 张三", "finance", None)]
    assert created["token"] not in runner.invoke(root, ["--database", db_url, "token", "list"]).output
    assert runner.invoke(root, ["--database", db_url, "token", "revoke", str(created["id"])]).exit_code == 0
    again = runner.invoke(root, ["--database", db_url, "token", "revoke", str(created["id"]), "--json"])
    assert again.exit_code == 1 and json.loads(again.output)["ok"] is False
    assert runner.invoke(root, ["--database", db_url, "token", "create", "--role", "king", "--name", "x"]).exit_code == 2


def test_serve_answers_on_the_port_it_was_given(db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SUNSHINE_RATE_LIMIT": "0"}
    proc = subprocess.Popen([str(SUNSHINE), "--database", db_url, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "sunshine serve did not come up"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["ok"] is True
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/categories").json()[0]["code"]
    finally:
        proc.terminate()
        proc.wait(10)
