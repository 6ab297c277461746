"""The append-only audit log: every write says who did it, in which role, to what."""

from __future__ import annotations

import json

from sqlalchemy import Connection, insert

from ledger.store.models import AuditLog, utcnow


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    role: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict | None = None,
) -> None:
    """Append one audit entry inside the caller's transaction, so it lands or fails with the write."""
    conn.execute(
        insert(AuditLog).values(
            created_at=utcnow(),
            actor=actor,
            role=role,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details_json=None if details is None else json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
    )
