"""The field-encryption keyring: AES-256-GCM blobs bound to their column, rotatable keys, a blind
index that survives rotation, key files created 0600 on first use."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yinqi.adapters.crypto.field_encryption import (
    ACTIVE_RECHECK_S,
    BLIND_INDEX_CHARS,
    FieldCiphertextInvalid,
    FieldKeyActive,
    FieldKeyRetired,
    FieldKeyring,
    FieldKeyUnknown,
    blob_key_id,
    mask,
)

IBAN = "DE89370400440532013000"
FIELD = "payment_orders.payee_account_enc"


@pytest.fixture
def ring(tmp_path: Path) -> FieldKeyring:
    return FieldKeyring(tmp_path / "keys" / "fields")


def test_a_sealed_value_opens_to_itself_and_names_the_active_key(ring: FieldKeyring) -> None:
    blob = ring.seal(IBAN, field=FIELD)
    assert blob.startswith(f"v1:{ring.active_key_id}:") and IBAN not in blob
    assert ring.open(blob, field=FIELD) == IBAN


def test_the_same_value_seals_differently_each_time_with_a_96_bit_nonce(ring: FieldKeyring) -> None:
    a, b = ring.seal(IBAN, field=FIELD), ring.seal(IBAN, field=FIELD)
    assert a != b
    raw = base64.b64decode(a.split(":", 2)[2])
    assert len(raw) == 12 + len(IBAN) + 16  # nonce | ciphertext | GCM tag


def test_a_blob_moved_to_another_column_is_refused(ring: FieldKeyring) -> None:
    blob = ring.seal(IBAN, field=FIELD)
    with pytest.raises(FieldCiphertextInvalid) as refused:
        ring.open(blob, field="payment_orders.payer_account_enc")
    assert (refused.value.code, refused.value.rule) == ("FIELD_CIPHERTEXT_INVALID", "authenticated")


def test_a_tampered_blob_is_refused(ring: FieldKeyring) -> None:
    prefix, body = ring.seal(IBAN, field=FIELD).rsplit(":", 1)
    raw = bytearray(base64.b64decode(body))
    raw[15] ^= 1
    with pytest.raises(FieldCiphertextInvalid):
        ring.open(f"{prefix}:{base64.b64encode(bytes(raw)).decode()}", field=FIELD)


@pytest.mark.parametrize("blob", ["", "DE89370400440532013000", "v2:k1:AAAA", "v1:K1:AAAA", "v1:k1:not base64!"])
def test_something_that_is_not_a_v1_blob_is_refused(ring: FieldKeyring, blob: str) -> None:
    with pytest.raises(FieldCiphertextInvalid) as refused:
        ring.open(blob, field=FIELD)
    assert refused.value.rule == "blob_format"


def test_a_blob_under_an_unknown_key_is_refused(ring: FieldKeyring, tmp_path: Path) -> None:
    other = FieldKeyring(tmp_path / "elsewhere")
    other.ensure_key("kabc")
    other.activate("kabc")
    with pytest.raises(FieldKeyUnknown) as refused:
        ring.open(other.seal(IBAN, field=FIELD), field=FIELD)
    assert refused.value.code == "FIELD_KEY_UNKNOWN"


def test_after_rotation_old_blobs_still_open_until_the_old_key_is_retired(ring: FieldKeyring) -> None:
    old_key, old_blob = ring.active_key_id, ring.seal(IBAN, field=FIELD)
    new_key = ring.new_key_id()
    ring.ensure_key(new_key)
    ring.activate(new_key)
    assert blob_key_id(ring.seal(IBAN, field=FIELD)) == new_key
    assert ring.open(old_blob, field=FIELD) == IBAN
    ring.retire(old_key)
    with pytest.raises(FieldKeyRetired) as refused:
        ring.open(old_blob, field=FIELD)
    assert refused.value.code == "FIELD_KEY_RETIRED"
    assert not (ring_dir(ring) / f"data-{old_key}.key").exists()  # the key bytes are gone
    listed = [(k.key_id, k.active, k.retired) for k in ring.key_infos()]
    assert listed == [(old_key, False, True), (new_key, True, False)]


def test_a_key_retired_by_another_process_stops_opening_here_too(ring: FieldKeyring) -> None:
    old_key, old_blob = ring.active_key_id, ring.seal(IBAN, field=FIELD)
    assert ring.open(old_blob, field=FIELD) == IBAN  # now cached in this process
    admin = FieldKeyring(ring_dir(ring))
    new_key = admin.new_key_id()
    admin.ensure_key(new_key)
    admin.activate(new_key)
    admin.retire(old_key)
    assert ring.active_key_id == new_key  # the other process's rotation is noticed
    with pytest.raises(FieldKeyRetired):
        ring.open(old_blob, field=FIELD)


class _Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _rotate_elsewhere(ring: FieldKeyring) -> str:
    admin = FieldKeyring(ring_dir(ring))
    new_key = admin.new_key_id()
    admin.ensure_key(new_key)
    admin.activate(new_key)
    return new_key


def test_sealing_notices_another_process_rotation_within_the_recheck_bound(tmp_path: Path) -> None:
    ticks = _Ticks()
    ring = FieldKeyring(tmp_path / "keys" / "fields", monotonic=ticks)
    old_key = blob_key_id(ring.seal(IBAN, field=FIELD))
    new_key = _rotate_elsewhere(ring)
    ticks.now += ACTIVE_RECHECK_S / 2
    assert blob_key_id(ring.seal(IBAN, field=FIELD)) == old_key  # inside the bound: no file look-up
    assert ring.active_key_id == new_key  # asked directly, the file is read every time
    ticks.now += ACTIVE_RECHECK_S / 2
    assert blob_key_id(ring.seal(IBAN, field=FIELD)) == new_key


def test_a_failed_open_under_an_unknown_key_makes_the_next_seal_look_again(tmp_path: Path) -> None:
    ticks = _Ticks()
    ring = FieldKeyring(tmp_path / "keys" / "fields", monotonic=ticks)
    ring.seal(IBAN, field=FIELD)
    new_key = _rotate_elsewhere(ring)
    with pytest.raises(FieldKeyUnknown):
        ring.open("v1:kzzzz:" + base64.b64encode(bytes(40)).decode(), field=FIELD)
    assert blob_key_id(ring.seal(IBAN, field=FIELD)) == new_key


def test_the_active_key_cannot_be_retired(ring: FieldKeyring) -> None:
    with pytest.raises(FieldKeyActive) as refused:
        ring.retire(ring.active_key_id)
    assert refused.value.code == "FIELD_KEY_ACTIVE"


def test_the_blind_index_ignores_spacing_and_case_and_survives_rotation(ring: FieldKeyring) -> None:
    before = ring.blind_index(IBAN)
    assert len(before) == BLIND_INDEX_CHARS and IBAN not in before
    assert ring.blind_index("de89 3704 0044 0532 0130 00") == before
    key = ring.new_key_id()
    ring.ensure_key(key)
    ring.activate(key)
    assert ring.blind_index(IBAN) == before
    assert ring.blind_index("DE89370400440532013001") != before


def test_key_files_are_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    directory = tmp_path / "keys" / "fields"
    first = FieldKeyring(directory)
    second = FieldKeyring(directory)  # a second process on the same home agrees on the keys
    assert first.active_key_id == second.active_key_id
    assert second.open(first.seal(IBAN, field=FIELD), field=FIELD) == IBAN
    for path in directory.glob("*.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_masking_keeps_only_the_ends() -> None:
    assert mask("DE89 3704 0044 0532 0130 00") == "DE89**************3000"
    assert mask("6222021234567890") == "************7890"


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=300), field=st.text(min_size=1, max_size=40))
def test_any_text_round_trips_through_seal_and_open(tmp_path_factory: pytest.TempPathFactory, value: str,
                                                   field: str) -> None:
    ring = _shared_ring(tmp_path_factory)
    assert ring.open(ring.seal(value, field=field), field=field) == value


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=2000))
def test_any_bytes_round_trip_and_never_appear_in_the_blob(tmp_path_factory: pytest.TempPathFactory,
                                                          data: bytes) -> None:
    ring = _shared_ring(tmp_path_factory)
    blob = ring.seal_bytes(data, field="bank_messages.payload_enc")
    assert ring.open_bytes(blob, field="bank_messages.payload_enc") == data


_RINGS: dict[int, FieldKeyring] = {}


def _shared_ring(factory: pytest.TempPathFactory) -> FieldKeyring:
    return _RINGS.setdefault(id(factory), FieldKeyring(factory.mktemp("ring")))


def ring_dir(ring: FieldKeyring) -> Path:
    return ring._dir  # the test checks the files themselves
