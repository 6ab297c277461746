"""The Merkle tree of RFC 6962 / RFC 9162 (Certificate Transparency), over SHA-256.

Leaf hash ``SHA-256(0x00 ‖ leaf)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``; the tree over ``n``
leaves splits at the largest power of two below ``n``. Proofs are lists of 32-byte hashes. Functions
take leaf *hashes* (bytes), so callers hash each leaf once and keep it.

The verification functions follow RFC 9162 §2.1.3.2 and §2.1.4.2 and need nothing but ``hashlib``:
``docs/verify_log.py`` carries a copy of them for third parties.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(hashes: Sequence[bytes]) -> bytes:
    """The tree head (MTH) over leaf hashes; the empty tree's head is SHA-256 of nothing."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    # Iterative form of MTH: fold the complete subtrees from the right, as a compact range does.
    stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees, left to right
    for h in hashes:
        height, node = 0, h
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 §2.1.1: the audit path for leaf ``index``."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf {index} is not in a tree of size {n}")
    return _path(hashes, index)


def _path(hashes: Sequence[bytes], m: int) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return _path(hashes[:k], m) + [root(hashes[k:])]
    return _path(hashes[k:], m - k) + [root(hashes[:k])]


def consistency_proof(hashes: Sequence[bytes], size1: int) -> list[bytes]:
    """PROOF(size1, D[n]) of RFC 6962 §2.1.2: shows the first ``size1`` leaves are a prefix of all."""
    n = len(hashes)
    if not 0 <= size1 <= n:
        raise ProofError(f"cannot prove size {size1} against a tree of size {n}")
    if size1 == 0 or size1 == n:
        return []
    return _subproof(hashes, size1, True)


def _subproof(hashes: Sequence[bytes], m: int, complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [root(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(hashes[:k], m, complete) + [root(hashes[k:])]
    return _subproof(hashes[k:], m - k, False) + [root(hashes[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); raises ProofError if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("hashes must be 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``expected_root``."""
    if root_from_inclusion(index, size, leaf, proof) != expected_root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of size {size}")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Raise ProofError unless the tree ``root1`` of ``size1`` is a prefix of ``root2`` of ``size2``."""
    if size2 < size1:
        raise ProofError(f"size {size2} is smaller than {size1}: a log never shrinks")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("consistency proof is empty or malformed")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError(f"the log of size {size2} does not contain the tree of size {size1} it was shown")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the root of size {size2}")
