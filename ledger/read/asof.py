"""Reads as of a signed checkpoint: exactly what was public then, with the checkpoint to prove it.

``as_of`` is a checkpoint's tree size (``12``) or a date / datetime (``2024-03-01``,
``2024-03-01T08:00:00+08:00``: the latest checkpoint signed at or before it; a bare date means the
end of that day in UTC, a datetime without offset is UTC). ``resolve`` turns it into the signed
checkpoint document (the same one ``sunshine checkpoint export`` writes) and a ``Pin``: the import
and correction batches among the checkpoint's leaves, and of those the ones no batch among them
supersedes. Under ``ledger.store.batches.pinned(pin)`` every read that filters through ``live``
answers as of the checkpoint, so a correction published later is not applied.

What else "as of" means (docs/api.md): procurement replacements count when the replacing row's batch
is live at the checkpoint; unit merges and retirements, units and flags count when recorded before
the checkpoint's time (they are not leaves); a review note shows only when its publication was logged
at or before the checkpoint.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Connection, select

from ledger import i18n
from ledger.log import merkle, tlog
from ledger.log.canonical import utc_seconds
from ledger.read.types import NotFound, QueryError
from ledger.store.batches import Pin
from ledger.store.models import ImportBatch, LogCheckpoint, LogLeaf

PARAMETER = "as_of"
_SIZE = re.compile(r"^[0-9]{1,18}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
BATCH_EVENTS = ("import", "correction")


def _message(msgid: str, **fields) -> str:
    """Chinese first, then English: an API problem's detail is read by both."""
    return f"{i18n.t(msgid, 'zh', **fields)} / {i18n.t(msgid, 'en', **fields)}"


def parse(text: str) -> int | dt.datetime:
    """A tree size, or the UTC instant a date or datetime names (naive UTC); QueryError otherwise."""
    value = text.strip()
    if _SIZE.match(value):
        return int(value)
    try:
        if _DATE.match(value):
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(23, 59, 59))
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+01:00 has no UTC instant
        raise QueryError(PARAMETER, _message("asof.invalid", value=text[:40])) from None
    return moment.replace(microsecond=0)


def _naive(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _checkpoint_row(conn: Connection, wanted: int | dt.datetime):
    cp = LogCheckpoint.__table__
    if isinstance(wanted, int):
        # The first checkpoint signed at that size: when the figures at that size were first published.
        row = conn.execute(select(cp).where(cp.c.tree_size == wanted).order_by(cp.c.id).limit(1)).first()
        if row is None:
            latest = conn.execute(select(cp.c.tree_size).order_by(cp.c.id.desc()).limit(1)).scalar()
            raise NotFound(_message("asof.unknown-size", size=wanted, latest=latest or 0))
        return row
    # The newest signed at or before the moment, compared in Python: SQLite keeps times as text and
    # PostgreSQL as timestamptz, and a few thousand (id, time) pairs are read in a millisecond.
    for cp_id, created in conn.execute(select(cp.c.id, cp.c.created_at).order_by(cp.c.id.desc())):
        if _naive(created) <= wanted:
            return conn.execute(select(cp).where(cp.c.id == cp_id)).one()
    raise NotFound(_message("asof.before-first", moment=utc_seconds(wanted)))


def checkpoint(conn: Connection, text: str) -> dict:
    """The signed checkpoint document ``as_of`` names (NotFound for an unknown size or too early a date)."""
    row = _checkpoint_row(conn, parse(text))
    pub = tlog.known_keys(conn).get(row.key_id, b"")
    return tlog.checkpoint_document(row.tree_size, row.root_hash, utc_seconds(row.created_at), row.key_id, pub,
                                    row.signature)


def pin_for(conn: Connection, doc: dict) -> Pin:
    """The batches live at a checkpoint: its import and correction leaves, less those superseded among them.

    The leaves are hashed again and must give the checkpoint's root, so an answer never claims a root
    its rows do not come from.
    """
    size = int(doc["size"])
    leaves = conn.execute(select(LogLeaf.leaf_index, LogLeaf.event, LogLeaf.ref_id, LogLeaf.leaf_hash)
                          .where(LogLeaf.leaf_index < size).order_by(LogLeaf.leaf_index)).all()
    if len(leaves) != size or merkle.root([bytes.fromhex(r.leaf_hash) for r in leaves]).hex() != doc["root_hash"]:
        raise ValueError(f"the stored leaves do not hash to checkpoint {size}'s root; run sunshine verify")
    batches = frozenset(int(r.ref_id) for r in leaves if r.event in BATCH_EVENTS)
    gone = set()
    ids = sorted(batches)
    for i in range(0, len(ids), 5000):
        gone.update(conn.execute(select(ImportBatch.supersedes_id).where(
            ImportBatch.id.in_(ids[i:i + 5000]), ImportBatch.supersedes_id.is_not(None))).scalars())
    # aware UTC: PostgreSQL compares it with timestamptz whatever the session's zone; SQLite stores UTC text
    until = dt.datetime.strptime(doc["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)
    return Pin(size=size, batches=batches, live=batches - gone, time=until)


def resolve(conn: Connection, text: str | None) -> tuple[dict | None, Pin | None]:
    """``(checkpoint document, pin)`` for an ``as_of`` value; ``(None, None)`` when it is absent."""
    if text is None or text == "":
        return None, None
    doc = checkpoint(conn, text)
    return doc, pin_for(conn, doc)
