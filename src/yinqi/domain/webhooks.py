"""Standard Webhooks signing and verification (https://www.standardwebhooks.com), pure.

A delivery carries three headers:
- `webhook-id`: the message id, stable across retries, so a receiver can drop duplicates;
- `webhook-timestamp`: integer Unix seconds of this attempt, so a receiver can refuse old ones;
- `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`,
  one per active secret: during a secret rotation the sender signs with both the new and the old
  secret and a receiver that knows either one accepts.

Secrets are written `whsec_<base64 of the key bytes>` (the prefix is optional when reading).
`verify` checks headers, timestamp tolerance (5 minutes either way), then every signature in
constant time (`hmac.compare_digest`), then the id against a `SeenIds` store so a replayed
delivery is refused. The clock is a parameter: nothing here reads the time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_TOLERANCE_S", "SECRET_PREFIX", "SeenIds", "WebhookVerificationError", "decode_secret",
           "encode_secret", "sign", "signature_header", "signed_headers", "verify"]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 300
SIGNATURE_VERSION = "v1"


class WebhookVerificationError(ValueError):
    """A delivery the receiver must refuse. `reason` is a short stable word for tests and logs:
    missing_header, bad_timestamp, stale, future, no_valid_signature, replayed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def encode_secret(key: bytes) -> str:
    """`whsec_<base64>` for raw key bytes."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The key bytes of a `whsec_…` secret (the prefix may be left out). Raises ValueError."""
    text = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is base64 after the whsec_ prefix") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def _body_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One `v1,<base64>` signature of this message under `secret`."""
    digest = _mac(decode_secret(secret), msg_id, int(timestamp), _body_bytes(body))
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Iterable[str], *, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated, in order."""
    signatures = [sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets]
    if not signatures:
        raise ValueError("at least one webhook secret is needed to sign")
    return " ".join(signatures)


def signed_headers(secrets: Iterable[str], *, msg_id: str, timestamp: int, body: bytes | str) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(timestamp)),
            "webhook-signature": signature_header(secrets, msg_id=msg_id, timestamp=timestamp, body=body)}


@dataclass
class SeenIds:
    """Webhook ids already accepted, each remembered for `ttl_s` seconds (longer than the timestamp
    tolerance, so an id cannot come back once forgotten: its timestamp would be stale by then).
    In memory: a receiver with several processes keeps this in its database instead."""

    ttl_s: int = 2 * DEFAULT_TOLERANCE_S
    _expires: dict[str, float] = field(default_factory=dict)

    def seen(self, msg_id: str, *, now: float) -> bool:
        self._expire(now)
        return msg_id in self._expires

    def add(self, msg_id: str, *, now: float) -> None:
        self._expires[msg_id] = now + self.ttl_s

    def _expire(self, now: float) -> None:
        for old in [k for k, t in self._expires.items() if t <= now]:
            del self._expires[old]

    def __len__(self) -> int:
        return len(self._expires)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError("missing_header", f"the {name} header is missing")


def verify(headers: Mapping[str, str], body: bytes | str, secrets: Iterable[str], now: float,
           tolerance_s: int = DEFAULT_TOLERANCE_S, seen: SeenIds | None = None) -> Any:
    """Check one delivery and return its parsed JSON body.

    `secrets` are the receiver's accepted secrets (several during a rotation); `now` is Unix
    seconds. With `seen`, an id verified before is refused as a replay and a new one is remembered.

    Raises:
        WebhookVerificationError: missing header, unreadable or out-of-tolerance timestamp,
            no signature valid under any secret, or a replayed id.
    """
    msg_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    raw_signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("bad_timestamp", "webhook-timestamp is not integer seconds") from None
    if timestamp < now - tolerance_s:
        raise WebhookVerificationError("stale", f"webhook-timestamp is more than {tolerance_s} s old")
    if timestamp > now + tolerance_s:
        raise WebhookVerificationError("future", f"webhook-timestamp is more than {tolerance_s} s ahead")
    data = _body_bytes(body)
    expected = [_mac(decode_secret(s), msg_id, timestamp, data) for s in secrets]
    offered = []
    for item in raw_signatures.split():
        version, _, value = item.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            offered.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    # Compare every pair (no early exit), each in constant time.
    matches = [hmac.compare_digest(mac, sig) for mac in expected for sig in offered]
    if not any(matches):
        raise WebhookVerificationError("no_valid_signature", "no webhook-signature matches a known secret")
    if seen is not None:
        if seen.seen(msg_id, now=now):
            raise WebhookVerificationError("replayed", f"webhook-id {msg_id} was already received")
        seen.add(msg_id, now=now)
    return json.loads(data)
