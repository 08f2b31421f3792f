"""RFC 6962 Merkle tree hashing, inclusion and consistency proofs (Certificate Transparency).

What it guarantees: `tree_hash` is MTH() of RFC 6962 §2.1 (SHA-256, leaf prefix 0x00, node prefix
0x01, the empty tree hashes to SHA-256 of nothing). `inclusion_proof`/`consistency_proof` build
PATH and PROOF of §2.1.1/§2.1.2; the verifiers follow the algorithms of RFC 9162 §2.1.3.2 and
§2.1.4.2, which check the proof shape against the tree sizes, so a proof with an element added,
removed, flipped or of the wrong length is rejected, never "fixed up".

The ledger uses the entry hashes as leaf data: `leaf_hash(entry_hash)`. `MerkleAccumulator` keeps
only the O(log n) perfect subtrees (a compact range), so a verifier streaming a million entries can
ask for the root at every checkpoint size without holding the leaves.

>>> tree_hash([]).hex()[:16]
'e3b0c44298fc1c14'
>>> tree_hash([leaf_hash(b"")]).hex()[:16]
'6e340b9cffb37a98'
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

__all__ = [
    "HASH_SIZE", "MerkleAccumulator", "consistency_proof", "inclusion_proof", "leaf_hash", "node_hash",
    "root_from_inclusion", "tree_hash", "verify_consistency", "verify_inclusion",
]

HASH_SIZE = 32
_EMPTY = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves."""
    acc = MerkleAccumulator()
    for h in leaf_hashes:
        acc.append(h)
    return acc.root()


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 §2.1.1."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaf_hashes[:k], index), tree_hash(leaf_hashes[k:])]
    return [*inclusion_proof(leaf_hashes[k:], index - k), tree_hash(leaf_hashes[:k])]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 (empty when m is 0 or m equals n)."""
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(leaf_hashes, old_size, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [tree_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves[:k], m, complete=complete), tree_hash(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, complete=False), tree_hash(leaves[:k])]


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof, or None if the proof's shape is wrong."""
    if not (0 <= index < size) or not _well_formed(leaf, *proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(*, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree `root` of `size`?"""
    return _well_formed(root) and root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(*, old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (`new_size`, `new_root`) an append-only extension of
    (`old_size`, `old_root`)? The empty tree is consistent with every tree, by an empty proof."""
    if not (0 <= old_size <= new_size) or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and old_root == _EMPTY
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


class MerkleAccumulator:
    """An append-only compact range: the roots of the perfect subtrees, one per set bit of size.

    >>> acc = MerkleAccumulator()
    >>> for data in (b"", b"\\x00"):
    ...     acc.append(leaf_hash(data))
    >>> acc.root().hex()[:16]
    'fac54203e7cc696c'
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; merges the equal-sized subtrees it completes."""
        h, n, stack = leaf, self.size, self._stack
        while n & 1:
            h = sha256(b"\x01" + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the subtrees folded from the right (RFC 6962's split rule)."""
        if not self._stack:
            return _EMPTY
        h = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h
