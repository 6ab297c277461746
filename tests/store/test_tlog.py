"""The transparency log on a real store: leaves, signed checkpoints, proofs, and a rogue administrator."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from ledger.log import merkle, tlog
from ledger.log.canonical import canonical_rows
from ledger.log.verify import verify
from ledger.store.db import reading, writing
from tests.tlog_support import publish_expenses

SUNSHINE = str(Path(sys.executable).parent / "sunshine")


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    path = tmp_path / "log.key"
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(path))
    return path


def sunshine(db_url, *args):
    return subprocess.run([SUNSHINE, "--database", db_url, *map(str, args)], capture_output=True, text=True)


def drop_triggers(engine, table):
    """What a rogue administrator with the database password does first."""
    with writing(engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER append_only_{table}_update"))
            conn.execute(text(f"DROP TRIGGER append_only_{table}_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER append_only_{table} ON {table}"))


def test_each_publish_appends_a_leaf_and_a_signed_checkpoint(engine, log_key):
    a = publish_expenses(engine, [123_456, 1])
    b = publish_expenses(engine, [500], supersedes=a, name="fixed.csv")
    with reading(engine) as conn:
        leaves = tlog.leaves(conn)
        cp = tlog.latest_checkpoint(conn)
        rows = [line for _t, _i, line in canonical_rows(conn, a)]
    assert [(x["leaf_index"], x["event"], x["ref_id"]) for x in leaves] == [(0, "import", str(a)), (1, "correction", str(b))]
    m = json.loads(leaves[0]["manifest"])
    assert leaves[0]["manifest"] == json.dumps(m, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert m["row_count"] == "3" and m["control_total_fen"] == "123457" and m["supersedes"] is None
    assert m["actor_role"] == "finance" and m["kind"] == "expenses" and m["v"] == "2"
    assert json.loads(leaves[1]["manifest"])["supersedes"] == str(a)
    assert rows[0].startswith('["expense_entry","1","1","2",') and '"123456","CNY","某酒店"' in rows[0]
    assert rows[2].startswith('["budget_line",')
    assert cp["size"] == 2 and cp["key_id"] == tlog.key_id(tlog.public_bytes(tlog.load_key(log_key)))
    assert cp["root_hash"] == merkle.root([bytes.fromhex(x["leaf_hash"]) for x in leaves]).hex()
    tlog.check_signature(cp)
    with pytest.raises(ValueError):
        tlog.check_signature({**cp, "size": 3})
    report = verify(engine.connect(), cp)
    assert report.ok, report.problems
    assert (report.tree_size, report.checkpoints_checked, report.batches_checked, report.rows_checked) == (2, 2, 2, 5)


def test_proofs_for_a_batch_verify(engine):
    ids = [publish_expenses(engine, [i + 1], name=f"f{i}.csv") for i in range(5)]
    with reading(engine) as conn:
        index = tlog.batch_leaf_index(conn, ids[3])
        inc = tlog.inclusion_proof(conn, index)
        con = tlog.consistency_proof(conn, 2)
        cp = tlog.latest_checkpoint(conn)
    assert index == 3 and inc["root_hash"] == cp["root_hash"] == con["root2"]
    merkle.verify_inclusion(3, 5, bytes.fromhex(inc["leaf_hash"]), [bytes.fromhex(p) for p in inc["proof"]],
                            bytes.fromhex(cp["root_hash"]))
    merkle.verify_consistency(2, 5, bytes.fromhex(con["root1"]), bytes.fromhex(con["root2"]),
                              [bytes.fromhex(p) for p in con["proof"]])


def test_rogue_administrator_changing_one_amount_is_named_by_verify(engine, db_url, tmp_path):
    publish_expenses(engine, [100, 200, 300])
    b = publish_expenses(engine, [10_000, 20_000, 30_000], name="second.csv")
    exported = tmp_path / "checkpoint.json"
    assert sunshine(db_url, "checkpoint", "export", str(exported)).returncode == 0
    ok = sunshine(db_url, "verify", "--checkpoint", str(exported), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["ok"] is True

    drop_triggers(engine, "expense_entry")
    with writing(engine) as conn:
        target = conn.execute(text("SELECT id FROM expense_entry WHERE batch_id = :b AND source_row = 3"), {"b": b}).scalar()
        conn.execute(text("UPDATE expense_entry SET amount_fen = 2 WHERE id = :i"), {"i": target})

    bad = sunshine(db_url, "verify", "--json")
    assert bad.returncode == 1
    first = json.loads(bad.stdout)["first_problem"]
    assert (first["code"], first["table"], first["row_id"], first["batch_id"]) == ("row-changed", "expense_entry", target, b)
    text_out = sunshine(db_url, "verify")
    assert f"expense_entry row {target} of batch {b} no longer matches" in text_out.stderr


def test_a_forged_checkpoint_fails_the_consistency_proof_against_the_exported_one(engine, db_url, tmp_path):
    a = publish_expenses(engine, [100, 200])
    publish_expenses(engine, [300], name="b.csv")
    exported = tmp_path / "exported.json"
    assert sunshine(db_url, "checkpoint", "export", str(exported)).returncode == 0

    # The rogue administrator, who also holds the signing key, rewrites the first manifest to match a
    # changed amount, recomputes its leaf hash, appends a leaf and signs a fresh checkpoint.
    for table in ("expense_entry", "log_leaf"):
        drop_triggers(engine, table)
    with writing(engine) as conn:
        conn.execute(text("UPDATE expense_entry SET amount_fen = 1 WHERE batch_id = :a AND source_row = 2"), {"a": a})
        summary_rows = list(canonical_rows(conn, a))
        import hashlib
        sha = hashlib.sha256("".join(line + "\n" for _t, _i, line in summary_rows).encode()).hexdigest()
        manifest = json.loads(conn.execute(text("SELECT manifest FROM log_leaf WHERE leaf_index = 0")).scalar())
        manifest["rows_sha256"] = sha
        forged = json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        conn.execute(text("UPDATE log_leaf SET manifest = :m, leaf_hash = :h WHERE leaf_index = 0"),
                     {"m": forged, "h": merkle.leaf_hash(forged.encode()).hex()})
    publish_expenses(engine, [400], name="c.csv")
    forged_cp = tmp_path / "forged.json"
    assert sunshine(db_url, "checkpoint", "export", str(forged_cp)).returncode == 0
    forged_doc = json.loads(forged_cp.read_text())
    tlog.check_signature(forged_doc)  # validly signed: only consistency gives it away

    result = sunshine(db_url, "verify", "--checkpoint", str(exported), "--json")
    assert result.returncode == 1
    codes = [p["code"] for p in json.loads(result.stdout)["problems"]]
    assert "consistency" in codes
    # And from the exported checkpoint alone, the forged one's proof cannot verify.
    old = json.loads(exported.read_text())
    with reading(engine) as conn:
        proof = tlog.consistency_proof(conn, old["size"], forged_doc["size"])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old["size"], forged_doc["size"], bytes.fromhex(old["root_hash"]),
                                  bytes.fromhex(forged_doc["root_hash"]), [bytes.fromhex(p) for p in proof["proof"]])


def test_verify_names_a_deleted_row_and_a_rewritten_leaf(engine):
    a = publish_expenses(engine, [1, 2])
    drop_triggers(engine, "budget_line")
    drop_triggers(engine, "log_leaf")
    with writing(engine) as conn:
        rid = conn.execute(text("SELECT id FROM budget_line WHERE batch_id = :a"), {"a": a}).scalar()
        conn.execute(text("DELETE FROM budget_line WHERE id = :i"), {"i": rid})
        conn.execute(text("UPDATE log_leaf SET manifest = replace(manifest, '\"finance\"', '\"admin\"')"))
    with reading(engine) as conn:
        report = verify(conn)
    got = [(p.code, p.table, p.row_id) for p in report.problems]
    assert got[0] == ("leaf-changed", None, None)
    assert ("row-deleted", "budget_line", rid) in got
    assert ("checkpoint-root", None, None) in got


def test_checkpoint_export_before_any_publish_is_refused(db_url, tmp_path):
    r = sunshine(db_url, "checkpoint", "export", str(tmp_path / "x.json"))
    assert r.returncode == 1 and "nothing has been published" in r.stderr
    assert sunshine(db_url, "verify").returncode == 0


VERIFY_SCRIPT = Path(__file__).resolve().parent.parent.parent / "docs" / "verify_log.py"


def stdlib(*args):
    """The third party's view: system Python in isolated mode, nothing of ours importable."""
    return subprocess.run(["python3", "-I", str(VERIFY_SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_stdlib_ed25519_matches_rfc8032_and_cryptography():
    import importlib.util

    spec = importlib.util.spec_from_file_location("verify_log", VERIFY_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pub = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert mod.ed25519_verify(pub, b"", sig)  # RFC 8032 section 7.1, test 1
    assert not mod.ed25519_verify(pub, b"x", sig)
    key = Ed25519PrivateKey.generate()
    msg = "阳光账本".encode()
    good = key.sign(msg)
    assert mod.ed25519_verify(tlog.public_bytes(key), msg, good)
    assert not mod.ed25519_verify(tlog.public_bytes(key), msg, bytes([good[0] ^ 1]) + good[1:])


def test_a_third_party_checks_a_download_with_the_standard_library_only(engine, db_url, tmp_path):
    a = publish_expenses(engine, [100, 200])
    cp1 = tmp_path / "cp1.json"
    assert sunshine(db_url, "checkpoint", "export", str(cp1)).returncode == 0
    b = publish_expenses(engine, [300, 400, 500], name="b.csv")
    cp2, leaves, rows = tmp_path / "cp2.json", tmp_path / "leaves.json", tmp_path / "rows.jsonl"
    for args in (("export", cp2), ("leaves", leaves), ("rows", b, rows)):
        assert sunshine(db_url, "checkpoint", *args).returncode == 0
    proof = tmp_path / "consistency.json"
    proof.write_text(sunshine(db_url, "checkpoint", "prove", "--from-size", "1").stdout)
    inclusion = tmp_path / "inclusion.json"
    inclusion.write_text(sunshine(db_url, "checkpoint", "prove", "--batch", str(a)).stdout)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.loads(leaves.read_text())[0]["manifest"], encoding="utf-8")
    pinned = json.loads(cp2.read_text())["public_key"]

    for args in (("checkpoint", cp2, "--public-key", pinned), ("leaves", cp2, leaves), ("rows", cp2, leaves, b, rows),
                 ("consistency", cp1, cp2, proof), ("inclusion", cp2, inclusion, manifest)):
        r = stdlib(*args)
        assert r.returncode == 0 and r.stdout.startswith("OK"), (args, r.stderr)

    assert "different key" in stdlib("checkpoint", cp2, "--public-key", "00" * 32).stderr
    rows.write_text(rows.read_text().replace('"40000"', '"40001"').replace('"400"', '"401"'))
    assert "do not match its manifest" in stdlib("rows", cp2, leaves, b, rows).stderr
    forged = json.loads(cp2.read_text())
    forged["root_hash"] = "00" * 32
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    assert "bad signature" in stdlib("consistency", cp1, tmp_path / "forged.json", proof).stderr


def test_a_review_leaf_carries_the_reviewers_role(engine):
    from ledger.review.workflow import record_review
    from ledger.rules.flags import list_flags
    from tests.ledgertext import load_ledger, run

    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """, submitted_by="finance-clerk")
    run(engine)
    with engine.connect() as conn:
        [flag] = list_flags(conn)
    with writing(engine) as conn:
        first = record_review(conn, flag["id"], "under_review", note="调取凭证", reviewer="纪委王某")
        second = record_review(conn, flag["id"], "explained", note="已说明", reviewer="管理员", role="admin")
    with reading(engine) as conn:
        reviews = {x["ref_id"]: json.loads(x["manifest"]) for x in tlog.leaves(conn) if x["event"] == "review"}
        report = verify(conn)
    assert reviews[str(first.id)]["actor_role"] == "discipline"
    assert (reviews[str(second.id)]["actor_role"], reviews[str(second.id)]["to_state"]) == ("admin", "explained")
    assert "note" not in reviews[str(first.id)] and "调取凭证" not in json.dumps(reviews, ensure_ascii=False)
    assert report.ok and report.reviews_checked == 2, report.problems
