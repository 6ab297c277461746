"""The transparency log: manifests as leaves of an RFC 6962 Merkle tree, with signed checkpoints.

Every published event (an import, a correction, a review decision) appends one leaf in the same
transaction as the event, and the ledger signs a checkpoint ``(size, root, time)`` with its Ed25519
key. Publishing a checkpoint where the operator cannot rewrite it alone (``sunshine checkpoint
export``) makes any later rewrite of history visible: the rewritten log is not consistent with it.

The key lives in the file named by ``SUNSHINE_LOG_KEY`` (default ``var/sunshine-log.key``) and is
created on first use; its public half is recorded in ``ledger_meta`` under ``log_key:<key id>``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, insert, select

from ledger.log import merkle, register
from ledger.log.canonical import (
    ROW_COLUMNS,
    RowsSummary,
    batch_manifest,
    canonical_chunks,
    dumps,
    summarise_rows,
    utc_seconds,
)
from ledger.log.reviews import publication_manifest, review_manifest
from ledger.store.models import (
    AuditLog,
    FlagReview,
    ImportBatch,
    KeyValue,
    LogCheckpoint,
    LogLeaf,
    LogRowDigest,
    UnitEvent,
    utcnow,
)

ORIGIN = "sunshine-ledger/v1"
DEFAULT_KEY_PATH = Path("var") / "sunshine-log.key"
KEY_PREFIX = "log_key:"
_PG_LOCK = 0x53554E  # one advisory lock serialises leaf appends on PostgreSQL


def key_path() -> Path:
    return Path(os.environ.get("SUNSHINE_LOG_KEY") or DEFAULT_KEY_PATH)


def load_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The log's signing key, created (mode 0600) the first time it is needed."""
    path = path or key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:  # O_EXCL: when two processes race, the first key wins and both use it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public).hexdigest()[:16]


def signed_text(size: int, root_hex: str, time: str) -> str:
    """The exact text a checkpoint signature covers."""
    return f"{ORIGIN}\n{size}\n{root_hex}\n{time}\n"


def known_keys(conn: Connection) -> dict[str, bytes]:
    """Public keys the ledger has signed with, by key id."""
    rows = conn.execute(select(KeyValue.key, KeyValue.value).where(KeyValue.key.like(KEY_PREFIX + "%"))).all()
    return {k[len(KEY_PREFIX):]: bytes.fromhex(v) for k, v in rows}


def _lock(conn: Connection) -> None:
    # SQLite writers already hold the database lock (BEGIN IMMEDIATE); PostgreSQL needs this so two
    # publishing transactions never pick the same next leaf index.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")


def append_leaf(conn: Connection, event: str, ref_id: str, manifest: dict) -> int:
    """Append one manifest as the next leaf and return its index."""
    _lock(conn)
    text = dumps(manifest)
    index = conn.execute(select(func.coalesce(func.max(LogLeaf.leaf_index) + 1, 0))).scalar_one()
    conn.execute(insert(LogLeaf).values(
        leaf_index=index, event=event, ref_id=ref_id, manifest=text,
        leaf_hash=merkle.leaf_hash(text.encode()).hex(), created_at=utcnow(),
    ))
    return index


def leaf_hashes(conn: Connection, size: int | None = None) -> list[bytes]:
    """The leaf hashes as stored, in order (the first ``size`` of them)."""
    q = select(LogLeaf.leaf_hash).order_by(LogLeaf.leaf_index)
    if size is not None:
        q = q.limit(size)
    return [bytes.fromhex(h) for h in conn.execute(q).scalars()]


