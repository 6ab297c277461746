"""The review workflow: every legal transition, illegal ones refused, importers kept out, notes restricted."""

import json

import pytest
from sqlalchemy import select

from ledger.review.workflow import FINDINGS, ReviewRefused, publish_finding, record_review, review_history
from ledger.rules.flags import list_flags
from ledger.store.db import writing
from ledger.store.models import AuditLog, Flag
from tests.ledgertext import load_ledger, run


@pytest.fixture
def flagged(engine) -> str:
    load_ledger(engine, """
        unit year category  budget actual
        U1   2009 reception 20000  20500
    """, submitted_by="finance-clerk")
    run(engine)
    with engine.connect() as conn:
        [f] = list_flags(conn)
    return f["id"]


def review(engine, fid, to, note="查阅凭证", by="纪委王某"):
    with writing(engine) as conn:
        return record_review(conn, fid, to, note=note, reviewer=by)


def state(engine, fid):
    with engine.connect() as conn:
        return conn.execute(select(Flag.state).where(Flag.id == fid)).scalar_one()


@pytest.mark.parametrize("finding", FINDINGS)
def test_every_legal_path_to_closed(engine, flagged, finding):
    review(engine, flagged, "under_review")
    entry = review(engine, flagged, finding, note="单位已说明超支原因")
    assert (entry.from_state, entry.to_state, entry.reviewer) == ("under_review", finding, "纪委王某")
    review(engine, flagged, "closed", note="办结")
    assert state(engine, flagged) == "closed"
    with engine.connect() as conn:
        hist = review_history(conn, flagged, include_restricted=True)
        actions = conn.execute(select(AuditLog.action, AuditLog.details_json).where(AuditLog.action == "flag.review")).all()
    assert [(h.from_state, h.to_state) for h in hist] == [
        ("open", "under_review"), ("under_review", finding), (finding, "closed")]
    assert [json.loads(d)["to"] for _, d in actions] == ["under_review", finding, "closed"]


@pytest.mark.parametrize(("path", "to", "message"), [
    ([], "explained", "flag {} is open; it cannot move to explained. Allowed next: under_review"),
    ([], "closed", "flag {} is open; it cannot move to closed. Allowed next: under_review"),
    (["under_review"], "closed", "flag {} is under_review; it cannot move to closed. Allowed next: "
     "explained, rectification_ordered, referred, dismissed"),
    (["under_review"], "open", "flag {} is under_review; it cannot move to open. Allowed next: "
     "explained, rectification_ordered, referred, dismissed"),
    (["under_review", "referred"], "dismissed", "flag {} is referred; it cannot move to dismissed. Allowed next: closed"),
    (["under_review", "explained", "closed"], "under_review",
     "flag {} is closed; it cannot move to under_review. Allowed next: nothing (closed is final)"),
])
def test_illegal_transitions_are_refused_with_a_clear_message(engine, flagged, path, to, message):
    for step in path:
        review(engine, flagged, step)
    before = state(engine, flagged)
    with pytest.raises(ReviewRefused) as exc:
        review(engine, flagged, to)
    assert str(exc.value) == message.format(flagged[:12])
    assert state(engine, flagged) == before


def test_a_note_and_a_known_state_are_required(engine, flagged):
    with pytest.raises(ReviewRefused, match="needs a note"):
        review(engine, flagged, "under_review", note="  ")
    with pytest.raises(ReviewRefused, match="unknown state 'approved'"):
        review(engine, flagged, "approved")
    with pytest.raises(ReviewRefused, match="no flag"):
        review(engine, "0" * 64, "under_review")


def test_whoever_imported_the_data_cannot_review_or_publish_it(engine, flagged):
    with pytest.raises(ReviewRefused, match="finance-clerk imported data this flag rests on and cannot review it"):
        review(engine, flagged, "under_review", by="finance-clerk")
    review(engine, flagged, "under_review")
    review(engine, flagged, "explained")
    with pytest.raises(ReviewRefused, match="cannot publish"), writing(engine) as conn:
        publish_finding(conn, flagged, reviewer="finance-clerk")


def test_notes_are_restricted_until_the_finding_is_published(engine, flagged):
    review(engine, flagged, "under_review", note="约谈单位负责人")
    with pytest.raises(ReviewRefused, match="no finding to publish yet"), writing(engine) as conn:
        publish_finding(conn, flagged, reviewer="纪委王某")
    review(engine, flagged, "rectification_ordered", note="责令退回超支款项")
    with engine.connect() as conn:
        public = review_history(conn, flagged)
    assert [h.note for h in public] == [None, None]
    with writing(engine) as conn:
        assert publish_finding(conn, flagged, reviewer="纪委王某") == 2
    with engine.connect() as conn:
        public = review_history(conn, flagged)
    assert [h.note for h in public] == ["约谈单位负责人", "责令退回超支款项"]
    assert all(h.published_at is not None for h in public)
    review(engine, flagged, "closed", note="已整改到位")
    with engine.connect() as conn:
        assert [h.note for h in review_history(conn, flagged)] == ["约谈单位负责人", "责令退回超支款项", None]
