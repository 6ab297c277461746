"""An imported batch's transparency-log leaf names the publisher's role (not null)."""

import json

import pytest
from sqlalchemy import select

from importers.pipeline import Options
from importers.run import import_file
from ledger.store.db import reading
from ledger.store.models import LogLeaf


@pytest.fixture(autouse=True)
def log_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_LOG_KEY", str(tmp_path / "log.key"))


def test_imported_batch_leaf_carries_the_role(engine, tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("单位编码,单位名称,年度,类别,金额\nA01,市财政局,2023,公务接待费,100\n", encoding="utf-8")
    r = import_file(engine, "expenses", p, Options(submitted_by="clerk", role="finance"))
    assert r.status == "loaded"
    with reading(engine) as conn:
        leaf = conn.execute(select(LogLeaf.event, LogLeaf.manifest).where(LogLeaf.ref_id == str(r.batch_id))).one()
    manifest = json.loads(leaf.manifest)
    assert (leaf.event, manifest["actor_role"], manifest["batch_id"]) == ("import", "finance", str(r.batch_id))
