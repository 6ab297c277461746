"""``sunshine flags review|publish`` act as the holder of a discipline token; once the ledger has
workspace accounts a name typed with ``--by`` is refused, so nobody gets round the importer rule."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from cli.main import root
from ledger.i18n import t
from ledger.review import accounts, tokens
from ledger.store.db import reading, writing
from ledger.store.models import AuditLog, FlagReview
from tests.workspace.support import make_accounts
from tests.workspace.test_review import INTERNAL, PUBLIC, load_and_check


def _run(db_url, *args, token=None):
    env = {"SUNSHINE_TOKEN": token} if token else {}
    # No --lang here: in process it would fix the language of every command's help for later tests.
    out = CliRunner().invoke(root, ["--database", db_url, "flags", *args, "--json"], env=env)
    return out.exit_code, json.loads(out.output)


def test_reviews_from_the_cli_are_the_token_holders(engine, db_url):
    make_accounts(engine)
    flag_id = load_and_check(engine, db_url)
    made = CliRunner().invoke(root, ["--database", db_url, "token", "create", "--account", "li.si", "--json"])
    assert made.exit_code == 0, made.output
    assert (json.loads(made.output)["name"], json.loads(made.output)["role"]) == ("li.si", "discipline")
    discipline = json.loads(made.output)["token"]
    with writing(engine) as conn:
        finance, _ = tokens.create(conn, name="zhang.san", role="finance", actor="wang.wu")
    code, out = _run(db_url, "review", flag_id, "--to", "under_review", "--note", "x", "--by", "someone else")
    assert code == 1 and out["error"] == t("flags.needs-identity")
    code, out = _run(db_url, "review", flag_id, "--to", "under_review", "--note", "x", token=finance)
    assert code == 1 and out["error"] == t("flags.token-role", role="finance")
    code, out = _run(db_url, "review", flag_id, "--to", "under_review", "--note", "x", token="sl_forged")
    assert code == 1 and out["error"] == t("flags.token-unknown")
    assert _run(db_url, "review", flag_id, "--to", "under_review", "--note", INTERNAL, "--internal",
                token=discipline)[0] == 0
    assert _run(db_url, "review", flag_id, "--to", "explained", "--note", PUBLIC, "--token", discipline)[0] == 0
    code, out = _run(db_url, "publish", flag_id, token=discipline)
    assert code == 0 and out["published_reviews"] == 1
    with reading(engine) as conn:
        reviews = conn.execute(select(FlagReview.reviewer, FlagReview.visibility, FlagReview.published_at.is_not(None))
                               .order_by(FlagReview.id)).all()
        actors = set(conn.execute(select(AuditLog.actor).where(AuditLog.action.like("flag.%"))).scalars())
    assert [tuple(r) for r in reviews] == [("li.si", "internal", False), ("li.si", "public", True)]
    assert actors == {"li.si"}
    with writing(engine) as conn:  # disabling the account revokes the tokens made for it
        assert accounts.disable(conn, "li.si", actor="wang.wu")
        assert tokens.verify(conn, discipline) is None and tokens.verify(conn, finance) is not None
    code, out = _run(db_url, "review", flag_id, "--to", "closed", "--note", "x", token=discipline)
    assert code == 1 and out["error"] == t("flags.token-unknown")
