"""Hooks run inside the publishing transaction, so what follows a publish lands or fails with it.

The importers call ``batch_published`` after writing a batch's rows; the review workflow calls
``review_recorded``. Keeping these in one place means rollups and the transparency log cannot be
forgotten by one entry point and remembered by another.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.log import tlog
from ledger.log.batch_frames import FRAMED, BatchFrames
from ledger.store.batches import refresh_rollups
from ledger.store.derived import search_index
from ledger.store.derived.flag_basis import refresh_flag_basis


def batch_published(conn: Connection, batch_id: int, *, role: str | None = None,
                    frames: BatchFrames | None = None) -> None:
    """Everything that must happen when an import batch (or a correction) is published.

    Rollups (with the payees and suppliers, ``ledger.store.derived.batch_names``), the flags' per-batch basis
    (``ledger.store.derived.flag_basis``) and the search index (``ledger.store.derived.search_index``) are refreshed, and the batch's manifest becomes a leaf of the transparency log with a
    freshly signed checkpoint. ``role`` is the publisher's role (finance, admin…); when omitted it is
    taken from the audit entry already recorded for the batch, if any. ``frames``: what the importer
    accumulated from the rows it wrote (``ledger.log.batch_frames``), so nothing is read back but
    the tables it did not write.
    """
    if frames is None:
        refresh_rollups(conn, batch_id)
        refresh_flag_basis(conn, batch_id)
        search_index.index_batch(conn, batch_id)
        tlog.record_batch(conn, batch_id, role=role)
        return
    refresh_rollups(conn, batch_id, frames.rollups(), frames.names())
    refresh_flag_basis(conn, batch_id, frames.reception_persons())
    search_index.index_batch(conn, batch_id, frames.search_sums())
    tlog.record_batch(conn, batch_id, role=role, rows=frames.rows, framed=FRAMED)


def review_recorded(conn: Connection, review_id: int, *, role: str | None = None) -> None:
    """Everything that must happen when a review decision is recorded: a leaf and a checkpoint."""
    tlog.record_review(conn, review_id, role=role)


def finding_published(conn: Connection, review_ids: list[int], *, role: str | None = None) -> None:
    """Everything that must happen when a finding's notes are published: a leaf per review, a checkpoint."""
    tlog.record_publication(conn, review_ids, role=role)


def unit_event_recorded(conn: Connection, event_id: int, *, role: str | None = None) -> None:
    """Everything that must happen when a unit is merged or retired: a leaf and a checkpoint."""
    tlog.record_unit_event(conn, event_id, role=role)
