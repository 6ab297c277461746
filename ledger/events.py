"""Hooks run inside the publishing transaction, so what follows a publish lands or fails with it.

The importers call ``batch_published`` after writing a batch's rows; the review workflow calls
``review_recorded``. Keeping these in one place means rollups (and later the transparency log)
cannot be forgotten by one entry point and remembered by another.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.batches import refresh_rollups


def batch_published(conn: Connection, batch_id: int) -> None:
    """Everything that must happen when an import batch (or a correction) is published."""
    refresh_rollups(conn, batch_id)


def review_recorded(conn: Connection, review_id: int) -> None:
    """Everything that must happen when a review decision is recorded."""
