"""Merges and retirements of units: corrections to the unit register, appended to ``unit_event``.

``merge(OLD, NEW)`` says OLD was never a unit of its own (a mistyped code such as ``1O1005``) or was
absorbed by NEW: from then on OLD counts as NEW in coverage and in aggregate totals. Row lists and
downloads still show each row under the code it was published with: the published rows are never
rewritten. ``retire(CODE, year)`` says the unit is no longer expected to report from ``year`` on.
Every event names who made it and why, and lands with its audit entry in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ledger.store import audit
from ledger.store.batches import current_pin
from ledger.store.models import Unit, UnitEvent


class UnitEventError(ValueError):
    """A merge or retirement that cannot be recorded; ``code`` is the problem code, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Register:
    """The register's corrections: ``successor`` maps a merged unit id to the id it counts as (chains
    followed to the end); ``retired`` maps a unit id to the first fiscal year it is no longer expected."""

    successor: dict[int, int]
    retired: dict[int, int]

    def final(self, unit_id: int) -> int:
        """The id a unit counts as: itself, or the last unit of its chain of merges."""
        return self.successor.get(unit_id, unit_id)


def _unit_id(conn: Connection, code: str) -> int:
    found = conn.execute(select(Unit.id).where(Unit.code == code)).scalar()
    if found is None:
        raise UnitEventError("unit-not-found", f"no unit with code {code!r}")
    return int(found)


def read(conn: Connection) -> Register:
    """Every merge and retirement recorded so far (the latest retirement of a unit wins).

    Under ``pinned`` (a read ``as_of`` a checkpoint): those recorded before the checkpoint's time (events
    are not leaves of the log; their time decides)."""
    direct: dict[int, int] = {}
    retired: dict[int, int] = {}
    q = select(UnitEvent.kind, UnitEvent.unit_id, UnitEvent.successor_id, UnitEvent.fiscal_year).order_by(UnitEvent.id)
    if (pin := current_pin()) is not None:
        q = q.where(UnitEvent.created_at < pin.time)
    for kind, unit_id, successor_id, year in conn.execute(q):
        if kind == "merge" and successor_id is not None:
            direct[unit_id] = successor_id
        elif kind == "retire" and year is not None:
            retired[unit_id] = year
    successor = {}
    for start in direct:
        seen, cur = {start}, direct[start]
        while cur in direct and direct[cur] not in seen:  # merge refuses circles; stop on one regardless
            seen.add(cur)
            cur = direct[cur]
        successor[start] = cur
    return Register(successor, retired)


def merge(conn: Connection, old: str, new: str, *, actor: str, role: str | None = None,
          note: str | None = None) -> dict:
    """Record that unit ``old`` counts as ``new`` from now on; raises UnitEventError when it cannot."""
    if old == new:
        raise UnitEventError("merge-invalid", f"a unit cannot be merged into itself ({old})")
    old_id, new_id = _unit_id(conn, old), _unit_id(conn, new)
    reg = read(conn)
    if old_id in reg.successor:
        raise UnitEventError("merge-invalid", f"{old} is already merged")
    if reg.final(new_id) == old_id:
        raise UnitEventError("merge-invalid", f"{new} is merged into {old}: the merge would make a circle")
    event = conn.execute(insert(UnitEvent).values(kind="merge", unit_id=old_id, successor_id=new_id, actor=actor,
                                                  note=note).returning(UnitEvent.id)).scalar_one()
    details = {"event_id": event, "from": old, "into": new, "note": note}
    audit.record(conn, actor=actor, role=role, action="unit.merge", object_type="unit", object_id=old_id,
                 details=details)
    return {"id": event, "kind": "merge", "unit_code": old, "successor_code": new, "fiscal_year": None,
            "actor": actor, "note": note}


def retire(conn: Connection, code: str, year: int, *, actor: str, role: str | None = None,
           note: str | None = None) -> dict:
    """Record that unit ``code`` is no longer expected to report from fiscal ``year`` on."""
    if not 1900 <= year <= 2200:
        raise UnitEventError("retire-invalid", f"year must be from 1900 to 2200, got {year}")
    unit_id = _unit_id(conn, code)
    if read(conn).retired.get(unit_id) == year:
        raise UnitEventError("retire-invalid", f"{code} is already retired from {year}")
    event = conn.execute(insert(UnitEvent).values(kind="retire", unit_id=unit_id, fiscal_year=year, actor=actor,
                                                  note=note).returning(UnitEvent.id)).scalar_one()
    audit.record(conn, actor=actor, role=role, action="unit.retire", object_type="unit", object_id=unit_id,
                 details={"event_id": event, "code": code, "fiscal_year": year, "note": note})
    return {"id": event, "kind": "retire", "unit_code": code, "successor_code": None, "fiscal_year": year,
            "actor": actor, "note": note}


def units(conn: Connection) -> list[dict]:
    """Every unit with its state: ``active``, ``merged`` (with ``successor_code``) or ``retired`` (from ``retired_from``)."""
    reg = read(conn)
    rows = conn.execute(select(Unit.id, Unit.code, Unit.name, Unit.level, Unit.region, Unit.kind)
                        .order_by(Unit.code)).all()
    code_of = {i: c for i, c, *_ in rows}
    out = []
    for i, code, name, level, region, kind in rows:
        state = "merged" if i in reg.successor else "retired" if i in reg.retired else "active"
        out.append({"code": code, "name": name, "level": level, "region": region, "kind": kind, "state": state,
                    "successor_code": code_of.get(reg.successor.get(i)) if i in reg.successor else None,
                    "retired_from": reg.retired.get(i)})
    return out


def events(conn: Connection) -> list[dict]:
    """Every recorded event, oldest first, with unit codes."""
    u, s = Unit.__table__.alias("u"), Unit.__table__.alias("s")
    e = UnitEvent.__table__
    q = (select(e.c.id, e.c.kind, u.c.code, s.c.code, e.c.fiscal_year, e.c.actor, e.c.note, e.c.created_at)
         .join(u, u.c.id == e.c.unit_id).outerjoin(s, s.c.id == e.c.successor_id).order_by(e.c.id))
    return [{"id": i, "kind": k, "unit_code": c, "successor_code": sc, "fiscal_year": y, "actor": a, "note": n,
             "created_at": t if isinstance(t, str) or t is None else t.isoformat()}
            for i, k, c, sc, y, a, n, t in conn.execute(q)]
