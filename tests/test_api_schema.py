"""schemathesis against the served OpenAPI schema: no 5xx and no response that breaks the schema.

Bounded for CI: the fuzzing phase with a few examples per operation and a fixed seed. Set
SUNSHINE_SCHEMATHESIS_EXAMPLES to look harder (e.g. 200) before a release.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.review import tokens
from ledger.store.db import make_engine, writing
from tests.api_support import running, seed

EXAMPLES = os.environ.get("SUNSHINE_SCHEMATHESIS_EXAMPLES", "5")
ST = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")


def st(base: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ST, "run", f"{base}/api/v1/schema/openapi.json", "--checks", "not_a_server_error,response_schema_conformance",
         "--phases", "fuzzing", "--max-examples", EXAMPLES, "--seed", "20260101", "--request-timeout", "20",
         "--no-color", *extra],
        capture_output=True, text=True, timeout=600,
    )


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install -e '.[test]')")
def test_schemathesis_finds_no_server_error_and_no_schema_violation(db_url):
    seed(db_url)
    engine = make_engine(db_url)
    with writing(engine) as conn:
        keys = {role: tokens.create(conn, name=f"st-{role}", role=role)[0] for role in ("finance", "discipline", "admin")}
    engine.dispose()
    with running(db_url) as client:
        base = str(client.base_url).rstrip("/")
        runs = {
            "public": st(base),
            "discipline": st(base, "--include-path-regex", r"/flags/.*/(reviews|publish)$",
                             "-H", f"Authorization: Bearer {keys['discipline']}"),
            "admin": st(base, "--include-path-regex", "/audit-log", "-H", f"Authorization: Bearer {keys['admin']}"),
        }
        if importlib.util.find_spec("importers.run") is not None:
            runs["finance"] = st(base, "--include-path-regex", "/imports$",
                                 "-H", f"Authorization: Bearer {keys['finance']}")
    for who, result in runs.items():
        assert result.returncode == 0, f"{who}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
