"""The Merkle tree against the Certificate Transparency reference vectors.

Vectors from transparency-dev/merkle (testonly/constants.go, proof/verify_test.go), the Go
successor of the RFC 6962 reference implementation: eight leaf inputs, the root of every prefix,
and known inclusion and consistency proofs. Leaf numbers in the inclusion vectors are 1-based there.
"""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.log import merkle
from ledger.log.merkle import ProofError

LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f"]]
ROOTS = [bytes.fromhex(h) for h in [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]
LEAF_HASHES = [bytes.fromhex(h) for h in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]]


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# (1-based leaf, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (2, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]

CONSISTENCY = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]

HASHES = [merkle.leaf_hash(x) for x in LEAVES]


def test_leaf_hashes_match_the_reference():
    assert HASHES == LEAF_HASHES


def test_roots_of_every_prefix_match_the_reference():
    assert [merkle.root(HASHES[:n]) for n in range(9)] == ROOTS
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_and_verify(leaf, size, proof):
    assert merkle.inclusion_proof(HASHES[:size], leaf - 1) == proof
    merkle.verify_inclusion(leaf - 1, size, HASHES[leaf - 1], proof, ROOTS[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_proofs_match_and_verify(size1, size2, proof):
    assert merkle.consistency_proof(HASHES[:size2], size1) == proof
    merkle.verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)


def _inclusion_corruptions(index, size, proof, root, leaf):
    some = h("abacaba000000000000000000000000000000000000000000060061e00123456")
    yield index - 1, size, leaf, proof, root
    yield index + 1, size, leaf, proof, root
    yield index ^ 2, size, leaf, proof, root
    yield index, size * 2, leaf, proof, root
    yield index, size // 2, leaf, proof, root
    yield index, size, merkle.leaf_hash(b"WrongLeaf"), proof, root
    yield index, size, leaf, proof, ROOTS[0]
    yield index, size, leaf, proof, some
    yield index, size, leaf, [*proof, root], root
    yield index, size, leaf, [root, *proof], root
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield index, size, leaf, bad, root
    if proof:
        yield index, size, leaf, proof[:-1], root
    if len(proof) > 1:
        yield index, size, leaf, [proof[0], some, *proof[1:]], root


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION[1:])
def test_corrupted_inclusion_proofs_fail(leaf, size, proof):
    for args in _inclusion_corruptions(leaf - 1, size, proof, ROOTS[size], HASHES[leaf - 1]):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY[1:])
def test_corrupted_consistency_proofs_fail(size1, size2, proof):
    r1, r2 = ROOTS[size1], ROOTS[size2]
    cases = [
        (size1 - 1, size2, r1, r2, proof), (size1 + 1, size2, r1, r2, proof), (size1 ^ 2, size2, r1, r2, proof),
        (size1, size2 * 2, r1, r2, proof), (size1, size2 // 2, r1, r2, proof),
        (size1, size2, ROOTS[0], r2, proof), (size1, size2, r1, ROOTS[0], proof), (size1, size2, r2, r1, proof),
        (size1, size2, r1, r2, []), (size1, size2, r1, r2, [*proof, r1]), (size1, size2, r1, r2, [*proof, r2]),
        (size1, size2, r1, r2, [r1, *proof]), (size1, size2, r1, r2, [r2, *proof]),
        (size1, size2, r1, r2, [proof[0], *proof]), (size1, size2, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        cases.append((size1, size2, r1, r2, bad))
    for args in cases:
        if args[0] == args[1] == 0 or (args[0] == 0 and not args[4]):
            continue  # trivially consistent sizes: the RFC accepts them with an empty proof
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)


def test_edge_sizes():
    merkle.verify_consistency(0, 0, ROOTS[0], ROOTS[0], [])
    merkle.verify_consistency(0, 5, ROOTS[0], ROOTS[5], [])
    with pytest.raises(ProofError):
        merkle.verify_consistency(1, 1, ROOTS[1], ROOTS[2], [])
    with pytest.raises(ProofError):
        merkle.verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])
    with pytest.raises(ProofError):
        merkle.inclusion_proof(HASHES[:3], 3)
    with pytest.raises(ProofError):
        merkle.consistency_proof(HASHES[:3], 4)


@given(st.integers(1, 70), st.data())
def test_every_generated_proof_verifies(n, data):
    hashes = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    index = data.draw(st.integers(0, n - 1))
    size1 = data.draw(st.integers(1, n))
    full = merkle.root(hashes)
    merkle.verify_inclusion(index, n, hashes[index], merkle.inclusion_proof(hashes, index), full)
    merkle.verify_consistency(size1, n, merkle.root(hashes[:size1]), full, merkle.consistency_proof(hashes, size1))
