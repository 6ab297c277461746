"""Who reviews which flag: a flag is assigned to an active discipline account, or to nobody.

Each hand-over is a new row (``flag_assignment`` is append-only); the latest row per flag holds.
Whoever imported the data behind a flag may not be assigned it, as they may not review it.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from ledger.review.workflow import ReviewRefused, importers_of
from ledger.store import audit
from ledger.store.models import Account, Flag, FlagAssignment, utcnow


def assign(conn: Connection, flag_id: str, assignee: str | None, *, actor: str, role: str | None = "discipline") -> None:
    """Assign ``flag_id`` to ``assignee`` (None: unassign); ``ValueError`` for an unknown flag or account."""
    flag = conn.execute(select(Flag.id, Flag.evidence_json).where(Flag.id == flag_id)).first()
    if flag is None:
        raise ReviewRefused("no-flag", flag=flag_id)
    if assignee is not None:
        ok = conn.execute(select(Account.id).where(Account.username == assignee, Account.role == "discipline",
                                                   Account.disabled_at.is_(None))).first()
        if ok is None:
            raise ValueError(f"{assignee} is not an active discipline account")
        if assignee.casefold() in {s.strip().casefold() for s in importers_of(conn, flag.evidence_json)}:
            raise ReviewRefused("importer-review", reviewer=assignee)
    conn.execute(insert(FlagAssignment).values(flag_id=flag_id, assignee=assignee, assigned_by=actor,
                                               created_at=utcnow()))
    audit.record(conn, actor=actor, role=role, action="flag.assign", object_type="flag", object_id=flag_id,
                 details={"assignee": assignee})


def assignees(conn: Connection) -> dict[str, str]:
    """Flag id → the account it is assigned to now (flags assigned to nobody are absent)."""
    latest = select(func.max(FlagAssignment.id)).group_by(FlagAssignment.flag_id)
    rows = conn.execute(select(FlagAssignment.flag_id, FlagAssignment.assignee)
                        .where(FlagAssignment.id.in_(latest)))
    return {f: a for f, a in rows if a is not None}


def reviewers(conn: Connection) -> list[tuple[str, str]]:
    """Active discipline accounts as (username, display name), for the assignment form."""
    return [tuple(r) for r in conn.execute(select(Account.username, Account.display_name)
                                           .where(Account.role == "discipline", Account.disabled_at.is_(None))
                                           .order_by(Account.username))]