def sign_checkpoint(conn: Connection, key: Ed25519PrivateKey | None = None) -> dict:
    """Sign and store a checkpoint of the log as it stands in this transaction."""
    _lock(conn)
    key = key or load_key()
    pub = public_bytes(key)
    kid = key_id(pub)
    if conn.execute(select(KeyValue.value).where(KeyValue.key == KEY_PREFIX + kid)).scalar() is None:
        conn.execute(insert(KeyValue).values(key=KEY_PREFIX + kid, value=pub.hex()))
    hashes = leaf_hashes(conn)
    root_hex = merkle.root(hashes).hex()
    now = utcnow().replace(microsecond=0)
    time = utc_seconds(now)
    signature = key.sign(signed_text(len(hashes), root_hex, time).encode()).hex()
    conn.execute(insert(LogCheckpoint).values(
        tree_size=len(hashes), root_hash=root_hex, created_at=now, key_id=kid, signature=signature
    ))
    return checkpoint_document(len(hashes), root_hex, time, kid, pub, signature)


def checkpoint_document(size: int, root_hex: str, time: str, kid: str, pub: bytes, signature: str) -> dict:
    """A checkpoint as exported and served: everything a third party needs to check it."""
    return {
        "origin": ORIGIN, "size": size, "root_hash": root_hex, "time": time, "key_id": kid,
        "public_key": pub.hex(), "signature": signature, "signed_text": signed_text(size, root_hex, time),
    }


def latest_checkpoint(conn: Connection) -> dict | None:
    """The newest signed checkpoint, as a document, or None before anything was published."""
    cp = conn.execute(select(LogCheckpoint.__table__).order_by(LogCheckpoint.id.desc()).limit(1)).first()
    if cp is None:
        return None
    pub = known_keys(conn).get(cp.key_id, b"")
    return checkpoint_document(cp.tree_size, cp.root_hash, utc_seconds(cp.created_at), cp.key_id, pub, cp.signature)


def check_signature(doc: dict) -> None:
    """Raise ValueError unless a checkpoint document is signed by the public key it names."""
    pub = bytes.fromhex(doc["public_key"])
    if key_id(pub) != doc["key_id"]:
        raise ValueError("the public key does not match the key id")
    text = signed_text(int(doc["size"]), doc["root_hash"], doc["time"])
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(bytes.fromhex(doc["signature"]), text.encode())
    except Exception as exc:  # cryptography raises InvalidSignature (and ValueError on bad lengths)
        raise ValueError("the checkpoint signature does not verify") from exc


def _role(conn: Connection, object_types: tuple[str, ...], object_id: int) -> str | None:
    return conn.execute(
        select(AuditLog.role)
        .where(AuditLog.object_type.in_(object_types), AuditLog.object_id == str(object_id))
        .order_by(AuditLog.id.desc()).limit(1)
    ).scalar()


def record_batch(conn: Connection, batch_id: int, role: str | None = None, rows: RowsSummary | None = None,
                 framed: tuple[str, ...] = ()) -> int:
    """Log a published batch: its manifest as a leaf, its row digests, and a new checkpoint.

    ``rows``: the summary of the batch's rows of the ``framed`` tables (the first tables of
    ``ROW_COLUMNS``), built by the writer from the rows as written; the other tables are read back.
    """
    batch = conn.execute(select(ImportBatch.__table__).where(ImportBatch.id == batch_id)).one()
    if rows is None:
        rows = summarise_rows(conn, batch_id)
    else:
        if tuple(ROW_COLUMNS)[: len(framed)] != tuple(framed):
            raise ValueError("framed tables must lead the canonical order")
        for table, ids, lines in canonical_chunks(conn, batch_id, tables=[t for t in ROW_COLUMNS if t not in framed]):
            rows.add_chunk(table, ids, lines)
    if role is None:
        role = _role(conn, ("import_batch", "batch"), batch_id)
    chunks = [dict(batch_id=batch_id, table_name=t, chunk_no=n, row_count=c, digests=b) for t, n, c, b in rows.chunks()]
    if chunks:
        conn.execute(insert(LogRowDigest), chunks)
    manifest = batch_manifest(batch, rows, role) | register.units_commitment(conn, batch_id)
    index = append_leaf(conn, manifest["event"], str(batch_id), manifest)
    sign_checkpoint(conn)
    return index


