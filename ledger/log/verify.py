"""``sunshine verify``: recompute the transparency log from the stored rows and say what no longer matches.

Checks, in order: every leaf's hash against its manifest; every stored checkpoint's root and
signature; an exported checkpoint (if given) against the log by a consistency proof; every
published batch's manifest against its rows as stored now (naming the first changed row); every
review decision against its leaf. Problems are collected, never raised: the first is the answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, select

from ledger.log import merkle, register, tlog
from ledger.log.canonical import (
    BATCH_FIELDS,
    ROW_COLUMNS,
    ROW_COLUMNS_BY_VERSION,
    RowsSummary,
    batch_manifest,
    summarise_rows,
    unpack_locator,
    utc_seconds,
)
from ledger.log.reviews import (
    PUBLICATION_FIELDS,
    REVIEW_FIELDS,
    REVIEW_FIELDS_SINCE_ISSUE_14,
    publication_manifest,
    review_manifest,
)
from ledger.store.models import Flag, FlagReview, ImportBatch, LogCheckpoint, LogLeaf, LogRowDigest

MAX_PROBLEMS = 100


@dataclass
class Problem:
    code: str
    message: str
    leaf_index: int | None = None
    table: str | None = None
    row_id: int | None = None
    batch_id: int | None = None


@dataclass
class Report:
    ok: bool = True
    tree_size: int = 0
    root_hash: str = ""
    leaves_checked: int = 0
    checkpoints_checked: int = 0
    batches_checked: int = 0
    rows_checked: int = 0
    reviews_checked: int = 0
    rollups_checked: int = 0
    exported_checkpoint: dict | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str, **where) -> None:
        self.ok = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(code, message, **where))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["first_problem"] = data["problems"][0] if self.problems else None
        return data


def verify(conn: Connection, exported: dict | None = None) -> Report:
    """Check the whole log and every published row; pass ``exported`` to check against a saved checkpoint."""
    report = Report()
    hashes = _check_leaves(conn, report)
    report.tree_size = len(hashes)
    report.root_hash = merkle.root(hashes).hex()
    _check_checkpoints(conn, hashes, report)
    if exported is not None:
        _check_exported(hashes, exported, report)
    _check_batches(conn, report)
    register.check_units(conn, report)
    register.check_rollups(conn, report)
    register.check_unit_events(conn, report)
    _check_reviews(conn, report)
    return report


def _check_leaves(conn: Connection, report: Report) -> list[bytes]:
    hashes = []
    for leaf in conn.execute(select(LogLeaf.__table__).order_by(LogLeaf.leaf_index)):
        i = len(hashes)
        if leaf.leaf_index != i:
            report.add("leaf-missing", f"leaf {i} is missing (next stored leaf is {leaf.leaf_index})", leaf_index=i)
        recomputed = merkle.leaf_hash(leaf.manifest.encode())
        if recomputed.hex() != leaf.leaf_hash:
            report.add("leaf-changed", f"leaf {leaf.leaf_index}: its manifest no longer hashes to its leaf hash",
                       leaf_index=leaf.leaf_index)
        # The tree is rebuilt from the manifests themselves, so a rewritten manifest changes the root.
        hashes.append(recomputed)
        report.leaves_checked += 1
    return hashes


def _check_checkpoints(conn: Connection, hashes: list[bytes], report: Report) -> None:
    keys = tlog.known_keys(conn)
    for cp in conn.execute(select(LogCheckpoint.__table__).order_by(LogCheckpoint.id)):
        report.checkpoints_checked += 1
        where = f"checkpoint {cp.id} (size {cp.tree_size})"
        if cp.tree_size > len(hashes):
            report.add("checkpoint-ahead", f"{where} covers more leaves than the log holds ({len(hashes)})")
            continue
        if merkle.root(hashes[: cp.tree_size]).hex() != cp.root_hash:
            report.add("checkpoint-root", f"{where}: the leaves no longer hash to its root")
        pub = keys.get(cp.key_id)
        doc = tlog.checkpoint_document(cp.tree_size, cp.root_hash, utc_seconds(cp.created_at), cp.key_id,
                                       pub or b"", cp.signature)
        try:
            if pub is None:
                raise ValueError(f"unknown key {cp.key_id}")
            tlog.check_signature(doc)
        except ValueError as exc:
            report.add("checkpoint-signature", f"{where}: {exc}")


def _check_exported(hashes: list[bytes], doc: dict, report: Report) -> None:
    size1, root1 = int(doc["size"]), doc["root_hash"]
    report.exported_checkpoint = {"size": size1, "root_hash": root1, "time": doc.get("time"), "key_id": doc.get("key_id")}
    try:
        tlog.check_signature(doc)
    except (ValueError, KeyError) as exc:
        report.add("exported-signature", f"exported checkpoint: {exc}")
    if size1 > len(hashes):
        report.add("log-shrank", f"the exported checkpoint has {size1} leaves but the log now has {len(hashes)}")
        return
    proof = merkle.consistency_proof(hashes, size1)
    try:
        merkle.verify_consistency(size1, len(hashes), bytes.fromhex(root1), merkle.root(hashes), proof)
    except merkle.ProofError as exc:
        report.add("consistency", f"the log is not consistent with the exported checkpoint of size {size1}: {exc}")


def _manifests(conn: Connection, events: tuple[str, ...]) -> dict[str, tuple[int, dict]]:
    rows = conn.execute(select(LogLeaf.leaf_index, LogLeaf.ref_id, LogLeaf.manifest).where(LogLeaf.event.in_(events)))
    out = {}
    for index, ref, text in rows:
        try:
            out[ref] = (index, json.loads(text))
        except ValueError:
            out[ref] = (index, {})
    return out


def _check_batches(conn: Connection, report: Report) -> None:
    logged = _manifests(conn, ("import", "correction"))
    seen: set[str] = set()
    for batch in conn.execute(select(ImportBatch.__table__).order_by(ImportBatch.id)):
        report.batches_checked += 1
        seen.add(str(batch.id))
        if str(batch.id) not in logged:
            report.add("batch-not-logged", f"batch {batch.id} is published but not in the log", batch_id=batch.id)
            continue
        index, stored = logged[str(batch.id)]
        version = str(stored.get("v", "1"))  # a leaf is checked against the columns of its own version
        if version not in ROW_COLUMNS_BY_VERSION:
            report.add("batch-changed", f"batch {batch.id}: leaf {index} has an unknown manifest version {version!r}",
                       leaf_index=index, batch_id=batch.id)
            continue
        summary = summarise_rows(conn, batch.id, version)
        report.rows_checked += summary.count
        now = batch_manifest(batch, summary, stored.get("actor_role"))
        if now["rows_sha256"] != stored.get("rows_sha256") or now["row_count"] != stored.get("row_count"):
            _locate_row(conn, batch.id, index, summary, report)
        changed = [f for f in BATCH_FIELDS if f not in ("rows_sha256", "row_count") and now[f] != stored.get(f)]
        if changed:
            report.add("batch-changed", f"batch {batch.id}: {', '.join(changed)} no longer match leaf {index}",
                       leaf_index=index, batch_id=batch.id)
    # Every batch the log commits to must still exist: deleting a whole batch (rows, digests,
    # rollups and the batch row) leaves its leaf behind, and the leaf names it.
    for ref, (index, stored) in sorted(logged.items(), key=lambda kv: kv[1][0]):
        if ref not in seen:
            rows = stored.get("row_count", "?")
            report.add("batch-deleted", f"batch {ref} ({rows} rows) is in leaf {index} but no longer in the store",
                       leaf_index=index, batch_id=int(ref) if ref.isdigit() else None)


def _locate_row(conn: Connection, batch_id: int, index: int, summary: RowsSummary, report: Report) -> None:
    """Name the first row whose CRC-32 locator differs from the one stored at publication."""
    stored: dict[str, dict[int, int]] = {name: {} for name in ROW_COLUMNS}
    q = (select(LogRowDigest.table_name, LogRowDigest.row_count, LogRowDigest.digests)
         .where(LogRowDigest.batch_id == batch_id).order_by(LogRowDigest.table_name, LogRowDigest.chunk_no))
    for table, count, blob in conn.execute(q):
        try:
            stored.setdefault(table, {}).update(unpack_locator(blob, count))
        except ValueError:  # a blob of the wrong length: the locator itself was altered
            report.add("rows-changed", f"the rows of batch {batch_id} no longer match leaf {index}, and the stored "
                       "row locator was altered too, so the row cannot be named", leaf_index=index, batch_id=batch_id)
            return
    for table in ROW_COLUMNS:
        was, now = stored.get(table, {}), summary.locator(table)
        for row_id in sorted(set(was) | set(now)):
            if row_id not in now:
                report.add("row-deleted", f"{table} row {row_id} of batch {batch_id} was deleted after publication",
                           leaf_index=index, table=table, row_id=row_id, batch_id=batch_id)
                return
            if row_id not in was:
                report.add("row-added", f"{table} row {row_id} was added to batch {batch_id} after publication",
                           leaf_index=index, table=table, row_id=row_id, batch_id=batch_id)
                return
            if was[row_id] != now[row_id]:
                report.add("row-changed", f"{table} row {row_id} of batch {batch_id} no longer matches what was published",
                           leaf_index=index, table=table, row_id=row_id, batch_id=batch_id)
                return
    report.add("rows-changed", f"the rows of batch {batch_id} no longer match leaf {index}, and the stored row "
               "digests were altered too, so the row cannot be named", leaf_index=index, batch_id=batch_id)


def _check_reviews(conn: Connection, report: Report) -> None:
    logged = _manifests(conn, ("review",))
    published = _manifests(conn, ("publish",))
    seen: set[str] = set()
    for review in conn.execute(select(FlagReview.__table__).order_by(FlagReview.id)):
        report.reviews_checked += 1
        seen.add(str(review.id))
        if str(review.id) not in logged:
            report.add("review-not-logged", f"review {review.id} is recorded but not in the log",
                       table="flag_review", row_id=review.id)
            continue
        index, stored = logged[str(review.id)]
        now = review_manifest(review, stored.get("actor_role"))
        fields = REVIEW_FIELDS + tuple(f for f in REVIEW_FIELDS_SINCE_ISSUE_14 if f in stored)
        changed = [f for f in fields if now.get(f) != stored.get(f)]
        if changed:
            report.add("review-changed", f"flag_review row {review.id}: {', '.join(changed)} no longer match leaf {index}",
                       leaf_index=index, table="flag_review", row_id=review.id)
        _check_publication(review, published.get(str(review.id)), report)
    for ref, (index, _stored) in sorted(logged.items(), key=lambda kv: kv[1][0]):
        if ref not in seen:
            report.add("review-deleted", f"review {ref} is in leaf {index} but no longer in the store",
                       leaf_index=index, table="flag_review", row_id=int(ref) if ref.isdigit() else None)
    for ref, (index, _stored) in sorted(published.items(), key=lambda kv: kv[1][0]):
        if ref not in seen:
            report.add("review-deleted", f"published review {ref} is in leaf {index} but no longer in the store",
                       leaf_index=index, table="flag_review", row_id=int(ref) if ref.isdigit() else None)
    _check_flag_states(conn, report)


def _check_publication(review, logged: tuple[int, dict] | None, report: Report) -> None:
    """A published review's reviewer, note and time must match its publish leaf; an unpublished one has none."""
    if logged is None:
        if review.published_at is not None:
            report.add("publication-not-logged", f"review {review.id} is published but its publication is not in the log",
                       table="flag_review", row_id=review.id)
        return
    index, stored = logged
    if review.published_at is None:
        report.add("publication-deleted", f"review {review.id} was published in leaf {index} but is no longer public",
                   leaf_index=index, table="flag_review", row_id=review.id)
        return
    now = publication_manifest(review, stored.get("actor_role"))
    fields = PUBLICATION_FIELDS + (("note_salt",) if "note_salt" in stored else ())
    changed = [f for f in fields if now.get(f) != stored.get(f)]
    if changed:
        report.add("publication-changed", f"published review {review.id}: {', '.join(changed)} no longer match "
                   f"leaf {index}", leaf_index=index, table="flag_review", row_id=review.id)


def _check_flag_states(conn: Connection, report: Report) -> None:
    """A flag's state is its latest logged review's ``to_state`` (``open`` before any review)."""
    latest: dict[str, str] = {}
    for flag_id, to_state in conn.execute(select(FlagReview.flag_id, FlagReview.to_state).order_by(FlagReview.id)):
        latest[flag_id] = to_state
    for flag_id, state in conn.execute(select(Flag.id, Flag.state).order_by(Flag.id)):
        want = latest.get(flag_id, "open")
        if state != want:
            report.add("flag-state-changed", f"flag {flag_id} says {state} but its reviews end in {want}",
                       table="flag", row_id=None)
