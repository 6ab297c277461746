"""``sunshine serve`` prints URLs that answer 200."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time

import httpx

from tests.api.test_api_cli import SUNSHINE


def test_serve_prints_urls_that_answer(db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SUNSHINE_RATE_LIMIT": "0"}
    proc = subprocess.Popen([str(SUNSHINE), "--database", db_url, "serve", "--port", str(port), "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        urls = re.findall(r"http://\S+", line)
        assert urls == [f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/api/v1/schema"], line
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "sunshine serve did not come up"
                time.sleep(0.2)
        for url in urls:
            r = httpx.get(url, timeout=10)
            assert r.status_code == 200, url
            assert r.headers["content-type"].startswith("text/html"), url
    finally:
        proc.terminate()
        proc.wait(10)
