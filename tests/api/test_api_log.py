"""The transparency log over HTTP, on a real server on SQLite and PostgreSQL, checked the way a third party
would: downloads fed to docs/verify_log.py under the system Python with nothing of ours importable."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from ledger.store.db import make_engine
from tests.api_support import running
from tests.conftest import BACKENDS
from tests.tlog_support import publish_expenses

VERIFY_SCRIPT = Path(__file__).resolve().parent.parent.parent / "docs" / "verify_log.py"


def stdlib(*args):
    return subprocess.run(["python3", "-I", str(VERIFY_SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module", params=BACKENDS)
def log_api(request, databases, tmp_path_factory):
    key = tmp_path_factory.mktemp("key") / "log.key"
    mp = pytest.MonkeyPatch()
    mp.setenv("SUNSHINE_LOG_KEY", str(key))
    url = databases.fresh(request.param)
    engine = make_engine(url)
    with running(url, version_ttl_s=0) as client:
        client.engine = engine
        client.batches = [publish_expenses(engine, [100, 200], name="a.csv")]
        client.cp1 = client.get("/api/v1/log/checkpoint").json()
        client.batches += [publish_expenses(engine, [300, -400, 500], name="b.csv"),
                           publish_expenses(engine, [7], name="c.csv")]
        yield client
    engine.dispose()
    databases.drop(url)
    mp.undo()


def test_a_third_party_verifies_proofs_fetched_over_http_with_the_standard_library(log_api, tmp_path):
    a, b, _c = log_api.batches
    cp = log_api.get("/api/v1/log/checkpoint").json()
    assert (log_api.cp1["size"], cp["size"]) == (1, 3)
    files = {
        "cp1": log_api.cp1,
        "cp": cp,
        "leaves": log_api.get("/api/v1/log/leaves").json(),  # the page as served, as docs/verify.md saves it
        "inclusion": log_api.get(f"/api/v1/log/proofs/inclusion?batch={b}").json(),
        "consistency": log_api.get("/api/v1/log/proofs/consistency?from=1").json(),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(files["inclusion"]["manifest"], encoding="utf-8")
    rows = log_api.get(f"/api/v1/log/batches/{b}/rows")
    assert rows.headers["content-type"].startswith("application/x-ndjson")
    (tmp_path / "rows.jsonl").write_bytes(rows.content)
    assert files["inclusion"]["leaf_index"] == 1 and files["inclusion"]["tree_size"] == 3
    assert json.loads(files["inclusion"]["manifest"])["batch_id"] == str(b)
    assert hashlib.sha256(rows.content).hexdigest() == json.loads(files["inclusion"]["manifest"])["rows_sha256"]
    assert len(rows.content.splitlines()) == 4  # three expense lines and one budget line
    assert (files["consistency"]["size1"], files["consistency"]["size2"]) == (1, 3)

    for args in (("checkpoint", paths["cp"], "--public-key", cp["public_key"]), ("leaves", paths["cp"], paths["leaves"]),
                 ("rows", paths["cp"], paths["leaves"], b, tmp_path / "rows.jsonl"),
                 ("inclusion", paths["cp"], paths["inclusion"], manifest), ("inclusion", paths["cp"], paths["inclusion"]),
                 ("consistency", paths["cp1"], paths["cp"], paths["consistency"])):
        r = stdlib(*args)
        assert r.returncode == 0 and r.stdout.startswith("OK"), (args, r.stderr)

    # A proof for another leaf, or a rewritten old checkpoint, does not pass.
    other = tmp_path / "other.json"
    other.write_text(json.dumps(log_api.get(f"/api/v1/log/proofs/inclusion?batch={a}").json()))
    assert "not in the log at that index" in stdlib("inclusion", paths["cp"], other, manifest).stderr
    forged = {**log_api.cp1, "root_hash": "00" * 32}
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    assert stdlib("consistency", tmp_path / "forged.json", paths["cp"], paths["consistency"]).returncode == 1


def test_leaves_page_and_proofs_at_a_given_size(log_api):
    page = log_api.get("/api/v1/log/leaves?start=0&end=2").json()
    assert [x["leaf_index"] for x in page["leaves"]] == [0, 1] and page["tree_size"] == 3
    assert page["next"] == "/api/v1/log/leaves?start=2&end=4"
    last = log_api.get(page["next"]).json()
    assert [x["leaf_index"] for x in last["leaves"]] == [2] and last["next"] is None
    assert [x["event"] for x in page["leaves"]] == ["import", "import"]
    proof = log_api.get("/api/v1/log/proofs/inclusion?leaf=0&size=1").json()
    assert (proof["tree_size"], proof["proof"], proof["root_hash"]) == (1, [], log_api.cp1["root_hash"])
    same = log_api.get("/api/v1/log/proofs/consistency?from=2&to=2").json()
    assert same["proof"] == [] and same["root1"] == same["root2"]


@pytest.mark.parametrize("query, status, parameter", [
    ("proofs/consistency?from=3&to=2", 400, "from"),
    ("proofs/consistency?from=1&to=99", 400, "to"),
    ("proofs/consistency?from=abc", 400, "from"),
    ("proofs/consistency", 400, "from"),
    ("leaves?start=5&end=2", 400, "end"),
    ("leaves?start=0&end=5000", 400, "end"),
    ("leaves?start=-1", 400, "start"),
    ("proofs/inclusion", 400, "batch"),
    ("proofs/inclusion?batch=1&leaf=0", 400, "batch"),
    ("proofs/inclusion?leaf=7", 400, "leaf"),
    ("proofs/inclusion?leaf=0&size=9", 400, "size"),
    ("proofs/inclusion?batch=999", 404, None),
    ("batches/999/rows", 404, None),
])
def test_bad_parameters_are_problem_details_naming_the_parameter(log_api, query, status, parameter):
    r = log_api.get(f"/api/v1/log/{query}")
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and "Traceback" not in r.text
    if parameter:
        assert [e["parameter"] for e in body["errors"]] == [parameter]


def test_log_reads_are_cached_and_documented(log_api):
    r = log_api.get("/api/v1/log/checkpoint")
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    assert log_api.get("/api/v1/log/checkpoint", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    rows = log_api.get(f"/api/v1/log/batches/{log_api.batches[0]}/rows")
    assert rows.headers["etag"] and rows.headers["cache-control"].startswith("public")
    schema = log_api.get("/api/v1/schema/openapi.json").json()
    for path in ("/api/v1/log/checkpoint", "/api/v1/log/leaves", "/api/v1/log/proofs/inclusion",
                 "/api/v1/log/proofs/consistency", "/api/v1/log/batches/{batch_id}/rows"):
        assert path in schema["paths"], path
    params = {p["name"]: p for p in schema["paths"]["/api/v1/log/proofs/consistency"]["get"]["parameters"]}
    assert set(params) == {"from", "to"} and params["from"]["required"] and params["from"]["examples"]
