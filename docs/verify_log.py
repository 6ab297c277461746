#!/usr/bin/env python3
"""Check Sunshine Ledger downloads against a signed checkpoint, with nothing but Python's standard library.

    python3 verify_log.py checkpoint CP.json [--public-key HEX]
    python3 verify_log.py leaves CP.json LEAVES.json
    python3 verify_log.py rows CP.json LEAVES.json BATCH_ID ROWS.jsonl
    python3 verify_log.py inclusion CP.json PROOF.json [MANIFEST.json]
    python3 verify_log.py consistency OLD_CP.json NEW_CP.json PROOF.json

CP.json (OLD_CP.json, NEW_CP.json) may also be an API answer saved from a read ``?as_of=…``: its
``checkpoint`` field is the checkpoint it was read at.

Exit status 0 when everything checks, 1 with a message when something does not. See docs/verify.md.
The Merkle functions follow RFC 9162 section 2.1; the Ed25519 verifier is RFC 8032's reference code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

ORIGIN = "sunshine-ledger/v1"

# --- Ed25519 verification (RFC 8032, section 6) -------------------------------------------
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % P
    y = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 % P == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


# --- Merkle tree (RFC 9162, section 2.1) --------------------------------------------------
def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(root(hashes[:k]), root(hashes[k:]))


def _shift(fn, sn):
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ValueError("leaf index out of range")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("inclusion proof too short")
    return r


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> None:
    if size1 > size2:
        raise ValueError("the newer checkpoint is smaller: a log never shrinks")
    if size1 == size2:
        if proof or root1 != root2:
            raise ValueError("two different roots for the same size")
        return
    if size1 == 0:
        return
    if not proof:
        raise ValueError("empty consistency proof")
    path = ([root1] if size1 & (size1 - 1) == 0 else []) + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise ValueError(f"the log of size {size2} is not an extension of the log of size {size1}")


# --- Commands -----------------------------------------------------------------------------
def load(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_checkpoint(path: str) -> dict:
    """A checkpoint file, or a saved API answer read ``as_of`` a checkpoint (its ``checkpoint`` field)."""
    data = load(path)
    return data["checkpoint"] if isinstance(data, dict) and isinstance(data.get("checkpoint"), dict) else data


def check_checkpoint(cp: dict, public_key: str | None = None) -> None:
    if cp.get("origin") != ORIGIN:
        raise ValueError(f"not a {ORIGIN} checkpoint")
    if public_key and public_key.lower() != cp["public_key"].lower():
        raise ValueError("signed by a different key than the one you trust")
    pub = bytes.fromhex(cp["public_key"])
    if hashlib.sha256(pub).hexdigest()[:16] != cp["key_id"]:
        raise ValueError("key id does not match the public key")
    text = f"{ORIGIN}\n{int(cp['size'])}\n{cp['root_hash']}\n{cp['time']}\n"
    if not ed25519_verify(pub, text.encode(), bytes.fromhex(cp["signature"])):
        raise ValueError("bad signature")


def leaf_list(data) -> list[dict]:
    """A leaves download: the CLI's JSON array, or one or more pages from GET /api/v1/log/leaves."""
    if isinstance(data, dict):
        data = [data]
    out = []
    for item in data:
        out.extend(item["leaves"] if isinstance(item, dict) and "leaves" in item else [item])
    return out


def check_leaves(cp: dict, leaves: list[dict]) -> list[bytes]:
    hashes = [leaf_hash(x["manifest"].encode()) for x in sorted(leaves, key=lambda x: x["leaf_index"])]
    size = int(cp["size"])
    if len(hashes) < size:
        raise ValueError(f"the download has {len(hashes)} leaves, the checkpoint {size}")
    if root(hashes[:size]).hex() != cp["root_hash"]:
        raise ValueError("the leaves do not hash to the checkpoint's root")
    return hashes


def check_rows(leaves: list[dict], batch_id: str, rows_path: str) -> dict:
    manifests = [json.loads(x["manifest"]) for x in leaves]
    manifest = next((m for m in manifests if m.get("batch_id") == str(batch_id)), None)
    if manifest is None:
        raise ValueError(f"batch {batch_id} is not in the log")
    sha, count = hashlib.sha256(), 0
    with open(rows_path, "rb") as f:
        for line in f:
            sha.update(line if line.endswith(b"\n") else line + b"\n")
            count += 1
    if sha.hexdigest() != manifest["rows_sha256"] or str(count) != manifest["row_count"]:
        raise ValueError(f"the rows of batch {batch_id} do not match its manifest ({count} rows read)")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("checkpoint")
    c.add_argument("--public-key")
    c = sub.add_parser("leaves")
    c.add_argument("checkpoint")
    c.add_argument("leaves")
    c = sub.add_parser("rows")
    c.add_argument("checkpoint")
    c.add_argument("leaves")
    c.add_argument("batch_id")
    c.add_argument("rows")
    c = sub.add_parser("inclusion")
    c.add_argument("checkpoint")
    c.add_argument("proof")
    c.add_argument("manifest", nargs="?", help="the manifest's text; default: the proof's own manifest field")
    c = sub.add_parser("consistency")
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("proof")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "consistency":
            old, new, proof = load_checkpoint(args.old), load_checkpoint(args.new), load(args.proof)
            check_checkpoint(old)
            check_checkpoint(new)
            verify_consistency(int(old["size"]), int(new["size"]), bytes.fromhex(old["root_hash"]),
                               bytes.fromhex(new["root_hash"]), [bytes.fromhex(p) for p in proof["proof"]])
            print(f"OK: the log of size {new['size']} extends the log of size {old['size']}")
            return 0
        cp = load_checkpoint(args.checkpoint)
        check_checkpoint(cp, getattr(args, "public_key", None))
        if args.cmd == "checkpoint":
            print(f"OK: checkpoint of size {cp['size']} signed by key {cp['key_id']} at {cp['time']}")
        elif args.cmd == "leaves":
            check_leaves(cp, leaf_list(load(args.leaves)))
            print(f"OK: the leaves hash to the checkpoint's root {cp['root_hash']}")
        elif args.cmd == "rows":
            leaves = leaf_list(load(args.leaves))
            check_leaves(cp, leaves)
            m = check_rows(leaves[: int(cp["size"])], args.batch_id, args.rows)
            print(f"OK: {m['row_count']} rows of batch {m['batch_id']} match its manifest in the checkpoint")
        elif args.cmd == "inclusion":
            proof = load(args.proof)
            if args.manifest is None:
                data = proof["manifest"].encode()
            else:
                with open(args.manifest, "rb") as f:
                    data = f.read().rstrip(b"\n")
            got = root_from_inclusion(int(proof["leaf_index"]), int(cp["size"]), leaf_hash(data),
                                      [bytes.fromhex(p) for p in proof["proof"]])
            if got.hex() != cp["root_hash"]:
                raise ValueError("the manifest is not in the log at that index")
            print(f"OK: the manifest is leaf {proof['leaf_index']} of the checkpoint of size {cp['size']}")
    except (ValueError, KeyError, OSError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
