"""Checkpoint value object: round trip, exact signed bytes, malformed records refused."""

import pytest

from yinqi.domain.ledger.checkpoint import SIGNING_CONTEXT, Checkpoint, CheckpointInvalid

CP = Checkpoint(size=3, head_hash=b"\xaa" * 32, merkle_root=b"\xbb" * 32, at_utc="2024-01-01T00:00:00.000000Z")


def test_checkpoint_round_trips_through_its_record() -> None:
    cp, sig, kid = Checkpoint.from_record(CP.to_record(signature=b"\x01\x02", key_id="abc"))
    assert (cp, sig, kid) == (CP, b"\x01\x02", "abc")


def test_signed_bytes_are_the_context_label_and_canonical_body() -> None:
    assert CP.signing_bytes() == SIGNING_CONTEXT + (
        b'{"at":"2024-01-01T00:00:00.000000Z","head_hash":"' + b"aa" * 32 + b'","merkle_root":"'
        + b"bb" * 32 + b'","size":3}')


@pytest.mark.parametrize("record", [{}, {"size": -1, "head_hash": "aa" * 32, "merkle_root": "bb" * 32, "at": "x",
                                         "sig": ""},
                                    {"size": 1, "head_hash": "zz", "merkle_root": "bb" * 32, "at": "x", "sig": ""},
                                    {"size": 1, "head_hash": "aa" * 31, "merkle_root": "bb" * 32, "at": "x",
                                     "sig": ""}])
def test_malformed_checkpoint_records_are_refused(record: dict[str, object]) -> None:
    with pytest.raises(CheckpointInvalid):
        Checkpoint.from_record(record)
