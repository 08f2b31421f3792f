"""TOTP secrets sealed with AES-GCM: key file created once, bound to the user, tamper-evident."""

from __future__ import annotations

from pathlib import Path

import pytest

from yinqi.adapters.crypto.totp import Totp, TotpSecretBox, TotpSecretUnreadable


def test_the_key_file_is_created_once_with_owner_only_access(tmp_path: Path) -> None:
    box = TotpSecretBox.from_home(tmp_path)
    key_file = tmp_path / "keys" / "totp-secrets.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert TotpSecretBox.from_home(tmp_path).key_id == box.key_id


def test_a_sealed_secret_opens_only_for_its_user_and_key(tmp_path: Path) -> None:
    box = TotpSecretBox(b"a" * 32)
    blob = box.seal("JBSWY3DPEHPK3PXP", user_id="u1")
    assert "JBSWY3DPEHPK3PXP" not in blob and box.seal("JBSWY3DPEHPK3PXP", user_id="u1") != blob
    with pytest.raises(TotpSecretUnreadable):
        box.open(blob, user_id="u2")
    with pytest.raises(TotpSecretUnreadable):
        TotpSecretBox(b"b" * 32).open(blob, user_id="u1")
    tampered = blob[:-6] + ("AAAA==" if not blob.endswith("AAAA==") else "BBBB==")
    with pytest.raises(TotpSecretUnreadable):
        box.open(tampered, user_id="u1")


def test_new_secrets_carry_160_bits_and_the_uri_names_the_issuer() -> None:
    totp = Totp()
    secret = totp.new_secret()
    assert len(secret) == 32 and secret != totp.new_secret()
    uri = totp.provisioning_uri(secret, username="olivia")
    assert uri.startswith("otpauth://totp/Yinqi:olivia?") and "issuer=Yinqi" in uri and f"secret={secret}" in uri
