"""TOTP codes (RFC 6238, via pyotp) and the encryption of TOTP secrets at rest.

Codes: HMAC-SHA-1, 30-second steps, 6 digits by default (what every authenticator app expects);
8 digits and other periods are there for the RFC 6238 test vectors. Secrets are 160 random bits
(RFC 4226 recommends at least 128), base32 as the apps want them.

Secrets at rest: a TOTP secret is a shared secret that the server must read back, so it cannot be
hashed; it is sealed with AES-256-GCM under a key kept in a file outside the database
(`YINQI_HOME/keys/totp-secrets.key`, created on first use, mode 0600). The blob is
`v1:<key id>:<base64(nonce | ciphertext | tag)>`; the key id (first 8 bytes of SHA-256 of the key,
hex) lets a later key rotation find which key opens which blob. The user id is the associated
data, so a sealed secret copied onto another user's row does not open.

>>> box = TotpSecretBox(b"k" * 32)
>>> blob = box.seal("JBSWY3DPEHPK3PXP", user_id="u1")
>>> blob.startswith(f"v1:{box.key_id}:"), box.open(blob, user_id="u1")
(True, 'JBSWY3DPEHPK3PXP')
>>> Totp(digits=8).code_at("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1)
'94287082'
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yinqi.adapters.crypto.keys import load_or_create_secret

__all__ = ["ISSUER", "TOTP_KEY_FILE", "Totp", "TotpSecretBox", "TotpSecretUnreadable", "default_totp"]

ISSUER = "Yinqi"
TOTP_KEY_FILE = "keys/totp-secrets.key"
_VERSION = "v1"


class TotpSecretUnreadable(RuntimeError):
    """A sealed secret does not open with this key (wrong key, other user, or tampered): an
    operator problem, never a user error."""


class TotpSecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).digest()[:8].hex()

    @classmethod
    def from_home(cls, home: str | Path) -> TotpSecretBox:
        return cls(load_or_create_secret(Path(home) / TOTP_KEY_FILE))

    def seal(self, secret: str, *, user_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode("ascii"), _aad(user_id))
        return f"{_VERSION}:{self.key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open(self, blob: str, *, user_id: str) -> str:
        version, key_id, payload = [*blob.split(":", 2), "", ""][:3]
        if version != _VERSION or key_id != self.key_id:
            raise TotpSecretUnreadable(f"TOTP secret sealed with key {key_id!r}, this key is {self.key_id!r}")
        try:
            raw = base64.b64decode(payload, validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], _aad(user_id)).decode("ascii")
        except (InvalidTag, ValueError):
            raise TotpSecretUnreadable(f"TOTP secret of user {user_id} does not open (tampered or moved)") from None


def _aad(user_id: str) -> bytes:
    return f"users.totp_secret:{user_id}".encode()


class Totp:
    """Code computation and enrolment data; the acceptance rule is `yinqi.domain.identity.totp`."""

    def __init__(self, *, digits: int = 6, period: int = 30, issuer: str = ISSUER,
                 box: TotpSecretBox | None = None) -> None:
        self.digits = digits
        self.period = period
        self.issuer = issuer
        self._box = box

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters: 160 bits from `secrets`

    def code_at(self, secret: str, step: int) -> str:
        return pyotp.TOTP(secret, digits=self.digits, interval=self.period).generate_otp(step)

    def codes(self, secret: str, steps: list[int]) -> dict[int, str]:
        totp = pyotp.TOTP(secret, digits=self.digits, interval=self.period)
        return {step: totp.generate_otp(step) for step in steps}

    def provisioning_uri(self, secret: str, *, username: str) -> str:
        return pyotp.TOTP(secret, digits=self.digits, interval=self.period).provisioning_uri(
            name=username, issuer_name=self.issuer)

    def seal(self, secret: str, *, user_id: str) -> str:
        return self._require_box().seal(secret, user_id=user_id)

    def open(self, blob: str, *, user_id: str) -> str:
        return self._require_box().open(blob, user_id=user_id)

    def _require_box(self) -> TotpSecretBox:
        if self._box is None:
            raise RuntimeError("no TOTP secret key configured")
        return self._box


_BOXES: dict[Path, TotpSecretBox] = {}


def default_totp(home: str | Path | None = None) -> Totp:
    """The hub's TOTP: 6 digits, 30 s, secrets sealed with the key under `home` (default: the
    YINQI_HOME environment variable, as `yinqi.config` resolves it)."""
    root = Path(home or os.environ.get("YINQI_HOME", "var/home")).resolve()
    if root not in _BOXES:
        _BOXES[root] = TotpSecretBox.from_home(root)
    return Totp(box=_BOXES[root])
