"""RFC 6962 Merkle tree: published vectors and the proof builders (the 1..64 sweep and the mutated-
proof corpus are R11, tests/reliability/test_r11_merkle_proofs.py)."""

import base64
import json
from pathlib import Path

import pytest

from yinqi.domain.ledger.merkle import (
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parents[3] / "fixtures" / "rfc6962_vectors.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
H = bytes.fromhex


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_empty_tree_and_hasher_vectors_match() -> None:
    assert tree_hash([]).hex() == VECTORS["empty_root"]
    for v in VECTORS["hasher"]:
        if v["kind"] == "leaf":
            data = H(v["leaf_hex"]) if "leaf_hex" in v else v["leaf_ascii"].encode()
            assert leaf_hash(data).hex() == v["want"]
        else:
            assert node_hash(v["left_ascii"].encode(), v["right_ascii"].encode()).hex() == v["want"]


@pytest.mark.parametrize("size", range(1, 9))
def test_root_of_the_first_n_reference_leaves_matches_the_vector(size: int) -> None:
    assert tree_hash(LEAVES[:size]).hex() == VECTORS["roots"][size - 1]


@pytest.mark.parametrize(("size", "root"), VECTORS["compact_range_golden"]["roots_b64"].items())
def test_larger_golden_roots_match(size: str, root: str) -> None:
    data = [leaf_hash(bytes([i & 0xFF, (i >> 8) & 0xFF])) for i in range(int(size))]
    assert tree_hash(data) == base64.b64decode(root)


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}of{v['size']}")
def test_inclusion_proof_vectors_are_produced_and_verify(vector: dict[str, object]) -> None:
    size, index = int(vector["size"]), int(vector["index"])  # type: ignore[call-overload]
    proof = inclusion_proof(LEAVES[:size], index)
    assert [p.hex() for p in proof] == vector["proof"]
    assert verify_inclusion(index=index, size=size, leaf=LEAVES[index], proof=proof,
                            root=tree_hash(LEAVES[:size]))


@pytest.mark.parametrize("vector", VECTORS["consistency"], ids=lambda v: f"{v['size1']}to{v['size2']}")
def test_consistency_proof_vectors_are_produced_and_verify(vector: dict[str, object]) -> None:
    m, n = int(vector["size1"]), int(vector["size2"])  # type: ignore[call-overload]
    proof = consistency_proof(LEAVES[:n], m)
    assert [p.hex() for p in proof] == vector["proof"]
    assert verify_consistency(old_size=m, new_size=n, old_root=tree_hash(LEAVES[:m]),
                              new_root=tree_hash(LEAVES[:n]), proof=proof)


def test_accumulator_root_equals_the_recursive_definition_at_every_size() -> None:
    acc, data = MerkleAccumulator(), leaves(70)
    for i, h in enumerate(data, start=1):
        acc.append(h)
        assert acc.root() == _reference_mth(data[:i])


def _reference_mth(d: list[bytes]) -> bytes:
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(_reference_mth(d[:k]), _reference_mth(d[k:]))


def test_builders_refuse_impossible_positions() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(leaves(3), 3)
    with pytest.raises(ValueError):
        consistency_proof(leaves(3), 4)
