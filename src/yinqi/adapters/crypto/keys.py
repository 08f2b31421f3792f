"""Key files in YINQI_HOME/keys: created once with 32 random bytes, mode 0600, never overwritten.

Creation is race-safe: the file is written under a temporary name and linked into place with
`os.link`, which fails if another process got there first; the loser reads the winner's key. So two
workers starting together agree on one key, and a half-written key file never exists. Loading
refuses a file of the wrong size rather than silently using a truncated key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["KEY_BYTES", "KeyFileError", "key_id", "load_ed25519", "load_or_create_ed25519",
           "load_or_create_secret", "load_secret"]

KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """A key file is missing or malformed: an operator problem, never retried."""


def load_secret(path: str | Path) -> bytes:
    """Read an existing 32-byte key. Raises KeyFileError if missing or not 32 bytes."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file {p} does not exist") from None
    if len(data) != KEY_BYTES:
        raise KeyFileError(f"key file {p} holds {len(data)} bytes, expected {KEY_BYTES}")
    return data


def load_or_create_secret(path: str | Path) -> bytes:
    """Return the 32-byte secret in `path`, creating it (mode 0600, parents 0700) if absent."""
    p = Path(path)
    if p.exists():
        return load_secret(p)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, p)  # atomic, and refuses to replace a key someone else just created
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(p.parent)
    return load_secret(p)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create_ed25519(path: str | Path) -> Ed25519PrivateKey:
    """An Ed25519 signing key whose 32-byte seed lives in `path` (created on first use)."""
    return Ed25519PrivateKey.from_private_bytes(load_or_create_secret(path))


def load_ed25519(path: str | Path) -> Ed25519PrivateKey:
    """An existing Ed25519 key; raises KeyFileError if the file is missing."""
    return Ed25519PrivateKey.from_private_bytes(load_secret(path))


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 8 bytes of its raw form, hex."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)[:8].hex()
