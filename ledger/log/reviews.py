"""The leaves of review decisions and of published findings: what they commit to, and what verify compares.

A review's note is restricted until its finding is published, so the review leaf binds it by a salted
SHA-256 (``note_commitment``); the publish leaf carries the note's plain SHA-256 and reveals the salt.
"""

from __future__ import annotations

import hashlib

from ledger.log.canonical import MANIFEST_VERSION, utc_seconds


def note_commitment(review) -> str | None:
    """SHA-256 of the review's salt and note (``salt + "\n" + note``, UTF-8): binds the restricted note
    without revealing it. None for a review recorded before notes had a salt."""
    salt = getattr(review, "note_salt", None)
    return None if salt is None else hashlib.sha256(f"{salt}\n{review.note}".encode()).hexdigest()


def review_manifest(review, actor_role: str | None) -> dict:
    """The manifest of a review decision. The note stays out (it is restricted until published); its salted
    commitment and its visibility (public, internal) go in, so neither can be changed before publication."""
    commitment = note_commitment(review)
    return {
        "v": MANIFEST_VERSION,
        "event": "review",
        "review_id": str(review.id),
        "flag_id": review.flag_id,
        "from_state": review.from_state,
        "to_state": review.to_state,
        "reviewer": review.reviewer,
        "actor_role": actor_role,
        "time": utc_seconds(review.created_at),
        **({"note_commitment": commitment, "visibility": review.visibility} if commitment else {}),
    }


def publication_manifest(review, actor_role: str | None) -> dict:
    """The manifest of a published finding's review: who wrote it, the note's SHA-256 and when it went public.

    The note is public from now on; its hash (not the text) keeps the leaf small, and anyone holding
    the published note can check it.
    """
    return {
        "v": MANIFEST_VERSION,
        "event": "publish",
        "review_id": str(review.id),
        "flag_id": review.flag_id,
        "reviewer": review.reviewer,
        "note_sha256": hashlib.sha256(review.note.encode()).hexdigest(),
        "published_at": utc_seconds(review.published_at),
        "actor_role": actor_role,
        # revealed with the note, so anyone can check the review leaf's commitment
        **({"note_salt": review.note_salt} if getattr(review, "note_salt", None) else {}),
    }


# Fields verify recomputes from the stored rows; the rest (who, in which role) is as recorded.
REVIEW_FIELDS = ("event", "review_id", "flag_id", "from_state", "to_state", "time")
# compared when the stored leaf has them (older leaves do not)
REVIEW_FIELDS_SINCE_ISSUE_14 = ("reviewer", "note_commitment", "visibility")
PUBLICATION_FIELDS = ("event", "review_id", "flag_id", "reviewer", "note_sha256", "published_at")
