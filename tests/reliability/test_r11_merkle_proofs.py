"""R11: every honest RFC 6962 proof verifies for tree sizes 1..64 and EVERY mutated proof (bit
flips, truncated or garbage elements, added, removed, swapped or inserted elements, empty proofs,
wrong index, wrong size, wrong root) is rejected. Published vectors: tests/unit/domain/ledger/test_merkle.py."""

from collections.abc import Iterator

import pytest

from yinqi.domain.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

SOME = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_every_honest_inclusion_proof_verifies_for_sizes_1_to_64() -> None:
    for n in range(1, 65):
        data, root = leaves(n), tree_hash(leaves(n))
        for i in range(n):
            assert verify_inclusion(index=i, size=n, leaf=data[i], proof=inclusion_proof(data, i), root=root)


def test_every_honest_consistency_proof_verifies_for_sizes_1_to_64() -> None:
    data = leaves(64)
    roots = [tree_hash(data[:n]) for n in range(65)]
    for n in range(1, 65):
        for m in range(0, n + 1):
            assert verify_consistency(old_size=m, new_size=n, old_root=roots[m], new_root=roots[n],
                                      proof=consistency_proof(data[:n], m)), (m, n)


def _proof_mutations(proof: list[bytes], root: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "trailing empty", [*proof, b""]
    yield "trailing root", [*proof, root]
    yield "leading empty", [b"", *proof]
    yield "leading root", [root, *proof]
    yield "garbage element", [*proof[:-1], b"garbage"] if proof else [b"garbage"]
    for i in range(len(proof)):
        for bit in (0, 3, 255):
            flipped = bytearray(proof[i])
            flipped[bit // 8] ^= 1 << (bit % 8)
            yield f"flip {i}:{bit}", [*proof[:i], bytes(flipped), *proof[i + 1:]]
        yield f"truncated {i}", [*proof[:i], proof[i][:31], *proof[i + 1:]]
    if proof:
        yield "removed last", proof[:-1]
        yield "removed first", proof[1:]
        yield "empty", []
    if len(proof) > 1:
        yield "inserted", [proof[0], SOME, *proof[1:]]
        yield "swapped", [proof[1], proof[0], *proof[2:]] if proof[0] != proof[1] else [SOME, *proof[1:]]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 16, 31, 33, 64])
def test_every_mutated_inclusion_proof_is_rejected(n: int) -> None:
    data, root = leaves(n), tree_hash(leaves(n))
    for i in range(n):
        proof = inclusion_proof(data, i)
        for desc, bad in _proof_mutations(proof, root):
            assert not verify_inclusion(index=i, size=n, leaf=data[i], proof=bad, root=root), (n, i, desc)
        # The corrupt-position table of transparency-dev/merkle proof/verify_test.go. (A size whose
        # path has the same shape, e.g. 33 -> 34 for leaf 0, is not a mutation: RFC 9162 binds the
        # size only through the path shape, which is why checkpoints sign size and root together.)
        for j, m in [(i - 1, n), (i + 1, n), (i ^ 2, n), (i, n * 2), (i, n // 2), (i, 0)]:
            if (j, m) != (i, n):
                assert not verify_inclusion(index=j, size=m, leaf=data[i], proof=proof, root=root), (n, i, j, m)
        assert not verify_inclusion(index=i, size=n, leaf=b"WrongLeaf", proof=proof, root=root)
        assert not verify_inclusion(index=i, size=n, leaf=data[i], proof=proof, root=tree_hash([]))
        assert not verify_inclusion(index=i, size=n, leaf=data[i], proof=proof, root=SOME)


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 13, 16, 31, 33, 64])
def test_every_mutated_consistency_proof_is_rejected(n: int) -> None:
    data = leaves(n)
    roots = [tree_hash(data[:k]) for k in range(n + 1)]
    for m in range(1, n):
        proof = consistency_proof(data, m)
        for desc, bad in _proof_mutations(proof, roots[n]):
            assert not verify_consistency(old_size=m, new_size=n, old_root=roots[m], new_root=roots[n],
                                          proof=bad), (m, n, desc)
        for mm, nn in [(m - 1, n), (m + 1, n), (m, n + 1), (m, n - 1), (n, m), (0, n), (m, 0)]:
            if (mm, nn) == (m, n) or not (mm >= 0 and nn >= 0):
                continue
            old = roots[mm] if mm <= n else SOME
            new = roots[nn] if nn <= n else SOME
            assert not verify_consistency(old_size=mm, new_size=nn, old_root=old, new_root=new,
                                          proof=proof), (m, n, mm, nn)
        assert not verify_consistency(old_size=m, new_size=n, old_root=SOME, new_root=roots[n], proof=proof)
        assert not verify_consistency(old_size=m, new_size=n, old_root=roots[m], new_root=SOME, proof=proof)
