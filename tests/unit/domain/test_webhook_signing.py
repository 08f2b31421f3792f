"""Standard Webhooks signing and verification (R20): the official vector, and every refusal."""

from __future__ import annotations

import hmac

import pytest

from yinqi.domain import webhooks as wh
from yinqi.domain.webhooks import SeenIds, WebhookVerificationError, sign, signed_headers, verify

# The vector of the Standard Webhooks reference libraries (python/tests/test_webhooks.py, test_sign_function).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = '{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER = wh.encode_secret(b"another secret, 32 bytes long!!!")


def headers(secrets: list[str] = [SECRET], *, msg_id: str = MSG_ID, ts: int = TIMESTAMP,  # noqa: B006
            body: str = PAYLOAD) -> dict[str, str]:
    return signed_headers(secrets, msg_id=msg_id, timestamp=ts, body=body)


def refusal(hdrs: dict[str, str], body: str | bytes = PAYLOAD, secrets: list[str] = [SECRET],  # noqa: B006
            now: float = TIMESTAMP, seen: SeenIds | None = None) -> str:
    with pytest.raises(WebhookVerificationError) as err:
        verify(hdrs, body, secrets, now, seen=seen)
    return err.value.reason


def test_the_official_standard_webhooks_vector_signs_to_the_published_signature() -> None:
    assert sign(SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP, body=PAYLOAD) == EXPECTED


def test_the_secret_prefix_is_optional_when_signing() -> None:
    assert sign(SECRET.removeprefix("whsec_"), msg_id=MSG_ID, timestamp=TIMESTAMP, body=PAYLOAD) == EXPECTED


def test_the_official_vector_verifies_and_returns_the_payload() -> None:
    hdrs = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": EXPECTED}
    assert verify(hdrs, PAYLOAD, [SECRET], TIMESTAMP) == {"test": 2432232314}


def test_header_names_are_matched_case_insensitively() -> None:
    hdrs = {k.title(): v for k, v in headers().items()}
    assert verify(hdrs, PAYLOAD.encode(), [SECRET], TIMESTAMP) == {"test": 2432232314}


def test_a_body_with_one_byte_changed_is_refused() -> None:
    assert refusal(headers(), body=PAYLOAD.replace("4}", "5}")) == "no_valid_signature"


def test_a_signature_made_with_another_key_is_refused() -> None:
    assert refusal(headers([OTHER])) == "no_valid_signature"


def test_a_timestamp_six_minutes_old_is_refused() -> None:
    assert refusal(headers(ts=TIMESTAMP - 360)) == "stale"


def test_a_timestamp_six_minutes_ahead_is_refused() -> None:
    assert refusal(headers(ts=TIMESTAMP + 360)) == "future"


def test_a_timestamp_within_five_minutes_either_way_is_accepted() -> None:
    for skew in (-300, -1, 0, 299, 300):
        verify(headers(ts=TIMESTAMP + skew), PAYLOAD, [SECRET], TIMESTAMP)


def test_a_replayed_webhook_id_is_refused_even_with_a_fresh_valid_signature() -> None:
    seen = SeenIds()
    verify(headers(), PAYLOAD, [SECRET], TIMESTAMP, seen=seen)
    assert refusal(headers(ts=TIMESTAMP + 10), now=TIMESTAMP + 10, seen=seen) == "replayed"


def test_a_refused_delivery_does_not_burn_its_id() -> None:
    seen = SeenIds()
    refusal(headers([OTHER]), seen=seen)
    verify(headers(), PAYLOAD, [SECRET], TIMESTAMP, seen=seen)


def test_seen_ids_expire_after_their_time_to_live() -> None:
    seen = SeenIds(ttl_s=600)
    seen.add("a", now=0)
    assert seen.seen("a", now=599) and not seen.seen("a", now=600) and len(seen) == 0


def test_missing_headers_and_a_non_numeric_timestamp_are_refused() -> None:
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        hdrs = headers()
        del hdrs[name]
        assert refusal(hdrs) == "missing_header"
    assert refusal({**headers(), "webhook-timestamp": "soon"}) == "bad_timestamp"


def test_during_rotation_both_signatures_are_sent_and_either_secret_verifies() -> None:
    hdrs = headers([OTHER, SECRET])
    assert len(hdrs["webhook-signature"].split(" ")) == 2
    assert EXPECTED in hdrs["webhook-signature"].split(" ")
    assert verify(hdrs, PAYLOAD, [SECRET], TIMESTAMP) == {"test": 2432232314}
    assert verify(hdrs, PAYLOAD, [OTHER], TIMESTAMP) == {"test": 2432232314}
    assert refusal(hdrs, secrets=[wh.encode_secret(b"x" * 32)]) == "no_valid_signature"


def test_unknown_signature_versions_and_garbage_are_ignored_not_fatal() -> None:
    hdrs = {**headers(), "webhook-signature": f"v2,abc v1,!!notbase64 v1a,xyz {EXPECTED}"}
    assert verify(hdrs, PAYLOAD, [SECRET], TIMESTAMP) == {"test": 2432232314}


def test_signatures_are_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(wh.hmac, "compare_digest", spy)
    verify(headers([OTHER, SECRET]), PAYLOAD, [SECRET], TIMESTAMP)
    assert len(calls) == 2  # every offered signature against every secret, no early exit


def test_a_secret_that_is_not_base64_is_refused_as_configuration() -> None:
    with pytest.raises(ValueError):
        wh.decode_secret("whsec_not base64!")
    with pytest.raises(ValueError):
        wh.decode_secret("whsec_")
