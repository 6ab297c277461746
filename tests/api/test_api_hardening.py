"""The red team's medium and low findings (issue 14, items 7, 8, 9) against a real server, on both databases."""

from __future__ import annotations

import base64

import pytest

from ledger.review import tokens
from ledger.store.db import make_engine, writing
from tests.api_support import running, seed


@pytest.fixture
def served(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    seed(db_url)
    with running(db_url, allowed_hosts=["127.0.0.1", "localhost", "evil.example"], stream_max=1) as client:
        client.url = db_url
        yield client


NUL_URLS = [
    ("/api/v1/expenses?payee=a%00b", "payee"),
    ("/api/v1/expenses?unit=U1&category=%00", "category"),
    ("/api/v1/downloads/expenses.csv?payee=%00", "payee"),
    ("/api/v1/aggregate?cut=unit:%00", "cut"),
    ("/api/v1/units/U1%00", "path"),
    ("/api/v1/flags/%00", "path"),
    ("/units/%00", "path"),
]


def test_a_nul_byte_anywhere_is_a_400_naming_where(served):
    for url, parameter in NUL_URLS:
        r = served.get(url)
        assert r.status_code == 400, url
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["parameter"] == parameter, url
    assert served.get("/api/v1/health").status_code == 200


def test_datapackage_never_echoes_the_host_header(served):
    poisoned = served.get("/api/v1/downloads/datapackage.json", headers={"Host": "evil.example"})
    assert poisoned.status_code == 200
    assert "evil.example" not in poisoned.text
    clean = served.get("/api/v1/downloads/datapackage.json")
    paths = {r["name"]: r["path"] for r in clean.json()["resources"]}
    assert paths["expenses"] == "expenses.csv" and "evil" not in clean.text
    assert poisoned.headers["etag"] != clean.headers["etag"]  # the cache keys on Host too


def test_head_is_answered_for_gets_without_a_body(served):
    get = served.get("/api/v1/expenses?year=2023")
    head = served.head("/api/v1/expenses?year=2023")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == "application/json"
    for url in ("/", "/api/v1/downloads/expenses.csv", "/api/v1/log/checkpoint", "/api/v1/health"):
        assert served.head(url).status_code in (200, 404), url
    # stream_max is 1: a HEAD of a download must not keep its slot
    for _ in range(3):
        assert served.head("/api/v1/downloads/expenses.csv").status_code == 200
    full = served.get("/api/v1/downloads/expenses.csv")
    assert full.status_code == 200 and full.text.count("\r\n") == 7  # header and the 6 live rows


def test_every_response_carries_the_browser_security_headers(served):
    for url in ("/", "/api/v1/expenses", "/api/v1/no-such-thing", "/api/v1/expenses?payee=%00"):
        r = served.get(url)
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["x-frame-options"] == "DENY", url
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], url
        assert r.headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin"), url


def test_hostile_cursor_leaf_index_and_upload_name_are_400_not_500(served):
    bomb = base64.urlsafe_b64encode(("[" * 3000 + "]" * 3000).encode()).decode()
    r = served.get("/api/v1/expenses", params={"cursor": bomb})
    assert r.status_code == 400 and r.json()["errors"][0]["parameter"] == "cursor"
    for params, name in (({"start": 2**63}, "start"), ({"start": 0, "end": 2**63}, "end")):
        r = served.get("/api/v1/log/leaves", params=params)
        assert r.status_code == 400, params
        assert name in r.text
    r = served.get("/api/v1/log/proofs/consistency", params={"from": "9" * 30})
    assert r.status_code == 400
    engine = make_engine(served.url)
    with writing(engine) as conn:
        key = tokens.create(conn, name="财政局甲", role="finance")[0]
    engine.dispose()
    csv = b"unit_code,fiscal_year,category,amount\nU9,2023,reception,12.34\n"
    r = served.post("/api/v1/imports", params={"kind": "expenses"}, headers={"Authorization": f"Bearer {key}"},
                    files={"file": ("..", csv, "text/csv")})
    assert r.status_code == 422, r.text  # refused plainly (no extension to tell the format), never a 500
    report = r.json()["files"][0]
    assert report["file"] == "upload" and report["problems"]["by_code"] == {"error:file-unreadable": 1}


def test_report_csv_neutralises_formulas_like_the_api(engine, db_url, tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import text

    from tests.tlog_support import publish_expenses

    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))
    publish_expenses(engine, [123_456], unit="U1", year=2023)
    with writing(engine) as conn:  # a unit name an attacker chose (names may change: import units --update-units)
        conn.execute(text("UPDATE unit SET name = '=HYPERLINK(\"http://x\")' WHERE code = 'U1'"))
    out = subprocess.run([str(Path(sys.executable).parent / "sunshine"), "--database", db_url, "report", "three-public",
                          "--year", "2023", "--csv"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "'=HYPERLINK" in out.stdout and ",=HYPERLINK" not in out.stdout
    assert "123456" in out.stdout  # amounts stay numbers


def test_slow_header_connections_are_closed(db_url, monkeypatch):
    """A slowloris client (headers a byte at a time, never finished) is cut off; a normal client is served."""
    import socket
    import threading
    import time

    import uvicorn

    from api.app import create_app
    from api.middleware.slow_clients import SlowHeaders
    from api.settings import Settings

    monkeypatch.setattr(SlowHeaders, "header_timeout_s", 1.0)
    app = create_app(db_url, settings=Settings(database_url=db_url, rate_limit=0))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=SlowHeaders))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        slow, silent = socket.create_connection(("127.0.0.1", port)), socket.create_connection(("127.0.0.1", port))
        slow.settimeout(5)
        silent.settimeout(5)
        slow.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed, deadline = False, time.monotonic() + 4
        while not closed and time.monotonic() < deadline:  # one more header byte every 0.2 s, never the blank line
            try:
                slow.sendall(b"X")
                closed = _readable(slow) and slow.recv(1) == b""
            except OSError:  # reset by the server
                closed = True
            time.sleep(0.2)
        assert closed
        assert silent.recv(1) == b""  # a connection that never sends anything is closed too
        with socket.create_connection(("127.0.0.1", port)) as ok:
            ok.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert ok.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(10)


def _readable(sock) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])