def record_review(conn: Connection, review_id: int, role: str | None = None) -> int:
    """Log a review decision as a leaf and sign a new checkpoint."""
    review = conn.execute(select(FlagReview.__table__).where(FlagReview.id == review_id)).one()
    if role is None:
        role = _role(conn, ("flag_review", "review"), review_id)
    index = append_leaf(conn, "review", str(review_id), review_manifest(review, role))
    sign_checkpoint(conn)
    return index


def record_publication(conn: Connection, review_ids: list[int], role: str | None = None) -> list[int]:
    """Log each review a publish made public (reviewer, note hash, time) as a leaf; sign one checkpoint."""
    out = []
    for review_id in review_ids:
        review = conn.execute(select(FlagReview.__table__).where(FlagReview.id == review_id)).one()
        out.append(append_leaf(conn, "publish", str(review_id), publication_manifest(review, role)))
    if out:
        sign_checkpoint(conn)
    return out


def record_unit_event(conn: Connection, event_id: int, role: str | None = None) -> int:
    """Log a unit event (merge, retire) as a leaf and sign a new checkpoint."""
    event = conn.execute(select(UnitEvent.__table__).where(UnitEvent.id == event_id)).one()
    index = append_leaf(conn, "unit", str(event_id), register.unit_event_manifest(event, role))
    sign_checkpoint(conn)
    return index


def leaves(conn: Connection, start: int = 0, limit: int = 1000) -> list[dict]:
    """Leaves in bulk, for third parties to rebuild the tree: index, event, manifest, leaf hash."""
    q = select(LogLeaf.__table__).where(LogLeaf.leaf_index >= start).order_by(LogLeaf.leaf_index).limit(limit)
    return [
        {"leaf_index": r.leaf_index, "event": r.event, "ref_id": r.ref_id, "manifest": r.manifest, "leaf_hash": r.leaf_hash}
        for r in conn.execute(q)
    ]


def batch_leaf_index(conn: Connection, batch_id: int) -> int | None:
    """The leaf that logged a batch, if any."""
    return conn.execute(
        select(LogLeaf.leaf_index).where(LogLeaf.event.in_(("import", "correction")), LogLeaf.ref_id == str(batch_id))
    ).scalar()


def batch_manifest_version(conn: Connection, batch_id: int) -> str | None:
    """The manifest version ``v`` of the leaf that logged a batch (its canonical columns), if logged."""
    text = conn.execute(
        select(LogLeaf.manifest).where(LogLeaf.event.in_(("import", "correction")), LogLeaf.ref_id == str(batch_id))
    ).scalar()
    if text is None:
        return None
    try:
        return str(json.loads(text).get("v", "1"))
    except ValueError:
        return None


def inclusion_proof(conn: Connection, leaf_index: int, size: int | None = None) -> dict:
    """An inclusion proof of one leaf in the tree of ``size`` leaves (default: the whole log)."""
    hashes = leaf_hashes(conn, size)
    size = len(hashes) if size is None else size
    if size > len(hashes):
        raise merkle.ProofError(f"the log has only {len(hashes)} leaves")
    proof = merkle.inclusion_proof(hashes, leaf_index)
    return {"leaf_index": leaf_index, "tree_size": size, "leaf_hash": hashes[leaf_index].hex(),
            "root_hash": merkle.root(hashes).hex(), "proof": [p.hex() for p in proof]}


def consistency_proof(conn: Connection, size1: int, size2: int | None = None) -> dict:
    """A consistency proof from the tree of ``size1`` leaves to the tree of ``size2`` (default: all)."""
    hashes = leaf_hashes(conn, size2)
    size2 = len(hashes) if size2 is None else size2
    if size2 > len(hashes):
        raise merkle.ProofError(f"the log has only {len(hashes)} leaves")
    proof = merkle.consistency_proof(hashes, size1)
    return {"size1": size1, "size2": size2, "root1": merkle.root(hashes[:size1]).hex(),
            "root2": merkle.root(hashes).hex(), "proof": [p.hex() for p in proof]}
