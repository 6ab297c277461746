"""The discipline commission's review of a flag: open → under_review → a finding → closed.

Findings: explained (已说明), rectification_ordered (责令整改), referred (移送), dismissed (不予追究).
Every transition records reviewer, time and a required note. Whoever imported the data behind a
flag (``import_batch.submitted_by`` of a batch in its evidence) may not review or publish it.
Notes are restricted until a reviewer publishes the finding; ``review_history`` hides them from the
public until then.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from ledger.i18n import both, language
from ledger.log import events
from ledger.store import audit
from ledger.store.models import Flag, FlagReview, ImportBatch, utcnow

VISIBILITIES = ("public", "internal")
FINDINGS = ("explained", "rectification_ordered", "referred", "dismissed")
STATES = ("open", "under_review", *FINDINGS, "closed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("under_review",),
    "under_review": FINDINGS,
    **{f: ("closed",) for f in FINDINGS},
    "closed": (),
}
STATE_ZH = {
    "open": "待处理", "under_review": "审查中", "explained": "已说明", "rectification_ordered": "责令整改",
    "referred": "移送", "dismissed": "不予追究", "closed": "已办结",
}


class ReviewRefused(ValueError):
    """A review action the workflow does not allow; the message says why and what is allowed.

    ``str()`` is the English text; ``zh`` / ``en`` carry both languages from the catalogue (``review.*``)
    and ``text()`` the one in force.
    """

    def __init__(self, msgid: str, **fields):
        self.msgid = msgid
        self.zh, self.en = both(f"review.{msgid}", **fields)
        super().__init__(self.en)

    def text(self, lang: str | None = None) -> str:
        return self.en if (lang or language()) == "en" else self.zh


@dataclass(frozen=True)
class ReviewEntry:
    id: int
    flag_id: str
    from_state: str
    to_state: str
    reviewer: str
    note: str | None  # None while restricted
    created_at: object
    published_at: object | None
    visibility: str = "public"  # internal notes are never published


def _flag(conn: Connection, flag_id: str):
    row = conn.execute(select(Flag.id, Flag.state, Flag.evidence_json).where(Flag.id == flag_id)).first()
    if row is None:
        raise ReviewRefused("no-flag", flag=flag_id)
    return row


def importers_of(conn: Connection, evidence_json: str) -> set[str]:
    """Who submitted the batches a flag's evidence rests on."""
    evidence = json.loads(evidence_json or "{}")
    ids = evidence.get("batch_ids", []) if isinstance(evidence, dict) else []  # older flags stored a bare list
    if not ids:
        return set()
    return set(conn.execute(select(ImportBatch.submitted_by).where(ImportBatch.id.in_(ids))).scalars())


def _not_an_importer(conn: Connection, flag, reviewer: str, action: str) -> None:
    if reviewer.strip().casefold() in {s.strip().casefold() for s in importers_of(conn, flag.evidence_json)}:
        raise ReviewRefused(f"importer-{action}", reviewer=reviewer)


def record_review(conn: Connection, flag_id: str, to_state: str, *, note: str, reviewer: str,
                  role: str | None = "discipline", visibility: str = "public") -> ReviewEntry:
    """Move a flag to ``to_state`` with a note; ``ReviewRefused`` for an illegal move, empty note or importer.

    ``visibility`` is ``public`` (released when the finding is published) or ``internal`` (never released).

    Calls ``ledger.log.events.review_recorded`` and appends to the audit log, inside the caller's transaction.
    """
    if not reviewer or not reviewer.strip():
        raise ReviewRefused("needs-reviewer")
    if not note or not note.strip():
        raise ReviewRefused("needs-note")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    if to_state not in STATES:
        raise ReviewRefused("unknown-state", state=to_state, states=", ".join(STATES))
    flag = _flag(conn, flag_id)
    allowed = TRANSITIONS[flag.state]
    if to_state not in allowed:
        if allowed:
            raise ReviewRefused("not-allowed", flag=flag_id[:12], state=flag.state, to_state=to_state,
                                allowed=", ".join(allowed))
        raise ReviewRefused("closed-final", flag=flag_id[:12], state=flag.state, to_state=to_state)
    _not_an_importer(conn, flag, reviewer, "review")
    now = utcnow()
    review_id = conn.execute(
        FlagReview.__table__.insert().values(
            flag_id=flag.id, from_state=flag.state, to_state=to_state, reviewer=reviewer.strip(), note=note.strip(),
            created_at=now, visibility=visibility, note_salt=secrets.token_hex(16),
        ).returning(FlagReview.__table__.c.id)
    ).scalar_one()
    conn.execute(update(Flag.__table__).where(Flag.__table__.c.id == flag.id).values(state=to_state))
    audit.record(conn, actor=reviewer.strip(), role=role, action="flag.review", object_type="flag", object_id=flag.id,
                 details={"from": flag.state, "to": to_state, "review_id": review_id, "visibility": visibility})
    events.review_recorded(conn, review_id, role=role)
    return ReviewEntry(review_id, flag.id, flag.state, to_state, reviewer.strip(), note.strip(), now, None, visibility)


def publish_finding(conn: Connection, flag_id: str, *, reviewer: str, role: str | None = "discipline") -> int:
    """Make a flag's public review notes public; allowed once a finding is recorded. Returns the number published.

    Internal notes stay restricted for good."""
    flag = _flag(conn, flag_id)
    if flag.state not in (*FINDINGS, "closed"):
        raise ReviewRefused("nothing-to-publish", flag=flag_id[:12], state=flag.state, findings=", ".join(FINDINGS))
    if not reviewer or not reviewer.strip():
        raise ReviewRefused("publish-needs-reviewer")
    _not_an_importer(conn, flag, reviewer, "publish")
    t = FlagReview.__table__
    now = utcnow()
    published = list(conn.execute(
        select(t.c.id).where(t.c.flag_id == flag.id, t.c.published_at.is_(None), t.c.visibility == "public")
        .order_by(t.c.id)).scalars())
    n = conn.execute(
        update(t).where(t.c.id.in_(published), t.c.published_at.is_(None)).values(published_at=now)
    ).rowcount if published else 0
    audit.record(conn, actor=reviewer.strip(), role=role, action="flag.publish", object_type="flag", object_id=flag.id,
                 details={"published_reviews": n, "state": flag.state})
    events.finding_published(conn, published, role=role)
    return n


def review_history(conn: Connection, flag_id: str, *, include_restricted: bool = False) -> list[ReviewEntry]:
    """A flag's transitions, oldest first; unpublished notes are None unless ``include_restricted``."""
    t = FlagReview.__table__
    rows = conn.execute(select(t).where(t.c.flag_id == flag_id).order_by(t.c.id)).mappings()
    return [
        ReviewEntry(m["id"], m["flag_id"], m["from_state"], m["to_state"], m["reviewer"],
                    m["note"] if include_restricted or m["published_at"] is not None else None,
                    m["created_at"], m["published_at"], m["visibility"])
        for m in rows
    ]
